// Multi-chip inference (sim/studies/multichip/multichip.h) and the interconnect model
// (models/interconnect.h).
#include <catch2/catch.hpp>

#include <algorithm>
#include <set>
#include <string>

#include "models/config.h"
#include "models/errors.h"
#include "models/interconnect.h"
#include "sim/compiler/workload.h"
#include "sim/studies/multichip/multichip.h"
#include "sim/studies/run/run_workload.h"

using namespace tpusim;
using nlohmann::json;

namespace {

// A small decoder with known shapes: every expected number below is derived from these.
constexpr uint64_t kLayers = 2, kD = 512, kHeads = 8, kDh = 64, kFf = 2048, kVocab = 1000;
constexpr uint64_t kBatch = 4, kContext = 128;

std::string decoder_yaml(uint64_t kv_heads) {
  return "name: mc-test\npaper: test\nbatch: " + std::to_string(kBatch) +
         "\nphase: decode\nprompt_len: 64\ncontext_len: " + std::to_string(kContext) +
         "\ntransformer:\n  layers: " + std::to_string(kLayers) +
         "\n  d_model: " + std::to_string(kD) + "\n  heads: " + std::to_string(kHeads) +
         "\n  kv_heads: " + std::to_string(kv_heads) + "\n  d_head: " + std::to_string(kDh) +
         "\n  d_ff: " + std::to_string(kFf) + "\n  vocab: " + std::to_string(kVocab) + "\n";
}

const LayerGroup& group(const Workload& w, const std::string& name) {
  for (const auto& g : w.groups)
    if (g.name == name) return g;
  FAIL("no group " << name);
  return w.groups.front();
}

const Layer& layer(const LayerGroup& g, const std::string& name) {
  for (const auto& l : g.layers)
    if (l.name == name) return l;
  FAIL("no layer " << name);
  return g.layers.front();
}

}  // namespace

TEST_CASE("T-way TP gives every chip exactly 1/T of each split layer's MACs and weights",
          "[multichip]") {
  const Workload wl = parse_workload(decoder_yaml(kHeads), "mc-test.yaml");
  const LayerGroup& g = group(wl, "layer");
  for (uint32_t tp : {2u, 4u, 8u}) {
    for (uint32_t i = 0; i < tp; ++i) {
      const TpShard sh = shard_workload(wl, tp, i);
      const LayerGroup& sg = group(sh.workload, "layer");
      for (const char* name : {"qkv", "attn", "o_proj", "ffn_up", "ffn_down"}) {
        INFO("tp " << tp << " chip " << i << " layer " << name);
        CHECK(layer(sg, name).macs(sg.items) * tp == layer(g, name).macs(g.items));
        CHECK(layer(sg, name).weight_bytes() * tp == layer(g, name).weight_bytes());
      }
      // Replicated layers (layernorm, residuals) are unchanged on every chip.
      CHECK(layer(sg, "ln1").out_features == kD);
      CHECK(layer(sg, "res2").out_features == kD);
      CHECK(layer(sg, "attn").heads == kHeads / tp);
    }
  }
}

TEST_CASE("TP collectives are one all-reduce of tokens x d_model bytes per row-parallel layer",
          "[multichip]") {
  const Workload wl = parse_workload(decoder_yaml(kHeads), "mc-test.yaml");
  const uint64_t tokens = kBatch;  // decode: one token per sequence
  for (uint32_t bpe : {1u, 4u}) {
    const TpShard sh = shard_workload(wl, 4, 1, bpe);
    for (size_t gi = 0; gi < wl.groups.size(); ++gi) {
      const auto& c = sh.collectives[gi];
      if (wl.groups[gi].name == "layer") {
        REQUIRE(c.size() == 2);
        CHECK(c[0].kind == "all_reduce");
        CHECK(c[0].layer == "o_proj");
        CHECK(c[1].layer == "ffn_down");
        for (const auto& x : c) CHECK(x.bytes == tokens * kD * bpe);
      } else if (wl.groups[gi].name == "head") {
        // The column-parallel LM head ends its group: the logits of one token per sequence are
        // gathered.
        REQUIRE(c.size() == 1);
        CHECK(c[0].kind == "all_gather");
        CHECK(c[0].bytes == kBatch * kVocab * bpe);
      } else {
        CHECK(c.empty());
      }
    }
  }
  CHECK(shard_workload(wl, 1, 0).collectives[1].empty());
}

