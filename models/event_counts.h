// EventCounts: the one currency every engine produces (DESIGN invariant 2). Performance, energy,
// power and carbon models are functions of (TpuConfig, EventCounts) only.
#pragma once

#include <cstdint>

namespace tpusim {

struct EventCounts {
  // Time. The first four breakdown counters partition `cycles` (sim/isa/ISA.md, "Performance
  // counters"); raw_stall and input_stall are subsets of non_matrix.
  uint64_t cycles = 0;
  uint64_t array_active_cycles = 0;
  uint64_t weight_stall_cycles = 0;
  uint64_t weight_shift_cycles = 0;
  uint64_t non_matrix_cycles = 0;
  uint64_t raw_stall_cycles = 0;
  uint64_t input_stall_cycles = 0;

  // Work.
  uint64_t instructions = 0;      // retired, halt included
  uint64_t matmul_rows = 0;       // input rows injected into the array (sum of B)
  uint64_t macs = 0;              // MAC slots clocked: matmul_rows * rows * cols (padding included)
  uint64_t useful_macs = 0;       // the workload's own MACs (from the lowering; 0 for raw programs)
  uint64_t weight_tiles = 0;      // tiles moved weight memory -> FIFO -> shadow
  uint64_t act_rows_in = 0;       // accumulator rows through the activation unit
  uint64_t act_rows_out = 0;      // rows written to the UB by it (after pooling)

  // Bytes per memory.
  uint64_t ub_read_bytes = 0;
  uint64_t ub_write_bytes = 0;
  uint64_t acc_read_bytes = 0;
  uint64_t acc_write_bytes = 0;
  uint64_t weight_fifo_write_bytes = 0;
  uint64_t weight_fifo_read_bytes = 0;
  uint64_t weight_memory_read_bytes = 0;  // DRAM
  uint64_t host_read_bytes = 0;           // host -> UB
  uint64_t host_write_bytes = 0;          // UB -> host

  EventCounts& operator+=(const EventCounts& o);
  bool operator==(const EventCounts& o) const;
  bool operator!=(const EventCounts& o) const { return !(*this == o); }
};

inline EventCounts& EventCounts::operator+=(const EventCounts& o) {
  cycles += o.cycles;
  array_active_cycles += o.array_active_cycles;
  weight_stall_cycles += o.weight_stall_cycles;
  weight_shift_cycles += o.weight_shift_cycles;
  non_matrix_cycles += o.non_matrix_cycles;
  raw_stall_cycles += o.raw_stall_cycles;
  input_stall_cycles += o.input_stall_cycles;
  instructions += o.instructions;
  matmul_rows += o.matmul_rows;
  macs += o.macs;
  useful_macs += o.useful_macs;
  weight_tiles += o.weight_tiles;
  act_rows_in += o.act_rows_in;
  act_rows_out += o.act_rows_out;
  ub_read_bytes += o.ub_read_bytes;
  ub_write_bytes += o.ub_write_bytes;
  acc_read_bytes += o.acc_read_bytes;
  acc_write_bytes += o.acc_write_bytes;
  weight_fifo_write_bytes += o.weight_fifo_write_bytes;
  weight_fifo_read_bytes += o.weight_fifo_read_bytes;
  weight_memory_read_bytes += o.weight_memory_read_bytes;
  host_read_bytes += o.host_read_bytes;
  host_write_bytes += o.host_write_bytes;
  return *this;
}

inline bool EventCounts::operator==(const EventCounts& o) const {
  return cycles == o.cycles && array_active_cycles == o.array_active_cycles &&
         weight_stall_cycles == o.weight_stall_cycles &&
         weight_shift_cycles == o.weight_shift_cycles && non_matrix_cycles == o.non_matrix_cycles &&
         raw_stall_cycles == o.raw_stall_cycles && input_stall_cycles == o.input_stall_cycles &&
         instructions == o.instructions && matmul_rows == o.matmul_rows && macs == o.macs &&
         useful_macs == o.useful_macs &&
         weight_tiles == o.weight_tiles && act_rows_in == o.act_rows_in &&
         act_rows_out == o.act_rows_out && ub_read_bytes == o.ub_read_bytes &&
         ub_write_bytes == o.ub_write_bytes && acc_read_bytes == o.acc_read_bytes &&
         acc_write_bytes == o.acc_write_bytes &&
         weight_fifo_write_bytes == o.weight_fifo_write_bytes &&
         weight_fifo_read_bytes == o.weight_fifo_read_bytes &&
         weight_memory_read_bytes == o.weight_memory_read_bytes &&
         host_read_bytes == o.host_read_bytes && host_write_bytes == o.host_write_bytes;
}

}  // namespace tpusim
