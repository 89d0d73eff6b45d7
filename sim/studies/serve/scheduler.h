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
// - paged: continuous with vLLM's paged K/V cache (Kwon et al., SOSP 2023), kept by
//   BlockManager (block_manager.h): block tables, reference counts, copy-on-write. A request of
//   width w (Request::width: parallel samples or beams) is one sequence group: its prompt is
//   prefilled once, its w sequences share the prompt's blocks (the last, partly filled prompt
//   block copied on write), and a beam search re-forks beams every step (kBeamForkProbability).
//   When a running sequence needs a block and none is free, the most recently admitted group is
//   preempted (vLLM's policy) by `preemption`: recompute (its blocks freed; later re-prefilled
//   over prompt + generated tokens, each of its sequences in full), swap (its blocks copied to
//   at most swap_space_bytes of host blocks and back on resume; a group that does not fit falls
//   back to recompute and is counted), or auto (vLLM's default: recompute for one sequence, swap
//   for a group of several). A swapped block costs 2 x layers host-link transfers (vLLM keeps K
//   and V per layer and copies each block of each with one DMA), each host_link.latency_cycles
//   plus its bytes at the link's bandwidth, so small blocks pay more per byte; the copy time is
//   added to the iteration. PagedAttention's block-table gather: decode attention costs
//   paged_attention_overhead more (vLLM Section 7.1 measures its kernel 20-26 % slower than
//   FasterTransformer's; 0 by default). A prefix all requests share (Request::prefix_len): its
//   full blocks are computed ahead (not charged) and held for the whole run; each group shares
//   them and prefills only the rest of its prompt (priced as a prefill of that many tokens, so
//   their attention to the prefix is not charged). A swapped group's prefix blocks are copied
//   like its own and come back unshared.
// - disaggregated: DistServe: a prefill chip runs FCFS prefill batches (max_batch_tokens) and
//   emits the first token; the request's K/V moves over a link of kv_link_gb_s (one transfer at a
//   time, FIFO) to a decode chip that runs paged continuous batching of decode steps only. No
//   back-pressure from the decode chip to the prefill chip is modelled.
// LoRA (S-LoRA, paged only): with `lora`, every request's adapter is served unmerged on the
// paged scheduler with S-LoRA's unified paging (unified_paging.h): adapter weights take blocks of
// the K/V pool, are loaded over the host link when not resident and evicted when unused, and an
// iteration pays CostModel::lora_tokens per adapter for its tokens at the adapter's rank
// (heterogeneous batching). `lora_packed`: S-LoRA's vLLM-packed baseline instead, each adapter
// merged into its own copy of the model sharing the chip (unified_paging.h).
// Chunked prefill (Sarathi-Serve; paged only): `chunked_prefill_tokens` > 0 caps the tokens of
// every iteration; decodes go first and prompts fill the rest in chunks (unified_paging.h).
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
  std::string preemption = "recompute";  // recompute | swap | auto (paged)
  // Host swap space of the paged allocator, bytes (vLLM's default swap_space: 4 GiB).
  uint64_t swap_space_bytes = uint64_t(4) << 30;
  double paged_attention_overhead = 0.0;  // fraction added to paged decode attention
  std::string reserve = "max";            // contiguous reservation: max | pow2 | oracle
  double kv_link_gb_s = 32.0;             // disaggregated K/V link, 1 GB/s = 1e9 bytes/s
  bool lora = false;
  bool lora_packed = false;             // vLLM-packed baseline (paged, with lora)
  uint32_t chunked_prefill_tokens = 0;  // > 0: Sarathi-Serve token budget per iteration (paged)
  // continuous with CostOptions::pp > 1: Orca's pipelining, up to pp batches in flight, one per
  // stage (orca_pipeline.h); false: one iteration crosses every stage before the next starts.
  bool pipeline = false;
  uint64_t kv_capacity_tokens = 0;  // 0 = (weight memory - model weights) / bytes per token
  std::function<void(uint64_t requests)> on_finished;  // told as requests finish (progress bars)
};

