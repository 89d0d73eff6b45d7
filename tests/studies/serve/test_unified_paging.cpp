// S-LoRA's unified paging, the vLLM-packed baseline and chunked prefill (unified_paging.h):
// adapter memory and loads charged, the engine's cost per rank and token, tokens conserved,
// pool invariants, and Sarathi-Serve's TTFT / TPOT trade-off.
#include <catch2/catch.hpp>

#include <algorithm>

#include "models/config.h"
#include "models/errors.h"
#include "sim/studies/serve/metrics.h"
#include "sim/studies/serve/unified_paging.h"
#include "tests/studies/serve/serve_checks.h"
#include "tests/studies/serve/shared_cost.h"

using namespace tpusim;
using namespace tpusim::serve;

namespace {

// S-LoRA's setting S2 (workloads/lora-s2.yaml): llama-7b, adapter j of rank {64, 32, 16, 8}[j % 4].
CostModel& lora_cost() {
  static CostModel cost(load_config("tpu-llm"), "lora-s2");
  return cost;
}

Request req(uint64_t id, double arrival, uint32_t prompt, uint32_t output, int32_t adapter) {
  Request r;
  r.id = id;
  r.arrival_s = arrival;
  r.prompt_len = prompt;
  r.output_len = output;
  r.adapter = adapter;
  return r;
}

ScheduleResult run(const std::vector<Request>& t, SchedulerOptions o, CostModel& cost = lora_cost(),
                   const PoolObserver& observe = {}) {
  o.scheduler = "paged";
  if (!observe) return simulate(t, cost, o);
  ScheduleResult out;
  out.kv_capacity_tokens = o.kv_capacity_tokens ? o.kv_capacity_tokens : kv_capacity_tokens(cost);
  out.requests.resize(t.size());
  for (size_t i = 0; i < t.size(); ++i) out.requests[i].request = t[i];
  run_unified(t, cost, o, out, observe);
  return out;
}

double cycles_s(const CostModel& c) { return 1.0 / c.config().clock_hz(); }

}  // namespace

TEST_CASE("the model's rank mix sets each adapter's rank and bytes", "[lora]") {
  const ModelInfo& m = lora_cost().model();
  REQUIRE(m.lora_ranks == std::vector<uint32_t>{64, 32, 16, 8});
  CHECK(m.adapter_rank(0) == 64);
  CHECK(m.adapter_rank(2) == 16);
  CHECK(m.adapter_rank(5) == 32);
  // q, k, v, o of llama-7b (MHA): 8 r d_model int8 elements per layer, i.e. 4 r tokens of K/V.
  CHECK(lora_cost().adapter_bytes(16) == 8ull * 16 * 4096 * 32);
  CHECK(lora_cost().adapter_bytes(64) == 4 * lora_cost().adapter_bytes(16));
  CHECK(adapter_blocks(lora_cost(), 16, 16) == 4);  // 64 K/V token slots
  CHECK(adapter_blocks(lora_cost(), 64, 16) == 16);
  // A model without a lora section takes CostOptions::lora_rank.
  CHECK(shared_cost().model().lora_ranks == std::vector<uint32_t>{16});
}

