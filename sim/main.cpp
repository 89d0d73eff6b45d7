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
#include "sim/assembler.h"
#include "sim/fast_engine.h"
#include "sim/functional.h"
#include "sim/lowering_cli.h"
#include "sim/serve_cli.h"
#include "sim/workload_run.h"
#include "sim/report.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace tpusim {
namespace {

struct RunArgs {
  std::string arch, workload, program, mode = "fast", phase, out_dir, json_file, trace_file;
  uint32_t batch = 0, prompt_len = 0, context_len = 0;
  bool timing_only = false, force = false, quiet = false, strict_capacity = false;
  uint64_t seed = 1;
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

int cmd_run(const RunArgs& a) {
  TpuConfig cfg = load_config(a.arch);
  json rep;
  if (!a.workload.empty()) {
    WorkloadRunOptions wo;
    wo.mode = a.mode;
    wo.timing_only = a.timing_only;
    wo.strict_capacity = a.strict_capacity;
    wo.seed = a.seed;
    rep = run_workload_report(cfg, a.workload,
                              WorkloadParams{a.batch, a.phase, a.prompt_len, a.context_len}, wo);
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
  } else if (a.mode == "fast") {
    FastOptions opt;
    opt.values = !a.timing_only;
    opt.record_timeline = false;
    EngineResult r = run_fast(cfg, prog, opt);
    rep["totals"] = totals_json(cfg, r.counts);
    if (r.has_values) rep["outputs"] = outputs_json(r.values, cfg);
  } else {
    throw InputError(fmt::format("--mode {}: not available in this build (modes: fast, functional)", a.mode));
  }
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
  if (!a.quiet) {
    print_summary(rep);
    if (!json_path.empty()) fmt::print("report: {}\n", json_path);
  }
  return 0;
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
  run->add_flag("--force", ra.force, "Replace existing output files");
  run->add_flag("--quiet", ra.quiet, "No summary on stdout");
  run->add_flag("--strict-capacity", ra.strict_capacity, "Weights beyond the weight memory are an error");
  run->add_option("--seed", ra.seed, "Seed of the generated weights and inputs");

  std::string lo_arch, lo_wl, lo_out, lo_phase;
  uint32_t lo_batch = 0, lo_prompt = 0, lo_ctx = 0;
  bool lo_timing = false, lo_force = false;
  auto* low = app.add_subcommand("lower", "Lower a workload to an assembly program");
  low->add_option("--arch", lo_arch, "Arch preset name or YAML path")->required();
  low->add_option("--workload", lo_wl, "Workload name or YAML path")->required();
  low->add_option("--batch", lo_batch, "Batch size override")->check(CLI::Range(1u, 1u << 20));
  low->add_option("--phase", lo_phase, "LLM phase")->check(CLI::IsMember({"prefill", "decode"}));
  low->add_option("--prompt-len", lo_prompt, "Prompt length")->check(CLI::Range(1u, 1u << 20));
  low->add_option("--context-len", lo_ctx, "Context length")->check(CLI::Range(1u, 1u << 20));
  low->add_flag("--timing-only", lo_timing, "No memory images");
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

  std::string dis_in;
  auto* dis = app.add_subcommand("disasm", "Disassemble a binary program image");
  dis->add_option("file", dis_in, "Binary program (.bin)")->required();

  ServeArgs sa;
  auto* serve = add_serve_command(app, sa);

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
    if (*low) {
      std::ostringstream os;
      int rc = cmd_lower(load_config(lo_arch), lo_wl, WorkloadParams{lo_batch, lo_phase, lo_prompt, lo_ctx},
                         lo_timing, os);
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
  } catch (const InputError& e) {
    fmt::print(stderr, "tpusim: error: {}\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    fmt::print(stderr, "tpusim: internal error: {}\n", e.what());
    return 1;
  }
  return 0;
}
