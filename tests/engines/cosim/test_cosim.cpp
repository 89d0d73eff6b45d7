// Lockstep co-simulation: the verilated tpu_top (Verilator's SystemC output) and the SystemC twin
// bound to one bench, compared on every port at every edge (sim/engines/cosim/lockstep.h); and the
// RTL engine (Verilator's C++ output) against the fast engine.
#include <catch2/catch.hpp>

#include <algorithm>

#include "models/config.h"
#include "models/errors.h"
#include "sim/engines/cosim/lockstep.h"
#include "sim/engines/fast/fast_engine.h"
#include "sim/engines/functional/functional.h"
#include "sim/engines/rtl/rtl_engine.h"
#include "sim/isa/assembler.h"
#include "sim/isa/program_gen.h"
#include "sim/isa/timing.h"
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

void lockstep(const std::string& preset, const Program& p) {
  const CosimOutcome r = cosim_program(preset, p);
  INFO(r.mismatch);
  REQUIRE(r.match);
  const FunctionalResult f = run_functional(load_config(preset), p);
  REQUIRE(r.host.size() <= f.state.host.size());
  CHECK(std::equal(r.host.begin(), r.host.end(), f.state.host.begin()));
}

void lockstep(uint32_t size, const Program& p) { lockstep(cosim_preset(size), p); }

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

// `count` random programs on `preset`; returns how many mmcs named an MXU other than 0.
uint64_t random_campaign(const std::string& preset, uint64_t count, uint64_t seed0) {
  const TpuConfig cfg = load_config(preset);
  uint64_t off_mxu0 = 0;
  for (uint64_t i = 0; i < count; ++i) {
    GenOptions go;
    go.instructions = 20 + uint32_t(i % 4) * 12;
    go.window = i % 2 ? 64 : 0;
    INFO(preset << " seed " << seed0 + i);
    const Program p = generate_program(cfg, seed0 + i, go);
    for (const Instruction& in : p.code) off_mxu0 += in.op == Opcode::kMatmul && in.d != 0;
    lockstep(preset, p);
  }
  return off_mxu0;
}

void random_campaign(uint32_t size, uint64_t count, uint64_t seed0) {
  random_campaign(cosim_preset(size), count, seed0);
}

// Hand-written assembly for a chip with two or more MXUs: tiles for MXU 1 and MXU 0 in one rw
// stream, mmcs on both, one accumulator space (MXU 0 accumulates onto MXU 1's first rows once the
// per-MXU `sync mxu pending=1` has seen MXU 1's first mmc complete), activation and write-back.
// Each MXU's mmcs in flight keep to accumulator banks of their own (rows 0, 64 and 128 are in
// three banks of 64 rows on tiny-4-x2 and of 32 on tiny-8-x4; sim/isa/ISA.md, accumulator banks).
Program two_mxu_assembly() {
  return assemble(R"(
.name two-mxu
.random host 0 16 seed=1
.random weights 0 3 seed=2
setc shift=40
rw tile=0 n=2 mxu=1
rw tile=2 n=1 mxu=0
rhm host=0 ub=0 n=16
sync host
mmc ub=0 acc=64 b=4 switch mxu=1
mmc ub=4 acc=0 b=4 switch mxu=0
mmc ub=8 acc=128 b=4 switch mxu=1
sync mxu pending=1
mmc ub=12 acc=64 b=4 accumulate mxu=0
sync mxu
act acc=0 ub=16 n=4 fn=relu
act acc=64 ub=20 n=4 fn=relu
act acc=128 ub=24 n=4 fn=relu
sync act
whm host=16 ub=16 n=12
halt
)",
                  "two-mxu.s");
}

