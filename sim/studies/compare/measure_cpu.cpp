#include "sim/studies/compare/measure_cpu.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <stdexcept>
#include <thread>
#include <tuple>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "models/errors.h"

#ifdef TPUSIM_HAVE_DNNL
#include <oneapi/dnnl/dnnl.hpp>
#endif

namespace tpusim {

namespace {

using Clock = std::chrono::steady_clock;
using numerics::MatrixI32;
using numerics::MatrixI8;
using ArrayF32 = Eigen::Array<float, Eigen::Dynamic, 1>;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// One prepared computation: buffers allocated and filled, ready to be called repeatedly.
using Call = std::function<void()>;

template <typename M>
M random_matrix(uint64_t rows, uint64_t cols, std::mt19937_64& rng) {
  using T = typename M::Scalar;
  M out{Eigen::Index(rows), Eigen::Index(cols)};
  std::uniform_int_distribution<int> d(-128, 127);
  for (Eigen::Index i = 0; i < out.size(); ++i) out.data()[i] = T(d(rng));
  return out;
}

#ifdef TPUSIM_HAVE_DNNL

dnnl::engine& dnnl_engine() {
  static dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  return eng;
}

dnnl::matmul::primitive_desc matmul_pd(dnnl::memory::data_type src, dnnl::memory::data_type wei,
                                       dnnl::memory::data_type dst, uint64_t m, uint64_t k,
                                       uint64_t n) {
  using tag = dnnl::memory::format_tag;
  const auto dm = dnnl::memory::dim(m), dk = dnnl::memory::dim(k), dn = dnnl::memory::dim(n);
  dnnl::memory::desc a_md({dm, dk}, src, tag::ab);
  dnnl::memory::desc b_md({dk, dn}, wei, tag::ab);
  dnnl::memory::desc c_md({dm, dn}, dst, tag::ab);
#if DNNL_VERSION_MAJOR >= 3
  return dnnl::matmul::primitive_desc(dnnl_engine(), a_md, b_md, c_md);
#else
  return dnnl::matmul::primitive_desc(dnnl::matmul::desc(a_md, b_md, c_md), dnnl_engine());
#endif
}

// Runs C = A B through a oneDNN matmul on caller-owned row-major buffers.
struct DnnlMatmul {
  dnnl::matmul prim;
  dnnl::memory a, b, c;
  dnnl::stream stream{dnnl_engine()};
  DnnlMatmul(dnnl::memory::data_type src, dnnl::memory::data_type wei, dnnl::memory::data_type dst,
             uint64_t m, uint64_t k, uint64_t n, void* pa, void* pb, void* pc) {
    auto pd = matmul_pd(src, wei, dst, m, k, n);
    prim = dnnl::matmul(pd);
    a = dnnl::memory(pd.src_desc(), dnnl_engine(), pa);
    b = dnnl::memory(pd.weights_desc(), dnnl_engine(), pb);
    c = dnnl::memory(pd.dst_desc(), dnnl_engine(), pc);
  }
  void run() {
    prim.execute(stream, {{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, b}, {DNNL_ARG_DST, c}});
    stream.wait();
  }
};

struct DnnlLogistic {
  dnnl::eltwise_forward prim;
  dnnl::memory x;
  dnnl::stream stream{dnnl_engine()};
  DnnlLogistic(float* data, uint64_t count) {
    dnnl::memory::desc md({dnnl::memory::dim(count)}, dnnl::memory::data_type::f32,
                          dnnl::memory::format_tag::a);
#if DNNL_VERSION_MAJOR >= 3
    dnnl::eltwise_forward::primitive_desc pd(dnnl_engine(), dnnl::prop_kind::forward_inference,
                                             dnnl::algorithm::eltwise_logistic, md, md);
#else
    dnnl::eltwise_forward::primitive_desc pd(
        dnnl::eltwise_forward::desc(dnnl::prop_kind::forward_inference,
                                    dnnl::algorithm::eltwise_logistic, md),
        dnnl_engine());
#endif
    prim = dnnl::eltwise_forward(pd);
    x = dnnl::memory(md, dnnl_engine(), data);
  }
  void run() {
    prim.execute(stream, {{DNNL_ARG_SRC, x}, {DNNL_ARG_DST, x}});
    stream.wait();
  }
};

#endif  // TPUSIM_HAVE_DNNL

// Owns the buffers and the prepared call of one GEMM shape for one library x dtype.
struct GemmCase {
  MatrixU8 au8;
  MatrixI8 a8, b8;
  MatrixI32 a32, b32, c32;
  MatrixF32 af, bf, cf;
#ifdef TPUSIM_HAVE_DNNL
  std::unique_ptr<DnnlMatmul> dnnl;
#endif
  Call call;
};

std::unique_ptr<GemmCase> make_gemm(const std::string& lib, const std::string& dtype, uint64_t m,
                                    uint64_t k, uint64_t n, std::mt19937_64& rng) {
  auto g = std::make_unique<GemmCase>();
  GemmCase* p = g.get();
  if (dtype == "int8") {
    g->a8 = random_matrix<MatrixI8>(m, k, rng);
    g->b8 = random_matrix<MatrixI8>(k, n, rng);
    if (lib == "eigen") {
      g->a32 = g->a8.cast<int32_t>();
      g->b32 = g->b8.cast<int32_t>();
      g->c32.resize(Eigen::Index(m), Eigen::Index(n));
      g->a8.resize(0, 0);
      g->b8.resize(0, 0);
      g->call = [p] { p->c32.noalias() = p->a32 * p->b32; };
      return g;
    }
#ifdef TPUSIM_HAVE_DNNL
    // The exact int8 path of this CPU (onednn_int8_path): s8 x s8 with VNNI; without it u8 x s8
    // on 7-bit activations (the values never change the time).
    g->c32.resize(Eigen::Index(m), Eigen::Index(n));
    using dt = dnnl::memory::data_type;
    if (cpu_has_vnni()) {
      g->dnnl = std::make_unique<DnnlMatmul>(dt::s8, dt::s8, dt::s32, m, k, n, g->a8.data(),
                                             g->b8.data(), g->c32.data());
    } else {
      g->au8 = g->a8.unaryExpr([](int8_t v) { return uint8_t(v & 0x7f); });
      g->a8.resize(0, 0);
      g->dnnl = std::make_unique<DnnlMatmul>(dt::u8, dt::s8, dt::s32, m, k, n, g->au8.data(),
                                             g->b8.data(), g->c32.data());
    }
    g->call = [p] { p->dnnl->run(); };
    return g;
#endif
  } else {
    g->af = random_matrix<MatrixF32>(m, k, rng);
    g->bf = random_matrix<MatrixF32>(k, n, rng);
    g->cf.resize(Eigen::Index(m), Eigen::Index(n));
    if (lib == "eigen") {
      g->call = [p] { p->cf.noalias() = p->af * p->bf; };
      return g;
    }
#ifdef TPUSIM_HAVE_DNNL
    using dt = dnnl::memory::data_type;
    g->dnnl = std::make_unique<DnnlMatmul>(dt::f32, dt::f32, dt::f32, m, k, n, g->af.data(),
                                           g->bf.data(), g->cf.data());
    g->call = [p] { p->dnnl->run(); };
    return g;
#endif
  }
  throw std::logic_error("make_gemm: library '" + lib + "' not built");
}

struct VectorCase {
  ArrayF32 x;
#ifdef TPUSIM_HAVE_DNNL
  std::unique_ptr<DnnlLogistic> dnnl;
#endif
  Call call;
};

std::unique_ptr<VectorCase> make_vector(const std::string& lib, uint64_t count) {
  auto v = std::make_unique<VectorCase>();
  VectorCase* p = v.get();
  v->x = ArrayF32::LinSpaced(Eigen::Index(count), -4.0f, 4.0f);
#ifdef TPUSIM_HAVE_DNNL
  if (lib == "onednn") {
    v->dnnl = std::make_unique<DnnlLogistic>(v->x.data(), count);
    v->call = [p] { p->dnnl->run(); };
    return v;
  }
#endif
  v->call = [p] { p->x = 1.0f / (1.0f + (-p->x).exp()); };
  return v;
}

uint64_t gemm_bytes(const std::string& lib, const std::string& dtype, uint64_t m, uint64_t k,
                    uint64_t n) {
  const uint64_t in_elem = (dtype == "int8" && lib != "eigen") ? 1 : 4;
  return in_elem * (m * k + k * n) + 4 * m * n;
}

struct Timing {
  double median_s = 0.0;
  uint32_t repeats = 0;
};

// Warm-up, then timed calls until max_repeats or the deadline; the first call is timed as a
// fallback so that a shape slower than the whole budget still gets one sample.
Timing time_call(const Call& call, const MeasureOptions& opt, Clock::time_point deadline) {
  std::vector<double> samples;
  for (uint32_t i = 0; i < std::max<uint32_t>(opt.warmup, 1); ++i) {
    const auto t0 = Clock::now();
    call();
    samples.assign(1, seconds_since(t0));
    if (Clock::now() >= deadline) return {samples[0], 1};
  }
  std::vector<double> timed;
  while (timed.size() < opt.max_repeats) {
    const double estimate = timed.empty() ? samples[0] : timed.back();
    if (Clock::now() + std::chrono::duration<double>(estimate) > deadline && !timed.empty()) break;
    const auto t0 = Clock::now();
    call();
    timed.push_back(seconds_since(t0));
  }
  if (timed.empty()) return {samples[0], 1};
  return {median(timed), uint32_t(timed.size())};
}

int library_threads(const std::string& lib) {
  if (lib == "eigen") return Eigen::nbThreads();
  if (const char* env = std::getenv("OMP_NUM_THREADS"); env && std::atoi(env) > 0)
    return std::atoi(env);
  return int(std::max(1u, std::thread::hardware_concurrency()));
}

MeasuredRun measure_one(const std::vector<BaselineOp>& ops, const std::string& lib,
                        const std::string& dtype, const MeasureOptions& opt,
                        Clock::time_point deadline) {
  MeasuredRun run;
  run.library = lib;
  run.dtype = dtype;
  run.threads = library_threads(lib);
  // The engines' value GEMM pins this thread's OpenMP to 1; the baseline uses what it reports.
  if (lib == "onednn") numerics::set_library_threads(run.threads);
  if (lib == "onednn")
    run.detail = dtype == "int8" ? onednn_int8_path() + " (matmul)" : "f32 x f32 -> f32 (matmul)";
  else
    run.detail =
        dtype == "int8" ? "int32 x int32 -> int32 (int8 values widened)" : "f32 x f32 -> f32";
  std::mt19937_64 rng(opt.seed);

  // Unique GEMM shapes, smallest first; a GEMM with a zero dimension costs nothing.
  using Shape = std::tuple<uint64_t, uint64_t, uint64_t>;
  std::map<Shape, Timing> gemm_t;
  std::map<uint64_t, Timing> vec_t;
  for (const auto& op : ops) {
    if (op.m && op.k && op.n && op.batch_count) gemm_t[{op.m, op.k, op.n}] = {};
    if (op.vector_ops) vec_t[op.vector_ops] = {};
  }
  std::vector<Shape> order;
  order.reserve(gemm_t.size());
  for (const auto& kv : gemm_t) order.push_back(kv.first);
  std::sort(order.begin(), order.end(), [](const Shape& x, const Shape& y) {
    const double fx = double(std::get<0>(x)) * double(std::get<1>(x)) * double(std::get<2>(x));
    const double fy = double(std::get<0>(y)) * double(std::get<1>(y)) * double(std::get<2>(y));
    return fx != fy ? fx < fy : x < y;
  });

  double best_rate = 0.0, best_flops = -1.0;  // ops/s of the largest measured shape
  for (const Shape& s : order) {
    const auto [m, k, n] = s;
    if (Clock::now() >= deadline || gemm_bytes(lib, dtype, m, k, n) > opt.max_bytes) continue;
    auto g = make_gemm(lib, dtype, m, k, n, rng);
    Timing t = time_call(g->call, opt, deadline);
    gemm_t[s] = t;
    const double flops = 2.0 * double(m) * double(k) * double(n);
    if (flops > best_flops && t.median_s > 0) {
      best_flops = flops;
      best_rate = flops / t.median_s;
    }
  }
  double vec_rate = 0.0;
  for (auto& [count, t] : vec_t) {
    if (Clock::now() >= deadline || 4 * count > opt.max_bytes) continue;
    auto v = make_vector(lib, count);
    t = time_call(v->call, opt, deadline);
    if (t.median_s > 0) vec_rate = double(count) / t.median_s;
  }

  for (const auto& op : ops) {
    MeasuredOp r;
    r.layer = op.layer;
    r.m = op.m, r.k = op.k, r.n = op.n, r.batch_count = op.batch_count;
    bool measured = true;
    if (op.m && op.k && op.n && op.batch_count) {
      const Timing& t = gemm_t.at({op.m, op.k, op.n});
      if (t.repeats > 0) {
        r.gemm_instance_s = t.median_s;
        r.repeats = t.repeats;
      } else {
        measured = false;
        const double flops = 2.0 * double(op.m) * double(op.k) * double(op.n);
        r.gemm_instance_s = best_rate > 0 ? flops / best_rate : 0.0;
      }
    }
    if (op.vector_ops) {
      const Timing& t = vec_t.at(op.vector_ops);
      if (t.repeats > 0) {
        r.vector_s = t.median_s;
      } else {
        measured = false;
        r.vector_s = vec_rate > 0 ? double(op.vector_ops) / vec_rate : 0.0;
      }
    }
    r.measured = measured;
    r.seconds = double(op.batch_count) * r.gemm_instance_s + r.vector_s;
    r.gops = r.seconds > 0 ? op.gemm_ops() / r.seconds / 1e9 : 0.0;
    run.latency_s += r.seconds;
    run.ops.push_back(r);
  }
  double total_ops = 0.0;
  for (const auto& op : ops) total_ops += op.gemm_ops();
  run.gops = run.latency_s > 0 ? total_ops / run.latency_s / 1e9 : 0.0;
  for (const auto& kv : gemm_t)
    (kv.second.repeats > 0 ? run.measured_shapes : run.extrapolated_shapes)++;
  return run;
}

}  // namespace

bool cpu_has_vnni() {
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
  __builtin_cpu_init();
#if defined(__clang__) && __clang_major__ < 15
  // clang 14 (scripts/fuzz.sh) does not know "avxvnni" (AVX-VNNI without AVX-512).
  return __builtin_cpu_supports("avx512vnni");
#else
  return __builtin_cpu_supports("avx512vnni") || __builtin_cpu_supports("avxvnni");
#endif
#else
  return false;
#endif
}

bool have_onednn() {
#ifdef TPUSIM_HAVE_DNNL
  return true;
#else
  return false;
#endif
}

std::vector<std::string> measure_libraries() {
  std::vector<std::string> out;
  if (have_onednn()) out.push_back("onednn");
  out.push_back("eigen");
  return out;
}

std::vector<MeasuredRun> measure_cpu(const std::vector<BaselineOp>& ops,
                                     const MeasureOptions& opt) {
  const std::vector<std::string> libs = opt.libraries.empty() ? measure_libraries() : opt.libraries;
  const std::vector<std::string> avail = measure_libraries();
  for (const auto& l : libs) {
    if (std::find(avail.begin(), avail.end(), l) == avail.end()) {
      throw InputError(
          fmt::format("measure-cpu: library '{}' is not available in this build "
                      "(available: {}{})",
                      l, fmt::join(avail, ", "),
                      have_onednn() ? "" : "; oneDNN was not found at configure time"));
    }
  }
  for (const auto& d : opt.dtypes) {
    if (d != "int8" && d != "fp32")
      throw InputError(
          fmt::format("measure-cpu: dtype '{}' not measurable (allowed: int8, fp32)", d));
  }
  if (!(opt.max_seconds > 0)) throw InputError("measure-cpu: max_seconds must be > 0");

  // Each library x dtype gets an equal share of what is left of the budget.
  const auto start = Clock::now();
  const size_t total_runs = libs.size() * opt.dtypes.size();
  std::vector<MeasuredRun> out;
  for (const auto& l : libs) {
    for (const auto& d : opt.dtypes) {
      const double left = opt.max_seconds - seconds_since(start);
      const double share = std::max(0.0, left / double(total_runs - out.size()));
      const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                               std::chrono::duration<double>(share));
      out.push_back(measure_one(ops, l, d, opt, deadline));
    }
  }
  return out;
}

