// The named timing rules of the microarchitecture (sim/isa/ISA.md, "Timing"). The RTL implements
// them in logic; the SystemC twin, the fast engine and every test call these functions. No
// cycle constant is written anywhere else.
#pragma once

#include <cstdint>

#include "models/config.h"

namespace tpusim::timing {

// Cycles from reset to the first instruction issue (fetch + decode stages of the controller).
constexpr uint32_t front_end_cycles() { return 2; }

// Cycles from the injection of matmul input row i (cycle t + i) to the write of its result row
// into the accumulators (cycle t + i + mxu_latency_cycles). One UB read register, the input skew
// (rows), the array's column traversal (cols), and the accumulator write stage.
inline uint32_t mxu_latency_cycles(const TpuConfig& cfg) {
  return cfg.array.rows + cfg.array.cols + 1;
}

// The shift sequencer feeds a weight tile into the array one row per cycle: it is busy for
// `rows` cycles per tile, so shifts start at least this far apart. Column c writes shadow row i
// of a tile that starts shifting at s in cycle s + i + c (the shift is skewed like the
// activations; sim/isa/ISA.md, "Weight path").
inline uint32_t weight_shift_cycles(const TpuConfig& cfg) { return cfg.array.rows; }

// Shift ports per MXU (weight_fifo.shift_ports): up to this many tiles shift into one MXU at
// once, each port busy weight_shift_cycles per tile; tile k's shift starts no earlier than
// weight_shift_cycles after tile k - P's (sim/isa/ISA.md, "Shift ports").
inline uint32_t weight_shift_ports(const TpuConfig& cfg) { return cfg.weight_shift_ports; }

// Pipeline registers a column's weight bus passes on its way to the last row: the bus is
// registered every weight_bus_segment_rows rows (K), so the shift writes row i floor(i / K)
// cycles after the row's slot in the skewed stream (sim/isa/ISA.md, "Weight path").
inline uint32_t weight_bus_stages(const TpuConfig& cfg) {
  return (cfg.array.rows - 1) / cfg.weight_bus_segment_rows;
}

// Earliest issue of the `mmc switch` that consumes a tile, after its shift starts. The switch
// reaches PE(r, c) in cycle t + 1 + r + c (one UB read register, the skew), the shift writes it
// at the end of cycle s + r + c + floor(r / K): the switch wavefront may run right behind the
// shift wavefront once the deepest bus stage is behind it, t >= s + weight_bus_stages. At least
// one cycle because the shift start is registered (shadow_full) before the controller sees it.
inline uint32_t weight_shift_to_switch_cycles(const TpuConfig& cfg) {
  const uint32_t d = weight_bus_stages(cfg);
  return d > 1 ? d : 1;
}

// Earliest start of the next shift after the `mmc switch` that consumed the shadow tile: its
// write of PE(r, c) (end of cycle s + r + c) must not come before that switch copies the shadow
// there (cycle t + 1 + r + c; the same edge is fine). Both wavefronts run on the same diagonal,
// so one cycle covers every PE: no wait for the wavefront to cross the array.
constexpr uint32_t weight_switch_to_shift_cycles() { return 1; }

// The closest two switches of one MXU can be, however many shift ports feed it: the next shift
// starts after the previous switch, and its switch one cycle after that (sim/isa/ISA.md, "Shift
// ports": tiles enter at max(this, rows / P, B) cycles each).
inline uint32_t weight_min_switch_gap_cycles(const TpuConfig& cfg) {
  return weight_switch_to_shift_cycles() + weight_shift_to_switch_cycles(cfg);
}

// A FIFO slot is read until its last row has reached the last column: it frees this many cycles
// after its shift starts.
inline uint32_t weight_slot_drain_cycles(const TpuConfig& cfg) {
  return cfg.array.rows + cfg.array.cols - 1;
}

// ceil(bytes * clock / bandwidth): cycles a link of `bandwidth_mb_s` needs to move `bytes` at
// `clock_mhz`. At least one cycle for a non-empty transfer. Exact integer arithmetic.
inline uint64_t transfer_cycles(uint64_t bytes, uint32_t clock_mhz, uint64_t bandwidth_mb_s) {
  if (bytes == 0) return 0;
  // bytes < 2^45 (32-bit vector counts of <= 4096-byte vectors) and clock_mhz <= 10^4 < 2^14,
  // both enforced by the config loader, so the product fits in 64 bits.
  const uint64_t num = bytes * clock_mhz;
  const uint64_t cycles = (num + bandwidth_mb_s - 1) / bandwidth_mb_s;
  return cycles == 0 ? 1 : cycles;
}

// Bus occupancy of one weight tile on the weight-memory link.
inline uint64_t weight_tile_transfer_cycles(const TpuConfig& cfg) {
  return transfer_cycles(cfg.tile_bytes(), cfg.clock_mhz, cfg.weight_memory.bandwidth_mb_s);
}

inline uint64_t weight_memory_latency_cycles(const TpuConfig& cfg) {
  return cfg.weight_memory.latency_cycles;
}

// Host DMA busy time for one rhm/whm of `bytes`: link latency plus transfer.
inline uint64_t host_transfer_cycles(const TpuConfig& cfg, uint64_t bytes) {
  return cfg.host_link.latency_cycles +
         transfer_cycles(bytes, cfg.clock_mhz, cfg.host_link.bandwidth_mb_s);
}

// What the chip's DMA (rtl/dma.v) needs of the off-chip links, whose timing is the test bench's
// (sim/isa/ISA.md "Off-chip links"; rtl/tb/host_memory.v and weight_memory.v check the same at
// elaboration). Host: at most one vector per cycle and a latency of at least 1, so that an rhm's
// or whm's n vectors move inside its D >= n + 1 cycles.
inline bool host_link_fits_dma(uint64_t vector_bytes, uint32_t clock_mhz, uint64_t bandwidth_mb_s,
                               uint64_t latency_cycles) {
  return bandwidth_mb_s <= vector_bytes * clock_mhz && latency_cycles >= 1;
}
// Weights: at most one tile row per cycle (tile_xfer_cycles >= rows), and the tile arrives after
// its last row enters the FIFO (tile_xfer_cycles + latency >= rows + 1).
inline bool weight_link_fits_dma(uint32_t rows, uint64_t tile_xfer_cycles,
                                 uint64_t latency_cycles) {
  return tile_xfer_cycles >= rows && tile_xfer_cycles + latency_cycles >= uint64_t(rows) + 1;
}

// Activation unit (rtl/activation_unit.v): the cycles an act is busy beyond its steps. The
// command register (the first read is in the cycle after issue), then five stages after each
// read: the accumulator data with the product acc x mult; the rounding shift with saturation
// and the function; pooling; the group's result (average); the UB write. The cuts keep every
// stage within about 1.5x the logic depth of a PE (results/rtl/synthesis.md).
constexpr uint32_t act_pipeline_cycles() { return 6; }

}  // namespace tpusim::timing
