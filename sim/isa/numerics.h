// Reference numerics (DESIGN invariant 4): the one specification of the arithmetic that the RTL,
// the SystemC twin, the fast engine and the Eigen reference reproduce bit for bit.
#pragma once

#include <cstdint>

#include <Eigen/Core>

namespace tpusim::numerics {

enum class Rounding : uint8_t {
  kHalfAwayFromZero = 0,  // TFLite / gemmlowp RoundingDivideByPOT
  kHalfUp = 1,            // floor(x + 1/2)
  kFloor = 2,             // arithmetic shift right
};

// Two's-complement wrap-around add of int32 (what a 32-bit accumulator does).
inline int32_t wrap_add(int32_t a, int32_t b) { return int32_t(uint32_t(a) + uint32_t(b)); }

// int8 x int8 product (fits in 16 bits).
inline int32_t mul8(int8_t a, int8_t b) { return int32_t(a) * int32_t(b); }

// Rounding arithmetic right shift of a signed 64-bit value by `shift` (0..62).
int64_t rounding_shift(int64_t x, uint32_t shift, Rounding mode);

// int32 accumulator -> int8: saturate(rounding_shift(acc * mult, shift)).
int8_t requantize(int32_t acc, int32_t mult, uint32_t shift, Rounding mode);

// requantize() of a product prod = acc x mult as the activation unit's stage 2 computes it
// (rtl/activation_unit.v): r = prod >> shift, plus one when the bit under r is set (half-up, or
// half away from zero for prod >= 0) or when that bit and a nonzero remainder under it are set
// (half away from zero for prod < 0), then saturation; no 64-bit adder before the shift.
// Equal to requantize() for every input (tests/isa/test_numerics.cpp).
int8_t requantize_product(int64_t prod, uint32_t shift, Rounding mode);

inline int8_t relu(int8_t x) { return x < 0 ? 0 : x; }

// 256-entry lookup tables indexed by (x + 128).
// sigmoid: input x / 16 (range [-8, 8)), output round(128 * sigmoid) saturated to [0, 127].
// tanh:    input x / 32 (range [-4, 4)), output round(128 * tanh) saturated to [-128, 127].
int8_t sigmoid_lut(int8_t x);
int8_t tanh_lut(int8_t x);
const int8_t* sigmoid_table();  // 256 entries
const int8_t* tanh_table();     // 256 entries

// Applies function code (0 none, 1 relu, 2 sigmoid, 3 tanh) to a requantized value.
int8_t apply_function(uint8_t function, int8_t x);

// out[i] = apply_function(function, requantize(acc[i], mult, shift, mode)) for i < n: the
// activation unit's row without pooling (the mode and function dispatch hoisted out of the loop).
void requantize_row(const int32_t* acc, uint64_t n, int32_t mult, uint32_t shift, Rounding mode,
                    uint8_t function, int8_t* out);

// Average of `count` (a power of two, 2^log2_count) int8 values, rounded half away from zero.
int8_t average_pow2(int32_t sum, uint32_t log2_count);

// A 2-D pooling window's average (sim/isa/ISA.md): sign(sum) x ((|sum| x recip + 2^23) >> 24),
// saturated to int8. With recip = pool_recip_for(count) it is sum / count rounded half away from
// zero, exactly, for every count <= 256 and |sum| <= 128 x count (tests/isa/test_numerics.cpp).
int8_t average_recip(int32_t sum, uint32_t recip);
// ceil(2^24 / count): the reciprocal that makes average_recip an exact division by `count`.
inline uint32_t pool_recip_for(uint32_t count) { return ((1u << 24) + count - 1) / count; }

using MatrixI8 = Eigen::Matrix<int8_t, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using MatrixI32 = Eigen::Matrix<int32_t, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// Reference GEMM: (M x K) int8 times (K x N) int8 -> (M x N) int32 with wrap-around sums.
// Exact for every input (accumulates in int64 and wraps once, which equals step-by-step wrap).
MatrixI32 gemm_reference(const MatrixI8& a, const MatrixI8& w);

// The same result, fast: `a` (M x K, row stride lda) times `w` (K x N, row stride ldw) into
// `out` (M x N, row-major, overwritten). An fp32 GEMM is exact while every partial sum stays an
// integer of magnitude <= 2^24, which holds for K <= 1024 (|product| <= 2^14); deeper K is cut
// into 1024-deep slices whose exact sums add in int64 and wrap once. The fp32 GEMM is oneDNN's
// (dnnl_sgemm, which picks AVX2 / AVX-512 kernels at run time) when the build found it, else
// Eigen's. Used by the engines that compute values.
void gemm_int8(const int8_t* a, uint64_t lda, const int8_t* w, uint64_t ldw, uint64_t M, uint64_t K,
               uint64_t N, int32_t* out);
// OpenMP threads of the calling thread for the libraries that use them (oneDNN on Debian); a
// no-op in a build without OpenMP. The value GEMM sets 1 once per host thread (an engine run is
// one thread; parallelism is across runs: sweep --jobs, serve), the measured CPU baseline sets its
// own count. (Changing the count around every call costs OpenMP a team rebuild: ~60x slower.)
void set_library_threads(int threads);

// The same with the weights already widened to float (integers in [-128, 127], row stride ldw).
void gemm_int8(const int8_t* a, uint64_t lda, const float* w, uint64_t ldw, uint64_t M, uint64_t K,
               uint64_t N, int32_t* out);
constexpr uint64_t kExactFp32Depth = 1024;

// What an mmc does to the accumulators: dst (M x N, row stride ldd) = a x w (accumulate false) or
// dst += a x w (true, two's-complement wrap), with a (M x K int8, stride lda) and w (K x N int8,
// stride ldw). `w_float` (optional) is the same K x N block widened to float (row stride N).
// Exact for every input. Paths, picked per call:
//  - every activation in [0, 127] (as after a ReLU): oneDNN's u8 x s8 -> s32 GEMM on the bytes as
//    they are, straight into dst. Exact: with unsigned operands below 2^7 the pairwise int16 sums
//    of AVX2's vpmaddubsw (|sum| <= 2 * 127 * 128 = 32512) cannot saturate, and the int32 sums of
//    K <= kInt8MaxDepth products stay below 2^31. Negative activations would need the full u8
//    range, where AVX2 hosts without VNNI saturate (a second GEMM to stay exact);
//  - otherwise (or without oneDNN, or for GEMMs under kInt8MinMacs, where a library call's
//    overhead exceeds the work): the exact fp32 GEMM above, then a copy or wrap-around add.
void gemm_int8_into(const int8_t* a, uint64_t lda, const int8_t* w, uint64_t ldw,
                    const float* w_float, uint64_t M, uint64_t K, uint64_t N, int32_t* dst,
                    uint64_t ldd, bool accumulate);
constexpr uint64_t kInt8MaxDepth = uint64_t(1) << 16;  // 2^16 * 127 * 128 < 2^31
constexpr uint64_t kInt8MinMacs = uint64_t(1) << 15;
// Whether any of the M x K bytes (row stride lda) is negative.
bool any_negative(const int8_t* a, uint64_t lda, uint64_t M, uint64_t K);

// Element loops of the value path (vectorized for the host CPU at load time):
// dst[i] = float(src[i]); dst[i] = int32(src[i]) (src holds integers); and the accumulators'
// wrap-around add of a rows x cols block: dst[r * dst_stride + c] += src[r * cols + c] mod 2^32.
void widen_to_float(const int8_t* src, uint64_t n, float* dst);
void float_to_int32(const float* src, uint64_t n, int32_t* dst);
void wrap_add_rows(int32_t* dst, uint64_t dst_stride, const int32_t* src, uint64_t rows,
                   uint64_t cols);

template <typename A, typename B>
MatrixI32 gemm_int8(const Eigen::MatrixBase<A>& a, const Eigen::MatrixBase<B>& w) {
  const MatrixI8 ac = a, wc = w;
  MatrixI32 out(ac.rows(), wc.cols());
  gemm_int8(ac.data(), uint64_t(ac.cols()), wc.data(), uint64_t(wc.cols()), uint64_t(ac.rows()),
            uint64_t(ac.cols()), uint64_t(wc.cols()), out.data());
  return out;
}

}  // namespace tpusim::numerics
