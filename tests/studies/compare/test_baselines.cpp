// Roofline baseline devices (models/baselines.h): the shipped YAMLs against the reference table,
// the strict loader's errors, and Eq. B1-B6 against hand derivations. Expected values come from
// ../shared/reference/energy-carbon.md ("Baseline devices") and tpu-v1.md (Table 2).
#include <catch2/catch.hpp>

#include <cmath>
#include <string>

#include "models/baselines.h"
#include "models/carbon.h"
#include "models/errors.h"
#include "models/perf.h"

using namespace tpusim;
using Catch::Matchers::Contains;

namespace {

BaselineOp gemm(uint64_t m, uint64_t k, uint64_t n) {
  BaselineOp op;
  op.layer = "g";
  op.m = m, op.k = k, op.n = n;
  op.weight_bytes = k * n;
  op.act_bytes = m * k + m * n;
  return op;
}

BaselineWorkload one_op(const BaselineOp& op, uint64_t examples = 1) {
  BaselineWorkload wl;
  wl.name = "w";
  wl.examples = examples;
  wl.ops = {op};
  return wl;
}

// A round-number device: 1 int8 TOPS, 2 fp32 TFLOPS, 1 GB/s, idle 10 W, TDP 110 W.
const char* kToyYaml = R"(
name: toy
kind: gpu
dtype: int8
int8_tops: 1
fp16_tflops: 0
fp32_tflops: 2
memory_gb_s: 1
memory_gb: 10
memory_type: hbm2
tdp_w: 110
idle_w: 10
die_mm2: 100
node_nm: 7
efficiency:
  compute: 0.5
  memory: 0.25
)";

std::string toy_with(const std::string& from, const std::string& to) {
  std::string s = kToyYaml;
  const size_t at = s.find(from);
  REQUIRE(at != std::string::npos);
  return s.replace(at, from.size(), to);
}

void require_input_error(const std::string& yaml, const std::string& part1,
                         const std::string& part2) {
  try {
    parse_baseline_device(yaml, "dev.yaml");
    FAIL("no InputError");
  } catch (const InputError& e) {
    const std::string msg = e.what();
    CHECK_THAT(msg, Contains("dev.yaml"));
    CHECK_THAT(msg, Contains(part1));
    CHECK_THAT(msg, Contains(part2));
  }
}

}  // namespace

TEST_CASE("shipped devices match the reference table rows", "[baselines]") {
  const auto names = default_baseline_names();
  REQUIRE(names ==
          std::vector<std::string>{"haswell", "k80", "t4", "v100", "a100", "h100", "h200"});
  const BaselineDevice h = load_baseline_device("haswell");
  CHECK(h.int8_tops == 2.6);
  CHECK(h.fp32_tflops == 1.3);
  CHECK(h.memory_gb_s == 51);
  CHECK(h.tdp_w == 145);
  CHECK(h.idle_w == 41);  // tpu-v1.md Table 2
  CHECK(h.die_mm2 == 662);
  CHECK(h.node_nm == 22);
  CHECK(h.dtype == "int8");
  const BaselineDevice k = load_baseline_device("k80");
  CHECK(k.fp32_tflops == 2.8);
  CHECK(k.memory_gb_s == 160);
  CHECK(k.tdp_w == 150);
  CHECK(k.idle_w == 25);
  CHECK(k.die_mm2 == 561);
  CHECK(k.node_nm == 28);
  CHECK(k.dtype == "fp32");  // no int8 on K80
  const BaselineDevice t4 = load_baseline_device("t4");
  CHECK(t4.int8_tops == 130);
  CHECK(t4.fp16_tflops == 65);
  CHECK(t4.memory_gb_s == 320);
  CHECK(t4.tdp_w == 70);
  CHECK(t4.die_mm2 == 545);
  const BaselineDevice v = load_baseline_device("v100");
  CHECK(v.fp16_tflops == 125);
  CHECK(v.int8_tops == 0);
  CHECK(v.dtype == "fp16");
  CHECK(v.memory_gb_s == 900);
  CHECK(v.tdp_w == 300);
  CHECK(v.die_mm2 == 815);
  const BaselineDevice a = load_baseline_device("a100");
  CHECK(a.int8_tops == 624);
  CHECK(a.fp16_tflops == 312);
  CHECK(a.memory_gb_s == 2039);
  CHECK(a.tdp_w == 400);
  CHECK(a.die_mm2 == 826);
  CHECK(a.node_nm == 7);
  for (const char* n : {"h100", "h200"}) {
    const BaselineDevice d = load_baseline_device(n);
    CHECK(d.int8_tops == 1979);  // dense: half the datasheet's 2:4-sparse figure
    CHECK(d.fp16_tflops == 989);
    CHECK(d.tdp_w == 700);
    CHECK(d.die_mm2 == 814);
  }
  CHECK(load_baseline_device("h100").memory_gb_s == 3350);
  CHECK(load_baseline_device("h200").memory_gb_s == 4800);
}

