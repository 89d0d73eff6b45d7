// DESIGN invariant 5 across engines: the same program with other data (all-zero images, random
// weights from another seed, no data at all) gives identical cycles, counters and timelines on
// every timed engine (fast, cycle, and rtl where the arch has a verilated model), and the engines
// agree with each other.
#include <catch2/catch.hpp>

#include <algorithm>

#include "models/config.h"
#include "sim/engines/engine.h"
#include "sim/isa/program_gen.h"

using namespace tpusim;

namespace {

// The program with other data: `zero` clears every image (all-zero memories); otherwise the
// random fills get other seeds and the explicit images are inverted byte by byte.
Program other_data(const Program& p, bool zero, uint64_t salt) {
  Program q = p;
  if (zero) {
    q.random_init.clear();
    q.host_init.clear();
    q.weight_init.clear();
    return q;
  }
  for (auto& r : q.random_init) r.seed = r.seed * 0x9e3779b97f4a7c15ull + salt;
  for (auto* img : {&q.host_init, &q.weight_init})
    for (auto& kv : *img)
      for (auto& b : kv.second) b = int8_t(~b);
  // Random weights over every tile the program may read (the generator's fills stay underneath).
  Program::RandomInit w;
  w.weights = true;
  w.addr = 0;
  w.count = 8;
  w.seed = salt;
  q.random_init.insert(q.random_init.begin(), w);
  return q;
}

std::vector<std::string> engines_for(const TpuConfig& cfg) {
  std::vector<std::string> modes;  // every timed engine of this build that runs cfg
  for (const EngineInfo& e : engines())
    if (e.timed && e.runs(cfg.name)) modes.push_back(e.mode);
  return modes;
}

}  // namespace

TEST_CASE("data-independent timing on every engine", "[robust]") {
  for (const char* arch : {"tiny-4", "tiny-8"}) {
    const TpuConfig cfg = load_config(arch);
    for (uint64_t seed = 1; seed <= 6; ++seed) {
      const Program p = generate_program(cfg, seed);
      EngineOptions eo;
      eo.values = true;
      eo.record_timeline = true;
      const EngineResult ref = run_engine("fast", cfg, p, eo);
      REQUIRE(ref.counts.cycles > 0);
      for (const auto& mode : engines_for(cfg)) {
        INFO(arch << " seed " << seed << " engine " << mode);
        const EngineResult base = run_engine(mode, cfg, p, eo);
        CHECK(base.counts == ref.counts);
        CHECK(base.timeline == ref.timeline);
        for (int variant = 0; variant < 3; ++variant) {
          INFO("variant " << variant << " (0 all-zero, 1 other random data, 2 timing-only)");
          EngineOptions vo = eo;
          Program q = variant == 0   ? other_data(p, true, 0)
                      : variant == 1 ? other_data(p, false, seed + 17)
                                     : p;
          if (variant == 2) vo.values = false;
          const EngineResult r = run_engine(mode, cfg, q, vo);
          CHECK(r.counts == base.counts);
          CHECK(r.timeline == base.timeline);
        }
      }
    }
  }
}
