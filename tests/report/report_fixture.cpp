// Test driver of the report tools (not a user tool; `tpusim run/report` are):
//   report_fixture write DIR   writes the reports the Python and Chromium checks read:
//   DIR/report.json
//                              (mlp0 on tpu-v1, timing only, with carbon_per and deployment),
//                              DIR/trace.json, DIR/layers.csv, DIR/bert.json (segmented), and the
//                              program and functional reports DIR/program*.json,
//                              DIR/functional.json.
//   report_fixture report DIR  runs make_html_report(DIR), as `tpusim report DIR` does. Exit 77
//   (skip)
//                              when no Python environment exists.
#include <filesystem>
#include <iostream>
#include <stdexcept>

#include <fmt/format.h>

#include "models/config.h"
#include "models/data_files.h"
#include "models/errors.h"
#include "sim/common/files.h"
#include "sim/engines/fast/fast_engine.h"
#include "sim/engines/functional/functional.h"
#include "sim/isa/assembler.h"
#include "sim/report/carbon_report.h"
#include "sim/report/chrome_trace.h"
#include "sim/report/html_report.h"
#include "sim/report/layers_csv.h"
#include "sim/report/report_json.h"
#include "sim/studies/run/run_workload.h"

namespace fs = std::filesystem;
using namespace tpusim;
using nlohmann::json;

namespace {

void write(const fs::path& p, const std::string& text) {
  write_file_atomic(p.string(), text, true);
}

int write_all(const fs::path& dir) {
  fs::create_directories(dir);
  const TpuConfig cfg = run_config(load_config("tpu-v1"), "nominal", "usa");
  WorkloadRunOptions wo;
  wo.timing_only = true;
  json rep = run_workload_report(cfg, "mlp0", {}, wo);
  add_carbon_blocks(rep, cfg, {DeploymentOptions{1000.0, 4.0}});
  write(dir / "report.json", rep.dump(2) + "\n");
  write(dir / "layers.csv", layers_csv(rep));
  write(dir / "trace.json", workload_trace(cfg, "mlp0", {}).dump() + "\n");

  json bert = run_workload_report(cfg, "bert-base", {}, wo);
  add_carbon_blocks(bert, cfg, {});
  write(dir / "bert.json", bert.dump(2) + "\n");

  json llm = run_workload_report(cfg, "llama-7b", WorkloadParams{4, "decode", 0, 128}, wo);
  add_carbon_blocks(llm, cfg, {DeploymentOptions{10.0, 1.0}});
  write(dir / "llm.json", llm.dump(2) + "\n");

  WorkloadRunOptions fo;
  fo.mode = "functional";
  write(dir / "functional.json", run_workload_report(cfg, "mlp1", {}, fo).dump(2) + "\n");

  const std::string s = (fs::path(data_root()) / "workloads" / "examples" / "mlp2.s").string();
  const Program p = assemble_file(s);
  EngineOptions opt;
  opt.values = false;
  const EngineResult r = run_fast(cfg, p, opt);
  json prog{{"tool", tool_json()},
            {"arch", arch_json(cfg)},
            {"program", {{"name", p.name}, {"file", s}, {"instructions", p.code.size()}}},
            {"mode", "fast"},
            {"totals", totals_json(cfg, r.counts)}};
  add_carbon_blocks(prog, cfg, {});
  write(dir / "program.json", prog.dump(2) + "\n");
  write(dir / "program.trace.json", chrome_trace(cfg, p, r).dump() + "\n");
  const FunctionalResult f = run_functional(cfg, p);
  json pf{{"tool", tool_json()},
          {"arch", arch_json(cfg)},
          {"program", {{"name", p.name}, {"file", s}, {"instructions", p.code.size()}}},
          {"mode", "functional"},
          {"totals", counts_json(f.counts, false)}};
  write(dir / "program_functional.json", pf.dump(2) + "\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: report_fixture write|report DIR\n";
    return 2;
  }
  const std::string what = argv[1], dir = argv[2];
  try {
    if (what == "write") return write_all(dir);
    if (what == "report") return make_html_report(dir, std::cout);
    std::cerr << "report_fixture: unknown command " << what << "\n";
    return 2;
  } catch (const InputError& e) {
    std::cerr << "report_fixture: error: " << e.what() << "\n";
    return 2;
  } catch (const std::runtime_error& e) {
    std::cerr << "report_fixture: " << e.what() << "\n";
    return what == "report" &&
                   std::string(e.what()).find("no Python environment") != std::string::npos
               ? 77
               : 1;
  }
}
