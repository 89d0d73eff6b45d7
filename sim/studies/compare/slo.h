// `tpusim compare --slo-ms T` (issue 23): every device under a response-time limit, the way the TPU
// paper's Table 4 reads MLP0 at 7 ms. For each device and each batch of a grid, the time of one
// batch (its service time) comes from the device's own model; a queue of batched requests turns
// it into a response-time percentile at each offered load; the device's answer is the largest
// batch whose percentile can meet T, and the highest load (inferences per second) that meets it
// there.
//
// Queue model (stated, not fitted): requests arrive as a Poisson stream of rate r; batches of b are
// formed in arrival order and start when their last request has arrived and the device is free;
// a batch takes service_s(b); a request's response time is its batch's end minus its arrival.
// The percentile is read from a deterministic simulation of `requests` arrivals (common random
// numbers: the same unit-rate draws, scaled, at every load), so the answer is monotone in T.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/config.h"
#include "sim/compiler/workload.h"
#include "sim/studies/compare/compare.h"

namespace tpusim {

struct SloOptions {
  double slo_s = 0.0;         // the response-time limit T, seconds (> 0)
  double percentile = 99.0;   // in (0, 100)
  uint64_t max_batch = 1024;  // the grid's last batch, and the range of the unconstrained maximum
  uint32_t requests = 20000;  // simulated arrivals per (batch, load)
  uint64_t seed = 1;
  std::vector<uint64_t> extra_batches;  // also tried (<= max_batch), e.g. the workload's own
  // The limit applies to one batch step itself, with no queue (an LLM decode's time per output
  // token, TPOT): a batch meets it when its service time does, at its full capacity.
  bool per_step = false;
};

// Batches tried: 1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, ... (powers of two and 1.5 times them)
// up to max_batch, which is appended when it is not on the grid. max_batch >= 1.
std::vector<uint64_t> slo_batch_grid(uint64_t max_batch);
// slo_batch_grid(opt.max_batch) with opt.extra_batches up to max_batch merged in, sorted.
std::vector<uint64_t> slo_batch_grid(const SloOptions& opt);

// The `pct` percentile (nearest rank) of the response time, seconds, of the queue above at
// `rate_per_s` requests per second, batch `batch`, service `service_s` per batch.
double batch_queue_percentile_s(double service_s, uint64_t batch, double rate_per_s,
                                const SloOptions& opt);

struct SloPoint {
  bool meets = false;       // some load meets T at this batch
  double rate_per_s = 0.0;  // the highest such load (0 when !meets)
  double response_s = 0.0;  // the percentile at that load, or the lowest over loads when !meets
};

// The highest load, as a fraction of the capacity batch / service_s scanned in steps of 1/64 and
// refined by bisection, whose percentile meets opt.slo_s; at most 63/64 of capacity (a queue at
// capacity grows without bound, so its percentile depends on how long it is run). With
// opt.per_step: meets when service_s <= slo_s, at the capacity, response = service_s.
SloPoint best_rate_under_slo(double service_s, uint64_t batch, const SloOptions& opt);

// One batch on a device: its time, and the device's power while it runs (busy_w) and while it
// waits for work (idle_w); power 0 = unknown (no perf/W reported).
struct SloService {
  bool runs = true;  // false: the device cannot run this batch (`why`); the grid skips it
  std::string why;
  double seconds = 0.0;
  double busy_w = 0.0;
  double idle_w = 0.0;
};

// One device under the limit: `service(b)` is one batch on it (what a request pays on
// the device besides queueing: `pays` says which parts). Scans slo_batch_grid; returns JSON
// {name, kind, pays, meets_slo, chosen {batch, at_grid_end (the limit might allow a larger
// batch than --max-batch), service_s, response_s, ips, pct_of_max, and with
// power: power_w = idle + (busy - idle) * load (load = ips / capacity at that batch, the share of
// time the device is busy), perf_per_w_total = ips / power_w and perf_per_w_incremental = ips /
// (power_w - idle_w), the TPU paper's Figure 9 forms} or null,
// reason (when !meets_slo), max_ips, max_ips_batch, series [{batch, service_s, capacity_ips,
// meets, ips, response_s}]}. Batches whose service alone exceeds T are not queued (they cannot
// meet it); their capacity still counts toward max_ips.
nlohmann::json slo_device(const std::string& name, const std::string& kind, const std::string& pays,
                          const std::function<SloService(uint64_t)>& service,
                          const SloOptions& opt);

// The whole comparison under the limit: the accelerator (simulated, fast engine, timing only, at
// each batch), every roofline device of opt.baselines (Eq. B1-B3 plus the host time of Eq. B8)
// and, with co.measure_cpu, each measured CPU library x dtype at each batch. The grid holds the
// workload's own batch too; each batch is set through WorkloadParams::batch.
nlohmann::json slo_compare_report(const TpuConfig& cfg, const std::string& workload,
                                  const WorkloadParams& params, const CompareOptions& co,
                                  const SloOptions& opt);

}  // namespace tpusim
