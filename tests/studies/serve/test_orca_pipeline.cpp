// Orca's pipelining across iterations (sim/studies/serve/orca_pipeline.h) and tp x pp on a
// baseline device (CostOptions::device with tp, pp; the Orca study's 16 A100s).
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <memory>

#include "models/config.h"
#include "models/errors.h"
#include "sim/studies/serve/scheduler.h"
#include "tests/studies/serve/serve_checks.h"

using namespace tpusim;
using namespace tpusim::serve;

namespace {

CostModel& a100(uint32_t tp, uint32_t pp) {
  static std::map<std::pair<uint32_t, uint32_t>, std::unique_ptr<CostModel>> models;
  auto& m = models[{tp, pp}];
  if (!m) {
    CostOptions o;
    o.device = "a100";
    o.device_dtype = "fp16";
    o.kv_dtype = "fp16";
    o.tp = tp;
    o.pp = pp;
    m = std::make_unique<CostModel>(load_config("tpu-llm"), "opt-13b", o);
  }
  return *m;
}

std::vector<Request> orca_trace(uint64_t n, double rate) {
  TraceOptions o;
  o.name = "orca";
  o.requests = n;
  o.rate_per_s = rate;
  o.seed = 3;
  return make_trace(o);
}

ScheduleResult run(CostModel& c, const std::vector<Request>& t, bool pipeline) {
  SchedulerOptions o;
  o.scheduler = "continuous";
  o.pipeline = pipeline;
  o.max_batch = 32;
  return simulate(t, c, o);
}

double makespan(const ScheduleResult& r) {
  double end = 0.0;
  for (const auto& q : r.requests) end = std::max(end, q.finish_s);
  return end;
}

}  // namespace

TEST_CASE("device tp x pp: shards priced on the device plus collectives over its link", "[orca]") {
  CostModel& one = a100(1, 1);
  CostModel& two = a100(2, 1);
  // A decode step at batch 8 is memory bound: half the weights per device, plus two
  // all-reduces per layer over NVLink.
  const double t1 = one.seconds(one.iteration({}, std::vector<uint32_t>(8, 512), 0));
  const double t2 = two.seconds(two.iteration({}, std::vector<uint32_t>(8, 512), 0));
  CHECK(t2 < t1);
  CHECK(t2 > t1 / 2);
  // Activations cross the link in fp16.
  CHECK(two.options().collective_bytes == 2);
  // K/V slots: each device holds half the weights and half of every token's K/V.
  REQUIRE(two.stages().size() == 1);
  const double mem = two.device()->memory_gb * 1e9;
  const double w = double(two.stages()[0].weight_bytes) * 2;  // fp16 weights
  CHECK(kv_capacity_tokens(two) == uint64_t((mem - w) / double(two.stages()[0].kv_bytes * 2)));
  CHECK(kv_capacity_tokens(two) > 2 * kv_capacity_tokens(one));
}

TEST_CASE("orca pipeline: one request alone takes the same time as without", "[orca]") {
  CostModel& c = a100(1, 2);
  const std::vector<Request> t{Request{0, 1.0, 200, 6, -1}};
  const ScheduleResult a = run(c, t, false), b = run(c, t, true);
  CHECK(b.requests[0].first_token_s == Approx(a.requests[0].first_token_s));
  CHECK(b.requests[0].finish_s == Approx(a.requests[0].finish_s));
}

TEST_CASE("orca pipeline: pp batches in flight raise throughput under load", "[orca]") {
  CostModel& c = a100(1, 2);
  const auto t = orca_trace(400, 400.0);  // a burst: the queue never empties
  const ScheduleResult plain = run(c, t, false), piped = run(c, t, true);
  check_conserved(t, plain);
  check_conserved(t, piped);
  // Two stages, two batches: close to twice the throughput (each batch's iteration is the same
  // cost; the batches are half the size, so slightly less than 2x).
  CHECK(makespan(piped) < 0.75 * makespan(plain));
  CHECK(makespan(piped) > 0.45 * makespan(plain));
}

TEST_CASE("orca pipeline: pp 1 is the continuous scheduler", "[orca]") {
  CostModel& c = a100(1, 1);
  const auto t = orca_trace(100, 20.0);
  const ScheduleResult a = run(c, t, false), b = run(c, t, true);
  for (size_t i = 0; i < t.size(); ++i) CHECK(a.requests[i].finish_s == b.requests[i].finish_s);
}
