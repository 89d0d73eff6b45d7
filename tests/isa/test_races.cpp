// The race rule (sim/isa/races.h) and the random program generator that relies on it.
#include <catch2/catch.hpp>

#include "models/config.h"
#include "models/errors.h"
#include "sim/isa/assembler.h"
#include "sim/isa/program.h"
#include "sim/isa/program_gen.h"
#include "sim/isa/races.h"

using namespace tpusim;

namespace {

// The race rule on the data alone (no banks), or with `banks`.
std::string race_of(const std::string& text, RaceTracker::BankRule banks = {}) {
  try {
    check_races(assemble(text, "r.s"), banks);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("a sync covers the instructions before its unit's last `pending`", "[races]") {
  const std::string two_mmcs = "mmc ub=0 acc=0 b=4\nmmc ub=4 acc=4 b=4\n";
  // act reads rows the first mmc writes: pending=1 covers it, pending=2 does not
  CHECK(race_of(two_mmcs + "sync mxu pending=1\nact acc=0 ub=8 n=4\nhalt\n").empty());
  CHECK_THAT(race_of(two_mmcs + "sync mxu pending=2\nact acc=0 ub=8 n=4\nhalt\n"),
             Catch::Contains("r.s:4") && Catch::Contains("instruction 0") &&
                 Catch::Contains("'sync mxu pending=1'"));
  // the second mmc's rows need pending=0
  CHECK_THAT(race_of(two_mmcs + "sync mxu pending=1\nact acc=4 ub=8 n=4\nhalt\n"),
             Catch::Contains("instruction 1") && Catch::Contains("'sync mxu'"));
  // a sync on another unit does not help
  CHECK_THAT(race_of(two_mmcs + "sync act\nact acc=0 ub=8 n=4\nhalt\n"), Catch::Contains("races"));
}

TEST_CASE("units that run one instruction at a time order their earlier ones", "[races]") {
  // rhm; rhm (issues once the first completed); mmc reading the first rhm's vectors
  CHECK(race_of("rhm host=0 ub=0 n=4\nrhm host=8 ub=8 n=4\nmmc ub=0 acc=0 b=4\nhalt\n").empty());
  CHECK_THAT(race_of("rhm host=0 ub=0 n=4\nmmc ub=0 acc=0 b=4\nhalt\n"),
             Catch::Contains("'sync host'"));
  // the next mmc orders only the previous mmc's UB reads, not its accumulator writes
  CHECK(race_of("mmc ub=0 acc=0 b=4\nmmc ub=8 acc=8 b=4\nrhm host=0 ub=0 n=4\nhalt\n").empty());
  CHECK_THAT(race_of("mmc ub=0 acc=0 b=4\nmmc ub=8 acc=8 b=4\nact acc=0 ub=0 n=4\nhalt\n"),
             Catch::Contains("races"));
  // instructions of one unit never race with each other
  CHECK(race_of("mmc ub=0 acc=0 b=4\nmmc ub=0 acc=0 b=4 accumulate\nhalt\n").empty());
}

TEST_CASE("generated programs use counted syncs and need every sync they have", "[races]") {
  uint64_t counted = 0, syncs = 0, needed = 0;
  for (const char* arch : {"tiny-4", "small-16", "tiny-8-x4"}) {
    const TpuConfig cfg = load_config(arch);
    const RaceTracker::BankRule banks = isa_bank_rule(cfg);
    for (uint64_t seed = 1; seed <= 150; ++seed) {
      GenOptions o;
      o.window = seed % 2 ? 24 : 0;  // small windows: many conflicts
      const Program p = generate_program(cfg, seed, o);
      INFO(arch << " seed " << seed);
      REQUIRE_NOTHROW(check_races(p, banks));
      for (size_t pc = 0; pc + 1 < p.code.size(); ++pc) {
        if (p.code[pc].op != Opcode::kSync) continue;
        ++syncs;
        if (p.code[pc].d > 0) ++counted;
        // Without this sync the program either still is race-free (a random or a stronger
        // sync than needed) or is rejected naming a later instruction: never accepted racy.
        Program q = p;
        q.code.erase(q.code.begin() + long(pc));
        try {
          check_races(q, banks);
        } catch (const InputError&) {
          ++needed;
        }
      }
    }
  }
  CHECK(counted > syncs / 10);  // pending > 0 is common
  CHECK(needed > syncs / 4);    // most syncs order a real conflict
}

TEST_CASE("a bank rule adds conflicts of two readers or two writers of one bank", "[races]") {
  // accumulators in banks of 8 rows
  const RaceTracker::BankRule banks{8};
  auto needs_sync = [&](const std::string& before, const std::string& last, bool banked) {
    const Program p = assemble(before + last + "\nhalt\n", "b.s");
    RaceTracker t(banked ? banks : RaceTracker::BankRule{});
    for (size_t pc = 0; pc + 2 < p.code.size(); ++pc) t.issue(p.code[pc], pc);
    return t.needed_sync(p.code[p.code.size() - 2]).has_value();
  };
  // an accumulating mmc reads rows 0..3 of bank 0; an act reading rows 4..7 (bank 0) is a second
  // reader of that bank, rows 8..11 (bank 1) are not
  const std::string acc_mmc = "mmc ub=0 acc=0 b=4 accumulate\n";
  CHECK_FALSE(needs_sync(acc_mmc, "act acc=4 ub=32 n=4", false));
  CHECK(needs_sync(acc_mmc, "act acc=4 ub=32 n=4", true));
  CHECK_FALSE(needs_sync(acc_mmc, "act acc=8 ub=32 n=4", true));
  // an overwriting mmc only writes bank 0: the act's read beside it is the bank's other port
  CHECK_FALSE(needs_sync("mmc ub=0 acc=0 b=4\n", "act acc=4 ub=32 n=4", true));
  // two MXUs writing one accumulator bank
  CHECK(needs_sync("mmc ub=0 acc=0 b=4\n", "mmc ub=16 acc=4 b=4 mxu=1", true));
  CHECK_FALSE(needs_sync("mmc ub=0 acc=0 b=4\n", "mmc ub=16 acc=8 b=4 mxu=1", true));
  // two readers, or two writers, of neighbouring UB vectors (one UB bank on any preset) need no
  // sync: the bank interlock orders them (sim/isa/ISA.md, "UB banks")
  CHECK_FALSE(needs_sync("mmc ub=0 acc=0 b=4\n", "mmc ub=4 acc=8 b=4 mxu=1", true));
  CHECK_FALSE(needs_sync("rhm host=0 ub=0 n=4\n", "act acc=0 ub=8 n=4", true));
}

TEST_CASE("the ISA's accumulator banks: 2 x MXUs banks, one per MXU in each half", "[races]") {
  CHECK(acc_bank_rows(4096, 1) == 2048);  // tpu-v1: the two halves
  CHECK(acc_bank_rows(4096, 4) == 512);   // tpu-llm, tpu-v4i: 8 banks
  CHECK(acc_bank_rows(256, 4) == 32);     // tiny-8-x4
  CHECK(acc_bank_rows(300, 4) == 38);     // the last bank shorter (300 = 7 x 38 + 34)
  CHECK(acc_bank_rows(2, 8) == 1);        // fewer rows than banks: a bank per row
  const TpuConfig cfg = load_config("tiny-8-x4");
  const RaceTracker::BankRule banks = isa_bank_rule(cfg);
  CHECK(banks.acc_rows == 32);
  // two MXUs writing rows 0..7 and 8..15: no shared row, one bank (rows 0..31)
  const std::string two = "mmc ub=0 acc=0 b=8\nmmc ub=16 acc=8 b=8 mxu=1\nhalt\n";
  CHECK(race_of(two).empty());
  CHECK_THAT(race_of(two, banks), Catch::Contains("r.s:2") &&
                                      Catch::Contains("accumulator bank of 32 rows") &&
                                      Catch::Contains("'sync mxu'"));
  // in their own banks (MXU 1 at row 32) they run side by side
  CHECK(race_of("mmc ub=0 acc=0 b=8\nmmc ub=16 acc=32 b=8 mxu=1\nhalt\n", banks).empty());
  // the machine's validation applies the rule of its config
  Program p = assemble(two, "r.s");
  CHECK_THROWS_WITH(validate_program(cfg, p), Catch::Contains("accumulator bank of 32 rows"));
}
