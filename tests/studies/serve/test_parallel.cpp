// Serving on tp x pp chips (issue 13; sim/studies/serve/cost_model.h, "Multi-chip"): the cost
// model's communication, K/V capacity of the split, the report's energy, and that one chip is
// unchanged.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "models/errors.h"
#include "models/interconnect.h"
#include "sim/studies/serve/metrics.h"
#include "sim/studies/serve/scheduler.h"
#include "sim/studies/serve/serve_study.h"
#include "tests/studies/serve/shared_cost.h"

using namespace tpusim;
using namespace tpusim::serve;

namespace {

CostModel& tp2_cost() {
  static CostModel cost(load_config("tpu-llm"), "opt-13b", [] {
    CostOptions o;
    o.tp = 2;
    return o;
  }());
  return cost;
}

}  // namespace

TEST_CASE("tp 2 halves each chip's weights: more than twice the K/V slots", "[parallel]") {
  CostModel& one = shared_cost();
  CostModel& two = tp2_cost();
  REQUIRE(two.stages().size() == 1);
  const StageMemory& s = two.stages()[0];
  // opt-13b's 40 heads split 20 + 20: each chip keeps half of every layer's K/V per token.
  CHECK(s.kv_bytes * 2 == one.model().kv_bytes_per_token());
  CHECK(s.weight_bytes <
        one.model().weight_bytes / 2 + one.model().weight_bytes / 50);  // embeddings replicated
  const uint64_t mem = one.config().weight_memory.bytes;
  CHECK(kv_capacity_tokens(two) == (mem - s.weight_bytes) / s.kv_bytes);
  CHECK(kv_capacity_tokens(two) > 2 * kv_capacity_tokens(one));
}

TEST_CASE("tp 2 decode steps are faster and pay their all-reduces", "[parallel]") {
  CostModel& one = shared_cost();
  CostModel& two = tp2_cost();
  const std::vector<uint32_t> dec(16, 700);
  double comm_j = 0.0;
  const EventCounts a = one.iteration({}, dec, 0);
  const EventCounts b = two.iteration({}, dec, 0, &comm_j);
  // Decode is weight-bandwidth bound: half the weights per chip outweighs 2 x 40 all-reduces of
  // 16 x 5120 bytes on the tpu-llm ICI torus.
  CHECK(two.seconds(b) < one.seconds(a));
  CHECK(b.weight_memory_read_bytes < a.weight_memory_read_bytes);
  // Two all-reduces per decoder layer (attention out, FFN down), one gather of the logits.
  const InterconnectConfig& ic = two.config().interconnect;
  const double ar = all_reduce_cost(ic, 2, 16ull * 5120).energy_j;
  CHECK(comm_j >= 80 * ar);
  CHECK(comm_j > 0.0);
  // The single-chip model pays nothing.
  double none = 0.0;
  one.iteration({}, dec, 0, &none);
  CHECK(none == 0.0);
}

TEST_CASE("serving with tp 2 beats one chip; tp 1 gives the single-chip report's bytes",
          "[parallel]") {
  auto serve = [&](uint32_t tp) {
    serve::ServeStudyOptions o;
    o.arch = "tpu-llm";
    o.model = "opt-13b";
    o.requests = 30;
    o.rates = {2.0};
    o.seed = 3;
    o.tp = tp;
    return serve::run_serve_study(o).report;
  };
  const auto plain = serve(1);
  CHECK_FALSE(plain.contains("parallel"));
  const auto tp2 = serve(2);
  REQUIRE(tp2.contains("parallel"));
  CHECK(tp2["parallel"]["chips"] == 2);
  CHECK(tp2["kv_capacity_tokens"].get<uint64_t>() >
        2 * plain["kv_capacity_tokens"].get<uint64_t>());
  CHECK(tp2["tpot_s"]["p50"].get<double>() < plain["tpot_s"]["p50"].get<double>());
  CHECK(tp2["chips"][0]["chips"] == 2);
  CHECK(tp2["chips"][0]["comm_energy_j"].get<double>() > 0.0);
}

TEST_CASE("a split that is not chips = tp x pp is refused, naming why", "[parallel]") {
  // The one rule (sim/studies/multichip/multichip.h resolve_split); the CLI prefixes the flags.
  CHECK(resolve_split(6, 4, 0).reason == "chips 6 is not a multiple of tp 4");
  CHECK(resolve_split(6, 4, 2).reason == "chips 6 is not tp 4 x pp 2");
  const Split s = resolve_split(8, 2, 0);
  CHECK((s.reason.empty() && s.tp == 2 && s.pp == 4));
  CHECK(resolve_split(8, 0, 0).tp == 8);
  CHECK(resolve_split(0, 0, 0).tp * resolve_split(0, 0, 0).pp == 1);
  CHECK_FALSE(resolve_split(4096, 2, 4096).reason.empty());
  // A split the heads do not allow names the layer.
  CostOptions o;
  o.tp = 3;
  CHECK_THROWS_WITH(CostModel(load_config("tpu-llm"), "opt-13b", o), Catch::Contains("tp 3"));
}

TEST_CASE("pp 2 holds half the layers per chip and pays a stage link per iteration", "[parallel]") {
  CostOptions o;
  o.pp = 2;
  CostModel two(load_config("tpu-llm"), "opt-13b", o);
  REQUIRE(two.stages().size() == 2);
  CostModel& one = shared_cost();
  for (const StageMemory& s : two.stages())
    CHECK(s.weight_bytes < one.model().weight_bytes * 6 / 10);
  CHECK(kv_capacity_tokens(two) > kv_capacity_tokens(one));
  // One micro-batch crosses both stages in turn: no faster than one chip, plus the link.
  const std::vector<uint32_t> dec(4, 300);
  double comm_j = 0.0;
  CHECK(two.seconds(two.iteration({}, dec, 0, &comm_j)) >= one.seconds(one.iteration({}, dec, 0)));
  CHECK(comm_j > 0.0);
}
