#include "sim/isa/races.h"

#include <algorithm>

#include <fmt/format.h>

#include "models/errors.h"
#include "sim/isa/assembler.h"

namespace tpusim {

int RaceTracker::unit_of(const Instruction& in) {
  switch (in.op) {
    case Opcode::kReadHost:
    case Opcode::kWriteHost:
      return 0;
    case Opcode::kReadWeights:
      return 1;
    case Opcode::kMatmul:
      return in.d == 0 ? 2 : 3 + int(in.d);
    case Opcode::kActivate:
      return 3;
    default:
      return -1;
  }
}

RaceTracker::Footprint RaceTracker::footprint(const Instruction& in) {
  Footprint f;
  switch (in.op) {
    case Opcode::kReadHost:
      f.ub_write = {in.b, uint64_t(in.b) + in.c};
      break;
    case Opcode::kWriteHost:
      f.ub_read = {in.b, uint64_t(in.b) + in.c};
      break;
    case Opcode::kMatmul:
      // a chain mmc's rows are its source's, read by the source
      if (!in.chained()) f.ub_read = {in.a, uint64_t(in.a) + in.c};
      f.acc_write = {in.b, uint64_t(in.b) + in.c};
      if (in.flags & kFlagAccumulate) f.acc_read = f.acc_write;
      break;
    case Opcode::kActivate:
      f.acc_read = {in.a, uint64_t(in.a) + in.c};
      f.ub_write = {in.b, uint64_t(in.b) + act_outputs(in)};
      break;
    default:
      break;
  }
  return f;
}

bool RaceTracker::conflict(const Footprint& a, const Footprint& b) {
  return a.ub_read.overlaps(b.ub_write) || a.ub_write.overlaps(b.ub_write) ||
         a.ub_write.overlaps(b.ub_read) || a.acc_read.overlaps(b.acc_write) ||
         a.acc_write.overlaps(b.acc_write) || a.acc_write.overlaps(b.acc_read);
}

RaceTracker::Clash RaceTracker::bank_conflict(const Footprint& a, const Footprint& b) const {
  if (conflict(a, b)) return Clash::kShared;
  // whether the banks of size `n` that `x` and `y` touch overlap (n = 0: not banked)
  auto same_bank = [](const Range& x, const Range& y, uint64_t n) {
    return n != 0 && x.lo < x.hi && y.lo < y.hi && x.lo / n <= (y.hi - 1) / n &&
           y.lo / n <= (x.hi - 1) / n;
  };
  if (same_bank(a.acc_read, b.acc_read, banks_.acc_rows) ||
      same_bank(a.acc_write, b.acc_write, banks_.acc_rows))
    return Clash::kAccBank;
  return Clash::kNone;
}

std::vector<RaceTracker::Conflict> RaceTracker::conflicts(const Instruction& in) const {
  std::vector<Conflict> out;
  const int self = unit_of(in);
  if (self < 0) return out;
  const Footprint f = footprint(in);
  for (int u = 0; u < kUnits; ++u) {
    if (u == self) continue;
    for (const Entry& e : inflight_[u])
      if (const Clash c = bank_conflict(f, e.fp); c != Clash::kNone)
        out.push_back({mask_bit(u), e.pc, issued_[u] - 1 - e.index, c});
  }
  return out;
}

std::optional<Instruction> RaceTracker::needed_sync(const Instruction& in) const {
  const std::vector<Conflict> c = conflicts(in);
  if (c.empty()) return std::nullopt;
  uint8_t mask = 0;
  uint64_t pending = 0xFFFF;
  for (const Conflict& x : c) {
    mask |= uint8_t(1u << x.unit);
    pending = std::min(pending, x.after);
  }
  return Instruction{Opcode::kSync, mask, uint16_t(pending), 0, 0, 0};
}

void RaceTracker::issue(const Instruction& in, size_t pc) {
  if (in.op == Opcode::kSync) {
    for (int u = 0; u < kUnits; ++u) {
      if (!(in.flags & (1u << mask_bit(u)))) continue;
      // all but the unit's last `d` instructions have completed
      const uint64_t keep_from = issued_[u] > in.d ? issued_[u] - in.d : 0;
      auto& v = inflight_[u];
      v.erase(
          std::remove_if(v.begin(), v.end(), [&](const Entry& e) { return e.index < keep_from; }),
          v.end());
    }
    return;
  }
  const int u = unit_of(in);
  if (u < 0) return;
  auto& v = inflight_[u];
  if (u == 0 || u == 3) v.clear();  // one at a time: the previous one has completed
  // The previous mmc of this MXU has injected its last row: its UB reads are done (older ones'
  // already were).
  if (is_mxu(u) && !v.empty()) v.back().fp.ub_read = {};
  const Footprint f = footprint(in);
  if (is_mxu(u)) {
    // An earlier mmc of this MXU whose UB reads are done and whose accumulator rows this one
    // writes again is covered by it: whatever conflicts with it conflicts with this younger one,
    // whose sync covers both (in-order completion). Dropping it keeps the list short (K-loops).
    // Under a bank rule an accumulating one is covered only by an accumulating one (its
    // read-modify-write reads a bank, which an overwrite does not).
    const bool reads_too = f.acc_read.lo < f.acc_read.hi;
    const size_t keep = v.size() > 16 ? v.size() - 16 : 0;
    for (size_t i = v.size(); i-- > keep;) {
      const Footprint& o = v[i].fp;
      if (o.ub_read.lo == o.ub_read.hi && f.acc_write.lo <= o.acc_write.lo &&
          o.acc_write.hi <= f.acc_write.hi &&
          (banks_.acc_rows == 0 || reads_too || o.acc_read.lo == o.acc_read.hi))
        v.erase(v.begin() + std::ptrdiff_t(i));
    }
  }
  if (u != 1) v.push_back({issued_[u], pc, f});
  ++issued_[u];
}

RaceTracker::ChainSync RaceTracker::chain_sync(const std::vector<Instruction>& g) const {
  ChainSync out;
  for (const Instruction& in : g)
    if (std::optional<Instruction> s = needed_sync(in)) {
      if (!out.sync) out.sync = s;
      out.sync->flags |= s->flags;
      out.sync->d = std::min(out.sync->d, s->d);
    }
  RaceTracker after = *this;
  if (out.sync) after.issue(*out.sync, 0);
  while (out.members < g.size() && !(out.members > 0 && after.needed_sync(g[out.members])))
    after.issue(g[out.members++], 0);
  return out;
}

void check_races(const Program& prog, RaceTracker::BankRule banks) {
  RaceTracker t(banks);
  static const char* kUnit[] = {"host", "weights", "mxu", "act"};
  for (size_t pc = 0; pc < prog.code.size(); ++pc) {
    const Instruction& in = prog.code[pc];
    const std::vector<RaceTracker::Conflict> c = t.conflicts(in);
    if (!c.empty()) {
      const RaceTracker::Conflict& x = c.front();
      const Instruction need = *t.needed_sync(in);
      std::string what;
      if (x.clash == RaceTracker::Clash::kAccBank)
        what = fmt::format(
            "both read, or both write, one accumulator bank of {} rows: a bank has one read "
            "and one write port",
            banks.acc_rows);
      else
        what =
            "it touches UB vectors or accumulator rows the other writes (or writes what it "
            "reads)";
      throw InputError(fmt::format(
          "{}: {}: races with instruction {} ({}) of the {} unit, which may still be running: "
          "{}; expected a '{}' between them (sim/isa/ISA.md, race-free programs)",
          prog.where(pc), mnemonic(in.op), x.pc, disassemble(prog.code[x.pc]), kUnit[x.unit], what,
          disassemble(need)));
    }
    t.issue(in, pc);
  }
}

}  // namespace tpusim
