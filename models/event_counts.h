// EventCounts: the one currency every engine produces (DESIGN invariant 2). Performance, energy,
// power and carbon models are functions of (TpuConfig, EventCounts) only.
//
// Every counter is listed once, in kCountFields, with where the report JSON keeps it: `+=`, `==`,
// the report's JSON writer and reader (sim/report/) and every loop over the counters derive from
// that list. A new counter is one member and one line of the list.
#pragma once

#include <array>
#include <cstdint>

#include "models/limits.h"

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
  uint64_t instructions = 0;  // retired, halt included
  uint64_t matmul_rows = 0;   // input rows injected into the array (sum of B)
  uint64_t macs = 0;          // MAC slots clocked: matmul_rows * rows * cols (padding included)
  uint64_t useful_macs = 0;   // the workload's own MACs (from the lowering; 0 for raw programs)
  uint64_t weight_tiles = 0;  // tiles moved weight memory -> FIFO -> shadow
  uint64_t act_rows_in = 0;   // accumulator rows the activation unit reads (one a cycle)
  uint64_t act_rows_out = 0;  // rows written to the UB by it (after pooling)

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

  // Per MXU (sim/isa/ISA.md, "Performance counters"): rows MXU m injected, i.e. its active
  // cycles. Their sum is matmul_rows. kMaxMxus (models/config.h) entries; report JSON
  // `mxu_rows` [m], written only for a run that used an MXU other than 0.
  uint64_t mxu_rows_0 = 0, mxu_rows_1 = 0, mxu_rows_2 = 0, mxu_rows_3 = 0;
  uint64_t mxu_rows_4 = 0, mxu_rows_5 = 0, mxu_rows_6 = 0, mxu_rows_7 = 0;
  uint64_t& mxu_rows(uint32_t m) { return (&mxu_rows_0)[m]; }
  uint64_t mxu_rows(uint32_t m) const { return (&mxu_rows_0)[m]; }

  EventCounts& operator+=(const EventCounts& o);
  bool operator==(const EventCounts& o) const;
  bool operator!=(const EventCounts& o) const { return !(*this == o); }
};

enum class CountGroup : uint8_t {
  kTime,      // cycles: left out of untimed (functional) reports
  kWork,      // counted by count_work (sim/engines/functional/functional.h) per instruction
  kBytes,     // bytes per memory; work too
  kLowering,  // supplied by the lowering, not by an engine (useful_macs); reported when non-zero
  kPerMxu,    // per MXU (work): the JSON array `key` [m], written for multi-MXU runs only
};

// One counter: its member, its group, and its place in the report JSON: `block` "" (top level),
// "cycle_counts" or "bytes", under `key`.
struct CountField {
  const char* name;
  uint64_t EventCounts::*member;
  CountGroup group;
  const char* block;
  const char* key;
};

