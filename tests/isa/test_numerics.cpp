#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <random>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "sim/isa/numerics.h"

using namespace tpusim::numerics;

TEST_CASE("rounding_shift: ties in each mode", "[numerics]") {
  // 5 / 2 = 2.5, -5 / 2 = -2.5, 3 / 2 = 1.5, -3/2 = -1.5
  CHECK(rounding_shift(5, 1, Rounding::kHalfAwayFromZero) == 3);
  CHECK(rounding_shift(-5, 1, Rounding::kHalfAwayFromZero) == -3);
  CHECK(rounding_shift(5, 1, Rounding::kHalfUp) == 3);
  CHECK(rounding_shift(-5, 1, Rounding::kHalfUp) == -2);
  CHECK(rounding_shift(-3, 1, Rounding::kHalfUp) == -1);
  CHECK(rounding_shift(5, 1, Rounding::kFloor) == 2);
  CHECK(rounding_shift(-5, 1, Rounding::kFloor) == -3);
  CHECK(rounding_shift(-7, 0, Rounding::kFloor) == -7);
  // Non-ties round to nearest in the two rounding modes
  CHECK(rounding_shift(7, 2, Rounding::kHalfAwayFromZero) == 2);  // 1.75
  CHECK(rounding_shift(-7, 2, Rounding::kHalfAwayFromZero) == -2);
  CHECK(rounding_shift(-7, 2, Rounding::kHalfUp) == -2);
}

TEST_CASE("rounding_shift agrees with a long-double model on random values", "[numerics]") {
  std::mt19937_64 rng(3);
  for (int i = 0; i < 100000; ++i) {
    int64_t x = int64_t(int32_t(rng())) * int64_t(int32_t(rng()));
    uint32_t s = 1 + rng() % 62;
    long double q = (long double)x / std::ldexp(1.0L, int(s));
    long double fl = std::floor(q);
    int64_t away = int64_t(q >= 0 ? std::floor(q + 0.5L) : -std::floor(-q + 0.5L));
    REQUIRE(rounding_shift(x, s, Rounding::kFloor) == int64_t(fl));
    REQUIRE(rounding_shift(x, s, Rounding::kHalfUp) == int64_t(std::floor(q + 0.5L)));
    REQUIRE(rounding_shift(x, s, Rounding::kHalfAwayFromZero) == away);
  }
}

TEST_CASE("requantize saturates at both ends", "[numerics]") {
  CHECK(requantize(INT32_MAX, INT32_MAX, 0, Rounding::kFloor) == 127);
  CHECK(requantize(INT32_MIN, INT32_MAX, 0, Rounding::kFloor) == -128);
  CHECK(requantize(INT32_MIN, INT32_MIN, 62, Rounding::kHalfAwayFromZero) == 1);  // 2^62 / 2^62
  CHECK(requantize(1000, 1 << 30, 31, Rounding::kHalfAwayFromZero) == 127);       // 500
  CHECK(requantize(-1000, 1 << 30, 38, Rounding::kHalfAwayFromZero) == -4);       // -3.906
  CHECK(requantize(-3, 1 << 30, 31, Rounding::kHalfAwayFromZero) == -2);          // -1.5
  CHECK(requantize(-3, 1 << 30, 31, Rounding::kHalfUp) == -1);
}