// The rtl engine (Verilator's C++ model) against the fast engine: every instruction's issue and
// done cycle, every counter, and the memories and setc registers at the end.
void check_rtl_equals_fast(const TpuConfig& cfg, const Program& p) {
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

TEST_CASE("lockstep: directed programs on tiny-4-x2 and tiny-8-x4 (several MXUs and shift ports)") {
  uint64_t programs = 0;
  for (const char* preset : {"tiny-4-x2", "tiny-8-x4"}) {
    const TpuConfig cfg = load_config(preset);
    REQUIRE(cfg.mxus > 1);
    std::vector<Program> progs = directed(cfg);  // the one-MXU programs run on MXU 0
    progs.push_back(two_mxu_assembly());
    progs.push_back(rtl_test::multi_mxu_program(cfg, cfg.array.rows + 3, 5));
    for (uint32_t m = 0; m < cfg.mxus; ++m)
      for (uint32_t b : {1u, 3u})
        progs.push_back(rtl_test::shift_stream_program(m, cfg.weight_fifo_tiles, b, 9 + m));
    for (size_t i = 0; i < progs.size(); ++i) {
      INFO(preset << " directed program " << i << " " << progs[i].name);
      lockstep(preset, progs[i]);
      ++programs;
    }
  }
  CHECK(programs > 40);
}

TEST_CASE("lockstep: shift ports let tiles enter faster than one per Rows cycles") {
  // tiny-8-x4: two shift ports. K single-row `mmc switch` on one MXU after its K tiles arrived:
  // the RTL (in lockstep with the twin) issues them where the fast engine does, and tiles 1 ..
  // K-1 enter in fewer than (K - 2) x Rows cycles; on tiny-8 (one port) in exactly that.
  for (const char* preset : {"tiny-8-x4", "tiny-8"}) {
    const TpuConfig cfg = load_config(preset);
    const uint32_t K = cfg.weight_fifo_tiles, m = cfg.mxus - 1;
    const Program p = rtl_test::shift_stream_program(m, K, 1, 3);
    lockstep(preset, p);
    const EngineResult r = run_rtl(cfg, p);
    const EngineResult f = run_fast(cfg, p);
    REQUIRE(r.timeline.size() == f.timeline.size());
    std::vector<uint64_t> sw;
    for (size_t pc = 0; pc < p.code.size(); ++pc) {
      INFO(preset << " pc " << pc);
      CHECK(r.timeline[pc] == f.timeline[pc]);
      if (p.code[pc].op == Opcode::kMatmul) sw.push_back(r.timeline[pc].issue);
    }
    CHECK(r.counts == f.counts);
    REQUIRE(sw.size() == K);
    REQUIRE(K >= 3);
    // tile 0 shifted long before its switch; from tile 1 on, one port feeds one tile per S
    // cycles and two ports feed two
    const uint64_t S = timing::weight_shift_cycles(cfg);
    INFO(preset << ": second switch " << sw[1] << ", last " << sw.back());
    if (timing::weight_shift_ports(cfg) > 1)
      CHECK(sw.back() - sw[1] < uint64_t(K - 2) * S);
    else
      CHECK(sw.back() - sw[1] == uint64_t(K - 2) * S);
  }
}

TEST_CASE("lockstep: 60 random programs on tiny-4-x2") {
  CHECK(random_campaign("tiny-4-x2", 60, 5000) > 0);
}
TEST_CASE("lockstep: 40 random programs on tiny-8-x4") {
  CHECK(random_campaign("tiny-8-x4", 40, 6000) > 0);
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
  for (const char* arch : {"tiny-4", "tiny-8", "small-16", "tiny-4-x2", "tiny-8-x4"}) {
    const TpuConfig cfg = load_config(arch);
    for (uint64_t seed = 1; seed <= 4; ++seed) {
      INFO(arch << " seed " << seed);
      GenOptions go;
      go.instructions = 40;
      go.window = 64;
      const Program p = generate_program(cfg, seed * 17, go);
      check_rtl_equals_fast(cfg, p);
    }
  }
}

TEST_CASE("rtl engine equals fast engine on directed programs of several MXUs") {
  for (const char* arch : {"tiny-4-x2", "tiny-8-x4"}) {
    const TpuConfig cfg = load_config(arch);
    std::vector<Program> progs = {two_mxu_assembly(),
                                  rtl_test::multi_mxu_program(cfg, cfg.array.rows + 1, 3),
                                  rtl_test::shift_stream_program(1, cfg.weight_fifo_tiles, 2, 4)};
    for (const Program& p : progs) {
      INFO(arch << " " << p.name);
      check_rtl_equals_fast(cfg, p);
    }
  }
}

TEST_CASE("cosim: presets by name and the sizes of the one-MXU presets") {
  const std::vector<std::string> presets = cosim_presets();
  for (const char* p : {"tiny-4", "tiny-8", "small-16", "small-32", "tiny-4-x2", "tiny-8-x4"})
    CHECK(std::find(presets.begin(), presets.end(), p) != presets.end());
  CHECK(cosim_preset(4) == "tiny-4");  // not tiny-4-x2
  CHECK(cosim_preset(8) == "tiny-8");
  CHECK(cosim_sizes() == std::vector<uint32_t>{4, 8, 16, 32});
  CHECK_THROWS_AS(cosim_program("tiny-5", program({rtl_test::make_instruction(Opcode::kNop)})),
                  InputError);
  // the campaign by preset: the generator's programs on both multi-MXU presets
  uint64_t told = 0;
  CHECK(cosim_campaign(std::vector<std::string>{"tiny-4-x2", "tiny-8-x4"}, 4, 77,
                       [&](const std::string&, uint64_t, const std::string&) { ++told; }) == 0);
  CHECK(told == 0);
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
