// RTL test bench (one executable per preset, see CMakeLists.txt): the verilated tpu_top against
// the functional executor (bit-exact host memory), the reference numerics, and the timing rules
// of sim/isa/ISA.md through the named functions of sim/isa/timing.h (never literal cycle counts).
#include <catch2/catch.hpp>

#include <algorithm>
#include <random>

#include TPUSIM_RTL_HEADER

#include "models/config.h"
#include "sim/engines/fast/fast_engine.h"
#include "sim/engines/functional/functional.h"
#include "sim/isa/numerics.h"
#include "sim/isa/program_gen.h"
#include "sim/isa/races.h"
#include "sim/isa/timing.h"
#include "sim/isa/tpu_top_params.h"
#include "tests/engines/programs.h"
#include "tests/engines/rtl/chain_programs.h"
#include "tests/engines/rtl/interlock_programs.h"
#include "tests/engines/rtl/rtl_harness.h"

namespace tpusim::rtl_test {
namespace {

namespace t = tpusim::timing;
using Harness = RtlHarness<TPUSIM_RTL_MODEL>;

const TpuConfig& cfg() {
  static const TpuConfig c = load_config(TPUSIM_RTL_PRESET);
  return c;
}

Program program(std::vector<Instruction> code) {
  Program p;
  p.name = "directed";
  p.code = std::move(code);
  p.code.push_back(make_instruction(Opcode::kHalt));
  return p;
}

// Counters partition the cycles; subsets stay inside non_matrix.
void check_partition(const RtlResult& r) {
  const Counters& c = r.counters;
  CHECK(c.array_active + c.weight_stall + c.weight_shift + c.non_matrix == r.total_cycles);
  CHECK(c.raw_stall + c.input_stall <= c.non_matrix);
}

// Every issue cycle, the total and all six counters equal the fast engine's (the instruction-level
// implementation of sim/isa/ISA.md that every engine must agree with).
void check_timing(const Program& p, const RtlResult& r) {
  EngineOptions opt;
  opt.values = false;
  const EngineResult ref = run_fast(cfg(), p, opt);
  REQUIRE(r.issue_cycle.size() == ref.timeline.size());
  for (size_t pc = 0; pc < ref.timeline.size(); ++pc) {
    INFO("pc " << pc << " " << mnemonic(p.code[pc].op));
    CHECK(r.issue_cycle[pc] == ref.timeline[pc].issue);
  }
  CHECK(r.total_cycles == ref.counts.cycles);
  const EventCounts& n = ref.counts;
  const Counters expect{n.array_active_cycles, n.weight_stall_cycles, n.weight_shift_cycles,
                        n.non_matrix_cycles,   n.raw_stall_cycles,    n.input_stall_cycles};
  INFO("rtl " << to_string(r.counters) << " / fast engine " << to_string(expect));
  CHECK(r.counters == expect);
  check_partition(r);
}

// Host memory equals the functional executor's, byte for byte.
void check_values(const Program& p, const RtlResult& r) {
  const FunctionalResult f = run_functional(cfg(), p);
  REQUIRE(r.host.size() <= f.state.host.size());
  CHECK(std::equal(r.host.begin(), r.host.end(), f.state.host.begin()));
  CHECK_FALSE(r.error);
}

// The counter of `field` advanced during cycle c (trace[c+1] - trace[c]).
template <typename Field>
uint64_t delta(const RtlResult& r, uint64_t c, Field field) {
  return r.trace.at(c + 1).*field - r.trace.at(c).*field;
}

}  // namespace

TEST_CASE("the model was verilated with the parameters of the preset as loaded now") {
  // rtl/CMakeLists.txt verilated it with the same map at configure time (sim/isa/tpu_top_params.h).
  CHECK(verilator_parameter_args(
            tpu_top_params(cfg(), TPUSIM_RTL_HOST_VECTORS, TPUSIM_RTL_IMEM_DEPTH)) ==
        std::string(TPUSIM_RTL_PARAMS));
}

TEST_CASE("front end: first issue at front_end_cycles, then one per cycle") {
  const Program p = program({make_instruction(Opcode::kNop), make_instruction(Opcode::kNop),
                             make_instruction(Opcode::kNop)});
  const RtlResult r = Harness(cfg()).run(p);
  for (size_t pc = 0; pc < p.code.size(); ++pc)
    CHECK(r.issue_cycle[pc] == t::front_end_cycles() + pc);
  CHECK(r.total_cycles == t::front_end_cycles() + p.code.size());
  CHECK(r.counters.non_matrix == r.total_cycles);
  check_timing(p, r);
}

TEST_CASE("directed: host DMA busy time is host_transfer_cycles (T-1 held, T issued)") {
  const uint64_t W = cfg().vector_bytes();
  for (uint32_t n : {1u, 2u, 7u, 16u}) {
    INFO("n = " << n);
    // rhm; whm (same link, waits); sync host
    const Program p = program({make_instruction(Opcode::kReadHost, 0, 0, n),
                               make_instruction(Opcode::kWriteHost, 32, 0, n),
                               make_instruction(Opcode::kSync, 0, 0, 0, kUnitHost)});
    const RtlResult r = Harness(cfg()).run(p, true);
    const uint64_t t0 = t::front_end_cycles();
    const uint64_t D = t::host_transfer_cycles(cfg(), n * W);
    CHECK(r.issue_cycle[0] == t0);
    CHECK(r.issue_cycle[1] == t0 + D);
    CHECK(r.issue_cycle[2] == t0 + 2 * D);
    // T-1: the whm is held by the busy link (input stall); T: it issues.
    CHECK(delta(r, t0 + D - 1, &Counters::input_stall) == 1);
    CHECK(delta(r, t0 + D, &Counters::input_stall) == 0);
    CHECK(delta(r, t0 + 2 * D - 1, &Counters::raw_stall) == 1);
    CHECK(r.counters.input_stall == D - 1);
    CHECK(r.counters.raw_stall == D - 1);
    check_timing(p, r);
    check_values(p, r);
  }
}

TEST_CASE(
    "directed: weight DMA occupies the link weight_tile_transfer_cycles, arrives after latency") {
  const uint64_t Tx = t::weight_tile_transfer_cycles(cfg());
  const uint64_t Lw = t::weight_memory_latency_cycles(cfg());
  const uint64_t t0 = t::front_end_cycles();
  // rw 1 tile; rw 1 tile (waits for the link); sync weights (waits for the second arrival)
  Program p = program({make_instruction(Opcode::kReadWeights, 0, 0, 1),
                       make_instruction(Opcode::kReadWeights, 1, 0, 1),
                       make_instruction(Opcode::kSync, 0, 0, 0, kUnitWeights)});
  p.weight_init[0] = std::vector<int8_t>(cfg().tile_bytes(), 1);
  const RtlResult r = Harness(cfg()).run(p, true);
  CHECK(r.issue_cycle[1] == t0 + Tx);
  CHECK(r.issue_cycle[2] == t0 + 2 * Tx + Lw);
  CHECK(delta(r, t0 + 2 * Tx + Lw - 1, &Counters::raw_stall) == 1);
  CHECK(delta(r, t0 + 2 * Tx + Lw, &Counters::raw_stall) == 0);
  check_timing(p, r);
}

TEST_CASE("directed: weight stall until arrival, then weight_shift_to_switch_cycles of shift") {
  const uint64_t Tx = t::weight_tile_transfer_cycles(cfg());
  const uint64_t Lw = t::weight_memory_latency_cycles(cfg());
  const uint64_t S = t::weight_shift_to_switch_cycles(cfg());
  const uint64_t t0 = t::front_end_cycles();
  const Program p = program({make_instruction(Opcode::kReadWeights, 0, 0, 1),
                             make_instruction(Opcode::kMatmul, 0, 0, 1, kFlagSwitch)});
  const RtlResult r = Harness(cfg()).run(p, true);
  const uint64_t a0 = t0 + Tx + Lw;
  CHECK(r.issue_cycle[1] == a0 + S);
  CHECK(delta(r, a0 - 1, &Counters::weight_stall) == 1);  // T-1 of the arrival: stall
  CHECK(delta(r, a0, &Counters::weight_shift) == 1);      // T: shift
  CHECK(delta(r, a0 + S - 1, &Counters::weight_shift) == 1);
  CHECK(delta(r, a0 + S, &Counters::array_active) == 1);
  CHECK(r.counters.weight_stall == a0 - (t0 + 1));
  CHECK(r.counters.weight_shift == S);
  check_timing(p, r);
}

TEST_CASE("directed: the next shift starts when the sequencer is free and the switch issued") {
  const uint64_t G = t::weight_switch_to_shift_cycles();
  const uint64_t L = t::weight_shift_to_switch_cycles(cfg());
  const uint64_t S = t::weight_shift_cycles(cfg());
  // Both tiles arrive before the first switch; tile 0's shift started at its arrival, tile 1's
  // waits for tile 0's switch (sw0 + G) and, with one shift port, for the sequencer to feed tile
  // 0's last row (s0 + S; with two or more ports tile 1 has a port of its own).
  const uint64_t P = t::weight_shift_ports(cfg());
  const Program p = program({make_instruction(Opcode::kReadWeights, 0, 0, 2),
                             make_instruction(Opcode::kSync, 0, 0, 0, kUnitWeights),
                             make_instruction(Opcode::kMatmul, 0, 0, 1, kFlagSwitch),
                             make_instruction(Opcode::kMatmul, 0, 1, 1, kFlagSwitch)});
  const RtlResult r = Harness(cfg()).run(p, true);
  const uint64_t Tx = t::weight_tile_transfer_cycles(cfg());
  const uint64_t Lw = t::weight_memory_latency_cycles(cfg());
  const uint64_t sw0 = r.issue_cycle[2];
  const uint64_t s0 = t::front_end_cycles() + Tx + Lw, a1 = s0 + Tx;
  CHECK(sw0 == r.issue_cycle[1] + 1);
  const uint64_t sw1 = std::max(std::max({a1, P > 1 ? 0 : s0 + S, sw0 + G}) + L, sw0 + 1);
  CHECK(r.issue_cycle[3] == sw1);
  CHECK(delta(r, sw1 - 1, &Counters::weight_shift) == 1);
  CHECK(delta(r, sw1, &Counters::array_active) == 1);
  check_timing(p, r);
}

TEST_CASE("directed: a FIFO slot frees when the last column has read the tile") {
  const uint32_t F = cfg().weight_fifo_tiles;
  // F + 2 tiles: tile F+1 needs the slot of tile 1, whose shift waits for the first switch,
  // which a long host transfer delays.
  const Program p = program({make_instruction(Opcode::kReadWeights, 0, 0, F + 2),
                             make_instruction(Opcode::kReadHost, 0, 0, 64),
                             make_instruction(Opcode::kSync, 0, 0, 0, kUnitHost),
                             make_instruction(Opcode::kMatmul, 0, 0, 1, kFlagSwitch),
                             make_instruction(Opcode::kSync, 0, 0, 0, kUnitWeights)});
  const RtlResult r = Harness(cfg()).run(p);
  const uint64_t Tx = t::weight_tile_transfer_cycles(cfg());
  const uint64_t Lw = t::weight_memory_latency_cycles(cfg());
  const uint64_t S = t::weight_shift_cycles(cfg()), G = t::weight_switch_to_shift_cycles();
  const uint64_t Dr = t::weight_slot_drain_cycles(cfg());
  const uint64_t sw0 = r.issue_cycle[3];
  const uint64_t s0 = t::front_end_cycles() + Tx + Lw;
  const uint64_t a1 = s0 + Tx;
  const uint64_t P = t::weight_shift_ports(cfg());
  const uint64_t s1 = std::max({a1, sw0 + G, P > 1 ? 0 : s0 + S});  // port k mod P free
  const uint64_t r_last = std::max(t::front_end_cycles() + (F + 1) * Tx, s1 + Dr);
  CHECK(r.issue_cycle[4] == r_last + Tx + Lw);
  check_timing(p, r);
}

TEST_CASE("directed: mmc results land mxu_latency_cycles after injection (fill and drain)") {
  const uint64_t L = t::mxu_latency_cycles(cfg());
  for (uint32_t B : {1u, 3u, 9u}) {
    INFO("B = " << B);
    GemmSpec sp;
    sp.m = B;
    sp.k = cfg().array.rows;
    sp.n = cfg().array.cols;
    sp.seed = B;
    GemmProgram g = gemm_program(cfg(), sp);
    const RtlResult r = Harness(cfg()).run(g.prog, true);
    // find the mmc and the sync mxu behind it
    size_t mmc = 0;
    while (g.prog.code[mmc].op != Opcode::kMatmul) ++mmc;
    const size_t sync = mmc + 1;
    REQUIRE(g.prog.code[sync].op == Opcode::kSync);
    const uint64_t tm = r.issue_cycle[mmc];
    CHECK(r.issue_cycle[sync] == tm + B + L);
    CHECK(delta(r, tm + B - 1, &Counters::array_active) == 1);  // last row injected
    CHECK(delta(r, tm + B, &Counters::array_active) == 0);
    CHECK(delta(r, tm + B + L - 1, &Counters::raw_stall) == 1);  // T-1: still draining
    check_timing(g.prog, r);
    check_values(g.prog, r);
    CHECK(std::equal(g.expected.begin(), g.expected.end(),
                     r.host.begin() + g.out_host * cfg().vector_bytes()));
  }
}

TEST_CASE("directed: back-to-back mmc inject without a bubble") {
  const Program p = program({make_instruction(Opcode::kMatmul, 0, 0, 5),
                             make_instruction(Opcode::kMatmul, 5, 5, 3),
                             make_instruction(Opcode::kSync, 0, 0, 0, kUnitMxu)});
  const RtlResult r = Harness(cfg()).run(p);
  CHECK(r.issue_cycle[1] == r.issue_cycle[0] + 5);
  CHECK(r.issue_cycle[2] == r.issue_cycle[1] + 3 + t::mxu_latency_cycles(cfg()));
  CHECK(r.counters.array_active == 8);
  check_timing(p, r);
}

TEST_CASE("directed: sync pending=N waits for all but the unit's last N instructions") {
  const uint64_t L = t::mxu_latency_cycles(cfg());
  // mmc (5 rows); mmc (3 rows); sync mxu pending=1: waits for the first mmc only
  const Program p = program({make_instruction(Opcode::kMatmul, 0, 0, 5),
                             make_instruction(Opcode::kMatmul, 5, 5, 3),
                             make_instruction(Opcode::kSync, 0, 0, 0, kUnitMxu, 1),
                             make_instruction(Opcode::kSync, 0, 0, 0, kUnitMxu, 0)});
  const RtlResult r = Harness(cfg()).run(p, true);
  const uint64_t first_done = r.issue_cycle[0] + 5 + L;
  CHECK(r.issue_cycle[2] == first_done);
  CHECK(delta(r, first_done - 1, &Counters::raw_stall) == 1);
  CHECK(r.issue_cycle[3] == r.issue_cycle[1] + 3 + L);
  check_timing(p, r);
  // pending=2 with two mmcs in flight: no wait
  const Program q = program({make_instruction(Opcode::kMatmul, 0, 0, 5),
                             make_instruction(Opcode::kMatmul, 5, 5, 3),
                             make_instruction(Opcode::kSync, 0, 0, 0, kUnitMxu | kUnitAct, 2)});
  const RtlResult rq = Harness(cfg()).run(q);
  CHECK(rq.issue_cycle[2] == rq.issue_cycle[1] + 1);
  check_timing(q, rq);
  // weights: rw 1 tile; rw 1 tile; sync weights pending=1 waits for the first tile only
  const uint64_t Tx = t::weight_tile_transfer_cycles(cfg());
  const uint64_t Lw = t::weight_memory_latency_cycles(cfg());
  const uint64_t t0 = t::front_end_cycles();
  const Program w = program({make_instruction(Opcode::kReadWeights, 0, 0, 1),
                             make_instruction(Opcode::kReadWeights, 1, 0, 1),
                             make_instruction(Opcode::kSync, 0, 0, 0, kUnitWeights, 1),
                             make_instruction(Opcode::kSync, 0, 0, 0, kUnitWeights, 0)});
  const RtlResult rw = Harness(cfg()).run(w, true);
  CHECK(rw.issue_cycle[2] == std::max(t0 + Tx + Lw, rw.issue_cycle[1] + 1));
  CHECK(rw.issue_cycle[3] == t0 + 2 * Tx + Lw);
  check_timing(w, rw);
}

TEST_CASE("directed: activation busy n + act_pipeline_cycles") {
  for (uint32_t n : {1u, 4u, 8u}) {
    const Program p = program({make_instruction(Opcode::kActivate, 0, 0, n, 1),
                               make_instruction(Opcode::kSync, 0, 0, 0, kUnitAct)});
    const RtlResult r = Harness(cfg()).run(p, true);
    const uint64_t T = r.issue_cycle[0] + n + t::act_pipeline_cycles();
    CHECK(r.issue_cycle[1] == T);
    CHECK(delta(r, T - 1, &Counters::raw_stall) == 1);
    check_timing(p, r);
  }
}

TEST_CASE(
    "directed: a 2-D pooling act is busy M x kh x kw + act_pipeline_cycles, pads fed "
    "neutral") {
  // Random host rows through random weights into the accumulators, then 2-D pools whose windows
  // hang over every border; the UB written back and compared with the functional executor.
  struct Case {
    uint32_t H, W, kh, kw, sh, sw, pt, pl, pb, pr, pool;
  };
  for (const Case& cs :
       {Case{5, 6, 3, 3, 2, 2, 1, 1, 1, 1, 1}, Case{4, 4, 2, 2, 2, 2, 0, 0, 0, 0, 2},
        Case{3, 7, 3, 2, 1, 3, 2, 1, 0, 1, 2}, Case{6, 1, 4, 1, 2, 1, 3, 0, 2, 0, 1}}) {
    const uint32_t n = cs.H * cs.W;
    const uint32_t OH = (cs.H + cs.pt + cs.pb - cs.kh) / cs.sh + 1,
                   OW = (cs.W + cs.pl + cs.pr - cs.kw) / cs.sw + 1, M = OH * OW;
    Program p = program(
        {make_instruction(Opcode::kReadWeights, 0, 0, 1),
         make_instruction(Opcode::kReadHost, 0, 0, n),
         make_instruction(Opcode::kSync, 0, 0, 0, kUnitHost),
         make_instruction(Opcode::kMatmul, 0, 0, n, kFlagSwitch),
         make_instruction(Opcode::kSync, 0, 0, 0, kUnitMxu),
         make_instruction(Opcode::kSetConfig, 1, 8),  // shift 8 (mult 2^30 >> 8): saturating
         make_instruction(Opcode::kSetConfig, 3, cs.W | cs.H << 16),
         make_instruction(Opcode::kSetConfig, 4, cs.kh | cs.kw << 8 | cs.sh << 16 | cs.sw << 24),
         make_instruction(Opcode::kSetConfig, 5, cs.pt | cs.pl << 8 | cs.pb << 16 | cs.pr << 24),
         make_instruction(Opcode::kSetConfig, 6, numerics::pool_recip_for(cs.kh * cs.kw)),
         make_instruction(Opcode::kActivate, 0, 64, n, uint8_t(1 | cs.pool << 2 | kFlagPool2d),
                          uint16_t(M)),
         make_instruction(Opcode::kSync, 0, 0, 0, kUnitAct),
         make_instruction(Opcode::kWriteHost, 100, 64, M),
         make_instruction(Opcode::kSync, 0, 0, 0, kUnitHost)});
    p.random_init.push_back({false, 0, n, 11});
    p.random_init.push_back({true, 0, 1, 12});
    INFO("H W " << cs.H << " " << cs.W << " window " << cs.kh << "x" << cs.kw << " pool "
                << cs.pool);
    const RtlResult r = Harness(cfg()).run(p, true);
    CHECK(r.issue_cycle[11] ==
          r.issue_cycle[10] + uint64_t(M) * cs.kh * cs.kw + t::act_pipeline_cycles());
    check_values(p, r);
    check_timing(p, r);
  }
}

TEST_CASE("end-to-end: host in, weights in, matmul, activate, host out") {
  const uint32_t R = cfg().array.rows, C = cfg().array.cols;
  struct Case {
    uint32_t m, k, n;
    uint8_t fn, pool, log2;
  };
  const Case cases[] = {{2 * R, 2 * R, 2 * C, 1, 0, 0},  // relu, 2x2 tiles
                        {R + 3, R + 1, C - 1, 2, 1, 1},  // sigmoid, max pool 2, ragged
                        {4, R, C, 3, 2, 2}};             // tanh, average pool 4
  uint64_t seed = 7;
  for (const Case& cs : cases) {
    GemmSpec sp;
    sp.m = cs.m - cs.m % (1u << cs.log2);
    sp.k = cs.k;
    sp.n = cs.n;
    sp.function = cs.fn;
    sp.pool = cs.pool;
    sp.pool_log2 = cs.log2;
    sp.mult = 1 << 14;
    sp.shift = 16;
    sp.seed = ++seed;
    INFO("m k n fn pool = " << sp.m << " " << sp.k << " " << sp.n << " " << int(sp.function) << " "
                            << int(sp.pool));
    GemmProgram g = gemm_program(cfg(), sp);
    const RtlResult r = Harness(cfg()).run(g.prog);
    check_values(g.prog, r);
    CHECK(std::equal(g.expected.begin(), g.expected.end(),
                     r.host.begin() + g.out_host * cfg().vector_bytes()));
    check_timing(g.prog, r);
    CHECK(r.counters.array_active > 0);
  }
}

TEST_CASE("timing does not depend on data values") {
  GemmSpec sp;
  sp.m = 5;
  sp.k = cfg().array.rows + 2;
  sp.n = cfg().array.cols;
  sp.seed = 1;
  const GemmProgram a = gemm_program(cfg(), sp);
  sp.seed = 2;
  GemmProgram b = gemm_program(cfg(), sp);
  for (auto& [addr, bytes] : b.prog.weight_init) std::fill(bytes.begin(), bytes.end(), 0);
  const RtlResult ra = Harness(cfg()).run(a.prog), rb = Harness(cfg()).run(b.prog);
  CHECK(ra.issue_cycle == rb.issue_cycle);
  CHECK(ra.counters == rb.counters);
  CHECK(ra.host != rb.host);
}

TEST_CASE("directed: prefetched tiles shift on ports k mod P, one Rows-cycle port each") {
  // rw n=K into the last MXU's FIFO, sync weights (every tile arrived), then K single-row
  // `mmc switch` on that MXU in a row: s_k = max(a_k, sw_{k-1} + G, s_{k-P} + S) and
  // sw_k = max(s_k + L, sw_{k-1} + 1) (sim/isa/ISA.md, "Weight path", "Shift ports").
  const uint32_t F = cfg().weight_fifo_tiles, K = F, m = cfg().mxus - 1;
  const uint64_t P = t::weight_shift_ports(cfg()), S = t::weight_shift_cycles(cfg());
  const uint64_t G = t::weight_switch_to_shift_cycles(),
                 L = t::weight_shift_to_switch_cycles(cfg());
  const uint64_t Tx = t::weight_tile_transfer_cycles(cfg());
  const uint64_t Lw = t::weight_memory_latency_cycles(cfg());
  std::vector<Instruction> code = {make_instruction(Opcode::kReadWeights, 0, 0, K, 0, uint16_t(m)),
                                   make_instruction(Opcode::kSync, 0, 0, 0, kUnitWeights)};
  for (uint32_t k = 0; k < K; ++k)
    code.push_back(make_instruction(Opcode::kMatmul, k, k, 1, kFlagSwitch, uint16_t(m)));
  code.push_back(make_instruction(Opcode::kSync, 0, 0, 0, kUnitMxu));
  Program p = program(code);
  p.random_init.push_back({true, 0, K, 4});
  const RtlResult r = Harness(cfg()).run(p, true);
  const uint64_t t0 = t::front_end_cycles();
  std::vector<uint64_t> a(K), s(K), sw(K);
  for (uint32_t k = 0; k < K; ++k) a[k] = t0 + (k + 1) * Tx + Lw;  // K <= F: no slot waits
  CHECK(r.issue_cycle[1] == a[K - 1]);
  uint64_t prev = r.issue_cycle[1];
  for (uint32_t k = 0; k < K; ++k) {
    s[k] = a[k];
    if (k >= 1) s[k] = std::max(s[k], sw[k - 1] + G);
    if (k >= P) s[k] = std::max(s[k], s[k - P] + S);
    sw[k] = std::max(s[k] + L, prev + 1);
    prev = sw[k];
    INFO("tile " << k);
    CHECK(r.issue_cycle[2 + k] == sw[k]);
    if (k >= 1 && sw[k] > sw[k - 1] + 1) {
      CHECK(delta(r, sw[k] - 1, &Counters::weight_shift) == 1);  // T-1: held by the shift
      CHECK(delta(r, sw[k], &Counters::array_active) == 1);      // T: the switch injects
    }
  }
  if (P > 1 && K >= 3 && S > t::weight_min_switch_gap_cycles(cfg())) {
    // two ports: tiles enter faster than one per S cycles (on average S / P, at least 2 apart)
    CHECK(sw[K - 1] - sw[0] < uint64_t(K - 1) * S);
    for (uint32_t k = 1; k < K; ++k)
      CHECK(sw[k] - sw[k - 1] >= t::weight_min_switch_gap_cycles(cfg()));
  } else if (K >= 2) {
    CHECK(sw[K - 1] - sw[K - 2] == S);  // one port: one tile per S cycles
  }
  check_timing(p, r);
  check_values(p, r);
}

TEST_CASE("directed: the decoder rejects an MXU the chip does not have and malformed chains") {
  const uint16_t d = uint16_t(cfg().mxus);
  // and malformed chains (sim/isa/ISA.md, the `mmc` row): a fan past the last MXU, a chain mmc
  // on MXU 0, a chain mmc with a fan of its own (on MXU 1 where fan 1 stays on the chip), the
  // reserved flag bits 7:6
  for (const Instruction& bad :
       {make_instruction(Opcode::kReadWeights, 0, 0, 1, 0, d),
        make_instruction(Opcode::kMatmul, 0, 0, 1, 0, d),
        make_instruction(Opcode::kMatmul, 0, 0, 1, fan_flags(1), uint16_t(d - 1)),
        make_instruction(Opcode::kMatmul, 0, 0, 1, kFlagChain, 0),
        make_instruction(Opcode::kMatmul, 0, 0, 1, kFlagChain | fan_flags(1), 1),
        make_instruction(Opcode::kMatmul, 0, 0, 1, 0x40, 0)}) {
    const RtlResult ok = Harness(cfg()).run(
        program({make_instruction(Opcode::kMatmul, 0, 0, 1, 0, uint16_t(d - 1))}));
    CHECK_FALSE(ok.error);
    const RtlResult r = Harness(cfg()).run(program({bad}));
    CHECK(r.error);
    CHECK(r.issue_cycle[0] == UINT64_MAX);
  }
}

#if TPUSIM_RTL_MXUS > 1
TEST_CASE("directed: MXUs run their mmcs side by side and write one accumulator space") {
  const uint32_t M = cfg().mxus, B = 6;
  const uint64_t Lm = t::mxu_latency_cycles(cfg());
  std::vector<Instruction> code;
  for (uint32_t m = 0; m < M; ++m)
    code.push_back(make_instruction(Opcode::kReadWeights, m, 0, 1, 0, uint16_t(m)));
  // the weights first, then the input: every shadow is ready (weight_shift_to_switch_cycles
  // after its tile's arrival, < the host transfer) when the mmcs issue
  code.push_back(make_instruction(Opcode::kSync, 0, 0, 0, kUnitWeights));
  code.push_back(make_instruction(Opcode::kReadHost, 0, 0, B));
  code.push_back(make_instruction(Opcode::kSync, 0, 0, 0, kUnitHost));
  REQUIRE(t::host_transfer_cycles(cfg(), uint64_t(B) * cfg().vector_bytes()) >
          t::weight_shift_to_switch_cycles(cfg()));
  const size_t first_mmc = code.size();
  // every MXU computes with the same UB rows, writes rows of its own accumulator bank: MXU 0
  // reads them (a source with fan M - 1), MXU m takes them down the chain (sim/isa/ISA.md,
  // "Chained inputs"; two MXUs may not both read one UB bank unordered)
  const uint32_t bank = uint32_t(acc_bank_rows(cfg().accumulator_entries, M));
  for (uint32_t m = 0; m < M; ++m)
    code.push_back(make_instruction(Opcode::kMatmul, 0, m * bank, B,
                                    kFlagSwitch | (m == 0 ? fan_flags(M - 1) : kFlagChain),
                                    uint16_t(m)));
  const size_t sync_pending = code.size();
  code.push_back(make_instruction(Opcode::kSync, 0, 0, 0, kUnitMxu, 1));
  const size_t sync_all = code.size();
  code.push_back(make_instruction(Opcode::kSync, 0, 0, 0, kUnitMxu));
  for (uint32_t m = 0; m < M; ++m)
    code.push_back(make_instruction(Opcode::kActivate, m * bank, B + m * B, B, 1));
  code.push_back(make_instruction(Opcode::kSync, 0, 0, 0, kUnitAct));
  code.push_back(make_instruction(Opcode::kWriteHost, B, B, M * B));
  code.push_back(make_instruction(Opcode::kSync, 0, 0, 0, kUnitHost));
  Program p = program(code);
  p.random_init.push_back({false, 0, B, 21});
  p.random_init.push_back({true, 0, M, 22});
  const RtlResult r = Harness(cfg()).run(p, true);
  const uint64_t t = r.issue_cycle[first_mmc];
  for (uint32_t m = 1; m < M; ++m) {
    INFO("MXU " << m);
    CHECK(r.issue_cycle[first_mmc + m] == t + m);  // follower m: the cycle after its predecessor
  }
  // each MXU has one incomplete mmc: pending=1 holds on none; pending=0 waits for the last
  CHECK(r.issue_cycle[sync_pending] == t + M);
  CHECK(r.issue_cycle[sync_all] == t + (M - 1) + B + Lm);
  CHECK(delta(r, t + (M - 1) + B + Lm - 1, &Counters::raw_stall) == 1);
  // the injection intervals overlap: active cycles are their union
  CHECK(delta(r, t, &Counters::array_active) == 1);
  CHECK(delta(r, t + (M - 1) + B - 1, &Counters::array_active) == 1);
  CHECK(delta(r, t + (M - 1) + B, &Counters::array_active) == 0);
  check_timing(p, r);
  check_values(p, r);
}

TEST_CASE("directed: an mmc waits for its own MXU's input and shadow only") {
  // mmc B=5 on MXU 0, then mmc B=3 on MXU 0 (waits for MXU 0's input) or on MXU 1 (issues at
  // once); an `mmc switch` on MXU 1 waits for MXU 1's tile while MXU 0 has one. (MXU 1 reads UB
  // bank 1, MXU 0 bank 0: the bank interlock does not hold it.)
  const Program same = program({make_instruction(Opcode::kMatmul, 0, 0, 5, 0, 0),
                                make_instruction(Opcode::kMatmul, 5, 5, 3, 0, 0),
                                make_instruction(Opcode::kSync, 0, 0, 0, kUnitMxu)});
  // (MXU 1's rows in its own accumulator bank: the race rule's bank clause)
  const uint32_t bank = uint32_t(acc_bank_rows(cfg().accumulator_entries, cfg().mxus));
  const uint32_t ub_bank = uint32_t(ub_bank_vectors(cfg()));
  const Program other = program({make_instruction(Opcode::kMatmul, 0, 0, 5, 0, 0),
                                 make_instruction(Opcode::kMatmul, ub_bank, bank, 3, 0, 1),
                                 make_instruction(Opcode::kSync, 0, 0, 0, kUnitMxu)});
  const RtlResult rs = Harness(cfg()).run(same), ro = Harness(cfg()).run(other);
  CHECK(rs.issue_cycle[1] == rs.issue_cycle[0] + 5);
  CHECK(ro.issue_cycle[1] == ro.issue_cycle[0] + 1);
  CHECK(ro.counters.array_active == 5);  // rows of MXU 1 inside MXU 0's 5 cycles
  check_timing(same, rs);
  check_timing(other, ro);
  const uint64_t Tx = t::weight_tile_transfer_cycles(cfg());
  const uint64_t Lw = t::weight_memory_latency_cycles(cfg());
  const uint64_t L = t::weight_shift_to_switch_cycles(cfg()), t0 = t::front_end_cycles();
  // tile 0 to MXU 0, tile 1 to MXU 1 (requested Tx later): each switch waits for its own tile
  const Program w = program({make_instruction(Opcode::kReadWeights, 0, 0, 1, 0, 0),
                             make_instruction(Opcode::kReadWeights, 1, 0, 1, 0, 1),
                             make_instruction(Opcode::kMatmul, ub_bank, bank, 1, kFlagSwitch, 1),
                             make_instruction(Opcode::kMatmul, 0, 0, 1, kFlagSwitch, 0)});
  const RtlResult rw = Harness(cfg()).run(w, true);
  const uint64_t a1 = t0 + 2 * Tx + Lw;
  CHECK(rw.issue_cycle[2] == a1 + L);
  CHECK(delta(rw, a1 - 1, &Counters::weight_stall) == 1);  // MXU 1's tile not arrived
  CHECK(delta(rw, a1, &Counters::weight_shift) == 1);
  CHECK(rw.issue_cycle[3] == rw.issue_cycle[2] + 1);  // MXU 0's tile shifted long ago
  check_timing(w, rw);
}

TEST_CASE(
    "directed: a chain of MXUs: follower j issues at t + j and computes with the source's rows") {
  // Two K tiles through a source and its followers (tests/engines/rtl/chain_programs.h), from
  // every MXU but the last over the MXUs after it (from MXU 0: every MXU). Each follower's
  // results equal the functional executor's, which gives it the source's UB rows.
  const uint32_t M = cfg().mxus, R = cfg().array.rows;
  for (uint32_t src = 0; src + 1 < M; ++src) {
    INFO("source on MXU " << src);
    const ChainProgram c = chain_program(cfg(), src, R + 3, 51 + src);
    const RtlResult r = Harness(cfg()).run(c.prog);
    for (size_t s : c.sources)
      for (uint32_t j = 1; j <= c.fan; ++j) {
        INFO("source pc " << s << ", follower " << j);
        CHECK(r.issue_cycle[s + j] == r.issue_cycle[s] + j);
      }
    check_values(c.prog, r);
    check_timing(c.prog, r);
  }
}

TEST_CASE("directed: a source waits until follower j's input is free at t + j") {
  // An mmc of L rows on MXU M - 1 from t1 (its input free at t1 + L), then a source on MXU 0
  // with fan M - 1: follower M - 1 issues at t + M - 1, so the source issues at
  // t1 + L - (M - 1) (MXU M - 1's mx_left_q <= M - 1), and follower M - 1 exactly when that
  // MXU's input frees. L and L + 1: T - 1 and T.
  const uint32_t M = cfg().mxus, F = M - 1, B = 3;
  for (uint32_t extra : {0u, 1u}) {
    const uint32_t L = M + 6 + extra;
    INFO("L = " << L);
    const ChainProgram c = follower_busy_program(cfg(), L, B);
    const size_t s = c.sources.at(0);
    const RtlResult r = Harness(cfg()).run(c.prog, true);
    const uint64_t t1 = r.issue_cycle[s - 1], t = t1 + L - F;
    REQUIRE(t > t1 + 1);  // held: the rule, not the front end, sets the cycle
    CHECK(r.issue_cycle[s] == t);
    CHECK(r.issue_cycle[s + F] == t1 + L);
    for (uint32_t j = 1; j <= F; ++j) CHECK(r.issue_cycle[s + j] == t + j);
    // every held cycle of the source has MXU M - 1 injecting
    CHECK(delta(r, t - 1, &Counters::array_active) == 1);
    CHECK(r.counters.array_active == L + B);  // [t1, t1 + L + B): the last follower ends it
    check_timing(c.prog, r);
  }
}

TEST_CASE(
    "directed: a source held for a follower's shadow counts weight_stall, then weight_shift") {
  // One tile per MXU in MXU order: MXU M - 1's arrives last, at a. The source (MXU 0, fan M - 1,
  // switch) waits for every shadow: it issues at a + weight_shift_to_switch_cycles, its held
  // cycles are weight_stall up to a although MXU 0's own tile arrived M - 1 tiles earlier, and
  // weight_shift from a (sim/isa/ISA.md, counter 2).
  const uint32_t M = cfg().mxus, F = M - 1;
  const uint64_t Tx = t::weight_tile_transfer_cycles(cfg());
  const uint64_t Lw = t::weight_memory_latency_cycles(cfg());
  const uint64_t L = t::weight_shift_to_switch_cycles(cfg()), t0 = t::front_end_cycles();
  const ChainProgram c = follower_shadow_program(cfg(), 4);
  const size_t s = c.sources.at(0);
  const RtlResult r = Harness(cfg()).run(c.prog, true);
  const uint64_t a0 = t0 + Tx + Lw, a = t0 + M * Tx + Lw;  // r_m = t0 + m Tx
  REQUIRE(r.issue_cycle[s - 1] == t0 + F * Tx);
  CHECK(r.issue_cycle[s] == a + L);
  for (uint32_t j = 1; j <= F; ++j) CHECK(r.issue_cycle[s + j] == a + L + j);
  // the first cycle that holds the source with MXU 0's tile in, MXU M - 1's not
  const uint64_t c0 = std::max(a0, r.issue_cycle[s - 1] + 1);
  REQUIRE(c0 < a);
  CHECK(delta(r, c0, &Counters::weight_stall) == 1);
  CHECK(delta(r, a - 1, &Counters::weight_stall) == 1);
  CHECK(delta(r, a, &Counters::weight_shift) == 1);
  CHECK(delta(r, a + L - 1, &Counters::weight_shift) == 1);
  CHECK(delta(r, a + L, &Counters::array_active) == 1);
  // every cycle in (t0, a) but the issue cycles of rws 1 .. F: an rw or the source held
  CHECK(r.counters.weight_stall == a - (t0 + 1) - F);
  CHECK(r.counters.weight_shift == L);
  check_timing(c.prog, r);
}
#endif

// The UB bank interlock (sim/isa/ISA.md, "UB banks"; tests/engines/rtl/interlock_programs.h):
// for each pair of units that may not share a bank port, the second instruction is held while the
// first's window on a shared bank is open and issues in the cycle it ends (window lengths len and
// len + 1: T - 1 held, T issued), and issues at once when its vectors start on the next bank. A
// window at the end of bank 0 and, where the UB has three banks or more, one across banks 0 and
// 1. The held cycle counts as sim/isa/ISA.md's counters say (the interlock adds no counter): an
// MXU injecting, a held mmc switch whose tile arrived weight_shift, a held rhm input_stall, a
// held act non_matrix alone. Values equal the functional executor's (no UB assertion fires).
TEST_CASE("directed: the UB bank interlock holds each pair of units until the window ends") {
  std::vector<InterlockPair> pairs = {InterlockPair::kMmcWhm, InterlockPair::kWhmMmc,
                                      InterlockPair::kActRhm, InterlockPair::kRhmAct};
  if (cfg().mxus > 1) pairs.insert(pairs.begin(), InterlockPair::kMmcMmc);
  const uint32_t vb = uint32_t(ub_bank_vectors(cfg()));
  REQUIRE(t::host_transfer_cycles(cfg(), 2 * cfg().vector_bytes()) >
          t::weight_shift_to_switch_cycles(cfg()));  // every shadow full before the pair
  uint64_t held = 0;
  for (const InterlockPair pair : pairs)
    for (uint32_t len : {6u, 7u}) {
      std::vector<uint32_t> first_at = {vb - len - 1};
      if (2 * vb + 2 + 2 * len <= cfg().ub_vectors()) first_at.push_back(vb - 2);
      for (const uint32_t at : first_at)
        for (const bool same : {true, false}) {
          INFO(interlock_pair_name(pair)
               << ", vectors " << at << " + " << len << (same ? ", shared bank" : ", next bank"));
          const InterlockProgram ip = interlock_program(cfg(), pair, at, len, same, 71 + len);
          const RtlResult r = Harness(cfg()).run(ip.prog, true);
          const uint64_t t = r.issue_cycle[ip.first];
          if (same) {
            REQUIRE(ip.window > 1);
            CHECK(r.issue_cycle[ip.second] == t + ip.window);
            const uint64_t c = t + ip.window - 1;  // T - 1: held
            switch (pair) {
              case InterlockPair::kMmcMmc:
              case InterlockPair::kMmcWhm:
                CHECK(delta(r, c, &Counters::array_active) == 1);
                break;
              case InterlockPair::kWhmMmc:
                CHECK(delta(r, c, &Counters::weight_shift) == 1);
                break;
              case InterlockPair::kActRhm:
                CHECK(delta(r, c, &Counters::input_stall) == 1);
                break;
              case InterlockPair::kRhmAct:
                CHECK(delta(r, c, &Counters::non_matrix) == 1);
                CHECK(delta(r, c, &Counters::input_stall) == 0);
                break;
            }
            held += r.issue_cycle[ip.second] - (t + 1);
          } else {
            CHECK(r.issue_cycle[ip.second] == t + 1);
          }
          check_timing(ip.prog, r);
          check_values(ip.prog, r);
        }
    }
  CHECK(held > 0);
}

#if TPUSIM_RTL_SIZE <= 16
TEST_CASE("random GEMMs against the reference numerics") {
  const uint32_t R = cfg().array.rows, C = cfg().array.cols;
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    std::mt19937_64 rng(seed * 977);
    auto uni = [&](uint32_t lo, uint32_t hi) {
      return std::uniform_int_distribution<uint32_t>(lo, hi)(rng);
    };
    GemmSpec sp;
    sp.m = uni(1, 2 * R);
    sp.k = uni(1, 3 * R);
    sp.n = uni(1, 2 * C);
    sp.function = uint8_t(uni(0, 3));
    sp.mult = int32_t(uni(1, 1 << 16)) - (1 << 15);
    sp.shift = uni(8, 20);
    sp.round = uint8_t(uni(0, 2));
    sp.seed = seed;
    INFO("seed " << seed << ": m k n = " << sp.m << " " << sp.k << " " << sp.n);
    GemmProgram g = gemm_program(cfg(), sp);
    const RtlResult r = Harness(cfg()).run(g.prog);
    check_values(g.prog, r);
    CHECK(std::equal(g.expected.begin(), g.expected.end(),
                     r.host.begin() + g.out_host * cfg().vector_bytes()));
    check_timing(g.prog, r);
  }
}

