// Functional executor: the untimed golden model. Runs a program in program order over the
// architectural state with the reference numerics (sim/ISA.md "Semantics"); every engine's
// outputs are checked against it.
#pragma once

#include <cstdint>
#include <deque>
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

// Adds one instruction's work and byte counters (not its cycles) to `n`; the same for every
// engine, so that only timing can differ between them.
void count_work(const TpuConfig& cfg, const Instruction& in, EventCounts& n);

// Program-order value execution with the weight FIFO: the functional executor's core, reused by
// the fast engine.
class ValueExecutor {
 public:
  ValueExecutor(const TpuConfig& cfg, const Program& prog)
      : cfg_(cfg) { result.state = ArchState::initial(cfg, prog); }
  void step(const Instruction& in);
  FunctionalResult result;

 private:
  const TpuConfig& cfg_;
  std::deque<uint64_t> queue_;       // tiles pushed by rw, not yet switched in
  const int8_t* active_ = nullptr;   // the tile the array multiplies by
};

// 64-bit FNV-1a over bytes, for output checksums in reports.
uint64_t fnv1a64(const void* data, size_t bytes, uint64_t seed = 0xcbf29ce484222325ull);

}  // namespace tpusim
