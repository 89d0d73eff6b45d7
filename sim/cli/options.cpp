#include "sim/cli/options.h"

#include <iostream>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "models/errors.h"
#include "sim/common/files.h"

namespace tpusim::cli {

CLI::Option* add_arch_option(CLI::App* cmd, std::string& arch, bool required) {
  CLI::Option* o = cmd->add_option("--arch", arch, "Arch preset name or YAML path");
  if (required) o->required();
  return o;
}

CLI::Option* add_batch_option(CLI::App* cmd, uint32_t& batch, const std::string& help) {
  return cmd->add_option("--batch", batch, help)->check(CLI::Range(uint64_t(1), kMaxBatch));
}

CLI::Option* add_workload_options(CLI::App* cmd, WorkloadArgs& a, bool with_name, bool required) {
  CLI::Option* name = nullptr;
  if (with_name) {
    name = cmd->add_option("--workload", a.workload, "Workload name or YAML path");
    if (required) name->required();
  }
  add_batch_option(cmd, a.batch, "Batch size override");
  cmd->add_option("--phase", a.phase, "LLM phase")->check(CLI::IsMember({"prefill", "decode"}));
  cmd->add_option("--prompt-len", a.prompt_len, "Prompt tokens per sequence (prefill)")
      ->check(CLI::Range(uint64_t(1), kMaxPromptLen));
  cmd->add_option("--context-len", a.context_len, "Context tokens per sequence (decode)")
      ->check(CLI::Range(uint64_t(1), kMaxContextLen));
  return name;
}

void add_parallel_options(CLI::App* cmd, ParallelArgs& a, unsigned groups) {
  if (groups & kSplitOptions) {
    cmd->add_option("--chips", a.chips, "Chips (= tp x pp; alone: tensor parallel over all)")
        ->check(CLI::Range(1u, kMaxChips));
    cmd->add_option("--tp", a.tp, "Tensor-parallel chips per pipeline stage")
        ->check(CLI::Range(1u, kMaxChips));
    cmd->add_option("--pp", a.pp, "Pipeline stages")->check(CLI::Range(1u, kMaxChips));
  }
  if (groups & kPipelineOptions) {
    cmd->add_option("--micro-batches", a.micro_batches, "Pipeline micro-batches (0 = default)")
        ->check(CLI::Range(uint64_t(0), kMaxBatch));
    cmd->add_option("--balance", a.balance, "Pipeline stage balance")
        ->check(CLI::IsMember({"weights", "time"}));
  }
  if (groups & kCollectiveOptions)
    cmd->add_option("--collective-bytes", a.collective_bytes,
                    "Bytes per activation element in collectives (1 int8, 4 int32 partial sums)")
        ->check(CLI::Range(1u, 8u));
}

std::string ParallelArgs::given() const {
  std::string s;
  auto add = [&](const char* flag, uint32_t v) {
    if (v) s += fmt::format("{}{} {}", s.empty() ? "" : " ", flag, v);
  };
  add("--chips", chips);
  add("--tp", tp);
  add("--pp", pp);
  add("--micro-batches", micro_batches);
  add("--collective-bytes", collective_bytes);
  return s;
}

MultiChipOptions ParallelArgs::options() const {
  const Split sp = resolve_split(chips, tp, pp);
  if (!sp.reason.empty()) throw InputError(fmt::format("{}: {}", given(), sp.reason));
  MultiChipOptions o;
  o.tp = sp.tp;
  o.pp = sp.pp;
  o.chips = sp.tp * sp.pp;
  o.micro_batches = micro_batches;
  if (!balance.empty()) o.balance = balance;
  if (collective_bytes) o.collective_bytes_per_element = collective_bytes;
  return o;
}

void add_output_options(CLI::App* cmd, OutputArgs& a, const std::string& json_help) {
  cmd->add_option("--json", a.json_file, json_help);
  cmd->add_flag("--force", a.force, "Replace existing output files");
  cmd->add_flag("--quiet", a.quiet, "No summary on stdout");
}

void add_text_output_options(CLI::App* cmd, TextOutputArgs& a, const std::string& help) {
  cmd->add_option("-o,--output", a.file, help + " (default: stdout)");
  cmd->add_flag("--force", a.force, "Replace an existing output file");
}

void emit_text(const TextOutputArgs& a, const std::string& text) {
  if (a.file.empty())
    std::cout << text;
  else
    write_file_atomic(a.file, text, a.force);
}

}  // namespace tpusim::cli
