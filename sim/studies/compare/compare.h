// `tpusim compare`: the accelerator beside CPU and GPU baselines on one workload, in the manner of
// the TPU paper's Table 6 (speed-up over Haswell) and Figure 9 (performance per Watt).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/baselines.h"
#include "models/config.h"
#include "sim/compiler/baseline_ops.h"  // baseline_workload
#include "sim/compiler/workload.h"

namespace tpusim {

struct CompareOptions {
  std::string baselines;              // comma list of device names or YAML paths; "" = all shipped
  bool measure_cpu = false;           // time the workload's GEMMs on this machine (oneDNN, Eigen)
  double measure_seconds = 20.0;      // budget of the measurement
  std::string cpu_model = "haswell";  // device whose power model the measured CPU runs use
  std::string gpu_results;            // JSON written by scripts/gpu (gpu_gemm_bench)
  // A run_multichip_report JSON (sim/studies/multichip/multichip.h) of the same arch and workload:
  // the accelerator side becomes that tp x pp system (`compare --chips/--tp/--pp`). Null: one chip.
  nlohmann::json multichip_report;
};

// The comparison report: `devices` (accelerator first, then rooflines, then measured entries)
// with the fields of issue 8, and ratios to Haswell (Table 6) and perf/W ratios (Figure 9).
// With opt.multichip_report the accelerator entry is the whole multi-chip system (latency, power,
// energy and carbon of every chip plus the interconnect) and the report gains `accelerator`
// {chips, tp, pp, micro_batches, latency_kind, communication, perf_per_w, tops_per_w}; the
// baselines stay single devices.
nlohmann::json compare_report(const TpuConfig& cfg, const std::string& workload,
                              const WorkloadParams& params, const CompareOptions& opt);

// Measured GPU timings (scripts/gpu/gemm_bench.cu JSON at `path`) priced on `bw`: one entry per
// dtype in the file, kind "measured", latency = the sum over bw's GEMM ops of the shape's
// per-instance latency times batch_count; power from the shipped GPU whose name the file's device
// string contains (else h100). InputError: the file is missing, not JSON, lacks fields, or lacks
// a shape of bw.
std::vector<BaselineResult> gpu_results(const std::string& path, const BaselineWorkload& bw,
                                        const CarbonParams& carbon);

// CSV of the workload's GEMM shapes for scripts/gpu/gemm_bench.cu (`layer,m,k,n,batch_count`).
std::string gpu_shapes_csv(const BaselineWorkload& bw);

}  // namespace tpusim
