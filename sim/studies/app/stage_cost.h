// What one call of an application stage costs: its service time, energy and carbon, and what one
// of its servers draws while idle. Model stages (and exact retrieval scans) take these from the
// simulator: the fast engine's run of the workload at the call's batch on the stage's arch, or the
// roofline device model (models/baselines.h), never from typed-in times. Host and host-retrieval
// stages use the stated cost models below. Every distinct (stage, padded batch) is simulated
// once and cached.
//
// Equations (cited as "Eq. A<n>", sim/studies/app/README.md):
// A1 model call of b items on an arch: the engine runs the workload at batch B = the smallest
//    power of two >= b, capped at max_batch (a padded batch); time, energy and carbon are the run
//    report's totals, times `repeat` (sequential calls such as decode steps). Phase generate:
//    a prefill run at prompt_len plus output_tokens times a decode run at the mean context,
//    prompt_len + ceil(output_tokens / 2).
// A2 on a roofline device: evaluate_baseline's latency; energy and carbon per inference x B.
// A3 exact retrieval: a (B x dim)(dim x chunk) GEMM run as A1/A2, scaled by vectors / chunk.
// A4 host stage: b items take b cost_s of one core; a busy core draws tdp_w / cores_per_device of
//    the host device and is charged its embodied carbon (Eq. B6) per busy second.
// A5 IVF on host nodes (the datastore split evenly over `nodes`, each searched for every query,
//    in parallel): per query t = (nlist + nprobe V/nlist) dim code_bytes / (cores scan_rate),
//    V = vectors per node, nlist = sqrt(V) unless given; a batch of b costs b t.
// A6 HNSW: t = (ef_search m + m log2 V) dim code_bytes / (cores scan_rate).
// A7 hierarchical (Hermes): a sample search on every node (nprobe_s, centroids included), then a
//    deep search on `clusters_searched` of the nodes (nprobe_d): a batch of b costs
//    b t_s + ceil(b k / nodes) t_d, with b k deep searches spread evenly over the nodes.
// A8 DVFS: at clock f of the levels, times scale by a f_max / f + (1 - a), a =
//    clock_bound_fraction (the rest is bound by memory); busy node-seconds draw busy_w(f), the
//    rest of the nodes' time within the call idle_w(f).
// A9 operational carbon of host energy: E / 3.6e6 PUE grid (Eq. 10) with carbon_arch's grid.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "models/baselines.h"
#include "models/config.h"
#include "sim/studies/app/app_spec.h"

namespace tpusim::app {

struct CallCost {
  double seconds = 0.0;
  double energy_j = 0.0;          // busy energy of the call (and its idle nodes, A8)
  double carbon_op_g = 0.0;       // operational carbon of energy_j
  double embodied_g_per_s = 0.0;  // embodied carbon of one server per second it exists (or busy)
  uint32_t batch_run = 0;         // the padded batch simulated (model stages)
};

class StageCosts {
 public:
  // Loads the archs, workloads and devices of `app`. Throws InputError.
  explicit StageCosts(const AppSpec& app);

  // The cost of one call of stage `s` on `items` items (1..max_batch).
  const CallCost& call(uint32_t s, uint32_t items);
  // Power of one idle server of stage `s`, W: a chip's static power (all blocks), a device's
  // idle_w, a retrieval group's nodes at idle_w(f); 0 for host cores (shared, busy time only).
  double idle_w(uint32_t s);
  // True when a server of stage `s` is dedicated (idle power and embodied carbon charged over the
  // whole span); host cores are shared (charged only while busy).
  bool dedicated(uint32_t s) const;
  double grid_factor_g_per_j() const { return g_per_j_; }  // Eq. A9

  uint64_t engine_runs() const { return engine_runs_; }
  double engine_seconds() const { return engine_seconds_; }

 private:
  CallCost model_call(const StageSpec& st, uint64_t batch);
  CallCost engine_cost(const StageSpec& st, const Workload& wl);  // one engine or roofline run
  CallCost host_retrieval_call(const StageSpec& st, uint64_t items) const;
  const TpuConfig& config(const std::string& arch);
  const BaselineDevice& device(const std::string& dev);

  const AppSpec& app_;
  std::map<std::string, TpuConfig> cfgs_;
  std::map<std::string, BaselineDevice> devs_;
  std::map<std::pair<uint32_t, uint32_t>, CallCost> cache_;
  BaselineDevice host_;
  CarbonParams carbon_;
  double g_per_j_ = 0.0;
  double host_core_w_ = 0.0, host_core_emb_g_per_s_ = 0.0;
  uint64_t engine_runs_ = 0;
  double engine_seconds_ = 0.0;
};

// The padded batch of A1: smallest power of two >= items, at most max_batch.
uint32_t padded_batch(uint32_t items, uint32_t max_batch);

}  // namespace tpusim::app
