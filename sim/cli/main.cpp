// tpusim: the command-line interface (DESIGN.md, "CLI contract"). Every subcommand is one
// cmd_<name>.cpp (commands.h); this file lists them, parses, and maps errors to exit codes:
// 0 ok, 2 bad input (one line naming the file or flag and what is wrong), 1 internal failure.
#include <exception>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "models/errors.h"
#include "sim/cli/commands.h"
#include "sim/common/files.h"

namespace {

int run(int argc, char** argv) {
  using namespace tpusim;
  CLI::App app{"tpusim: a TPU-style systolic-array accelerator simulator"};
  app.set_version_flag("--version", std::string("tpusim ") + TPUSIM_VERSION);
  app.require_subcommand(1);

  std::vector<cli::Command> commands = {
      cli::add_run_command(app),
      cli::add_lower_command(app),
      cli::add_import_scalesim_command(app),
      cli::add_list_command(app),
      cli::add_asm_command(app),
      cli::add_report_command(app),
      cli::add_disasm_command(app),
      cli::add_compare_command(app),
      cli::add_import_onnx_command(app),
#ifdef TPUSIM_HAVE_COSIM
      cli::add_cosim_command(app),
#endif
      cli::add_serve_command(app),
      cli::add_app_command(app),
      cli::add_scalesim_command(app),
      cli::add_sweep_command(app),
      cli::add_plan_command(app),
  };

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  try {
    for (const cli::Command& c : commands)
      if (c.app->parsed()) return c.run();
  } catch (const FileExists& e) {
    fmt::print(stderr, "tpusim: error: {}: file exists (use --force to replace it)\n", e.path());
    return 2;
  } catch (const InputError& e) {
    fmt::print(stderr, "tpusim: error: {}\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    fmt::print(stderr, "tpusim: internal error: {}\n", e.what());
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  tpusim::install_interrupt_cleanup();
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {  // while the commands are declared
    fmt::print(stderr, "tpusim: internal error: {}\n", e.what());
    return 1;
  }
}