BaselineResult measured_result(const MeasuredRun& run, const BaselineDevice& power_model,
                               const BaselineWorkload& wl, const CarbonParams& carbon) {
  BaselineResult r;
  r.name = "cpu-" + run.library + "-" + run.dtype;
  r.kind = "measured";
  r.library = run.library;
  r.dtype = run.dtype;
  r.latency_s = run.latency_s;
  for (const auto& op : run.ops) {
    BaselineOpResult o;
    o.layer = op.layer;
    o.seconds = op.seconds;
    o.ops = 2.0 * double(op.m) * double(op.k) * double(op.n) * double(op.batch_count);
    r.ops.push_back(o);
  }
  // Eq. B4 in the measured run's own dtype: the power model's peaks for that dtype.
  BaselineDevice dev = power_model;
  if (dev.peak_ops_per_s(run.dtype) > 0) dev.dtype = run.dtype;
  finish_baseline_result(r, dev, wl, carbon);
  return r;
}

MatrixI32 onednn_gemm_s8(const MatrixI8& a, const MatrixI8& w) {
#ifdef TPUSIM_HAVE_DNNL
  if (a.cols() != w.rows()) throw std::invalid_argument("onednn_gemm_s8: inner dimensions differ");
  MatrixI8 ac = a, wc = w;  // oneDNN takes non-const handles
  MatrixI32 c(a.rows(), w.cols());
  using dt = dnnl::memory::data_type;
  DnnlMatmul mm(dt::s8, dt::s8, dt::s32, uint64_t(a.rows()), uint64_t(a.cols()), uint64_t(w.cols()),
                ac.data(), wc.data(), c.data());
  mm.run();
  return c;
#else
  (void)a, (void)w;
  throw std::runtime_error("onednn_gemm_s8: built without oneDNN (TPUSIM_HAVE_DNNL)");
#endif
}