TEST_CASE("LoRA cost grows with rank and tokens as the engine measures", "[lora]") {
  CostModel& c = lora_cost();
  const uint64_t r16 = c.lora_tokens(16, 1500).cycles, r64 = c.lora_tokens(64, 1500).cycles;
  const uint64_t d16 = c.lora_tokens(16, 1).cycles;
  CHECK(r16 > 0);
  CHECK(r64 > r16);
  // A 1,500-token prefill pays far more than one decode row (issue 22: 1.5 ms vs 6.1 ms).
  CHECK(r16 > 2 * d16);
  CHECK(c.lora_tokens(16, 0).cycles == 0);
  // Tokens above max_context: whole chunks of it plus the rest.
  CHECK(c.lora_tokens(16, 2048 + 64).cycles ==
        c.lora_tokens(16, 2048).cycles + c.lora_tokens(16, 64).cycles);
  // In a run: a lone 1,500-token request of a rank-64 adapter waits for its first token exactly
  // the rank-64 minus rank-16 cost (and its load's difference) longer than one of rank 16.
  SchedulerOptions o;
  o.lora = true;
  const auto a = run({req(0, 0.0, 1500, 1, 0)}, o);  // adapter 0: rank 64
  const auto b = run({req(0, 0.0, 1500, 1, 2)}, o);  // adapter 2: rank 16
  const double expect = c.seconds(c.lora_tokens(64, 1500)) - c.seconds(c.lora_tokens(16, 1500)) +
                        a.adapter_load_s - b.adapter_load_s;
  CHECK(a.requests[0].ttft_s() - b.requests[0].ttft_s() == Approx(expect).margin(4 * cycles_s(c)));
}

TEST_CASE("adapter loads are charged when not resident and not when resident", "[lora]") {
  CostModel& c = lora_cost();
  SchedulerOptions o;
  o.lora = true;
  // Two identical requests of adapter 2 (rank 16), the second after the first is done.
  const auto r = run({req(0, 0.0, 200, 4, 2), req(1, 5.0, 200, 4, 2)}, o);
  check_conserved({req(0, 0.0, 200, 4, 2), req(1, 5.0, 200, 4, 2)}, r);
  const double load = adapter_load_seconds(c, c.adapter_bytes(16));
  CHECK(load > 0.0);
  CHECK(r.adapter_loads == 1);
  CHECK(r.adapter_load_bytes == c.adapter_bytes(16));
  CHECK(r.adapter_load_s == Approx(load));
  CHECK(r.requests[0].ttft_s() - r.requests[1].ttft_s() == Approx(load).margin(2 * cycles_s(c)));
  // Without lora neither pays anything for adapters.
  const auto base = run({req(0, 0.0, 200, 4, 2)}, {});
  CHECK(base.adapter_loads == 0);
  CHECK(base.requests[0].ttft_s() < r.requests[1].ttft_s());
  // Host link: 2 x 4 targets x 32 layers DMAs, each the link latency, plus the bytes.
  const TpuConfig& cfg = c.config();
  CHECK(load == Approx(256.0 * cfg.host_link.latency_cycles / cfg.clock_hz() +
                       double(c.adapter_bytes(16)) / (cfg.host_link.bandwidth_mb_s * 1e6)));
}

TEST_CASE("a request without an adapter loads and pays nothing for LoRA", "[lora]") {
  SchedulerOptions o;
  o.lora = true;
  const auto with = run({req(0, 0.0, 300, 3, -1)}, o);
  const auto without = run({req(0, 0.0, 300, 3, -1)}, {});
  CHECK(with.adapter_loads == 0);
  CHECK(with.kv_adapters == 0.0);
  CHECK(with.requests[0].finish_s == without.requests[0].finish_s);
}

TEST_CASE("unused adapters are evicted when the pool needs their blocks", "[lora]") {
  SchedulerOptions o;
  o.lora = true;
  // A pool of 40 blocks: one request (13 blocks) beside one rank-64 adapter (16 blocks); a
  // second adapter needs the first one evicted, and coming back to it loads it again.
  o.kv_capacity_tokens = 40 * 16;
  const std::vector<Request> t = {req(0, 0.0, 200, 4, 0), req(1, 5.0, 200, 4, 4),
                                  req(2, 10.0, 200, 4, 0)};
  const auto r = run(t, o);
  check_conserved(t, r);
  CHECK(r.adapter_loads == 3);
  CHECK(r.adapter_evictions == 2);
  CHECK(r.peak_resident_adapters == 1);
}