TEST_CASE("TP of grouped-query attention replicates a kv head when tp exceeds kv_heads",
          "[multichip]") {
  const Workload wl = parse_workload(decoder_yaml(2), "mc-test.yaml");
  const TpShard sh = shard_workload(wl, 4, 3);
  const Layer& a = layer(group(sh.workload, "layer"), "attn");
  CHECK(a.heads == kHeads / 4);
  CHECK(a.kv_heads == 1);
  CHECK(layer(group(sh.workload, "layer"), "qkv").out_features == (kHeads / 4 + 2) * kDh);
  CHECK_THROWS_AS(shard_workload(wl, 3, 0), InputError);  // 3 does not divide 8 heads
}

TEST_CASE("TP of a plain MLP alternates column and row parallel layers", "[multichip]") {
  const Workload wl = load_workload("mlp0");
  for (uint32_t tp : {2u, 4u}) {
    uint64_t macs = 0;
    for (uint32_t i = 0; i < tp; ++i) macs += shard_workload(wl, tp, i).workload.macs();
    CHECK(macs == wl.macs());
    CHECK(shard_workload(wl, tp, 0).workload.macs() * tp == wl.macs());
    uint64_t reduces = 0, gathers = 0;
    for (const auto& g : shard_workload(wl, tp, 0).collectives)
      for (const auto& c : g) (c.kind == "all_reduce" ? reduces : gathers) += 1;
    CHECK(reduces == 2);  // fc2 and fc4
    CHECK(gathers == 1);  // fc5's sharded output at the end
  }
}

TEST_CASE("uneven splits give at most two shard shapes and conserve the MACs", "[multichip]") {
  const Workload wl = load_workload("mlp0");  // 2000 columns over 3 chips: 666, 667, 667
  std::set<std::string> shapes;
  uint64_t macs = 0;
  for (uint32_t i = 0; i < 3; ++i) {
    const TpShard sh = shard_workload(wl, 3, i);
    shapes.insert(shape_signature(sh.workload));
    macs += sh.workload.macs();
  }
  CHECK(shapes.size() == 2);
  CHECK(macs == wl.macs());
}

TEST_CASE("TP=1 PP=1 equals the single-chip run to the cycle", "[multichip]") {
  const TpuConfig cfg = load_config("tpu-v1");
  WorkloadRunOptions wo;
  wo.timing_only = true;
  for (const char* wl : {"mlp0", "opt-13b"}) {
    INFO(wl);
    const json one = run_workload_report(cfg, wl, {}, wo);
    MultiChipOptions mo;
    const json mc = run_multichip_report(cfg, wl, {}, mo);
    const uint64_t cycles = one["totals"]["cycles"].get<uint64_t>();
    CHECK(mc["totals"]["chip_cycles"].get<uint64_t>() == cycles);
    CHECK(mc["totals"]["cycles"].get<uint64_t>() == cycles);
    CHECK(mc["chips"][0]["compute_s"].get<double>() ==
          Approx(one["totals"]["seconds"].get<double>()).epsilon(1e-12));
    CHECK(mc["latency_s"].get<double>() ==
          Approx(one["totals"]["seconds"].get<double>()).epsilon(1e-12));
    CHECK(mc["totals"]["useful_macs"].get<uint64_t>() ==
          one["totals"]["useful_macs"].get<uint64_t>());
    CHECK(mc["energy_j"].get<double>() ==
          Approx(one["totals"]["energy_j"].get<double>()).epsilon(1e-9));
    CHECK(mc["communication"]["energy_j"].get<double>() == 0.0);
  }
}

