// DistServe (Zhong et al., OSDI 2024): disaggregated prefill and decoding on N prefill and M
// decode instances, each tp x pp chips of its own, and the search for the placement that serves
// the most requests within the TTFT and TPOT objectives per chip (goodput per chip), the
// colocated (vLLM-like paged) instances in the same enumeration.
//
// simulate_distserve: an event-driven replay of a trace.
// - Router: an arriving request goes to the prefill instance with the fewest queued prompt
//   tokens (ties: the lowest index). A prefill instance runs FCFS batches of at most max_batch
//   requests and max_batch_tokens prompt tokens; a batch's end emits every request's first token.
//   With pp stages it pipelines batches (DistServe's inter-op parallelism for prefill): up to pp
//   in flight, a batch's time split evenly over the stages, each stage taking the next batch
//   when done with the previous one.
// - Back-pressure: a prefill instance keeps the K/V of its requests from the start of their batch
//   until the K/V has left over the link; a batch starts only while that held K/V fits the
//   instance's own K/V memory (kv_capacity_tokens of its cost model), so when the decode side is
//   full the prefill side fills and then stops (as DistServe: the prefill instances' memory
//   buffers the K/V the decode instances have no room for yet, and the decode side pulls it). The
//   router hands a prefilled request to the decode instance with the most free K/V blocks that can
//   take its prompt's K/V and its next token; requests none can take wait, FIFO, on their prefill
//   instance.
// - K/V transfer layer by layer: a request whose decode instance is reserved when its prefill
//   batch starts streams its K/V one layer at a time as the prefill computes it (the batch's
//   compute split evenly over the layers), overlapping the later layers' compute (a modelling
//   choice, issue 22: a layer's K/V is final once that layer has run); a request held for lack of
//   decode memory sends all its layers back to back when accepted. Each prefill instance has one
//   outgoing link of kv_link_gb_s (SchedulerOptions), transfers in FIFO order.
// - Decode instances: vLLM's paged continuous batching of decode steps only (at most max_batch
//   sequences a batch; DistServe's decode instances are vLLM-like): a request joins at the next
//   step after its K/V arrives, grows a block at a time, and when no block is free the latest
//   admitted request of the batch is preempted by recompute (its blocks freed; on rejoining, one
//   step prefills its prompt and generated tokens on the decode instance). With pp stages, pp
//   batches step in turn through the stages (Orca's pipelining, as orca_pipeline.h), sharing the
//   instance's K/V memory.
// Not modelled: parallel samples / beams (width > 1), LoRA adapters, swap on the decode side,
// pipelining across a colocated paged instance's stages (one iteration crosses every stage
// before the next starts there).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/studies/serve/cost_model.h"
#include "sim/studies/serve/metrics.h"
#include "sim/studies/serve/request_trace.h"
#include "sim/studies/serve/scheduler.h"

