#include "sim/engines/fast/fast_engine.h"

#include <algorithm>
#include <deque>
#include <limits>

#include <fmt/format.h>

#include "models/errors.h"
#include "sim/isa/timing.h"

namespace tpusim {

namespace {

constexpr uint64_t kUnknown = std::numeric_limits<uint64_t>::max();

// The weight path of sim/isa/ISA.md: weight DMA requests, FIFO slots, shifts and switches, one
// record per tile in request order. Request times are resolved lazily, because a tile waiting
// for a FIFO slot is requested only once a later mmc's switch lets an older tile's shift finish.
class WeightPath {
 public:
  explicit WeightPath(const TpuConfig& cfg)
      : depth_(cfg.weight_fifo_tiles),
        tx_(timing::weight_tile_transfer_cycles(cfg)),
        latency_(timing::weight_memory_latency_cycles(cfg)),
        shift_(timing::weight_shift_cycles(cfg)),
        drain_(timing::weight_slot_drain_cycles(cfg)) {}

  // An rw issued at `t` for `n` tiles.
  void push(uint64_t t, uint64_t n) {
    for (uint64_t i = 0; i < n; ++i) tiles_.push_back(Tile{t});
    last_rw_tile_ = base_ + tiles_.size() - 1;
  }
  uint64_t tiles() const { return base_ + tiles_.size(); }
  uint64_t last_rw_tile() const { return last_rw_tile_; }

  // Cycle at which the weight DMA can accept the next rw: bus free after the last tile of the
  // previous rw. kUnknown if that tile still waits for a slot only a later switch frees.
  uint64_t dma_free() {
    if (tiles() == 0) return 0;
    uint64_t r = request(tiles() - 1);
    return r == kUnknown ? kUnknown : r + tx_;
  }
  uint64_t arrival(uint64_t j) {
    if (j < base_) return 0;  // trimmed: switched in long ago, so arrived
    uint64_t r = request(j);
    return r == kUnknown ? kUnknown : r + tx_ + latency_;
  }
  // Shift start of tile k (the next one to switch): every earlier tile has switched.
  uint64_t shift_start(uint64_t k) {
    uint64_t a = arrival(k);
    if (a == kUnknown) return kUnknown;
    return k > 0 ? after(at(k - 1), a) : a;
  }
  uint64_t shadow_full(uint64_t k) {
    uint64_t s = shift_start(k);
    return s == kUnknown ? kUnknown : s + timing::weight_shift_to_switch_cycles();
  }
  void switched(uint64_t k, uint64_t t) {
    Tile& tile = at(k);
    tile.shift = shift_start(k);
    tile.freed = tile.shift + drain_;
    tile.switched = t;
    trim(k);
  }

 private:
  struct Tile {
    uint64_t rw_issue;
    uint64_t req = kUnknown;
    uint64_t shift = kUnknown;
    uint64_t freed = kUnknown;
    uint64_t switched = kUnknown;
  };
  Tile& at(uint64_t j) { return tiles_[j - base_]; }

  // Request time of tile j, resolving earlier tiles in order.
  uint64_t request(uint64_t j) {
    while (next_req_ <= j) {
      Tile& t = at(next_req_);
      uint64_t r = t.rw_issue;
      if (next_req_ > 0 && next_req_ - 1 >= base_)
        r = std::max(r, at(next_req_ - 1).req + tx_);
      else if (next_req_ > 0)
        r = std::max(r, last_trimmed_req_ + tx_);
      if (next_req_ >= depth_) {
        uint64_t freed = freed_of(next_req_ - depth_);
        if (freed == kUnknown) return kUnknown;
        r = std::max(r, freed);
      }
      t.req = r;
      ++next_req_;
    }
    return at(j).req;
  }

  // End of the shift that drains tile k's slot: known once tile k has been requested and tile
  // k - 1 switched in (a slot frees without waiting for its own tile's switch).
  uint64_t freed_of(uint64_t k) {
    if (k < base_) return trimmed_freed(k);
    Tile& tile = at(k);
    if (tile.freed != kUnknown) return tile.freed;
    if (k > 0 && (k - 1 >= base_ ? at(k - 1).switched : kUnknown) == kUnknown) return kUnknown;
    const uint64_t a = tile.req + tx_ + latency_;
    return (k > 0 ? after(at(k - 1), a) : a) + drain_;
  }

  // Shift start of the tile after `prev` (which has switched), arrived at `a`: the shadow is
  // free once prev's switch issued, the sequencer once prev's shift fed its last row.
  uint64_t after(const Tile& prev, uint64_t a) const {
    return std::max(
        {a, prev.switched + timing::weight_switch_to_shift_cycles(), prev.shift + shift_});
  }

  // Keeps the last 2 * depth_ + 2 switched tiles (what later requests and shifts look back at).
  void trim(uint64_t switched_k) {
    while (base_ + 2 * depth_ + 2 < switched_k && base_ < next_req_ && !tiles_.empty()) {
      recent_freed_.push_back(tiles_.front().freed);
      if (recent_freed_.size() > depth_ + 1) recent_freed_.pop_front();
      last_trimmed_req_ = tiles_.front().req;
      tiles_.pop_front();
      ++base_;
    }
  }
  uint64_t trimmed_freed(uint64_t j) const {
    uint64_t back = base_ - j;  // 1 = the most recently trimmed
    if (back == 0 || back > recent_freed_.size()) return kUnknown;
    return recent_freed_[recent_freed_.size() - back];
  }