std::string onednn_int8_path() {
  return cpu_has_vnni() ? "s8 x s8 -> s32, exact (VNNI)"
                        : "u8 x s8 -> s32 on 7-bit activations, exact (no VNNI: int16 pair sums "
                          "of wider activations would saturate)";
}

MatrixI32 onednn_gemm_int8_exact(const MatrixI8& a, const MatrixI8& w) {
  if (cpu_has_vnni()) return onednn_gemm_s8(a, w);
  for (Eigen::Index i = 0; i < a.size(); ++i)
    if (a.data()[i] < 0)
      throw std::invalid_argument(
          "onednn_gemm_int8_exact: this CPU has no VNNI; activations must be 0..127");
  return onednn_gemm_u8s8(a.cast<uint8_t>(), w);
}

MatrixI32 onednn_gemm_u8s8(const MatrixU8& a, const MatrixI8& w) {
#ifdef TPUSIM_HAVE_DNNL
  if (a.cols() != w.rows())
    throw std::invalid_argument("onednn_gemm_u8s8: inner dimensions differ");
  MatrixU8 ac = a;
  MatrixI8 wc = w;
  MatrixI32 c(a.rows(), w.cols());
  using dt = dnnl::memory::data_type;
  DnnlMatmul mm(dt::u8, dt::s8, dt::s32, uint64_t(a.rows()), uint64_t(a.cols()), uint64_t(w.cols()),
                ac.data(), wc.data(), c.data());
  mm.run();
  return c;
#else
  (void)a, (void)w;
  throw std::runtime_error("onednn_gemm_u8s8: built without oneDNN (TPUSIM_HAVE_DNNL)");
#endif
}

