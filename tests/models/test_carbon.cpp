// Carbon model (models/carbon.h). Check values: ../shared/reference/energy-carbon.md, "Embodied
// carbon — ACT" and "Grid carbon intensity".
#include <cmath>

#include <catch2/catch.hpp>

#include "models/area.h"
#include "models/carbon.h"
#include "models/config.h"
#include "models/energy.h"
#include "models/perf.h"

using namespace tpusim;

TEST_CASE("ACT check value: 145 mm^2 at 10 nm gives 2608.7 g") {
  // ref: 145 mm^2 at 10 nm, yield 0.943543, GPA95, CI 583 -> 2608.7 g (with the 150 g package).
  const double die = act_die_embodied_g(145.0, 10.0, 0.943543, 583.0, 95, 500.0);
  CHECK(die + 150.0 == Approx(2608.7).margin(0.1));
  // The same by hand, Eq. 12: 1.45 cm^2 * (583 * 1.475 + 240 + 500) / 0.943543.
  CHECK(die == Approx(1.45 * (583.0 * 1.475 + 240.0 + 500.0) / 0.943543));
}

TEST_CASE("A 331 mm^2 28 nm die plus package is ~4.5 kg CO2e at the ACT defaults") {
  // ref *Derived*: ~4.5 kg at yield 0.875, 583 g/kWh, GPA97, MPA 500.
  const double g = act_die_embodied_g(331.0, 28.0, 0.875, 583.0, 97, 500.0) + 150.0;
  CHECK(g == Approx(4500.0).epsilon(0.03));
}

TEST_CASE("ACT fab factors: table rows and GPA97 and interpolation (Eq. 11)") {
  CHECK(act_fab_factors(28, 95).gpa_g_per_cm2 == 175.0);
  CHECK(act_fab_factors(28, 99).gpa_g_per_cm2 == 100.0);
  CHECK(act_fab_factors(28, 97).gpa_g_per_cm2 == Approx(137.5));
  CHECK(act_fab_factors(7, 95).epa_kwh_per_cm2 == 2.15);
  CHECK(act_fab_factors(24, 95).epa_kwh_per_cm2 == Approx((0.90 + 1.20) / 2));
  CHECK(act_fab_factors(45, 95).epa_kwh_per_cm2 == 0.90);  // clamped to the 28 nm row
  CHECK(act_fab_factors(2, 99).gpa_g_per_cm2 == 275.0);    // clamped to the 3 nm row
  CHECK_THROWS_AS(act_fab_factors(28, 96), std::invalid_argument);
}

TEST_CASE("Operational and amortized embodied carbon of a run (Eq. 10 13 14)") {
  const TpuConfig cfg = load_config("tpu-v1");
  EventCounts n;
  n.cycles = 700000000;  // one second at 700 MHz
  n.non_matrix_cycles = n.cycles;
  n.macs = 1000000;
  const CarbonResult c = estimate_carbon(cfg, n);
  const EnergyResult e = estimate_energy(cfg, n);
  CHECK(c.seconds == Approx(1.0));
  CHECK(c.energy_j == Approx(e.total_j));
  // ref defaults: world grid 481 g/kWh, hyperscale PUE 1.10.
  CHECK(c.grid_g_per_kwh == 481.0);
  CHECK(c.pue == 1.10);
  CHECK(c.operational_g == Approx(e.total_j / 3.6e6 * 1.10 * 481.0));
  // Embodied: die (ACT, 28 nm, defaults) + 150 g package + 8 GiB of DDR3 at 230 g/GB.
  const double die = act_die_embodied_g(estimate_area(cfg).die_mm2, 28, 0.875, 583, 97, 500);
  CHECK(c.die_g == Approx(die));
  CHECK(c.dram_g == Approx(8.0 * 1024 * 1024 * 1024 / 1e9 * 230.0));
  CHECK(c.embodied_total_g == Approx(die + 150.0 + c.dram_g));
  // One second of a five-year life.
  CHECK(c.embodied_g == Approx(c.embodied_total_g / (5 * 365.25 * 86400)));
  CHECK(c.total_g == Approx(c.operational_g + c.embodied_g));
}

TEST_CASE("Grid presets and a custom grid change operational carbon only") {
  TpuConfig cfg = load_config("tpu-v1");
  EventCounts n;
  n.cycles = 7000000;
  const double world = estimate_carbon(cfg, n).operational_g;
  CHECK(carbon_grid_presets().at("france") == 56.0);
  CHECK(carbon_grid_presets().at("norway") == 30.0);
  CHECK(carbon_grid_presets().at("coal") == 820.0);
  CHECK(carbon_grid_presets().size() == 7);
  cfg.params.carbon.grid_g_per_kwh = carbon_grid_presets().at("coal");
  const CarbonResult coal = estimate_carbon(cfg, n);
  CHECK(coal.operational_g == Approx(world * 820.0 / 481.0));
}

TEST_CASE("Deployment carbon: chips needed and idle energy and lifetime share (Eq. 15)") {
  const TpuConfig cfg = load_config("tpu-v1");
  EventCounts q;
  q.cycles = 7000000;  // 10 ms per query
  q.array_active_cycles = q.cycles;
  q.macs = q.cycles * cfg.macs_per_cycle();
  const EnergyResult e = estimate_energy(cfg, q);
  const CarbonResult one = estimate_carbon(cfg, q);
  const double year_s = 365.25 * 86400;

  // 50 qps x 10 ms = 0.5 chip-seconds per second: one chip, busy half the time.
  const DeploymentCarbon d = deployment_carbon(cfg, q, 50.0, 1.0);
  CHECK(d.chips == 1.0);
  CHECK(d.queries == Approx(50.0 * year_s));
  CHECK(d.energy_j == Approx(d.queries * e.total_j + 0.5 * year_s * e.static_power_w));
  CHECK(d.embodied_g == Approx(one.embodied_total_g / 5.0));
  CHECK(d.per_1000_queries_g == Approx(1000.0 * d.total_g / d.queries));

  // 250 qps x 10 ms = 2.5 -> 3 chips.
  CHECK(deployment_carbon(cfg, q, 250.0, 1.0).chips == 3.0);
  CHECK_THROWS_AS(deployment_carbon(cfg, q, 0.0, 1.0), std::invalid_argument);
}
