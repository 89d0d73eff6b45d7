// Serving schedulers: they replay a request trace on simulated chips, one iteration at a time,
// each iteration's time and counts from the CostModel.
//
// - static: request-level batching (FasterTransformer, the Orca paper's baseline). When the chip
//   is idle it takes up to max_batch waiting requests (as many as fit contiguous KV
//   reservations), pads every prompt to the batch's longest, runs the prefill and then decode
//   steps until the longest output is done, with every sequence in the batch; all requests of a
//   batch return together at its end.
// - continuous: Orca's iteration-level scheduling with selective batching; a new request joins the
//   next iteration (its whole prompt as prefill, beside the others' decode steps) when the batch
//   has room (max_batch sequences, max_batch_tokens prefill tokens) and its contiguous KV
//   reservation fits; a finished request leaves at once.
// - paged: continuous with vLLM's paged KV cache: blocks allocated as sequences grow; when a
//   running sequence needs a block and none is free, the most recently admitted sequence is
//   preempted, by recompute (its blocks freed; later re-prefilled over prompt + generated tokens)
//   or swap (its blocks copied to host memory over the host link and back on resume; the copy
//   time is added to the iteration, host memory is unbounded).
// - disaggregated: DistServe: a prefill chip runs FCFS prefill batches (max_batch_tokens) and
//   emits the first token; the request's K/V moves over a link of kv_link_gb_s (one transfer at a
//   time, FIFO) to a decode chip that runs paged continuous batching of decode steps only. No
//   back-pressure from the decode chip to the prefill chip is modelled.
// LoRA (S-LoRA): with `lora`, every request's adapter is served unmerged; an iteration pays
// CostModel::lora_extra for the distinct adapters in it (heterogeneous batching). Adapter
// weights are assumed resident (their memory and load time are not modelled).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "models/event_counts.h"
#include "sim/studies/serve/cost_model.h"
#include "sim/studies/serve/request_trace.h"

namespace tpusim::serve {

struct SchedulerOptions {
  std::string scheduler = "continuous";  // static | continuous | paged | disaggregated
  uint32_t max_batch = 128;              // sequences per iteration
  uint32_t max_batch_tokens = 0;  // prefill tokens per iteration; 0 = the model's max_context
  uint32_t block_size = 16;       // paged KV block, token slots
  std::string preemption = "recompute";  // recompute | swap
  std::string reserve = "max";           // contiguous reservation: max | pow2 | oracle
  double kv_link_gb_s = 32.0;            // disaggregated K/V link, 1 GB/s = 1e9 bytes/s
  bool lora = false;
  uint64_t kv_capacity_tokens = 0;  // 0 = (weight memory - model weights) / bytes per token
  std::function<void(uint64_t requests)> on_finished;  // told as requests finish (progress bars)
};

const std::vector<std::string>& scheduler_names();

struct RequestResult {
  Request request;
  double first_token_s = 0.0;  // absolute time the first output token exists
  double finish_s = 0.0;       // absolute time the last one exists
  uint32_t preemptions = 0;
  double ttft_s() const { return first_token_s - request.arrival_s; }
  double e2e_s() const { return finish_s - request.arrival_s; }
  // Time per output token after the first; 0 for a one-token output.
  double tpot_s() const {
    return request.output_len > 1 ? (finish_s - first_token_s) / (request.output_len - 1) : 0.0;
  }
};

// One serving instance: a chip, or with CostOptions tp x pp the tp x pp chips that serve as one.
struct ChipUsage {
  std::string role;     // "colocated", "prefill", "decode"
  EventCounts counts;   // summed over its iterations (swap / transfer bytes on the host link);
                        // tp x pp: one tensor-parallel shard's counts over every stage
  double busy_s = 0.0;  // time spent in iterations
  uint64_t iterations = 0;
  double comm_j = 0.0;  // interconnect energy of the collectives and stage links (tp x pp)
  // One iteration of `dt` seconds that counted `c`.
  void account(const EventCounts& c, double dt) {
    counts += c;
    busy_s += dt;
    ++iterations;
  }
};

struct ScheduleResult {
  std::vector<RequestResult> requests;  // in trace order
  std::vector<ChipUsage> chips;
  uint64_t kv_capacity_tokens = 0;     // per chip holding K/V for decoding
  double kv_utilization = 0.0;         // tokens held / slots allocated, time-weighted
  double kv_allocated_fraction = 0.0;  // slots allocated / capacity, time-weighted
  uint64_t preemptions = 0;
  uint64_t generated_tokens = 0;  // output tokens produced (padding rows excluded)
  uint64_t swap_bytes = 0;
  uint64_t kv_transfer_bytes = 0;
  uint64_t max_running = 0;   // most sequences in one iteration
  double mean_running = 0.0;  // time-weighted sequences per iteration
};

// Runs `trace` (sorted by arrival) under `opt`. Throws InputError for a bad option or a request
// that cannot fit the K/V memory even alone.
ScheduleResult simulate(const std::vector<Request>& trace, CostModel& cost,
                        const SchedulerOptions& opt);

// K/V token slots of one chip: (weight memory - model weights) / bytes per token; 0 if the
// weights alone do not fit. With tp x pp (CostOptions), the slots of the system: the least over
// the pipeline stages of (weight memory - a chip's weight share) / a chip's K/V bytes per token
// (its stage's layers, its kv heads), since every token keeps K/V on every stage.
uint64_t kv_capacity_tokens(const CostModel& cost);

}  // namespace tpusim::serve
