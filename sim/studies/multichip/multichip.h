// Multi-chip inference (issue 13): tensor parallelism (TP) x pipeline parallelism (PP) over N
// identical chips joined by the arch's interconnect (models/interconnect.h).
//
// Tensor parallelism, Megatron-style (Shoeybi et al., 2019), as a rewrite of the Workload:
// - A dense layer whose inputs are all replicated is column-parallel: chip i of T owns output
//   columns [i N / T, (i + 1) N / T) (uneven splits give at most two shard shapes). A layer that
//   produces an attention layer's QKV input is split by heads instead (chip i: query heads
//   [i H / T, (i + 1) H / T) and their K/V heads; GQA with T > kv_heads replicates a K/V head).
// - A dense layer with a sharded input is row-parallel: each chip multiplies its slice of K and
//   the partial sums are all-reduced after the layer (rows x out_features x bytes per element).
// - Attention runs its heads locally (needs T | heads and T | kv_heads or kv_heads | T).
// - Convolutions split output channels (column) or input channels (row) the same way.
// - Vector and pooling layers follow their operands: all sharded alike -> sharded, all replicated
//   -> replicated (every chip computes it, as Megatron does layernorm and residuals), mixed -> the
//   sharded operands are all-gathered first (modelled on chip as a DMA read of the gathered
//   tensor, a kEmbedding layer "<tensor>.gathered"). Host ops take shards (the host assembles).
// - A group whose output is sharded ends with an all-gather of it.
// In a transformer block this gives the textbook pattern: QKV column, attention local, o_proj row
// + all-reduce, FFN up (and gate) column, FFN down row + all-reduce, the LM head column + gather.
// Only the MACs and weights of split layers shrink; the replicated layers cost every chip.
//
// Pipeline parallelism: the sequence of group instances (a group with repeat r counts r times) is
// cut into P contiguous stages, balanced by weight bytes per chip (default, what capacity needs)
// or by time per stage (min-max by dynamic programming, ties broken by the other key). M
// micro-batches of batch / M sequences flow through; stage s takes t_s per micro-batch and the
// boundary s -> s+1 a transfer of the activation (each of the T chips sends 1/T, the receiving
// stage all-gathers). With stage and link times p_k the elements of a flow shop:
// - prefill (and non-LLM batches): latency = sum p_k + (M - 1) max p_k (GPipe; the bubble
//   (P - 1) / (M + P - 1) for balanced stages);
// - decode steady state: every micro-batch produces one token per period, period =
//   max(M max p_k, sum p_k); tokens/s = batch / period; time per output token = period.
// Communication is not overlapped with compute. Each distinct shard shape is lowered and run on
// the fast engine once (timing only, each segment once times its repeat), never N times.
// Energy: each chip's run energy (models/energy.h) plus static power while it waits, plus the
// link energy of every transfer (IC-6).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/config.h"
#include "models/interconnect.h"
#include "sim/compiler/workload.h"

