// S-LoRA's unified paging and Sarathi-Serve's chunked prefill on vLLM's block manager: the paged
// scheduler (scheduler.h) for `lora`, `lora_packed` and `chunked_prefill_tokens`.
//
// S-LoRA (Sheng et al., "S-LoRA: Serving Thousands of Concurrent LoRA Adapters", MLSys 2024,
// Section 4): adapter weights and K/V caches share one paged pool ("Unified Paging"). Here the
// pool is the BlockManager's blocks (block_size token slots of K/V each): an adapter of rank r
// holds adapter_blocks() blocks, its bytes (CostModel::adapter_bytes: A and B of every target in
// every layer, 4 r rows of d_model per layer for q, k, v, o where a token's K/V is 2 rows) over a
// block's bytes, rounded up. Adapters live in host memory; one a request needs that is not
// resident is loaded over the host link (adapter_load_seconds) when the request is admitted, the
// copy time added to that iteration (synchronous: S-LoRA overlaps loads with compute by
// prefetching, so the charge is an upper bound); resident adapters that no running request uses
// stay cached and are evicted least recently used when their blocks are needed (by an admission
// or a running sequence's next token; only then is a running request preempted, by recompute).
// An iteration pays CostModel::lora_tokens for each adapter in it, at its rank, for the tokens it
// computes this iteration (heterogeneous batching; ranks from the model's rank mix).
//
// vLLM-packed (the baseline of S-LoRA's evaluation): each distinct adapter merged into its own copy
// of the model (requests without an adapter share one more copy), every copy a paged instance with
// (memory - copies x weights) / copies of K/V; the copies share the chip (NVIDIA MPS in the
// paper), modelled as their iterations taking turns, one iteration per copy with work per round:
// a decode step is bound by reading its copy's weights, which concurrency does not shrink. Too
// many copies leave no K/V memory: an InputError (the paper's OOM).
//
// Chunked prefill (Agrawal et al., "Taming Throughput-Latency Tradeoff in LLM Inference with
// Sarathi-Serve", OSDI 2024): every iteration computes at most `chunked_prefill_tokens` tokens;
// the running decodes (one token each) go first, then prompts in progress and new ones, FCFS, in
// chunks that fill the rest (CostModel::iteration_chunked prices a chunk's attention against every
// earlier key). A request's blocks for its whole prompt are allocated when it is admitted.
//
// Requests of one sequence only (no parallel samples, beams or shared prefix: InputError).
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "sim/studies/serve/block_manager.h"
#include "sim/studies/serve/cost_model.h"
#include "sim/studies/serve/request_trace.h"
#include "sim/studies/serve/scheduler.h"

namespace tpusim::serve {

// Blocks of `block_size` token slots one adapter of `rank` holds in the unified pool (>= 1).
uint64_t adapter_blocks(const CostModel& cost, uint32_t rank, uint32_t block_size);

// Host-link seconds to load `bytes` of one adapter: on the chip 2 x targets x layers DMAs (A and
// B of each target of each layer), each host_link.latency_cycles plus its bytes at the link's
// bandwidth; on a baseline device (CostOptions::device) its bytes at the device's host link
// (Eq. B8's link_gb_s).
double adapter_load_seconds(const CostModel& cost, uint64_t bytes);

// Called with the pool after every iteration (tests check its invariants).
using PoolObserver = std::function<void(const BlockManager& pool)>;

// The runs (see the header comment); `out.kv_capacity_tokens` must be set (the chip's K/V slots
// with one copy of the weights), `out.requests` sized and filled with the trace. Fill the
// requests' times, out.chips and the K/V and LoRA fields.
void run_unified(const std::vector<Request>& trace, CostModel& cost, const SchedulerOptions& opt,
                 ScheduleResult& out, const PoolObserver& observe = {});
void run_packed(const std::vector<Request>& trace, CostModel& cost, const SchedulerOptions& opt,
                ScheduleResult& out);

}  // namespace tpusim::serve
