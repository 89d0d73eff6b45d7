// Carbon model after ACT (Gupta et al., ISCA 2022): operational carbon of a run's energy at the
// grid's intensity and the datacenter's PUE, plus the embodied carbon of the die, its package and
// the DRAM, amortized over the hardware's lifetime (Eq. 10-15, models/README.md).
#pragma once

#include "models/config.h"
#include "models/event_counts.h"

namespace tpusim {

// ACT's per-area fab factors at a node (Eq. 11): energy per area and gas per area.
struct ActFabFactors {
  double epa_kwh_per_cm2 = 0.0;
  double gpa_g_per_cm2 = 0.0;
};

// EPA and GPA for `node_nm` at a gas abatement of 95, 97 (mean of the 95 and 99 rows) or 99 %,
// interpolated linearly in the node between ACT's rows (28..3 nm) and clamped outside them.
// Throws std::invalid_argument for another abatement.
ActFabFactors act_fab_factors(double node_nm, int gas_abatement_pct);

// Eq. 12: embodied carbon of a logic die in g CO2e, package excluded:
// area * (fab_ci * EPA + GPA + MPA) / yield, area in mm^2 (converted to cm^2).
double act_die_embodied_g(double area_mm2, double node_nm, double yield, double fab_g_per_kwh,
                          int gas_abatement_pct, double mpa_g_per_cm2);

struct CarbonResult {
  double seconds = 0.0;   // the run's time (Eq. 6)
  double energy_j = 0.0;  // the run's total energy (estimate_energy)
  double grid_g_per_kwh = 0.0;
  double pue = 0.0;
  double operational_g = 0.0;  // Eq. 10
  double die_g = 0.0;          // Eq. 12, whole die
  double package_g = 0.0;
  double dram_g = 0.0;            // weight memory capacity x g/GB
  double embodied_total_g = 0.0;  // Eq. 13: die + package + DRAM, over the whole lifetime
  double lifetime_s = 0.0;
  double embodied_g = 0.0;  // Eq. 14: the run's share, seconds / lifetime_s
  double total_g = 0.0;     // operational_g + embodied_g
};

// Carbon of one run: operational from estimate_energy, embodied from estimate_area and the
// weight memory, amortized by the run's time over cfg.params.carbon.lifetime_years. g CO2e.
// Throws std::out_of_range if the weight-memory type has no g/GB entry.
CarbonResult estimate_carbon(const TpuConfig& cfg, const EventCounts& counts);

struct DeploymentCarbon {
  double queries = 0.0;   // qps * years
  double chips = 0.0;     // chips needed to serve qps (>= 1, Eq. 15)
  double energy_j = 0.0;  // busy energy of every query + idle static energy
  double operational_g = 0.0;
  double embodied_g = 0.0;  // chips * embodied_total_g * years / lifetime (Eq. 15)
  double total_g = 0.0;
  double per_query_g = 0.0;
  double per_1000_queries_g = 0.0;
};

// Carbon of serving `qps` queries per second for `years`, where `per_query` are the counts of one
// query (or one batch step, then qps counts steps). Chips run the queries back to back and idle
// at static power otherwise (Eq. 15). qps > 0, years > 0, else std::invalid_argument.
DeploymentCarbon deployment_carbon(const TpuConfig& cfg, const EventCounts& per_query, double qps,
                                   double years);

}  // namespace tpusim
