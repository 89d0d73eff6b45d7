// Functional executor: the untimed golden model. Runs a program in program order over the
// architectural state with the reference numerics (sim/isa/ISA.md "Semantics"); every engine's
// outputs are checked against it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <new>
#include <utility>
#include <vector>

#include "models/config.h"
#include "models/event_counts.h"
#include "sim/common/hash.h"
#include "sim/isa/program.h"

namespace tpusim {

// Allocator of zero-filled memory images: fresh anonymous pages are the kernel's shared zero page
// until first written, so a 24 MiB unified buffer costs nothing until a program touches it (a
// vector value-initialized with zeros would write, and fault in, every page before the first
// cycle). Images of kZeroedMmapBytes and more are mapped directly: calloc gives fresh pages only
// the first time, then reuses freed heap memory and memsets all of it (an engine run per layer or
// per sweep point would pay 28 MiB of memset each time on tpu-v1). (Sanitizer builds keep calloc:
// AddressSanitizer checks heap memory, not mappings.)
#if defined(__SANITIZE_ADDRESS__)
#define TPUSIM_ZEROED_CALLOC_ONLY 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TPUSIM_ZEROED_CALLOC_ONLY 1
#endif
#endif
#ifdef TPUSIM_ZEROED_CALLOC_ONLY
inline constexpr size_t kZeroedMmapBytes = SIZE_MAX;
#else
inline constexpr size_t kZeroedMmapBytes = size_t(1) << 20;
#endif
void* zeroed_map(size_t bytes);  // throws std::bad_alloc
void zeroed_unmap(void* p, size_t bytes) noexcept;
template <typename T>
struct ZeroedAllocator {
  using value_type = T;
  ZeroedAllocator() = default;
  template <typename U>
  ZeroedAllocator(const ZeroedAllocator<U>&) noexcept {}
  T* allocate(size_t n) {
    if (n >= kZeroedMmapBytes / sizeof(T)) return static_cast<T*>(zeroed_map(n * sizeof(T)));
    void* p = std::calloc(n ? n : 1, sizeof(T));
    if (p == nullptr) throw std::bad_alloc();
    return static_cast<T*>(p);
  }
  void deallocate(T* p, size_t n) noexcept {
    if (n >= kZeroedMmapBytes / sizeof(T))
      zeroed_unmap(p, n * sizeof(T));
    else
      std::free(p);
  }
  template <typename U>
  void construct(U*) noexcept {}  // default-initialized elements keep calloc's zeros
  template <typename U, typename... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
  template <typename U>
  bool operator==(const ZeroedAllocator<U>&) const noexcept {
    return true;
  }
  template <typename U>
  bool operator!=(const ZeroedAllocator<U>&) const noexcept {
    return false;
  }
};
template <typename T>
using ZeroedVector = std::vector<T, ZeroedAllocator<T>>;

// Memories and the setc registers (ConfigRegs, sim/isa/isa.h).
struct ArchState : ConfigRegs {
  ZeroedVector<int8_t> host;     // host_vectors * W
  ZeroedVector<int8_t> weights;  // tiles * rows * cols (only the tiles the program references)
  ZeroedVector<int8_t> ub;       // ub_vectors * W
  ZeroedVector<int32_t> acc;     // entries * cols

  // Builds the reset state for `prog` on `cfg`: memories zero, then the init images.
  static ArchState initial(const TpuConfig& cfg, const Program& prog);
};

struct HostWrite {
  uint64_t host_vector = 0;
  uint64_t vectors = 0;
};

struct FunctionalResult {
  ArchState state;
  EventCounts counts;                  // work and byte counters; no timing fields (cycles stay 0)
  std::vector<HostWrite> host_writes;  // every whm, in program order
};

// Executes `prog` (validated first). Throws InputError for an illegal program.
FunctionalResult run_functional(const TpuConfig& cfg, const Program& prog);

// The weight tile in the array's registers: rows x cols int8, row-major (nullptr = the all-zero
// registers after reset). `rows` x `cols` bounds its nonzero weights (rows `rows`.. and columns
// `cols`.. are all zero), so an mmc multiplies only that block: the products outside it are zero
// and the result is the same bit for bit. Lowered layers narrower than the array (a 64-channel
// convolution on a 256x256 array) then cost their useful MACs, not the array's.
struct ActiveTile {
  const int8_t* weights = nullptr;
  uint32_t rows = 0, cols = 0;
  // Optional: the rows x cols block widened to float (row-major, stride cols), which the value
  // GEMM then uses instead of widening the weights again for every mmc on this tile.
  const float* widened = nullptr;
  // `w` (array rows x cols) with its nonzero bounding block measured.
  static ActiveTile of(const int8_t* w, uint32_t array_rows, uint32_t array_cols);
};

// One instruction's effect on `st` (used by the functional executor and the fast engine). The
// weight path is the caller's: `active` is the tile an mmc multiplies by; rw, sync, nop and halt
// do nothing.
void execute_instruction(const TpuConfig& cfg, const Instruction& in, ArchState& st,
                         const ActiveTile& active);

// Adds one instruction's work and byte counters (not its cycles) to `n`; the same for every
// engine, so that only timing can differ between them. `regs`: the setc registers when `in`
// issues (a 2-D pooling act reads one accumulator row per window position).
void count_work(const TpuConfig& cfg, const Instruction& in, const ConfigRegs& regs,
                EventCounts& n);

// count_work over a program in order, tracking the setc registers: call add() per instruction.
class WorkCounter {
 public:
  explicit WorkCounter(const TpuConfig& cfg) : cfg_(cfg) {}
  // The instruction's counters into `n`; then its setc applied.
  void add(const Instruction& in, EventCounts& n) {
    count_work(cfg_, in, regs_, n);
    if (in.op == Opcode::kSetConfig) regs_.apply(in);
  }
  // The same counters into both `a` and `b` (totals and a layer's).
  void add(const Instruction& in, EventCounts& a, EventCounts& b) {
    count_work(cfg_, in, regs_, a);
    add(in, b);
  }
  const ConfigRegs& regs() const { return regs_; }

 private:
  const TpuConfig& cfg_;
  ConfigRegs regs_;
};

// Program-order value execution with the weight FIFOs: the functional executor's core, reused by
// the fast engine.
class ValueExecutor {
 public:
  ValueExecutor(const TpuConfig& cfg, const Program& prog) : cfg_(cfg), mxus_(cfg.mxus) {
    result.state = ArchState::initial(cfg, prog);
  }
  void step(const Instruction& in);
  FunctionalResult result;

 private:
  struct Mxu {
    std::deque<uint64_t> queue;  // tiles pushed by rw, not yet switched in
    ActiveTile active;           // the tile the array multiplies by
    std::vector<float> widened;  // active's nonzero block as float (active.widened)
  };
  const TpuConfig& cfg_;
  std::vector<Mxu> mxus_;  // one per MXU (instruction field d)
};

}  // namespace tpusim