inline constexpr std::array<CountField, 31> kCountFields = {{
    {"cycles", &EventCounts::cycles, CountGroup::kTime, "", "cycles"},
    {"array_active_cycles", &EventCounts::array_active_cycles, CountGroup::kTime, "cycle_counts",
     "array_active"},
    {"weight_stall_cycles", &EventCounts::weight_stall_cycles, CountGroup::kTime, "cycle_counts",
     "weight_stall"},
    {"weight_shift_cycles", &EventCounts::weight_shift_cycles, CountGroup::kTime, "cycle_counts",
     "weight_shift"},
    {"non_matrix_cycles", &EventCounts::non_matrix_cycles, CountGroup::kTime, "cycle_counts",
     "non_matrix"},
    {"raw_stall_cycles", &EventCounts::raw_stall_cycles, CountGroup::kTime, "cycle_counts",
     "raw_stall"},
    {"input_stall_cycles", &EventCounts::input_stall_cycles, CountGroup::kTime, "cycle_counts",
     "input_stall"},
    {"instructions", &EventCounts::instructions, CountGroup::kWork, "", "instructions"},
    {"matmul_rows", &EventCounts::matmul_rows, CountGroup::kWork, "", "matmul_rows"},
    {"macs", &EventCounts::macs, CountGroup::kWork, "", "macs"},
    {"useful_macs", &EventCounts::useful_macs, CountGroup::kLowering, "", "useful_macs"},
    {"weight_tiles", &EventCounts::weight_tiles, CountGroup::kWork, "", "weight_tiles"},
    {"act_rows_in", &EventCounts::act_rows_in, CountGroup::kWork, "", "act_rows_in"},
    {"act_rows_out", &EventCounts::act_rows_out, CountGroup::kWork, "", "act_rows_out"},
    {"ub_read_bytes", &EventCounts::ub_read_bytes, CountGroup::kBytes, "bytes", "ub_read"},
    {"ub_write_bytes", &EventCounts::ub_write_bytes, CountGroup::kBytes, "bytes", "ub_write"},
    {"acc_read_bytes", &EventCounts::acc_read_bytes, CountGroup::kBytes, "bytes", "acc_read"},
    {"acc_write_bytes", &EventCounts::acc_write_bytes, CountGroup::kBytes, "bytes", "acc_write"},
    {"weight_fifo_write_bytes", &EventCounts::weight_fifo_write_bytes, CountGroup::kBytes, "bytes",
     "weight_fifo_write"},
    {"weight_fifo_read_bytes", &EventCounts::weight_fifo_read_bytes, CountGroup::kBytes, "bytes",
     "weight_fifo_read"},
    {"weight_memory_read_bytes", &EventCounts::weight_memory_read_bytes, CountGroup::kBytes,
     "bytes", "weight_memory_read"},
    {"host_read_bytes", &EventCounts::host_read_bytes, CountGroup::kBytes, "bytes", "host_read"},
    {"host_write_bytes", &EventCounts::host_write_bytes, CountGroup::kBytes, "bytes", "host_write"},
    {"mxu_rows_0", &EventCounts::mxu_rows_0, CountGroup::kPerMxu, "", "mxu_rows"},
    {"mxu_rows_1", &EventCounts::mxu_rows_1, CountGroup::kPerMxu, "", "mxu_rows"},
    {"mxu_rows_2", &EventCounts::mxu_rows_2, CountGroup::kPerMxu, "", "mxu_rows"},
    {"mxu_rows_3", &EventCounts::mxu_rows_3, CountGroup::kPerMxu, "", "mxu_rows"},
    {"mxu_rows_4", &EventCounts::mxu_rows_4, CountGroup::kPerMxu, "", "mxu_rows"},
    {"mxu_rows_5", &EventCounts::mxu_rows_5, CountGroup::kPerMxu, "", "mxu_rows"},
    {"mxu_rows_6", &EventCounts::mxu_rows_6, CountGroup::kPerMxu, "", "mxu_rows"},
    {"mxu_rows_7", &EventCounts::mxu_rows_7, CountGroup::kPerMxu, "", "mxu_rows"},
}};
static_assert(kMaxMxus == 8, "one mxu_rows_m counter per MXU");

static_assert(sizeof(EventCounts) == kCountFields.size() * sizeof(uint64_t),
              "every member of EventCounts has its line in kCountFields");

// Calls f(a.*m, b.*m) for every counter m, in kCountFields order.
template <class A, class B, class F>
void for_each_count(A& a, B& b, F&& f) {
  for (const CountField& c : kCountFields) f(a.*c.member, b.*c.member);
}

inline EventCounts& EventCounts::operator+=(const EventCounts& o) {
  for_each_count(*this, o, [](uint64_t& x, uint64_t y) { x += y; });
  return *this;
}

inline bool EventCounts::operator==(const EventCounts& o) const {
  bool eq = true;
  for_each_count(*this, o, [&](uint64_t x, uint64_t y) { eq = eq && x == y; });
  return eq;
}

}  // namespace tpusim