namespace tpusim::serve {

// The chips of one serving instance.
struct InstanceShape {
  uint32_t tp = 1, pp = 1;
  uint32_t chips() const { return tp * pp; }
  bool operator<(const InstanceShape& o) const { return tp != o.tp ? tp < o.tp : pp < o.pp; }
};

// A placement: `prefill_instances` of `prefill` and `decode_instances` of `decode` (disaggregated)
// or, with `colocated`, one instance of `prefill` serving both phases (the paged scheduler).
struct Placement {
  bool colocated = false;
  uint32_t prefill_instances = 1;
  InstanceShape prefill;
  uint32_t decode_instances = 1;
  InstanceShape decode;
  uint32_t chips() const {
    return colocated ? prefill.chips()
                     : prefill_instances * prefill.chips() + decode_instances * decode.chips();
  }
  // "colocated tp2 pp1" or "2 x prefill tp2 pp1 + 1 x decode tp1 pp1".
  std::string name() const;
};

// Seconds at which the last layer of `bytes` of K/V has crossed a link of `bytes_per_s`, sent one
// layer (bytes / layers) at a time: layer l is computed by `compute_start_s` + `compute_s` x
// (l + 1) / layers and leaves once computed and once the link is free (`link_free_s`, then the
// previous layer). compute_s = 0: all layers are ready at compute_start_s (sent back to back).
double layerwise_transfer_end_s(double compute_start_s, double compute_s, uint32_t layers,
                                uint64_t bytes, double bytes_per_s, double link_free_s);

struct DistServeOptions {
  SchedulerOptions sched;  // max_batch, max_batch_tokens, block_size, kv_link_gb_s, on_finished
  uint32_t prefill_instances = 1, decode_instances = 1;
  // K/V token slots of one instance; 0 = kv_capacity_tokens of its cost model.
  uint64_t prefill_kv_capacity_tokens = 0, decode_kv_capacity_tokens = 0;
};

struct DistServeResult {
  ScheduleResult schedule;         // requests (trace order), chips (prefill ones, then decode)
  std::vector<double> kv_ready_s;  // per request: its K/V is on its decode instance (0: none)
  uint64_t prefill_capacity_tokens = 0, decode_capacity_tokens = 0;  // per instance
  uint64_t prefill_peak_held_tokens = 0;     // most K/V tokens held on one prefill instance
  uint64_t decode_peak_reserved_tokens = 0;  // most token slots reserved on one decode instance
  uint64_t held_for_decode_memory = 0;       // requests that waited on their prefill instance
  double mean_transfer_wait_s = 0.0;         // mean kv_ready_s - first_token_s
};

// Replays `trace` (sorted by arrival) on the placement (see the header comment): prefill
// instances priced by `prefill_cost`, decode instances by `decode_cost`. Throws InputError for
// a request of width > 1, LoRA, a bad option, or a request that cannot fit an instance alone.
DistServeResult simulate_distserve(const std::vector<Request>& trace, CostModel& prefill_cost,
                                   CostModel& decode_cost, const DistServeOptions& opt);

// The placement search.
struct PlacementSearchOptions {
  uint32_t chip_budget = 8;                           // chips of one placement, at most
  std::vector<uint32_t> tp{1, 2, 4, 8}, pp{1, 2, 4};  // instance shapes tried (tp x pp <= budget)
  bool colocated = true;      // also the colocated placements (one paged instance per shape)
  bool disaggregated = true;  // the (N, prefill shape, M, decode shape) placements
  SloTargets slo;
  double slo_target = 0.9;  // attainment that counts as within the SLOs (DistServe: 90 %)
  // Goodput of a placement: the largest rate (req/s) whose attainment >= slo_target, found by
  // doubling from rate_start_per_s and then `bisections` halvings of the bracket.
  double rate_start_per_s = 0.25;
  // Each probe's trace spans at least this many seconds of arrivals (requests = max(the trace's
  // count, ceil(rate x min_trace_s))): at a rate above what a placement sustains, a short burst is
  // absorbed by the K/V memories and queues and would pass; 0 = the trace's count only.
  double min_trace_s = 0.0;
  uint32_t bisections = 6;
  double rate_max_per_s = 4096.0;
};

struct PlacementScore {
  Placement placement;
  double goodput_per_s = 0.0;  // requests/s within the SLOs (0: none, or infeasible)
  double goodput_per_chip() const { return goodput_per_s / placement.chips(); }
  bool feasible = true;  // false: the weights do not fit, or a request does not fit alone
  std::string note;      // why infeasible
  uint32_t probes = 0;   // simulations run
};

// Builds and caches one CostModel per instance shape (base CostOptions with tp, pp replaced).
class CostModelCache {
 public:
  CostModelCache(const TpuConfig& cfg, std::string model, CostOptions base)
      : cfg_(cfg), model_(std::move(model)), base_(std::move(base)) {}
  // Throws InputError as CostModel does (device pricing with tp x pp, a model that is not one).
  CostModel& get(const InstanceShape& s);

 private:
  TpuConfig cfg_;
  std::string model_;
  CostOptions base_;
  std::map<InstanceShape, std::unique_ptr<CostModel>> models_;
};

// Every placement the options enumerate, in a fixed order: colocated shapes, then disaggregated
// (prefill shape, decode shape, N, M) with N x prefill chips + M x decode chips <= chip_budget.
std::vector<Placement> enumerate_placements(const PlacementSearchOptions& opt);

// Goodput of one placement over traces made by `trace` at the probed rates (its rate_per_s is
// replaced). `sched` is the paged scheduler's options for colocated placements and the
// disaggregated ones' (scheduler name ignored).
PlacementScore placement_goodput(const Placement& p, CostModelCache& costs,
                                 const TraceOptions& trace, const SchedulerOptions& sched,
                                 const PlacementSearchOptions& opt);

struct PlacementSearch {
  std::vector<PlacementScore> scores;  // enumerate_placements' order
  int best = -1;                       // highest goodput per chip (ties: fewer chips, earlier)
  int best_colocated = -1, best_disaggregated = -1;
};

// Runs placement_goodput over enumerate_placements; `progress` (optional) is told after each.
PlacementSearch search_placements(
    CostModelCache& costs, const TraceOptions& trace, const SchedulerOptions& sched,
    const PlacementSearchOptions& opt,
    const std::function<void(size_t done, size_t all, const PlacementScore&)>& progress = {});

// ---------------------------------------------------------------------------------------------
// `tpusim serve --search`: the placement search as a study over ServeStudyOptions.
struct ServeStudyOptions;  // serve_study.h

struct PlacementStudy {
  nlohmann::json report;  // setting, every placement's score, the best ones and their ratio
  std::string csv;        // one row per placement
};

// Searches the placements of `search` for `serve` (its arch, model, device, trace, requests, seed,
// SLOs, slo_target, batch limits and link; its rates and scheduler are not used). Throws
// InputError for bad options (validate(serve), no SLO given, an empty enumeration).
PlacementStudy run_placement_study(
    const ServeStudyOptions& serve, PlacementSearchOptions search,
    const std::function<void(size_t done, size_t all, const PlacementScore&)>& progress = {});

}  // namespace tpusim::serve
