// Per-iteration cost of an LLM serving step on one simulated chip, from the fast engine.
//
// An iteration runs some prefill sequences (prompt lengths p_i) and some decode sequences
// (context lengths c_j) together, Orca's selective batching: the non-attention layers run once on
// all the iteration's tokens, attention runs per sequence at its own length. The cost is composed
// from three kinds of fast-engine runs of the model (timing only), split by the engine's per-layer
// attribution (EngineOptions::layer_of) into attention layers, the `head` group, and the rest:
//   dense(T)            non-attention layers of the embed and decoder groups at T tokens
//                       (a prefill run of batch 1, prompt T);
//   prefill_attn(p)     attention layers of that same run (q = kv = p);
//   decode_attn(c, D)   one sequence's share of the attention layers of a decode run of D
//                       sequences at context c (D = the iteration's decode sequences rounded up
//                       to a power of two, at most kDecodeAttnBatchCap): the engine overlaps one
//                       sequence's K/V loads with another's dependency waits, so a sequence
//                       costs less in a batch than alone;
//   head(S)             the head group (final layernorm + LM head) for S sequences;
//   lora_extra(A)       S-LoRA's unmerged adapter GEMMs for A distinct adapters: a decode run of
//                       batch A with A adapters minus the same run without adapters (one decode
//                       row per adapter; iteration()'s `adapters`, which no scheduler now uses);
//   lora_tokens(r, T)   one adapter of rank r over T tokens: a prefill run of T tokens with the
//                       adapter minus the same run without (the S-LoRA scheduler's charge, per
//                       adapter of the batch, unified_paging.h).
// iteration = dense(sum p_i + #decode) + head(#sequences) + sum prefill_attn(p_i)
//             + sum decode_attn(c_j, #decode) + lora_extra(#distinct adapters).
// Buckets: p and c round up to a multiple of `bucket` (64 by default; the engine's attention
// cost steps at multiples of the array width, 256 on tpu-llm, so context rounding is exact
// there); T rounds up to a power of two below `bucket` (host I/O and activation rows grow with
// the tokens, ~3 % of a decode step between 4 and 64 tokens) and to a multiple of it above. T above
// max_context runs as whole chunks of max_context plus a remainder (the lowering itself splits
// large token counts into UB-sized chunks that re-read the weights). S rounds up to a multiple of
// `bucket`. A is sampled at powers of two and interpolated linearly between them.
// Each distinct point is simulated once and cached, so a 10,000-request trace needs at most
// ~(1 + 7) x max_context / bucket engine runs (prefill lengths, decode contexts at the 7 batch
// sizes 1 .. 64).
//
// Multi-chip (tp x pp > 1, issue 13): every run's workload is split tp ways by shard_workload
// (sim/studies/multichip/multichip.h) and each distinct shard shape is simulated; a part (dense,
// attention, head) takes the slowest shard's counts. The tensor-parallel collectives of a run (IC-3
// / IC-4, models/interconnect.h) are charged to the part of the layer they follow, and the pp - 1
// stage-boundary transfers of the weight-balanced pipeline (stage_link_cost) to `dense`, as
// non-matrix cycles. One iteration crosses every stage in turn (one micro-batch, no overlap
// between iterations), so its time is the sum over the stages: the counts are one shard's over
// the whole model plus the communication, and the iteration's link energy is reported beside them.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "models/baselines.h"
#include "models/config.h"
#include "models/event_counts.h"
#include "sim/studies/multichip/multichip.h"