namespace tpusim {

// One collective of one group instance on the T chips of a stage.
struct Collective {
  std::string kind;  // "all_reduce" | "all_gather"
  std::string
      layer;  // the layer it follows (all_reduce, group-end gather) or feeds (operand gather)
  uint64_t bytes = 0;  // the full tensor: rows x features x bytes per element
};

struct TpShard {
  Workload workload;                                 // chip `index`'s share of every group
  std::vector<std::vector<Collective>> collectives;  // per group of `workload`, per instance
};

// Chip `index` (0 <= index < tp) of a `tp`-way tensor-parallel split of `wl` (rules above).
// `bytes_per_element` sizes the collectives (1: int8 activations). tp = 1 returns `wl` unchanged
// with no collectives. Throws InputError when a layer cannot be split `tp` ways (naming it).
TpShard shard_workload(const Workload& wl, uint32_t tp, uint32_t index,
                       uint32_t bytes_per_element = 1);

// Time and energy of one collective on the `tp` chips of a stage (IC-3 / IC-4,
// models/interconnect.h).
CollectiveCost collective_cost(const InterconnectConfig& ic, uint32_t tp, const Collective& c);

// The activation crossing a pipeline-stage boundary: each of the `tp` sending chips passes 1 / tp
// of the `bytes` to its peer (IC-5), then the receiving stage all-gathers them (IC-4).
CollectiveCost stage_link_cost(const InterconnectConfig& ic, uint32_t tp, uint64_t bytes);

// One pipeline stage of a `tp` x `pp` split balanced by weight bytes (run's default balance):
// the group instances it holds, [first_unit, end_unit) in the order of the groups with each
// group's repeats expanded, and the most weight and K/V bytes one of its chips holds (K/V at the
// workload's batch and context).
struct StageMemory {
  uint64_t first_unit = 0, end_unit = 0;
  uint64_t weight_bytes = 0, kv_bytes = 0;
  std::vector<size_t> group_of_unit;  // group index of each unit of the stage
};

// The `pp` weight-balanced stages of `wl` split `tp` ways (no simulation). Throws InputError when
// the split is impossible (tp not dividing the heads, pp over the group instances), naming it.
std::vector<StageMemory> weight_balanced_stages(const Workload& wl, uint32_t tp, uint32_t pp,
                                                uint32_t bytes_per_element = 1);

// A key equal for two workloads exactly when their groups and layers have the same shapes (what
// the lowering and the engines see), so equal keys simulate identically.
std::string shape_signature(const Workload& wl);

// Most chips of one split.
constexpr uint32_t kMaxChips = 4096;

// The one rule that turns chips, tp and pp into a split (0 = not given), used by every command
// and the sweeps: chips alone is pure tensor parallelism (tp = chips, pp = 1); chips with one of
// tp / pp gives the other as chips / it; tp and / or pp alone give chips = tp x pp. `reason` is
// non-empty ("chips 6 is not a multiple of tp 4") when the values are inconsistent or the split
// has more than kMaxChips chips.
struct Split {
  uint32_t tp = 1, pp = 1;
  std::string reason;
};
Split resolve_split(uint64_t chips, uint64_t tp, uint64_t pp);

struct MultiChipOptions {
  uint32_t chips = 0;  // 0: tp x pp; otherwise must equal it
  uint32_t tp = 1, pp = 1;
  uint32_t micro_batches = 0;  // 0: 1 without PP, else the divisor of the batch with the lowest
                               // latency (decode: up to pp), fewest on a tie
  std::string balance = "weights";            // weights | time
  uint32_t collective_bytes_per_element = 1;  // 1: int8 activations; 4: int32 partial sums
  bool strict_capacity = false;               // a chip over its weight memory -> InputError
  // Told the capacity warning (a chip over its weight memory, simulated as a what-if); unset:
  // the report's `capacity` block alone says so.
  std::function<void(const std::string&)> warn;
};

// The multi-chip report: tool, arch, interconnect, workload, split (stages, micro-batches),
// latency_s (+ latency_kind ttft | tpot | batch), tokens_per_s (LLMs) or items_per_s,
// energy_j per step and per token/item, communication {seconds on the critical path, share,
// energy_j, link_bytes, collectives}, critical_path, pipeline {bubble}, chips (per chip:
// stage, tp index, compute time, busy fraction, utilization, energy, capacity), capacity and
// totals (totals_json of every chip's counts summed, with cycles/seconds/energy/power/TOPS/carbon
// replaced by the wall-clock and whole-system values). Times in s, energy in J.
// Throws InputError for a bad split (naming it) or, with strict_capacity, a chip that overflows.
nlohmann::json run_multichip_report(const TpuConfig& cfg, const std::string& workload,
                                    const WorkloadParams& params, const MultiChipOptions& opt);

struct PlanOptions {
  double slo_latency_s = 0.0;  // decode: time per output token; prefill: TTFT; else batch latency
  uint32_t max_chips = 64;
  uint32_t micro_batches = 0;  // as MultiChipOptions
  std::string balance = "weights";
  uint32_t collective_bytes_per_element = 1;
};

// Placement search in the spirit of Alpa / DistServe over this simulator's costs: for N = 1 ..
// max_chips and every T x P = N whose chips all hold their weights, the latency; stops at the
// fewest chips with a split meeting the SLO and picks the split with the highest tokens/s (then
// the lowest energy per token). Returns {found, best, candidates (every split evaluated, with
// why it failed), search}. Throws InputError for bad options.
nlohmann::json plan_multichip(const TpuConfig& cfg, const std::string& workload,
                              const WorkloadParams& params, const PlanOptions& opt);

}  // namespace tpusim
