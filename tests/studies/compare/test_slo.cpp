// `compare --slo-ms` (sim/studies/compare/slo.h) and the batch-dependent roofline efficiency and
// host time it uses (Eq. B7-B8, models/baselines.h): the batch grid, the queue's percentile, the
// chosen batch's monotonicity in the limit, and a device that cannot meet the limit at batch 1.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <set>
#include <string>
#include <tuple>

#include "models/baselines.h"
#include "models/config.h"
#include "models/errors.h"
#include "sim/studies/compare/compare.h"
#include "sim/studies/compare/slo.h"

using namespace tpusim;
using nlohmann::json;

namespace {

SloOptions slo_ms(double ms) {
  SloOptions o;
  o.slo_s = ms * 1e-3;
  o.max_batch = 256;
  o.requests = 4000;
  return o;
}

// A device whose batch takes a fixed part plus a part per example (seconds).
auto affine(double fixed_s, double per_example_s) {
  return [=](uint64_t b) {
    SloService s;
    s.seconds = fixed_s + per_example_s * double(b);
    return s;
  };
}

}  // namespace

TEST_CASE("the batch grid is powers of two and their halfway points", "[slo]") {
  CHECK(slo_batch_grid(16) == std::vector<uint64_t>{1, 2, 3, 4, 6, 8, 12, 16});
  CHECK(slo_batch_grid(1) == std::vector<uint64_t>{1});
  CHECK(slo_batch_grid(200).back() == 200);  // the last batch is always tried
  CHECK(slo_batch_grid(200).end()[-2] == 192);
}

TEST_CASE("batch 1 at a vanishing load responds in one service time", "[slo]") {
  const SloOptions o = slo_ms(10);
  // Arrivals 1e6 service times apart: no request ever waits.
  CHECK(batch_queue_percentile_s(1e-3, 1, 1e-3, o) == Approx(1e-3).epsilon(1e-6));
  // A batch of b waits for b-1 more arrivals: at a low load the wait dominates, and a higher
  // load shortens it.
  const double slow = batch_queue_percentile_s(1e-3, 8, 100.0, o);
  const double fast = batch_queue_percentile_s(1e-3, 8, 1000.0, o);
  CHECK(slow > 7.0 / 100.0 * 0.5);
  CHECK(fast < slow);
  // Near capacity the queue grows: the percentile rises again above its value at half load.
  CHECK(batch_queue_percentile_s(1e-3, 8, 8000.0 * 0.999, o) >
        batch_queue_percentile_s(1e-3, 8, 8000.0 * 0.5, o));
}

TEST_CASE("the highest load meeting the limit is below capacity and meets it", "[slo]") {
  const SloOptions o = slo_ms(5);
  const SloPoint p = best_rate_under_slo(1e-3, 4, o);
  REQUIRE(p.meets);
  CHECK(p.rate_per_s < 4.0 / 1e-3);
  CHECK(p.response_s <= o.slo_s);
  CHECK(batch_queue_percentile_s(1e-3, 4, p.rate_per_s, o) <= o.slo_s);
  // A service longer than the limit cannot meet it at any load.
  const SloPoint q = best_rate_under_slo(6e-3, 1, o);
  CHECK_FALSE(q.meets);
  CHECK(q.rate_per_s == 0.0);
}

TEST_CASE("the chosen batch never shrinks as the limit grows", "[slo]") {
  uint64_t last = 0;
  double last_ips = 0.0;
  for (double ms : {0.5, 1.0, 2.0, 3.0, 5.0, 7.0, 10.0, 20.0, 50.0}) {
    const json d = slo_device("dev", "roofline", "test", affine(2e-4, 5e-5), slo_ms(ms));
    REQUIRE(d["meets_slo"].get<bool>());
    const uint64_t b = d["chosen"]["batch"].get<uint64_t>();
    CHECK(b >= last);
    CHECK(d["chosen"]["ips"].get<double>() >= last_ips * (1 - 1e-9));
    last = b;
    last_ips = d["chosen"]["ips"].get<double>();
  }
  CHECK(last > 1);
}

TEST_CASE("a per-step limit (decode TPOT) takes the largest batch whose step fits", "[slo]") {
  SloOptions o = slo_ms(2);
  o.per_step = true;
  // Steps of 1 ms + 0.05 ms per sequence: 20 sequences take exactly 2 ms, 24 take 2.2 ms.
  const json d = slo_device("dev", "roofline", "test", affine(1e-3, 5e-5), o);
  REQUIRE(d["meets_slo"].get<bool>());
  CHECK(d["chosen"]["batch"].get<uint64_t>() == 16);  // 16 on the grid (1.8 ms); 24 is over
  CHECK(d["chosen"]["ips"].get<double>() == Approx(16 / 1.8e-3));
  CHECK(d["chosen"]["response_s"].get<double>() == Approx(1.8e-3));
}

TEST_CASE("a device that cannot meet the limit at batch 1 is reported, not dropped", "[slo]") {
  const json d = slo_device("slow", "roofline", "test", affine(9e-3, 1e-3), slo_ms(7));
  CHECK_FALSE(d["meets_slo"].get<bool>());
  CHECK(d["chosen"].is_null());
  CHECK_THAT(d["reason"].get<std::string>(), Catch::Matchers::Contains("batch 1"));
  CHECK(d["max_ips"].get<double>() > 0.0);  // its unconstrained throughput is still there
}