TEST_CASE("random race-free programs against the functional executor and the timing rules") {
  Counters sum;
  uint64_t switches = 0, syncs = 0, pools2d = 0;
  for (uint64_t seed = 1; seed <= 12; ++seed) {
    INFO("seed " << seed);
    GenOptions go;
    go.instructions = 60;
    go.window = 64;
    const Program p = generate_program(cfg(), seed, go);
    const RtlResult r = Harness(cfg()).run(p);
    check_values(p, r);
    check_timing(p, r);
    for (const auto& in : p.code) {
      switches += in.op == Opcode::kMatmul && (in.flags & kFlagSwitch);
      syncs += in.op == Opcode::kSync;
      pools2d += in.op == Opcode::kActivate && in.pool_2d();
    }
    sum.weight_stall += r.counters.weight_stall;
    sum.weight_shift += r.counters.weight_shift;
    sum.raw_stall += r.counters.raw_stall;
    sum.input_stall += r.counters.input_stall;
    sum.array_active += r.counters.array_active;
  }
  // The generator exercises every stall the counters can tell apart.
  CHECK(switches > 0);
  CHECK(syncs > 0);
  CHECK(pools2d > 0);
  CHECK(sum.array_active > 0);
  CHECK(sum.weight_stall > 0);
  CHECK(sum.weight_shift > 0);
  CHECK(sum.raw_stall > 0);
  CHECK(sum.input_stall > 0);
}
#endif

}  // namespace tpusim::rtl_test
