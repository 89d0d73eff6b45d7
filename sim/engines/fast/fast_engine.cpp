#include "sim/engines/fast/fast_engine.h"

#include <algorithm>
#include <deque>
#include <limits>

#include <fmt/format.h>

#include "models/errors.h"
#include "sim/isa/races.h"
#include "sim/isa/timing.h"

namespace tpusim {

namespace {

constexpr uint64_t kUnknown = std::numeric_limits<uint64_t>::max();

// A weight tile: MXU m's k-th tile (sim/isa/ISA.md, "Weight path").
struct TileId {
  uint32_t m = 0;
  uint64_t k = 0;
};

// The weight path of sim/isa/ISA.md: one weight DMA requesting tiles in rw order for every MXU,
// and per MXU its FIFO slots, shift ports, shifts and switches, one record per tile. Request
// times are resolved lazily, because a tile waiting for a FIFO slot is requested only once a
// later mmc's switch lets an older tile's shift finish.
class WeightPath {
 public:
  explicit WeightPath(const TpuConfig& cfg)
      : depth_(cfg.weight_fifo_tiles),
        ports_(timing::weight_shift_ports(cfg)),
        tx_(timing::weight_tile_transfer_cycles(cfg)),
        latency_(timing::weight_memory_latency_cycles(cfg)),
        shift_(timing::weight_shift_cycles(cfg)),
        drain_(timing::weight_slot_drain_cycles(cfg)),
        shift_to_switch_(timing::weight_shift_to_switch_cycles(cfg)),
        mxus_(cfg.mxus) {}

  // An rw issued at `t` for `n` tiles of MXU `m`.
  void push(uint64_t t, uint64_t n, uint32_t m) {
    Mxu& u = mxus_[m];
    for (uint64_t i = 0; i < n; ++i) {
      u.tiles.push_back(Tile{t});
      pending_.push_back({m, u.base + u.tiles.size() - 1});
    }
    last_ = pending_.back();
    any_ = true;
  }
  TileId last_rw_tile() const { return last_; }

  // Cycle at which the weight DMA can accept the next rw: bus free after the last tile of the
  // previous rw. kUnknown if that tile still waits for a slot only a later switch frees.
  uint64_t dma_free() {
    if (!any_) return 0;
    uint64_t r = request(last_);
    return r == kUnknown ? kUnknown : r + tx_;
  }
  bool requested(TileId id) const {
    const Mxu& u = mxus_[id.m];
    return id.k < u.base || u.tiles[id.k - u.base].req != kUnknown;
  }
  uint64_t arrival(TileId id) {
    if (id.k < mxus_[id.m].base) return 0;  // trimmed: switched in long ago, so arrived
    uint64_t r = request(id);
    return r == kUnknown ? kUnknown : r + tx_ + latency_;
  }
  // Shift start of MXU m's tile k (the next one to switch there): its earlier tiles switched.
  uint64_t shift_start(TileId id) {
    uint64_t a = arrival(id);
    return a == kUnknown ? kUnknown : start(id, a);
  }
  uint64_t shadow_full(TileId id) {
    uint64_t s = shift_start(id);
    return s == kUnknown ? kUnknown : s + shift_to_switch_;
  }
  void switched(TileId id, uint64_t t) {
    Tile& tile = at(id);
    tile.shift = shift_start(id);
    tile.freed = tile.shift + drain_;
    tile.switched = t;
    trim(id);
  }

 private:
  struct Tile {
    uint64_t rw_issue;
    uint64_t req = kUnknown;
    uint64_t shift = kUnknown;
    uint64_t freed = kUnknown;
    uint64_t switched = kUnknown;
  };
  struct Mxu {
    std::deque<Tile> tiles;
    uint64_t base = 0;  // k of tiles.front()
  };
  Tile& at(TileId id) {
    Mxu& u = mxus_[id.m];
    if (id.k < u.base) throw std::logic_error("WeightPath: a trimmed tile was looked up");
    return u.tiles[id.k - u.base];
  }

  // Request time of tile `id`, resolving earlier tiles (of every MXU) in request order.
  uint64_t request(TileId id) {
    while (at(id).req == kUnknown) {
      const TileId j = pending_.front();
      Tile& t = at(j);
      uint64_t r = t.rw_issue;
      if (last_req_ != kUnknown) r = std::max(r, last_req_ + tx_);
      if (j.k >= depth_) {  // the slot of MXU j.m's tile depth_ earlier
        uint64_t freed = freed_of({j.m, j.k - depth_});
        if (freed == kUnknown) return kUnknown;
        r = std::max(r, freed);
      }
      t.req = r;
      last_req_ = r;
      pending_.pop_front();
    }
    return at(id).req;
  }

