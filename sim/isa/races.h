// The race rule of sim/isa/ISA.md ("Programs must be race-free"), as a checker and as the
// sync planner the random program generator and the tests share.
//
// An instruction conflicts with an earlier one of *another* unit when one writes a UB vector or
// an accumulator row the other reads or writes. The earlier one must have completed by the time
// the later one issues, which the program guarantees in one of these ways:
//   - a `sync` on its unit with `pending` smaller than the number of that unit's instructions
//     issued after it (each unit completes its instructions in issue order); each MXU is a unit
//     of its own (its mmcs), and the sync mask's mxu bit covers them all;
//   - a later instruction of its unit that the hardware issues only once it has completed:
//     rhm/whm (the host DMA runs one at a time) and act (so does the activation unit), and, for
//     an mmc's UB reads only, the next mmc of its MXU (it issues once the previous one injected
//     its last row).
// Instructions of one unit never race with each other (each unit is in order).
//
// A BankRule adds bank conflicts: with the accumulators split into banks of a fixed number of
// contiguous rows, each bank a 1R1W memory, two units may not both read, or both write, one bank
// unless ordered as above (a read beside a write is the bank's two ports). The ISA's rule
// (isa_bank_rule) is 2 x MXUs banks of acc_bank_rows rows (rtl/accumulators.v). The UB's banks
// (rtl/unified_buffer.v) need no rule: the hardware orders them, an interlock in the issue
// conditions (sim/isa/ISA.md, "UB banks"). A chain mmc reads no UB vector: its rows are its
// source's (sim/isa/ISA.md, "Chained inputs").
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "models/config.h"
#include "sim/isa/isa.h"
#include "sim/isa/program.h"

namespace tpusim {

class RaceTracker {
 public:
  // Bank size, 0 = not banked.
  struct BankRule {
    uint64_t acc_rows = 0;  // accumulator rows per bank
  };
  explicit RaceTracker(BankRule banks) : banks_(banks) {}

  // A conflicting earlier instruction of `unit` (sync mask bit; 2 for every MXU), `after`
  // instructions of that unit (for an mmc: of its MXU) issued after it: a `sync` needs
  // pending <= after to cover it.
  // What two instructions share: a vector or row one of them writes, or (no such vector or
  // row) an accumulator bank that both read or both write.
  enum class Clash { kNone, kShared, kAccBank };
  struct Conflict {
    int unit = 0;
    size_t pc = 0;
    uint64_t after = 0;
    Clash clash = Clash::kShared;
  };

  // Every in-flight instruction `in` conflicts with.
  std::vector<Conflict> conflicts(const Instruction& in) const;
  // The weakest sync that makes `in` race-free (mask of the conflicting units, the largest
  // pending that covers every conflict), or nothing if `in` is race-free already.
  std::optional<Instruction> needed_sync(const Instruction& in) const;
  // For a chain (sim/isa/ISA.md, "Chained inputs"), `g` its source and followers in order:
  // nothing may come between them, so one sync before the source must order what every member
  // conflicts with. `sync` is that merged sync (the union of the units, the smallest pending;
  // nothing if no member conflicts), `members` how many leading members it makes race-free: a
  // member that conflicts with an earlier member cuts the chain there.
  struct ChainSync {
    std::optional<Instruction> sync;
    size_t members = 0;
  };
  ChainSync chain_sync(const std::vector<Instruction>& g) const;
  // Issues `in` (at program counter `pc`): records its footprint, or applies a sync's effect.
  void issue(const Instruction& in, size_t pc);
  // Whether one of `a`, `b` writes a UB vector or an accumulator row the other reads or writes,
  // whatever their units: the two may not be reordered.
  static bool touches(const Instruction& a, const Instruction& b) {
    return conflict(footprint(a), footprint(b));
  }

 private:
  struct Range {
    uint64_t lo = 0, hi = 0;  // [lo, hi), empty when lo == hi
    bool overlaps(const Range& o) const { return lo < o.hi && o.lo < hi; }
  };
  struct Footprint {
    Range ub_read, ub_write, acc_read, acc_write;
  };
  struct Entry {
    uint64_t index;  // of the unit's instructions, from 0
    size_t pc;
    Footprint fp;
  };
  // Units: 0 host, 1 weights, 2 MXU 0, 3 act, 3 + m MXU m >= 1; kUnits in all.
  static constexpr int kUnits = 3 + int(kMaxMxus);
  static int unit_of(const Instruction& in);  // -1 for none
  static int mask_bit(int unit) { return unit <= 3 ? unit : 2; }
  static bool is_mxu(int unit) { return unit == 2 || unit > 3; }
  static Footprint footprint(const Instruction& in);
  static bool conflict(const Footprint& later, const Footprint& earlier);
  // conflict(), or both read or both write one bank under banks_
  Clash bank_conflict(const Footprint& later, const Footprint& earlier) const;

  BankRule banks_;

  std::vector<Entry> inflight_[kUnits];
  uint64_t issued_[kUnits] = {};
};

// Accumulator rows per bank: the accumulators are 2 x MXUs banks of ceil(entries / (2 x MXUs))
// rows (the last one shorter where that does not divide), one bank per MXU in each half of the
// lowering's double buffer (sim/isa/ISA.md, "accumulator banks"; rtl/accumulators.v).
inline uint64_t acc_bank_rows(uint64_t entries, uint64_t mxus) {
  const uint64_t banks = 2 * (mxus == 0 ? 1 : mxus);
  return (entries + banks - 1) / banks;
}
// The ISA's bank rule for `cfg`: the accumulator banks above. The UB's banks are ordered by the
// hardware instead (ub_bank_vectors, the interlock of sim/isa/ISA.md "UB banks").
inline RaceTracker::BankRule isa_bank_rule(const TpuConfig& cfg) {
  return {acc_bank_rows(cfg.accumulator_entries, cfg.mxus)};
}
// UB vectors per bank: the UB is `unified_buffer_banks` banks (default 2 x MXUs) of
// ceil(vectors / banks) contiguous vectors, the last one shorter where that does not divide
// (sim/isa/ISA.md, "UB banks"; rtl/unified_buffer.v).
inline uint64_t ub_bank_vectors(const TpuConfig& cfg) {
  return (cfg.ub_vectors() + cfg.ub_banks - 1) / cfg.ub_banks;
}

// Throws InputError naming the first instruction that races with an earlier one (and that one),
// and the sync that would order them, under the bank rule `banks` (isa_bank_rule for a program
// the machine runs).
void check_races(const Program& prog, RaceTracker::BankRule banks);

}  // namespace tpusim
