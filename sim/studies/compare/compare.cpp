#include "sim/studies/compare/compare.h"

#include <cctype>
#include <fstream>
#include <map>
#include <sstream>

#include <fmt/format.h>

#include "models/errors.h"
#include "models/yaml_reader.h"
#include "sim/studies/compare/measure_cpu.h"
#include "sim/studies/run/run_workload.h"

namespace tpusim {

using nlohmann::json;

namespace {

json device_json(const BaselineResult& r) {
  json j{{"name", r.name},
         {"kind", r.kind},
         {"dtype", r.dtype},
         {"latency_s", r.latency_s},
         {"throughput_per_s", r.throughput_per_s},
         {"tops", r.tops},
         {"power_w", r.power_w},
         {"perf_per_w", r.perf_per_w},
         {"energy_j_per_inference", r.energy_j_per_inference},
         {"carbon_g_per_inference", r.carbon_g_per_inference},
         {"carbon_operational_g_per_inference", r.carbon_operational_g_per_inference},
         {"carbon_embodied_g_per_inference", r.carbon_embodied_g_per_inference},
         {"speedup_vs_haswell", r.speedup_vs_haswell}};
  if (!r.library.empty()) j["library"] = r.library;
  return j;
}

}  // namespace

std::vector<BaselineResult> gpu_results(const std::string& path, const BaselineWorkload& bw,
                                        const CarbonParams& carbon) {
  std::ifstream in(path);
  if (!in) throw InputError(fmt::format("{}: cannot open the GPU results", path));
  json j;
  try {
    in >> j;
  } catch (const json::exception& e) {
    throw InputError(fmt::format("{}: not valid JSON: {}", path, e.what()));
  }
  if (!j.is_object() || !j.contains("results") || !j["results"].is_array() || !j.contains("device"))
    throw InputError(
        fmt::format("{}: expected an object with 'device' and a 'results' list", path));
  // dtype -> (m,k,n) -> seconds per instance
  std::map<std::string, std::map<std::tuple<uint64_t, uint64_t, uint64_t>, double>> t;
  for (const auto& r : j["results"]) {
    if (!r.is_object() || !r.contains("m") || !r.contains("k") || !r.contains("n") ||
        !r.contains("latency_s") || !r.contains("dtype"))
      throw InputError(fmt::format("{}: each result needs m, k, n, dtype and latency_s", path));
    if (r.value("status", "ok") != "ok") continue;
    t[r["dtype"].get<std::string>()][{r["m"].get<uint64_t>(), r["k"].get<uint64_t>(),
                                      r["n"].get<uint64_t>()}] = r["latency_s"].get<double>();
  }
  std::vector<BaselineResult> out;
  const std::string device = j["device"].get<std::string>();
  for (const auto& [dtype, shapes] : t) {
    BaselineResult res;
    res.kind = "measured";
    res.library = "cublaslt";
    res.dtype = dtype;
    res.name = fmt::format("gpu-{}-{}", device, dtype);
    for (const auto& op : bw.ops) {
      if (op.m == 0) continue;
      auto it = shapes.find({op.m, op.k, op.n});
      if (it == shapes.end())
        throw InputError(
            fmt::format("{}: no {} timing for shape {}x{}x{} (layer {}); rerun the GPU "
                        "bench on this workload's shapes (gpu_shapes_csv)",
                        path, dtype, op.m, op.k, op.n, op.layer));
      res.latency_s += it->second * double(op.batch_count);
    }
    // Power model: the shipped GPU whose name the device string contains (e.g. "NVIDIA H200"
    // -> h200), else H100's.
    std::string lower = device;
    for (auto& c : lower) c = char(std::tolower((unsigned char)c));
    std::string model = "h100";
    for (const auto& name : list_baseline_devices())
      if (lower.find(name) != std::string::npos) model = name;
    BaselineDevice dev = load_baseline_device(model);
    dev.dtype = dtype == "int8" ? "int8" : dev.dtype;
    finish_baseline_result(res, dev, bw, carbon);
    out.push_back(res);
  }
  return out;
}

std::string gpu_shapes_csv(const BaselineWorkload& bw) {
  std::ostringstream os;
  os << "layer,m,k,n,batch_count\n";
  for (const auto& op : bw.ops)
    if (op.m > 0)
      os << op.layer << "," << op.m << "," << op.k << "," << op.n << "," << op.batch_count << "\n";
  return os.str();
}

json compare_report(const TpuConfig& cfg, const std::string& workload, const WorkloadParams& params,
                    const CompareOptions& opt) {
  const Workload wl = load_workload(workload, params);
  const BaselineWorkload bw = baseline_workload(wl);
  const CarbonParams& carbon = cfg.params.carbon;

  // The accelerator: the fast engine's timing (values are not needed for time or energy), of
  // one chip or of the multi-chip system whose report the caller passed.
  const bool multi = !opt.multichip_report.is_null();
  json acc_rep;
  if (multi) {
    acc_rep = opt.multichip_report;
  } else {
    WorkloadRunOptions wo;
    wo.timing_only = true;
    acc_rep = run_workload_report(cfg, workload, params, wo);
  }
  const json& t = acc_rep["totals"];
  BaselineResult acc;
  acc.name = cfg.name;
  acc.kind = "accelerator";
  acc.dtype = "int8";
  acc.latency_s = t["seconds"].get<double>();
  acc.throughput_per_s = double(bw.examples) / acc.latency_s;
  // Useful operations only, as for the baselines (padding and identity passes are the
  // accelerator's overhead, not work). The multi-chip totals' tops already count useful MACs
  // over the wall-clock time.
  acc.tops = !multi && t.contains("useful_tops") ? t["useful_tops"].get<double>()
                                                 : t["tops"].get<double>();
  acc.power_w = t["avg_power_w"].get<double>();
  acc.perf_per_w = acc.throughput_per_s / acc.power_w;
  acc.tops_per_w = t["tops_per_w"].get<double>();
  acc.energy_j_per_inference = t["energy_j"].get<double>() / double(bw.examples);
  acc.carbon_operational_g_per_inference =
      t["carbon_g"]["operational"].get<double>() / double(bw.examples);
  acc.carbon_embodied_g_per_inference =
      t["carbon_g"]["embodied"].get<double>() / double(bw.examples);
  acc.carbon_g_per_inference =
      acc.carbon_operational_g_per_inference + acc.carbon_embodied_g_per_inference;
  json accelerator;
  if (multi) {
    const json& sp = acc_rep["split"];
    acc.name = fmt::format("{} x{} (tp {} pp {})", cfg.name, sp["chips"].get<uint32_t>(),
                           sp["tp"].get<uint32_t>(), sp["pp"].get<uint32_t>());
    accelerator = {{"name", acc.name},
                   {"arch", cfg.name},
                   {"chips", sp["chips"]},
                   {"tp", sp["tp"]},
                   {"pp", sp["pp"]},
                   {"micro_batches", sp["micro_batches"]},
                   {"latency_s", acc.latency_s},
                   {"latency_kind", acc_rep["latency_kind"]},
                   {"power_w", acc.power_w},
                   {"perf_per_w", acc.perf_per_w},
                   {"tops_per_w", acc.tops_per_w},
                   {"energy_j", t["energy_j"]},
                   {"communication", acc_rep["communication"]},
                   {"interconnect", acc_rep["interconnect"]},
                   {"scope",
                    "the whole system: every chip's time, energy and carbon plus the interconnect; "
                    "baselines are single devices"}};
  }

  std::vector<BaselineResult> all{acc};
  for (const BaselineDevice& dev : load_baseline_devices(opt.baselines))
    all.push_back(evaluate_baseline(dev, bw, carbon));
  if (opt.measure_cpu) {
    std::vector<BaselineOp> gemms;
    for (const auto& op : bw.ops) gemms.push_back(op);
    MeasureOptions mo;
    mo.max_seconds = opt.measure_seconds;
    BaselineDevice model = load_baseline_device(opt.cpu_model);
    for (const MeasuredRun& run : measure_cpu(gemms, mo))
      all.push_back(measured_result(run, model, bw, carbon));
  }
  if (!opt.gpu_results.empty())
    for (auto& r : gpu_results(opt.gpu_results, bw, carbon)) all.push_back(r);

  // Table 6 needs Haswell's roofline time even when it is not among the listed baselines.
  double haswell_s = 0;
  for (const auto& r : all)
    if (r.name == "haswell" && r.kind == "roofline") haswell_s = r.latency_s;
  if (haswell_s == 0)
    haswell_s = evaluate_baseline(load_baseline_device("haswell"), bw, carbon).latency_s;
  set_speedup_vs(all, haswell_s);

  double haswell_ppw = 0;
  {
    BaselineResult h = evaluate_baseline(load_baseline_device("haswell"), bw, carbon);
    haswell_ppw = h.perf_per_w;
  }
  json devices = json::array();
  for (const auto& r : all) {
    json d = device_json(r);
    d["perf_per_w_vs_haswell"] = haswell_ppw > 0 ? r.perf_per_w / haswell_ppw : 0.0;  // Figure 9
    devices.push_back(d);
  }
  json rep{{"tool", acc_rep["tool"]},
           {"arch", acc_rep["arch"]},
           {"workload", acc_rep["workload"]},
           {"examples_per_inference", bw.examples},
           {"capacity", acc_rep["capacity"]},
           {"devices", devices},
           {"notes",
            {"Speed-up is Haswell's latency divided by the device's (TPU paper Table 6); "
             "perf_per_w_vs_haswell is the Figure 9 ratio (examples per joule).",
             "Roofline devices use the efficiencies stated in their YAML (workloads/devices/); "
             "measured entries come from real runs on this machine (measure_cpu) or a GPU "
             "(gpu_results)."}}};
  if (multi) rep["accelerator"] = accelerator;
  return rep;
}

}  // namespace tpusim