MatrixF32 onednn_gemm_f32(const MatrixF32& a, const MatrixF32& w) {
#ifdef TPUSIM_HAVE_DNNL
  if (a.cols() != w.rows()) throw std::invalid_argument("onednn_gemm_f32: inner dimensions differ");
  MatrixF32 ac = a, wc = w;
  MatrixF32 c(a.rows(), w.cols());
  using dt = dnnl::memory::data_type;
  DnnlMatmul mm(dt::f32, dt::f32, dt::f32, uint64_t(a.rows()), uint64_t(a.cols()),
                uint64_t(w.cols()), ac.data(), wc.data(), c.data());
  mm.run();
  return c;
#else
  (void)a, (void)w;
  throw std::runtime_error("onednn_gemm_f32: built without oneDNN (TPUSIM_HAVE_DNNL)");
#endif
}

MatrixI32 eigen_gemm_i32(const MatrixI8& a, const MatrixI8& w) {
  if (a.cols() != w.rows()) throw std::invalid_argument("eigen_gemm_i32: inner dimensions differ");
  MatrixI32 c(a.rows(), w.cols());
  c.noalias() = a.cast<int32_t>() * w.cast<int32_t>();
  return c;
}

MatrixF32 eigen_gemm_f32(const MatrixF32& a, const MatrixF32& w) {
  if (a.cols() != w.rows()) throw std::invalid_argument("eigen_gemm_f32: inner dimensions differ");
  MatrixF32 c(a.rows(), w.cols());
  c.noalias() = a * w;
  return c;
}

}  // namespace tpusim