const std::vector<std::string>& scheduler_names();

// Beam search (paged): after every step each beam but the first is, with this probability,
// replaced by a fork of a better beam chosen uniformly (the candidates of a step concentrate on
// few parents). An assumption: vLLM's paper gives no rate; seeded per request, deterministic.
constexpr double kBeamForkProbability = 0.5;

// Host-link seconds to copy `blocks` K/V blocks of `block_bytes` bytes each, as 2 x `layers`
// DMAs per block (see paged above), each `latency_s` plus its bytes at `bytes_per_s`.
double swap_seconds(uint64_t blocks, uint64_t block_bytes, uint32_t layers, double latency_s,
                    double bytes_per_s);

struct RequestResult {
  Request request;
  double first_token_s = 0.0;  // absolute time the first output token exists
  double finish_s = 0.0;       // absolute time the last one exists
  uint32_t preemptions = 0;
  // Longest time between two consecutive output tokens (Sarathi-Serve's generation stall); set
  // by the paged runs (and a disaggregated request's decode), 0 for the others.
  double max_tbt_s = 0.0;
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
  uint64_t generated_tokens =
      0;  // output tokens of every sequence (width x output_len; no padding)
  uint64_t swap_bytes = 0;
  uint64_t kv_transfer_bytes = 0;
  uint64_t max_running = 0;   // most sequences in one iteration
  double mean_running = 0.0;  // time-weighted sequences per iteration
  // K/V memory as in vLLM's Fig. 2, time-weighted fractions of the capacity: token states held,
  // reserved for tokens still to come (contiguous), internal fragmentation (contiguous: beyond
  // the true length; paged: the unfilled slots of allocated blocks), external fragmentation
  // (contiguous: free slots in holes smaller than the next waiting request's region, while one
  // waits), free. They sum to 1.
  double kv_used = 0.0, kv_reserved = 0.0, kv_internal = 0.0, kv_external = 0.0, kv_free = 0.0;
  // Paged: blocks saved by sharing, time-weighted (logical - physical) / logical, and the
  // copy-on-write block copies; swap: blocks moved, host-link transfers, most host blocks held,
  // and groups that found the swap space full and were recomputed instead.
  double kv_sharing_saving = 0.0;
  uint64_t copy_on_writes = 0;
  uint64_t swap_blocks = 0, swap_transfers = 0, swap_peak_blocks = 0, swap_fallbacks = 0;
  uint64_t swap_capacity_blocks = 0;
  // LoRA (unified_paging.h): adapter loads over the host link (count, bytes, seconds charged),
  // evictions, the most adapters resident at once, the time-weighted fraction of the pool's
  // slots holding adapter weights (part of kv_used above), and for lora_packed the model copies.
  uint64_t adapter_loads = 0, adapter_load_bytes = 0, adapter_evictions = 0;
  uint64_t peak_resident_adapters = 0, packed_copies = 0;
  double adapter_load_s = 0.0, kv_adapters = 0.0;
};

// Runs `trace` (sorted by arrival) under `opt`. Throws InputError for a bad option or a request
// that cannot fit the K/V memory even alone.
ScheduleResult simulate(const std::vector<Request>& trace, CostModel& cost,
                        const SchedulerOptions& opt);

// K/V token slots of one chip: (weight memory - model weights) / bytes per token; 0 if the
// weights alone do not fit. With CostOptions::device: (the device's memory_gb - the weights in
// its dtype) / K/V bytes per token (with tp x pp: per stage as below, in the device's memory and
// dtype). With tp x pp (CostOptions), the slots of the system: the least
// over the pipeline stages of (weight memory - a chip's weight share) / a chip's K/V bytes per
// token (its stage's layers, its kv heads), since every token keeps K/V on every stage.
uint64_t kv_capacity_tokens(const CostModel& cost);

}  // namespace tpusim::serve
