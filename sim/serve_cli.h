// `tpusim serve`: LLM serving on the simulated accelerator (sim/serve/). Wired by sim/main.cpp.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "sim/multichip_cli.h"

namespace CLI {
class App;
}

namespace tpusim {

struct ServeArgs {
  std::string arch = "tpu-llm";
  std::string model = "opt-13b";
  std::string trace = "orca";       // named trace or FILE.csv
  uint64_t requests = 1000;         // generated; for a CSV the first N rows (0 = all)
  double rate = 1.0;                // requests per second
  uint64_t seed = 1;
  std::string arrival = "poisson";  // poisson | gamma
  double cv = 1.0;                  // gamma inter-arrival coefficient of variation
  std::string scheduler = "continuous";  // static | continuous | paged | disaggregated
  double slo_ttft = 0.0;            // s, 0 = not checked
  double slo_tpot = 0.0;            // s, 0 = not checked
  double slo_target = 0.9;          // attainment a sweep's goodput rate must reach
  uint32_t max_batch = 128;
  uint32_t max_batch_tokens = 0;    // 0 = the model's max_context
  uint32_t block_size = 16;
  std::string preemption = "recompute";  // recompute | swap
  std::string reserve = "max";      // max | pow2 | oracle (contiguous schedulers)
  double kv_link_gb_s = 32.0;
  bool lora = false;
  uint32_t lora_adapters = 0;       // 0 = 200 for the slora trace and with --lora
  uint32_t lora_rank = 16;
  double lora_alpha = 1.0;          // Zipf exponent of adapter popularity
  uint32_t bucket = 64;             // cost-model length bucket, tokens
  std::vector<double> sweep_rates;  // non-empty: one run per rate (--rate ignored)
  std::string json_file;            // report JSON
  std::string csv_file;             // one row per rate
  std::string requests_csv;         // per-request results
  bool force = false;               // replace existing output files
  bool quiet = false;               // no summary on `out`
  // --chips --tp --pp --collective-bytes: every serving instance is tp x pp chips (issue 13;
  // sim/serve/cost_model.h). Absent or 1 x 1: the single-chip model, report unchanged.
  ParallelArgs par;
};

// Adds the `serve` subcommand with every ServeArgs flag (defaults as above, range checks) to
// `app`; sim/main.cpp calls it and then cmd_serve when the subcommand was given.
CLI::App* add_serve_command(CLI::App& app, ServeArgs& args);

// Runs the serving simulation(s) and writes the JSON / CSV files asked for; a summary goes to
// `out`. Returns the exit code (0). Throws InputError (exit 2) for bad input, naming it.
int cmd_serve(const ServeArgs& args, std::ostream& out);

}  // namespace tpusim
