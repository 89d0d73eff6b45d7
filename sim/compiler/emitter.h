// Emitter: the lowering's only way to emit an instruction. It inserts the `sync` each
// cross-unit hazard needs (sim/isa/ISA.md) and the weight stream's tiles, into a Sink.
#pragma once

#include <cstdint>
#include <optional>

#include "sim/compiler/interval_set.h"
#include "sim/compiler/lowering.h"
#include "sim/compiler/sink.h"

namespace tpusim {

constexpr int kUnits = 4;
constexpr int kHostU = 0, kWeightsU = 1, kMxuU = 2, kActU = 3;

struct Range {
  uint64_t lo = 0, hi = 0;
};
struct Access {
  Range ub_r, ub_w, acc_r, acc_w;
};

// Emits instructions into a sink, inserting syncs for cross-unit hazards, and the weight stream.
class Emitter {
 public:
  explicit Emitter(Sink& sink) : sink_(sink) {}
  bool dry = false;
  uint32_t layer = 0;

  void rhm(uint64_t host, uint64_t ub, uint64_t n) {
    if (dry) return;
    Access a;
    a.ub_w = {ub, ub + n};
    push(kHostU, a, Instruction{Opcode::kReadHost, 0, 0, u32(host), u32(ub), u32(n)});
  }
  void whm(uint64_t host, uint64_t ub, uint64_t n) {
    if (dry) return;
    Access a;
    a.ub_r = {ub, ub + n};
    push(kHostU, a, Instruction{Opcode::kWriteHost, 0, 0, u32(host), u32(ub), u32(n)});
  }
  // `tile` set: switch in that weight tile (address) first; `key` identifies it for reuse.
  void mmc(uint64_t ub, uint64_t acc, uint64_t b, bool accumulate, std::optional<uint64_t> tile,
           uint64_t key) {
    if (dry) return;
    Access a;
    a.ub_r = {ub, ub + b};
    a.acc_w = {acc, acc + b};
    if (accumulate) a.acc_r = a.acc_w;
    uint8_t flags = accumulate ? kFlagAccumulate : 0;
    if (tile) {
      flags |= kFlagSwitch;
      sink_.weight_tile(*tile, layer);
      active_key_ = key;
    }
    push(kMxuU, a, Instruction{Opcode::kMatmul, flags, 0, u32(ub), u32(acc), u32(b)});
  }
  void act(uint64_t acc, uint64_t ub, uint64_t n, ActFunction f, PoolKind pool, uint32_t log2p,
           const Requant& rq) {
    if (dry) return;
    if (!have_rq_ || !(rq_ == rq)) {
      push_plain(
          Instruction{Opcode::kSetConfig, 0, 0, uint32_t(ConfigReg::kMult), uint32_t(rq.mult), 0});
      push_plain(Instruction{Opcode::kSetConfig, 0, 0, uint32_t(ConfigReg::kShift), rq.shift, 0});
      push_plain(Instruction{Opcode::kSetConfig, 0, 0, uint32_t(ConfigReg::kRound), rq.round, 0});
      rq_ = rq;
      have_rq_ = true;
    }
    Access a;
    a.acc_r = {acc, acc + n};
    a.ub_w = {ub, ub + (n >> log2p)};
    const uint8_t flags = uint8_t(uint8_t(f) | (uint8_t(pool) << 2));
    push(kActU, a,
         Instruction{Opcode::kActivate, flags, uint16_t(log2p), u32(acc), u32(ub), u32(n)});
  }
  uint64_t active_key() const { return active_key_; }

 private:
  static bool hit(const IntervalSet& s, const Range& r) { return s.overlaps(r.lo, r.hi); }

  void push_plain(const Instruction& in) { sink_.instruction(in, layer); }
  void push(int unit, const Access& a, const Instruction& in) {
    uint8_t mask = 0;
    for (int v = 0; v < kUnits; ++v) {
      if (v == unit || v == kWeightsU) continue;
      const Pending& p = pend_[v];
      if (hit(p.ub_w, a.ub_r) || hit(p.ub_r, a.ub_w) || hit(p.ub_w, a.ub_w) ||
          hit(p.acc_w, a.acc_r) || hit(p.acc_r, a.acc_w) || hit(p.acc_w, a.acc_w))
        mask |= uint8_t(1u << v);
    }
    if (mask) {
      push_plain(Instruction{Opcode::kSync, mask, 0, 0, 0, 0});
      for (int v = 0; v < kUnits; ++v)
        if (mask & (1u << v)) pend_[v].clear();
    }
    Pending& p = pend_[unit];
    p.ub_r.add(a.ub_r.lo, a.ub_r.hi);
    p.ub_w.add(a.ub_w.lo, a.ub_w.hi);
    p.acc_r.add(a.acc_r.lo, a.acc_r.hi);
    p.acc_w.add(a.acc_w.lo, a.acc_w.hi);
    push_plain(in);
  }

  struct Pending {
    IntervalSet ub_r, ub_w, acc_r, acc_w;
    void clear() {
      ub_r.clear();
      ub_w.clear();
      acc_r.clear();
      acc_w.clear();
    }
  };
  Sink& sink_;
  Pending pend_[kUnits];
  uint64_t active_key_ = ~0ull;
  Requant rq_;
  bool have_rq_ = false;
};

}  // namespace tpusim
