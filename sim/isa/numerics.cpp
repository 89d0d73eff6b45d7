#include "sim/isa/numerics.h"

#include <algorithm>
#include <atomic>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#ifdef TPUSIM_HAVE_DNNL
#include <dnnl.h>
#endif
#ifdef TPUSIM_HAVE_OPENMP
#include <omp.h>
#endif

namespace tpusim::numerics {

#include "sim/isa/numerics_tables.inc"

int64_t rounding_shift(int64_t x, uint32_t shift, Rounding mode) {
  if (shift == 0) return x;
  // |x| <= 2^62 (int32 x int32), so adding half of 2^shift (shift <= 62) cannot overflow.
  const int64_t half = int64_t(1) << (shift - 1);
  switch (mode) {
    case Rounding::kHalfAwayFromZero:
      return x >= 0 ? (x + half) >> shift : -((-x + half) >> shift);
    case Rounding::kHalfUp:
      return (x + half) >> shift;  // arithmetic shift: floor((x + half) / 2^shift)
    case Rounding::kFloor:
    default:
      return x >> shift;
  }
}

int8_t requantize(int32_t acc, int32_t mult, uint32_t shift, Rounding mode) {
  const int64_t v = rounding_shift(int64_t(acc) * int64_t(mult), shift, mode);
  return int8_t(std::clamp<int64_t>(v, -128, 127));
}

int8_t requantize_product(int64_t prod, uint32_t shift, Rounding mode) {
  const uint64_t half_bit = shift == 0 ? 0 : uint64_t(1) << (shift - 1);
  const uint64_t below_half = shift == 0 ? 0 : half_bit - 1;
  const int64_t r = prod >> shift;
  const bool b = (uint64_t(prod) & half_bit) != 0;
  const bool stick = (uint64_t(prod) & below_half) != 0;
  const bool inc = mode == Rounding::kHalfAwayFromZero ? (prod < 0 ? b && stick : b)
                   : mode == Rounding::kHalfUp         ? b
                                                       : false;
  if (r > 127 || (r == 127 && inc)) return 127;
  if (r < -128) return -128;
  return int8_t(r + (inc ? 1 : 0));
}

// Element loops of the value path, compiled twice (AVX2 and baseline x86-64) and picked at load
// time: the build has no -march flag, so a plain loop would be SSE2 only.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && \
    !defined(__SANITIZE_ADDRESS__)
#define TPUSIM_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define TPUSIM_CLONES
#endif
#if defined(__GNUC__)
#define TPUSIM_INLINE inline __attribute__((always_inline))
#else
#define TPUSIM_INLINE inline
#endif

namespace {
// The rounded value saturated to int8, then the output kind (kFn 0: as is, 1: relu, 2: table).
template <int kFn>
TPUSIM_INLINE int8_t saturate_apply(int64_t v, const int8_t* table) {
  const int32_t y = int32_t(v < -128 ? -128 : v > 127 ? 127 : v);
  if constexpr (kFn == 1) return int8_t(y < 0 ? 0 : y);
  if constexpr (kFn == 2) return table[y + 128];
  return int8_t(y);
}

// requantize() branch-free, for one rounding mode (shift >= 1) and one output kind (kFn 0: as is,
// 1: relu, 2: table), so that the row loop has no branches. Half away from zero of x / 2^s is
// floor((x + half) / 2^s) for x >= 0 and -floor((half - x) / 2^s) = floor((x + half - 1) / 2^s)
// for x < 0; tests/test_numerics.cpp checks the row against requantize() element by element.
template <Rounding kMode, int kFn>
TPUSIM_INLINE void requantize_row_as(const int32_t* acc, uint64_t n, int32_t mult, uint32_t shift,
                                     const int8_t* table, int8_t* out) {
  const int64_t half = int64_t(1) << (shift - 1);
  for (uint64_t i = 0; i < n; ++i) {
    int64_t x = int64_t(acc[i]) * int64_t(mult);
    if constexpr (kMode == Rounding::kHalfAwayFromZero) x += half - int64_t(x < 0);
    if constexpr (kMode == Rounding::kHalfUp) x += half;
    out[i] = saturate_apply<kFn>(x >> shift, table);
  }
}

template <int kFn>
TPUSIM_INLINE void requantize_row_fn(const int32_t* acc, uint64_t n, int32_t mult, uint32_t shift,
                                     Rounding mode, const int8_t* table, int8_t* out) {
  if (shift == 0) {  // no rounding: every mode is the product, saturated
    for (uint64_t i = 0; i < n; ++i)
      out[i] = saturate_apply<kFn>(int64_t(acc[i]) * int64_t(mult), table);
    return;
  }
  switch (mode) {
    case Rounding::kHalfAwayFromZero:
      return requantize_row_as<Rounding::kHalfAwayFromZero, kFn>(acc, n, mult, shift, table, out);
    case Rounding::kHalfUp:
      return requantize_row_as<Rounding::kHalfUp, kFn>(acc, n, mult, shift, table, out);
    case Rounding::kFloor:
    default:
      return requantize_row_as<Rounding::kFloor, kFn>(acc, n, mult, shift, table, out);
  }
}
}  // namespace

TPUSIM_CLONES void requantize_row(const int32_t* acc, uint64_t n, int32_t mult, uint32_t shift,
                                  Rounding mode, uint8_t function, int8_t* out) {
  if (function == 2 || function == 3)
    return requantize_row_fn<2>(acc, n, mult, shift, mode,
                                function == 2 ? kSigmoidTable : kTanhTable, out);
  if (function == 1) return requantize_row_fn<1>(acc, n, mult, shift, mode, nullptr, out);
  return requantize_row_fn<0>(acc, n, mult, shift, mode, nullptr, out);
}

const int8_t* sigmoid_table() { return kSigmoidTable; }
const int8_t* tanh_table() { return kTanhTable; }
int8_t sigmoid_lut(int8_t x) { return kSigmoidTable[int(x) + 128]; }
int8_t tanh_lut(int8_t x) { return kTanhTable[int(x) + 128]; }

int8_t apply_function(uint8_t function, int8_t x) {
  switch (function) {
    case 1:
      return relu(x);
    case 2:
      return sigmoid_lut(x);
    case 3:
      return tanh_lut(x);
    default:
      return x;
  }
}

int8_t average_pow2(int32_t sum, uint32_t log2_count) {
  return int8_t(
      std::clamp<int64_t>(rounding_shift(sum, log2_count, Rounding::kHalfAwayFromZero), -128, 127));
}

int8_t average_recip(int32_t sum, uint32_t recip) {
  const int64_t mag = (int64_t(sum < 0 ? -int64_t(sum) : sum) * recip + (int64_t(1) << 23)) >> 24;
  return int8_t(std::clamp<int64_t>(sum < 0 ? -mag : mag, -128, 127));
}

MatrixI32 gemm_reference(const MatrixI8& a, const MatrixI8& w) {
  // int64 accumulation then one wrap equals step-by-step int32 wrap-around (addition mod 2^32).
  using MatrixI64 = Eigen::Matrix<int64_t, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  MatrixI64 p = a.cast<int64_t>() * w.cast<int64_t>();
  return p.unaryExpr([](int64_t v) { return int32_t(uint32_t(uint64_t(v))); });
}

TPUSIM_CLONES void widen_to_float(const int8_t* src, uint64_t n, float* dst) {
  for (uint64_t i = 0; i < n; ++i) dst[i] = float(src[i]);
}

TPUSIM_CLONES void float_to_int32(const float* src, uint64_t n, int32_t* dst) {
  for (uint64_t i = 0; i < n; ++i) dst[i] = int32_t(src[i]);
}

TPUSIM_CLONES void wrap_add_rows(int32_t* dst, uint64_t dst_stride, const int32_t* src,
                                 uint64_t rows, uint64_t cols) {
  for (uint64_t r = 0; r < rows; ++r) {
    int32_t* d = dst + r * dst_stride;
    const int32_t* q = src + r * cols;
    for (uint64_t c = 0; c < cols; ++c) d[c] = int32_t(uint32_t(d[c]) + uint32_t(q[c]));
  }
}

TPUSIM_CLONES bool any_negative(const int8_t* a, uint64_t lda, uint64_t M, uint64_t K) {
  for (uint64_t r = 0; r < M; ++r) {
    const uint8_t* p = reinterpret_cast<const uint8_t*>(a + r * lda);
    uint8_t bits = 0;
    for (uint64_t k = 0; k < K; ++k) bits |= p[k];
    if (bits & 0x80) return true;
  }
  return false;
}

namespace {

// Above this many MACs in a process the value GEMM moves from Eigen to oneDNN (~0.1 s of Eigen
// work on one AVX2 core: more than oneDNN's start-up).
#ifdef TPUSIM_HAVE_DNNL
constexpr uint64_t kDnnlAfterMacs = uint64_t(1) << 29;
std::atomic<uint64_t> g_macs_done{0};  // MACs multiplied by Eigen so far in this process
#endif

void eigen_sgemm(const float* a, const float* w, uint64_t ldw, uint64_t M, uint64_t K, uint64_t N,
                 float* c) {
  using MatrixF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  Eigen::Map<const MatrixF> am(a, Eigen::Index(M), Eigen::Index(K));
  Eigen::Map<const MatrixF, 0, Eigen::OuterStride<>> wm(w, Eigen::Index(K), Eigen::Index(N),
                                                        Eigen::OuterStride<>(Eigen::Index(ldw)));
  Eigen::Map<MatrixF>(c, Eigen::Index(M), Eigen::Index(N)).noalias() = am * wm;
}

}  // namespace

void set_library_threads(int threads) {
#ifdef TPUSIM_HAVE_OPENMP
  omp_set_num_threads(threads < 1 ? 1 : threads);
#else
  (void)threads;
#endif
}

namespace {
// The value GEMM's calls into oneDNN run on one thread: set once per host thread (see
// set_library_threads in numerics.h).
[[maybe_unused]] void library_on_one_thread() {
  thread_local const bool set = [] {
    set_library_threads(1);
    return true;
  }();
  (void)set;
}
}  // namespace

namespace {

// a (M x K int8, stride lda) times w (K x N, stride ldw: int8 or float) into out, in 1024-deep
// slices (see gemm_int8 in numerics.h).
template <typename WeightT>
void gemm_int8_impl(const int8_t* a, uint64_t lda, const WeightT* w, uint64_t ldw, uint64_t M,
                    uint64_t K, uint64_t N, int32_t* out) {
  if (M == 0 || N == 0) return;
  if (K == 0) {
    std::fill(out, out + M * N, 0);
    return;
  }
  thread_local std::vector<float> af, wf, cf;
  thread_local std::vector<int64_t> sum;
  const uint64_t slices = (K + kExactFp32Depth - 1) / kExactFp32Depth;
  cf.resize(M * N);
  if (slices > 1) sum.assign(M * N, 0);
  for (uint64_t k0 = 0; k0 < K; k0 += kExactFp32Depth) {
    const uint64_t kc = std::min(kExactFp32Depth, K - k0);
    af.resize(M * kc);
    for (uint64_t i = 0; i < M; ++i) widen_to_float(a + i * lda + k0, kc, af.data() + i * kc);
    const float* wk;
    uint64_t ldk;
    if constexpr (std::is_same_v<WeightT, float>) {
      wk = w + k0 * ldw;
      ldk = ldw;
    } else {
      wf.resize(kc * N);
      for (uint64_t k = 0; k < kc; ++k) widen_to_float(w + (k0 + k) * ldw, N, wf.data() + k * N);
      wk = wf.data();
      ldk = N;
    }
#ifdef TPUSIM_HAVE_DNNL
    // oneDNN's first call costs ~50 ms (library start-up and JIT); small runs stay on Eigen and a
    // process switches once it has multiplied kDnnlAfterMacs (both are exact: integer sums).
    if (g_macs_done.load(std::memory_order_relaxed) >= kDnnlAfterMacs) {
      library_on_one_thread();
      dnnl_sgemm('N', 'N', dnnl_dim_t(M), dnnl_dim_t(N), dnnl_dim_t(kc), 1.0f, af.data(),
                 dnnl_dim_t(kc), wk, dnnl_dim_t(ldk), 0.0f, cf.data(), dnnl_dim_t(N));
    } else {
      g_macs_done.fetch_add(M * kc * N, std::memory_order_relaxed);
      eigen_sgemm(af.data(), wk, ldk, M, kc, N, cf.data());
    }
#else
    eigen_sgemm(af.data(), wk, ldk, M, kc, N, cf.data());
#endif
    if (slices == 1) {
      float_to_int32(cf.data(), M * N, out);
      return;
    }
    for (uint64_t i = 0; i < M * N; ++i) sum[i] += int64_t(cf[i]);
  }
  // int64 sums then one wrap equal step-by-step int32 wrap-around (addition mod 2^32)
  for (uint64_t i = 0; i < M * N; ++i) out[i] = int32_t(uint32_t(uint64_t(sum[i])));
}

}  // namespace

void gemm_int8(const int8_t* a, uint64_t lda, const int8_t* w, uint64_t ldw, uint64_t M, uint64_t K,
               uint64_t N, int32_t* out) {
  gemm_int8_impl(a, lda, w, ldw, M, K, N, out);
}

void gemm_int8_into(const int8_t* a, uint64_t lda, const int8_t* w, uint64_t ldw,
                    const float* w_float, uint64_t M, uint64_t K, uint64_t N, int32_t* dst,
                    uint64_t ldd, bool accumulate) {
  if (M == 0 || N == 0) return;
#ifdef TPUSIM_HAVE_DNNL
  if (K > 0 && K <= kInt8MaxDepth && M * K * N >= kInt8MinMacs && !any_negative(a, lda, M, K)) {
    library_on_one_thread();
    const int32_t no_offset = 0;
    const dnnl_status_t s = dnnl_gemm_u8s8s32(
        'N', 'N', 'F', dnnl_dim_t(M), dnnl_dim_t(N), dnnl_dim_t(K), 1.0f,
        reinterpret_cast<const uint8_t*>(a), dnnl_dim_t(lda), 0, w, dnnl_dim_t(ldw), 0,
        accumulate ? 1.0f : 0.0f, dst, dnnl_dim_t(ldd), &no_offset);
    if (s != dnnl_success)  // only for arguments out of range, which the checks above exclude
      throw std::logic_error("numerics::gemm_int8_into: dnnl_gemm_u8s8s32 failed with status " +
                             std::to_string(int(s)));
    return;
  }
#endif
  thread_local std::vector<int32_t> p;
  p.resize(M * N);
  if (w_float)
    gemm_int8(a, lda, w_float, N, M, K, N, p.data());
  else
    gemm_int8(a, lda, w, ldw, M, K, N, p.data());
  if (accumulate) {
    wrap_add_rows(dst, ldd, p.data(), M, N);
  } else {
    for (uint64_t r = 0; r < M; ++r) std::copy_n(p.data() + r * N, N, dst + r * ldd);
  }
}

void gemm_int8(const int8_t* a, uint64_t lda, const float* w, uint64_t ldw, uint64_t M, uint64_t K,
               uint64_t N, int32_t* out) {
  gemm_int8_impl(a, lda, w, ldw, M, K, N, out);
}

}  // namespace tpusim::numerics
