// tpusim command-line interface (DESIGN.md, "CLI contract"). Exit codes: 0 ok, 2 bad input, 1
// internal failure.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "models/config.h"
#include "models/errors.h"
#include "models/yaml_reader.h"
#include "sim/assembler.h"
#include "sim/compare.h"
#include "sim/cosim_cli.h"
#include "sim/engines.h"
#include "sim/functional.h"
#include "sim/import_onnx.h"
#include "sim/lowering_cli.h"
#include "sim/scalesim_compat.h"
#include "sim/multichip_cli.h"
#include "sim/serve_cli.h"
#include "sim/sweep_cli.h"
#include "sim/workload_run.h"
#include "sim/report.h"
#include "sim/report_extra.h"
#include "sim/trace.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace tpusim {
namespace {

struct RunArgs {
  std::string arch, workload, program, mode = "fast", phase, out_dir, json_file, trace_file, vcd_file;
  std::string csv_file, grid, dvfs;
  double qps = 0.0, years = 0.0;
  uint32_t batch = 0, prompt_len = 0, context_len = 0;
  bool timing_only = false, force = false, quiet = false, strict_capacity = false;
  uint64_t seed = 1;
  ParallelArgs par;  // --chips --tp --pp
};

Program load_program(const std::string& path) {
  if (path.size() > 4 && path.substr(path.size() - 4) == ".bin") return load_binary_file(path);
  return assemble_file(path);
}

json outputs_json(const FunctionalResult& r, const TpuConfig& cfg) {
  json outs = json::array();
  const uint64_t W = cfg.vector_bytes();
  uint64_t all = 0xcbf29ce484222325ull;
  for (const auto& w : r.host_writes) {
    const int8_t* p = r.state.host.data() + w.host_vector * W;
    uint64_t h = fnv1a64(p, w.vectors * W);
    all = fnv1a64(p, w.vectors * W, all);
    outs.push_back({{"host_vector", w.host_vector}, {"vectors", w.vectors},
                    {"fnv1a64", fmt::format("{:016x}", h)}});
  }
  return {{"writes", outs}, {"fnv1a64", fmt::format("{:016x}", all)}};
}

void print_summary(const json& rep) {
  const json& t = rep["totals"];
  fmt::print("tpusim {} | arch {} | {} {} | mode {}\n", rep["tool"]["version"].get<std::string>(),
             rep["arch"]["name"].get<std::string>(),
             rep.contains("program") ? "program" : "workload",
             rep.contains("program") ? rep["program"]["name"].get<std::string>()
                                     : rep["workload"]["name"].get<std::string>(),
             rep["mode"].get<std::string>());
  fmt::print("{:<28}{:>20}\n", "metric", "value");
  auto row = [](const std::string& k, const std::string& v) { fmt::print("{:<28}{:>20}\n", k, v); };
  if (t.contains("cycles")) {
    row("cycles", std::to_string(t["cycles"].get<uint64_t>()));
    row("seconds", fmt::format("{:.6g}", t["seconds"].get<double>()));
    row("TOPS (2 ops/MAC)", fmt::format("{:.4g}", t["tops"].get<double>()));
    const json& b = t["breakdown"];
    for (const char* k : {"array_active", "weight_stall", "weight_shift", "non_matrix"})
      row(fmt::format("  {}", k), fmt::format("{:.1f} %", 100.0 * b[k].get<double>()));
    row("energy (J)", fmt::format("{:.4g}", t["energy_j"].get<double>()));
    row("avg power (W)", fmt::format("{:.4g}", t["avg_power_w"].get<double>()));
    row("carbon op+emb (g CO2e)", fmt::format("{:.3g}", t["carbon_g"]["operational"].get<double>() +
                                                            t["carbon_g"]["embodied"].get<double>()));
  }
  row("instructions", std::to_string(t["instructions"].get<uint64_t>()));
  row("MACs (array slots)", std::to_string(t["macs"].get<uint64_t>()));
  row("weight tiles", std::to_string(t["weight_tiles"].get<uint64_t>()));
  row("weight-memory bytes", std::to_string(t["bytes"]["weight_memory_read"].get<uint64_t>()));
  row("host bytes in / out", fmt::format("{} / {}", t["bytes"]["host_read"].get<uint64_t>(),
                                         t["bytes"]["host_write"].get<uint64_t>()));
  if (rep.contains("outputs"))
    row("output checksum", rep["outputs"]["fnv1a64"].get<std::string>());
}

int write_and_print(const json& rep, const RunArgs& a);

// The trace goes with the report: written after the run, before the report JSON.
void write_trace(const json& trace, const RunArgs& a) {
  write_file_atomic(a.trace_file, trace.dump() + "\n", a.force);
}

int cmd_run(const RunArgs& a) {
  const TpuConfig cfg = run_config(load_config(a.arch), a.dvfs, a.grid);
  if (!a.trace_file.empty() && a.mode == "functional")
    throw InputError("--trace: the functional engine has no time; use a timed mode");
  if (!a.out_dir.empty()) {
    // Created before the run so that --csv/--trace may point into it.
    std::error_code ec;
    fs::create_directories(a.out_dir, ec);
    if (ec) throw InputError(fmt::format("--out {}: cannot create folder: {}", a.out_dir, ec.message()));
  }
  json rep;
  if (!a.workload.empty()) {
    WorkloadRunOptions wo;
    wo.mode = a.mode;
    wo.timing_only = a.timing_only;
    wo.strict_capacity = a.strict_capacity;
    wo.seed = a.seed;
    const WorkloadParams params{a.batch, a.phase, a.prompt_len, a.context_len};
    if (a.par.active()) {
      if (a.mode != "fast") throw InputError("--chips/--tp/--pp: multi-chip runs use the fast engine (--mode fast)");
      MultiChipOptions mo = parallel_options(a.par);
      mo.strict_capacity = a.strict_capacity;
      rep = run_multichip_report(cfg, a.workload, params, mo);
      if (!a.quiet) print_multichip_summary(rep, std::cout);
      RunArgs quiet = a;
      quiet.quiet = true;
      write_and_print(rep, quiet);
      if (!a.quiet && !a.json_file.empty()) fmt::print("report: {}\n", a.json_file);
      return 0;
    }
    rep = run_workload_report(cfg, a.workload, params, wo);
    // The trace is the fast engine's timeline, which the timed engines share (DESIGN.md).
    if (!a.trace_file.empty()) write_trace(workload_trace(cfg, a.workload, params), a);
    if (!a.dvfs.empty()) rep["dvfs_point"] = a.dvfs;
    add_carbon_blocks(rep, cfg, DeploymentOptions{a.qps, a.years});
    return write_and_print(rep, a);
  }
  Program prog = load_program(a.program);
  rep = json{{"tool", tool_json()},
           {"arch", arch_json(cfg)},
           {"program", {{"name", prog.name}, {"file", a.program}, {"instructions", prog.code.size()}}},
           {"mode", a.mode}};
  if (a.mode == "functional") {
    if (a.timing_only) throw InputError("--timing-only: the functional engine computes values only");
    FunctionalResult r = run_functional(cfg, prog);
    rep["totals"] = counts_json(r.counts, false);
    rep["outputs"] = outputs_json(r, cfg);
  } else {
    EngineOptions opt;
    opt.values = !a.timing_only;
    opt.vcd_path = a.vcd_file;
    opt.record_timeline = !a.trace_file.empty();
    EngineResult r = run_engine(a.mode, cfg, prog, opt);
    rep["totals"] = totals_json(cfg, r.counts);
    if (!a.trace_file.empty()) write_trace(chrome_trace(cfg, prog, r), a);
    if (r.has_values) rep["outputs"] = outputs_json(r.values, cfg);
  }
  if (!a.dvfs.empty()) rep["dvfs_point"] = a.dvfs;
  add_carbon_blocks(rep, cfg, DeploymentOptions{a.qps, a.years});
  return write_and_print(rep, a);
}

int write_and_print(const json& rep, const RunArgs& a) {
  std::string text = rep.dump(2) + "\n";
  std::string json_path = a.json_file;
  if (json_path.empty() && !a.out_dir.empty()) {
    std::error_code ec;
    fs::create_directories(a.out_dir, ec);
    if (ec) throw InputError(fmt::format("--out {}: cannot create folder: {}", a.out_dir, ec.message()));
    json_path = (fs::path(a.out_dir) / "report.json").string();
  }
  if (!json_path.empty()) write_file_atomic(json_path, text, a.force);
  if (!a.csv_file.empty()) write_file_atomic(a.csv_file, layers_csv(rep), a.force);
  if (!a.quiet) {
    print_summary(rep);
    if (!json_path.empty()) fmt::print("report: {}\n", json_path);
  }
  return 0;
}

void print_compare(const json& rep) {
  fmt::print("workload {} ({} examples per run) | speed-up and perf/W relative to Haswell\n",
             rep["workload"]["name"].get<std::string>(), rep["examples_per_inference"].get<uint64_t>());
  if (rep.contains("accelerator")) {
    const json& a = rep["accelerator"];
    fmt::print("accelerator: {} chips of {} = tp {} x pp {}, {} micro-batch(es); latency ({}) {:.4g} s, "
               "communication {:.3g} % of it, {:.4g} W, {:.4g} TOPS/W (baselines: single devices)\n",
               a["chips"].get<uint32_t>(), a["arch"].get<std::string>(), a["tp"].get<uint32_t>(),
               a["pp"].get<uint32_t>(), a["micro_batches"].get<uint32_t>(), a["latency_kind"].get<std::string>(),
               a["latency_s"].get<double>(), 100.0 * a["communication"]["share"].get<double>(),
               a["power_w"].get<double>(), a["tops_per_w"].get<double>());
  }
  fmt::print("{:<26}{:>11}{:>13}{:>10}{:>10}{:>10}{:>12}{:>12}{:>10}\n", "device", "kind", "latency s",
             "TOPS", "power W", "speed-up", "perf/W x", "J/inf", "gCO2/inf");
  for (const auto& d : rep["devices"])
    fmt::print("{:<26}{:>11}{:>13.4g}{:>10.3g}{:>10.3g}{:>10.3g}{:>12.3g}{:>12.3g}{:>10.3g}\n",
               d["name"].get<std::string>(), d["kind"].get<std::string>(), d["latency_s"].get<double>(),
               d["tops"].get<double>(), d["power_w"].get<double>(), d["speedup_vs_haswell"].get<double>(),
               d["perf_per_w_vs_haswell"].get<double>(), d["energy_j_per_inference"].get<double>(),
               d["carbon_g_per_inference"].get<double>());
}

int cmd_list(const std::string& what, bool as_json) {
  if (what == "archs") {
    json arr = json::array();
    for (const auto& name : list_arch_presets()) {
      TpuConfig c = load_config(name);
      arr.push_back({{"name", name}, {"description", c.description}, {"source", c.source}});
    }
    if (as_json) {
      std::cout << arr.dump(2) << "\n";
    } else {
      for (const auto& e : arr)
        fmt::print("{:<16} {}\n", e["name"].get<std::string>(), e["description"].get<std::string>());
    }
    return 0;
  }
  return cmd_list_workloads(as_json, std::cout);
}

int cmd_asm(const std::string& in, const std::string& out, bool force) {
  Program p = assemble_file(in);
  auto bin = to_binary(p);
  write_file_atomic(out, std::string(bin.begin(), bin.end()), force);
  if (!p.host_init.empty() || !p.weight_init.empty() || !p.random_init.empty())
    fmt::print(stderr, "note: {}: data directives are not part of the binary image\n", in);
  return 0;
}

int cmd_disasm(const std::string& in) {
  Program p = load_binary_file(in);
  for (const auto& ins : p.code) std::cout << disassemble(ins) << "\n";
  return 0;
}

}  // namespace
}  // namespace tpusim