TEST_CASE("device list parsing and unknown names", "[baselines]") {
  const auto devs = load_baseline_devices(" haswell , k80 ");
  REQUIRE(devs.size() == 2);
  CHECK(devs[1].name == "k80");
  CHECK(load_baseline_devices("").size() == default_baseline_names().size());
  CHECK_THROWS_AS(load_baseline_device("no-such-device"), InputError);
  CHECK_THROWS_AS(load_baseline_device("/nonexistent/dev.yaml"), InputError);
}

TEST_CASE("device YAML errors name the file and the key", "[baselines]") {
  REQUIRE_NOTHROW(parse_baseline_device(kToyYaml, "dev.yaml"));
  require_input_error(toy_with("idle_w: 10", "idle_w: 10\nturbo_w: 3"), "turbo_w", "unknown");
  require_input_error(toy_with("memory_gb_s: 1\n", ""), "memory_gb_s", "missing");
  require_input_error(toy_with("die_mm2: 100", "die_mm2: -5"), "die_mm2", "range");
  require_input_error(toy_with("fp32_tflops: 2", "fp32_tflops: -1"), "fp32_tflops", "range");
  require_input_error(toy_with("idle_w: 10", "idle_w: 200"), "idle_w", "range");  // > tdp_w
  require_input_error(toy_with("compute: 0.5", "compute: 1.5"), "efficiency.compute", "range");
  require_input_error(toy_with("memory: 0.25", "memory: 0.25\n  cache: 1"), "efficiency.cache",
                      "unknown");
  require_input_error(toy_with("dtype: int8", "dtype: fp16"), "dtype", "no peak");
  require_input_error(toy_with("dtype: int8", "dtype: int4"), "dtype", "int8");
  require_input_error(toy_with("memory_type: hbm2", "memory_type: sram"), "memory_type", "hbm2");
  require_input_error(toy_with("tdp_w: 110", "tdp_w: lots"), "tdp_w", "number");
}

TEST_CASE("compute-bound GEMM on haswell takes 2mkn over the derated int8 peak", "[baselines]") {
  const BaselineDevice h = load_baseline_device("haswell");
  const BaselineOp op = gemm(1024, 1024, 1024);
  const BaselineOpResult r = roofline_op(h, op);
  // Eq. B7: 1024 rows fill 170 whole 6-row tiles and 4 rows of one more.
  CHECK(compute_efficiency(h, op) == Approx(h.compute_efficiency * 1024.0 / 1026.0));
  const double expect_s = 2.0 * 1024 * 1024 * 1024 / (2.6e12 * compute_efficiency(h, op));
  CHECK(r.compute_s == Approx(expect_s).epsilon(1e-12));
  // 3 MiB of int8 over 51 GB/s is ~60 us, well under the ~1.2 ms of compute.
  CHECK(r.memory_s == Approx(3.0 * 1024 * 1024 / (51e9 * h.memory_efficiency)));
  CHECK_FALSE(r.memory_bound);
  CHECK(r.seconds == r.compute_s);
}

TEST_CASE("memory-bound GEMV on h200 takes its bytes over the derated bandwidth", "[baselines]") {
  const BaselineDevice d = load_baseline_device("h200");
  const BaselineOp op = gemm(1, 8192, 8192);
  const BaselineOpResult r = roofline_op(d, op);
  const double bytes = 8192.0 * 8192 + 8192 + 8192;  // int8: weights + input + output
  CHECK(r.bytes == bytes);
  CHECK(r.memory_s == Approx(bytes / (4800e9 * d.memory_efficiency)).epsilon(1e-12));
  // Eq. B7: one row of each 64-row tile, 128 tiles on 132 SMs.
  CHECK(compute_efficiency(d, op) == Approx(d.compute_efficiency / 64.0 * 128.0 / 132.0));
  CHECK(r.compute_s == Approx(2.0 * 8192 * 8192 / (1979e12 * compute_efficiency(d, op))));
  CHECK(r.memory_bound);
  CHECK(r.seconds == r.memory_s);
}

TEST_CASE("an fp32 device moves four bytes per element", "[baselines]") {
  const BaselineDevice k = load_baseline_device("k80");
  const BaselineOp op = gemm(1, 1000, 1000);
  const BaselineOpResult r = roofline_op(k, op);
  CHECK(r.bytes == 4.0 * (1000 * 1000 + 1000 + 1000));
  CHECK(r.memory_s == Approx(r.bytes / (160e9 * k.memory_efficiency)));
  CHECK(r.compute_s == Approx(2e6 / (2.8e12 * compute_efficiency(k, op))));
}