TEST_CASE("pipeline latency is the stage sum plus the link, and prefill pays the fill bubble",
          "[multichip]") {
  const TpuConfig cfg = load_config("tpu-v1");
  MultiChipOptions one;
  const json base = run_multichip_report(cfg, "opt-13b", {}, one);
  MultiChipOptions two = one;
  two.pp = 2;
  two.micro_batches = 1;
  const json p2 = run_multichip_report(cfg, "opt-13b", {}, two);
  const double stages = p2["split"]["stages"][0]["compute_s"].get<double>() +
                        p2["split"]["stages"][1]["compute_s"].get<double>();
  CHECK(stages == Approx(base["latency_s"].get<double>()).epsilon(1e-12));
  // One link: the d_model-wide activation of the decode batch (8 x 5120 bytes) over PCIe.
  const double link = p2p_cost(cfg.interconnect, 8 * 5120).seconds;
  CHECK(p2["latency_s"].get<double>() == Approx(stages + link).epsilon(1e-12));

  WorkloadParams pre;
  pre.phase = "prefill";
  MultiChipOptions pp4 = one;
  pp4.pp = 4;
  pp4.micro_batches = 8;  // one sequence per micro-batch
  const json r = run_multichip_report(cfg, "opt-13b", pre, pp4);
  const uint32_t M = r["split"]["micro_batches"].get<uint32_t>();
  CHECK(M == 8);
  double sum = 0.0, mx = 0.0;
  for (const auto& e : r["critical_path"]["elements"]) {
    const double t = e["compute_s"].get<double>() + e["comm_s"].get<double>();
    sum += t;
    mx = std::max(mx, t);
  }
  CHECK(r["latency_s"].get<double>() == Approx(sum + (M - 1) * mx).epsilon(1e-12));
  CHECK(r["pipeline"]["bubble_fraction_balanced"].get<double>() == Approx(3.0 / 11.0));
  // The automatic choice is never slower than any fixed micro-batch count.
  MultiChipOptions autom = pp4;
  autom.micro_batches = 0;
  const double best = run_multichip_report(cfg, "opt-13b", pre, autom)["latency_s"].get<double>();
  for (uint32_t m : {1u, 2u, 4u, 8u}) {
    pp4.micro_batches = m;
    CHECK(best <= run_multichip_report(cfg, "opt-13b", pre, pp4)["latency_s"].get<double>());
  }
}

TEST_CASE("gpt3-175b decode and prefill run on tpu-v1 at the chip count its weights need",
          "[multichip]") {
  const TpuConfig cfg = load_config("tpu-v1");
  MultiChipOptions mo;
  mo.tp = 2;
  mo.pp = 11;
  for (const char* phase : {"decode", "prefill"}) {
    INFO(phase);
    WorkloadParams wp;
    wp.phase = phase;
    const json r = run_multichip_report(cfg, "gpt3-175b", wp, mo);
    CHECK(r["capacity"]["chips_needed"].get<uint64_t>() == 21);
    CHECK(r["capacity"]["fits"].get<bool>());
    CHECK(r["split"]["chips"].get<uint32_t>() == 22);
    // The LM head's 50257 vocabulary columns split 25128 / 25129: two shard shapes, each simulated
    // once.
    CHECK(r["split"]["distinct_shards_simulated"].get<uint64_t>() == 2);
    CHECK(r["chips"].size() == 22);
    const double share = r["communication"]["share"].get<double>();
    CHECK(share > 0.0);
    CHECK(share < 1.0);
    CHECK(r["tokens_per_s"].get<double>() > 0.0);
    CHECK(r["energy_per_token_j"].get<double>() > 0.0);
  }
  // 21 single-layer-wide stages of 4 layers per chip (1.8 GB each) cannot hold 96 layers.
  MultiChipOptions pp21;
  pp21.pp = 21;
  CHECK_FALSE(run_multichip_report(cfg, "gpt3-175b", {}, pp21)["capacity"]["fits"].get<bool>());
  pp21.strict_capacity = true;
  CHECK_THROWS_AS(run_multichip_report(cfg, "gpt3-175b", {}, pp21), InputError);
}

TEST_CASE("plan finds the fewest chips for a generous SLO and none for an impossible one",
          "[multichip]") {
  const TpuConfig cfg = load_config("tpu-v1");
  PlanOptions po;
  po.slo_latency_s = 60.0;
  po.max_chips = 24;
  const json ok = plan_multichip(cfg, "gpt3-175b", {}, po);
  REQUIRE(ok["found"].get<bool>());
  const uint32_t n = ok["best"]["chips"].get<uint32_t>();
  CHECK(n >= 21);
  CHECK(n <= 22);
  CHECK(ok["best"]["latency_s"].get<double>() <= 60.0);
  po.slo_latency_s = 1e-6;
  const json none = plan_multichip(cfg, "gpt3-175b", {}, po);
  CHECK_FALSE(none["found"].get<bool>());
  CHECK(none["best"].is_null());
  po.slo_latency_s = 0.0;
  CHECK_THROWS_AS(plan_multichip(cfg, "gpt3-175b", {}, po), InputError);
}

