// Lockstep co-simulation: the verilated tpu_top (Verilator's SystemC output) and the SystemC twin
// bound to one bench, compared on every port at every edge (sim/engines/cosim/lockstep.h); and the
// RTL engine (Verilator's C++ output) against the fast engine.
#include <catch2/catch.hpp>

#include "models/config.h"
#include "models/errors.h"
#include "sim/engines/cosim/lockstep.h"
#include "sim/engines/fast/fast_engine.h"
#include "sim/engines/functional/functional.h"
#include "sim/engines/rtl/rtl_engine.h"
#include "sim/isa/program_gen.h"
#include "tests/engines/programs.h"

namespace tpusim {
namespace {

Program program(std::vector<Instruction> code) {
  Program p;
  p.name = "directed";
  p.code = std::move(code);
  p.code.push_back(rtl_test::make_instruction(Opcode::kHalt));
  return p;
}

void lockstep(uint32_t size, const Program& p) {
  const CosimOutcome r = cosim_program(size, p);
  INFO(r.mismatch);
  REQUIRE(r.match);
  const FunctionalResult f = run_functional(load_config(cosim_preset(size)), p);
  REQUIRE(r.host.size() <= f.state.host.size());
  CHECK(std::equal(r.host.begin(), r.host.end(), f.state.host.begin()));
}

// The directed programs of tests/engines/rtl (every timing rule at T-1 and T, the full data path).
std::vector<Program> directed(const TpuConfig& cfg) {
  std::vector<Program> v;
  const uint32_t F = cfg.weight_fifo_tiles, R = cfg.array.rows, C = cfg.array.cols;
  v.push_back(
      program({rtl_test::make_instruction(Opcode::kNop), rtl_test::make_instruction(Opcode::kNop),
               rtl_test::make_instruction(Opcode::kNop)}));
  for (uint32_t n : {1u, 7u, 16u})
    v.push_back(program({rtl_test::make_instruction(Opcode::kReadHost, 0, 0, n),
                         rtl_test::make_instruction(Opcode::kWriteHost, 32, 0, n),
                         rtl_test::make_instruction(Opcode::kSync, 0, 0, 0, kUnitHost)}));
  v.push_back(program({rtl_test::make_instruction(Opcode::kReadWeights, 0, 0, 1),
                       rtl_test::make_instruction(Opcode::kReadWeights, 1, 0, 1),
                       rtl_test::make_instruction(Opcode::kSync, 0, 0, 0, kUnitWeights)}));
  v.push_back(program({rtl_test::make_instruction(Opcode::kReadWeights, 0, 0, 1),
                       rtl_test::make_instruction(Opcode::kMatmul, 0, 0, 1, kFlagSwitch)}));
  v.push_back(program({rtl_test::make_instruction(Opcode::kReadWeights, 0, 0, 2),
                       rtl_test::make_instruction(Opcode::kSync, 0, 0, 0, kUnitWeights),
                       rtl_test::make_instruction(Opcode::kMatmul, 0, 0, 1, kFlagSwitch),
                       rtl_test::make_instruction(Opcode::kMatmul, 0, 1, 1, kFlagSwitch)}));
  v.push_back(program({rtl_test::make_instruction(Opcode::kReadWeights, 0, 0, F + 2),
                       rtl_test::make_instruction(Opcode::kReadHost, 0, 0, 64),
                       rtl_test::make_instruction(Opcode::kSync, 0, 0, 0, kUnitHost),
                       rtl_test::make_instruction(Opcode::kMatmul, 0, 0, 1, kFlagSwitch),
                       rtl_test::make_instruction(Opcode::kSync, 0, 0, 0, kUnitWeights)}));
  v.push_back(program({rtl_test::make_instruction(Opcode::kMatmul, 0, 0, 5),
                       rtl_test::make_instruction(Opcode::kMatmul, 5, 5, 3),
                       rtl_test::make_instruction(Opcode::kSync, 0, 0, 0, kUnitMxu)}));
  for (uint32_t n : {1u, 8u})
    v.push_back(program({rtl_test::make_instruction(Opcode::kActivate, 0, 0, n, 1),
                         rtl_test::make_instruction(Opcode::kSync, 0, 0, 0, kUnitAct)}));
  struct Case {
    uint32_t m, k, n;
    uint8_t fn, pool, log2;
  };
  const Case cases[] = {{1, R, C, 0, 0, 0},
                        {9, R, C, 0, 0, 0},
                        {2 * R, 2 * R, 2 * C, 1, 0, 0},
                        {R + 3, R + 1, C - 1, 2, 1, 1},
                        {4, R, C, 3, 2, 2}};
  uint64_t seed = 7;
  for (const Case& cs : cases) {
    rtl_test::GemmSpec sp;
    sp.m = cs.m - cs.m % (1u << cs.log2);
    sp.k = cs.k;
    sp.n = cs.n;
    sp.function = cs.fn;
    sp.pool = cs.pool;
    sp.pool_log2 = cs.log2;
    sp.mult = 1 << 14;
    sp.shift = 16;
    sp.seed = ++seed;
    v.push_back(rtl_test::gemm_program(cfg, sp).prog);
  }
  return v;
}

void random_campaign(uint32_t size, uint64_t count, uint64_t seed0) {
  const TpuConfig cfg = load_config(cosim_preset(size));
  for (uint64_t i = 0; i < count; ++i) {
    GenOptions go;
    go.instructions = 20 + uint32_t(i % 4) * 12;
    go.window = i % 2 ? 64 : 0;
    INFO("size " << size << " seed " << seed0 + i);
    lockstep(size, generate_program(cfg, seed0 + i, go));
  }
}

}  // namespace

TEST_CASE("lockstep: directed programs on 4x4 8x8 and 16x16") {
  for (uint32_t size : {4u, 8u, 16u}) {
    const TpuConfig cfg = load_config(cosim_preset(size));
    const auto progs = directed(cfg);
    for (size_t i = 0; i < progs.size(); ++i) {
      INFO("size " << size << " directed program " << i);
      lockstep(size, progs[i]);
    }
  }
}

TEST_CASE("lockstep: 140 random programs on 4x4") { random_campaign(4, 140, 1000); }
TEST_CASE("lockstep: 130 random programs on 8x8") { random_campaign(8, 130, 2000); }
TEST_CASE("lockstep: 40 random programs on 16x16") { random_campaign(16, 40, 3000); }

TEST_CASE("lockstep: one random program on 32x32") {
  const TpuConfig cfg = load_config("small-32");
  GenOptions go;
  go.instructions = 40;
  lockstep(32, generate_program(cfg, 4242, go));
}

TEST_CASE("lockstep: the bench reports a difference with cycle signal and both values") {
  Program p = program({rtl_test::make_instruction(Opcode::kReadHost, 0, 0, 1),
                       rtl_test::make_instruction(Opcode::kSync, 0, 0, 0, kUnitHost)});
  p.host_init[0] = std::vector<int8_t>(4, 3);
  const CosimOutcome ok = cosim_program(4, p);
  CHECK(ok.match);
  CHECK(ok.cycles > 0);
  // one flipped bit in the twin's host memory: caught on the back-door read port
  const CosimOutcome bad = cosim_program(4, p, "", true);
  CHECK_FALSE(bad.match);
  INFO(bad.mismatch);
  CHECK(bad.mismatch.find("bd_host_rdata_o: rtl=0x3030303 systemc=0x3030302") != std::string::npos);
  CHECK(bad.mismatch.find("cycle ") == 0);
  INFO(bad.mismatch);
  CHECK_THROWS_AS(cosim_program(12, program({rtl_test::make_instruction(Opcode::kNop)})),
                  InputError);
}

TEST_CASE("rtl engine equals fast engine on random programs") {
  for (const char* arch : {"tiny-4", "tiny-8", "small-16"}) {
    const TpuConfig cfg = load_config(arch);
    for (uint64_t seed = 1; seed <= 4; ++seed) {
      INFO(arch << " seed " << seed);
      GenOptions go;
      go.instructions = 40;
      go.window = 64;
      const Program p = generate_program(cfg, seed * 17, go);
      const EngineResult f = run_fast(cfg, p);
      const EngineResult r = run_rtl(cfg, p);
      REQUIRE(r.timeline.size() == f.timeline.size());
      for (size_t pc = 0; pc < f.timeline.size(); ++pc) {
        INFO("pc " << pc);
        CHECK(r.timeline[pc] == f.timeline[pc]);
      }
      CHECK(r.counts == f.counts);
      CHECK(r.values.state.host == f.values.state.host);
      CHECK(r.values.state.ub == f.values.state.ub);
      CHECK(r.values.state.acc == f.values.state.acc);
      CHECK(r.values.state.mult == f.values.state.mult);
    }
  }
}

TEST_CASE("rtl engine names the sizes that exist for another arch") {
  const TpuConfig cfg = load_config("tpu-v1");
  try {
    run_rtl(cfg, program({rtl_test::make_instruction(Opcode::kNop)}));
    FAIL("no InputError");
  } catch (const InputError& e) {
    const std::string msg = e.what();
    CHECK(msg.find("tiny-4") != std::string::npos);
    CHECK(msg.find("small-32") != std::string::npos);
  }
}

}  // namespace tpusim
