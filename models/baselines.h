// Baseline devices (issue 8): roofline models of the CPUs and GPUs the accelerator is compared
// with, the way the TPU paper's Table 6 and Figure 9 compare TPU, Haswell and K80. A device is
// data (workloads/devices/NAME.yaml, or a user's YAML) read by one strict loader; a workload is a
// plain list of GEMM-like ops per run, so that this file depends on neither the lowering nor the
// engines.
//
// Equations (cited in the code as "Eq. Bn"):
// B1 compute time of an op: t_c = 2 m k n batch_count / (peak(dtype) * eff_c).
// B2 memory time: t_m = (weight_bytes + act_bytes) * dtype_bytes / (memory_gb_s 1e9 * eff_m).
// B3 op time: t = max(t_c + vector_ops / (fp32_tflops 1e12 / 2 * eff_c), t_m); the run's
//    latency is the sum over its ops (ops run one after another, as in a framework).
// B4 power: P = idle_w + (tdp_w - idle_w) u, with u the time-weighted utilization of the busier
//    resource against its raw peak, u_op = max(ops / (t peak), bytes / (t bw)) <= 1. So dynamic
//    energy is proportional to the work and static energy to the time: a less efficient library
//    pays in idle power times the longer run, not in higher dynamic energy.
// B5 energy per inference: E = P latency / examples.
// B6 carbon per inference: operational E / 3.6e6 * PUE * CI_grid (Eq. 10, models/README.md);
//    embodied (latency / examples) / lifetime * (die + package + memory_gb g/GB) (Eq. 12-14).
// B7 batch-dependent compute efficiency (issue 23): a GEMM library computes an (m x n) output in
//    register or thread-block tiles of tile_m x tile_n spread over `units` cores or SMs, so a
//    small m (the batch) wastes the rest of each tile and a small tile count idles units:
//    eff_c(op) = compute * (m / (ceil(m / tile_m) tile_m)) * (n / (ceil(n / tile_n) tile_n))
//                * (tiles / (ceil(tiles / units) units)),  tiles = ceil(m/tile_m) ceil(n/tile_n).
//    No `gemm_tiles` in the YAML: eff_c = compute (the old constant).
// B8 host time of one run, paid by a device behind a host link (GPUs; not by a CPU):
//    t_host = (input + output bytes) * dtype_bytes / (host_link_gb_s 1e9) + launches * launch_us,
//    input = m k of the first GEMM op, output = m n of the last, launches = ops with work.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "models/model_params.h"

namespace tpusim {

// One GEMM-like op of a run: `batch_count` independent (m x k) x (k x n) products, plus
// `vector_ops` elementwise operations (activations, gates, softmax, norms) that run beside them.
// Bytes are counted at one byte per element, as the accelerator stores them (int8); a device
// whose comparison dtype is wider scales them by dtype_bytes() (Eq. B2).
struct BaselineOp {
  std::string layer;
  uint64_t m = 0, k = 0, n = 0;
  uint64_t batch_count = 1;
  uint64_t weight_bytes = 0;  // weights (or K/V) read by the op, all batch_count instances
  uint64_t act_bytes = 0;     // activations read and written, all instances
  uint64_t vector_ops = 0;    // elementwise ops, one per element per function

  // 2 ops per MAC (the TPU paper's convention): 2 m k n batch_count.
  double gemm_ops() const { return 2.0 * double(m) * double(k) * double(n) * double(batch_count); }
};

// What a device is compared on: one run (one batch step) that completes `examples` inferences.
struct BaselineWorkload {
  std::string name;
  uint64_t examples = 1;
  std::vector<BaselineOp> ops;
};

// Comparison data types; the device's peak for its dtype must be > 0.
const std::vector<std::string>& baseline_dtypes();  // int8, fp16, bf16, fp32
// Bytes per element of a dtype (1, 2, 2, 4). Throws std::invalid_argument for another name.
double dtype_bytes(const std::string& dtype);

struct BaselineDevice {
  std::string name;  // "haswell", "k80", ...
  std::string description;
  std::string source;  // where the numbers come from
  std::string file;    // YAML it was loaded from
  std::string kind;    // "cpu" or "gpu"
  std::string dtype;   // the dtype its GEMMs run in for the comparison
  // Dense peaks (no 2:4 sparsity), 0 = not supported. fp16_tflops is also the bf16 peak.
  double int8_tops = 0.0;
  double fp16_tflops = 0.0;
  double fp32_tflops = 0.0;
  double memory_gb_s = 0.0;  // 1 GB/s = 1e9 bytes/s
  double memory_gb = 0.0;    // DRAM capacity attached to the die (embodied carbon)
  std::string memory_type;   // ddr4, gddr5, hbm2, ... (a key of CarbonParams::dram_g_per_gb)
  double tdp_w = 0.0;        // power at full utilization (Eq. B4)
  double idle_w = 0.0;
  double die_mm2 = 0.0;
  double node_nm = 0.0;
  // Stated fractions of the peaks a well-tuned library reaches (Eq. B1-B3), in (0, 1].
  double compute_efficiency = 1.0;
  double memory_efficiency = 1.0;
  // Eq. B7: the GEMM library's tile and the units sharing tiles; 0 = no batch-dependent curve.
  uint64_t gemm_tile_m = 0, gemm_tile_n = 0, gemm_units = 0;
  std::string gemm_tiles_source;
  // Eq. B8: host link per die (0 = the device is the host) and per-kernel launch time.
  double host_link_gb_s = 0.0;
  double launch_us = 0.0;

