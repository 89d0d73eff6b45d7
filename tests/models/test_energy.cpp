// Energy and power model (models/energy.h). Expected values come from
// ../shared/reference/energy-carbon.md and tpu-v1.md and the equations of models/README.md.
#include <cmath>

#include <catch2/catch.hpp>

#include "models/config.h"
#include "models/energy.h"
#include "models/perf.h"

using namespace tpusim;

namespace {

// A compute-bound GEMM on `cfg`, fully active (sim/isa/ISA.md semantics and counters): M = batch
// rows x K = k_tiles*rows x N = n_tiles*cols. Each of the k*n tiles is one `mmc` of `batch` rows
// (one cycle per row, every MAC slot busy); all but the first K-tile accumulate; each of the n
// output column blocks goes once through the activation unit to the UB. Each tile is read from
// DRAM once, written to and read from the weight FIFO once.
EventCounts compute_bound_gemm(const TpuConfig& cfg, uint64_t k_tiles, uint64_t n_tiles,
                               uint64_t batch) {
  const uint64_t tiles = k_tiles * n_tiles;
  const uint64_t acc_row_bytes = uint64_t(cfg.array.cols) * 4;
  EventCounts n;
  n.cycles = tiles * batch;
  n.array_active_cycles = n.cycles;
  n.matmul_rows = n.cycles;
  n.macs = n.cycles * cfg.macs_per_cycle();
  n.ub_read_bytes = n.matmul_rows * cfg.vector_bytes();
  n.acc_write_bytes = n.matmul_rows * acc_row_bytes;
  n.act_rows_in = n_tiles * batch;
  n.act_rows_out = n.act_rows_in;
  n.acc_read_bytes = (k_tiles - 1) * n_tiles * batch * acc_row_bytes  // accumulate
                     + n.act_rows_in * acc_row_bytes;                 // activation
  n.ub_write_bytes = n.act_rows_out * cfg.vector_bytes();
  n.weight_tiles = tiles;
  n.weight_fifo_write_bytes = tiles * cfg.tile_bytes();
  n.weight_fifo_read_bytes = n.weight_fifo_write_bytes;
  n.weight_memory_read_bytes = n.weight_fifo_write_bytes;
  return n;
}

EventCounts idle(uint64_t cycles) {
  EventCounts n;
  n.cycles = cycles;
  n.non_matrix_cycles = cycles;
  return n;
}

}  // namespace

TEST_CASE("Stillmaker and Baas node factors match the derived values of the reference at 0.8 V") {
  // ref "Node scaling": *Derived* factors vs 45 nm at 0.8 V: 28 nm 0.51, 16 nm 0.17, 7 nm 0.094.
  CHECK(node_energy_factor(28, 0.8) == Approx(0.51).margin(0.005));
  CHECK(node_energy_factor(16, 0.8) == Approx(0.17).margin(0.005));
  CHECK(node_energy_factor(7, 0.8) == Approx(0.094).margin(0.001));
  CHECK(node_energy_factor(45, 0.9) == Approx(1.0));
  // Eq. 1 at a table node, by hand: 1.103*0.81 - 0.362*0.9 + 0.2767.
  CHECK(stillmaker_poly(45, 0.9) == Approx(1.103 * 0.81 - 0.362 * 0.9 + 0.2767));
  CHECK_THROWS(stillmaker_poly(28, 0.9));
  // Eq. 2 outside the table: sqrt below 7 nm, linear above 45 nm.
  CHECK(node_energy_factor(3, 0.9) == Approx(node_energy_factor(7, 0.9) * std::sqrt(3.0 / 7.0)));
  CHECK(node_energy_factor(90, 0.9) == Approx(2.0));
  // Monotone in the node between table rows.
  double prev = 0.0;
  for (int node = 7; node <= 45; ++node) {
    const double f = node_energy_factor(node, 0.9);
    CHECK(f > prev);
    prev = f;
  }
}

TEST_CASE("Per-event energies follow the table and the node and the voltage (Eq. 3-5)") {
  TpuConfig cfg = load_config("tpu-v1");
  const EnergyParams& e = cfg.params.energy;
  EventCounts n;
  n.macs = 1000;
  n.ub_read_bytes = 10;
  n.weight_memory_read_bytes = 3;
  n.host_read_bytes = 5;
  n.weight_tiles = 1;
  n.act_rows_in = 2;

  cfg.params.energy.scaling = "none";
  EnergyResult r = estimate_energy(cfg, n);
  CHECK(r.dynamic_scale == 1.0);
  CHECK(r.breakdown_j.at("mac") == Approx(1000 * 0.30e-12));            // ref: int8 MAC 0.30 pJ
  CHECK(r.breakdown_j.at("ub_read") == Approx(10 * 20.0 / 8 * 1e-12));  // ref: 32 KB, 20 pJ / 8 B
  CHECK(r.breakdown_j.at("dram") == Approx(3 * 8 * 70e-12));            // ref: DDR3 70 pJ/bit
  CHECK(r.breakdown_j.at("host_link") == Approx(5 * e.host_link_pj_per_byte * 1e-12));
  // Eq. 5: 1 byte of activation east + 4 bytes of partial sum south per MAC slot.
  CHECK(r.breakdown_j.at("pe_transfer") == Approx(1000 * 5 * e.pe_transfer_pj_per_byte * 1e-12));
  // Eq. 5: a tile's bytes travel (rows + 1) / 2 hops on average.
  CHECK(r.breakdown_j.at("weight_shift") ==
        Approx(65536.0 * 257.0 / 2.0 * e.weight_shift_pj_per_byte * 1e-12));
  // Eq. 5: one requantization per lane (cols = 256), int32 mult 3.1 + add 0.1 pJ.
  CHECK(r.breakdown_j.at("activation") == Approx(2 * 256 * 3.2e-12));

  cfg.params.energy.scaling = "stillmaker";
  const EnergyResult r28 = estimate_energy(cfg, n);
  CHECK(r28.dynamic_scale == Approx(node_energy_factor(28, 0.9)));
  CHECK(r28.breakdown_j.at("mac") == Approx(r.breakdown_j.at("mac") * r28.dynamic_scale));
  // Off-chip energies are not node-scaled.
  CHECK(r28.breakdown_j.at("dram") == Approx(r.breakdown_j.at("dram")));

  cfg.technology.voltage_v = 0.72;
  const EnergyResult rv = estimate_energy(cfg, n);
  CHECK(rv.breakdown_j.at("mac") / r28.breakdown_j.at("mac") == Approx(0.8 * 0.8));
  CHECK(rv.static_power_w / r28.static_power_w == Approx(0.8 * 0.8));

  cfg.weight_memory.type = "gddr5";  // ref: GDDR5 14 pJ/bit
  CHECK(estimate_energy(cfg, n).breakdown_j.at("dram") == Approx(3 * 8 * 14e-12));
}