TEST_CASE("resident adapters take K/V capacity from the unified pool", "[lora]") {
  CostModel& c = lora_cost();
  // 24 requests at once, each its own rank-64 adapter (ids 0, 4, 8, ...: rank 64), in a pool of
  // 400 blocks: a request takes blocks_for(101) = 7 blocks and its adapter 16 more.
  std::vector<Request> t;
  for (uint32_t i = 0; i < 24; ++i) t.push_back(req(i, 0.0, 100, 20, int32_t(4 * i)));
  SchedulerOptions o;
  o.kv_capacity_tokens = 400 * 16;
  const auto without = run(t, o);
  o.lora = true;
  uint64_t max_used = 0;
  const auto with = run(t, o, c, [&](const BlockManager& bm) {
    bm.check();
    max_used = std::max(max_used, bm.used_gpu_blocks());
  });
  check_conserved(t, with);
  check_conserved(t, without);
  CHECK(without.max_running == 24);  // 24 x 7 blocks fit without adapters
  const uint64_t per = 7 + adapter_blocks(c, 64, 16);
  CHECK(with.max_running == 400 / per);  // 17
  CHECK(with.kv_adapters > 0.0);
  CHECK(max_used <= 400);
  CHECK(with.chips[0].busy_s > without.chips[0].busy_s);
}

TEST_CASE("pool invariants and tokens hold under preemption with adapters", "[lora]") {
  TraceOptions to;
  to.name = "slora";
  to.requests = 80;
  to.rate_per_s = 50.0;
  to.adapters = 40;
  to.seed = 5;
  to.max_context = 2048;
  const auto t = make_trace(to);
  SchedulerOptions o;
  o.lora = true;
  o.kv_capacity_tokens = 900 * 16;  // tight: preemptions and evictions
  uint64_t checks = 0;
  const auto r = run(t, o, lora_cost(), [&](const BlockManager& bm) {
    bm.check();
    ++checks;
  });
  check_conserved(t, r);
  CHECK(checks > 0);
  CHECK(r.preemptions > 0);
  CHECK(r.adapter_evictions > 0);
  CHECK(r.adapter_loads > r.peak_resident_adapters);
}

TEST_CASE("vLLM-packed: one model copy per adapter, out of memory with too many", "[lora]") {
  TraceOptions to;
  to.name = "slora";
  to.requests = 40;
  to.rate_per_s = 10.0;
  to.adapters = 2;
  to.seed = 3;
  const auto t = make_trace(to);
  SchedulerOptions o;
  o.lora = true;
  const auto slora = run(t, o);
  o.lora_packed = true;
  const auto packed = run(t, o);
  check_conserved(t, packed);
  CHECK(packed.packed_copies == 2);
  // Two copies of llama-7b (6.7 GB int8 each) share 32 GiB: less K/V than one copy.
  CHECK(packed.kv_capacity_tokens < slora.kv_capacity_tokens);
  CHECK(packed.adapter_loads == 0);
  // Eight copies of its weights exceed tpu-llm's 32 GiB.
  to.adapters = 8;
  to.requests = 200;
  const auto t8 = make_trace(to);
  CHECK_THROWS_WITH(run(t8, o), Catch::Contains("out of memory"));
}

TEST_CASE("lora and chunked prefill need the paged scheduler and single sequences", "[lora]") {
  const std::vector<Request> t = {req(0, 0.0, 10, 2, 0)};
  SchedulerOptions o;
  o.lora = true;
  o.scheduler = "continuous";
  CHECK_THROWS_AS(simulate(t, lora_cost(), o), InputError);
  o = {};
  o.chunked_prefill_tokens = 256;
  o.scheduler = "static";
  CHECK_THROWS_AS(simulate(t, lora_cost(), o), InputError);
  std::vector<Request> wide = t;
  wide[0].width = 2;
  o.scheduler = "paged";
  CHECK_THROWS_WITH(simulate(wide, lora_cost(), o), Catch::Contains("one sequence"));
}

