// The cycle engine (SystemC twin of rtl/) against the fast engine: total cycles, every issue and
// done cycle, every counter, every output byte (sim/isa/ISA.md: the engines agree exactly).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <random>

#include "models/config.h"
#include "models/errors.h"
#include "sim/compiler/lowering.h"
#include "sim/compiler/workload.h"
#include "sim/engines/cycle/accumulators.h"
#include "sim/engines/cycle/cycle_engine.h"
#include "sim/engines/cycle/unified_buffer.h"
#include "sim/engines/fast/fast_engine.h"
#include "sim/engines/functional/functional.h"
#include "sim/isa/program_gen.h"
#include "sim/isa/timing.h"
#include "tests/engines/programs.h"
#include "tests/engines/rtl/chain_programs.h"
#include "tests/engines/rtl/interlock_programs.h"

namespace tpusim {
namespace {

// Checks every field; returns whether all were equal (for the campaign's table).
bool check_equal(const TpuConfig& cfg, const Program& p,
                 const std::vector<uint32_t>* layer_of = nullptr, size_t layers = 0,
                 bool values = true) {
  EngineOptions fo;
  fo.layer_of = layer_of;
  fo.layers = layers;
  fo.values = values;
  EngineOptions co;
  co.layer_of = layer_of;
  co.layers = layers;
  co.values = values;
  const EngineResult f = run_fast(cfg, p, fo);
  const EngineResult c = run_cycle(cfg, p, co);
  REQUIRE(c.timeline.size() == f.timeline.size());
  bool equal = c.counts == f.counts && c.per_layer == f.per_layer;
  for (size_t pc = 0; pc < f.timeline.size(); ++pc) {
    if (c.timeline[pc].issue == f.timeline[pc].issue && c.timeline[pc].done == f.timeline[pc].done)
      continue;
    equal = false;
    INFO("pc " << pc << " " << mnemonic(p.code[pc].op));
    CHECK(c.timeline[pc].issue == f.timeline[pc].issue);
    CHECK(c.timeline[pc].done == f.timeline[pc].done);
  }
  for (const CountField& field : kCountFields) {
    INFO("counter " << field.name);
    CHECK(c.counts.*field.member == f.counts.*field.member);
  }
  REQUIRE(c.per_layer.size() == f.per_layer.size());
  for (size_t l = 0; l < f.per_layer.size(); ++l) {
    INFO("layer " << l);
    CHECK(c.per_layer[l] == f.per_layer[l]);
  }
  if (!values) return equal;
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
    equal = equal && c.values.host_writes[i].host_vector == f.values.host_writes[i].host_vector &&
            c.values.host_writes[i].vectors == f.values.host_writes[i].vectors;
  }
  return equal && c.values.state.host == f.values.state.host &&
         c.values.state.ub == f.values.state.ub && c.values.state.acc == f.values.state.acc &&
         c.values.state.mult == f.values.state.mult &&
         c.values.state.shift == f.values.state.shift &&
         c.values.state.round == f.values.state.round;
}

}  // namespace

