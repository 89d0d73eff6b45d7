// Emitter: the lowering's only way to emit an instruction. It plans the `sync` each cross-unit
// hazard needs with the ISA's race rule (sim/isa/races.h: the weakest `sync ... pending=N` that
// orders the conflicting instructions), schedules the activation and host units' work around the
// matmuls, and feeds the weight stream's tiles into a Sink.
//
// Scheduling. The controller issues in order, and an instruction whose unit is busy (the host DMA
// and the activation unit run one instruction at a time) or whose `sync` is not yet satisfied
// stops everything behind it. So `act`, `rhm` and `whm` are held back and released between
// matmuls when, by an estimate of the time (each mmc adds its rows; a switch first waits for its
// weight tile, streamed through the FIFO, and for the previous shift), their unit is free and
// their inputs are
// ready: an `act` about `mxu_latency_cycles` after the matmuls it reads were issued, a transfer
// once the `act` that wrote its rows has run. The next accumulator block's matmuls thus issue
// while the previous block is activated and written out (the double-buffering of
// sim/compiler/lowering.h). Held instructions keep their order within each unit and with every
// held instruction they touch (and host transfers among themselves: host memory is not tracked);
// an instruction that touches a held one releases it (and everything held before it) first, so
// the program computes exactly what the unscheduled order computes.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "sim/compiler/lowering.h"
#include "sim/compiler/sink.h"
#include "sim/isa/numerics.h"
#include "sim/isa/races.h"
#include "sim/isa/timing.h"

namespace tpusim {

class Emitter {
 public:
  Emitter(Sink& sink, const TpuConfig& cfg)
      : sink_(sink),
        mxu_latency_(timing::mxu_latency_cycles(cfg)),
        shift_(timing::weight_shift_cycles(cfg) / timing::weight_shift_ports(cfg)),
        transfer_(timing::weight_tile_transfer_cycles(cfg)),
        fifo_(std::max<uint32_t>(1, cfg.weight_fifo_tiles)),
        cfg_(cfg),
        mxus_(cfg.mxus),
        races_(isa_bank_rule(cfg)) {}
  bool dry = false;
  uint32_t layer = 0;

  void rhm(uint64_t host, uint64_t ub, uint64_t n) {
    if (dry) return;
    hold(Instruction{Opcode::kReadHost, 0, 0, u32(host), u32(ub), u32(n)}, kHost, now_,
         timing::host_transfer_cycles(cfg_, n * cfg_.vector_bytes()), Requant{});
  }
  void whm(uint64_t host, uint64_t ub, uint64_t n) {
    if (dry) return;
    hold(Instruction{Opcode::kWriteHost, 0, 0, u32(host), u32(ub), u32(n)}, kHost, now_,
         timing::host_transfer_cycles(cfg_, n * cfg_.vector_bytes()), Requant{});
  }
  // An mmc on MXU `mxu`; `tile` set: switch in that weight tile (address) first; `key`
  // identifies it for reuse.
  struct Mmc {
    uint64_t ub = 0, acc = 0, b = 0;
    bool accumulate = false;
    std::optional<uint64_t> tile;
    uint64_t key = 0;
    uint32_t mxu = 0;
  };
  void mmc(uint64_t ub, uint64_t acc, uint64_t b, bool accumulate, std::optional<uint64_t> tile,
           uint64_t key, uint32_t mxu = 0) {
    mmcs({Mmc{ub, acc, b, accumulate, tile, key, mxu}});
  }
  // Mmcs on different MXUs, in MXU order, that may issue side by side: each run of consecutive
  // MXUs with the same UB rows, row count and switch is one source and its chain followers
  // (sim/isa/ISA.md, "Chained inputs"), so the rows are read from the UB once.
  void mmcs(const std::vector<Mmc>& g) {
    if (dry) return;
    for (size_t i = 0; i < g.size();) {
      size_t e = i + 1;
      while (e < g.size() && e - i <= kMaxMmcFan && mxus_.size() > 1 &&
             g[e].mxu == g[e - 1].mxu + 1 && g[e].ub == g[i].ub && g[e].b == g[i].b &&
             g[e].tile.has_value() == g[i].tile.has_value())
        ++e;
      e = i + chain(&g[i], e - i);
      i = e;
    }
  }

