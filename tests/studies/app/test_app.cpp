// Applications (sim/studies/app/): queueing agrees with the M/M/1 and M/D/1 closed forms, a single
// model stage equals `tpusim run`, a slow host stage is reported as the bottleneck, and bad files
// fail naming the file and the key.
#include <cmath>
#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "models/config.h"
#include "models/errors.h"
#include "sim/studies/app/app_sim.h"
#include "sim/studies/run/run_workload.h"

using namespace tpusim;
using namespace tpusim::app;
using nlohmann::json;

namespace {

json run_text(const std::string& yaml, double rate, uint64_t requests, uint64_t seed = 7,
              const std::string& arrival = "poisson") {
  const AppSpec spec = parse_app(yaml, "t.yaml");
  StageCosts costs(spec);
  AppRunOptions o;
  o.rate = rate;
  o.requests = requests;
  o.seed = seed;
  o.arrival = arrival;
  return run_app(spec, costs, o);
}

std::string one_host_stage(const std::string& service) {
  // Mean service 1 ms on one server.
  return "name: q\nstages:\n  - {name: s, kind: host, cost_us: 1000, servers: 1, service: " +
         service + "}\n";
}

std::string error_of(const std::string& yaml) {
  try {
    (void)parse_app(yaml, "bad.yaml");
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("one exponential stage is M/M/1: mean sojourn 1 / (mu - lambda)") {
  const double mu = 1000.0;
  for (double rho : {0.5, 0.8}) {
    const json r = run_text(one_host_stage("exponential"), rho * mu, 200000);
    const double w = r["latency_s"]["mean"].get<double>();
    CHECK(w == Approx(1.0 / (mu - rho * mu)).epsilon(0.05));
    // P(sojourn > t) = exp(-(mu - lambda) t): the median is ln 2 / (mu - lambda).
    CHECK(r["latency_s"]["p50"].get<double>() ==
          Approx(std::log(2.0) / (mu - rho * mu)).epsilon(0.05));
    CHECK(r["stages"][0]["utilization"].get<double>() == Approx(rho).epsilon(0.02));
  }
}

TEST_CASE("one deterministic stage is M/D/1: Pollaczek-Khinchine mean sojourn") {
  const double mu = 1000.0;
  for (double rho : {0.5, 0.8}) {
    const json r = run_text(one_host_stage("deterministic"), rho * mu, 200000);
    const double w = 1.0 / mu + rho / (2.0 * mu * (1.0 - rho));
    CHECK(r["latency_s"]["mean"].get<double>() == Approx(w).epsilon(0.04));
  }
  // Evenly spaced arrivals below capacity never queue: every latency is the service time.
  const json d = run_text(one_host_stage("deterministic"), 500.0, 1000, 7, "uniform");
  CHECK(d["latency_s"]["max"].get<double>() == Approx(1e-3));
}

TEST_CASE("an application of one model stage equals tpusim run of that workload") {
  const std::string yaml =
      "name: one\nstages:\n  - {name: m, kind: model, workload: mlp0, arch: tpu-v1, max_batch: "
      "16}\n";
  const json a = run_text(yaml, 1.0, 1);
  WorkloadParams p;
  p.batch = 16;
  WorkloadRunOptions o;
  o.timing_only = true;
  // One request of one item runs at the padded batch 1.
  p.batch = 1;
  const json r = run_workload_report(load_config("tpu-v1"), "mlp0", p, o);
  const json& t = r["totals"];
  CHECK(a["latency_s"]["max"].get<double>() == Approx(t["seconds"].get<double>()).epsilon(1e-12));
  CHECK(a["energy_j_per_query"].get<double>() == Approx(t["energy_j"].get<double>()).epsilon(1e-9));
  CHECK(a["carbon_g_per_query"]["total"].get<double>() ==
        Approx(t["carbon_g"]["operational"].get<double>() + t["carbon_g"]["embodied"].get<double>())
            .epsilon(1e-9));
  // And a call of 16 items runs batch 16.
  const AppSpec spec = parse_app(yaml, "t.yaml");
  StageCosts costs(spec);
  p.batch = 16;
  const json r16 = run_workload_report(load_config("tpu-v1"), "mlp0", p, o);
  CHECK(costs.call(0, 16).seconds == Approx(r16["totals"]["seconds"].get<double>()));
  CHECK(costs.call(0, 9).batch_run == 16);
  CHECK(costs.engine_runs() == 1);  // cached
}

TEST_CASE("a host stage slower than the accelerator is the bottleneck") {
  const std::string fast_host =
      "name: p\nstages:\n  - {name: prep, kind: host, cost_us: 10, servers: 4}\n"
      "  - {name: m, kind: model, after: prep, workload: mlp0, arch: tpu-v1, max_batch: 16}\n";
  std::string slow_host = fast_host;
  slow_host.replace(slow_host.find("cost_us: 10,"), 12, "cost_us: 20000,");
  const json f = run_text(fast_host, 50.0, 400);
  CHECK(f["bottleneck"] == "m");
  const json s = run_text(slow_host, 400.0, 2000);
  CHECK(s["bottleneck"] == "prep");
  // Input-bound: the host runs flat out, the accelerator waits.
  CHECK(s["stages"][0]["utilization"].get<double>() > 0.95);
  CHECK(s["stages"][1]["utilization"].get<double>() < 0.5);
  CHECK(s["throughput_requests_per_s"].get<double>() == Approx(4 / 0.02).epsilon(0.05));
}

TEST_CASE("fan-out and fan-in: a request waits for its slowest branch") {
  const std::string yaml =
      "name: f\nstages:\n  - {name: a, kind: host, cost_us: 1000, servers: 8}\n"
      "  - {name: b, kind: host, after: a, items: 4, cost_us: 2000, servers: 1}\n"
      "  - {name: c, kind: host, after: a, cost_us: 500, servers: 1}\n"
      "  - {name: d, kind: host, after: [b, c], cost_us: 100, servers: 1}\n";
  const json r = run_text(yaml, 1.0, 1);
  // a, then b's 4 items one after another on one server (8 ms), then d.
  CHECK(r["latency_s"]["max"].get<double>() == Approx(0.001 + 0.008 + 0.0001));
  CHECK(r["stages"][1]["calls"] == 4);
}

TEST_CASE("a stage batches what is queued, up to max_batch, waiting at most the timeout") {
  const std::string yaml =
      "name: b\nstages:\n  - {name: s, kind: host, cost_us: 1000, max_batch: 4, "
      "batch_timeout_ms: 50}\n";
  // Four requests 1 ms apart: the first waits for the batch to fill (3 ms), one call of 4.
  const json r = run_text(yaml, 1000.0, 4, 7, "uniform");
  CHECK(r["stages"][0]["calls"] == 1);
  CHECK(r["stages"][0]["mean_batch"].get<double>() == Approx(4.0));
  CHECK(r["latency_s"]["max"].get<double>() == Approx(0.003 + 0.004));
  // Two requests: the batch never fills; the timeout sends it after 50 ms.
  const json t = run_text(yaml, 1000.0, 2, 7, "uniform");
  CHECK(t["latency_s"]["max"].get<double>() == Approx(0.050 + 0.002));
}

TEST_CASE("the same seed gives the same report") {
  CHECK(run_text(one_host_stage("exponential"), 700.0, 5000, 3).dump() ==
        run_text(one_host_stage("exponential"), 700.0, 5000, 3).dump());
}

TEST_CASE("bad application files name the file and the key") {
  const std::string head = "name: x\nstages:\n";
  CHECK(error_of(head + "  - {name: a, kind: host, cost_us: 1, after: b}\n"
                        "  - {name: b, kind: host, cost_us: 1, after: a}\n")
            .find("bad.yaml: key 'stages[0].after': stage 'a' lies on a cycle") !=
        std::string::npos);
  CHECK(error_of(head + "  - {name: a, kind: host, cost_us: 1, after: a}\n")
            .find("stages[0].after") != std::string::npos);
  CHECK(error_of(head + "  - {name: a, kind: gpu_thing, cost_us: 1}\n")
            .find("bad.yaml: key 'stages[0].kind'") != std::string::npos);
  CHECK(error_of(head + "  - {name: a, kind: model, workload: no-such-model, arch: tpu-v1}\n")
            .find("bad.yaml: key 'stages[0].workload': unknown workload 'no-such-model'") !=
        std::string::npos);
  CHECK(error_of(head + "  - {name: a, kind: model, workload: mlp0, arch: nope}\n")
            .find("key 'stages[0].arch'") != std::string::npos);
  CHECK(error_of(head + "  - {name: a, kind: host, cost_us: 1, after: zz}\n")
            .find("key 'stages[0].after': unknown stage 'zz'") != std::string::npos);
  CHECK(error_of(head + "  - {name: a, kind: host, cost_us: 1, colour: red}\n")
            .find("stages[0].colour") != std::string::npos);
  CHECK(error_of(head + "  - {name: a, kind: retrieval, algorithm: ivf, vectors: 100, dim: 8, "
                        "cores_per_node: 1, scan_gb_s_per_core: 1, nprobe: 1}\n")
            .find("stages[0].dvfs") != std::string::npos);
  CHECK(error_of("name: x\n").find("stages") != std::string::npos);
}

TEST_CASE("the shipped applications load") {
  for (const char* n :
       {"video-search", "rag-hermes", "tfdata-resnet50", "tfdata-bert", "generative-agents"})
    CHECK_NOTHROW(load_app(n));
}
