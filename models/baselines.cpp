#include "models/baselines.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "models/carbon.h"
#include "models/config.h"
#include "models/data_files.h"
#include "models/errors.h"
#include "models/perf.h"
#include "models/yaml_reader.h"

namespace tpusim {

namespace {

constexpr double kJPerKwh = 3.6e6;
constexpr double kBytesPerGb = 1e9;
// Upper bounds of the device YAML's numbers: far above any shipped part, low enough to catch a
// unit slip (TOPS given in ops/s, bandwidth in bytes/s).
constexpr double kMaxTops = 1e6;
constexpr double kMaxGbS = 1e6;
constexpr double kMaxW = 1e5;
constexpr double kMaxMm2 = 1e5;
constexpr double kMaxGb = 1e6;

// The reference table's order (../shared/reference/energy-carbon.md, "Baseline devices").
const std::vector<std::string> kDefaultOrder = {"haswell", "k80",  "t4",  "v100",
                                                "a100",    "h100", "h200"};

std::vector<std::string> memory_types() {
  std::vector<std::string> out;
  for (const auto& kv : CarbonParams{}.dram_g_per_gb) out.push_back(kv.first);
  return out;
}

}  // namespace

const std::vector<std::string>& baseline_dtypes() {
  static const std::vector<std::string> k = {"int8", "fp16", "bf16", "fp32"};
  return k;
}

double dtype_bytes(const std::string& dtype) {
  if (dtype == "int8") return 1.0;
  if (dtype == "fp16" || dtype == "bf16") return 2.0;
  if (dtype == "fp32") return 4.0;
  throw std::invalid_argument("dtype_bytes: unknown dtype '" + dtype + "'");
}

double BaselineDevice::peak_ops_per_s(const std::string& dt) const {
  if (dt == "int8") return int8_tops * 1e12;
  if (dt == "fp16" || dt == "bf16") return fp16_tflops * 1e12;
  if (dt == "fp32") return fp32_tflops * 1e12;
  throw std::invalid_argument("peak_ops_per_s: unknown dtype '" + dt + "'");
}

namespace {

BaselineDevice parse_device_node(const YAML::Node& doc, const std::string& file) {
  if (!doc.IsMap()) throw InputError(fmt::format("{}: the document must be a mapping", file));
  YamlMap m(doc, file, "");
  BaselineDevice d;
  d.file = file;
  d.name = m.str("name");
  if (d.name.empty()) m.fail("name", "must not be empty");
  d.description = m.str_or("description", "");
  d.source = m.str_or("source", "");
  d.kind = m.choice("kind", {"cpu", "gpu"});
  d.dtype = m.choice("dtype", baseline_dtypes());
  d.int8_tops = m.real("int8_tops", 0.0, kMaxTops);
  d.fp16_tflops = m.real("fp16_tflops", 0.0, kMaxTops);
  d.fp32_tflops = m.real("fp32_tflops", 0.0, kMaxTops);
  d.memory_gb_s = m.real("memory_gb_s", 1e-3, kMaxGbS);
  d.memory_gb = m.real("memory_gb", 0.0, kMaxGb);
  d.memory_type = m.choice("memory_type", memory_types());
  d.tdp_w = m.real("tdp_w", 1e-3, kMaxW);
  d.idle_w = m.real("idle_w", 0.0, d.tdp_w);
  d.die_mm2 = m.real("die_mm2", 1e-3, kMaxMm2);
  d.node_nm = m.real("node_nm", 1.0, 1000.0);
  {
    YamlMap e = m.map("efficiency");
    d.compute_efficiency = e.real("compute", 1e-3, 1.0);
    d.memory_efficiency = e.real("memory", 1e-3, 1.0);
    e.finish();
  }
  if (m.has("gemm_tiles")) {  // Eq. B7
    YamlMap g = m.map("gemm_tiles");
    d.gemm_tile_m = g.uint("tile_m", 1, 1u << 16);
    d.gemm_tile_n = g.uint("tile_n", 1, 1u << 16);
    d.gemm_units = g.uint("units", 1, 1u << 20);
    d.gemm_tiles_source = g.str("source");
    if (d.gemm_tiles_source.empty()) g.fail("source", "must name where the tile sizes come from");
    g.finish();
  }
  if (m.has("host")) {  // Eq. B8
    YamlMap h = m.map("host");
    d.host_link_gb_s = h.real("link_gb_s", 1e-3, kMaxGbS);
    d.launch_us = h.real_or("launch_us", 0.0, 0.0, 1e6);
    h.str_or("source", "");
    h.finish();
  }
  m.finish();
  if (d.peak_ops_per_s(d.dtype) <= 0.0) {
    m.fail("dtype", fmt::format("'{}' has no peak on this device (its {} is 0); use a dtype with "
                                "a nonzero peak",
                                d.dtype,
                                d.dtype == "int8"   ? "int8_tops"
                                : d.dtype == "fp32" ? "fp32_tflops"
                                                    : "fp16_tflops"));
  }
  if (d.fp32_tflops <= 0.0) m.fail("fp32_tflops", "must be > 0 (vector ops run at this rate)");
  return d;
}

}  // namespace

BaselineDevice parse_baseline_device(const std::string& yaml_text, const std::string& file) {
  return parse_device_node(load_yaml_text(yaml_text, file), file);
}

BaselineDevice load_baseline_device(const std::string& name_or_path) {
  const std::string path = resolve_data_file(name_or_path, "workloads/devices", "baseline device");
  return parse_device_node(load_yaml_file(path), path);  // load_yaml_file: existence, syntax
}

std::vector<std::string> list_baseline_devices() { return list_data_files("workloads/devices"); }

std::vector<std::string> default_baseline_names() {
  const std::vector<std::string> shipped = list_baseline_devices();
  std::vector<std::string> out;
  for (const auto& n : kDefaultOrder) {
    if (std::find(shipped.begin(), shipped.end(), n) != shipped.end()) out.push_back(n);
  }
  return out;
}

std::vector<BaselineDevice> load_baseline_devices(const std::string& comma_list) {
  std::vector<std::string> names;
  size_t start = 0;
  while (start <= comma_list.size()) {
    size_t end = comma_list.find(',', start);
    if (end == std::string::npos) end = comma_list.size();
    std::string item = comma_list.substr(start, end - start);
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    if (!item.empty()) names.push_back(item);
    start = end + 1;
  }
  if (names.empty()) names = default_baseline_names();
  std::vector<BaselineDevice> out;
  out.reserve(names.size());
  for (const auto& n : names) out.push_back(load_baseline_device(n));
  return out;
}

double baseline_embodied_total_g(const BaselineDevice& dev, const CarbonParams& c) {
  const double die_g = act_die_embodied_g(dev.die_mm2, dev.node_nm, c.yield, c.fab_g_per_kwh,
                                          c.gas_abatement_pct, c.mpa_g_per_cm2);
  const double dram_g = dev.memory_gb * c.dram_g_per_gb.at(dev.memory_type);
  return die_g + c.package_g + dram_g;  // Eq. 13, models/README.md
}

namespace {

uint64_t ceil_div(uint64_t a, uint64_t b) { return (a + b - 1) / b; }

}  // namespace

double compute_efficiency(const BaselineDevice& dev, const BaselineOp& op) {
  if (dev.gemm_tile_m == 0 || op.m == 0 || op.n == 0) return dev.compute_efficiency;
  // Eq. B7. Independent instances (batch_count) add tiles, not rows.
  const uint64_t tm = ceil_div(op.m, dev.gemm_tile_m), tn = ceil_div(op.n, dev.gemm_tile_n);
  const double fill_m = double(op.m) / double(tm * dev.gemm_tile_m);
  const double fill_n = double(op.n) / double(tn * dev.gemm_tile_n);
  const uint64_t tiles = tm * tn * std::max<uint64_t>(op.batch_count, 1);
  const double waves = double(ceil_div(tiles, dev.gemm_units));
  const double occupancy = double(tiles) / (waves * double(dev.gemm_units));
  return dev.compute_efficiency * fill_m * fill_n * occupancy;
}

double baseline_host_s(const BaselineDevice& dev, const BaselineWorkload& wl) {
  if (dev.host_link_gb_s <= 0.0) return 0.0;
  const BaselineOp* first = nullptr;
  const BaselineOp* last = nullptr;
  uint64_t launches = 0;
  for (const auto& op : wl.ops) {
    if (op.m > 0) {
      if (!first) first = &op;
      last = &op;
    }
    if (op.m > 0 || op.vector_ops > 0) ++launches;
  }
  const double elems = first ? double(first->m * first->k + last->m * last->n) : 0.0;
  return elems * dtype_bytes(dev.dtype) / (dev.host_link_gb_s * 1e9) +
         double(launches) * dev.launch_us * 1e-6;  // Eq. B8
}

BaselineOpResult roofline_op(const BaselineDevice& dev, const BaselineOp& op) {
  BaselineOpResult r;
  r.layer = op.layer;
  r.ops = op.gemm_ops();
  r.bytes = double(op.weight_bytes + op.act_bytes) * dtype_bytes(dev.dtype);
  const double peak = dev.peak_ops_per_s();
  const double eff_c = compute_efficiency(dev, op);  // Eq. B7
  // Eq. B1 + the vector part of Eq. B3.
  r.compute_s =
      (r.ops > 0 ? r.ops / (peak * eff_c) : 0.0) +
      (op.vector_ops > 0 ? double(op.vector_ops) / (dev.vector_ops_per_s() * dev.compute_efficiency)
                         : 0.0);
  // Eq. B2.
  r.memory_s = r.bytes / (dev.memory_bytes_per_s() * dev.memory_efficiency);
  r.seconds = std::max(r.compute_s, r.memory_s);  // Eq. B3
  r.memory_bound = r.memory_s > r.compute_s;
  return r;
}

namespace {

// Eq. B4 for one op: the busier resource's share of its raw peak during the op's time.
double op_utilization(const BaselineDevice& dev, const BaselineOp& op, double seconds) {
  if (seconds <= 0.0) return 0.0;
  const double bytes = double(op.weight_bytes + op.act_bytes) * dtype_bytes(dev.dtype);
  const double compute_s =
      op.gemm_ops() / dev.peak_ops_per_s() + double(op.vector_ops) / dev.vector_ops_per_s();
  const double memory_s = bytes / dev.memory_bytes_per_s();
  return std::min(1.0, std::max(compute_s, memory_s) / seconds);
}

void check_workload(const BaselineWorkload& wl) {
  if (wl.ops.empty()) throw std::invalid_argument("baseline workload '" + wl.name + "' has no ops");
  if (wl.examples == 0)
    throw std::invalid_argument("baseline workload '" + wl.name + "' has zero examples");
}

}  // namespace

void finish_baseline_result(BaselineResult& r, const BaselineDevice& dev,
                            const BaselineWorkload& wl, const CarbonParams& carbon) {
  check_workload(wl);
  if (!(r.latency_s > 0.0))
    throw std::invalid_argument("finish_baseline_result: latency_s must be > 0");
  double gemm_ops = 0.0;
  for (const auto& op : wl.ops) gemm_ops += op.gemm_ops();
  const double examples = double(wl.examples);

  // Eq. B4: time-weighted over the ops when their times are known, else over the whole run.
  if (r.ops.size() == wl.ops.size()) {
    double weighted = 0.0;
    for (size_t i = 0; i < wl.ops.size(); ++i)
      weighted += op_utilization(dev, wl.ops[i], r.ops[i].seconds) * r.ops[i].seconds;
    r.utilization = std::min(1.0, weighted / r.latency_s);
  } else {
    double bytes = 0.0, vec = 0.0;
    for (const auto& op : wl.ops) {
      bytes += double(op.weight_bytes + op.act_bytes);
      vec += double(op.vector_ops);
    }
    const double compute_s = gemm_ops / dev.peak_ops_per_s() + vec / dev.vector_ops_per_s();
    const double memory_s = bytes * dtype_bytes(dev.dtype) / dev.memory_bytes_per_s();
    r.utilization = std::min(1.0, std::max(compute_s, memory_s) / r.latency_s);
  }
  r.power_w = dev.idle_w + (dev.tdp_w - dev.idle_w) * r.utilization;

  r.throughput_per_s = examples / r.latency_s;
  r.tops = gemm_ops / r.latency_s / 1e12;
  r.perf_per_w = r.throughput_per_s / r.power_w;
  r.tops_per_w = r.tops / r.power_w;
  r.energy_j_per_inference = r.power_w * r.latency_s / examples;  // Eq. B5
  // Eq. B6: Eq. 10 and Eq. 14 of models/README.md per inference.
  r.carbon_operational_g_per_inference =
      r.energy_j_per_inference / kJPerKwh * carbon.pue * carbon.grid_g_per_kwh;
  const double lifetime_s = carbon.lifetime_years * kSecondsPerYear;
  r.carbon_embodied_g_per_inference =
      (r.latency_s / examples) / lifetime_s * baseline_embodied_total_g(dev, carbon);
  r.carbon_g_per_inference =
      r.carbon_operational_g_per_inference + r.carbon_embodied_g_per_inference;
}

BaselineResult evaluate_baseline(const BaselineDevice& dev, const BaselineWorkload& wl,
                                 const CarbonParams& carbon) {
  check_workload(wl);
  BaselineResult r;
  r.name = dev.name;
  r.kind = "roofline";
  r.dtype = dev.dtype;
  for (const auto& op : wl.ops) {
    r.ops.push_back(roofline_op(dev, op));
    r.latency_s += r.ops.back().seconds;  // Eq. B3: ops in sequence
  }
  if (!(r.latency_s > 0.0))
    throw std::invalid_argument("baseline workload '" + wl.name + "' has no work");
  finish_baseline_result(r, dev, wl, carbon);
  return r;
}

void set_speedup_vs(std::vector<BaselineResult>& results, double reference_latency_s) {
  for (auto& r : results)
    r.speedup_vs_haswell = r.latency_s > 0.0 ? reference_latency_s / r.latency_s : 0.0;
}

}  // namespace tpusim
