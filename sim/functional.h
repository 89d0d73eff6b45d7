// Functional executor: the untimed golden model. Runs a program in program order over the
// architectural state with the reference numerics (sim/ISA.md "Semantics"); every engine's
// outputs are checked against it.
#pragma once

#include <cstdint>
#include <vector>

#include "models/config.h"
#include "models/event_counts.h"
#include "sim/program.h"

namespace tpusim {

struct ArchState {
  std::vector<int8_t> host;     // host_vectors * W
  std::vector<int8_t> weights;  // tiles * rows * cols (only the tiles the program references)
  std::vector<int8_t> ub;       // ub_vectors * W
  std::vector<int32_t> acc;     // entries * cols
  int32_t mult = 1 << 30;       // setc registers at reset
  uint32_t shift = 30;
  uint8_t round = 0;

  // Builds the reset state for `prog` on `cfg`: memories zero, then the init images.
  static ArchState initial(const TpuConfig& cfg, const Program& prog);
};

struct HostWrite {
  uint64_t host_vector = 0;
  uint64_t vectors = 0;
};

struct FunctionalResult {
  ArchState state;
  EventCounts counts;  // work and byte counters; no timing fields (cycles stay 0)
  std::vector<HostWrite> host_writes;  // every whm, in program order
};

// Executes `prog` (validated first). Throws InputError for an illegal program.
FunctionalResult run_functional(const TpuConfig& cfg, const Program& prog);

// One instruction's effect on `st` (used by the functional executor and the fast engine). The
// weight path is the caller's: `active_weights` is the tile an mmc multiplies by (rows x cols,
// row-major; nullptr = the all-zero registers after reset); rw, sync, nop and halt do nothing.
void execute_instruction(const TpuConfig& cfg, const Instruction& in, ArchState& st,
                         const int8_t* active_weights);

// 64-bit FNV-1a over bytes, for output checksums in reports.
uint64_t fnv1a64(const void* data, size_t bytes, uint64_t seed = 0xcbf29ce484222325ull);

}  // namespace tpusim