TEST_CASE("cycle engine equals fast engine: directed programs on tiny-4") {
  const TpuConfig cfg = load_config("tiny-4");
  Program p;
  p.name = "directed";
  p.code = {rtl_test::make_instruction(Opcode::kReadHost, 0, 0, 3),
            rtl_test::make_instruction(Opcode::kReadWeights, 0, 0, 2),
            rtl_test::make_instruction(Opcode::kSync, 0, 0, 0, kUnitHost),
            rtl_test::make_instruction(Opcode::kMatmul, 0, 0, 3, kFlagSwitch),
            rtl_test::make_instruction(Opcode::kMatmul, 0, 3, 3, kFlagSwitch | kFlagAccumulate),
            rtl_test::make_instruction(Opcode::kSync, 0, 0, 0, kUnitMxu),
            rtl_test::make_instruction(Opcode::kActivate, 0, 8, 4, 1 | (1 << 2), 1),
            rtl_test::make_instruction(Opcode::kSync, 0, 0, 0, kUnitAct),
            rtl_test::make_instruction(Opcode::kWriteHost, 10, 8, 2),
            rtl_test::make_instruction(Opcode::kHalt)};
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

// The off-chip memories stream one vector or tile row per cycle from the cycle after the
// request (sim/isa/ISA.md, "Off-chip links"). At the tightest links the RTL allows (host
// D = n + 1; a tile's arrival one cycle after its last row) the data must still be in place
// before the transfer completes; one cycle less is rejected, naming the field.
TEST_CASE("cycle engine: the tightest off-chip links the RTL allows") {
  TpuConfig cfg = load_config("tiny-4");
  const uint64_t W = cfg.vector_bytes();
  cfg.host_link.bandwidth_mb_s = W * cfg.clock_mhz;  // one vector per cycle
  cfg.host_link.latency_cycles = 1;
  cfg.weight_memory.bandwidth_mb_s = uint64_t(cfg.array.cols) * cfg.clock_mhz;  // Tx = rows
  cfg.weight_memory.latency_cycles = 1;
  REQUIRE(timing::weight_tile_transfer_cycles(cfg) == cfg.array.rows);
  for (uint64_t seed = 1; seed <= 8; ++seed) {
    INFO("seed " << seed);
    GenOptions go;
    go.instructions = 60;
    go.window = seed % 2 ? 64 : 0;
    CHECK(check_equal(cfg, generate_program(cfg, seed * 977 + 5, go)));
  }
  const Program p = generate_program(cfg, 3, GenOptions{});
  TpuConfig host0 = cfg;
  host0.host_link.latency_cycles = 0;
  CHECK_THROWS_WITH(run_cycle(host0, p), Catch::Contains("latency_cycles >= 1 (got 0)"));
  TpuConfig weight0 = cfg;
  weight0.weight_memory.latency_cycles = 0;
  CHECK_THROWS_WITH(run_cycle(weight0, p), Catch::Contains("latency_cycles (0) at least 5"));
  CHECK_NOTHROW(run_fast(host0, p));  // the fast engine has no such limit
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

TEST_CASE(
    "cycle engine equals fast engine: lowered small MLP on small-16 and small-16-x2 with values") {
  // small-16-x2: its two output column blocks (24 features) on two MXUs
  for (const char* arch : {"small-16", "small-16-x2"}) {
    INFO(arch);
    const TpuConfig cfg = load_config(arch);
    const char* y =
        "name: tiny-mlp\npaper: test\nbatch: 20\ninput: {features: 40}\nlayers:\n"
        "  - {type: fc, out: 24, act: relu}\n  - {type: fc, out: 10, act: sigmoid}\n";
    LowerOptions lo;
    lo.unroll = true;
    const LoweredProgram lp = lower(cfg, parse_workload(y, "tiny-mlp.yaml"), lo);
    REQUIRE(lp.segments.size() == 1);
    check_equal(cfg, lp.segments[0].program, &lp.segments[0].layer_of, lp.layers.size());
  }
}

// Issue 6's agreement campaign: 300 random programs over the whole ISA (shapes that are and are
// not multiples of the array, extreme values), every field compared.
TEST_CASE("cycle engine equals fast engine: 300-program campaign") {
  struct Part {
    const char* arch;
    uint64_t programs;
  };
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

// Issue 21: several MXUs (tiny-4-x2, tiny-8-x4 with two shift ports, small-16-x2): directed
// programs that use every MXU at once (a source on MXU 0 and a chain mmc on every other MXU,
// two K tiles) and stream tiles through the shift ports, and random programs whose rw and mmc
// spread over every MXU.
TEST_CASE("cycle engine equals fast engine: several MXUs and shift ports") {
  uint64_t programs = 0, mmcs_off_mxu0 = 0;
  for (const char* arch : {"tiny-4-x2", "tiny-8-x4", "small-16-x2"}) {
    const TpuConfig cfg = load_config(arch);
    REQUIRE(cfg.mxus > 1);
    const uint32_t R = cfg.array.rows;
    {
      INFO(arch << " every MXU at once");
      check_equal(cfg, rtl_test::chain_program(cfg, 0, R + 3, 5).prog);
    }
    for (uint32_t b : {1u, 2u, R}) {
      INFO(arch << " shift stream b=" << b);
      check_equal(cfg,
                  rtl_test::shift_stream_program(cfg.mxus - 1, cfg.weight_fifo_tiles, b, 7 + b));
    }
    for (uint64_t seed = 1; seed <= 8; ++seed) {
      INFO(arch << " seed " << seed);
      GenOptions go;
      go.instructions = 50;
      go.window = seed % 2 ? 64 : 0;
      const Program p = generate_program(cfg, seed * 313 + 11, go);
      for (const Instruction& in : p.code) mmcs_off_mxu0 += in.op == Opcode::kMatmul && in.d != 0;
      check_equal(cfg, p);
      ++programs;
    }
  }
  CHECK(programs == 24);
  CHECK(mmcs_off_mxu0 > 0);  // the generator used MXUs other than 0
}

// Chained inputs (sim/isa/ISA.md): follower j issues j cycles after its source and computes with
// the source's rows; a source waits for follower j's input to be free at t + j and for every
// follower's shadow, and counts weight_stall until the last of their tiles has arrived
// (tests/engines/rtl/chain_programs.h; test_rtl.cpp checks the same programs' cycles against the
// timing functions).
TEST_CASE("cycle engine equals fast engine: chained inputs") {
  for (const char* arch : {"tiny-4-x2", "tiny-8-x4", "small-16-x2"}) {
    const TpuConfig cfg = load_config(arch);
    const uint32_t M = cfg.mxus;
    std::vector<rtl_test::ChainProgram> cases;
    for (uint32_t src = 0; src + 1 < M; ++src)
      cases.push_back(rtl_test::chain_program(cfg, src, cfg.array.rows + 3, 61 + src));
    for (uint32_t extra : {0u, 1u})
      cases.push_back(rtl_test::follower_busy_program(cfg, M + 6 + extra, 3));
    cases.push_back(rtl_test::follower_shadow_program(cfg, 4));
    for (const rtl_test::ChainProgram& c : cases) {
      INFO(arch << " " << c.prog.name << " fan " << c.fan);
      check_equal(cfg, c.prog);
      const EngineResult r = run_cycle(cfg, c.prog);
      for (size_t s : c.sources)
        for (uint32_t j = 1; j <= c.fan; ++j)
          CHECK(r.timeline[s + j].issue == r.timeline[s].issue + j);
      if (c.prog.name == "follower-busy") {  // the source waited for MXU M - 1's input
        const Instruction& busy = c.prog.code[c.sources[0] - 1];
        CHECK(r.timeline[c.sources[0]].issue ==
              r.timeline[c.sources[0] - 1].issue + busy.c - c.fan);
      }
      if (c.prog.name == "follower-shadow") {  // held for MXU M - 1's tile: stall, then shift
        CHECK(r.counts.weight_shift_cycles == timing::weight_shift_to_switch_cycles(cfg));
        CHECK(r.counts.weight_stall_cycles > timing::weight_tile_transfer_cycles(cfg));
      }
    }
  }
}

// The UB bank interlock (sim/isa/ISA.md, "UB banks"; tests/engines/rtl/interlock_programs.h,
// whose cycles test_rtl.cpp checks on the RTL): each pair of units that may not share a bank port
// is held until the first's window ends on a shared bank and not at all on the next bank, equal to
// the fast engine, on the multi-MXU presets and on bank counts no preset has: three banks of 342
// vectors (not a power of two), 96 banks of 11 (of which 94 hold vectors), one bank (every access
// shares it); random programs on those too.
TEST_CASE("cycle engine equals fast engine: the UB bank interlock") {
  using rtl_test::InterlockPair;
  struct Arch {
    const char* preset;
    uint32_t ub_banks;  // 0: the preset's
  };
  uint64_t held = 0;
  for (const Arch& a : {Arch{"tiny-4", 0}, Arch{"tiny-4-x2", 0}, Arch{"tiny-8-x4", 0},
                        Arch{"tiny-4", 3}, Arch{"tiny-4-x2", 96}, Arch{"tiny-4-x2", 1}}) {
    TpuConfig cfg = load_config(a.preset);
    if (a.ub_banks) cfg.ub_banks = a.ub_banks;
    const uint32_t vb = uint32_t(ub_bank_vectors(cfg));
    REQUIRE(timing::host_transfer_cycles(cfg, 2 * cfg.vector_bytes()) >
            timing::weight_shift_to_switch_cycles(cfg));  // every shadow full before the pair
    std::vector<InterlockPair> pairs = {InterlockPair::kMmcWhm, InterlockPair::kWhmMmc,
                                        InterlockPair::kActRhm, InterlockPair::kRhmAct};
    if (cfg.mxus > 1) pairs.insert(pairs.begin(), InterlockPair::kMmcMmc);
    for (const InterlockPair pair : pairs)
      for (uint32_t len : {6u, 7u}) {
        // the end of bank 0 (of the UB where it is the one bank), and across banks 0 and 1
        std::vector<uint32_t> first_at = {std::min(vb, uint32_t(cfg.ub_vectors()) - 1) - len - 1};
        if (2 * vb + 2 + 2 * len <= cfg.ub_vectors()) first_at.push_back(vb - 2);
        for (const uint32_t at : first_at)
          for (const bool same : {true, false}) {
            if (!same && vb >= cfg.ub_vectors()) continue;  // one bank: no next one
            INFO(a.preset << " with " << cfg.ub_banks
                          << " UB banks: " << rtl_test::interlock_pair_name(pair) << ", vectors "
                          << at << " + " << len << (same ? ", shared bank" : ", next bank"));
            const rtl_test::InterlockProgram ip =
                rtl_test::interlock_program(cfg, pair, at, len, same, 81 + len);
            check_equal(cfg, ip.prog);
            const EngineResult r = run_cycle(cfg, ip.prog);
            const uint64_t t = r.timeline[ip.first].issue;
            CHECK(r.timeline[ip.second].issue == t + (same ? ip.window : 1));
            held += r.timeline[ip.second].issue - (t + 1);
          }
      }
    if (a.ub_banks == 0) continue;
    for (uint64_t seed = 1; seed <= 6; ++seed) {
      INFO(a.preset << " with " << cfg.ub_banks << " UB banks, seed " << seed);
      GenOptions go;
      go.instructions = 50;
      go.window = seed % 2 ? 64 : 0;
      check_equal(cfg, generate_program(cfg, seed * 173 + 3, go));
    }
  }
  CHECK(held > 0);
}

// Issue 6's workload campaign (hidden: run by scripts/agreement_campaign.sh, not by CTest): every
// library workload lowered for small-16 (batch 1, LLM context 128, timing only), each segment run
// on both engines and compared field by field. The SystemC twin runs ~4x10^5 cycles/s at 16x16 and
// the library is ~3.5x10^9 cycles, so the campaign is split:
//   TPUSIM_AGREEMENT_BUDGET   segments over this many simulated cycles are listed, not run
//                             (default 2,000,000);
//   TPUSIM_AGREEMENT_SHARD    "i/n": this process runs shard i of n (segments balanced by cycles,
//                             largest first; shard 0 also lists duplicates and skipped segments);
//   TPUSIM_AGREEMENT_ONLY     comma-separated workload names (default: the whole library);
//   TPUSIM_AGREEMENT_MAX_INSTRUCTIONS  LowerOptions::max_instructions (megascale-530b stores only
//                             above the default 2^26);
//   TPUSIM_AGREEMENT_ARCH     the preset (default small-16; small-16-x2: two MXUs, issue 21).
// A segment whose program and layer map equal an earlier one's (128-bit hash of both) is the same
// deterministic run and is listed as a duplicate, not run twice. One table row per segment.
namespace {

uint64_t env_u64(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::strtoull(v, nullptr, 10) : fallback;
}

struct CampaignEntry {
  std::string workload, group,
      status;  // status: set for entries not run (skipped, duplicate, not lowered)
  size_t segment = 0;
  uint64_t repeat = 1, cycles = 0, instructions = 0;
  uint64_t key[2] = {0, 0};
  int shard = -1;         // >= 0: to be compared by this shard
  bool original = false;  // lowered and not a duplicate of an earlier segment
};

LoweredProgram lower_for_campaign(const TpuConfig& cfg, const std::string& name) {
  WorkloadParams wp;
  wp.batch = 1;
  if (!load_workload(name).phase.empty()) wp.context_len = 128;
  LowerOptions lo;
  lo.values = false;
  lo.max_instructions = env_u64("TPUSIM_AGREEMENT_MAX_INSTRUCTIONS", lo.max_instructions);
  return lower(cfg, load_workload(name, wp), lo);
}

}  // namespace

TEST_CASE("cycle engine equals fast engine: every library workload on small-16", "[.][agreement]") {
  const char* arch = std::getenv("TPUSIM_AGREEMENT_ARCH");
  const TpuConfig cfg = load_config(arch && *arch ? arch : "small-16");
  const uint64_t budget = env_u64("TPUSIM_AGREEMENT_BUDGET", 2000000);
  unsigned shard = 0, shards = 1;
  if (const char* v = std::getenv("TPUSIM_AGREEMENT_SHARD"))
    REQUIRE(std::sscanf(v, "%u/%u", &shard, &shards) == 2);
  REQUIRE(shard < shards);
  const char* only = std::getenv("TPUSIM_AGREEMENT_ONLY");
  const std::string only_list = only ? std::string(",") + only + "," : "";

  // Pass 1: lower everything, size every segment on the fast engine, find duplicates.
  std::vector<CampaignEntry> entries;
  std::vector<std::string> names;
  for (const auto& e : list_workloads()) {
    if (only && only_list.find("," + e.name + ",") == std::string::npos) continue;
    names.push_back(e.name);
    LoweredProgram lp;
    try {
      lp = lower_for_campaign(cfg, e.name);
    } catch (const InputError& err) {
      CampaignEntry c;
      c.workload = e.name;
      c.group = "-";
      c.status = std::string("not lowered: ") + err.what();
      entries.push_back(c);
      continue;
    }
    for (size_t i = 0; i < lp.segments.size(); ++i) {
      const Segment& seg = lp.segments[i];
      CampaignEntry c;
      c.workload = e.name;
      c.group = seg.group;
      c.segment = i;
      c.repeat = seg.repeat;
      c.instructions = seg.program.code.size();
      EngineOptions fo;
      fo.values = false;
      c.cycles = run_fast(cfg, seg.program, fo).counts.cycles;
      const size_t code_bytes = seg.program.code.size() * sizeof(Instruction);
      const size_t map_bytes = seg.layer_of.size() * sizeof(uint32_t);
      c.key[0] =
          fnv1a64(seg.layer_of.data(), map_bytes, fnv1a64(seg.program.code.data(), code_bytes));
      c.key[1] = fnv1a64(seg.program.code.data(), code_bytes,
                         fnv1a64(seg.layer_of.data(), map_bytes, 0x9e3779b97f4a7c15ull));
      for (const CampaignEntry& prev : entries)
        if (prev.original && prev.key[0] == c.key[0] && prev.key[1] == c.key[1] &&
            prev.instructions == c.instructions) {
          c.status = "same program as " + prev.workload + " segment " +
                     std::to_string(prev.segment) + " (" + prev.group + ")";
          break;
        }
      c.original = c.status.empty();
      if (c.original && c.cycles > budget) c.status = "over the budget, not run";
      entries.push_back(c);
    }
  }
  // Balance the runnable segments over the shards by cycles, largest first.
  std::vector<size_t> order;
  for (size_t i = 0; i < entries.size(); ++i)
    if (entries[i].status.empty()) order.push_back(i);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return entries[a].cycles > entries[b].cycles; });
  std::vector<uint64_t> load(shards, 0);
  for (size_t i : order) {
    const size_t s = size_t(std::min_element(load.begin(), load.end()) - load.begin());
    entries[i].shard = int(s);
    load[s] += entries[i].cycles;
  }

  // Pass 2: lower again the workloads with segments in this shard and compare them.
  uint64_t compared = 0, cycles = 0, listed = 0;
  for (const std::string& name : names) {
    bool mine = false;
    for (const CampaignEntry& c : entries) mine |= c.workload == name && c.shard == int(shard);
    LoweredProgram lp;
    if (mine) lp = lower_for_campaign(cfg, name);
    for (const CampaignEntry& c : entries) {
      if (c.workload != name) continue;
      if (c.shard == int(shard)) {
        const Segment& seg = lp.segments.at(c.segment);
        INFO(name << " segment " << c.segment << " (" << seg.group << ")");
        const bool equal = check_equal(cfg, seg.program, &seg.layer_of, lp.layers.size(), false);
        std::printf("| %s | %zu %s | %llu | %llu | %llu | %s (shard %u) |\n", name.c_str(),
                    c.segment, c.group.c_str(), (unsigned long long)c.repeat,
                    (unsigned long long)c.instructions, (unsigned long long)c.cycles,
                    equal ? "equal" : "DIFFERENT", shard);
        ++compared;
        cycles += c.cycles;
      } else if (c.shard < 0 && shard == 0) {
        std::printf("| %s | %zu %s | %llu | %llu | %llu | %s |\n", name.c_str(), c.segment,
                    c.group.c_str(), (unsigned long long)c.repeat,
                    (unsigned long long)c.instructions, (unsigned long long)c.cycles,
                    c.status.c_str());
        ++listed;
      }
      std::fflush(stdout);
    }
  }
  std::printf(
      "shard %u/%u: segments compared: %llu, cycles compared: %llu, rows listed: %llu, budget: "
      "%llu\n",
      shard, shards, (unsigned long long)compared, (unsigned long long)cycles,
      (unsigned long long)listed, (unsigned long long)budget);
}

}  // namespace tpusim

