// Serving on tp x pp chips (issue 13; sim/serve/cost_model.h, "Multi-chip"): the cost model's
// communication, K/V capacity of the split, the report's energy, and that one chip is unchanged.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "models/errors.h"
#include "models/interconnect.h"
#include "shared_cost.h"
#include "sim/serve/metrics.h"
#include "sim/serve/scheduler.h"
#include "sim/serve_cli.h"

namespace fs = std::filesystem;
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

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TEST_CASE("tp 2 halves each chip's weights: more than twice the K/V slots", "[parallel]") {
  CostModel& one = shared_cost();
  CostModel& two = tp2_cost();
  REQUIRE(two.stages().size() == 1);
  const StageMemory& s = two.stages()[0];
  // opt-13b's 40 heads split 20 + 20: each chip keeps half of every layer's K/V per token.
  CHECK(s.kv_bytes * 2 == one.model().kv_bytes_per_token());
  CHECK(s.weight_bytes < one.model().weight_bytes / 2 + one.model().weight_bytes / 50);  // embeddings replicated
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

TEST_CASE("serving with --tp 2 beats one chip; --tp 1 writes the single-chip report's bytes", "[parallel]") {
  const fs::path d = fs::temp_directory_path() / ("tpusim_serve_parallel_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  auto serve = [&](const std::string& name, uint32_t chips, uint32_t tp) {
    ServeArgs a;
    a.arch = "tpu-llm";
    a.model = "opt-13b";
    a.requests = 30;
    a.rate = 2.0;
    a.seed = 3;
    a.quiet = true;
    a.par.chips = chips;
    a.par.tp = tp;
    a.json_file = (d / name).string();
    std::ostringstream out;
    REQUIRE(cmd_serve(a, out) == 0);
    return nlohmann::json::parse(slurp(d / name));
  };
  const auto plain = serve("plain.json", 0, 1);
  serve("tp1.json", 1, 1);  // --chips 1 --tp 1
  CHECK(slurp(d / "plain.json") == slurp(d / "tp1.json"));
  CHECK_FALSE(plain.contains("parallel"));
  const auto tp2 = serve("tp2.json", 0, 2);
  REQUIRE(tp2.contains("parallel"));
  CHECK(tp2["parallel"]["chips"] == 2);
  CHECK(tp2["kv_capacity_tokens"].get<uint64_t>() > 2 * plain["kv_capacity_tokens"].get<uint64_t>());
  CHECK(tp2["tpot_s"]["p50"].get<double>() < plain["tpot_s"]["p50"].get<double>());
  CHECK(tp2["chips"][0]["chips"] == 2);
  CHECK(tp2["chips"][0]["comm_energy_j"].get<double>() > 0.0);
  fs::remove_all(d);
}

TEST_CASE("chips that are not tp x pp are an input error naming the flags", "[parallel]") {
  ServeArgs a;
  a.par.chips = 6;
  a.par.tp = 4;
  std::ostringstream out;
  try {
    cmd_serve(a, out);
    FAIL("no error");
  } catch (const InputError& e) {
    CHECK(std::string(e.what()) == "--chips 6 must equal --tp 4 x --pp 1");
  }
  // A split the heads do not allow names the layer.
  CostOptions o;
  o.tp = 3;
  CHECK_THROWS_WITH(CostModel(load_config("tpu-llm"), "opt-13b", o), Catch::Contains("--tp 3"));
}

TEST_CASE("pp 2 holds half the layers per chip and pays a stage link per iteration", "[parallel]") {
  CostOptions o;
  o.pp = 2;
  CostModel two(load_config("tpu-llm"), "opt-13b", o);
  REQUIRE(two.stages().size() == 2);
  CostModel& one = shared_cost();
  for (const StageMemory& s : two.stages()) CHECK(s.weight_bytes < one.model().weight_bytes * 6 / 10);
  CHECK(kv_capacity_tokens(two) > kv_capacity_tokens(one));
  // One micro-batch crosses both stages in turn: no faster than one chip, plus the link.
  const std::vector<uint32_t> dec(4, 300);
  double comm_j = 0.0;
  CHECK(two.seconds(two.iteration({}, dec, 0, &comm_j)) >= one.seconds(one.iteration({}, dec, 0)));
  CHECK(comm_j > 0.0);
}