  uint64_t depth_, tx_, latency_, shift_, drain_;
  std::deque<Tile> tiles_;
  uint64_t base_ = 0;  // index of tiles_.front()
  uint64_t next_req_ = 0;
  uint64_t last_rw_tile_ = 0;
  uint64_t last_trimmed_req_ = 0;
  std::deque<uint64_t> recent_freed_;
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
  uint64_t host_free = 0, mxu_free = 0, act_free = 0;
  ConfigRegs regs;  // the setc registers: an act's walk length (2-D pooling) depends on them
  // Incomplete instructions of the units that pipeline them (sim/isa/ISA.md, `sync`): the
  // completion times of the mmcs, and the last tile of each rw, oldest first. Entries that have
  // completed by the previous issue are dropped as new ones arrive.
  std::deque<uint64_t> mmc_done;
  std::deque<uint64_t> rw_last_tile;
  uint64_t next_switch = 0;
  uint64_t prev_issue = 0;
  // rw instructions whose completion (last tile's arrival) is resolved at the end.
  // rw instructions whose completion (last tile's arrival) is not known yet, oldest first.
  std::deque<std::pair<size_t, uint64_t>> rw_done;
  auto resolve_rw = [&](uint64_t up_to_tile) {
    while (!rw_done.empty() && rw_done.front().second <= up_to_tile) {
      if (opt.record_timeline)
        res.timeline[rw_done.front().first].done = wp.arrival(rw_done.front().second);
      rw_done.pop_front();
    }
  };

  for (size_t pc = 0; pc < prog.code.size(); ++pc) {
    const Instruction& in = prog.code[pc];
    const uint64_t earliest = pc == 0 ? timing::front_end_cycles() : prev_issue + 1;
    const uint64_t mxu_free_before = mxu_free;
    uint64_t t = earliest, done = 0;
    uint64_t arrival = 0;  // for an mmc switch: when its tile arrives
    switch (in.op) {
      case Opcode::kNop:
      case Opcode::kSetConfig:
        done = t + 1;
        break;
      case Opcode::kReadHost:
      case Opcode::kWriteHost:
        t = std::max(t, host_free);
        host_free = t + timing::host_transfer_cycles(cfg, uint64_t(in.c) * W);
        done = host_free;
        break;
      case Opcode::kReadWeights: {
        uint64_t f = wp.dma_free();
        if (f == kUnknown) deadlock(prog, pc, "the weight DMA still");
        t = std::max(t, f);
        wp.push(t, in.c);
        rw_done.emplace_back(pc, wp.last_rw_tile());
        while (!rw_last_tile.empty()) {
          const uint64_t a = wp.arrival(rw_last_tile.front());
          if (a == kUnknown || a > prev_issue) break;
          rw_last_tile.pop_front();
        }
        rw_last_tile.push_back(wp.last_rw_tile());
        break;
      }
      case Opcode::kMatmul:
        t = std::max(t, mxu_free);
        if (in.flags & kFlagSwitch) {
          uint64_t full = wp.shadow_full(next_switch);
          arrival = wp.arrival(next_switch);
          t = std::max(t, full);
          resolve_rw(next_switch);  // before the tile record may be trimmed
          wp.switched(next_switch, t);
          ++next_switch;
        }
        mxu_free = t + in.c;
        done = t + in.c + mxu_latency;
        while (!mmc_done.empty() && mmc_done.front() <= t) mmc_done.pop_front();
        mmc_done.push_back(done);
        n.array_active_cycles += in.c;
        break;
      case Opcode::kActivate:
        t = std::max(t, act_free);
        act_free = t + act_steps(in, regs) + timing::act_pipeline_cycles();
        done = act_free;
        break;
      case Opcode::kSync:
      case Opcode::kHalt: {
        // At most `pending` incomplete instructions per unit of the mask; each unit completes
        // in issue order, so: everything but its last `pending` instructions complete.
        const uint8_t mask = in.op == Opcode::kHalt ? kUnitAll : in.flags;
        const uint64_t pending = in.op == Opcode::kHalt ? 0 : in.d;
        if ((mask & kUnitHost) && pending == 0) t = std::max(t, host_free);
        if ((mask & kUnitAct) && pending == 0) t = std::max(t, act_free);
        if ((mask & kUnitMxu) && mmc_done.size() > pending)
          t = std::max(t, mmc_done[mmc_done.size() - 1 - pending]);
        if ((mask & kUnitWeights) && rw_last_tile.size() > pending) {
          const uint64_t c = wp.arrival(rw_last_tile[rw_last_tile.size() - 1 - pending]);
          if (c == kUnknown) deadlock(prog, pc, "it waits for a requested weight tile, and one");
          t = std::max(t, c);
        }
        done = t + 1;
        break;
      }
    }
    // Counters for the cycles the controller was held by this instruction: [held0, t). The
    // previous matmul's injection covers a prefix of them (array_active); the rest is charged
    // by what held the controller (sim/isa/ISA.md "Performance counters").
    const uint64_t held0 = earliest;
    const uint64_t idle0 = std::max(held0, mxu_free_before);
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
      // Injection cycles inside the span: the previous matmul's tail, and the issue cycle of an
      // mmc.
      const uint64_t active =
          (std::min(t + 1, mxu_free_before) > span0 ? std::min(t + 1, mxu_free_before) - span0
                                                    : 0) +
          (in.op == Opcode::kMatmul ? 1 : 0);
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
  resolve_rw(std::numeric_limits<uint64_t>::max());
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
