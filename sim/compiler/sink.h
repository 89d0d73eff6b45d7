// Where the lowering's instructions go: the stored program (lower()) or only its counts
// (lower_stats(), and lower()'s size check before storing anything big).
#pragma once

#include <cstdint>
#include <vector>

#include <fmt/format.h>

#include "models/errors.h"
#include "sim/compiler/lowering.h"
#include "sim/isa/program.h"

namespace tpusim {

[[noreturn]] inline void operand_too_wide(uint64_t v) {
  throw InputError(fmt::format("lowering: operand {} exceeds 32 bits", v));
}
inline uint32_t u32(uint64_t v) {
  if (v > 0xffffffffull) operand_too_wide(v);
  return uint32_t(v);
}

// Where the Emitter's instructions go. ProgramSink stores the program (lower()); CountingSink
// keeps only its counts (lower_stats(), and lower()'s size check before storing anything big).
// Both see the very same calls, so the counts are those of the stored program.
class Sink {
 public:
  virtual ~Sink() = default;
  // The next instruction in program order, rw excluded; `layer` indexes the layer table.
  virtual void instruction(const Instruction& in, uint32_t layer) = 0;
  // The weight tile the next `mmc switch` on MXU `mxu` consumes (the rw stream, in switch order).
  virtual void weight_tile(uint64_t addr, uint32_t layer, uint32_t mxu) = 0;
};

// Thrown by a sink whose instruction budget is spent (caught inside lower()).
struct OverBudget {
  uint32_t layer = 0;  // index of the layer being emitted
};

// Bytes one instruction takes while lower() stores it: 16 + a 4-byte layer index while emitting,
// then 16 + 4 + a 4-byte source line in the finished program.
constexpr uint64_t kStoredInstructionBytes = 44;

class ProgramSink final : public Sink {
 public:
  // `total`: instructions stored so far in all segments; OverBudget past `budget` (0: none),
  // checked before anything is stored.
  ProgramSink(uint64_t& total, uint64_t budget) : total_(total), budget_(budget) {}
  void instruction(const Instruction& in, uint32_t layer) override {
    spend(layer);
    code_.push_back(in);
    code_layer_.push_back(layer);
  }
  void weight_tile(uint64_t addr, uint32_t layer, uint32_t mxu) override {
    spend(layer);
    tiles_.push_back(addr);
    tile_layer_.push_back(layer);
    tile_mxu_.push_back(uint16_t(mxu));
  }
  // Inserts the rw stream (each tile requested `ahead` switches of its MXU early, in switch
  // order: no rw waits for a slot that only a later switch frees) and the final halt.
  void finish(uint64_t ahead, Program& prog, std::vector<uint32_t>& layer_of) {
    spend(code_layer_.empty() ? 0 : code_layer_.back());  // the halt
    prog.code.clear();
    layer_of.clear();
    prog.code.reserve(code_.size() + tiles_.size() + 1);
    layer_of.reserve(code_.size() + tiles_.size() + 1);
    size_t next = 0;
    std::vector<uint64_t> requested(kMaxMxus, 0), switched(kMaxMxus, 0);
    auto request = [&] {
      while (next < tiles_.size() &&
             requested[tile_mxu_[next]] < switched[tile_mxu_[next]] + ahead) {
        prog.code.push_back(
            Instruction{Opcode::kReadWeights, 0, tile_mxu_[next], u32(tiles_[next]), 0, 1});
        layer_of.push_back(tile_layer_[next]);
        ++requested[tile_mxu_[next]];
        ++next;
      }
    };
    // Host reads that open the program go before the first tiles' rw: they are its longest
    // transfers, and the weight DMA loads the tiles beside them (a stalled rw would hold them).
    size_t i = 0;
    for (; i < code_.size() && code_[i].op == Opcode::kReadHost; ++i) {
      prog.code.push_back(code_[i]);
      layer_of.push_back(code_layer_[i]);
    }
    request();
    for (; i < code_.size(); ++i) {
      prog.code.push_back(code_[i]);
      layer_of.push_back(code_layer_[i]);
      if (code_[i].op == Opcode::kMatmul && (code_[i].flags & kFlagSwitch)) ++switched[code_[i].d];
      // (not between a chain source and its followers: nothing may come between them)
      if (i + 1 == code_.size() || code_[i + 1].op != Opcode::kMatmul || !code_[i + 1].chained())
        request();
    }
    prog.code.push_back(Instruction{Opcode::kHalt, 0, 0, 0, 0, 0});
    layer_of.push_back(layer_of.empty() ? 0 : layer_of.back());
    prog.source_lines.assign(prog.code.size(), 0);
    std::vector<Instruction>().swap(code_);
    std::vector<uint32_t>().swap(code_layer_);
    std::vector<uint64_t>().swap(tiles_);
    std::vector<uint32_t>().swap(tile_layer_);
    std::vector<uint16_t>().swap(tile_mxu_);
  }

 private:
  void spend(uint32_t layer) {
    if (budget_ && ++total_ > budget_) throw OverBudget{layer};
  }
  uint64_t& total_;
  uint64_t budget_ = 0;
  std::vector<Instruction> code_;
  std::vector<uint32_t> code_layer_;
  std::vector<uint64_t> tiles_;
  std::vector<uint32_t> tile_layer_;
  std::vector<uint16_t> tile_mxu_;
};

class CountingSink final : public Sink {
 public:
  // `total`: instructions counted so far in all segments; OverBudget past `budget` (0: none).
  CountingSink(SegmentStats& stats, uint64_t& total, uint64_t budget)
      : stats_(stats), total_(total), budget_(budget) {}
  void instruction(const Instruction& in, uint32_t layer) override {
    stats_.add(in);
    spend(layer);
    last_layer_ = layer;
  }
  void weight_tile(uint64_t addr, uint32_t layer, uint32_t mxu) override {
    stats_.add(Instruction{Opcode::kReadWeights, 0, uint16_t(mxu), u32(addr), 0, 1});
    spend(layer);
  }
  void finish() {
    stats_.add(Instruction{Opcode::kHalt, 0, 0, 0, 0, 0});
    spend(last_layer_);
  }

 private:
  void spend(uint32_t layer) {
    ++total_;
    if (budget_ && total_ > budget_) throw OverBudget{layer};
  }
  uint32_t last_layer_ = 0;
  SegmentStats& stats_;
  uint64_t& total_;
  uint64_t budget_ = 0;
};

}  // namespace tpusim