namespace tpusim::serve {

// The transformer's shape, read from its workload YAML.
struct ModelInfo {
  std::string name;
  std::string file;
  uint32_t layers = 0, d_model = 0, heads = 0, kv_heads = 0, d_head = 0, max_context = 0;
  uint64_t weight_bytes = 0;    // int8 model weights (Workload::weight_bytes)
  uint32_t kv_dtype_bytes = 1;  // bytes per K/V element (CostOptions::kv_dtype)
  // LoRA adapters (S-LoRA): the ranks of the model's `transformer.lora.ranks`, adapter j having
  // ranks[j % size] (round robin, as the workloads' generator assigns them), or
  // {CostOptions::lora_rank} for a model without a lora section; the projections they target.
  std::vector<uint32_t> lora_ranks;
  std::vector<std::string> lora_targets;  // of q, k, v, o
  uint32_t adapter_rank(int32_t adapter) const {
    return lora_ranks[uint32_t(std::max(adapter, 0)) % lora_ranks.size()];
  }
  // K and V of one token in every layer at the K/V dtype (the lowering itself keeps int8).
  uint64_t kv_bytes_per_token() const { return 2ull * layers * kv_heads * d_head * kv_dtype_bytes; }
};

struct CostOptions {
  uint32_t bucket = 64;  // token / context rounding granularity
  // Rank of every adapter for a model without `transformer.lora` (targets q, k, v, o); a model
  // with one (lora-s2, ...) uses its own rank mix.
  uint32_t lora_rank = 16;
  uint32_t tp = 1, pp = 1;        // tensor x pipeline split of every serving instance (see above)
  uint32_t collective_bytes = 1;  // bytes per activation element in collectives and stage links
  // The K/V cache's element type, a stated choice (issue 22): "int8" (what the lowering
  // computes with) or "fp16" (vLLM's, Orca's and DistServe's setting). fp16 doubles the bytes
  // per token (capacity, swap and transfer bytes) and doubles each decode sequence's attention
  // counts (the engine moves int8 K/V tiles: an fp16 cache is two of them per element).
  std::string kv_dtype = "int8";
  // Causal halving of prefill attention, a stated choice: the lowering's prefill attention
  // counts every (query, key) pair; a causal decoder needs p (p + 1) / 2 of the p^2, so with
  // causal_prefill every counter of a prefill's attention part is scaled by (p + 1) / (2 p).
  bool causal_prefill = false;
  // Price iterations on a roofline baseline device instead of the chip (`serve --device`,
  // issue 22): a workloads/devices/ name or YAML path; empty = the chip. Each run's ops
  // (sim/compiler/baseline_ops.h) are timed by Eq. B1-B3 and B7 of models/baselines.h in
  // `device_dtype` (empty = the device's own dtype), which also sizes every byte the device
  // moves, K/V included (kv_dtype then sets only the K/V capacity and swap / transfer bytes);
  // the run's host time (Eq. B8: kernel launches, I/O) is charged once per iteration, to dense.
  // The counts hold the time as non-matrix cycles of the arch's clock and the useful MACs; the
  // energy of the chip's model is not the device's. With tp x pp (issue 22, the Orca study's
  // 16 A100s), each tensor-parallel shard's ops are timed on the device (the same shards as on
  // the chip, shard_workload) and the collectives and stage links go over `device_link` in the
  // device dtype's bytes per element (collective_bytes is raised to it).
  std::string device;
  std::string device_dtype;
  // The devices' link for tp x pp on a device: per GPU and direction, NVLink 3 on an A100 is
  // 12 links x 25 GB/s = 300 GB/s (NVIDIA A100 datasheet: 600 GB/s bidirectional) through
  // NVSwitch (topology switch, DGX A100 / Azure ND A100 v4). Latency per hop: an assumption
  // (~2 us for a small NCCL message; not published per hop). Energy: the arch's default per bit
  // (the device's energy is not modelled, see above).
  InterconnectConfig device_link = [] {
    InterconnectConfig ic;
    ic.type = "nvlink";
    ic.topology = "switch";
    ic.link_bandwidth_mb_s = 300000;
    ic.link_latency_us = 2.0;
    ic.links_per_chip = 1;
    ic.from_yaml = true;
    return ic;
  }();
  bool parallel() const { return tp * pp > 1; }
};

// Bytes of one K/V element for a CostOptions::kv_dtype; throws InputError for another name.
uint32_t kv_dtype_bytes(const std::string& dtype);

class CostModel {
 public:
  // Loads `model` (a workload name or YAML path; a decoder transformer with phases). Throws
  // InputError if it is not one.
  CostModel(const TpuConfig& cfg, const std::string& model, const CostOptions& opt = {});

  const TpuConfig& config() const { return cfg_; }
  const ModelInfo& model() const { return info_; }
  const CostOptions& options() const { return opt_; }
  // The baseline device iterations are priced on (CostOptions::device), or null for the chip.
  const BaselineDevice* device() const { return opt_.device.empty() ? nullptr : &dev_; }

  // Counts of one iteration (see the header comment). `prefill` holds prompt lengths in tokens,
  // `decode` context lengths (tokens attended, the new one included); `adapters` distinct LoRA
  // adapters (0 = none). Lengths are 1..max_context. With tp x pp, `comm_j` (when given) is
  // increased by the iteration's interconnect energy, J (LoRA adapters' collectives excluded).
  // `decode_attention_overhead` (>= 0): decode attention costs that fraction more, charged as
  // non-matrix cycles (PagedAttention's block-table gather; see scheduler.h).
  EventCounts iteration(const std::vector<uint32_t>& prefill, const std::vector<uint32_t>& decode,
                        uint32_t adapters, double* comm_j = nullptr,
                        double decode_attention_overhead = 0.0);
  double seconds(const EventCounts& c) const { return double(c.cycles) / cfg_.clock_hz(); }

  EventCounts dense(uint64_t tokens);
  const EventCounts& head(uint64_t sequences);
  const EventCounts& prefill_attention(uint32_t prompt_len);
  // One sequence's attention in a decode step of `batch` sequences (see the header comment).
  const EventCounts& decode_attention(uint32_t context_len, uint64_t batch = 1);
  static constexpr uint64_t kDecodeAttnBatchCap = 64;
  EventCounts lora_extra(uint32_t adapters);

