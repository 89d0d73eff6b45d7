// Measured CPU baseline (sim/studies/compare/measure_cpu.h): the kernels it times compute the
// reference numerics exactly, and a measurement returns plausible positive times within its budget.
#include <catch2/catch.hpp>

#include <chrono>
#include <random>

#include "models/errors.h"
#include "sim/isa/numerics.h"
#include "sim/studies/compare/measure_cpu.h"

using namespace tpusim;
using numerics::MatrixI32;
using numerics::MatrixI8;

namespace {

MatrixI8 random_i8(int rows, int cols, uint32_t seed, int lo = -128, int hi = 127) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> d(lo, hi);
  MatrixI8 m(rows, cols);
  for (int i = 0; i < m.size(); ++i) m.data()[i] = int8_t(d(rng));
  return m;
}

BaselineOp op_of(const std::string& name, uint64_t m, uint64_t k, uint64_t n,
                 uint64_t batch_count = 1, uint64_t vector_ops = 0) {
  BaselineOp op;
  op.layer = name;
  op.m = m, op.k = k, op.n = n, op.batch_count = batch_count;
  op.weight_bytes = k * n * batch_count;
  op.act_bytes = (m * k + m * n) * batch_count;
  op.vector_ops = vector_ops;
  return op;
}

}  // namespace

TEST_CASE("eigen int32 GEMM equals the reference numerics", "[measure]") {
  // Shapes that are and are not multiples of the kernels' blocking.
  for (auto [m, k, n] : {std::tuple{1, 1, 1}, {7, 33, 5}, {64, 256, 48}, {130, 300, 17}}) {
    const MatrixI8 a = random_i8(m, k, 1), w = random_i8(k, n, 2);
    CHECK(eigen_gemm_i32(a, w) == numerics::gemm_reference(a, w));
  }
}

TEST_CASE("fp32 GEMMs are exact on small integer products", "[measure]") {
  // |sum| <= 128 * 128 * 300 < 2^24, so fp32 sums of int8 products are exact.
  const MatrixI8 a = random_i8(37, 300, 3), w = random_i8(300, 29, 4);
  const MatrixI32 ref = numerics::gemm_reference(a, w);
  const MatrixF32 af = a.cast<float>(), wf = w.cast<float>();
  CHECK(eigen_gemm_f32(af, wf).cast<int32_t>() == ref);
  if (have_onednn()) CHECK(onednn_gemm_f32(af, wf).cast<int32_t>() == ref);
}

TEST_CASE("onednn u8 x s8 -> s32 GEMM is exact on 7-bit activations", "[measure]") {
  if (!have_onednn()) {
    CHECK_THROWS_AS(onednn_gemm_u8s8(MatrixU8::Zero(2, 2), random_i8(2, 2, 2)), std::runtime_error);
    WARN("built without oneDNN (TPUSIM_HAVE_DNNL): only the error path is tested");
    return;
  }
  // Activations 0..127 have the same bits as int8 and as uint8, so the reference numerics apply;
  // pair sums stay within int16 (2 * 127 * 128 = 32512) even on AVX2's vpmaddubsw.
  for (auto [m, k, n] : {std::tuple{1, 1, 1}, {7, 33, 5}, {64, 256, 48}, {130, 300, 17}}) {
    const MatrixI8 a = random_i8(m, k, 5, 0, 127), w = random_i8(k, n, 6);
    CHECK(onednn_gemm_u8s8(a.cast<uint8_t>(), w) == numerics::gemm_reference(a, w));
  }
  // The extremes of the exact range: every product 127 * -128 and 127 * 127, k = 512.
  const MatrixI8 a = MatrixI8::Constant(4, 512, 127);
  for (int8_t wv : {int8_t(-128), int8_t(127)}) {
    const MatrixI8 w = MatrixI8::Constant(512, 8, wv);
    CHECK(onednn_gemm_u8s8(a.cast<uint8_t>(), w) == numerics::gemm_reference(a, w));
  }
}

