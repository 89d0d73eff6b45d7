#include "sim/numerics.h"

#include <algorithm>

namespace tpusim::numerics {

#include "sim/numerics_tables.inc"

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

const int8_t* sigmoid_table() { return kSigmoidTable; }
const int8_t* tanh_table() { return kTanhTable; }
int8_t sigmoid_lut(int8_t x) { return kSigmoidTable[int(x) + 128]; }
int8_t tanh_lut(int8_t x) { return kTanhTable[int(x) + 128]; }

int8_t apply_function(uint8_t function, int8_t x) {
  switch (function) {
    case 1: return relu(x);
    case 2: return sigmoid_lut(x);
    case 3: return tanh_lut(x);
    default: return x;
  }
}

int8_t average_pow2(int32_t sum, uint32_t log2_count) {
  return int8_t(std::clamp<int64_t>(
      rounding_shift(sum, log2_count, Rounding::kHalfAwayFromZero), -128, 127));
}

MatrixI32 gemm_reference(const MatrixI8& a, const MatrixI8& w) {
  // int64 accumulation then one wrap equals step-by-step int32 wrap-around (addition mod 2^32).
  using MatrixI64 = Eigen::Matrix<int64_t, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  MatrixI64 p = a.cast<int64_t>() * w.cast<int64_t>();
  return p.unaryExpr([](int64_t v) { return int32_t(uint32_t(uint64_t(v))); });
}

}  // namespace tpusim::numerics