namespace tpusim {

// The twin's accumulator banks (sim/engines/cycle/accumulators.h) on their own: two MXUs writing
// rows of one bank in one cycle stop the simulation, as the RTL's assertion does; rows of two
// banks are written side by side. Validated programs never do the first (the race rule's bank
// clause), so no engine test reaches it.
TEST_CASE("twin accumulators: one bank written by two MXUs in one cycle stops the simulation") {
  auto run = [](uint32_t row1) {
    sc::new_sc_context();
    sc_core::sc_clock clk("clk", 1, sc_core::SC_NS);
    sc_core::sc_signal<bool> rst_n("rst_n"), rd_en("rd_en");
    sc_core::sc_signal<uint32_t> rd_addr("rd_addr");
    sc_core::sc_signal<sc::Bits> rd_data("rd_data");
    sc_core::sc_vector<sc_core::sc_signal<bool>> valid("valid", 2), acc("acc", 2), last("last", 2),
        done("done", 2);
    sc_core::sc_vector<sc_core::sc_signal<uint32_t>> addr("addr", 2);
    sc_core::sc_vector<sc_core::sc_signal<sc::Bits>> data("data", 2);
    sc::accumulators a("u_accumulators", 256, 4, 2);  // 4 banks of 64 rows
    a.clk_i(clk);
    a.rst_ni(rst_n);
    a.wr_valid_i(valid);
    a.wr_accumulate_i(acc);
    a.wr_last_i(last);
    a.wr_addr_i(addr);
    a.wr_data_i(data);
    a.mmc_done_o(done);
    a.rd_en_i(rd_en);
    a.rd_addr_i(rd_addr);
    a.rd_data_o(rd_data);
    rst_n.write(true);
    for (uint32_t m = 0; m < 2; ++m) {
      sc::Bits row(4 * 32);
      for (uint32_t c = 0; c < 4; ++c) row.u32()[c] = 10 * m + c + 1;
      data[m].write(row);
      valid[m].write(true);
      addr[m].write(m == 0 ? 0 : row1);
    }
    sc_core::sc_start(1, sc_core::SC_NS);  // the rows enter the write stages
    for (uint32_t m = 0; m < 2; ++m) valid[m].write(false);
    sc_core::sc_start(2, sc_core::SC_NS);  // and are written
    return std::vector<uint32_t>{a.row(0)[3], a.row(row1)[0]};
  };
  CHECK(run(64) == std::vector<uint32_t>{4, 11});  // banks 0 and 1
  CHECK_THROWS_WITH(run(1), Catch::Contains("bank 0 written by MXUs 0 and 1"));
  sc::new_sc_context();  // leave no broken simulation to the next test
}

// The twin's UB banks (sim/engines/cycle/unified_buffer.h) on their own: two units reading one
// bank, or the DMA and the activation unit writing one, in one cycle stop the simulation, as the
// RTL's assertions do; units on different banks, or a reader whose read enable is low, do not.
// The controller's bank interlock (sim/isa/ISA.md "UB banks") never lets a program do the first,
// so no engine test reaches it.
TEST_CASE(
    "twin unified buffer: one bank read or written by two units in one cycle stops the "
    "simulation") {
  struct Reads {
    uint32_t mxu1 = 20;  // the vector MXU 1 reads (MXU 0 reads vector 3)
    bool mxu1_re = true;
    uint32_t dma = 40;  // the vector the DMA reads
    uint32_t act = 20;  // the vector the activation unit writes (the DMA writes vector 3)
  };
  auto run = [](const Reads& x) {
    sc::new_sc_context();
    sc_core::sc_clock clk("clk", 1, sc_core::SC_NS);
    sc_core::sc_signal<bool> dma_re("dma_re"), dma_we("dma_we"), act_we("act_we");
    sc_core::sc_signal<uint32_t> dma_addr("dma_addr"), act_addr("act_addr");
    sc_core::sc_signal<sc::Bits> dma_wdata("dma_wdata"), dma_rdata("dma_rdata"),
        act_wdata("act_wdata");
    sc_core::sc_vector<sc_core::sc_signal<bool>> re("re", 2);
    sc_core::sc_vector<sc_core::sc_signal<uint32_t>> addr("addr", 2);
    sc_core::sc_vector<sc_core::sc_signal<sc::Bits>> rdata("rdata", 2);
    sc::unified_buffer u("u_unified_buffer", 64, 4, 4, 2);  // 4 banks of 16 vectors
    u.clk_i(clk);
    u.mxu_re_i(re);
    u.mxu_addr_i(addr);
    u.mxu_rdata_o(rdata);
    u.dma_re_i(dma_re);
    u.dma_we_i(dma_we);
    u.dma_addr_i(dma_addr);
    u.dma_wdata_i(dma_wdata);
    u.dma_rdata_o(dma_rdata);
    u.act_we_i(act_we);
    u.act_addr_i(act_addr);
    u.act_wdata_i(act_wdata);
    auto word = [](uint32_t v) {
      sc::Bits b(32);
      b.u32()[0] = v;
      return b;
    };
    // edge 1: the DMA writes vector 3, the activation unit vector x.act
    dma_we.write(true);
    dma_addr.write(3);
    dma_wdata.write(word(0x11223344));
    act_we.write(true);
    act_addr.write(x.act);
    act_wdata.write(word(0x55667788));
    sc_core::sc_start(1, sc_core::SC_NS);
    // edge 2: MXU 0 reads vector 3, MXU 1 vector x.mxu1, the DMA vector x.dma
    dma_we.write(false);
    act_we.write(false);
    re[0].write(true);
    addr[0].write(3);
    re[1].write(x.mxu1_re);
    addr[1].write(x.mxu1);
    dma_re.write(true);
    dma_addr.write(x.dma);
    sc_core::sc_start(1, sc_core::SC_NS);
    for (uint32_t m = 0; m < 2; ++m) re[m].write(false);
    dma_re.write(false);
    sc_core::sc_start(1, sc_core::SC_NS);  // the read registers
    return std::vector<uint32_t>{rdata[0].read().u32()[0], rdata[1].read().u32()[0],
                                 dma_rdata.read().u32()[0]};
  };
  // banks 0, 1 and 2 read; banks 0 and 1 written
  CHECK(run(Reads{}) == std::vector<uint32_t>{0x11223344, 0x55667788, 0});
  // MXU 1 addresses bank 0 with its read enable low: it reads nothing (its data is bank 0's
  // register, loaded by MXU 0)
  CHECK(run(Reads{5, false}) == std::vector<uint32_t>{0x11223344, 0x11223344, 0});
  CHECK_THROWS_WITH(run(Reads{5}), Catch::Contains("bank 0 read by MXUs 0 and 1"));
  CHECK_THROWS_WITH(run(Reads{20, true, 31}), Catch::Contains("bank 1 read by MXU 1 and the DMA"));
  CHECK_THROWS_WITH(run(Reads{20, true, 40, 4}),
                    Catch::Contains("bank 0 written by the DMA and the activation unit"));
  sc::new_sc_context();  // leave no broken simulation to the next test
}

}  // namespace tpusim
