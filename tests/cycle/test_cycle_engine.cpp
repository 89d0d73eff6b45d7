// The cycle engine (SystemC twin of rtl/) against the fast engine: total cycles, every issue and
// done cycle, every counter, every output byte (sim/ISA.md: the engines agree exactly).
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <random>

#include "models/config.h"
#include "models/errors.h"
#include "sim/fast_engine.h"
#include "sim/functional.h"
#include "sim/lowering.h"
#include "sim/program_gen.h"
#include "sim/systemc/cycle_engine.h"
#include "sim/workload.h"
#include "programs.h"

namespace tpusim {
namespace {

void check_equal(const TpuConfig& cfg, const Program& p, const std::vector<uint32_t>* layer_of = nullptr,
                 size_t layers = 0, bool values = true) {
  FastOptions fo;
  fo.layer_of = layer_of;
  fo.layers = layers;
  fo.values = values;
  CycleOptions co;
  co.layer_of = layer_of;
  co.layers = layers;
  co.values = values;
  const EngineResult f = run_fast(cfg, p, fo);
  const EngineResult c = run_cycle(cfg, p, co);
  REQUIRE(c.timeline.size() == f.timeline.size());
  for (size_t pc = 0; pc < f.timeline.size(); ++pc) {
    INFO("pc " << pc << " " << mnemonic(p.code[pc].op));
    CHECK(c.timeline[pc].issue == f.timeline[pc].issue);
    CHECK(c.timeline[pc].done == f.timeline[pc].done);
  }
  CHECK(c.counts.cycles == f.counts.cycles);
  CHECK(c.counts.array_active_cycles == f.counts.array_active_cycles);
  CHECK(c.counts.weight_stall_cycles == f.counts.weight_stall_cycles);
  CHECK(c.counts.weight_shift_cycles == f.counts.weight_shift_cycles);
  CHECK(c.counts.non_matrix_cycles == f.counts.non_matrix_cycles);
  CHECK(c.counts.raw_stall_cycles == f.counts.raw_stall_cycles);
  CHECK(c.counts.input_stall_cycles == f.counts.input_stall_cycles);
  CHECK(c.counts == f.counts);
  REQUIRE(c.per_layer.size() == f.per_layer.size());
  for (size_t l = 0; l < f.per_layer.size(); ++l) {
    INFO("layer " << l);
    CHECK(c.per_layer[l] == f.per_layer[l]);
  }
  if (!values) return;
  REQUIRE(c.has_values);
  REQUIRE(f.has_values);
  CHECK(c.values.state.host == f.values.state.host);
  CHECK(c.values.state.ub == f.values.state.ub);
  CHECK(c.values.state.acc == f.values.state.acc);
  CHECK(c.values.state.mult == f.values.state.mult);
  CHECK(c.values.state.shift == f.values.state.shift);
  CHECK(c.values.state.round == f.values.state.round);
  REQUIRE(c.values.host_writes.size() == f.values.host_writes.size());
  for (size_t i = 0; i < c.values.host_writes.size(); ++i) {
    CHECK(c.values.host_writes[i].host_vector == f.values.host_writes[i].host_vector);
    CHECK(c.values.host_writes[i].vectors == f.values.host_writes[i].vectors);
  }
}

}  // namespace

TEST_CASE("cycle engine equals fast engine: directed programs on tiny-4") {
  const TpuConfig cfg = load_config("tiny-4");
  Program p;
  p.name = "directed";
  p.code = {rtl_test::make_instruction(Opcode::kReadHost, 0, 0, 3), rtl_test::make_instruction(Opcode::kReadWeights, 0, 0, 2),
            rtl_test::make_instruction(Opcode::kSync, 0, 0, 0, kUnitHost),
            rtl_test::make_instruction(Opcode::kMatmul, 0, 0, 3, kFlagSwitch), rtl_test::make_instruction(Opcode::kMatmul, 0, 3, 3, kFlagSwitch | kFlagAccumulate),
            rtl_test::make_instruction(Opcode::kSync, 0, 0, 0, kUnitMxu), rtl_test::make_instruction(Opcode::kActivate, 0, 8, 4, 1 | (1 << 2), 1),
            rtl_test::make_instruction(Opcode::kSync, 0, 0, 0, kUnitAct), rtl_test::make_instruction(Opcode::kWriteHost, 10, 8, 2), rtl_test::make_instruction(Opcode::kHalt)};
  p.random_init.push_back({false, 0, 3, 11});
  p.random_init.push_back({true, 0, 2, 12});
  check_equal(cfg, p);
}

TEST_CASE("cycle engine equals fast engine: random programs") {
  for (const char* arch : {"tiny-4", "tiny-8", "small-16"}) {
    const TpuConfig cfg = load_config(arch);
    for (uint64_t seed = 1; seed <= 6; ++seed) {
      INFO(arch << " seed " << seed);
      GenOptions go;
      go.instructions = 50;
      go.window = seed % 2 ? 64 : 0;
      check_equal(cfg, generate_program(cfg, seed * 131 + 7, go));
    }
  }
}

TEST_CASE("cycle engine equals fast engine: lowered mlp1 on small-16 (timing and layers)") {
  const TpuConfig cfg = load_config("small-16");
  LowerOptions lo;
  lo.values = false;
  WorkloadParams wp;
  wp.batch = 16;
  const LoweredProgram lp = lower(cfg, load_workload("mlp1", wp), lo);
  REQUIRE(!lp.segments.empty());
  // the first two segments (groups) keep the test short; every layer kind of mlp1 is in them
  for (size_t i = 0; i < lp.segments.size() && i < 2; ++i) {
    const Segment& seg = lp.segments[i];
    INFO("segment " << seg.group);
    check_equal(cfg, seg.program, &seg.layer_of, lp.layers.size(), false);
  }
}

TEST_CASE("cycle engine equals fast engine: lowered small MLP on small-16 with values") {
  const TpuConfig cfg = load_config("small-16");
  const char* y = "name: tiny-mlp\npaper: test\nbatch: 20\ninput: {features: 40}\nlayers:\n"
                  "  - {type: fc, out: 24, act: relu}\n  - {type: fc, out: 10, act: sigmoid}\n";
  LowerOptions lo;
  lo.unroll = true;
  const LoweredProgram lp = lower(cfg, parse_workload(y, "tiny-mlp.yaml"), lo);
  REQUIRE(lp.segments.size() == 1);
  check_equal(cfg, lp.segments[0].program, &lp.segments[0].layer_of, lp.layers.size());
}


// Issue 6's agreement campaign: 300 random programs over the whole ISA (shapes that are and are
// not multiples of the array, extreme values), every field compared.
TEST_CASE("cycle engine equals fast engine: 300-program campaign") {
  struct Part { const char* arch; uint64_t programs; };
  uint64_t total = 0;
  for (const Part& part : {Part{"tiny-4", 120}, Part{"tiny-8", 120}, Part{"small-16", 60}}) {
    const TpuConfig cfg = load_config(part.arch);
    for (uint64_t i = 0; i < part.programs; ++i) {
      const uint64_t seed = 90001 + total;
      INFO(part.arch << " seed " << seed);
      GenOptions go;
      go.instructions = 30;
      go.window = i % 3 == 0 ? 48 : 0;
      check_equal(cfg, generate_program(cfg, seed, go));
      ++total;
    }
  }
  CHECK(total == 300);
}

// Issue 6's workload campaign (hidden: run by scripts/agreement_campaign.sh, not by CTest): every
// library workload lowered for small-16 (batch 1, LLM context 128, timing only), each segment run on
// both engines and compared field by field, up to a budget of simulated cycles per segment
// (TPUSIM_AGREEMENT_BUDGET, default 2,000,000: the SystemC twin runs ~10^5 cycles/s at 16x16).
// Prints one line per workload: segments compared, segments over the budget, cycles compared.
TEST_CASE("cycle engine equals fast engine: every library workload on small-16", "[.][agreement]") {
  const TpuConfig cfg = load_config("small-16");
  const char* env = std::getenv("TPUSIM_AGREEMENT_BUDGET");
  const uint64_t budget = env ? std::strtoull(env, nullptr, 10) : 2000000;
  uint64_t compared = 0, over = 0, cycles = 0;
  std::printf("| workload | segments | compared | over budget | cycles compared | status |\n|---|---|---|---|---|---|\n");
  for (const auto& e : list_workloads()) {
    WorkloadParams wp;
    wp.batch = 1;
    if (!load_workload(e.name).phase.empty()) wp.context_len = 128;
    LowerOptions lo;
    lo.values = false;
    LoweredProgram lp;
    try {
      lp = lower(cfg, load_workload(e.name, wp), lo);
    } catch (const InputError& err) {
      std::printf("| %s | - | - | - | - | not lowered: %s |\n", e.name.c_str(), err.what());
      continue;
    }
    uint64_t n_cmp = 0, n_over = 0, cyc = 0;
    for (const Segment& seg : lp.segments) {
      FastOptions fo;
      fo.values = false;
      const uint64_t c = run_fast(cfg, seg.program, fo).counts.cycles;
      if (c > budget) {
        ++n_over;
        continue;
      }
      INFO(e.name << " segment " << seg.group);
      check_equal(cfg, seg.program, &seg.layer_of, lp.layers.size(), false);
      ++n_cmp;
      cyc += c;
    }
    std::printf("| %s | %zu | %llu | %llu | %llu | %s |\n", e.name.c_str(), lp.segments.size(),
                (unsigned long long)n_cmp, (unsigned long long)n_over, (unsigned long long)cyc,
                n_over == 0 ? "all equal" : n_cmp == 0 ? "none within the budget" : "compared segments equal");
    std::fflush(stdout);
    compared += n_cmp;
    over += n_over;
    cycles += cyc;
  }
  std::printf("segments compared: %llu, over budget: %llu, cycles compared: %llu, budget: %llu\n",
              (unsigned long long)compared, (unsigned long long)over, (unsigned long long)cycles,
              (unsigned long long)budget);
  CHECK(compared > 0);
}


}  // namespace tpusim
