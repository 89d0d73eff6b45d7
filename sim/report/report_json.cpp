#include "sim/report/report_json.h"

#include <cmath>

#include <fmt/format.h>

#include "models/carbon.h"
#include "models/energy.h"
#include "models/errors.h"
#include "models/perf.h"

namespace tpusim {

void set_useful(nlohmann::json& t, uint64_t useful_macs) {
  const double seconds = t.at("seconds").get<double>(), peak = t.at("peak_tops").get<double>();
  const double tops = seconds > 0 ? 2.0 * double(useful_macs) / seconds / 1e12 : 0.0;
  t["useful_macs"] = useful_macs;
  t["useful_tops"] = tops;
  t["useful_utilization"] = peak > 0 ? tops / peak : 0.0;
}

nlohmann::json tool_json() { return {{"name", "tpusim"}, {"version", TPUSIM_VERSION}}; }

nlohmann::json counts_json(const EventCounts& n, bool timed) {
  nlohmann::json j = nlohmann::json::object();
  uint32_t mxus_used = 0;  // one past the highest MXU with rows
  for (uint32_t m = 0; m < kMaxMxus; ++m)
    if (n.mxu_rows(m) > 0) mxus_used = m + 1;
  for (const CountField& c : kCountFields) {
    if (c.group == CountGroup::kTime && !timed) continue;
    const uint64_t v = n.*c.member;
    if (c.group == CountGroup::kLowering && v == 0) continue;
    if (c.group == CountGroup::kPerMxu) continue;
    (*c.block ? j[c.block][c.key] : j[c.key]) = v;
  }
  // A one-MXU run's report is unchanged: the per-MXU rows only where another MXU ran.
  if (mxus_used > 1) {
    j["mxu_rows"] = nlohmann::json::array();
    for (uint32_t m = 0; m < mxus_used; ++m) j["mxu_rows"].push_back(n.mxu_rows(m));
  }
  return j;
}

namespace {
// JSON has no infinity: an intensity with no weight bytes read is written as null.
nlohmann::json finite_or_null(double v) {
  return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr);
}
}  // namespace

nlohmann::json totals_json(const TpuConfig& cfg, const EventCounts& n) {
  const PerfResult perf = estimate_perf(cfg, n);
  const EnergyResult energy = estimate_energy(cfg, n);
  const CarbonResult carbon = estimate_carbon(cfg, n);
  nlohmann::json t = counts_json(n, true);
  t["seconds"] = perf.seconds;
  // Array slots (padding, skipped strided positions and identity passes included): `tops` and
  // `utilization`; the workload's own MACs: `useful_tops` and `useful_utilization` (set_useful).
  t["tops"] = perf.tops;
  t["tops_convention"] = "2 ops per MAC";
  t["peak_tops"] = perf.peak_tops;
  if (n.useful_macs > 0) set_useful(t, n.useful_macs);
  t["utilization"] = perf.utilization;
  t["breakdown"] = {
      {"array_active", perf.breakdown.array_active}, {"weight_stall", perf.breakdown.weight_stall},
      {"weight_shift", perf.breakdown.weight_shift}, {"non_matrix", perf.breakdown.non_matrix},
      {"raw_stall", perf.breakdown.raw_stall},       {"input_stall", perf.breakdown.input_stall}};
  // The TPU paper's "ops per weight byte" counts one MAC per weight per example.
  t["ops_per_weight_byte"] = {
      {"macs_per_weight_byte (TPU paper)", finite_or_null(perf.macs_per_weight_byte)},
      {"ops_per_weight_byte (2 ops per MAC)", finite_or_null(perf.ops_per_weight_byte)}};
  t["dram_bytes"] = perf.dram_bytes;
  t["host_bytes"] = perf.host_bytes;
  t["roofline"] = {{"ridge_macs_per_weight_byte", perf.roofline.ridge_macs_per_weight_byte},
                   {"intensity_macs_per_weight_byte",
                    finite_or_null(perf.roofline.intensity_macs_per_weight_byte)},
                   {"attainable_tops", perf.roofline.attainable_tops},
                   {"achieved_tops", perf.roofline.achieved_tops},
                   {"fraction_of_attainable", perf.roofline.fraction_of_attainable},
                   {"bound", perf.roofline.memory_bound ? "memory" : "compute"}};
  t["energy_j"] = energy.total_j;
  t["energy_breakdown_j"] = energy.breakdown_j;
  t["avg_power_w"] = energy.avg_power_w;
  t["chip_power_w"] = energy.chip_power_w;
  t["tops_per_w"] = energy.tops_per_w;
  t["carbon_g"] = {{"operational", carbon.operational_g},
                   {"embodied", carbon.embodied_g},
                   {"grid_g_per_kwh", carbon.grid_g_per_kwh},
                   {"pue", carbon.pue}};
  return t;
}

nlohmann::json layer_totals_json(const TpuConfig& cfg, const EventCounts& n) {
  nlohmann::json t = totals_json(cfg, n);
  const double seconds = t.at("seconds").get<double>();
  if (cfg.mxus == 1) {
    const double slots = double(n.array_active_cycles) * double(cfg.macs_per_cycle());
    t["tops"] = seconds > 0 ? 2.0 * slots / seconds / 1e12 : 0.0;
    t["utilization"] = n.cycles ? double(n.array_active_cycles) / double(n.cycles) : 0.0;
  } else {
    // Several MXUs: array_active says only that one of them injects, so the layer's own MAC
    // slots (its mmcs' rows, counted where they issue) over its cycles.
    t["tops"] = seconds > 0 ? 2.0 * double(n.macs) / seconds / 1e12 : 0.0;
    t["utilization"] =
        n.cycles ? double(n.macs) / (double(n.cycles) * double(cfg.macs_per_cycle())) : 0.0;
  }
  return t;
}

}  // namespace tpusim