TEST_CASE("requantize_product (the activation unit's shift + increment) equals requantize",
          "[numerics]") {
  std::mt19937_64 rng(25);
  const int32_t edges[] = {0, 1, -1, 2, -2, 127, -128, 255, -256, INT32_MAX, INT32_MIN};
  for (int i = 0; i < 400000; ++i) {
    // signed values of every magnitude 2^0..2^31 (an arithmetic shift of 64 random bits)
    const auto draw = [&] { return int32_t(int64_t(rng()) >> (32 + rng() % 32)); };
    const int32_t acc = i % 4 == 0 ? edges[rng() % 11] : draw();
    const int32_t mult = i % 5 == 0 ? edges[rng() % 11] : draw();
    const uint32_t shift = uint32_t(rng() % 63);
    for (auto mode : {Rounding::kHalfAwayFromZero, Rounding::kHalfUp, Rounding::kFloor}) {
      const int8_t want = requantize(acc, mult, shift, mode);
      const int8_t got = requantize_product(int64_t(acc) * mult, shift, mode);
      if (want != got) {
        FAIL_CHECK("acc " << acc << " mult " << mult << " shift " << shift << " mode " << int(mode)
                          << ": requantize " << int(want) << ", product form " << int(got));
      }
    }
  }
  // at and next to the rounding points, both signs (|prod| < 2^62 as for int32 x int32)
  for (uint32_t shift = 1; shift <= 52; ++shift)
    for (int64_t k = -300; k <= 300; ++k)
      for (auto mode : {Rounding::kHalfAwayFromZero, Rounding::kHalfUp, Rounding::kFloor}) {
        const int64_t prod = k * (int64_t(1) << (shift - 1)) + (k % 3) - 1;
        const int64_t v = rounding_shift(prod, shift, mode);
        CHECK(int(requantize_product(prod, shift, mode)) == int(std::clamp<int64_t>(v, -128, 127)));
      }
}

TEST_CASE("int32 accumulation wraps around", "[numerics]") {
  CHECK(wrap_add(INT32_MAX, 1) == INT32_MIN);
  CHECK(wrap_add(INT32_MIN, -1) == INT32_MAX);
  CHECK(mul8(-128, -128) == 16384);
  CHECK(mul8(-128, 127) == -16256);
}

TEST_CASE("reference GEMM: extremes and wrap-around", "[numerics]") {
  // -128 x -128 summed over K: 16384 * K; K = 131072 gives 2^31 which wraps to INT32_MIN.
  const int K = 131072;
  MatrixI8 a = MatrixI8::Constant(1, K, -128);
  MatrixI8 w = MatrixI8::Constant(K, 2, -128);
  MatrixI32 p = gemm_reference(a, w);
  CHECK(p(0, 0) == INT32_MIN);
  MatrixI8 a2 = MatrixI8::Constant(1, K + 1, -128);
  MatrixI8 w2 = MatrixI8::Constant(K + 1, 1, -128);
  CHECK(gemm_reference(a2, w2)(0, 0) == wrap_add(INT32_MIN, 16384));
  // Random small GEMM against a scalar triple loop with wrap_add.
  std::mt19937 rng(1);
  MatrixI8 x(7, 13), y(13, 5);
  for (int i = 0; i < x.size(); ++i) x.data()[i] = int8_t(rng());
  for (int i = 0; i < y.size(); ++i) y.data()[i] = int8_t(rng());
  MatrixI32 z = gemm_reference(x, y);
  for (int i = 0; i < 7; ++i)
    for (int j = 0; j < 5; ++j) {
      int32_t s = 0;
      for (int k = 0; k < 13; ++k) s = wrap_add(s, mul8(x(i, k), y(k, j)));
      REQUIRE(z(i, j) == s);
    }
}

TEST_CASE("lookup tables equal their defining formulas", "[numerics]") {
  auto away = [](double v) { return v >= 0 ? std::floor(v + 0.5) : -std::floor(-v + 0.5); };
  for (int x = -128; x < 128; ++x) {
    double s = away(128.0 / (1.0 + std::exp(-(x / 16.0))));
    double t = away(128.0 * std::tanh(x / 32.0));
    INFO("x = " << x);
    CHECK(sigmoid_lut(int8_t(x)) == int8_t(std::clamp(s, 0.0, 127.0)));
    CHECK(tanh_lut(int8_t(x)) == int8_t(std::clamp(t, -128.0, 127.0)));
  }
  CHECK(sigmoid_lut(0) == 64);
  CHECK(tanh_lut(0) == 0);
  CHECK(apply_function(1, -5) == 0);
  CHECK(apply_function(0, -5) == -5);
}

TEST_CASE("average pooling rounds half away from zero", "[numerics]") {
  CHECK(average_pow2(3, 1) == 2);    // 1.5
  CHECK(average_pow2(-3, 1) == -2);  // -1.5
  CHECK(average_pow2(-512, 2) == -128);
  CHECK(average_pow2(127 * 16, 4) == 127);
}