  // End of the shift that drains tile id's slot: known once it has been requested and its MXU's
  // previous tile switched in (a slot frees without waiting for its own tile's switch).
  uint64_t freed_of(TileId id) {
    Tile& tile = at(id);
    if (tile.freed != kUnknown) return tile.freed;
    if (id.k > 0 && at({id.m, id.k - 1}).switched == kUnknown) return kUnknown;
    return start(id, tile.req + tx_ + latency_) + drain_;
  }

  // Shift start of tile id (its MXU's previous tiles switched), arrived at `a`: the shadow is
  // free once the previous tile's switch issued, and a shift port once tile k - P's shift fed
  // its last row.
  uint64_t start(TileId id, uint64_t a) {
    uint64_t s = a;
    if (id.k >= 1)
      s = std::max(s, at({id.m, id.k - 1}).switched + timing::weight_switch_to_shift_cycles());
    if (id.k >= ports_) s = std::max(s, at({id.m, id.k - ports_}).shift + shift_);
    return s;
  }

  // Keeps the last depth_ + ports_ + 2 switched tiles of the MXU: later requests look back
  // depth_ tiles (a slot), shifts ports_ (a port), and no request runs more than depth_ + 1
  // tiles ahead of its MXU's switches.
  void trim(TileId switched) {
    Mxu& u = mxus_[switched.m];
    while (u.base + depth_ + ports_ + 2 < switched.k && !u.tiles.empty() &&
           u.tiles.front().req != kUnknown && u.tiles.front().switched != kUnknown) {
      u.tiles.pop_front();
      ++u.base;
    }
  }

