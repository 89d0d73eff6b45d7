// Fast engine: every latency of sim/isa/ISA.md checked at its exact cycle, with expected values
// built from the named timing functions (never literals), plus partition, data independence and
// value agreement with the functional executor.
#include <fmt/format.h>
#include <catch2/catch.hpp>

#include "models/config.h"
#include "models/errors.h"
#include "sim/engines/fast/fast_engine.h"
#include "sim/isa/assembler.h"
#include "sim/isa/program_gen.h"
#include "sim/isa/races.h"
#include "sim/isa/timing.h"

using namespace tpusim;
namespace tt = tpusim::timing;

namespace {
EngineResult run(const TpuConfig& cfg, const std::string& text) {
  return run_fast(cfg, assemble(text, "t.s"));
}
uint64_t breakdown_sum(const EventCounts& n) {
  return n.array_active_cycles + n.weight_stall_cycles + n.weight_shift_cycles +
         n.non_matrix_cycles;
}
}  // namespace

TEST_CASE("host DMA: busy for latency + transfer, halt waits for it", "[fast]") {
  for (const char* arch : {"tiny-4", "small-16", "tpu-v1"}) {
    TpuConfig cfg = load_config(arch);
    const uint64_t n = 37;
    auto r = run(cfg, "rhm host=0 ub=0 n=37\nhalt\n");
    const uint64_t t0 = tt::front_end_cycles();
    const uint64_t done = t0 + tt::host_transfer_cycles(cfg, n * cfg.vector_bytes());
    CHECK(r.timeline[0].issue == t0);
    CHECK(r.timeline[0].done == done);
    CHECK(r.timeline[1].issue == done);  // not at done - 1
    CHECK(r.counts.cycles == done + 1);
    CHECK(r.counts.non_matrix_cycles == r.counts.cycles);
    // A second rhm waits for the first: held exactly until `done`, counted as input stall.
    auto r2 = run(cfg, "rhm host=0 ub=0 n=37\nrhm host=0 ub=100 n=1\nhalt\n");
    CHECK(r2.timeline[1].issue == done);
    CHECK(r2.counts.input_stall_cycles == done - (t0 + 1));
  }
}

TEST_CASE("transfer_cycles is the ceiling of bytes * clock / bandwidth", "[fast]") {
  CHECK(tt::transfer_cycles(0, 700, 1400) == 0);
  CHECK(tt::transfer_cycles(2, 700, 1400) == 1);
  CHECK(tt::transfer_cycles(3, 700, 1400) == 2);
  CHECK(tt::transfer_cycles(65536, 700, 34000) == (65536ull * 700 + 33999) / 34000);
}

TEST_CASE("weight path: request, arrival, shift and switch", "[fast]") {
  for (const char* arch : {"tiny-4", "tiny-8", "small-32", "tpu-v1"}) {
    TpuConfig cfg = load_config(arch);
    const uint64_t B = 5, t0 = tt::front_end_cycles();
    auto r = run(cfg, "rw tile=0 n=1\nmmc ub=0 acc=0 b=5 switch\nhalt\n");
    const uint64_t arrive =
        t0 + tt::weight_tile_transfer_cycles(cfg) + tt::weight_memory_latency_cycles(cfg);
    const uint64_t sw = arrive + tt::weight_shift_to_switch_cycles(cfg);
    INFO(arch);
    CHECK(r.timeline[0].issue == t0);
    CHECK(r.timeline[0].done == arrive);
    CHECK(r.timeline[1].issue == sw);
    CHECK(r.timeline[1].done == sw + B + tt::mxu_latency_cycles(cfg));
    CHECK(r.counts.cycles == sw + B + tt::mxu_latency_cycles(cfg) + 1);
    CHECK(r.counts.array_active_cycles == B);
    CHECK(r.counts.weight_stall_cycles == arrive - (t0 + 1));
    CHECK(r.counts.weight_shift_cycles == tt::weight_shift_to_switch_cycles(cfg));
    CHECK(breakdown_sum(r.counts) == r.counts.cycles);
  }
}

