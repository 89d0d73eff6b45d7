// Performance model and DVFS helper (models/perf.h). Targets: ../shared/reference/tpu-v1.md
// ("clock", "Roofline", Table 1) and the equations of models/README.md.
#include <cmath>

#include <catch2/catch.hpp>

#include "models/config.h"
#include "models/energy.h"
#include "models/errors.h"
#include "models/perf.h"

using namespace tpusim;

TEST_CASE("Peak and ridge points of the presets match the paper") {
  // ref: peak 92 TOPS (65,536 x 2 x 700e6 = 91.75e12); ridge 1350 (TPU), 250 (TPU' GDDR5).
  const TpuConfig v1 = load_config("tpu-v1");
  EventCounts n;
  n.cycles = 1000;
  n.array_active_cycles = 1000;
  n.macs = 1000 * v1.macs_per_cycle();
  const PerfResult p = estimate_perf(v1, n);
  CHECK(p.peak_tops == Approx(91.75).epsilon(0.001));
  CHECK(p.tops == Approx(p.peak_tops));
  CHECK(p.utilization == 1.0);
  CHECK(p.roofline.ridge_macs_per_weight_byte == Approx(1350).epsilon(0.01));
  CHECK(estimate_perf(load_config("tpu-v1-gddr5"), n).roofline.ridge_macs_per_weight_byte ==
        Approx(250).epsilon(0.01));
}

TEST_CASE("Time and throughput and utilization and breakdown of a run (Eq. 16)") {
  const TpuConfig cfg = load_config("tpu-v1");
  EventCounts n;
  n.cycles = 7000;
  n.array_active_cycles = 3500;
  n.weight_stall_cycles = 1400;
  n.weight_shift_cycles = 700;
  n.non_matrix_cycles = 1400;
  n.raw_stall_cycles = 700;
  n.input_stall_cycles = 350;
  n.macs = 3500 * cfg.macs_per_cycle();
  n.host_read_bytes = 100;
  n.host_write_bytes = 28;
  const PerfResult p = estimate_perf(cfg, n);
  CHECK(p.seconds == Approx(1e-5));
  CHECK(p.tops == Approx(2.0 * 3500 * 65536 / 1e-5 / 1e12));
  CHECK(p.utilization == Approx(0.5));
  CHECK(p.breakdown.array_active == Approx(0.5));
  CHECK(p.breakdown.weight_stall == Approx(0.2));
  CHECK(p.breakdown.weight_shift == Approx(0.1));
  CHECK(p.breakdown.non_matrix == Approx(0.2));
  CHECK(p.breakdown.raw_stall == Approx(0.1));
  CHECK(p.breakdown.input_stall == Approx(0.05));
  CHECK(p.breakdown.array_active + p.breakdown.weight_stall + p.breakdown.weight_shift +
            p.breakdown.non_matrix ==
        Approx(1.0));
  CHECK(p.host_bytes == 128);
  // No weights read: intensity is unbounded and the run is compute-bound.
  CHECK(std::isinf(p.macs_per_weight_byte));
  CHECK_FALSE(p.roofline.memory_bound);
  CHECK(p.roofline.attainable_macs_per_s == Approx(p.roofline.peak_macs_per_s));

  const PerfResult empty = estimate_perf(cfg, EventCounts{});
  CHECK(empty.seconds == 0.0);
  CHECK(empty.tops == 0.0);
  CHECK(empty.utilization == 0.0);
}

TEST_CASE("Intensity in both conventions and the roofline bound (Eq. 17-18)") {
  const TpuConfig cfg = load_config("tpu-v1");
  const double bw = 34e9;  // ref: 34 GB/s DDR3
  // Table 1 MLP0: 200 ops (= MACs) per weight byte, below the ridge: memory-bound.
  EventCounts mlp;
  mlp.weight_memory_read_bytes = 65536;
  mlp.macs = 200 * mlp.weight_memory_read_bytes;
  mlp.cycles = 2 * mlp.weight_memory_read_bytes * 700 / 34000;  // twice the transfer time
  mlp.array_active_cycles = mlp.cycles;
  const PerfResult p = estimate_perf(cfg, mlp);
  CHECK(p.macs_per_weight_byte == Approx(200));
  CHECK(p.ops_per_weight_byte == Approx(400));
  CHECK(p.dram_bytes == 65536);
  CHECK(p.roofline.memory_bound);
  CHECK(p.roofline.attainable_macs_per_s == Approx(200 * bw));
  CHECK(p.roofline.attainable_tops == Approx(2 * 200 * bw / 1e12));
  CHECK(p.roofline.achieved_macs_per_s == Approx(double(mlp.macs) / p.seconds));
  CHECK(p.roofline.fraction_of_attainable == Approx(0.5).epsilon(0.01));

  // Table 1 CNN0: 2888 per weight byte, above the ridge: compute-bound, capped at the peak.
  EventCounts cnn = mlp;
  cnn.macs = 2888 * cnn.weight_memory_read_bytes;
  const PerfResult c = estimate_perf(cfg, cnn);
  CHECK_FALSE(c.roofline.memory_bound);
  CHECK(c.roofline.attainable_macs_per_s == Approx(65536 * 700e6));
}

TEST_CASE("DVFS: a point changes clock and voltage so timing and energy follow (Eq. 19)") {
  TpuConfig cfg = load_config("tpu-v1");
  cfg.params.dvfs = {{"eco", 0.72, 350}, {"turbo", 1.0, 900}};
  CHECK(dvfs_point_names(cfg) == std::vector<std::string>{"nominal", "eco", "turbo"});

  const TpuConfig eco = at_dvfs_point(cfg, "eco");
  CHECK(eco.clock_mhz == 350);
  CHECK(eco.technology.voltage_v == 0.72);
  CHECK(eco.array.rows == cfg.array.rows);
  CHECK(eco.weight_memory.bandwidth_mb_s == cfg.weight_memory.bandwidth_mb_s);
  const TpuConfig nominal = at_dvfs_point(cfg, "nominal");
  CHECK(nominal.clock_mhz == cfg.clock_mhz);
  CHECK(nominal.technology.voltage_v == cfg.technology.voltage_v);

  // Timing: the same run takes twice as long at half the clock, and the fixed-bandwidth weight
  // link delivers twice the bytes per (slower) cycle, so the ridge point halves.
  EventCounts n;
  n.cycles = 7000;
  n.macs = 7000 * cfg.macs_per_cycle();
  CHECK(estimate_perf(eco, n).seconds == Approx(2 * estimate_perf(cfg, n).seconds));
  CHECK(estimate_perf(eco, n).roofline.ridge_macs_per_weight_byte ==
        Approx(estimate_perf(cfg, n).roofline.ridge_macs_per_weight_byte / 2));

  // Energy: dynamic energy per event by (0.72 / 0.9)^2, static power by the same.
  const EnergyResult e0 = estimate_energy(cfg, n);
  const EnergyResult e1 = estimate_energy(eco, n);
  CHECK(e1.breakdown_j.at("mac") / e0.breakdown_j.at("mac") == Approx(0.64));
  CHECK(e1.static_power_w / e0.static_power_w == Approx(0.64));

  REQUIRE_THROWS_AS(at_dvfs_point(cfg, "warp"), InputError);
  try {
    at_dvfs_point(cfg, "warp");
  } catch (const InputError& e) {
    const std::string msg = e.what();
    CHECK(msg.find("dvfs") != std::string::npos);
    CHECK(msg.find("warp") != std::string::npos);
    CHECK(msg.find("eco") != std::string::npos);
  }
}