TEST_CASE("the int8 path measure_cpu times is exact on this CPU", "[measure]") {
  if (!have_onednn()) {
    WARN("built without oneDNN (TPUSIM_HAVE_DNNL): only Eigen is measured");
    return;
  }
  INFO(onednn_int8_path());
  // The activations the timed path takes here: the full range with VNNI, 0..127 without.
  const int lo = cpu_has_vnni() ? -128 : 0;
  for (auto [m, k, n] : {std::tuple{1, 1, 1}, {16, 300, 33}, {200, 512, 64}}) {
    const MatrixI8 a = random_i8(m, k, 11, lo, 127), w = random_i8(k, n, 12);
    CHECK(onednn_gemm_int8_exact(a, w) == numerics::gemm_reference(a, w));
  }
  // The extremes: every product at the corners of the range, k = 512.
  for (int8_t av : {int8_t(lo), int8_t(127)})
    for (int8_t wv : {int8_t(-128), int8_t(127)}) {
      const MatrixI8 a = MatrixI8::Constant(3, 512, av), w = MatrixI8::Constant(512, 5, wv);
      CHECK(onednn_gemm_int8_exact(a, w) == numerics::gemm_reference(a, w));
    }
  CHECK_THAT(onednn_int8_path(), Catch::Matchers::Contains(cpu_has_vnni() ? "s8 x s8" : "u8 x s8"));
}

TEST_CASE("onednn int8 is exact over the full range on VNNI CPUs", "[measure]") {
  if (!have_onednn() || !cpu_has_vnni()) {
    WARN(
        "no oneDNN or no VNNI on this CPU: oneDNN int8 saturates int16 pair sums here "
        "(sim/studies/compare/measure_cpu.h); full-range exactness not checked");
    return;
  }
  const MatrixI8 a = random_i8(64, 256, 7), w = random_i8(256, 48, 8);
  CHECK(onednn_gemm_s8(a, w) == numerics::gemm_reference(a, w));
  const MatrixU8 au = MatrixU8::Constant(4, 512, 255);
  const MatrixI8 wm = MatrixI8::Constant(512, 8, -128);
  CHECK(onednn_gemm_u8s8(au, wm) == MatrixI32::Constant(4, 8, 512 * 255 * -128));
}

TEST_CASE("measure_cpu returns positive per-op times for every library and dtype", "[measure]") {
  const std::vector<BaselineOp> ops = {op_of("fc1", 16, 128, 64),
                                       op_of("heads", 8, 32, 16, /*batch_count=*/4),
                                       op_of("fc1_again", 16, 128, 64, 1, /*vector_ops=*/1024)};
  MeasureOptions opt;
  opt.max_seconds = 5.0;
  opt.max_repeats = 3;
  const auto runs = measure_cpu(ops, opt);
  REQUIRE(runs.size() == measure_libraries().size() * 2);
  for (const auto& run : runs) {
    INFO(run.library << " " << run.dtype);
    CHECK((run.library == "onednn" || run.library == "eigen"));
    REQUIRE(run.ops.size() == ops.size());
    double sum = 0;
    for (size_t i = 0; i < ops.size(); ++i) {
      const MeasuredOp& o = run.ops[i];
      CHECK(o.measured);
      CHECK(o.repeats >= 1);
      CHECK(o.repeats <= opt.max_repeats);
      CHECK(o.gemm_instance_s > 0);
      CHECK(o.seconds == Approx(double(ops[i].batch_count) * o.gemm_instance_s + o.vector_s));
      // Plausible for a CPU: well under 10 TOPS.
      CHECK(o.gops < 10000);
      sum += o.seconds;
    }
    CHECK(run.ops[2].vector_s > 0);
    CHECK(run.ops[0].vector_s == 0);
    // Identical shapes are timed once.
    CHECK(run.ops[0].gemm_instance_s == run.ops[2].gemm_instance_s);
    CHECK(run.latency_s == Approx(sum));
    CHECK(run.measured_shapes == 2);
    CHECK(run.extrapolated_shapes == 0);
    CHECK(run.gops > 0);
  }
}