TEST_CASE("a whole comparison under a limit lists every device", "[slo]") {
  const TpuConfig cfg = load_config("tpu-v1");
  CompareOptions co;
  co.baselines = "haswell,k80";
  SloOptions o = slo_ms(7);
  o.max_batch = 64;
  o.requests = 2000;
  const json rep = slo_compare_report(cfg, "mlp0", WorkloadParams{}, co, o);
  REQUIRE(rep["devices"].size() == 3);
  CHECK(rep["devices"][0]["kind"] == "accelerator");
  for (const auto& d : rep["devices"]) CHECK((d["meets_slo"].get<bool>() || d.contains("reason")));
  // So short a limit that nothing meets it: every device is still listed.
  o.slo_s = 1e-6;
  const json none = slo_compare_report(cfg, "mlp0", WorkloadParams{}, co, o);
  REQUIRE(none["devices"].size() == 3);
  for (const auto& d : none["devices"]) CHECK_FALSE(d["meets_slo"].get<bool>());
}

TEST_CASE("a measured GPU file is priced at every batch of the grid", "[slo]") {
  // A GPU results file (scripts/gpu JSON) holding every GEMM shape of mlp0 at batches 1..8, each
  // instance taking 1 us per output row: the measured entry's batch time is then known exactly.
  SloOptions o = slo_ms(7);
  o.max_batch = 8;
  o.requests = 1000;
  json results = json::array();
  std::set<std::tuple<uint64_t, uint64_t, uint64_t>> shapes;
  for (uint64_t b : slo_batch_grid(o.max_batch)) {
    WorkloadParams p;
    p.batch = b;
    for (const auto& op : baseline_workload(load_workload("mlp0", p)).ops)
      if (op.m > 0 && shapes.insert({op.m, op.k, op.n}).second)
        results.push_back({{"m", op.m},
                           {"k", op.k},
                           {"n", op.n},
                           {"dtype", "int8"},
                           {"latency_s", 1e-6 * double(op.m)}});
  }
  const std::string path = "slo_test_gpu_results.json";
  std::ofstream(path) << json{{"device", "test-h100"}, {"results", results}}.dump();
  CompareOptions co;
  co.baselines = "haswell";
  co.gpu_results = path;
  const json rep = slo_compare_report(load_config("tpu-v1"), "mlp0", WorkloadParams{}, co, o);
  std::remove(path.c_str());
  REQUIRE(rep["devices"].size() == 3);
  const json& g = rep["devices"][2];
  CHECK(g["name"] == "gpu-test-h100-int8");
  CHECK(g["kind"] == "measured");
  WorkloadParams p4;
  p4.batch = 4;
  double expect_s = 0.0;
  for (const auto& op : baseline_workload(load_workload("mlp0", p4)).ops)
    if (op.m > 0) expect_s += 1e-6 * double(op.m) * double(op.batch_count);
  bool found = false;
  for (const auto& pt : g["series"])
    if (pt["batch"] == 4) {
      CHECK(pt["service_s"].get<double>() == Approx(expect_s));
      found = true;
    }
  CHECK(found);
}

TEST_CASE("bad limits are input errors naming the flag", "[slo]") {
  SloOptions o = slo_ms(7);
  o.percentile = 100;
  CHECK_THROWS_AS(best_rate_under_slo(1e-3, 1, o), InputError);
  o = slo_ms(0);
  CHECK_THROWS_AS(slo_device("d", "k", "p", affine(1e-3, 0), o), InputError);
}

TEST_CASE("Eq. B7: small batches fill part of each tile", "[slo][baselines]") {
  const BaselineDevice h = load_baseline_device("haswell");
  REQUIRE(h.gemm_tile_m == 6);
  BaselineOp op;
  op.m = 6 * 18, op.k = 64, op.n = 16;  // exactly one tile per core: the plain constant
  CHECK(compute_efficiency(h, op) == Approx(h.compute_efficiency));
  op.m = 1, op.n = 16 * 18;  // one row of each 6-row tile
  CHECK(compute_efficiency(h, op) == Approx(h.compute_efficiency / 6.0));
  op.m = 6, op.n = 16 * 9;  // half the cores idle
  CHECK(compute_efficiency(h, op) == Approx(h.compute_efficiency / 2.0));
  op.m = 0, op.vector_ops = 10;  // vector-only ops keep the constant
  CHECK(compute_efficiency(h, op) == h.compute_efficiency);
}

TEST_CASE("Eq. B8: a GPU pays its inputs and outputs over the link and its launches", "[slo]") {
  const BaselineDevice k = load_baseline_device("k80");
  REQUIRE(k.host_link_gb_s > 0.0);
  BaselineWorkload wl;
  wl.name = "w";
  BaselineOp a;
  a.m = 16, a.k = 100, a.n = 50;
  BaselineOp b;
  b.m = 16, b.k = 50, b.n = 10;
  wl.ops = {a, b};
  const double bytes = (16.0 * 100 + 16.0 * 10) * 4;  // fp32
  CHECK(baseline_host_s(k, wl) ==
        Approx(bytes / (k.host_link_gb_s * 1e9) + 2 * k.launch_us * 1e-6));
  CHECK(baseline_host_s(load_baseline_device("haswell"), wl) == 0.0);  // the CPU is the host
}