 private:
  // Emits g[0 .. n) as one chain, or its longest prefix that can be one (nothing may come between
  // a source and its followers, so one sync before the source must order what every member
  // conflicts with). Returns the members emitted.
  size_t chain(const Mmc* g, size_t n) {
    auto instr = [&](size_t j, size_t fan) {
      uint8_t flags = g[j].accumulate ? kFlagAccumulate : 0;
      if (g[j].tile) flags |= kFlagSwitch;
      if (j > 0) flags |= kFlagChain;
      if (j == 0) flags |= uint8_t(fan << kMmcFanShift);
      return Instruction{Opcode::kMatmul, flags,         uint16_t(g[j].mxu),
                         u32(g[j].ub),    u32(g[j].acc), u32(g[j].b)};
    };
    std::vector<Instruction> members;
    for (size_t j = 0; j < n; ++j) members.push_back(instr(j, n - 1));
    for (const Instruction& in : members) release_touching(in);
    const RaceTracker::ChainSync cs = races_.chain_sync(members);
    if (cs.members < n) return chain(g, cs.members);  // its own sync then orders fewer members
    if (cs.sync) {
      sink_.instruction(*cs.sync, layer);
      races_.issue(*cs.sync, pc_++);
    }
    // Issue estimate: one MXU (tpu-v1) issues when its input is free, which `now_` is; with
    // several, the source issues one cycle after the previous mmc, once member j's input is free
    // at t + j and every switching member's tile has arrived (its FIFO has a free slot: the
    // switch `fifo_` tiles back there) and its previous shift is done (rows / shift ports apart).
    uint64_t t = mxus_.size() == 1 ? now_ : issued_ + 1;
    for (size_t j = 0; j < n; ++j) {
      Mxu& u = mxus_.at(g[j].mxu);
      t = std::max(t, u.free > j ? u.free - j : 0);
      if (g[j].tile) {
        sink_.weight_tile(*g[j].tile, layer, g[j].mxu);
        u.active_key = g[j].key;
        uint64_t arrive = tile_arrive_ + transfer_;
        if (u.switches.size() == fifo_) {
          arrive = std::max(arrive, u.switches.front() + transfer_);
          u.switches.erase(u.switches.begin());
        }
        tile_arrive_ = arrive;
        t = std::max({t, arrive, u.last_switch + shift_});
      }
    }
    for (size_t j = 0; j < n; ++j) {
      const Instruction in = instr(j, n - 1);
      sink_.instruction(in, layer);
      races_.issue(in, pc_++);
      Mxu& u = mxus_.at(g[j].mxu);
      if (g[j].tile) {
        u.last_switch = t + j;
        u.switches.push_back(t + j);
      }
      u.free = t + j + g[j].b;
      // The time every matmul emitted so far has been injected: what held acts wait behind.
      now_ = mxus_.size() == 1 ? u.free : std::max(now_, u.free);
    }
    issued_ = t + n - 1;
    pump();
    return n;
  }

 public:
  void act(uint64_t acc, uint64_t ub, uint64_t n, ActFunction f, PoolKind pool, uint32_t log2p,
           const Requant& rq) {
    if (dry) return;
    const uint8_t flags = uint8_t(uint8_t(f) | (uint8_t(pool) << 2));
    hold(Instruction{Opcode::kActivate, flags, uint16_t(log2p), u32(acc), u32(ub), u32(n)}, kAct,
         now_ + mxu_latency_, n + timing::act_pipeline_cycles(), rq);
  }
  // A 2-D pooling act (sim/isa/ISA.md): the H x W image at accumulator rows acc.. pooled into
  // p.outputs() UB vectors from ub; its pool registers are set just before it when they differ.
  void act2d(uint64_t acc, uint64_t ub, const Pool2d& p, ActFunction f, PoolKind pool,
             const Requant& rq) {
    if (dry) return;
    const uint8_t flags = uint8_t(uint8_t(f) | (uint8_t(pool) << 2) | kFlagPool2d);
    Held h{Instruction{Opcode::kActivate, flags, uint16_t(p.outputs()), u32(acc), u32(ub),
                       u32(uint64_t(p.H) * p.W)},
           layer,
           kAct,
           now_ + mxu_latency_,
           p.steps() + timing::act_pipeline_cycles(),
           rq,
           {}};
    h.pool = {p.W | p.H << 16, p.kh | p.kw << 8 | p.sh << 16 | p.sw << 24,
              p.pt | p.pl << 8 | p.pb << 16 | p.pr << 24, numerics::pool_recip_for(p.kh * p.kw)};
    held_.push_back(h);
    if (held_.size() > kMaxHeld) release(0);
    pump();
  }
  // Emits every held instruction (end of a program segment).
  void flush() {
    while (!held_.empty()) release(0);
  }
  // The key of the tile in MXU `mxu`'s registers.
  uint64_t active_key(uint32_t mxu = 0) const { return mxus_.at(mxu).active_key; }
  uint32_t mxus() const { return uint32_t(mxus_.size()); }