TEST_CASE("measure_cpu stays within its time budget and extrapolates the rest", "[measure]") {
  // 40 distinct shapes of ~0.1-0.3 GFLOP each: far more than 0.4 s of work on a shared core.
  std::vector<BaselineOp> ops;
  for (int i = 0; i < 40; ++i)
    ops.push_back(op_of("fc" + std::to_string(i), 256, 512, 512 + 8 * i));
  MeasureOptions opt;
  opt.libraries = {"eigen"};
  opt.dtypes = {"fp32"};
  opt.max_seconds = 0.4;
  const auto t0 = std::chrono::steady_clock::now();
  const auto runs = measure_cpu(ops, opt);
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  // The budget plus one shape's calls past it and the set-up of its buffers.
  CHECK(wall < opt.max_seconds + 1.5);
  REQUIRE(runs.size() == 1);
  CHECK(runs[0].extrapolated_shapes > 0);
  CHECK(runs[0].measured_shapes + runs[0].extrapolated_shapes == 40);
  bool any_flagged = false;
  for (const auto& o : runs[0].ops) {
    CHECK(o.seconds > 0);  // extrapolated at the largest measured shape's rate
    any_flagged |= !o.measured;
  }
  CHECK(any_flagged);
}

TEST_CASE("shapes over max_bytes are extrapolated without allocating", "[measure]") {
  MeasureOptions opt;
  opt.libraries = {"eigen"};
  opt.dtypes = {"fp32"};
  opt.max_bytes = 1 << 20;
  const auto runs =
      measure_cpu({op_of("small", 32, 64, 64), op_of("huge", 4096, 65536, 65536)}, opt);
  REQUIRE(runs[0].ops.size() == 2);
  CHECK(runs[0].ops[0].measured);
  CHECK_FALSE(runs[0].ops[1].measured);
  // Same rate as the small shape: time scales with the MACs.
  CHECK(runs[0].ops[1].seconds ==
        Approx(runs[0].ops[0].seconds * (4096.0 * 65536 * 65536) / (32.0 * 64 * 64)));
}

TEST_CASE("measure_cpu rejects unknown libraries and dtypes", "[measure]") {
  const std::vector<BaselineOp> ops = {op_of("fc", 4, 4, 4)};
  MeasureOptions bad_lib;
  bad_lib.libraries = {"mkl"};
  CHECK_THROWS_AS(measure_cpu(ops, bad_lib), InputError);
  MeasureOptions bad_dtype;
  bad_dtype.dtypes = {"fp64"};
  CHECK_THROWS_AS(measure_cpu(ops, bad_dtype), InputError);
  if (!have_onednn()) {
    MeasureOptions want_dnnl;
    want_dnnl.libraries = {"onednn"};
    CHECK_THROWS_AS(measure_cpu(ops, want_dnnl), InputError);
  }
}

TEST_CASE("a measured run becomes a comparison entry", "[measure]") {
  BaselineWorkload wl;
  wl.name = "w";
  wl.examples = 16;
  wl.ops = {op_of("fc", 16, 256, 256)};
  MeasureOptions opt;
  opt.libraries = {"eigen"};
  opt.dtypes = {"int8"};
  opt.max_seconds = 2.0;
  const auto runs = measure_cpu(wl.ops, opt);
  const BaselineDevice host = load_baseline_device("haswell");
  const BaselineResult r = measured_result(runs[0], host, wl, CarbonParams{});
  CHECK(r.name == "cpu-eigen-int8");
  CHECK(r.kind == "measured");
  CHECK(r.library == "eigen");
  CHECK(r.latency_s == runs[0].latency_s);
  CHECK(r.throughput_per_s == Approx(16 / r.latency_s));
  CHECK(r.power_w >= host.idle_w);
  CHECK(r.power_w <= host.tdp_w);
  CHECK(r.energy_j_per_inference == Approx(r.power_w * r.latency_s / 16));
}