TEST_CASE("split errors name the flag", "[multichip]") {
  const TpuConfig cfg = load_config("tpu-v1");
  MultiChipOptions mo;
  mo.chips = 6;
  mo.tp = 2;
  mo.pp = 2;
  CHECK_THROWS_WITH(run_multichip_report(cfg, "opt-13b", {}, mo), Catch::Contains("chips 6"));
  mo.chips = 0;
  mo.pp = 1000;
  CHECK_THROWS_WITH(run_multichip_report(cfg, "opt-13b", {}, mo), Catch::Contains("pp 1000"));
  mo.pp = 2;
  mo.micro_batches = 3;
  CHECK_THROWS_WITH(run_multichip_report(cfg, "opt-13b", {}, mo),
                    Catch::Contains("micro_batches 3"));
}

TEST_CASE("ring all-reduce costs 2(T-1)/T of the bytes plus 2(T-1) latency steps",
          "[multichip][interconnect]") {
  InterconnectConfig ic;  // PCIe Gen3 x16, host-routed: 2 hops per transfer
  const double bw = 15.754e9, lat = 1e-6;
  const uint64_t S = 1 << 20;
  for (uint32_t t : {2u, 4u, 8u}) {
    const CollectiveCost c = all_reduce_cost(ic, t, S);
    CHECK(c.seconds == Approx(2.0 * (t - 1) / t * S / bw + 2.0 * (t - 1) * 2 * lat));
    CHECK(c.link_bytes == Approx(2.0 * (t - 1) * S * 2));
    CHECK(c.energy_j == Approx(2.0 * (t - 1) * S * 2 * 8 * 10e-12));
    const CollectiveCost g = all_gather_cost(ic, t, S);
    CHECK(g.seconds == Approx((t - 1.0) / t * S / bw + (t - 1.0) * 2 * lat));
  }
  CHECK(all_reduce_cost(ic, 1, S).seconds == 0.0);
  const TpuConfig ici = load_config("tpu-v1-ici");
  CHECK(ici.interconnect.topology == "torus2d");
  // 4 chips = 2 x 2 torus: both dimensions, 4 links of 50 GB/s; 2 x (1 + 1) latency steps of 1 hop.
  CHECK(all_reduce_cost(ici.interconnect, 4, S).seconds == Approx(1.5 * S / 200e9 + 4 * 0.5e-6));
  // 5 chips (prime): one ring dimension, 2 links.
  CHECK(effective_bandwidth_bytes_per_s(ici.interconnect, 5) == Approx(100e9));
}

TEST_CASE("the interconnect block is optional and validated", "[multichip][interconnect]") {
  const TpuConfig v1 = load_config("tpu-v1");
  CHECK_FALSE(v1.interconnect.from_yaml);
  CHECK(v1.interconnect.type == "pcie3x16");
  CHECK(v1.interconnect.link_bandwidth_mb_s == 15754);
  CHECK(interconnect_json(v1)["source"] == "default");
  CHECK(load_config("tpu-llm").interconnect.from_yaml);
  const std::string base = "base: tpu-v1\nname: x\ninterconnect:\n";
  auto err = [&](const std::string& body) {
    try {
      parse_config(base + body, "/tmp/x.yaml");
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  CHECK_THAT(err("  topology: mesh\n  link_bandwidth_gb_s: 10\n  link_latency_us: 1\n  "
                 "energy_pj_per_bit: 1\n"),
             Catch::Contains("/tmp/x.yaml") && Catch::Contains("interconnect.topology"));
  CHECK_THAT(err("  topology: ring\n  link_bandwidth_gb_s: 10\n  link_latency_us: 1\n  "
                 "energy_pj_per_bit: 1\n"),
             Catch::Contains("links_per_chip"));
  CHECK_THAT(err("  topology: switch\n  link_bandwidth_gb_s: 10\n  energy_pj_per_bit: 1\n"),
             Catch::Contains("link_latency"));
  CHECK_THAT(err("  topology: switch\n  link_bandwidth_gb_s: 10\n  link_latency_us: 1\n  "
                 "energy_pj_per_bit: 1\n  speed: 3\n"),
             Catch::Contains("speed"));
  const TpuConfig c = parse_config(base +
                                       "  topology: switch\n  link_bandwidth_gb_s: 10\n  "
                                       "link_latency_cycles: 1400\n  energy_pj_per_bit: 2\n",
                                   "/tmp/x.yaml");
  CHECK(c.interconnect.link_latency_us == Approx(2.0));
}
