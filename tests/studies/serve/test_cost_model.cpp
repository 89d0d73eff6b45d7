// Per-iteration cost model: composition, bucketing, and agreement with a whole fast-engine run.
#include <catch2/catch.hpp>

#include "models/errors.h"
#include "sim/compiler/lowering.h"
#include "sim/compiler/workload.h"
#include "sim/engines/fast/fast_engine.h"
#include "sim/studies/serve/scheduler.h"
#include "tests/studies/serve/shared_cost.h"

using namespace tpusim;
using namespace tpusim::serve;

namespace {

uint64_t full_run_cycles(const TpuConfig& cfg, const WorkloadParams& wp) {
  const Workload wl = load_workload("opt-13b", wp);
  LowerOptions lo;
  lo.values = false;
  const LoweredProgram lp = lower(cfg, wl, lo);
  uint64_t cycles = 0;
  for (const Segment& s : lp.segments) {
    EngineOptions fo;
    fo.values = false;
    fo.record_timeline = false;
    cycles += run_fast(cfg, s.program, fo).counts.cycles * s.repeat;
  }
  return cycles;
}

}  // namespace

TEST_CASE("model shape and K/V capacity of opt-13b on tpu-llm", "[cost]") {
  CostModel& c = shared_cost();
  const ModelInfo& m = c.model();
  CHECK(m.layers == 40);
  CHECK(m.max_context == 2048);
  CHECK(m.kv_bytes_per_token() == 2ull * 40 * 40 * 128);  // K and V, int8, every layer
  // 13B int8 weights fit 32 GiB with room for the cache.
  CHECK(m.weight_bytes > 12'000'000'000ull);
  CHECK(m.weight_bytes < 14'000'000'000ull);
  CHECK(kv_capacity_tokens(c) ==
        (c.config().weight_memory.bytes - m.weight_bytes) / m.kv_bytes_per_token());
}

TEST_CASE("an iteration is the sum of its parts", "[cost]") {
  CostModel& c = shared_cost();
  const std::vector<uint32_t> pre{100, 300}, dec{500, 900, 1500};
  EventCounts want = c.dense(100 + 300 + 3);
  want += c.head(5);
  want += c.prefill_attention(100);
  want += c.prefill_attention(300);
  for (uint32_t x : dec) want += c.decode_attention(x, dec.size());
  CHECK(c.iteration(pre, dec, 0) == want);
  CHECK(c.seconds(want) == Approx(double(want.cycles) / (c.config().clock_mhz * 1e6)));
}

TEST_CASE("lengths round up to the bucket; decode attention steps at the array width", "[cost]") {
  CostModel& c = shared_cost();
  const uint32_t w = c.config().array.cols;  // K/V tiles hold w positions
  CHECK(c.decode_attention(1) == c.decode_attention(c.options().bucket));
  CHECK(c.decode_attention(w - 10) == c.decode_attention(w));
  CHECK(c.decode_attention(w + 1).cycles > c.decode_attention(w).cycles);
  CHECK(c.dense(3) == c.dense(4));
  CHECK(c.dense(c.options().bucket + 1) == c.dense(2 * c.options().bucket));
  CHECK(c.dense(4).cycles < c.dense(c.options().bucket).cycles);
  CHECK(c.dense(2 * w).cycles >= c.dense(w).cycles);
  // Above max_context: whole chunks plus the remainder.
  EventCounts two = c.dense(2048);
  two += c.dense(64);
  CHECK(c.dense(2048 + 64) == two);
}

TEST_CASE("selective batching agrees with a whole decode run of the batch", "[cost]") {
  // A uniform decode batch is exactly what one fast-engine run simulates; the composed cost
  // (dense at b tokens + head(b) + b x one sequence's share of a batch's attention) must match
  // it within 2 %.
  CostModel& c = shared_cost();
  for (uint32_t b : {3u, 4u, 16u}) {
    WorkloadParams wp;
    wp.phase = "decode";
    wp.batch = b;
    wp.context_len = 512;
    const uint64_t full = full_run_cycles(c.config(), wp);
    const uint64_t composed = c.iteration({}, std::vector<uint32_t>(b, 512), 0).cycles;
    CHECK(double(composed) == Approx(double(full)).epsilon(0.02));
  }
  // A lone prefill matches its own run up to the head, which the cost model rounds up to a
  // bucket of 64 sequences (< 0.5 %).
  WorkloadParams wp;
  wp.phase = "prefill";
  wp.batch = 1;
  wp.prompt_len = 256;
  CHECK(double(c.iteration({256}, {}, 0).cycles) ==
        Approx(double(full_run_cycles(c.config(), wp))).epsilon(0.005));
}

TEST_CASE("LoRA adapters add cost that grows with the distinct adapters", "[cost]") {
  CostModel& c = shared_cost();
  const uint64_t a1 = c.lora_extra(1).cycles, a4 = c.lora_extra(4).cycles,
                 a3 = c.lora_extra(3).cycles;
  CHECK(c.lora_extra(0).cycles == 0);
  CHECK(a1 > 0);
  CHECK(a4 > a1);
  CHECK(a3 >= c.lora_extra(2).cycles);
  CHECK(a3 <= a4);
}

TEST_CASE("a model without decode phases is refused", "[cost]") {
  CHECK_THROWS_AS(CostModel(load_config("tpu-llm"), "bert-base"), InputError);
  CHECK_THROWS_AS(CostModel(load_config("tpu-llm"), "no-such-model"), InputError);
}

TEST_CASE("K/V dtype and causal prefill are stated, selectable choices", "[cost]") {
  CostModel& int8 = shared_cost();
  CostOptions o;
  o.kv_dtype = "fp16";
  o.causal_prefill = true;
  CostModel fp16(load_config("tpu-llm"), "opt-13b", o);
  CHECK(fp16.model().kv_bytes_per_token() == 2 * int8.model().kv_bytes_per_token());
  // fp16 halves the token slots (up to rounding).
  const uint64_t a = kv_capacity_tokens(int8), b = kv_capacity_tokens(fp16);
  CHECK((b == a / 2 || b + 1 == a / 2));
  // Causal halving: a 256-token prompt's attention is (256 + 1) / (2 x 256) of the full one.
  const EventCounts& full = int8.prefill_attention(256);
  const EventCounts& half = fp16.prefill_attention(256);
  CHECK(half.useful_macs == full.useful_macs * 257 / 512);
  CHECK(half.cycles == full.cycles * 257 / 512);
  // fp16 K/V: a decode sequence's attention counts twice the int8 one's.
  const EventCounts d8 = int8.iteration({}, {512}, 0);
  const EventCounts d16 = fp16.iteration({}, {512}, 0);
  CHECK(d16.cycles - d8.cycles == int8.decode_attention(512, 1).cycles);
  o.kv_dtype = "bf8";
  CHECK_THROWS_WITH(CostModel(load_config("tpu-llm"), "opt-13b", o),
                    Catch::Contains("kv_dtype bf8"));
}

TEST_CASE("serve --device prices iterations by the device's roofline", "[cost]") {
  CostOptions o;
  o.device = "a100-40gb";
  o.device_dtype = "fp16";
  o.kv_dtype = "fp16";
  CostModel gpu(load_config("tpu-llm"), "opt-13b", o);
  REQUIRE(gpu.device() != nullptr);
  CHECK(gpu.device()->dtype == "fp16");
  const ModelInfo& m = gpu.model();
  // One decode token: every fp16 weight read once at the derated bandwidth (Eq. B2), plus the
  // per-iteration host time (Eq. B8) and a little K/V and activation traffic.
  const double bw = gpu.device()->memory_bytes_per_s() * gpu.device()->memory_efficiency;
  const double weights_s = 2.0 * double(m.weight_bytes) / bw;
  const double t = gpu.seconds(gpu.iteration({}, {64}, 0));
  CHECK(t > weights_s);
  CHECK(t < 1.3 * weights_s);
  // A longer context costs more (K/V reads), a bigger batch less than proportionally.
  CHECK(gpu.seconds(gpu.iteration({}, {1024}, 0)) > t);
  const std::vector<uint32_t> d32(32, 512);
  CHECK(gpu.seconds(gpu.iteration({}, d32, 0)) < 4.0 * t);
  // K/V capacity: the device's 40 GB less the fp16 weights.
  CHECK(kv_capacity_tokens(gpu) ==
        uint64_t((40e9 - 2.0 * double(m.weight_bytes)) / double(m.kv_bytes_per_token())));
  // tp x pp on a device (issue 22): shards priced on the device (test_orca_pipeline.cpp).
  o.tp = 2;
  CHECK(CostModel(load_config("tpu-llm"), "opt-13b", o).stages().size() == 1);
  o = {};
  o.device_dtype = "fp16";
  CHECK_THROWS_WITH(CostModel(load_config("tpu-llm"), "opt-13b", o),
                    Catch::Contains("device_dtype: needs a device"));
  o.device = "a100-40gb";
  o.device_dtype = "fp64";
  CHECK_THROWS_WITH(CostModel(load_config("tpu-llm"), "opt-13b", o),
                    Catch::Contains("device_dtype fp64"));
}
