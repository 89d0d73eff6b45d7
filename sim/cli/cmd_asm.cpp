// `tpusim asm FILE -o OUT.bin` and `tpusim disasm FILE.bin`.
#include <iostream>
#include <memory>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "sim/cli/commands.h"
#include "sim/common/files.h"
#include "sim/isa/assembler.h"

namespace tpusim::cli {

namespace {

struct AsmArgs {
  std::string in, out;
  bool force = false;
};

int run_asm(const AsmArgs& a) {
  const Program p = assemble_file(a.in);
  const auto bin = to_binary(p);
  write_file_atomic(a.out, std::string(bin.begin(), bin.end()), a.force);
  if (!p.host_init.empty() || !p.weight_init.empty() || !p.random_init.empty())
    fmt::print(stderr, "note: {}: data directives are not part of the binary image\n", a.in);
  return 0;
}

int run_disasm(const std::string& in) {
  const Program p = load_binary_file(in);
  for (const auto& ins : p.code) std::cout << disassemble(ins) << "\n";
  return 0;
}

}  // namespace

Command add_asm_command(CLI::App& app) {
  auto a = std::make_shared<AsmArgs>();
  auto* c = app.add_subcommand("asm", "Assemble text to a binary program image");
  c->add_option("file", a->in, "Assembly file")->required();
  c->add_option("-o,--output", a->out, "Binary output file")->required();
  c->add_flag("--force", a->force, "Replace an existing output file");
  return {c, [a] { return run_asm(*a); }};
}

Command add_disasm_command(CLI::App& app) {
  auto in = std::make_shared<std::string>();
  auto* c = app.add_subcommand("disasm", "Disassemble a binary program image");
  c->add_option("file", *in, "Binary program (.bin)")->required();
  return {c, [in] { return run_disasm(*in); }};
}

}  // namespace tpusim::cli