TEST_CASE("back-to-back switches: one tile per shift, one cycle behind the switch", "[fast]") {
  TpuConfig cfg = load_config("small-16");
  const uint64_t S = tt::weight_shift_cycles(cfg), L = tt::weight_shift_to_switch_cycles(cfg),
                 G = tt::weight_switch_to_shift_cycles();
  // Both tiles arrive before the first switch: tile 0's shift started at its arrival, tile 1's
  // starts once the sequencer has fed tile 0 (s0 + S) and tile 0's switch has issued (sw0 + G).
  auto r = run(cfg,
               "rw tile=0 n=2\nsync weights\nmmc ub=0 acc=0 b=1 switch\n"
               "mmc ub=0 acc=0 b=1 switch\nhalt\n");
  const uint64_t Tx = tt::weight_tile_transfer_cycles(cfg),
                 Lw = tt::weight_memory_latency_cycles(cfg);
  const uint64_t s0 = tt::front_end_cycles() + Tx + Lw, a1 = s0 + Tx;
  const uint64_t sw0 = r.timeline[2].issue;
  CHECK(sw0 == r.timeline[1].issue + 1);
  const uint64_t s1 = std::max({a1, s0 + S, sw0 + G});
  CHECK(r.timeline[3].issue == std::max(s1 + L, sw0 + 1));
  // 64 matmuls of B rows, one tile each, on a weight link fast enough not to bind: max(rows, B)
  // cycles per tile (sim/isa/ISA.md, "Weight path").
  cfg.weight_memory.bandwidth_mb_s = uint64_t(cfg.clock_mhz) * cfg.tile_bytes();
  REQUIRE(tt::weight_tile_transfer_cycles(cfg) == 1);
  for (uint64_t B : {1u, 8u, 16u, 40u}) {
    std::string prog = "rw tile=0 n=64\n";
    for (int i = 0; i < 64; ++i) prog += fmt::format("mmc ub=0 acc=0 b={} switch\n", B);
    auto rb = run(cfg, prog + "halt\n");
    INFO("B = " << B);
    CHECK(rb.timeline[64].issue - rb.timeline[32].issue == 32 * std::max<uint64_t>(S, B));
  }
}

TEST_CASE("weight FIFO: a request beyond its depth waits for the end of a shift", "[fast]") {
  TpuConfig cfg = load_config("tiny-4");
  const uint64_t D = cfg.weight_fifo_tiles, Tx = tt::weight_tile_transfer_cycles(cfg),
                 L = tt::weight_memory_latency_cycles(cfg), S = tt::weight_shift_cycles(cfg),
                 G = tt::weight_switch_to_shift_cycles(), Dr = tt::weight_slot_drain_cycles(cfg),
                 W = cfg.vector_bytes();
  // D + 2 tiles; the first switch is held back by a long host transfer, so tile 1's shift (and
  // with it the slot that tile D + 1 needs) waits for sw0.
  std::string prog =
      "rw tile=0 n=" + std::to_string(D + 2) + "\nrhm host=0 ub=0 n=500\nsync host\n";
  for (uint64_t i = 0; i < D + 2; ++i) prog += "mmc ub=0 acc=0 b=1 switch\n";
  prog += "halt\n";
  auto r = run(cfg, prog);
  const uint64_t t0 = tt::front_end_cycles();
  const uint64_t host_done = t0 + 1 + tt::host_transfer_cycles(cfg, 500 * W);
  const uint64_t sw0 = host_done + 1;  // the sync issues at host_done, the mmc one cycle later
  REQUIRE(r.timeline[3].issue == sw0);
  const uint64_t s0 = t0 + Tx + L;
  const uint64_t freed1 = std::max({t0 + Tx + Tx + L, sw0 + G, s0 + S}) + Dr;  // tile 1 drained
  const uint64_t req_last = std::max(t0 + (D + 1) * Tx, freed1);
  REQUIRE(freed1 > t0 + (D + 1) * Tx);  // the FIFO, not the bus, binds in this case
  CHECK(r.timeline[0].done == req_last + Tx + L);
  CHECK(breakdown_sum(r.counts) == r.counts.cycles);
}

