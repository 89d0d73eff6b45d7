// Workload library: every file loads, analytic counts follow the GEMM convention, and the TPU v1
// apps reproduce Table 1's ops per weight byte within 10 %.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>

#include "models/errors.h"
#include "sim/compiler/import/scalesim_import.h"
#include "sim/compiler/workload.h"

using namespace tpusim;

TEST_CASE("every shipped workload loads and names its paper") {
  const auto list = list_workloads();
  REQUIRE(list.size() >= 30);
  for (const auto& e : list) {
    INFO(e.name);
    CHECK(!e.paper.empty());
    Workload w = load_workload(e.name);
    CHECK(w.macs() > 0);
    CHECK(!w.assumptions.empty());
  }
}

TEST_CASE("TPU v1 apps reproduce Table 1 intensity within 10 %") {
  // Table 1 (shared/reference/tpu-v1.md): ops per weight byte, weights.
  struct Row {
    const char* name;
    double intensity;
    double weights;
  };
  for (Row r : {Row{"mlp0", 200, 20e6}, Row{"mlp1", 168, 5e6}, Row{"lstm0", 64, 52e6},
                Row{"lstm1", 96, 34e6}, Row{"cnn0", 2888, 8e6}, Row{"cnn1", 1750, 100e6}}) {
    Workload w = load_workload(r.name);
    INFO(r.name << " intensity " << w.ops_per_weight_byte() << " weights " << w.weight_bytes());
    std::printf("%-6s ops/weight byte %8.1f (Table 1: %6.0f)  weights %6.2fM (Table 1: %.0fM)\n",
                r.name, w.ops_per_weight_byte(), r.intensity, w.weight_bytes() / 1e6,
                r.weights / 1e6);
    CHECK(std::abs(w.ops_per_weight_byte() / r.intensity - 1) <= 0.10);
    CHECK(std::abs(double(w.weight_bytes()) / r.weights - 1) <= 0.10);
    CHECK(w.paper_ops_per_weight_byte == r.intensity);
  }
}

TEST_CASE("transformer generator follows the GEMM convention") {
  // GPT-3 175B decode, batch 1: per layer QKV d x 3d, O d x d, FFN 2 x d x 4d; attention
  // 2 x heads x d_head x context per token.
  WorkloadParams p;
  p.batch = 1;
  p.phase = "decode";
  p.context_len = 2048;
  Workload w = load_workload("gpt3-175b", p);
  const uint64_t d = 12288, L = 96;
  const uint64_t per_layer_w = d * 3 * d + d * d + 2 * d * 4 * d;
  CHECK(w.weight_bytes() == L * per_layer_w + d * 50257);
  CHECK(w.macs() == L * (per_layer_w + 2 * 96 * 128 * 2048) + d * 50257);
  // GQA: Llama-2-70B QKV width d + 2 * 8 * 128.
  Workload l2 = load_workload("llama2-70b", p);
  CHECK(l2.groups[1].layers[1].name == "qkv");
  CHECK(l2.groups[1].layers[1].out_features == 8192 + 2 * 8 * 128);
  // Prefill rows = prompt x batch.
  p.phase = "prefill";
  p.prompt_len = 128;
  p.batch = 2;
  Workload pf = load_workload("gpt3-13b", p);
  CHECK(pf.groups[1].items == 256);
}

TEST_CASE("ResNet-50 matches its published size") {
  Workload w = load_workload("resnet50");
  const double gmac = double(w.macs()) / w.batch / 1e9;
  const double mweights = w.weight_bytes() / 1e6;
  INFO(gmac << " GMAC, " << mweights << " M weights");
  // 4.09 GMAC counts products over the zero padding; tpusim counts in-bounds MACs only.
  CHECK(gmac < 4.09);
  CHECK(std::abs(gmac / 4.09 - 1) < 0.05);
  CHECK(std::abs(mweights / 25.5 - 1) < 0.03);
}

TEST_CASE("bad workloads are rejected with file and key") {
  CHECK_THROWS_AS(load_workload("no-such-workload"), InputError);
  const char* bad =
      "name: x\npaper: p\ninput: {features: 8}\nlayers:\n  - {type: fc, out: 4, bogus: 1}\n";
  try {
    parse_workload(bad, "bad.yaml");
    FAIL("expected an error");
  } catch (const InputError& e) {
    CHECK(std::string(e.what()).find("bad.yaml") != std::string::npos);
    CHECK(std::string(e.what()).find("bogus") != std::string::npos);
  }
  CHECK_THROWS_AS(load_workload("mlp0", WorkloadParams{0, "decode", 0, 0}), InputError);
}

TEST_CASE("SCALE-Sim topologies import as workloads with the same MACs") {
  const char* csv =
      "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, "
      "Strides,\n"
      "Conv1, 12, 12, 3, 3, 4, 8, 1,\n"
      "FC1, 1, 1, 1, 1, 64, 10, 1,\n";
  Workload w = parse_workload(import_scalesim(csv, "t.csv", 2), "t.yaml");
  // Conv1: valid 3x3 on 12x12 -> 10x10 outputs x 9 x 4 x 8; FC1: 64 x 10; batch 2.
  CHECK(w.macs() == 2 * (10ull * 10 * 9 * 4 * 8 + 64 * 10));
  CHECK_THROWS_AS(import_scalesim("Layer name, a\nx, 1, 2\n", "bad.csv"), InputError);
}