 private:
  enum Unit { kHost = 0, kAct = 1 };
  static constexpr size_t kMaxHeld = 16;
  struct Held {
    Instruction in;
    uint32_t layer;
    Unit unit;
    uint64_t ready;                  // its inputs are (estimated) ready at this time
    uint64_t duration;               // estimated cycles it keeps its unit busy
    Requant rq;                      // act only
    std::array<uint32_t, 4> pool{};  // 2-D act only: pool_in, pool_window, pool_pad, pool_recip
  };

  void hold(const Instruction& in, Unit unit, uint64_t ready, uint64_t duration,
            const Requant& rq) {
    held_.push_back({in, layer, unit, ready, duration, rq, {}});
    // A bounded window (the scheduling is quadratic in it): the oldest goes out first.
    if (held_.size() > kMaxHeld) release(0);
    pump();
  }
  // Whether held_[i] must stay behind held_[j] (j < i).
  bool behind(size_t i, size_t j) const {
    return held_[i].unit == held_[j].unit || RaceTracker::touches(held_[i].in, held_[j].in);
  }
  // Releases every held instruction whose unit is free and whose inputs are ready by now.
  void pump() {
    for (size_t i = 0; i < held_.size();) {
      bool blocked = now_ < held_[i].ready || now_ < free_[held_[i].unit];
      for (size_t j = 0; j < i && !blocked; ++j) blocked = behind(i, j);
      if (blocked) {
        ++i;
      } else {
        release(i);
        i = 0;
      }
    }
  }
  // Releases whatever `in` touches, with everything held before it.
  void release_touching(const Instruction& in) {
    size_t last = 0;
    bool any = false;
    for (size_t i = 0; i < held_.size(); ++i)
      if (RaceTracker::touches(in, held_[i].in)) last = i, any = true;
    if (any)
      for (size_t k = 0; k <= last; ++k) release(0);
  }
  void release(size_t i) {
    const Held h = held_[i];
    held_.erase(held_.begin() + std::ptrdiff_t(i));
    if (h.in.op == Opcode::kActivate && (!have_rq_ || !(rq_ == h.rq))) {
      emit(
          Instruction{Opcode::kSetConfig, 0, 0, uint32_t(ConfigReg::kMult), uint32_t(h.rq.mult), 0},
          h.layer);
      emit(Instruction{Opcode::kSetConfig, 0, 0, uint32_t(ConfigReg::kShift), h.rq.shift, 0},
           h.layer);
      emit(Instruction{Opcode::kSetConfig, 0, 0, uint32_t(ConfigReg::kRound), h.rq.round, 0},
           h.layer);
      rq_ = h.rq;
      have_rq_ = true;
    }
    if (h.in.op == Opcode::kActivate && h.in.pool_2d())
      for (uint32_t r = 0; r < 4; ++r)
        if (!have_pool_[r] || pool_[r] != h.pool[r]) {
          emit(
              Instruction{Opcode::kSetConfig, 0, 0, uint32_t(ConfigReg::kPoolIn) + r, h.pool[r], 0},
              h.layer);
          pool_[r] = h.pool[r];
          have_pool_[r] = true;
        }
    emit(h.in, h.layer);
    const uint64_t end = std::max({now_, h.ready, free_[h.unit]}) + h.duration;
    free_[h.unit] = end;
    for (Held& l : held_)
      if (RaceTracker::touches(l.in, h.in)) l.ready = std::max(l.ready, end);
  }
  // Emits `in` after the weakest sync that makes it race-free.
  void emit(const Instruction& in, uint32_t at_layer) {
    if (std::optional<Instruction> s = races_.needed_sync(in)) {
      sink_.instruction(*s, at_layer);
      races_.issue(*s, pc_++);
    }
    sink_.instruction(in, at_layer);
    races_.issue(in, pc_++);
  }

  // Per MXU: its input free again, its last switches (a FIFO's worth) and the tile in it.
  struct Mxu {
    uint64_t free = 0, last_switch = 0;
    std::vector<uint64_t> switches;
    uint64_t active_key = ~0ull;
  };

  Sink& sink_;
  uint64_t mxu_latency_ = 0, shift_ = 0, transfer_ = 0;
  size_t fifo_ = 1;
  const TpuConfig& cfg_;
  std::vector<Mxu> mxus_;
  uint64_t issued_ = 0;  // estimated issue of the last mmc
  RaceTracker races_;
  size_t pc_ = 0;
  std::vector<Held> held_;
  // Estimated time: when the matrix units would finish the mmcs emitted so far (their rows, and
  // each switch's wait for its weight tile and for the previous shift).
  uint64_t now_ = 0;
  uint64_t tile_arrive_ = 0;
  uint64_t free_[2] = {0, 0};  // estimated time each held unit is free again
  Requant rq_;
  bool have_rq_ = false;
  std::array<uint32_t, 4> pool_{};  // the pool registers as set (have_pool_: set at all)
  std::array<bool, 4> have_pool_{};
};

}  // namespace tpusim