TEST_CASE("matmuls pipeline: the next one issues when the last row is injected", "[fast]") {
  TpuConfig cfg = load_config("tiny-8");
  auto r =
      run(cfg, "mmc ub=0 acc=0 b=20\nmmc ub=0 acc=20 b=3\nsync mxu\nact acc=0 ub=0 n=8\nhalt\n");
  const uint64_t t0 = tt::front_end_cycles();
  CHECK(r.timeline[1].issue == t0 + 20);
  CHECK(r.timeline[2].issue == t0 + 23 + tt::mxu_latency_cycles(cfg));
  CHECK(r.timeline[3].issue == r.timeline[2].issue + 1);
  CHECK(r.timeline[3].done == r.timeline[3].issue + 8 + tt::act_pipeline_cycles());
  CHECK(r.counts.array_active_cycles == 23);
  CHECK(r.counts.raw_stall_cycles == tt::mxu_latency_cycles(cfg));
  CHECK(r.counts.cycles == r.timeline[3].done + 1);
}

TEST_CASE("deadlocks are input errors naming the instruction", "[fast]") {
  TpuConfig cfg = load_config("tiny-4");
  const uint64_t D = cfg.weight_fifo_tiles;
  // Tile D + 1 needs the slot of tile 1, whose shift waits for tile 0's switch: the second rw
  // blocks the controller before any switch can issue. (D + 1 tiles would not deadlock: tile 0's
  // shift needs no switch, and it frees the slot tile D needs.)
  std::string ok = "rw tile=0 n=" + std::to_string(D + 1) + "\nrw tile=0 n=1\n";
  for (uint64_t i = 0; i <= D + 1; ++i) ok += "mmc ub=0 acc=0 b=1 switch\n";
  CHECK_NOTHROW(run(cfg, ok + "halt\n"));
  std::string prog = "rw tile=0 n=" + std::to_string(D + 2) + "\nrw tile=0 n=1\n";
  for (uint64_t i = 0; i <= D + 2; ++i) prog += "mmc ub=0 acc=0 b=1 switch\n";
  prog += "halt\n";
  CHECK_THROWS_WITH(run(cfg, prog), Catch::Contains("t.s:2") && Catch::Contains("deadlock"));
  CHECK_THROWS_WITH(run(cfg, "rw tile=0 n=" + std::to_string(D + 2) + "\nhalt\n"),
                    Catch::Contains("halt") && Catch::Contains("deadlock"));
}

namespace {

struct Span {
  uint64_t lo = 0, hi = 0;
  bool overlaps(const Span& o) const { return lo < o.hi && o.lo < hi; }
};

// UB / accumulator spans an instruction reads and writes (sim/isa/ISA.md semantics).
struct Touch {
  Span ub_rd, ub_wr, acc_rd, acc_wr;
};

Touch touch(const Instruction& in) {
  Touch t;
  if (in.op == Opcode::kReadHost) t.ub_wr = {in.b, uint64_t(in.b) + in.c};
  if (in.op == Opcode::kWriteHost) t.ub_rd = {in.b, uint64_t(in.b) + in.c};
  if (in.op == Opcode::kMatmul) {
    if (!in.chained()) t.ub_rd = {in.a, uint64_t(in.a) + in.c};  // a follower's are its source's
    t.acc_wr = {in.b, uint64_t(in.b) + in.c};
    if (in.flags & kFlagAccumulate) t.acc_rd = t.acc_wr;
  }
  if (in.op == Opcode::kActivate) {
    t.acc_rd = {in.a, uint64_t(in.a) + in.c};
    t.ub_wr = {in.b, uint64_t(in.b) + act_outputs(in)};
  }
  return t;
}

// Each MXU is a unit of its own (4 + m).
int unit(const Instruction& in) {
  switch (in.op) {
    case Opcode::kReadHost:
    case Opcode::kWriteHost:
      return 0;
    case Opcode::kMatmul:
      return 4 + in.d;
    case Opcode::kActivate:
      return 3;
    default:
      return -1;
  }
}

}  // namespace