int main(int argc, char** argv) {
  using namespace tpusim;
  install_interrupt_cleanup();
  CLI::App app{"tpusim: a TPU-style systolic-array accelerator simulator"};
  app.set_version_flag("--version", std::string("tpusim ") + TPUSIM_VERSION);
  app.require_subcommand(1);

  RunArgs ra;
  auto* run = app.add_subcommand("run", "Run a workload or an assembly program on an engine");
  run->add_option("--arch", ra.arch, "Arch preset name or YAML path")->required();
  auto* wl = run->add_option("--workload", ra.workload, "Workload name or YAML path");
  auto* pg = run->add_option("--program", ra.program, "Assembly (.s) or binary (.bin) program");
  wl->excludes(pg);
  run->add_option("--mode", ra.mode, "Engine")->check(CLI::IsMember({"fast", "cycle", "rtl", "functional"}));
  run->add_option("--batch", ra.batch, "Batch size override")->check(CLI::Range(1u, 1u << 20));
  run->add_option("--phase", ra.phase, "LLM phase")->check(CLI::IsMember({"prefill", "decode"}));
  run->add_option("--prompt-len", ra.prompt_len, "Prompt length (prefill)")->check(CLI::Range(1u, 1u << 20));
  run->add_option("--context-len", ra.context_len, "Context length (decode)")->check(CLI::Range(1u, 1u << 20));
  run->add_flag("--timing-only", ra.timing_only, "Skip values (timing and counts only)");
  run->add_option("--out", ra.out_dir, "Folder for report.json");
  run->add_option("--json", ra.json_file, "Report JSON file");
  run->add_option("--trace", ra.trace_file, "Chrome/Perfetto trace file");
  run->add_option("--csv", ra.csv_file, "Per-layer CSV file");
  auto* qps = run->add_option("--qps", ra.qps, "Deployment carbon: queries per second")->check(CLI::PositiveNumber);
  auto* years = run->add_option("--years", ra.years, "Deployment carbon: years of service")->check(CLI::PositiveNumber);
  qps->needs(years);
  years->needs(qps);
  run->add_option("--grid", ra.grid, "Grid carbon intensity: preset name or g CO2e/kWh");
  run->add_option("--dvfs", ra.dvfs, "DVFS point of the arch (nominal or a point of its dvfs list)");
  run->add_option("--vcd", ra.vcd_file, "VCD waveform of the cycle engine (RTL signal names)");
  run->add_flag("--force", ra.force, "Replace existing output files");
  run->add_flag("--quiet", ra.quiet, "No summary on stdout");
  run->add_flag("--strict-capacity", ra.strict_capacity, "Weights beyond the weight memory are an error");
  run->add_option("--seed", ra.seed, "Seed of the generated weights and inputs");

  std::string lo_arch, lo_wl, lo_out, lo_phase;
  uint32_t lo_batch = 0, lo_prompt = 0, lo_ctx = 0;
  bool lo_timing = false, lo_force = false, lo_stats = false;
  auto* low = app.add_subcommand("lower", "Lower a workload to an assembly program");
  low->add_option("--arch", lo_arch, "Arch preset name or YAML path")->required();
  low->add_option("--workload", lo_wl, "Workload name or YAML path")->required();
  low->add_option("--batch", lo_batch, "Batch size override")->check(CLI::Range(1u, 1u << 20));
  low->add_option("--phase", lo_phase, "LLM phase")->check(CLI::IsMember({"prefill", "decode"}));
  low->add_option("--prompt-len", lo_prompt, "Prompt length")->check(CLI::Range(1u, 1u << 20));
  low->add_option("--context-len", lo_ctx, "Context length")->check(CLI::Range(1u, 1u << 20));
  low->add_flag("--timing-only", lo_timing, "No memory images");
  low->add_flag("--stats", lo_stats, "Print the program's counts instead of its assembly (any size)");
  low->add_option("-o,--output", lo_out, "Output file (default: stdout)");
  low->add_flag("--force", lo_force, "Replace an existing output file");

  std::string imp_file, imp_out;
  uint32_t imp_batch = 1;
  bool imp_force = false;
  auto* imp = app.add_subcommand("import-scalesim", "Convert a SCALE-Sim topology CSV to a workload YAML");
  imp->add_option("file", imp_file, "SCALE-Sim topology CSV")->required();
  imp->add_option("--batch", imp_batch, "Batch size")->check(CLI::Range(1u, 1u << 20));
  imp->add_option("-o,--output", imp_out, "Output YAML (default: stdout)");
  imp->add_flag("--force", imp_force, "Replace an existing output file");

  std::string list_what;
  bool list_json = false;
  auto* list = app.add_subcommand("list", "List arch presets or workloads");
  list->add_option("what", list_what, "archs | workloads")->required()->check(CLI::IsMember({"archs", "workloads"}));
  list->add_flag("--json", list_json, "JSON output");

  std::string asm_in, asm_out;
  bool asm_force = false;
  auto* as = app.add_subcommand("asm", "Assemble text to a binary program image");
  as->add_option("file", asm_in, "Assembly file")->required();
  as->add_option("-o,--output", asm_out, "Binary output file")->required();
  as->add_flag("--force", asm_force, "Replace an existing output file");

  std::string report_dir;
  bool report_force = false;
  auto* rpt = app.add_subcommand("report", "Markdown + HTML report (with plots) of a run folder");
  rpt->add_option("dir", report_dir, "Folder with report.json (and optionally trace.json)")->required();
  rpt->add_flag("--force", report_force, "Replace an existing report.md / report.html");

  std::string dis_in;
  auto* dis = app.add_subcommand("disasm", "Disassemble a binary program image");
  dis->add_option("file", dis_in, "Binary program (.bin)")->required();

  std::string cmp_arch, cmp_wl, cmp_json, cmp_phase, cmp_shapes;
  uint32_t cmp_batch = 0, cmp_prompt = 0, cmp_ctx = 0;
  bool cmp_force = false;
  CompareOptions co;
  auto* cmp = app.add_subcommand("compare", "Compare the accelerator with CPU and GPU baselines on a workload");
  cmp->add_option("--arch", cmp_arch, "Arch preset name or YAML path")->required();
  cmp->add_option("--workload", cmp_wl, "Workload name or YAML path")->required();
  cmp->add_option("--batch", cmp_batch, "Batch size override")->check(CLI::Range(1u, 1u << 20));
  cmp->add_option("--phase", cmp_phase, "LLM phase")->check(CLI::IsMember({"prefill", "decode"}));
  cmp->add_option("--prompt-len", cmp_prompt, "Prompt length")->check(CLI::Range(1u, 1u << 20));
  cmp->add_option("--context-len", cmp_ctx, "Context length")->check(CLI::Range(1u, 1u << 20));
  cmp->add_option("--baselines", co.baselines, "Comma list of devices (names or YAML paths); default all");
  cmp->add_flag("--measure-cpu", co.measure_cpu, "Time the workload's GEMMs on this machine (oneDNN, Eigen)");
  cmp->add_option("--measure-seconds", co.measure_seconds, "Time budget of --measure-cpu")->check(CLI::Range(0.1, 3600.0));
  cmp->add_option("--cpu-model", co.cpu_model, "Device whose power model the measured CPU uses");
  cmp->add_option("--gpu-results", co.gpu_results, "JSON from scripts/gpu/run_gpu_baseline.sh");
  cmp->add_option("--emit-gpu-shapes", cmp_shapes, "Write the workload's GEMM shapes (CSV) for the GPU bench");
  cmp->add_option("--json", cmp_json, "Comparison JSON file");
  cmp->add_flag("--force", cmp_force, "Replace existing output files");
  ParallelArgs cmp_par;  // --chips --tp --pp: the accelerator side is the multi-chip system
  add_parallel_options(cmp, cmp_par);

  std::string onx_file, onx_out;
  uint32_t onx_batch = 0;
  bool onx_force = false;
  auto* onx = app.add_subcommand("import-onnx", "Convert an ONNX model to a workload YAML");
  onx->add_option("model", onx_file, "ONNX model (.onnx)")->required();
  onx->add_option("--batch", onx_batch, "Batch size (default: the model's, else 1)")->check(CLI::Range(1u, 1u << 20));
  onx->add_option("-o,--output", onx_out, "Output YAML (default: stdout)");
  onx->add_flag("--force", onx_force, "Replace an existing output file");

  std::string cos_sizes = "4,8,16";
  uint64_t cos_programs = 100, cos_seed = 1;
  auto* cos = app.add_subcommand("cosim", "Lockstep co-simulation: verilated RTL vs the SystemC twin on random programs");
  cos->add_option("--sizes", cos_sizes, "Array sizes (comma list of 4, 8, 16, 32)");
  cos->add_option("--programs", cos_programs, "Random programs in all (program i runs on size i mod the number of sizes)")->check(CLI::Range(uint64_t(1), uint64_t(1000000)));
  cos->add_option("--seed", cos_seed, "Seed of the program generator");

  ServeArgs sa;
  auto* serve = add_serve_command(app, sa);
  ScaleSimArgs ssa;
  auto* ssim = add_scalesim_command(app, ssa);
  SweepArgs swa;
  auto* sweep = add_sweep_command(app, swa);
  PlanArgs pla;
  auto* plan = add_plan_command(app, pla);
  add_parallel_options(run, ra.par);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  try {
    if (*run) {
      if (ra.workload.empty() && ra.program.empty())
        throw InputError("run: one of --workload or --program is required");
      return cmd_run(ra);
    }
    if (*list) return cmd_list(list_what, list_json);
    if (*serve) return cmd_serve(sa, std::cout);
    if (*onx) {
      std::ostringstream os;
      int rc = cmd_import_onnx(onx_file, onx_batch, os);
      if (onx_out.empty()) std::cout << os.str();
      else write_file_atomic(onx_out, os.str(), onx_force);
      return rc;
    }
    if (*sweep) return cmd_sweep(swa, std::cout);
    if (*ssim) return cmd_scalesim(ssa, std::cout);
    if (*plan) return cmd_plan(pla, std::cout);
    if (*cos) {
      std::vector<uint32_t> sizes;
      std::stringstream ss(cos_sizes);
      std::string tok;
      while (std::getline(ss, tok, ',')) {
        uint64_t v = 0;
        if (!parse_uint_scalar(tok, v) || v == 0 || v > 4096)
          throw InputError(fmt::format("--sizes: '{}' is not an array size (expected e.g. 4,8,16)", tok));
        sizes.push_back(uint32_t(v));
      }
      return cmd_cosim(sizes, cos_programs, cos_seed, std::cout);
    }
    if (*cmp) {
      const WorkloadParams wp{cmp_batch, cmp_phase, cmp_prompt, cmp_ctx};
      if (!cmp_shapes.empty()) {
        write_file_atomic(cmp_shapes, gpu_shapes_csv(baseline_workload(load_workload(cmp_wl, wp))), cmp_force);
        return 0;
      }
      const TpuConfig cmp_cfg = load_config(cmp_arch);
      // --chips/--tp/--pp: the accelerator is the multi-chip system; the baselines stay single
      // devices (the report's `accelerator` block says so).
      if (cmp_par.active()) co.multichip_report = run_multichip_report(cmp_cfg, cmp_wl, wp, parallel_options(cmp_par));
      json rep = compare_report(cmp_cfg, cmp_wl, wp, co);
      if (!cmp_json.empty()) write_file_atomic(cmp_json, rep.dump(2) + "\n", cmp_force);
      print_compare(rep);
      return 0;
    }
    if (*low) {
      std::ostringstream os;
      int rc = cmd_lower(load_config(lo_arch), lo_wl, WorkloadParams{lo_batch, lo_phase, lo_prompt, lo_ctx},
                         lo_timing, lo_stats, os);
      if (lo_out.empty()) std::cout << os.str();
      else write_file_atomic(lo_out, os.str(), lo_force);
      return rc;
    }
    if (*imp) {
      std::ostringstream os;
      int rc = cmd_import_scalesim(imp_file, imp_batch, os);
      if (imp_out.empty()) std::cout << os.str();
      else write_file_atomic(imp_out, os.str(), imp_force);
      return rc;
    }
    if (*as) return cmd_asm(asm_in, asm_out, asm_force);
    if (*dis) return cmd_disasm(dis_in);
    if (*rpt) {
      // The report writes report.md, report.html and plots/ inside DIR only (fixed names).
      for (const char* name : {"report.md", "report.html"}) {
        std::error_code ec;
        const fs::path f = fs::path(report_dir) / name;
        if (!report_force && fs::exists(f, ec))
          throw InputError(fmt::format("{}: file exists (use --force to replace it)", f.string()));
      }
      return cmd_report(report_dir, std::cout);
    }
  } catch (const InputError& e) {
    fmt::print(stderr, "tpusim: error: {}\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    fmt::print(stderr, "tpusim: internal error: {}\n", e.what());
    return 1;
  }
  return 0;
}
