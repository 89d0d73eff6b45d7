#include "models/carbon.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "models/area.h"
#include "models/energy.h"
#include "models/perf.h"

namespace tpusim {

namespace {

struct ActRow {
  double node_nm, epa, gpa95, gpa99;
};

// ref (../shared/reference/energy-carbon.md): "Embodied carbon — ACT", node table.
constexpr ActRow kActRows[] = {{28, 0.90, 175, 100},  {20, 1.20, 190, 110}, {14, 1.20, 200, 125},
                               {10, 1.475, 240, 150}, {7, 2.15, 350, 200},  {5, 2.75, 430, 225},
                               {3, 3.25, 470, 275}};

constexpr double kJPerKwh = 3.6e6;
constexpr double kMm2PerCm2 = 100.0;
constexpr double kBytesPerGb = 1e9;

double gpa_of(const ActRow& r, int pct) {
  if (pct == 95) return r.gpa95;
  if (pct == 99) return r.gpa99;
  return 0.5 * (r.gpa95 + r.gpa99);  // Eq. 11, models/README.md: GPA97 = mean(GPA95, GPA99)
}

}  // namespace

ActFabFactors act_fab_factors(double node_nm, int gas_abatement_pct) {
  if (gas_abatement_pct != 95 && gas_abatement_pct != 97 && gas_abatement_pct != 99)
    throw std::invalid_argument("act_fab_factors: gas abatement must be 95, 97 or 99");
  const ActRow& first = kActRows[0];
  const ActRow& last = kActRows[std::size(kActRows) - 1];
  if (node_nm >= first.node_nm) return {first.epa, gpa_of(first, gas_abatement_pct)};
  if (node_nm <= last.node_nm) return {last.epa, gpa_of(last, gas_abatement_pct)};
  for (size_t i = 0; i + 1 < std::size(kActRows); ++i) {
    const ActRow& hi = kActRows[i];
    const ActRow& lo = kActRows[i + 1];
    if (node_nm <= hi.node_nm && node_nm >= lo.node_nm) {
      // Eq. 11, models/README.md: linear in the node between rows.
      const double t = (hi.node_nm - node_nm) / (hi.node_nm - lo.node_nm);
      return {hi.epa * (1 - t) + lo.epa * t,
              gpa_of(hi, gas_abatement_pct) * (1 - t) + gpa_of(lo, gas_abatement_pct) * t};
    }
  }
  throw std::logic_error("act_fab_factors: node table does not cover (3, 28)");
}

double act_die_embodied_g(double area_mm2, double node_nm, double yield, double fab_g_per_kwh,
                          int gas_abatement_pct, double mpa_g_per_cm2) {
  const ActFabFactors f = act_fab_factors(node_nm, gas_abatement_pct);
  // Eq. 12, models/README.md.
  return area_mm2 / kMm2PerCm2 *
         (fab_g_per_kwh * f.epa_kwh_per_cm2 + f.gpa_g_per_cm2 + mpa_g_per_cm2) / yield;
}

namespace {

// Eq. 13, models/README.md: die + package + DRAM, for one chip over its whole life.
void fill_embodied(const TpuConfig& cfg, CarbonResult& r) {
  const CarbonParams& c = cfg.params.carbon;
  r.die_g = act_die_embodied_g(estimate_area(cfg).die_mm2, double(cfg.technology.node_nm), c.yield,
                               c.fab_g_per_kwh, c.gas_abatement_pct, c.mpa_g_per_cm2);
  r.package_g = c.package_g;
  r.dram_g =
      double(cfg.weight_memory.bytes) / kBytesPerGb * c.dram_g_per_gb.at(cfg.weight_memory.type);
  r.embodied_total_g = r.die_g + r.package_g + r.dram_g;
  r.lifetime_s = c.lifetime_years * kSecondsPerYear;
}

}  // namespace

CarbonResult estimate_carbon(const TpuConfig& cfg, const EventCounts& counts) {
  const CarbonParams& c = cfg.params.carbon;
  const EnergyResult e = estimate_energy(cfg, counts);
  CarbonResult r;
  r.seconds = e.seconds;
  r.energy_j = e.total_j;
  r.grid_g_per_kwh = c.grid_g_per_kwh;
  r.pue = c.pue;
  r.operational_g = e.total_j / kJPerKwh * c.pue * c.grid_g_per_kwh;  // Eq. 10
  fill_embodied(cfg, r);
  r.embodied_g = r.seconds / r.lifetime_s * r.embodied_total_g;  // Eq. 14
  r.total_g = r.operational_g + r.embodied_g;                    // Eq. 14
  return r;
}

DeploymentCarbon deployment_carbon(const TpuConfig& cfg, const EventCounts& per_query, double qps,
                                   double years) {
  if (!(qps > 0.0) || !(years > 0.0))
    throw std::invalid_argument("deployment_carbon: qps and years must be positive");
  const CarbonParams& c = cfg.params.carbon;
  const EnergyResult e = estimate_energy(cfg, per_query);
  CarbonResult one;
  fill_embodied(cfg, one);
  DeploymentCarbon d;
  // Eq. 15, models/README.md.
  const double span_s = years * kSecondsPerYear;
  d.queries = qps * span_s;
  d.chips = std::max(1.0, std::ceil(qps * e.seconds));
  const double idle_s = std::max(0.0, d.chips * span_s - d.queries * e.seconds);
  d.energy_j = d.queries * e.total_j + idle_s * e.static_power_w;
  d.operational_g = d.energy_j / kJPerKwh * c.pue * c.grid_g_per_kwh;
  d.embodied_g = d.chips * one.embodied_total_g * span_s / one.lifetime_s;
  d.total_g = d.operational_g + d.embodied_g;
  d.per_query_g = d.total_g / d.queries;
  d.per_1000_queries_g = 1000.0 * d.per_query_g;
  return d;
}

}  // namespace tpusim
