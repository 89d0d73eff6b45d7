// A discrete-event simulation of a request stream through an application (app_spec.h) on the
// stage costs of stage_cost.h: Poisson (or evenly spaced) arrivals; each stage a FIFO queue in
// front of `servers` servers that take up to max_batch queued items per call (waiting at most
// batch_timeout for a fuller batch once a server is free); a stage starts for a request when all
// its predecessors have finished for it (fan-in) and brings `items` items (fan-out); a request
// finishes when every sink stage has. Deterministic for a seed.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "sim/studies/app/app_spec.h"
#include "sim/studies/app/stage_cost.h"

namespace tpusim::app {

constexpr uint64_t kMaxRequests = 10000000;

struct AppRunOptions {
  double rate = 1.0;  // requests per second
  uint64_t requests = 1000;
  uint64_t seed = 1;
  std::string arrival = "poisson";  // poisson | uniform (evenly spaced)
  // Told every few thousand finished requests and at the end (progress bars).
  std::function<void(uint64_t finished, uint64_t requests)> progress;
};

// The report of `tpusim app`: the application, the stream, end-to-end latency percentiles,
// throughput, energy and carbon per query, and per stage (in topological order) its calls, mean
// batch, service time at max batch, capacity in requests/s (at its best batch, capacity_batch),
// utilization, latency percentiles
// (ready to done, queueing included), energy and carbon per query; `bottleneck` names the stage
// of least capacity. Energy per query: every call's energy, plus dedicated servers' idle power
// over the span (first arrival to last completion) less their busy time; embodied carbon of
// dedicated servers over the span, of host cores over their busy time; active_energy_j_per_query
// counts the calls alone (busy servers, and idle retrieval nodes within a call: Eq. A8), and
// call_energy_j_at_max_batch is one call's at max_batch. Throws InputError for
// options out of range.
nlohmann::json run_app(const AppSpec& app, StageCosts& costs, const AppRunOptions& opt);

}  // namespace tpusim::app