  uint64_t depth_, ports_, tx_, latency_, shift_, drain_, shift_to_switch_;
  std::vector<Mxu> mxus_;
  std::deque<TileId> pending_;  // pushed, not yet requested, in request (rw) order
  uint64_t last_req_ = kUnknown;
  TileId last_;
  bool any_ = false;
};

[[noreturn]] void deadlock(const Program& prog, size_t pc, const char* what) {
  throw InputError(fmt::format(
      "{}: {} can never issue: {} waits for a weight-FIFO slot that only a later mmc switch "
      "frees (the controller issues in order): deadlock",
      prog.where(pc), mnemonic(prog.code[pc].op), what));
}

}  // namespace

EngineResult run_fast(const TpuConfig& cfg, const Program& prog, const EngineOptions& opt) {
  validate_program(cfg, prog);
  EngineResult res;
  EventCounts& n = res.counts;
  std::unique_ptr<ValueExecutor> values;
  if (opt.values) values = std::make_unique<ValueExecutor>(cfg, prog);
  if (opt.record_timeline) res.timeline.resize(prog.code.size());
  if (opt.layer_of) {
    if (opt.layer_of->size() != prog.code.size())
      throw std::logic_error("run_fast: layer_of must have one entry per instruction");
    res.per_layer.resize(opt.layers);
  }

  const uint64_t W = cfg.vector_bytes();
  const uint64_t mxu_latency = timing::mxu_latency_cycles(cfg);
  WeightPath wp(cfg);
  uint64_t host_free = 0, act_free = 0;
  // Per MXU: input free (after its last mmc's last row), the completion times of its incomplete
  // mmcs (sim/isa/ISA.md, `sync`), oldest first, and its next tile to switch in. Entries that
  // have completed by the previous issue are dropped as new ones arrive.
  std::vector<uint64_t> mxu_free(cfg.mxus, 0), next_switch(cfg.mxus, 0);
  // The UB bank interlock (sim/isa/ISA.md, "UB banks"): each unit's last UB access window, the
  // banks [lo, hi] it reads or writes (none: lo > hi) until `end`. An instruction that reads
  // (writes) banks issues once every other unit's read (write) window on one of them has ended.
  struct Window {
    uint64_t lo = 1, hi = 0, end = 0;
  };
  const uint64_t ub_bank = ub_bank_vectors(cfg);
  auto window = [&](uint64_t v, uint64_t n, uint64_t end) {
    return Window{v / ub_bank, (v + n - 1) / ub_bank, end};
  };
  // the end of `o` if it shares a bank with `w`, else 0
  auto wait_for = [](const Window& w, const Window& o) {
    return w.lo <= o.hi && o.lo <= w.hi ? o.end : 0;
  };
  std::vector<Window> mxu_rd(cfg.mxus);  // per MXU: its mmc's reads (a chain mmc reads none)
  Window dma_rd, dma_wr, act_wr;
  std::vector<std::deque<uint64_t>> mmc_done(cfg.mxus);
  // Rows are injected on some MXU in every cycle of [.., injecting_until) that is injecting at
  // all: mmcs issue in order, so each new interval starts after every earlier one started.
  uint64_t injecting_until = 0;
  ConfigRegs regs;  // the setc registers: an act's walk length (2-D pooling) depends on them
  // The last tile of each rw, oldest first, while it may be incomplete (`sync weights`).
  std::deque<TileId> rw_last_tile;
  uint64_t prev_issue = 0;
  // rw instructions whose completion (last tile's arrival) is not known yet, oldest first.
  std::deque<std::pair<size_t, TileId>> rw_done;
  auto resolve_rw = [&] {
    while (!rw_done.empty() && wp.requested(rw_done.front().second)) {
      if (opt.record_timeline)
        res.timeline[rw_done.front().first].done = wp.arrival(rw_done.front().second);
      rw_done.pop_front();
    }
  };

  for (size_t pc = 0; pc < prog.code.size(); ++pc) {
    const Instruction& in = prog.code[pc];
    const uint64_t earliest = pc == 0 ? timing::front_end_cycles() : prev_issue + 1;
    const uint64_t injecting_before = injecting_until;
    uint64_t t = earliest, done = 0;
    uint64_t arrival = 0;  // for an mmc switch: when its tile arrives
    switch (in.op) {
      case Opcode::kNop:
      case Opcode::kSetConfig:
        done = t + 1;
        break;
      case Opcode::kReadHost:
      case Opcode::kWriteHost: {
        t = std::max(t, host_free);
        // whm reads UB[b + i] at t + i, rhm writes it at t + 1 + i (sim/isa/ISA.md, off-chip
        // links)
        Window w = window(in.b, in.c, 0);
        if (in.op == Opcode::kWriteHost) {
          for (const Window& o : mxu_rd) t = std::max(t, wait_for(w, o));
          w.end = t + in.c;
          dma_rd = w;
        } else {
          t = std::max(t, wait_for(w, act_wr));
          w.end = t + in.c + 1;
          dma_wr = w;
        }
        host_free = t + timing::host_transfer_cycles(cfg, uint64_t(in.c) * W);
        done = host_free;
        break;
      }
      case Opcode::kReadWeights: {
        uint64_t f = wp.dma_free();
        if (f == kUnknown) deadlock(prog, pc, "the weight DMA still");
        t = std::max(t, f);
        wp.push(t, in.c, in.d);
        rw_done.emplace_back(pc, wp.last_rw_tile());
        while (!rw_last_tile.empty()) {
          const uint64_t a = wp.arrival(rw_last_tile.front());
          if (a == kUnknown || a > prev_issue) break;
          rw_last_tile.pop_front();
        }
        rw_last_tile.push_back(wp.last_rw_tile());
        break;
      }
      case Opcode::kMatmul: {
        const uint32_t m = in.d;
        const bool sw = in.flags & kFlagSwitch;
        // With fan F, MXUs m .. m + F (follower j's input free at t + j; with switch every
        // shadow full at t); a chain mmc's condition then holds at its predecessor + 1.
        for (uint32_t j = 0; j <= in.fan(); ++j) {
          const uint64_t f = mxu_free[m + j];
          t = std::max(t, f > j ? f - j : 0);
          if (sw) {
            const TileId id{m + j, next_switch[m + j]};
            const uint64_t full = wp.shadow_full(id);
            if (full == kUnknown)
              deadlock(prog, pc,
                       j == 0 ? "its tile is requested behind a tile that still"
                              : "a follower's tile is requested behind a tile that still");
            arrival = std::max(arrival, wp.arrival(id));
            t = std::max(t, full);
          }
        }
        // The interlock: another MXU or the host DMA still reading a bank this mmc reads.
        Window w;
        if (!in.chained()) {
          w = window(in.a, in.c, 0);
          for (uint32_t o = 0; o < cfg.mxus; ++o)
            if (o != m) t = std::max(t, wait_for(w, mxu_rd[o]));
          t = std::max(t, wait_for(w, dma_rd));
          w.end = t + in.c;
        }
        mxu_rd[m] = w;
        if (in.chained() && t != prev_issue + 1)
          throw std::logic_error(fmt::format(
              "run_fast: {}: a chain mmc issues at {}, not the cycle after its predecessor ({})",
              prog.where(pc), t, prev_issue + 1));
        if (sw) {
          const TileId id{m, next_switch[m]};
          resolve_rw();  // before the tile record may be trimmed
          wp.switched(id, t);
          ++next_switch[m];
        }
        mxu_free[m] = t + in.c;
        done = t + in.c + mxu_latency;
        auto& pend = mmc_done[m];
        while (!pend.empty() && pend.front() <= t) pend.pop_front();
        pend.push_back(done);
        n.array_active_cycles += t + in.c - std::max(t, std::min(t + in.c, injecting_until));
        injecting_until = std::max(injecting_until, t + in.c);
        break;
      }
      case Opcode::kActivate: {
        t = std::max(t, act_free);
        Window w = window(in.b, act_outputs(in), 0);
        t = std::max(t, wait_for(w, dma_wr));
        act_free = t + act_steps(in, regs) + timing::act_pipeline_cycles();
        w.end = act_free;
        act_wr = w;
        done = act_free;
        break;
      }
      case Opcode::kSync:
      case Opcode::kHalt: {
        // At most `pending` incomplete instructions per unit of the mask (with mxu: per MXU);
        // each unit completes in issue order, so: everything but its last `pending` complete.
        const uint8_t mask = in.op == Opcode::kHalt ? kUnitAll : in.flags;
        const uint64_t pending = in.op == Opcode::kHalt ? 0 : in.d;
        if ((mask & kUnitHost) && pending == 0) t = std::max(t, host_free);
        if ((mask & kUnitAct) && pending == 0) t = std::max(t, act_free);
        if (mask & kUnitMxu)
          for (const auto& pend : mmc_done)
            if (pend.size() > pending) t = std::max(t, pend[pend.size() - 1 - pending]);
        if ((mask & kUnitWeights) && rw_last_tile.size() > pending) {
          const uint64_t c = wp.arrival(rw_last_tile[rw_last_tile.size() - 1 - pending]);
          if (c == kUnknown) deadlock(prog, pc, "it waits for a requested weight tile, and one");
          t = std::max(t, c);
        }
        done = t + 1;
        break;
      }
    }
    resolve_rw();
    // Counters for the cycles the controller was held by this instruction: [held0, t). The
    // previous matmul's injection covers a prefix of them (array_active); the rest is charged
    // by what held the controller (sim/isa/ISA.md "Performance counters").
    const uint64_t held0 = earliest;
    const uint64_t idle0 = std::max(held0, injecting_before);
    uint64_t stall = 0, shift = 0, raw = 0, input = 0;
    if (t > idle0) {
      const uint64_t idle = t - idle0;
      if (in.op == Opcode::kMatmul && (in.flags & kFlagSwitch)) {
        stall = arrival > idle0 ? std::min(arrival, t) - idle0 : 0;
        shift = idle - stall;
      } else if (in.op == Opcode::kReadWeights) {
        stall = idle;
      } else if (in.op == Opcode::kSync) {
        raw = idle;
      } else if (in.op == Opcode::kReadHost || in.op == Opcode::kWriteHost) {
        input = idle;
      }
    }
    n.weight_stall_cycles += stall;
    n.weight_shift_cycles += shift;
    n.raw_stall_cycles += raw;
    n.input_stall_cycles += input;
    if (opt.layer_of) {
      EventCounts& l = res.per_layer.at((*opt.layer_of)[pc]);
      const uint64_t span0 = pc == 0 ? 0 : prev_issue + 1;  // this instruction's cycles: [span0, t]
      const uint64_t span = t + 1 - span0;
      // Injection cycles inside the span: earlier matmuls' tails (on any MXU), and the issue
      // cycle of an mmc unless another MXU injects in it already.
      const uint64_t tail_end = std::min(t + 1, injecting_before);
      const uint64_t active = (tail_end > span0 ? tail_end - span0 : 0) +
                              (in.op == Opcode::kMatmul && injecting_before <= t ? 1 : 0);
      l.cycles += span;
      l.array_active_cycles += active;
      l.weight_stall_cycles += stall;
      l.weight_shift_cycles += shift;
      l.non_matrix_cycles += span - active - stall - shift;
      l.raw_stall_cycles += raw;
      l.input_stall_cycles += input;
      count_work(cfg, in, regs, l);
    }
    prev_issue = t;
    if (opt.record_timeline) res.timeline[pc] = {t, done};
    count_work(cfg, in, regs, n);
    if (in.op == Opcode::kSetConfig) regs.apply(in);
    if (values) values->step(in);
    if (in.op == Opcode::kHalt) n.cycles = t + 1;
  }
  resolve_rw();
  if (!rw_done.empty()) throw std::logic_error("run_fast: an rw's tiles were never requested");
  n.non_matrix_cycles =
      n.cycles - n.array_active_cycles - n.weight_stall_cycles - n.weight_shift_cycles;
  if (values) {
    res.values = std::move(values->result);
    res.values.counts = n;
    res.has_values = true;
  }
  return res;
}

}  // namespace tpusim
