#include "sim/engines/functional/functional.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstring>
#include <deque>

#include <fmt/format.h>

#include "models/errors.h"
#include "sim/isa/assembler.h"
#include "sim/isa/numerics.h"

namespace tpusim {

namespace {
// A functional run allocates host and weight memory for what the program touches; beyond this
// it refuses before allocating (a timing-only engine needs no values).
constexpr uint64_t kMaxValueBytes = uint64_t(4) << 30;
}  // namespace

void* zeroed_map(size_t bytes) {
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
#ifdef MADV_HUGEPAGE
  // 2 MiB pages where the kernel has them (THP "madvise" or "always"): one fault per 2 MiB that a
  // program touches instead of 512 (each ~2 us in a container's memory cgroup). A hint: no error.
  madvise(p, bytes, MADV_HUGEPAGE);
#endif
  return p;
}

void zeroed_unmap(void* p, size_t bytes) noexcept { munmap(p, bytes); }

ArchState ArchState::initial(const TpuConfig& cfg, const Program& prog) {
  const uint64_t W = cfg.vector_bytes(), T = cfg.tile_bytes();
  uint64_t host_vectors = host_vectors_needed(prog);
  for (const auto& [addr, bytes] : prog.host_init)
    host_vectors = std::max<uint64_t>(host_vectors, addr + (bytes.size() + W - 1) / W);
  uint64_t tiles = 0;
  for (const auto& in : prog.code)
    if (in.op == Opcode::kReadWeights) tiles = std::max<uint64_t>(tiles, uint64_t(in.a) + in.c);
  for (const auto& [addr, bytes] : prog.weight_init)
    tiles = std::max<uint64_t>(tiles, addr + (bytes.size() + T - 1) / T);
  for (const auto& r : prog.random_init)
    if (r.weights) tiles = std::max(tiles, r.addr + r.count);
  if (host_vectors * W > kMaxValueBytes || tiles * T > kMaxValueBytes)
    throw InputError(fmt::format(
        "{}: the program's host ({} B) or weight ({} B) memory image exceeds the {} B a run with "
        "values allocates; run it timing only",
        prog.source_file.empty() ? prog.name : prog.source_file, host_vectors * W, tiles * T,
        kMaxValueBytes));

  ArchState st;
  st.host = ZeroedVector<int8_t>(host_vectors * W);  // all zero (see ZeroedAllocator)
  st.weights = ZeroedVector<int8_t>(tiles * T);
  st.ub = ZeroedVector<int8_t>(cfg.ub_vectors() * W);
  st.acc = ZeroedVector<int32_t>(uint64_t(cfg.accumulator_entries) * cfg.array.cols);
  for (const auto& [addr, bytes] : prog.host_init)
    std::copy(bytes.begin(), bytes.end(), st.host.begin() + addr * W);
  for (const auto& [addr, bytes] : prog.weight_init)
    std::copy(bytes.begin(), bytes.end(), st.weights.begin() + addr * T);
  for (const auto& r : prog.random_init) {
    if (r.weights)
      fill_random_bytes(st.weights.data() + r.addr * T, r.count * T, r.seed);
    else
      fill_random_bytes(st.host.data() + r.addr * W, r.count * W, r.seed);
  }
  return st;
}

ActiveTile ActiveTile::of(const int8_t* w, uint32_t array_rows, uint32_t array_cols) {
  ActiveTile t;
  t.weights = w;
  for (uint32_t r = 0; r < array_rows; ++r) {
    const int8_t* row = w + uint64_t(r) * array_cols;
    uint32_t end = array_cols;  // one past the last nonzero weight of this row
    while (end >= 8) {          // whole zero words first, then bytes
      uint64_t word;
      std::memcpy(&word, row + end - 8, 8);
      if (word != 0) break;
      end -= 8;
    }
    while (end > 0 && row[end - 1] == 0) --end;
    if (end > 0) {
      t.rows = r + 1;
      t.cols = std::max(t.cols, end);
    }
  }
  return t;
}

void execute_instruction(const TpuConfig& cfg, const Instruction& in, ArchState& st,
                         const ActiveTile& active) {
  const uint64_t W = cfg.vector_bytes(), C = cfg.array.cols;
  switch (in.op) {
    case Opcode::kReadHost:
      std::copy_n(st.host.begin() + in.a * W, uint64_t(in.c) * W, st.ub.begin() + in.b * W);
      break;
    case Opcode::kWriteHost:
      std::copy_n(st.ub.begin() + in.b * W, uint64_t(in.c) * W, st.host.begin() + in.a * W);
      break;
    case Opcode::kMatmul: {
      // Only the tile's nonzero block (k x n) is multiplied; columns n.. of the product are zero.
      const uint64_t k = active.weights ? active.rows : 0, n = active.weights ? active.cols : 0;
      int32_t* dst = st.acc.data() + uint64_t(in.b) * C;
      const bool accumulate = in.flags & kFlagAccumulate;
      if (k > 0 && n > 0)
        numerics::gemm_int8_into(st.ub.data() + in.a * W, W, active.weights, C, active.widened,
                                 in.c, k, n, dst, C, accumulate);
      if (!accumulate)  // columns n.. (all of them for an all-zero tile) are zero
        for (uint64_t r = 0; r < in.c; ++r) {
          int32_t* d = dst + r * C;
          std::fill(d + n, d + C, 0);
        }
      break;
    }
    case Opcode::kActivate: {
      const uint32_t P = in.pool_size();
      const auto pool = in.pool_kind();
      const auto fn = uint8_t(in.act_function());
      const auto mode = numerics::Rounding(st.round);
      auto value = [&](uint64_t row, uint64_t c) {
        return numerics::apply_function(
            fn, numerics::requantize(st.acc[row * C + c], st.mult, st.shift, mode));
      };
      if (in.pool_2d()) {
        // Window positions outside the image hold the pool's neutral value: -128 for max (every
        // window holds an image element), 0 for avg (the average divides by kh x kw).
        const Pool2d p = Pool2d::of(st);
        for (uint32_t oy = 0; oy < p.out_h(); ++oy)
          for (uint32_t ox = 0; ox < p.out_w(); ++ox) {
            int8_t* out = st.ub.data() + (uint64_t(in.b) + uint64_t(oy) * p.out_w() + ox) * W;
            for (uint64_t c = 0; c < C; ++c) {
              int32_t best = -128, sum = 0;
              for (uint32_t ky = 0; ky < p.kh; ++ky)
                for (uint32_t kx = 0; kx < p.kw; ++kx) {
                  const int64_t y = int64_t(oy) * p.sh + ky - p.pt,
                                x = int64_t(ox) * p.sw + kx - p.pl;
                  if (y < 0 || y >= p.H || x < 0 || x >= p.W) continue;
                  const int8_t v = value(in.a + uint64_t(y) * p.W + uint64_t(x), c);
                  best = std::max<int32_t>(best, v);
                  sum += v;
                }
              out[c] = pool == PoolKind::kAvg ? numerics::average_recip(sum, st.pool_recip)
                                              : int8_t(best);
            }
            std::fill(out + C, out + W, int8_t(0));
          }
        break;
      }
      for (uint32_t o = 0; o < in.c / P; ++o) {
        int8_t* out = st.ub.data() + (uint64_t(in.b) + o) * W;
        if (P == 1) {
          numerics::requantize_row(st.acc.data() + (uint64_t(in.a) + o) * C, C, st.mult, st.shift,
                                   mode, fn, out);
          std::fill(out + C, out + W, int8_t(0));
          continue;
        }
        for (uint64_t c = 0; c < C; ++c) {
          int32_t best = -129, sum = 0;
          for (uint32_t k = 0; k < P; ++k) {
            const int8_t y = value(uint64_t(in.a) + uint64_t(o) * P + k, c);
            best = std::max<int32_t>(best, y);
            sum += y;
          }
          out[c] = pool == PoolKind::kAvg   ? numerics::average_pow2(sum, in.d)
                   : pool == PoolKind::kMax ? int8_t(best)
                                            : int8_t(sum);
        }
        std::fill(out + C, out + W, int8_t(0));
      }
      break;
    }
    case Opcode::kSetConfig:
      st.apply(in);
      break;
    default:
      break;
  }
}

void count_work(const TpuConfig& cfg, const Instruction& in, const ConfigRegs& regs,
                EventCounts& n) {
  const uint64_t W = cfg.vector_bytes(), T = cfg.tile_bytes(), C = cfg.array.cols;
  ++n.instructions;
  switch (in.op) {
    case Opcode::kReadHost:
      n.host_read_bytes += uint64_t(in.c) * W;
      n.ub_write_bytes += uint64_t(in.c) * W;
      break;
    case Opcode::kWriteHost:
      n.host_write_bytes += uint64_t(in.c) * W;
      n.ub_read_bytes += uint64_t(in.c) * W;
      break;
    case Opcode::kReadWeights:
      n.weight_memory_read_bytes += uint64_t(in.c) * T;
      n.weight_fifo_write_bytes += uint64_t(in.c) * T;
      break;
    case Opcode::kMatmul:
      if (in.flags & kFlagSwitch) {
        ++n.weight_tiles;
        n.weight_fifo_read_bytes += T;
      }
      n.matmul_rows += in.c;
      n.mxu_rows(in.d) += in.c;
      n.macs += uint64_t(in.c) * cfg.mxu_macs_per_row();
      n.ub_read_bytes += uint64_t(in.c) * cfg.array.rows;
      n.acc_write_bytes += uint64_t(in.c) * C * 4;
      if (in.flags & kFlagAccumulate) n.acc_read_bytes += uint64_t(in.c) * C * 4;
      break;
    case Opcode::kActivate:
      n.act_rows_in += act_steps(in, regs);
      n.act_rows_out += act_outputs(in);
      n.acc_read_bytes += act_steps(in, regs) * C * 4;
      n.ub_write_bytes += act_outputs(in) * W;
      break;
    default:
      break;
  }
}

void ValueExecutor::step(const Instruction& in) {
  switch (in.op) {
    case Opcode::kReadWeights:
      for (uint32_t t = 0; t < in.c; ++t) mxus_.at(in.d).queue.push_back(uint64_t(in.a) + t);
      return;
    case Opcode::kMatmul:
      if (in.flags & kFlagSwitch) {
        Mxu& u = mxus_.at(in.d);
        u.active = ActiveTile::of(result.state.weights.data() + u.queue.front() * cfg_.tile_bytes(),
                                  cfg_.array.rows, cfg_.array.cols);
        u.queue.pop_front();
        u.widened.resize(uint64_t(u.active.rows) * u.active.cols);
        for (uint32_t r = 0; r < u.active.rows; ++r)
          numerics::widen_to_float(u.active.weights + uint64_t(r) * cfg_.array.cols, u.active.cols,
                                   u.widened.data() + uint64_t(r) * u.active.cols);
        u.active.widened = u.widened.data();
      }
      break;
    case Opcode::kWriteHost:
      result.host_writes.push_back({in.a, in.c});
      break;
    default:
      break;
  }
  execute_instruction(cfg_, in, result.state,
                      in.op == Opcode::kMatmul ? mxus_.at(in.d).active : mxus_[0].active);
}

FunctionalResult run_functional(const TpuConfig& cfg, const Program& prog) {
  validate_program(cfg, prog);
  ValueExecutor ex(cfg, prog);
  for (const Instruction& in : prog.code) {
    count_work(cfg, in, ex.result.state, ex.result.counts);
    ex.step(in);
  }
  return std::move(ex.result);
}

}  // namespace tpusim