TEST_CASE("vector ops run at half the fp32 rate and add to compute", "[baselines]") {
  const BaselineDevice t = parse_baseline_device(kToyYaml, "dev.yaml");
  BaselineOp op = gemm(10, 10, 10);
  op.vector_ops = 4000;
  const BaselineOpResult r = roofline_op(t, op);
  // 2000 GEMM ops at 1e12 * 0.5, 4000 vector ops at 2e12 / 2 * 0.5.
  CHECK(r.compute_s == Approx(2000 / 0.5e12 + 4000 / 0.5e12));
}

TEST_CASE("power energy and carbon of the toy device follow Eq. B4-B6", "[baselines]") {
  const BaselineDevice t = parse_baseline_device(kToyYaml, "dev.yaml");
  // 2e9 ops at 1 TOPS * 0.5 = 4 ms; 3e6 bytes (weights 1e6, activations 2e6) at 0.25 GB/s.
  const BaselineOp op = gemm(1000, 1000, 1000);
  const CarbonParams c;
  const BaselineResult r = evaluate_baseline(t, one_op(op, 4), c);
  const double t_s = 2e9 / 0.5e12;            // 4 ms
  const double mem_s = (1e6 + 2e6) / 0.25e9;  // 12 ms: memory-bound
  REQUIRE(mem_s > t_s);
  CHECK(r.latency_s == Approx(mem_s));
  // u = raw memory time / op time = memory efficiency 0.25 -> P = 10 + 100 * 0.25 = 35 W.
  CHECK(r.utilization == Approx(0.25));
  CHECK(r.power_w == Approx(35.0));
  CHECK(r.throughput_per_s == Approx(4 / mem_s));
  CHECK(r.tops == Approx(2e9 / mem_s / 1e12));
  CHECK(r.perf_per_w == Approx(4 / mem_s / 35.0));
  CHECK(r.energy_j_per_inference == Approx(35.0 * mem_s / 4));
  CHECK(r.carbon_operational_g_per_inference ==
        Approx(35.0 * mem_s / 4 / 3.6e6 * c.pue * c.grid_g_per_kwh));
  const double embodied_total =
      act_die_embodied_g(100, 7, c.yield, c.fab_g_per_kwh, c.gas_abatement_pct, c.mpa_g_per_cm2) +
      c.package_g + 10 * c.dram_g_per_gb.at("hbm2");
  CHECK(baseline_embodied_total_g(t, c) == Approx(embodied_total));
  CHECK(r.carbon_embodied_g_per_inference ==
        Approx(mem_s / 4 / (c.lifetime_years * kSecondsPerYear) * embodied_total));
  CHECK(r.carbon_g_per_inference ==
        Approx(r.carbon_operational_g_per_inference + r.carbon_embodied_g_per_inference));
  CHECK(r.kind == "roofline");
  CHECK(r.dtype == "int8");
}

TEST_CASE("a compute-bound run draws idle plus the compute efficiency share", "[baselines]") {
  const BaselineDevice t =
      parse_baseline_device(toy_with("memory_gb_s: 1", "memory_gb_s: 1000"), "dev.yaml");
  const BaselineResult r = evaluate_baseline(t, one_op(gemm(1000, 1000, 1000)), CarbonParams{});
  CHECK(r.latency_s == Approx(2e9 / 0.5e12));
  CHECK(r.power_w == Approx(10 + 100 * 0.5));
}

TEST_CASE("ops run in sequence and speedup is the reference latency ratio", "[baselines]") {
  const BaselineDevice h = load_baseline_device("haswell");
  const BaselineDevice a = load_baseline_device("a100");
  BaselineWorkload wl;
  wl.name = "two";
  wl.examples = 8;
  wl.ops = {gemm(8, 2048, 2048), gemm(8, 2048, 512)};
  std::vector<BaselineResult> rs = {evaluate_baseline(h, wl, CarbonParams{}),
                                    evaluate_baseline(a, wl, CarbonParams{})};
  CHECK(rs[0].latency_s == Approx(rs[0].ops[0].seconds + rs[0].ops[1].seconds));
  set_speedup_vs(rs, rs[0].latency_s);
  CHECK(rs[0].speedup_vs_haswell == 1.0);
  CHECK(rs[1].speedup_vs_haswell == Approx(rs[0].latency_s / rs[1].latency_s));
  CHECK(rs[1].speedup_vs_haswell > 1.0);
}

TEST_CASE("empty workloads are rejected", "[baselines]") {
  const BaselineDevice h = load_baseline_device("haswell");
  BaselineWorkload wl;
  wl.name = "empty";
  CHECK_THROWS_AS(evaluate_baseline(h, wl, CarbonParams{}), std::invalid_argument);
  CHECK_THROWS_AS(evaluate_baseline(h, one_op(gemm(1, 1, 1), 0), CarbonParams{}),
                  std::invalid_argument);
}