TEST_CASE("the race rule is sound: conflicting work of two units never overlaps in time",
          "[fast]") {
  // For every pair of instructions of different units that touch the same UB vector or
  // accumulator row (one writing), the later one issues only after the earlier one's last access:
  // its completion, or for an mmc's UB reads the injection of its last row.
  uint64_t pairs = 0, mxu_pairs = 0;
  for (const char* arch : {"tiny-4", "small-16", "tiny-4-x2", "tiny-8-x4"}) {
    const TpuConfig cfg = load_config(arch);
    for (uint64_t seed = 1; seed <= 120; ++seed) {
      GenOptions o;
      o.window = seed % 2 ? 24 : 0;
      const Program p = generate_program(cfg, seed, o);
      const EngineResult r = run_fast(cfg, p);
      INFO(arch << " seed " << seed);
      for (size_t j = 0; j < p.code.size(); ++j) {
        const int uj = unit(p.code[j]);
        if (uj < 0) continue;
        const Touch b = touch(p.code[j]);
        for (size_t i = 0; i < j; ++i) {
          const int ui = unit(p.code[i]);
          if (ui < 0 || ui == uj) continue;
          const Touch a = touch(p.code[i]);
          const bool ub_read_only = (b.ub_wr.overlaps(a.ub_rd)) && !b.ub_wr.overlaps(a.ub_wr) &&
                                    !b.ub_rd.overlaps(a.ub_wr) && !b.acc_rd.overlaps(a.acc_wr) &&
                                    !b.acc_wr.overlaps(a.acc_wr) && !b.acc_wr.overlaps(a.acc_rd);
          const bool any = b.ub_wr.overlaps(a.ub_rd) || b.ub_wr.overlaps(a.ub_wr) ||
                           b.ub_rd.overlaps(a.ub_wr) || b.acc_rd.overlaps(a.acc_wr) ||
                           b.acc_wr.overlaps(a.acc_wr) || b.acc_wr.overlaps(a.acc_rd);
          if (!any) continue;
          ++pairs;
          if (ui >= 4 && uj >= 4) ++mxu_pairs;  // two MXUs
          const uint64_t last_access = ub_read_only && p.code[i].op == Opcode::kMatmul
                                           ? r.timeline[i].issue + p.code[i].c
                                           : r.timeline[i].done;
          INFO("instruction " << i << " then " << j);
          REQUIRE(r.timeline[j].issue >= last_access);
        }
      }
    }
  }
  CHECK(pairs > 1000);
  CHECK(mxu_pairs > 100);
}

TEST_CASE("random programs: partition, data independence, values equal the functional executor",
          "[fast]") {
  for (const char* arch : {"tiny-4", "tiny-8", "small-16", "tiny-4-x2", "tiny-8-x4"}) {
    TpuConfig cfg = load_config(arch);
    for (uint64_t seed = 1; seed <= 40; ++seed) {
      Program p = generate_program(cfg, seed);
      EngineResult r = run_fast(cfg, p);
      FunctionalResult f = run_functional(cfg, p);
      INFO(arch << " seed " << seed);
      REQUIRE(breakdown_sum(r.counts) == r.counts.cycles);
      REQUIRE(r.counts.raw_stall_cycles + r.counts.input_stall_cycles <=
              r.counts.non_matrix_cycles);
      REQUIRE(r.values.state.host == f.state.host);
      REQUIRE(r.values.state.ub == f.state.ub);
      REQUIRE(r.values.state.acc == f.state.acc);
      // Same program, other data (all zeros): identical timing and counters (DESIGN invariant 5).
      Program zero = p;
      zero.random_init.clear();
      zero.host_init.clear();
      zero.weight_init.clear();
      EngineResult z = run_fast(cfg, zero);
      REQUIRE(z.counts == r.counts);
      REQUIRE(z.timeline == r.timeline);
      // Per-layer attribution (random layer per instruction) partitions every counter.
      std::vector<uint32_t> layer_of(p.code.size());
      for (size_t i = 0; i < layer_of.size(); ++i) layer_of[i] = uint32_t((i * 7 + seed) % 3);
      EngineOptions lo;
      lo.layer_of = &layer_of;
      lo.layers = 3;
      EngineResult per = run_fast(cfg, p, lo);
      EventCounts sum;
      for (const auto& l : per.per_layer) {
        REQUIRE(breakdown_sum(l) == l.cycles);
        sum += l;
      }
      REQUIRE(sum == per.counts);
      // Timing-only gives the same timing.
      EngineOptions timing_only;
      timing_only.values = false;
      EngineResult t = run_fast(cfg, p, timing_only);
      REQUIRE(t.counts == r.counts);
      REQUIRE_FALSE(t.has_values);
    }
  }
}