TEST_CASE("the 2-D window's reciprocal average is an exact division for every window size",
          "[numerics]") {
  // Every count a kh x kw window (1..16 each) can have, every sum of `count` int8 values.
  for (int32_t count = 1; count <= 256; ++count) {
    const uint32_t r = pool_recip_for(uint32_t(count));
    for (int32_t sum = -128 * count; sum <= 127 * count; ++sum) {
      const int32_t mag = (2 * std::abs(sum) + count) / (2 * count);  // half away from zero
      const int32_t want = sum < 0 ? -mag : mag;
      if (average_recip(sum, r) != want) {
        INFO("count " << count << " sum " << sum);
        REQUIRE(int(average_recip(sum, r)) == want);
      }
    }
  }
  // A power-of-two count gives what the 1-D pool gives.
  for (int32_t sum = -512; sum <= 508; ++sum)
    CHECK(average_recip(sum, 1u << 22) == average_pow2(sum, 2));
  CHECK(average_recip(-32768, 1) == 0);
  CHECK(average_recip(32767, 1u << 24) == 127);  // saturates
}

TEST_CASE("fast int8 GEMM stays exact after the switch to oneDNN (2^29 MACs into the process)",
          "[numerics]") {
  std::mt19937 rng(9);
  MatrixI8 big_a(1024, 512), big_w(512, 1024);  // 2^29 MACs: later calls take oneDNN when built
  for (int i = 0; i < big_a.size(); ++i) big_a.data()[i] = int8_t(rng());
  for (int i = 0; i < big_w.size(); ++i) big_w.data()[i] = int8_t(rng());
  const MatrixI32 big = gemm_int8(big_a, big_w);
  CHECK(big.row(3) == gemm_reference(big_a.topRows(4), big_w).row(3));
  for (int K : {1, 7, 256, 1024, 1025, 2100}) {
    MatrixI8 a(37, K), w(K, 29);
    for (int i = 0; i < a.size(); ++i) a.data()[i] = int8_t(rng());
    for (int i = 0; i < w.size(); ++i) w.data()[i] = int8_t(rng());
    a.row(0).setConstant(-128);
    w.col(0).setConstant(-128);
    INFO("K = " << K);
    REQUIRE(gemm_int8(a, w) == gemm_reference(a, w));
  }
}

TEST_CASE("fast int8 GEMM equals the reference up to K = 1024 and beyond", "[numerics]") {
  std::mt19937 rng(5);
  for (int K : {1, 7, 256, 1024, 1025}) {
    MatrixI8 a(3, K), w(K, 4);
    for (int i = 0; i < a.size(); ++i) a.data()[i] = int8_t(rng());
    for (int i = 0; i < w.size(); ++i) w.data()[i] = int8_t(rng());
    a.row(0).setConstant(-128);  // worst case: every product 2^14, sum up to 2^24
    w.col(0).setConstant(-128);
    INFO("K = " << K);
    REQUIRE(gemm_int8(a, w) == gemm_reference(a, w));
  }
}

