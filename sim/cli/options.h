// Option groups shared by the subcommands, each declared once: the arch, the workload and its
// parameters, the multi-chip split, and the output files. A range or a rule lives here and
// nowhere else in the CLI; the values come from the library (sim/compiler/workload.h,
// sim/studies/multichip/multichip.h), which checks them again for its other callers.
#pragma once

#include <cstdint>
#include <string>

#include "sim/compiler/workload.h"
#include "sim/studies/multichip/multichip.h"

namespace CLI {
class App;
class Option;
}  // namespace CLI

namespace tpusim::cli {

// --arch NAME|FILE.yaml.
CLI::Option* add_arch_option(CLI::App* cmd, std::string& arch, bool required = true);

// --batch --phase --prompt-len --context-len: the workload parameters (0 / "" = the workload's).
struct WorkloadArgs {
  std::string workload;
  uint32_t batch = 0, prompt_len = 0, context_len = 0;
  std::string phase;
  WorkloadParams params() const { return {batch, phase, prompt_len, context_len}; }
};
// Adds --workload (when `with_name`; required when `required`) and the parameter options.
CLI::Option* add_workload_options(CLI::App* cmd, WorkloadArgs& args, bool with_name = true,
                                  bool required = true);
// --batch alone (commands that take no LLM phase: import-scalesim, import-onnx, scalesim-cycles).
CLI::Option* add_batch_option(CLI::App* cmd, uint32_t& batch, const std::string& help);

// --chips --tp --pp --micro-batches --balance --collective-bytes: a tensor x pipeline split.
struct ParallelArgs {
  uint32_t chips = 0, tp = 0, pp = 0;  // 0: not given (resolve_split derives the rest)
  uint32_t micro_batches = 0;          // 0: the default of MultiChipOptions
  std::string balance;                 // "": weights
  uint32_t collective_bytes = 0;       // 0: 1 (int8 activations)
  // True when the user asked for more than one chip (then a multi-chip study applies).
  bool active() const { return chips > 1 || tp > 1 || pp > 1; }
  // The numeric flags given, as typed ("--chips 8 --tp 2"), for messages.
  std::string given() const;
  // MultiChipOptions from the flags by resolve_split's rule (chips alone: tensor parallel over
  // all). Throws InputError naming the flags when they are inconsistent.
  MultiChipOptions options() const;
};
// Which of the split options a command takes.
enum ParallelGroup : unsigned {
  kSplitOptions = 1,       // --chips --tp --pp
  kPipelineOptions = 2,    // --micro-batches --balance
  kCollectiveOptions = 4,  // --collective-bytes
  kAllParallelOptions = 7,
};
void add_parallel_options(CLI::App* cmd, ParallelArgs& args, unsigned groups = kAllParallelOptions);

// --json FILE, --force, --quiet.
struct OutputArgs {
  std::string json_file;
  bool force = false;
  bool quiet = false;
};
void add_output_options(CLI::App* cmd, OutputArgs& args, const std::string& json_help);

// -o/--output FILE (default stdout) and --force, for commands that print a text artefact.
struct TextOutputArgs {
  std::string file;
  bool force = false;
};
void add_text_output_options(CLI::App* cmd, TextOutputArgs& args, const std::string& help);
// Writes `text` to the file (atomically, refusing to replace without --force) or to stdout.
void emit_text(const TextOutputArgs& args, const std::string& text);

}  // namespace tpusim::cli
