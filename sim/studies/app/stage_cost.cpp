#include "sim/studies/app/stage_cost.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "models/energy.h"
#include "models/errors.h"
#include "sim/studies/compare/compare.h"
#include "sim/studies/run/run_workload.h"

namespace tpusim::app {

uint32_t padded_batch(uint32_t items, uint32_t max_batch) {
  uint32_t b = 1;
  while (b < items) b *= 2;
  return std::min(b, max_batch);
}

StageCosts::StageCosts(const AppSpec& app) : app_(app) {
  host_ = load_baseline_device(app.host.device);
  carbon_ = load_config(app.carbon_arch).params.carbon;
  g_per_j_ = carbon_.pue * carbon_.grid_g_per_kwh / 3.6e6;
  host_core_w_ = host_.tdp_w / app.host.cores_per_device;
  const double lifetime_s = carbon_.lifetime_years * 365.25 * 24 * 3600;
  host_core_emb_g_per_s_ =
      baseline_embodied_total_g(host_, carbon_) / lifetime_s / app.host.cores_per_device;
}

const TpuConfig& StageCosts::config(const std::string& arch) {
  auto it = cfgs_.find(arch);
  if (it == cfgs_.end()) it = cfgs_.emplace(arch, load_config(arch)).first;
  return it->second;
}

const BaselineDevice& StageCosts::device(const std::string& dev) {
  auto it = devs_.find(dev);
  if (it == devs_.end()) it = devs_.emplace(dev, load_baseline_device(dev)).first;
  return it->second;
}

bool StageCosts::dedicated(uint32_t s) const { return app_.stages[s].kind != StageKind::kHost; }

double StageCosts::idle_w(uint32_t s) {
  const StageSpec& st = app_.stages[s];
  if (st.kind == StageKind::kHost) return 0.0;
  if (st.kind == StageKind::kRetrieval && st.algorithm != "exact") {
    for (const auto& f : st.freqs)
      if (std::abs(f.ghz - st.freq_ghz) < 1e-9) return st.nodes * f.idle_w;
    return 0.0;
  }
  if (!st.device.empty()) return device(st.device).idle_w;
  double w = 0.0;
  for (const auto& [block, p] : static_power_w(config(st.arch))) w += p;
  return w;
}

// Eq. A1-A3.
CallCost StageCosts::model_call(const StageSpec& st, uint64_t batch) {
  const auto t0 = std::chrono::steady_clock::now();
  Workload wl;
  double scale = 1.0;
  if (st.kind == StageKind::kRetrieval) {
    const uint64_t chunk = std::min(st.vectors, st.scan_chunk);
    scale = double(st.vectors) / double(chunk);
    const std::string text = fmt::format(
        "name: {}-exact-scan\npaper: \"exact retrieval scan (sim/studies/app, Eq. A3)\"\n"
        "description: \"exact inner-product scan of {} {}-dim int8 codes (Eq. A3)\"\n"
        "batch: {}\ninput: {{features: {}}}\nlayers:\n  - {{type: fc, name: scan, out: {}}}\n",
        st.name, chunk, st.dim, batch, st.dim, chunk);
    wl = parse_workload(text, app_.file + ":" + st.name);
  } else {
    WorkloadParams p = st.params;
    p.batch = batch;
    if (st.output_tokens) p.phase = "prefill";
    wl = load_workload(st.workload, p);
  }
  CallCost c = engine_cost(st, wl);
  if (st.output_tokens) {  // generate: the prefill above, then the decode steps (Eq. A1)
    WorkloadParams p = st.params;
    p.batch = batch;
    p.phase = "decode";
    p.prompt_len = 0;
    p.context_len = st.params.prompt_len + (st.output_tokens + 1) / 2;
    const CallCost d = engine_cost(st, load_workload(st.workload, p));
    c.seconds += st.output_tokens * d.seconds;
    c.energy_j += st.output_tokens * d.energy_j;
    c.carbon_op_g += st.output_tokens * d.carbon_op_g;
  }
  c.batch_run = uint32_t(batch);
  engine_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double k = scale * st.repeat;
  c.seconds *= k;
  c.energy_j *= k;
  c.carbon_op_g *= k;
  return c;
}

CallCost StageCosts::engine_cost(const StageSpec& st, const Workload& wl) {
  CallCost c;
  if (!st.device.empty()) {
    const BaselineWorkload bw = baseline_workload(wl);
    const BaselineResult r = evaluate_baseline(device(st.device), bw, carbon_);
    const double ex = double(bw.examples);
    c.seconds = r.latency_s;
    c.energy_j = r.energy_j_per_inference * ex;
    c.carbon_op_g = r.carbon_operational_g_per_inference * ex;
    c.embodied_g_per_s = r.latency_s > 0 ? r.carbon_embodied_g_per_inference * ex / r.latency_s : 0;
  } else {
    WorkloadRunOptions o;
    o.mode = "fast";
    o.timing_only = true;
    o.steady = false;
    const nlohmann::json rep = run_workload_report(config(st.arch), wl, o);
    const auto& t = rep.at("totals");
    c.seconds = t.at("seconds").get<double>();
    c.energy_j = t.at("energy_j").get<double>();
    c.carbon_op_g = t.at("carbon_g").at("operational").get<double>();
    c.embodied_g_per_s =
        c.seconds > 0 ? t.at("carbon_g").at("embodied").get<double>() / c.seconds : 0.0;
  }
  ++engine_runs_;
  return c;
}

// Eq. A5-A8.
CallCost StageCosts::host_retrieval_call(const StageSpec& st, uint64_t items) const {
  const double v = double(st.vectors) / st.nodes;
  const double nlist = st.nlist ? double(st.nlist) : std::max(1.0, std::round(std::sqrt(v)));
  const double list = v / nlist;
  const double rate = st.scan_gb_s_per_core * 1e9 * st.cores_per_node;
  const double per_vec = double(st.dim) * st.code_bytes / rate;
  const FreqLevel* lv = &st.freqs.back();
  for (const auto& f : st.freqs)
    if (std::abs(f.ghz - st.freq_ghz) < 1e-9) lv = &f;
  const double slow =
      st.clock_bound * st.freqs.back().ghz / lv->ghz + (1.0 - st.clock_bound);  // Eq. A8
  const double b = double(items);
  double seconds = 0.0, busy_node_s = 0.0;
  if (st.algorithm == "ivf") {
    const double t = (nlist + st.nprobe * list) * per_vec * slow;
    seconds = b * t;
    busy_node_s = seconds * st.nodes;
  } else if (st.algorithm == "hnsw") {
    const double t = (double(st.ef_search) * st.hnsw_m + st.hnsw_m * std::log2(std::max(2.0, v))) *
                     per_vec * slow;
    seconds = b * t;
    busy_node_s = seconds * st.nodes;
  } else {  // hierarchical, Eq. A7
    const double ts = (nlist + st.sample_nprobe * list) * per_vec * slow;
    const double td = st.deep_nprobe * list * per_vec * slow;
    const double deep = b * st.clusters_searched;
    seconds = b * ts + std::ceil(deep / st.nodes) * td;
    busy_node_s = b * ts * st.nodes + deep * td;
  }
  CallCost c;
  c.seconds = seconds;
  const double idle_node_s = std::max(0.0, seconds * st.nodes - busy_node_s);
  c.energy_j = busy_node_s * lv->busy_w + idle_node_s * lv->idle_w;
  c.carbon_op_g = c.energy_j * g_per_j_;
  c.embodied_g_per_s = host_core_emb_g_per_s_ * app_.host.cores_per_device * st.nodes;
  return c;
}

const CallCost& StageCosts::call(uint32_t s, uint32_t items) {
  const StageSpec& st = app_.stages[s];
  const bool batched_engine =
      st.kind == StageKind::kModel || (st.kind == StageKind::kRetrieval && st.algorithm == "exact");
  const uint32_t key = batched_engine ? padded_batch(items, st.max_batch) : items;
  auto it = cache_.find({s, key});
  if (it != cache_.end()) return it->second;
  CallCost c;
  if (batched_engine) {
    c = model_call(st, key);
  } else if (st.kind == StageKind::kHost) {  // Eq. A4
    c.seconds = double(items) * st.cost_s;
    c.energy_j = c.seconds * host_core_w_;
    c.carbon_op_g = c.energy_j * g_per_j_;
    c.embodied_g_per_s = host_core_emb_g_per_s_;
  } else {
    c = host_retrieval_call(st, items);
  }
  return cache_.emplace(std::make_pair(s, key), c).first->second;
}

}  // namespace tpusim::app
