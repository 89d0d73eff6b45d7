// Measured CPU baseline (issue 8, `tpusim compare --measure-cpu`): the GEMMs and vector ops of a
// run executed for real on this machine, through oneDNN (int8 u8 x s8 -> s32 and fp32) and
// through Eigen (int32 and fp32), so that a user sees both what the CPU does and what the library
// choice is worth. Plain C++ (no SystemC). oneDNN is optional: without it at configure time
// (TPUSIM_HAVE_DNNL undefined) only Eigen is measured and have_onednn() says so.
//
// Method: identical (m, k, n) shapes are timed once; an op of batch_count instances costs
// batch_count times one instance. Per shape: `warmup` untimed calls, then timed calls until
// `max_repeats` or the run's share of `max_seconds` is used up; the median is kept. Shapes are
// timed smallest first; those left when the time runs out, or whose buffers exceed `max_bytes`,
// are extrapolated at the rate of the largest measured shape and flagged (measured = false).
// int8 through oneDNN, on a path that is exact on this CPU (issue 23; onednn_int8_path says which
// ran): with VNNI (AVX512-VNNI, AVX-VNNI) s8 x s8 -> s32, the reference numerics' signature, exact
// over the full range; without VNNI (AVX2, AVX-512 before Cascade Lake) its kernels use
// vpmaddubsw, whose int16 sums of two u8 x s8 products saturate, so the timed path is u8 x s8 on
// 7-bit activations (0..127), where it is exact (s8 x s8 there adds 128 to the activations
// internally and is inexact for most inputs). Timing does not depend on the values.
// Vector ops run as an fp32 logistic over vector_ops elements in every dtype (the library's
// elementwise path; int8 vector math has no oneDNN or Eigen kernel of its own).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "models/baselines.h"
#include "sim/isa/numerics.h"

namespace tpusim {

// True when built with oneDNN (TPUSIM_HAVE_DNNL).
bool have_onednn();
// True when this x86 CPU has AVX512-VNNI or AVX-VNNI (oneDNN int8 exact over the full range).
bool cpu_has_vnni();
// Libraries this build can measure: "onednn" (if have_onednn()), "eigen".
std::vector<std::string> measure_libraries();

struct MeasureOptions {
  std::vector<std::string> libraries;  // empty = measure_libraries()
  std::vector<std::string> dtypes = {"int8", "fp32"};
  double max_seconds = 20.0;        // wall-clock budget of the whole measurement, all runs
  uint32_t warmup = 1;              // untimed calls per shape
  uint32_t max_repeats = 5;         // timed calls per shape (the median is kept)
  uint64_t max_bytes = 1ull << 30;  // one GEMM's A + B + C buffers; above: extrapolated
  uint64_t seed = 1;                // input values (timing never depends on them)
};

struct MeasuredOp {
  std::string layer;
  uint64_t m = 0, k = 0, n = 0, batch_count = 1;
  double gemm_instance_s = 0.0;  // median of one (m x k) x (k x n) GEMM
  double vector_s = 0.0;         // the op's vector_ops
  double seconds = 0.0;          // batch_count * gemm_instance_s + vector_s
  uint32_t repeats = 0;          // timed calls behind the median (0: extrapolated)
  bool measured = false;
  double gops = 0.0;  // 2 m k n batch_count / seconds / 1e9
};

struct MeasuredRun {
  std::string library;  // "onednn" or "eigen"
  std::string dtype;    // "int8" or "fp32"
  std::string detail;   // the arithmetic actually run, e.g. "s8 x s8 -> s32"
  int threads = 1;
  std::vector<MeasuredOp> ops;  // one per input op, same order
  double latency_s = 0.0;       // sum of ops' seconds
  double gops = 0.0;            // all GEMM ops / latency_s / 1e9
  uint32_t measured_shapes = 0;
  uint32_t extrapolated_shapes = 0;
};

// Times `ops` with every library x dtype of `opt` (InputError for an unknown library, a library
// this build lacks, or a dtype other than int8/fp32). Bounded by opt.max_seconds plus at most one
// shape's calls past it per run. Returns one run per library x dtype, in that order.
std::vector<MeasuredRun> measure_cpu(const std::vector<BaselineOp>& ops,
                                     const MeasureOptions& opt = {});

// A measured run as a comparison entry: kind "measured", its library and dtype, latency_s and the
// per-op seconds from `run`; power, energy and carbon from `power_model` (the device this CPU is
// taken to be, e.g. a user's YAML of this machine) by finish_baseline_result (Eq. B4-B6).
// Name: "cpu-<library>-<dtype>".
BaselineResult measured_result(const MeasuredRun& run, const BaselineDevice& power_model,
                               const BaselineWorkload& wl, const CarbonParams& carbon);

using MatrixF32 = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using MatrixU8 = Eigen::Matrix<uint8_t, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// Single GEMMs, the kernels measure_cpu times (for tests and exactness checks). The oneDNN ones
// throw std::runtime_error when built without oneDNN.
// The int8 arithmetic measure_cpu times on this CPU, in words (see above).
std::string onednn_int8_path();
// The int8 GEMM measure_cpu times on this CPU: s8 x s8 with VNNI; else u8 x s8 on `a`, whose
// values must then be 0..127 (std::invalid_argument otherwise). Exact on every CPU.
numerics::MatrixI32 onednn_gemm_int8_exact(const numerics::MatrixI8& a,
                                           const numerics::MatrixI8& w);
// (M x K) u8 x (K x N) s8 -> (M x N) s32, the int8 kernel timed without VNNI: exact for 7-bit
// activations everywhere, for all u8 values only when cpu_has_vnni() (see above).
numerics::MatrixI32 onednn_gemm_u8s8(const MatrixU8& a, const numerics::MatrixI8& w);
// (M x K) s8 x (K x N) s8 -> s32, the reference numerics' signature: exact only when
// cpu_has_vnni(); not used for timing.
numerics::MatrixI32 onednn_gemm_s8(const numerics::MatrixI8& a, const numerics::MatrixI8& w);
MatrixF32 onednn_gemm_f32(const MatrixF32& a, const MatrixF32& w);
// The same through Eigen: int8 values widened to int32 (Eigen has no int8 GEMM), and fp32.
numerics::MatrixI32 eigen_gemm_i32(const numerics::MatrixI8& a, const numerics::MatrixI8& w);
MatrixF32 eigen_gemm_f32(const MatrixF32& a, const MatrixF32& w);

}  // namespace tpusim
