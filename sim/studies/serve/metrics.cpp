#include "sim/studies/serve/metrics.h"

#include <algorithm>
#include <cmath>

#include "models/carbon.h"
#include "models/energy.h"

namespace tpusim::serve {

using nlohmann::json;

Percentiles percentiles(std::vector<double> v) {
  Percentiles p;
  if (v.empty()) return p;
  std::sort(v.begin(), v.end());
  auto at = [&](double q) {
    const double pos = q * double(v.size() - 1);
    const size_t lo = size_t(std::floor(pos));
    const size_t hi = std::min(lo + 1, v.size() - 1);
    return v[lo] + (v[hi] - v[lo]) * (pos - double(lo));
  };
  p.p50 = at(0.50);
  p.p90 = at(0.90);
  p.p99 = at(0.99);
  double s = 0;
  for (double x : v) s += x;
  p.mean = s / double(v.size());
  p.max = v.back();
  return p;
}

namespace {

json pct_json(const Percentiles& p) {
  return {{"p50", p.p50}, {"p90", p.p90}, {"p99", p.p99}, {"mean", p.mean}, {"max", p.max}};
}

bool meets_ttft(const RequestResult& q, const SloTargets& s) {
  return s.ttft_s <= 0 || q.ttft_s() <= s.ttft_s;
}
bool meets_tpot(const RequestResult& q, const SloTargets& s) {
  return s.tpot_s <= 0 || q.request.output_len <= 1 || q.tpot_s() <= s.tpot_s;
}

}  // namespace

double slo_attainment(const ScheduleResult& r, const SloTargets& slo) {
  if (r.requests.empty()) return 0.0;
  size_t ok = 0;
  for (const auto& q : r.requests) ok += meets_ttft(q, slo) && meets_tpot(q, slo);
  return double(ok) / double(r.requests.size());
}

json summarize(const ScheduleResult& r, const CostModel& cost, const SloTargets& slo) {
  const TpuConfig& cfg = cost.config();
  std::vector<double> ttft, tpot, e2e, norm;
  double first = 0, last = 0;
  uint64_t out_tokens = 0, in_tokens = 0;
  size_t ok_ttft = 0, ok_tpot = 0;
  for (size_t i = 0; i < r.requests.size(); ++i) {
    const RequestResult& q = r.requests[i];
    if (i == 0 || q.request.arrival_s < first) first = q.request.arrival_s;
    last = std::max(last, q.finish_s);
    out_tokens += uint64_t(q.request.output_len) * q.request.width;
    in_tokens += q.request.prompt_len;
    ttft.push_back(q.ttft_s());
    if (q.request.output_len > 1) tpot.push_back(q.tpot_s());
    e2e.push_back(q.e2e_s());
    norm.push_back(q.e2e_s() / q.request.output_len);
    ok_ttft += meets_ttft(q, slo);
    ok_tpot += meets_tpot(q, slo);
  }
  const double n = double(std::max<size_t>(r.requests.size(), 1));
  const double span = last - first;
  const double horizon = last;  // chips exist from t = 0 to the last completion

  json chips = json::array();
  double energy_j = 0, op_g = 0, emb_g = 0;
  const CostOptions& co = cost.options();
  for (const ChipUsage& c : r.chips) {
    const EnergyResult e = estimate_energy(cfg, c.counts);
    const CarbonResult k = estimate_carbon(cfg, c.counts);
    // tp x pp: the counts are one shard's over every stage, so the tp shards do tp times their
    // dynamic energy, all tp x pp chips draw static power the whole time, and the links add theirs.
    const double n_chips = double(co.tp) * double(co.pp);
    const double busy_j = co.parallel() ? double(co.tp) * e.dynamic_j +
                                              n_chips * e.static_power_w * e.seconds + c.comm_j
                                        : e.total_j;
    const double idle_j = n_chips * e.static_power_w * std::max(0.0, horizon - e.seconds);
    const double total_j = busy_j + idle_j;
    const double op = total_j / 3.6e6 * k.pue * k.grid_g_per_kwh;  // Eq. 10, models/README.md
    const double emb = n_chips * k.embodied_total_g * horizon / k.lifetime_s;  // Eq. 14
    energy_j += total_j;
    op_g += op;
    emb_g += emb;
    json cj{{"role", c.role},
            {"iterations", c.iterations},
            {"busy_s", c.busy_s},
            {"busy_fraction", horizon > 0 ? c.busy_s / horizon : 0.0},
            {"busy_energy_j", busy_j},
            {"idle_energy_j", idle_j},
            {"macs", c.counts.macs},
            {"useful_macs", c.counts.useful_macs},
            {"weight_memory_read_bytes", c.counts.weight_memory_read_bytes},
            {"host_write_bytes", c.counts.host_write_bytes}};
    if (co.parallel()) {
      cj["chips"] = co.tp * co.pp;
      cj["tp"] = co.tp;
      cj["pp"] = co.pp;
      cj["comm_energy_j"] = c.comm_j;
      cj["counts_scope"] = "macs and bytes of one tensor-parallel shard over every stage";
    }
    chips.push_back(std::move(cj));
  }
  const double per_tok = out_tokens ? 1.0 / double(out_tokens) : 0.0;
  json out = json{
      {"requests", r.requests.size()},
      {"prompt_tokens", in_tokens},
      {"output_tokens", out_tokens},
      {"span_s", span},
      {"throughput_tokens_per_s", span > 0 ? double(out_tokens) / span : 0.0},
      {"throughput_total_tokens_per_s", span > 0 ? double(out_tokens + in_tokens) / span : 0.0},
      {"throughput_requests_per_s", span > 0 ? double(r.requests.size()) / span : 0.0},
      {"ttft_s", pct_json(percentiles(ttft))},
      {"tpot_s", pct_json(percentiles(tpot))},
      {"e2e_s", pct_json(percentiles(e2e))},
      {"normalized_latency_s_per_token", pct_json(percentiles(norm))},
      {"slo", {{"ttft_s", slo.ttft_s}, {"tpot_s", slo.tpot_s}}},
      {"slo_attainment", slo_attainment(r, slo)},
      {"slo_attainment_ttft", double(ok_ttft) / n},
      {"slo_attainment_tpot", double(ok_tpot) / n},
      {"kv_utilization", r.kv_utilization},
      {"kv_allocated_fraction", r.kv_allocated_fraction},
      {"kv_capacity_tokens", r.kv_capacity_tokens},
      {"kv_memory",
       {{"used", r.kv_used},
        {"reserved", r.kv_reserved},
        {"internal_fragmentation", r.kv_internal},
        {"external_fragmentation", r.kv_external},
        {"free", r.kv_free},
        {"token_share_of_occupied",
         r.kv_used + r.kv_reserved + r.kv_internal + r.kv_external > 0
             ? r.kv_used / (r.kv_used + r.kv_reserved + r.kv_internal + r.kv_external)
             : 0.0},
        {"sharing_saving", r.kv_sharing_saving},
        {"copy_on_writes", r.copy_on_writes}}},
      {"kv_bytes_per_token", cost.model().kv_bytes_per_token()},
      {"preemptions", r.preemptions},
      {"swap_bytes", r.swap_bytes},
      {"swap",
       {{"blocks", r.swap_blocks},
        {"transfers", r.swap_transfers},
        {"peak_blocks", r.swap_peak_blocks},
        {"capacity_blocks", r.swap_capacity_blocks},
        {"fallbacks_to_recompute", r.swap_fallbacks}}},
      {"kv_transfer_bytes", r.kv_transfer_bytes},
      {"batch", {{"mean", r.mean_running}, {"max", r.max_running}}},
      {"chips", chips},
      {"energy_j", energy_j},
      {"energy_j_per_token", energy_j * per_tok},
      {"carbon_g_per_token",
       {{"operational", op_g * per_tok},
        {"embodied", emb_g * per_tok},
        {"total", (op_g + emb_g) * per_tok}}},
      {"cost_model",
       {{"engine_runs", cost.engine_runs()}, {"bucket_tokens", cost.options().bucket}}}};
  // Generation stalls (paged runs): each request's longest gap between output tokens.
  std::vector<double> tbt;
  for (const RequestResult& q : r.requests)
    if (q.max_tbt_s > 0.0) tbt.push_back(q.max_tbt_s);
  if (!tbt.empty()) out["max_tbt_s"] = pct_json(percentiles(tbt));
  // LoRA (unified_paging.h): adapter residency in the unified pool and its host-link loads.
  if (r.adapter_loads || r.packed_copies)
    out["lora"] = {{"adapter_loads", r.adapter_loads},
                   {"adapter_load_bytes", r.adapter_load_bytes},
                   {"adapter_load_s", r.adapter_load_s},
                   {"adapter_evictions", r.adapter_evictions},
                   {"peak_resident_adapters", r.peak_resident_adapters},
                   {"pool_fraction_adapters", r.kv_adapters},
                   {"packed_copies", r.packed_copies}};
  return out;
}

}  // namespace tpusim::serve