TEST_CASE("several MXUs: each has its own input, FIFO and shadow; one weight DMA feeds them",
          "[fast][mxu]") {
  const TpuConfig cfg = load_config("tiny-4-x2");
  REQUIRE(cfg.mxus == 2);
  const uint64_t t0 = tt::front_end_cycles(), Tx = tt::weight_tile_transfer_cycles(cfg),
                 Lw = tt::weight_memory_latency_cycles(cfg),
                 L = tt::weight_shift_to_switch_cycles(cfg), M = tt::mxu_latency_cycles(cfg);
  // One tile each, requested in rw order over the one weight link: MXU 1's tile arrives Tx later.
  // (MXU 1 reads another UB bank: the bank interlock does not hold it.)
  const uint64_t bank = ub_bank_vectors(cfg);
  auto r = run(cfg, fmt::format("rw tile=0 n=1\nrw tile=1 n=1 mxu=1\n"
                                "mmc ub=0 acc=0 b=20 switch\nmmc ub={} acc=64 b=20 switch mxu=1\n"
                                "sync mxu\nhalt\n",
                                bank));
  const uint64_t a0 = t0 + Tx + Lw, a1 = t0 + 2 * Tx + Lw;
  CHECK(r.timeline[1].issue == t0 + Tx);  // the DMA takes the second rw after the first tile
  CHECK(r.timeline[2].issue == a0 + L);
  // MXU 1 does not wait for MXU 0's 20 rows: only for its own tile.
  CHECK(r.timeline[3].issue == std::max(a1 + L, r.timeline[2].issue + 1));
  CHECK(r.timeline[4].issue == r.timeline[3].issue + 20 + M);  // sync: both complete
  // array_active counts cycles in which any MXU injects: the union of the two intervals.
  CHECK(r.counts.array_active_cycles == r.timeline[3].issue + 20 - r.timeline[2].issue);
  CHECK(r.counts.matmul_rows == 40);
  CHECK(r.counts.mxu_rows_0 == 20);
  CHECK(r.counts.mxu_rows_1 == 20);
  CHECK(r.counts.macs == 40 * cfg.mxu_macs_per_row());
  CHECK(breakdown_sum(r.counts) == r.counts.cycles);

  // `sync mxu pending=N` counts per MXU: one mmc in flight on MXU 1 with pending=1 is fine even
  // when MXU 0's last mmc is younger, but MXU 0's two must be down to one.
  auto p = run(cfg, fmt::format("mmc ub=0 acc=0 b=30\nmmc ub={} acc=64 b=30 mxu=1\n"
                                "mmc ub=0 acc=32 b=2\nsync mxu pending=1\nhalt\n",
                                bank));
  const uint64_t m0 = p.timeline[0].issue, m2 = p.timeline[2].issue;
  CHECK(m2 == m0 + 30);  // MXU 0's input was busy; MXU 1's mmc in between did not matter
  CHECK(p.timeline[1].issue == p.timeline[0].issue + 1);
  CHECK(p.timeline[3].issue == std::max(m0 + 30 + M, m2 + 1));  // MXU 0's first has completed
  // Two MXUs halve a stream of independent matmuls.
  std::string one = "rw tile=0 n=1\nmmc ub=0 acc=0 b=1 switch\n", two = one;
  for (int i = 0; i < 16; ++i) {
    one += fmt::format("mmc ub=0 acc={} b=64\n", (i % 2) * 64);
    two += i % 2 ? fmt::format("mmc ub={} acc=128 b=64 mxu=1\n", bank) : "mmc ub=0 acc=0 b=64\n";
  }
  two = "rw tile=0 n=1 mxu=1\nmmc ub=0 acc=128 b=1 switch mxu=1\n" + two;
  auto r1 = run(cfg, one + "halt\n"), r2 = run(cfg, two + "halt\n");
  CHECK(r1.counts.array_active_cycles == 16 * 64 + 1);
  CHECK(r2.counts.cycles < r1.counts.cycles * 6 / 10);
}

