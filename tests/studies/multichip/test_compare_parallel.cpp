// `tpusim compare --chips/--tp/--pp` (issue 13; sim/studies/compare/compare.h): the accelerator
// side is the multi-chip system of run_multichip_report, the baselines stay single devices.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "models/config.h"
#include "sim/studies/compare/compare.h"
#include "sim/studies/multichip/multichip.h"

using namespace tpusim;
using nlohmann::json;

namespace {

json compare_on(const TpuConfig& cfg, const std::string& wl, const WorkloadParams& wp, uint32_t tp,
                uint32_t pp) {
  CompareOptions co;
  co.baselines = "haswell,k80";
  if (tp * pp > 1 || tp == 0) {
    MultiChipOptions mo;
    mo.tp = tp ? tp : 1;
    mo.pp = pp;
    co.multichip_report = run_multichip_report(cfg, wl, wp, mo);
  }
  return compare_report(cfg, wl, wp, co);
}

}  // namespace

TEST_CASE("compare: the accelerator becomes the tp x pp system and the baselines do not change",
          "[multichip][compare]") {
  const TpuConfig cfg = load_config("tpu-v1");
  const WorkloadParams wp{0, "decode", 0, 0};
  const json one = compare_on(cfg, "opt-13b", wp, 1, 1);
  const json four = compare_on(cfg, "opt-13b", wp, 4, 1);
  CHECK_FALSE(one.contains("accelerator"));
  REQUIRE(four.contains("accelerator"));
  const json& a = four["accelerator"];
  CHECK(a["chips"] == 4);
  CHECK(a["tp"] == 4);
  CHECK(a["pp"] == 1);
  const json& acc = four["devices"][0];
  CHECK(acc["name"] == "tpu-v1 x4 (tp 4 pp 1)");
  CHECK(acc["kind"] == "accelerator");
  MultiChipOptions mo;
  mo.tp = 4;
  const json mc = run_multichip_report(cfg, "opt-13b", wp, mo);
  const double examples = four["examples_per_inference"].get<double>();
  CHECK(acc["latency_s"].get<double>() == mc["latency_s"].get<double>());
  CHECK(acc["energy_j_per_inference"].get<double>() ==
        Approx(mc["energy_j"].get<double>() / examples));
  CHECK(acc["perf_per_w"].get<double>() == Approx(examples / mc["latency_s"].get<double>() /
                                                  mc["totals"]["avg_power_w"].get<double>()));
  CHECK(a["perf_per_w"].get<double>() == acc["perf_per_w"].get<double>());
  CHECK(a["communication"]["share"].get<double>() > 0.0);
  // Decode on tpu-v1 is weight-bandwidth bound: four chips read a quarter of the weights each.
  CHECK(acc["latency_s"].get<double>() < one["devices"][0]["latency_s"].get<double>());
  CHECK(four["capacity"]["weight_bytes_per_chip_max"].get<uint64_t>() <
        one["capacity"]["weight_bytes"].get<uint64_t>() / 3);
  // Baselines: the same single devices, the same numbers.
  REQUIRE(four["devices"].size() == one["devices"].size());
  for (size_t i = 1; i < one["devices"].size(); ++i) CHECK(four["devices"][i] == one["devices"][i]);
}

TEST_CASE("compare: a 1 x 1 multi-chip accelerator equals the single chip's latency",
          "[multichip][compare]") {
  const TpuConfig cfg = load_config("tpu-v1");
  CompareOptions co;
  co.baselines = "haswell";
  const json one = compare_report(cfg, "mlp0", {}, co);
  MultiChipOptions mo;
  co.multichip_report = run_multichip_report(cfg, "mlp0", {}, mo);
  const json sys = compare_report(cfg, "mlp0", {}, co);
  CHECK(sys["devices"][0]["latency_s"].get<double>() ==
        one["devices"][0]["latency_s"].get<double>());
  CHECK(sys["devices"][0]["energy_j_per_inference"].get<double>() ==
        Approx(one["devices"][0]["energy_j_per_inference"].get<double>()).epsilon(1e-9));
  CHECK(sys["devices"][1] == one["devices"][1]);
}