TEST_CASE("Energy breakdown is complete and sums to the total") {
  const TpuConfig cfg = load_config("tpu-v1");
  EventCounts n = compute_bound_gemm(cfg, 2, 3, 100);
  n.host_read_bytes = 4096;
  n.host_write_bytes = 1024;
  n.cycles += 5000;
  const EnergyResult r = estimate_energy(cfg, n);
  double sum = 0.0;
  for (const auto& key : energy_breakdown_keys()) {
    REQUIRE(r.breakdown_j.count(key) == 1);
    CHECK(r.breakdown_j.at(key) > 0.0);
    sum += r.breakdown_j.at(key);
  }
  CHECK(r.breakdown_j.size() == energy_breakdown_keys().size());
  CHECK(sum == Approx(r.total_j));
  CHECK(r.dynamic_j + r.static_j == Approx(r.total_j));
  CHECK(r.seconds == Approx(double(n.cycles) / 700e6));
  CHECK(r.avg_power_w == Approx(r.total_j / r.seconds));
  CHECK(r.tops_per_w == Approx(2.0 * double(n.macs) / r.total_j / 1e12));
}

TEST_CASE("A FIFO byte is written into every shift port's copy, read once (Eq. 4)") {
  TpuConfig cfg = load_config("tpu-v1");
  EventCounts n;
  n.weight_fifo_write_bytes = 1000;
  n.weight_fifo_read_bytes = 1000;
  const double one = estimate_energy(cfg, n).breakdown_j.at("weight_fifo");
  CHECK(one > 0.0);
  cfg.weight_shift_ports = 3;
  CHECK(estimate_energy(cfg, n).breakdown_j.at("weight_fifo") == Approx(2 * one));  // (3 + 1) / 2
}

TEST_CASE("An empty run costs nothing and divides by nothing") {
  const TpuConfig cfg = load_config("tpu-v1");
  const EnergyResult r = estimate_energy(cfg, EventCounts{});
  CHECK(r.total_j == 0.0);
  CHECK(r.avg_power_w == 0.0);
  CHECK(r.tops_per_w == 0.0);
  CHECK(r.static_power_w > 0.0);
}

TEST_CASE("Calibration: tpu-v1 busy 40 W and idle 28 W per die (models/README.md)") {
  const TpuConfig cfg = load_config("tpu-v1");
  // K = N = 2048 (8 x 8 tiles), 2048 rows per tile: 2048 MACs per weight byte, above the
  // 1350 ridge point, so the run is compute-bound and the array is active every cycle.
  const EventCounts busy_counts = compute_bound_gemm(cfg, 8, 8, 2048);
  const PerfResult perf = estimate_perf(cfg, busy_counts);
  REQUIRE_FALSE(perf.roofline.memory_bound);
  REQUIRE(perf.utilization == 1.0);

  const EnergyResult busy = estimate_energy(cfg, busy_counts);
  const EnergyResult idle_r = estimate_energy(cfg, idle(busy_counts.cycles));
  // ref tpu-v1.md "power per die": measured busy 40 W, idle 28 W. 15 % on busy (issue 7).
  CHECK(busy.chip_power_w == Approx(40.0).epsilon(0.15));
  CHECK(idle_r.chip_power_w == Approx(28.0).epsilon(0.05));
  CHECK(idle_r.avg_power_w == Approx(idle_r.static_power_w));
  CHECK(idle_r.chip_power_w / busy.chip_power_w == Approx(0.70).margin(0.05));
  // ref: 40 W / 46 TMAC/s = 0.87 pJ per MAC for the whole die; a bottom-up 28 nm model should
  // land in roughly 0.3-0.9 pJ/MAC with SRAM, control and leakage.
  const double chip_pj_per_mac = (busy.total_j - busy.dram_j) / double(busy_counts.macs) * 1e12;
  CHECK(chip_pj_per_mac >= 0.3);
  CHECK(chip_pj_per_mac <= 0.9);
  // With the DDR3 devices added the card stays under the 75 W TDP.
  CHECK(busy.avg_power_w < 75.0);
  CHECK(busy.avg_power_w > busy.chip_power_w);
}

TEST_CASE("Static power follows the die: a smaller array idles lower") {
  const TpuConfig big = load_config("tpu-v1");
  const TpuConfig small = load_config("small-16");
  const EnergyResult a = estimate_energy(big, idle(1000));
  const EnergyResult b = estimate_energy(small, idle(1000));
  CHECK(b.static_power_w < a.static_power_w);
  // The I/O block is fixed, so a tiny array still pays for its PHYs.
  CHECK(static_power_w(small).at("static_io") == Approx(static_power_w(big).at("static_io")));
}