TEST_CASE("chunked prefill conserves tokens and trades TTFT for TPOT", "[chunked]") {
  // Long prompts arriving among running decodes (a mixed trace): unchunked, each prompt stalls
  // every decode for its whole prefill; chunked, decodes run every iteration.
  TraceOptions to;
  to.name = "longbench";
  to.requests = 60;
  to.rate_per_s = 1.0;
  to.seed = 7;
  const auto t = make_trace(to);
  SchedulerOptions o;
  o.scheduler = "paged";
  const auto whole = simulate(t, shared_cost(), o);
  o.chunked_prefill_tokens = 256;
  const auto chunked = simulate(t, shared_cost(), o);
  check_conserved(t, whole);
  check_conserved(t, chunked);
  const SloTargets none;
  const auto sw = summarize(whole, shared_cost(), none);
  const auto sc = summarize(chunked, shared_cost(), none);
  CHECK(sc["tpot_s"]["p99"].get<double>() < sw["tpot_s"]["p99"].get<double>());
  // Generation stalls: the longest gap between a request's tokens shrinks.
  CHECK(sc["max_tbt_s"]["p99"].get<double>() < sw["max_tbt_s"]["p99"].get<double>());
  CHECK(sc["ttft_s"]["mean"].get<double>() > sw["ttft_s"]["mean"].get<double>());
  // Every iteration within the budget: decodes plus chunks <= 256 tokens.
  CHECK(chunked.chips[0].iterations > whole.chips[0].iterations);
}

TEST_CASE("a prompt's chunks cost its unchunked prefill's attention", "[chunked]") {
  CostModel& c = shared_cost();
  // One chunk holding the whole prompt is iteration()'s prefill.
  const std::vector<uint32_t> decode = {300, 700};
  CHECK(c.iteration_chunked({{0, 1024, true}}, decode, {}).cycles ==
        c.iteration({1024}, decode, 0).cycles);
  // Four chunks of 256: their attention parts add up to the 1,024-token prefill's.
  uint64_t chunks = 0;
  for (uint32_t o = 0; o < 1024; o += 256) {
    const EventCounts before = o ? c.prefill_attention(o) : EventCounts{};
    chunks += minus(c.prefill_attention(o + 256), before).cycles;
  }
  CHECK(chunks == c.prefill_attention(1024).cycles);
  // A chunk that does not end its prompt computes no LM head.
  CHECK(c.iteration_chunked({{0, 256, false}}, {}, {}).cycles <
        c.iteration_chunked({{0, 256, true}}, {}, {}).cycles);
}

TEST_CASE("a heterogeneous batch pays each adapter at its rank, launches once on a device",
          "[lora]") {
  const std::vector<CostModel::PrefillChunk> p = {{0, 200, true}};
  const std::vector<uint32_t> d = {300, 400, 500};
  CostModel& c = lora_cost();
  const uint64_t base = c.iteration_chunked(p, d, {}).cycles;
  const uint64_t two = c.iteration_chunked(p, d, {{64, 201}, {16, 2}}).cycles;
  CHECK(two - base == c.lora_tokens(64, 201).cycles + c.lora_tokens(16, 2).cycles);
  // On the A100's roofline the LoRA kernels' launches (Eq. B8) come once per iteration.
  CostOptions o;
  o.device = "a100";
  o.device_dtype = "fp16";
  CostModel g(load_config("tpu-llm"), "lora-s2", o);
  const uint64_t gbase = g.iteration_chunked(p, d, {}).cycles;
  const uint64_t one = g.iteration_chunked(p, d, {{64, 201}}).cycles - gbase;
  const uint64_t both = g.iteration_chunked(p, d, {{64, 201}, {16, 2}}).cycles - gbase;
  const uint64_t launch = one - g.lora_tokens(64, 201).cycles;
  CHECK(launch > 0);
  CHECK(both == g.lora_tokens(64, 201).cycles + g.lora_tokens(16, 2).cycles + launch);
}