TEST_CASE("shift ports: P tiles shift into one MXU at once, max(2, rows / P, B) per tile",
          "[fast][mxu]") {
  TpuConfig cfg = load_config("small-16");
  cfg.weight_memory.bandwidth_mb_s = uint64_t(cfg.clock_mhz) * cfg.tile_bytes();
  REQUIRE(tt::weight_tile_transfer_cycles(cfg) == 1);
  // The FIFO never binds: a slot is held Tx + latency + rows + cols - 1 cycles per tile (40).
  cfg.weight_fifo_tiles = 32;
  const uint64_t S = tt::weight_shift_cycles(cfg);
  for (uint32_t P : {1u, 2u, 4u, 8u}) {
    cfg.weight_shift_ports = P;
    for (uint64_t B : {1u, 3u, 16u}) {
      std::string prog = "rw tile=0 n=64\n";
      for (int i = 0; i < 64; ++i) prog += fmt::format("mmc ub=0 acc=0 b={} switch\n", B);
      auto r = run(cfg, prog + "halt\n");
      INFO("P = " << P << ", B = " << B);
      // ports_ binds in turn: over 32 tiles, (32 / P) port periods of S cycles each
      const uint64_t per = std::max<uint64_t>({tt::weight_min_switch_gap_cycles(cfg), S / P, B});
      CHECK(r.timeline[64].issue - r.timeline[32].issue == 32 * per);
    }
  }
}

TEST_CASE("several MXUs: a tile waits for a slot in its own MXU's FIFO only", "[fast][mxu]") {
  const TpuConfig cfg = load_config("tiny-4-x2");
  const uint64_t D = cfg.weight_fifo_tiles;
  // MXU 0's FIFO is full and its switches are held back by a host transfer; MXU 1's tile,
  // requested after MXU 0's D tiles, is not held by them.
  const std::string prog = fmt::format(
      "rw tile=0 n={}\nrw tile=0 n=1 mxu=1\nmmc ub=0 acc=0 b=1 switch mxu=1\nhalt\n", D);
  auto r = run(cfg, prog + "");
  const uint64_t Tx = tt::weight_tile_transfer_cycles(cfg),
                 Lw = tt::weight_memory_latency_cycles(cfg);
  CHECK(r.timeline[2].issue ==
        r.timeline[1].issue + Tx + Lw + tt::weight_shift_to_switch_cycles(cfg));
  // The same with MXU 0's D + 2-th tile in between (the first tile shifts into the free shadow
  // and frees its slot; the D + 2-th needs a slot only a later switch on MXU 0 frees), so the rw
  // after it can never issue: a deadlock, named. With D + 1 tiles it runs.
  auto dead = [&](uint64_t n) {
    return fmt::format(
        "rw tile=0 n={}\nrw tile=0 n=1 mxu=1\nmmc ub=0 acc=64 b=1 switch mxu=1\n"
        "mmc ub=0 acc=0 b=1 switch\nhalt\n",
        n);
  };
  CHECK_THROWS_WITH(run(cfg, dead(D + 2)), Catch::Contains("t.s:2") && Catch::Contains("deadlock"));
  CHECK_NOTHROW(run(cfg, dead(D + 1)));
  // An mmc naming an MXU the chip does not have is an input error naming both.
  try {
    run(load_config("tiny-4"), "rw tile=0 n=1 mxu=1\nhalt\n");
    FAIL("expected an error");
  } catch (const InputError& e) {
    CHECK_THAT(e.what(), Catch::Contains("MXU 1 (field d)") && Catch::Contains("1 MXU"));
  }
}

