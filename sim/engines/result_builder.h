// ResultBuilder: turns what a cycle-level model shows at its tpu_top boundary, cycle by cycle
// (issue events, tile arrivals, the counters), into the EngineResult of
// sim/engines/fast/fast_engine.h. Shared by the SystemC engine (run_cycle) and the verilated-RTL
// engine (run_rtl); plain C++.
//
// Per instruction: issue = the cycle of its issue event; done (first cycle its effects are
// visible, as run_fast) = issue + the named timing of its unit (sim/isa/timing.h), except rw, whose
// completion is the observed arrival of its last tile (obs_fifo_arrive_o).
// Per layer (layer_of): instruction pc owns the cycles from the previous issue + 1 to its own
// issue (run_fast's rule); each cycle's counter increments go to the owner of that cycle.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "models/config.h"
#include "models/event_counts.h"
#include "sim/engines/fast/fast_engine.h"
#include "sim/engines/functional/functional.h"
#include "sim/isa/program.h"
#include "sim/isa/timing.h"

namespace tpusim {

// The six counters in EventCounts order: array_active, weight_stall, weight_shift, non_matrix,
// raw_stall, input_stall.
using Counters6 = std::array<uint64_t, 6>;

class ResultBuilder {
 public:
  ResultBuilder(const TpuConfig& cfg, const Program& prog, bool record_timeline,
                const std::vector<uint32_t>* layer_of, size_t layers)
      : cfg_(cfg), prog_(prog), record_(record_timeline), layer_of_(layer_of), work_(cfg) {
    if (record_) res.timeline.assign(prog.code.size(), InstrTiming{});
    if (layer_of_) {
      if (layer_of_->size() != prog.code.size())
        throw std::logic_error("layer_of must have one entry per instruction");
      res.per_layer.resize(layers);
    }
  }

  bool wants_counters() const { return layer_of_ != nullptr; }

  // The settled values of cycle `c` (before its rising edge). `cnt` (counts of cycles [0, c))
  // is read only when wants_counters().
  void cycle(uint64_t c, bool issue_valid, uint32_t pc, bool fifo_arrive, const Counters6& cnt) {
    if (layer_of_ && c > 0 && owner_prev_ < prog_.code.size()) {
      EventCounts& l = res.per_layer.at((*layer_of_)[owner_prev_]);
      const uint64_t d[6] = {cnt[0] - prev_[0], cnt[1] - prev_[1], cnt[2] - prev_[2],
                             cnt[3] - prev_[3], cnt[4] - prev_[4], cnt[5] - prev_[5]};
      l.cycles += d[0] + d[1] + d[2] + d[3];
      l.array_active_cycles += d[0];
      l.weight_stall_cycles += d[1];
      l.weight_shift_cycles += d[2];
      l.non_matrix_cycles += d[3];
      l.raw_stall_cycles += d[4];
      l.input_stall_cycles += d[5];
    }
    prev_ = cnt;
    owner_prev_ = next_pc_;
    if (fifo_arrive) {
      const uint64_t k = arrivals_++;
      while (!rw_wait_.empty() && rw_wait_.front().second == k) {
        if (record_) res.timeline[rw_wait_.front().first].done = c;
        rw_wait_.pop_front();
      }
    }
    if (!issue_valid) return;
    if (pc != next_pc_ || pc >= prog_.code.size())
      throw std::runtime_error("issue of pc " + std::to_string(pc) + " out of order (expected " +
                               std::to_string(next_pc_) + ")");
    ++next_pc_;
    const Instruction& in = prog_.code[pc];
    const uint64_t W = cfg_.vector_bytes();
    uint64_t done = c + 1;
    switch (in.op) {
      case Opcode::kReadHost:
      case Opcode::kWriteHost:
        done = c + timing::host_transfer_cycles(cfg_, uint64_t(in.c) * W);
        if (in.op == Opcode::kWriteHost) host_writes.push_back(HostWrite{in.a, in.c});
        break;
      case Opcode::kReadWeights:
        tiles_ += in.c;
        rw_wait_.emplace_back(pc, tiles_ - 1);
        done = 0;
        break;
      case Opcode::kMatmul:
        done = c + in.c + timing::mxu_latency_cycles(cfg_);
        break;
      case Opcode::kActivate:
        done = c + act_steps(in, work_.regs()) + timing::act_pipeline_cycles();
        break;
      default:
        break;
    }
    if (record_) {
      res.timeline[pc].issue = c;
      if (in.op != Opcode::kReadWeights) res.timeline[pc].done = done;
    }
    if (layer_of_)
      work_.add(in, res.counts, res.per_layer.at((*layer_of_)[pc]));
    else
      work_.add(in, res.counts);
  }

  // At done: total cycles and the counters from the model's ports.
  void finish(uint64_t total_cycles, const Counters6& cnt) {
    if (next_pc_ != prog_.code.size())
      throw std::runtime_error("core halted after " + std::to_string(next_pc_) + " of " +
                               std::to_string(prog_.code.size()) + " instructions");
    EventCounts& n = res.counts;
    n.cycles = total_cycles;
    n.array_active_cycles = cnt[0];
    n.weight_stall_cycles = cnt[1];
    n.weight_shift_cycles = cnt[2];
    n.non_matrix_cycles = cnt[3];
    n.raw_stall_cycles = cnt[4];
    n.input_stall_cycles = cnt[5];
    if (!rw_wait_.empty()) throw std::runtime_error("an rw's tiles never arrived");
  }

  EngineResult res;
  std::vector<HostWrite> host_writes;

 private:
  const TpuConfig& cfg_;
  const Program& prog_;
  bool record_;
  const std::vector<uint32_t>* layer_of_;
  WorkCounter work_;  // count_work with the setc registers tracked
  uint64_t next_pc_ = 0, owner_prev_ = 0, tiles_ = 0, arrivals_ = 0;
  Counters6 prev_{};
  std::deque<std::pair<size_t, uint64_t>> rw_wait_;  // (pc, index of its last tile)
};

}  // namespace tpusim