// The mmc's accumulator update (gemm_int8_into): every path (oneDNN's u8 x s8 GEMM for activations
// in [0, 127], the fp32 GEMM otherwise, below kInt8MinMacs, or with pre-widened weights) equals the
// reference, overwriting or adding with wrap-around into a strided destination.
TEST_CASE("gemm_int8_into equals the reference on every path, overwrite and wrap-around accumulate",
          "[numerics]") {
  std::mt19937 rng(17);
  struct Shape {
    int m, k, n;
  };
  for (const Shape sh :
       {Shape{1, 256, 256}, Shape{3, 16, 16}, Shape{200, 256, 256}, Shape{64, 256, 200},
        Shape{513, 40, 64}, Shape{1, 1, 1}, Shape{17, 1100, 33}}) {
    for (const bool nonneg : {true, false}) {
      for (const bool widened : {false, true}) {
        for (const bool accumulate : {false, true}) {
          const int lda = sh.k + 5, ldw = sh.n + 3,
                    ldd = sh.n + 7;  // strided like UB, tiles, accumulators
          MatrixI8 a_full(sh.m, lda), w_full(sh.k, ldw);
          for (int i = 0; i < a_full.size(); ++i) a_full.data()[i] = int8_t(rng());
          for (int i = 0; i < w_full.size(); ++i) w_full.data()[i] = int8_t(rng());
          if (nonneg) a_full = a_full.unaryExpr([](int8_t v) { return int8_t(v & 0x7f); });
          if (nonneg)
            a_full(0, 0) = 127;
          else
            a_full(0, 0) = -128;
          w_full(0, 0) = -128;
          const MatrixI8 a = a_full.leftCols(sh.k), w = w_full.leftCols(sh.n);
          std::vector<float> wf(size_t(sh.k) * sh.n);
          for (int r = 0; r < sh.k; ++r)
            for (int c = 0; c < sh.n; ++c) wf[size_t(r) * sh.n + c] = float(w(r, c));
          MatrixI32 dst(sh.m, ldd);
          for (int i = 0; i < dst.size(); ++i)  // near the int32 limits: the add must wrap
            dst.data()[i] = int32_t(uint32_t(rng()) | (i % 3 == 0 ? 0x7fff0000u : 0u));
          MatrixI32 want = dst;
          const MatrixI32 prod = gemm_reference(a, w);
          for (int r = 0; r < sh.m; ++r)
            for (int c = 0; c < sh.n; ++c)
              want(r, c) =
                  accumulate ? int32_t(uint32_t(want(r, c)) + uint32_t(prod(r, c))) : prod(r, c);
          gemm_int8_into(a_full.data(), uint64_t(lda), w_full.data(), uint64_t(ldw),
                         widened ? wf.data() : nullptr, uint64_t(sh.m), uint64_t(sh.k),
                         uint64_t(sh.n), dst.data(), uint64_t(ldd), accumulate);
          INFO("M x K x N = " << sh.m << " x " << sh.k << " x " << sh.n << ", activations "
                              << (nonneg ? "[0, 127]" : "signed")
                              << (widened ? ", widened weights" : "")
                              << (accumulate ? ", accumulate" : ", overwrite"));
          REQUIRE(dst == want);
        }
      }
    }
  }
  MatrixI8 a(2, 3);
  a << 0, 127, 5, 1, 2, 3;
  CHECK_FALSE(any_negative(a.data(), 3, 2, 3));
  a(1, 2) = -1;
  CHECK(any_negative(a.data(), 3, 2, 3));
  CHECK_FALSE(any_negative(a.data(), 3, 2, 2));  // the negative byte lies outside the block
}

TEST_CASE("requantize_row equals requantize then apply_function element by element", "[numerics]") {
  std::mt19937 rng(11);
  std::vector<int32_t> acc(517);
  for (auto& x : acc) x = int32_t(rng());
  acc[0] = INT32_MIN;
  acc[1] = INT32_MAX;
  acc[2] = 0;
  for (size_t i = 3; i < 260; ++i) acc[i] = int32_t(i) - 131;  // small values: the rounding ties
  std::vector<int8_t> out(acc.size());
  for (auto mode : {Rounding::kHalfAwayFromZero, Rounding::kHalfUp, Rounding::kFloor})
    for (uint8_t fn = 0; fn < 4; ++fn)
      for (auto [mult, shift] : {std::pair<int32_t, uint32_t>{1 << 30, 30},
                                 {12345, 24},
                                 {-7, 3},
                                 {1, 0},
                                 {1, 1},
                                 {3, 2},
                                 {-1, 3},
                                 {INT32_MIN, 62},
                                 {INT32_MAX, 40},
                                 {-5, 0}}) {
        requantize_row(acc.data(), acc.size(), mult, shift, mode, fn, out.data());
        for (size_t i = 0; i < acc.size(); ++i) {
          INFO("mode " << int(mode) << " fn " << int(fn) << " mult " << mult << " i " << i);
          REQUIRE(out[i] == apply_function(fn, requantize(acc[i], mult, shift, mode)));
        }
      }
}
