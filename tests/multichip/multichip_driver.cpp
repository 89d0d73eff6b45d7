// Stand-alone driver for scripts/multichip_study.sh while sim/main.cpp has no `plan` subcommand
// and no --chips/--tp/--pp on `run`: `run` here is always the multi-chip report.
#include <iostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "models/config.h"
#include "models/errors.h"
#include "sim/multichip_cli.h"
#include "sim/report.h"

int main(int argc, char** argv) {
  CLI::App app{"tpusim multichip driver"};
  app.require_subcommand(1);
  tpusim::PlanArgs pa;
  auto* plan = tpusim::add_plan_command(app, pa);
  std::string arch, workload, phase, json_file;
  uint32_t batch = 0, prompt_len = 0, context_len = 0;
  bool force = false, quiet = false;
  tpusim::ParallelArgs par;
  auto* run = app.add_subcommand("run", "Multi-chip run of a workload");
  run->add_option("--arch", arch)->required();
  run->add_option("--workload", workload)->required();
  run->add_option("--batch", batch);
  run->add_option("--phase", phase);
  run->add_option("--prompt-len", prompt_len);
  run->add_option("--context-len", context_len);
  run->add_option("--json", json_file);
  run->add_flag("--force", force);
  run->add_flag("--quiet", quiet);
  tpusim::add_parallel_options(run, par);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  try {
    if (*plan) return tpusim::cmd_plan(pa, std::cout);
    const auto rep = tpusim::run_multichip_report(
        tpusim::load_config(arch), workload, tpusim::WorkloadParams{batch, phase, prompt_len, context_len},
        tpusim::parallel_options(par));
    if (!json_file.empty()) tpusim::write_file_atomic(json_file, rep.dump(2) + "\n", force);
    if (!quiet) tpusim::print_multichip_summary(rep, std::cout);
    return 0;
  } catch (const tpusim::InputError& e) {
    fmt::print(stderr, "tpusim: error: {}\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    fmt::print(stderr, "tpusim: internal error: {}\n", e.what());
    return 1;
  }
}