TEST_CASE("chains: follower j issues j cycles after its source, which waits for them all",
          "[fast][mxu]") {
  const TpuConfig cfg = load_config("tiny-8-x4");
  REQUIRE(cfg.mxus == 4);
  const uint64_t bank = acc_bank_rows(cfg.accumulator_entries, cfg.mxus),
                 Tx = tt::weight_tile_transfer_cycles(cfg),
                 Lw = tt::weight_memory_latency_cycles(cfg),
                 L = tt::weight_shift_to_switch_cycles(cfg), M = tt::mxu_latency_cycles(cfg);
  auto chain = [&](uint32_t b, const char* flags) {
    std::string s;
    for (uint32_t m = 0; m < 4; ++m)
      s += fmt::format("mmc ub=0 acc={} b={} {} {} mxu={}\n", m * bank, b, flags,
                       m == 0 ? "fan=3" : "chain", m);
    return s;
  };
  // A busy follower input holds the source: MXU 2 injects 20 rows from t2; a chain of B = 5
  // issues once MXU 2's input is free at t + 2, i.e. at t2 + 20 - 2.
  auto r = run(cfg, fmt::format("mmc ub={} acc={} b=20 mxu=2\n", ub_bank_vectors(cfg), 2 * bank) +
                        chain(5, "") + "sync mxu\nhalt\n");
  const uint64_t t2 = r.timeline[0].issue, t = r.timeline[1].issue;
  CHECK(t == t2 + 20 - 2);
  for (uint32_t j = 1; j < 4; ++j) CHECK(r.timeline[1 + j].issue == t + j);
  CHECK(r.timeline[5].issue == t + 3 + 5 + M);  // the last follower completes last
  // held by a follower's injection: array_active (MXU 2 injects)
  CHECK(r.counts.array_active_cycles == t + 3 + 5 - t2);
  CHECK(breakdown_sum(r.counts) == r.counts.cycles);
  // The source waits for every follower's shadow: four tiles over one weight DMA, the last one
  // (MXU 3's) arrives at t0 + 4 Tx + Lw; before it the controller is in weight_stall.
  std::string rws;
  for (uint32_t m = 0; m < 4; ++m) rws += fmt::format("rw tile={} n=1 mxu={}\n", m, m);
  auto w = run(cfg, rws + chain(3, "switch") + "halt\n");
  const uint64_t a3 = tt::front_end_cycles() + 3 * Tx + Tx + Lw;
  CHECK(w.timeline[4].issue == a3 + L);
  for (uint32_t j = 1; j < 4; ++j) CHECK(w.timeline[4 + j].issue == a3 + L + j);
  uint64_t rw_held = 0;  // an rw waits for the weight DMA: weight_stall too
  for (uint32_t j = 1; j < 4; ++j) rw_held += w.timeline[j].issue - (w.timeline[j - 1].issue + 1);
  CHECK(w.counts.weight_stall_cycles == rw_held + a3 - (w.timeline[3].issue + 1));
  CHECK(w.counts.weight_shift_cycles == L);
  // the same four mmcs unchained each read the UB: the bank interlock runs them one after another
  REQUIRE(Tx < 30);  // the interlock, not the weight link, spaces them
  std::string un = rws;
  for (uint32_t m = 0; m < 4; ++m)
    un += fmt::format("mmc ub=0 acc={} b=30 switch mxu={}\n", m * bank, m);
  auto u = run(cfg, un + "halt\n");
  for (uint32_t j = 1; j < 4; ++j)
    CHECK(u.timeline[4 + j].issue == u.timeline[4 + j - 1].issue + 30);
}

TEST_CASE("the UB bank interlock: a second reader or writer of a bank waits for the first's window",
          "[fast]") {
  // tiny-8-x4: 1024 UB vectors in 8 banks of 128. Each pair: the second instruction on the same
  // bank issues at the end of the first's window (sim/isa/ISA.md, "UB banks"), on another bank at
  // once.
  const TpuConfig cfg = load_config("tiny-8-x4");
  const uint64_t bank = ub_bank_vectors(cfg);
  REQUIRE(bank == 128);
  const uint64_t S = tt::act_pipeline_cycles();
  struct Case {
    std::string first, second;
    uint64_t window;  // end of the first's window - its issue
  };
  const std::vector<Case> cases = {
      {"mmc ub=0 acc=0 b=9", "mmc ub={} acc=32 b=4 mxu=1", 9},  // two MXUs read
      {"mmc ub=0 acc=0 b=9", "whm host=0 ub={} n=4", 9},        // an MXU, then the DMA, read
      {"whm host=0 ub=0 n=9", "mmc ub={} acc=0 b=4", 9},        // the DMA, then an MXU, read
      {"rhm host=0 ub=0 n=9", "act acc=0 ub={} n=4", 9 + 1},    // the DMA, then the act, write
      {"act acc=0 ub=0 n=9", "rhm host=0 ub={} n=4", 9 + S},    // the act, then the DMA, write
  };
  for (const Case& c : cases)
    for (const uint64_t second_at : {uint64_t(60), bank + 60}) {
      INFO(c.first << " then " << c.second << " at " << second_at);
      auto r =
          run(cfg, c.first + "\n" + fmt::format(fmt::runtime(c.second), second_at) + "\nhalt\n");
      const uint64_t t0 = r.timeline[0].issue;
      CHECK(r.timeline[1].issue == (second_at < bank ? t0 + c.window : t0 + 1));
    }
  // A read beside a write uses a bank's two ports: an rhm into bank 0 while an MXU reads it.
  auto rw = run(cfg, "mmc ub=0 acc=0 b=9\nrhm host=0 ub=64 n=4\nhalt\n");
  CHECK(rw.timeline[1].issue == rw.timeline[0].issue + 1);
}
