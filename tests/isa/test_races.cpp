// The race rule (sim/isa/races.h) and the random program generator that relies on it.
#include <catch2/catch.hpp>

#include "models/config.h"
#include "models/errors.h"
#include "sim/isa/assembler.h"
#include "sim/isa/program_gen.h"
#include "sim/isa/races.h"

using namespace tpusim;

namespace {

std::string race_of(const std::string& text) {
  try {
    check_races(assemble(text, "r.s"));
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
  for (const char* arch : {"tiny-4", "small-16"}) {
    const TpuConfig cfg = load_config(arch);
    for (uint64_t seed = 1; seed <= 150; ++seed) {
      GenOptions o;
      o.window = seed % 2 ? 24 : 0;  // small windows: many conflicts
      const Program p = generate_program(cfg, seed, o);
      INFO(arch << " seed " << seed);
      REQUIRE_NOTHROW(check_races(p));
      for (size_t pc = 0; pc + 1 < p.code.size(); ++pc) {
        if (p.code[pc].op != Opcode::kSync) continue;
        ++syncs;
        if (p.code[pc].d > 0) ++counted;
        // Without this sync the program either still is race-free (a random or a stronger
        // sync than needed) or is rejected naming a later instruction: never accepted racy.
        Program q = p;
        q.code.erase(q.code.begin() + long(pc));
        try {
          check_races(q);
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
  // accumulators in banks of 8 rows, UB in banks of 16 vectors (the study of issue 25's banked
  // 1R1W memories; not the ISA's rule)
  const RaceTracker::BankRule banks{16, 8};
  auto needs_sync = [&](const std::string& before, const std::string& last, bool banked) {
    const Program p = assemble(before + last + "\nhalt\n", "b.s");
    RaceTracker t = banked ? RaceTracker(banks) : RaceTracker();
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
  // two MXUs writing one accumulator bank, and two reading one UB bank
  CHECK(needs_sync("mmc ub=0 acc=0 b=4\n", "mmc ub=16 acc=4 b=4 mxu=1", true));
  CHECK(needs_sync("mmc ub=0 acc=0 b=4\n", "mmc ub=4 acc=8 b=4 mxu=1", true));
  CHECK_FALSE(needs_sync("mmc ub=0 acc=0 b=4\n", "mmc ub=16 acc=8 b=4 mxu=1", true));
  // two UB writers (the host DMA and the activation unit) in one bank
  CHECK(needs_sync("rhm host=0 ub=0 n=4\n", "act acc=0 ub=8 n=4", true));
  CHECK_FALSE(needs_sync("rhm host=0 ub=0 n=4\n", "act acc=0 ub=16 n=4", true));
}
