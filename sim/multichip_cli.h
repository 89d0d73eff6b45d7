// Multi-chip command-line glue (issue 13): `tpusim plan` and the `--chips --tp --pp` options of
// run / compare / sweep / serve. Wired by sim/main.cpp.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>

#include <nlohmann/json.hpp>

#include "sim/multichip.h"

namespace CLI {
class App;
}

namespace tpusim {

struct ParallelArgs {
  uint32_t chips = 0;           // 0: tp x pp
  uint32_t tp = 1, pp = 1;
  uint32_t micro_batches = 0;   // 0: the default of MultiChipOptions
  std::string balance = "weights";
  uint32_t collective_bytes = 1;  // bytes per activation element in collectives
  // True when the user asked for more than one chip (then run_multichip_report applies).
  bool active() const { return chips > 1 || tp > 1 || pp > 1; }
};

// Adds --chips --tp --pp --micro-batches --balance --collective-bytes to `cmd`.
void add_parallel_options(CLI::App* cmd, ParallelArgs& args);

// MultiChipOptions from the flags; --chips alone means pure tensor parallelism (tp = chips) when
// neither --tp nor --pp was given. Throws InputError when chips != tp x pp.
MultiChipOptions parallel_options(const ParallelArgs& args);

// One-screen summary of a run_multichip_report JSON.
void print_multichip_summary(const nlohmann::json& rep, std::ostream& out);

struct PlanArgs {
  std::string arch, workload;
  std::string phase;                 // prefill | decode | "" (the workload's)
  uint32_t batch = 0, prompt_len = 0, context_len = 0;
  double slo_latency = 0.0;          // s
  uint32_t max_chips = 64;
  uint32_t micro_batches = 0;
  std::string balance = "weights";
  uint32_t collective_bytes = 1;
  std::string json_file;
  bool force = false, quiet = false;
};

// Adds the `plan` subcommand (--arch --workload --slo-latency [--max-chips] ...) to `app`.
CLI::App* add_plan_command(CLI::App& app, PlanArgs& args);

// Runs the placement search, prints a table of the candidates and the chosen split to `out`,
// writes --json. Returns 0 when a split meets the SLO, 3 when none does within --max-chips
// (the report still says why). Throws InputError (exit 2) for bad input.
int cmd_plan(const PlanArgs& args, std::ostream& out);

}  // namespace tpusim