  // S-LoRA (issue 22): the cost of one adapter of `rank` applied to `tokens` tokens of an
  // iteration (its unmerged x A B on every target projection of every layer), from the engine: a
  // prefill run of `tokens` tokens with one adapter of that rank minus the same run without
  // (token_bucket rounding; above max_context whole chunks of it). A heterogeneous batch pays the
  // sum over its adapters (S-LoRA's MBGMM/MBGMV kernels batch them without padding ranks); on a
  // baseline device the LoRA kernels' launches (Eq. B8) once per iteration, not per adapter.
  EventCounts lora_tokens(uint32_t rank, uint64_t tokens);
  // Bytes of one adapter's weights: A (d_in x r) and B (r x d_out) of every target projection in
  // every layer, in the weights' element type (int8 on the chip, the device's dtype with one).
  uint64_t adapter_bytes(uint32_t rank) const;
  // One iteration of an S-LoRA / chunked-prefill batch. A prefill chunk computes prompt tokens
  // [offset, offset + len) of one sequence: dense at its tokens, attention as prefill_attention(
  // offset + len) - prefill_attention(offset) (its queries against every key so far, so the
  // chunks of a prompt add up to its unchunked attention), and the LM head only for the chunk
  // that ends the prompt (`last`). `lora`: (rank, tokens) per adapter of the batch, priced by
  // lora_tokens. Otherwise as iteration().
  struct PrefillChunk {
    uint32_t offset = 0, len = 0;
    bool last = true;
  };
  struct LoraUse {
    uint32_t rank = 0;
    uint64_t tokens = 0;
  };
  EventCounts iteration_chunked(const std::vector<PrefillChunk>& prefill,
                                const std::vector<uint32_t>& decode,
                                const std::vector<LoraUse>& lora, double* comm_j = nullptr);

  // tp x pp: the weight-balanced stages (weight and K/V bytes of one token per chip); empty
  // for one chip.
  const std::vector<StageMemory>& stages() const { return stages_; }

  uint64_t engine_runs() const { return engine_runs_; }      // workloads lowered and simulated
  double engine_seconds() const { return engine_seconds_; }  // wall time spent in them

 private:
  struct Split {
    EventCounts dense, attention, head;
    double dense_comm_j = 0.0, head_comm_j = 0.0;  // interconnect energy (tp x pp), J
    EventCounts whole() const {                    // the three parts summed
      EventCounts w = dense;
      w += attention;
      w += head;
      return w;
    }
  };
  Split run(const std::string& yaml_text, const std::string& phase, uint64_t batch,
            uint64_t prompt_len, uint64_t context_len, bool head_only);
  Split simulate(const Workload& wl);
  Split simulate_parallel(const Workload& wl, bool head_only);
  Split simulate_device(const Workload& wl);
  double dense_comm_j(uint64_t tokens);
  uint32_t round_up(uint64_t n) const;
  // Token counts of dense(T): powers of two below `bucket` (a decode step's few tokens cost
  // their own host I/O and activation rows), round_up above.
  uint32_t token_bucket(uint64_t n) const;
  const Split& prefill_point(uint32_t bucketed_len);
  EventCounts lora_point(uint32_t adapters);

  TpuConfig cfg_;
  CostOptions opt_;
  BaselineDevice dev_;  // CostOptions::device, when set
  ModelInfo info_;
  std::string base_yaml_;  // the model without adapters
  std::map<uint32_t, Split> prefill_;
  std::map<uint32_t, EventCounts> prefill_attn_;  // causal_prefill: scaled, by bucketed length
  std::map<std::pair<uint32_t, uint64_t>, EventCounts> decode_attn_;
  std::map<uint64_t, Split> head_;
  std::map<uint32_t, EventCounts> lora_;
  std::map<std::pair<uint32_t, uint32_t>, EventCounts> lora_tokens_;  // (rank, bucketed tokens)
  EventCounts lora_tokens_point(uint32_t rank, uint32_t bucketed_tokens);
  // Device only: Eq. B8's launch time of the LoRA ops, once per iteration with adapters.
  const EventCounts& lora_launch();
  std::optional<EventCounts> lora_launch_;
  bool device_host_ = true;  // simulate_device adds Eq. B8's host time
  std::string lora_yaml(uint32_t rank, uint32_t adapters) const;
  std::vector<StageMemory> stages_;
  uint64_t engine_runs_ = 0;
  double engine_seconds_ = 0.0;
};

// Field-wise helpers over every EventCounts counter.
EventCounts scaled(const EventCounts& c, uint64_t k);
// a - b, clamped at 0 per counter.
EventCounts minus(const EventCounts& a, const EventCounts& b);
// c / k per counter (floor), non_matrix_cycles recomputed so that the four still partition cycles.
EventCounts divided(const EventCounts& c, uint64_t k);
// a + (b - a) * num / den per counter (b >= a expected; clamped at a otherwise).
EventCounts lerp(const EventCounts& a, const EventCounts& b, uint64_t num, uint64_t den);

}  // namespace tpusim::serve