  // Peak of `dtype` in ops/s (2 ops per MAC); 0 if unsupported.
  double peak_ops_per_s(const std::string& dtype) const;
  double peak_ops_per_s() const { return peak_ops_per_s(dtype); }
  double memory_bytes_per_s() const { return memory_gb_s * 1e9; }
  // Elementwise ops/s: one op per fp32 FMA slot, half the fp32 FLOPS (Eq. B3).
  double vector_ops_per_s() const { return fp32_tflops * 1e12 / 2.0; }
};

// Loads a device by name (workloads/devices/NAME.yaml under data_root()) or by path (anything
// with a '/' or ending in .yaml). Throws InputError naming the file, the key and the allowed
// range: unknown keys, missing keys, negative or out-of-range numbers, a dtype the device has no
// peak for, an unknown memory type.
BaselineDevice load_baseline_device(const std::string& name_or_path);
// Parses YAML text as if it came from `file` (used by load_baseline_device and by tests).
BaselineDevice parse_baseline_device(const std::string& yaml_text, const std::string& file);
// Names of the shipped devices (workloads/devices/*.yaml), sorted.
std::vector<std::string> list_baseline_devices();
// The default comparison list, in the order of the reference table: haswell, k80, t4, v100,
// a100, h100, h200 (those shipped).
std::vector<std::string> default_baseline_names();
// Loads a comma-separated list ("haswell,k80,my.yaml"); empty -> default_baseline_names().
std::vector<BaselineDevice> load_baseline_devices(const std::string& comma_list);

struct BaselineOpResult {
  std::string layer;
  double ops = 0.0;        // gemm_ops()
  double bytes = 0.0;      // (weight_bytes + act_bytes) * dtype_bytes (Eq. B2)
  double compute_s = 0.0;  // Eq. B1 + B3
  double memory_s = 0.0;   // Eq. B2
  double seconds = 0.0;    // max(compute_s, memory_s)
  bool memory_bound = false;
};

struct BaselineResult {
  std::string name;
  std::string kind =
      "roofline";       // "roofline" (this model) or "measured" (sim/studies/compare/measure_cpu.h)
  std::string library;  // measured only: "onednn", "eigen", "cublaslt"
  std::string dtype;
  double latency_s = 0.0;         // one run (Eq. B1-B3 summed over the ops)
  double throughput_per_s = 0.0;  // examples / latency_s
  double tops = 0.0;              // GEMM ops / latency_s / 1e12
  double utilization = 0.0;       // Eq. B4
  double power_w = 0.0;           // Eq. B4
  double perf_per_w = 0.0;        // throughput_per_s / power_w (inferences per joule)
  double tops_per_w = 0.0;
  double energy_j_per_inference = 0.0;              // power_w * latency_s / examples (Eq. B5)
  double carbon_operational_g_per_inference = 0.0;  // Eq. B6 (Eq. 10)
  double carbon_embodied_g_per_inference = 0.0;     // Eq. B6 (Eq. 12-14)
  double carbon_g_per_inference = 0.0;
  double speedup_vs_haswell = 0.0;  // Haswell's latency / this one's (Table 6); 0 = not set
  std::vector<BaselineOpResult> ops;
};

// Embodied carbon of one device over its life, g CO2e: ACT die (Eq. 12, act_die_embodied_g with
// the device's die and node) + package + memory_gb * dram_g_per_gb(memory_type) (Eq. 13).
double baseline_embodied_total_g(const BaselineDevice& dev, const CarbonParams& carbon);

// Compute efficiency of one op on `dev` (Eq. B7): dev.compute_efficiency times the tile and
// unit occupancy of the op's (m x n) output; dev.compute_efficiency alone for vector-only ops or
// a device without gemm_tiles. In (0, compute_efficiency].
double compute_efficiency(const BaselineDevice& dev, const BaselineOp& op);

// Roofline of one op on `dev` in dev.dtype (Eq. B1-B3, with Eq. B7's efficiency).
BaselineOpResult roofline_op(const BaselineDevice& dev, const BaselineOp& op);

// Host time of one run of `wl` on `dev` in seconds (Eq. B8): 0 for a device without a host link.
double baseline_host_s(const BaselineDevice& dev, const BaselineWorkload& wl);

// The device's roofline result for one run of `wl` (Eq. B1-B6). Carbon uses the grid, PUE,
// lifetime and ACT factors of `carbon` (pass the accelerator's cfg.params.carbon so that every
// device is judged on the same grid). speedup_vs_haswell is left 0 (see set_speedup_vs).
// Throws std::invalid_argument for a workload with no ops or zero examples.
BaselineResult evaluate_baseline(const BaselineDevice& dev, const BaselineWorkload& wl,
                                 const CarbonParams& carbon);

// Fills the derived fields of a result whose name, kind, library, dtype and latency_s are set
// (a measured run on hardware described by `dev`): throughput, TOPS, utilization and power
// (Eq. B4: per op from r.ops[i].seconds when r.ops matches wl.ops one to one, else over the whole
// run), perf/W, energy and carbon per inference, exactly as evaluate_baseline does.
void finish_baseline_result(BaselineResult& r, const BaselineDevice& dev,
                            const BaselineWorkload& wl, const CarbonParams& carbon);

// Table 6: sets speedup_vs_haswell = reference_latency_s / latency_s on every result.
void set_speedup_vs(std::vector<BaselineResult>& results, double reference_latency_s);

}  // namespace tpusim
