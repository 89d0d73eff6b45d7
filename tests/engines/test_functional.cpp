#include <algorithm>
#include <cmath>
#include <random>

#include <fmt/format.h>
#include <catch2/catch.hpp>

#include "models/config.h"
#include "models/data_files.h"
#include "models/errors.h"
#include "sim/engines/functional/functional.h"
#include "sim/isa/assembler.h"
#include "sim/isa/numerics.h"

using namespace tpusim;
using namespace tpusim::numerics;

namespace {
std::string error_of(const TpuConfig& cfg, const std::string& text) {
  try {
    run_functional(cfg, assemble(text, "p.s"));
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("two-layer program equals the Eigen reference of the layer stack", "[functional]") {
  for (const char* arch : {"tiny-4", "tiny-8", "small-16"}) {
    TpuConfig cfg = load_config(arch);
    Program p = assemble_file(data_root() + "/workloads/examples/mlp2.s");
    FunctionalResult r = run_functional(cfg, p);
    const int N = int(cfg.array.rows);
    // Independent reference from the same seeded data.
    std::vector<int8_t> x(16 * N), w(2 * N * N);
    fill_random_bytes(x.data(), x.size(), 1);
    fill_random_bytes(w.data(), w.size(), 2);
    MatrixI8 X = Eigen::Map<MatrixI8>(x.data(), 16, N);
    MatrixI8 W0 = Eigen::Map<MatrixI8>(w.data(), N, N);
    MatrixI8 W1 = Eigen::Map<MatrixI8>(w.data() + N * N, N, N);
    auto layer = [&](const MatrixI8& in, const MatrixI8& wt, int fn) {
      MatrixI32 acc = gemm_reference(in, wt);
      MatrixI8 out(acc.rows(), acc.cols());
      for (int i = 0; i < acc.size(); ++i)
        out.data()[i] = apply_function(
            uint8_t(fn), requantize(acc.data()[i], 1 << 30, 38, Rounding::kHalfAwayFromZero));
      return out;
    };
    MatrixI8 h = layer(X, W0, 1);
    MatrixI8 y = layer(h, W1, 3);
    INFO(arch);
    for (int o = 0; o < 8; ++o)
      for (int c = 0; c < N; ++c) {
        int8_t expect = std::max(y(2 * o, c), y(2 * o + 1, c));
        REQUIRE(r.state.host[(16 + o) * N + c] == expect);
      }
    CHECK(r.counts.macs == uint64_t(2 * 16) * N * N);
    CHECK(r.counts.weight_tiles == 2);
    CHECK(r.counts.host_write_bytes == uint64_t(8) * N);
    CHECK(r.counts.cycles == 0);  // untimed
  }
}

TEST_CASE("accumulate adds into the accumulators with wrap-around; overwrite replaces",
          "[functional]") {
  TpuConfig cfg = load_config("tiny-4");
  // Weights all -128, inputs all -128: each product 16384, 4 per output -> 65536 per mmc.
  std::string prog = ".weights 0";
  for (int i = 0; i < 16; ++i) prog += " -128";
  prog += "\n.host 0";
  for (int i = 0; i < 4; ++i) prog += " -128";
  prog += "\nrw tile=0 n=1\nrhm host=0 ub=0 n=1\nsync host\nmmc ub=0 acc=0 b=1 switch\n";
  for (int i = 0; i < 3; ++i) prog += "mmc ub=0 acc=0 b=1 accumulate\n";
  prog += "halt\n";
  FunctionalResult r = run_functional(cfg, assemble(prog, "acc.s"));
  CHECK(r.state.acc[0] == 4 * 65536);
  CHECK(r.state.acc[3] == 4 * 65536);
}

// A 2-D pool written directly from its definition (PyTorch's max_pool2d, and avg_pool2d with
// count_include_pad), over an H x W image of 4 channels in the accumulators.
std::vector<int8_t> pool2d_reference(const std::vector<int8_t>& img, int H, int W, int kh, int kw,
                                     int s, int pad, bool avg) {
  std::vector<int8_t> out;
  for (int oy = 0; oy * s - pad + kh <= H + pad; ++oy)
    for (int ox = 0; ox * s - pad + kw <= W + pad; ++ox)
      for (int c = 0; c < 4; ++c) {
        int best = -1000, sum = 0;
        for (int y = oy * s - pad; y < oy * s - pad + kh; ++y)
          for (int x = ox * s - pad; x < ox * s - pad + kw; ++x)
            if (y >= 0 && y < H && x >= 0 && x < W) {
              best = std::max<int>(best, img[(y * W + x) * 4 + c]);
              sum += img[(y * W + x) * 4 + c];
            }
        const double q = double(sum) / (kh * kw);
        out.push_back(int8_t(avg ? (q < 0 ? -std::floor(-q + 0.5) : std::floor(q + 0.5)) : best));
      }
  return out;
}

TEST_CASE("2-D pooling (max 3x3/2 pad 1, avg 2x2/2, avg 3x3/1 pad 1) equals its definition",
          "[functional]") {
  const TpuConfig cfg = load_config("tiny-4");
  const int H = 5, W = 7;
  std::mt19937 rng(3);
  std::vector<int8_t> img(H * W * 4);
  for (auto& v : img) v = int8_t(rng());
  img[5] = -128;
  img[9] = 127;
  struct Case {
    int k, s, pad;
    bool avg;
  };
  for (const Case cs : {Case{3, 2, 1, false}, Case{2, 2, 0, true}, Case{3, 1, 1, true},
                        Case{3, 2, 1, true}, Case{2, 2, 0, false}}) {
    // the image into the accumulators through the identity tile (requantize is exact for int8
    // at the reset mult 2^30, shift 30), then one act
    std::string prog = ".weights 0 1 0 0 0 0 1 0 0 0 0 1 0 0 0 0 1\n.host 0";
    for (int8_t v : img) prog += " " + std::to_string(v);
    const int OH = (H + 2 * cs.pad - cs.k) / cs.s + 1, OW = (W + 2 * cs.pad - cs.k) / cs.s + 1;
    prog += fmt::format(
        "\nrw tile=0 n=1\nrhm host=0 ub=0 n={0}\nsync host\nmmc ub=0 acc=0 b={0} switch\n"
        "sync mxu\nsetc pool_in={1}x{2}\nsetc pool_window={3}x{3}/{4}x{4}\n"
        "setc pool_pad={5},{5},{5},{5}\nsetc pool_recip={6}\n"
        "act acc=0 ub=100 n={0} pool2d={7} out={8}\nhalt\n",
        H * W, H, W, cs.k, cs.s, cs.pad, pool_recip_for(uint32_t(cs.k * cs.k)),
        cs.avg ? "avg" : "max", OH * OW);
    const FunctionalResult r = run_functional(cfg, assemble(prog, "pool.s"));
    const std::vector<int8_t> want = pool2d_reference(img, H, W, cs.k, cs.k, cs.s, cs.pad, cs.avg);
    REQUIRE(want.size() == size_t(OH * OW * 4));
    INFO("window " << cs.k << " stride " << cs.s << " pad " << cs.pad << " avg " << cs.avg);
    CHECK(std::equal(want.begin(), want.end(), r.state.ub.begin() + 100 * 4));
    CHECK(r.counts.act_rows_in == uint64_t(OH * OW * cs.k * cs.k));
    CHECK(r.counts.act_rows_out == uint64_t(OH * OW));
  }
}

TEST_CASE("2-D pooling acts are checked against the pool registers", "[functional]") {
  TpuConfig cfg = load_config("tiny-4");
  // n must be H x W
  CHECK_THAT(error_of(cfg, "setc pool_in=2x3\nact acc=0 ub=0 n=5 pool2d=max out=6\nhalt\n"),
             Catch::Contains("p.s:2") && Catch::Contains("H x W = 2 x 3 = 6"));
  // d must be the output count
  CHECK_THAT(error_of(cfg,
                      "setc pool_in=4x4\nsetc pool_window=2x2/2x2\n"
                      "act acc=0 ub=0 n=16 pool2d=avg out=5\nhalt\n"),
             Catch::Contains("output count 2 x 2 = 4"));
  // a pad as large as the window would leave windows of padding only
  CHECK_THAT(error_of(cfg,
                      "setc pool_in=4x4\nsetc pool_window=2x2/2x2\nsetc pool_pad=2,0,0,0\n"
                      "act acc=0 ub=0 n=16 pool2d=max out=6\nhalt\n"),
             Catch::Contains("pool_pad"));
  CHECK_THAT(error_of(cfg, "setc pool_window=17x1/1x1\nhalt\n"), Catch::Contains("1..16"));
  CHECK_THAT(error_of(cfg, "act acc=0 ub=0 n=1 pool2d=none out=1\nhalt\n"),
             Catch::Contains("max or avg"));
  // the UB range is the output count
  CHECK_THAT(error_of(cfg, "setc pool_in=1x2\nact acc=0 ub=1023 n=2 pool2d=max out=2\nhalt\n"),
             Catch::Contains("UB vector range [1023, 1025)"));
}

TEST_CASE("an mmc before any switch multiplies by the zero registers", "[functional]") {
  TpuConfig cfg = load_config("tiny-4");
  FunctionalResult r = run_functional(
      cfg, assemble(".host 0 1 2 3 4\nrhm host=0 ub=0 n=1\nsync host\nmmc ub=0 acc=0 b=1\nhalt\n",
                    "z.s"));
  for (int c = 0; c < 4; ++c) CHECK(r.state.acc[c] == 0);
}

TEST_CASE("illegal programs are rejected with the instruction named", "[functional]") {
  TpuConfig cfg = load_config("tiny-4");
  CHECK_THAT(error_of(cfg, "mmc ub=0 acc=0 b=1 switch\nhalt\n"),
             Catch::Contains("p.s:1") && Catch::Contains("no weight tile"));
  CHECK_THAT(error_of(cfg, "rhm host=0 ub=1020 n=8\nhalt\n"),
             Catch::Contains("UB vector range [1020, 1028)"));
  CHECK_THAT(error_of(cfg, "mmc ub=0 acc=250 b=8\nhalt\n"), Catch::Contains("accumulator row"));
  CHECK_THAT(error_of(cfg, "rw tile=4095 n=2\nhalt\n"), Catch::Contains("weight tile"));
  // races (sim/isa/races.h): an act reading rows an mmc may still be writing, without a sync
  CHECK_THAT(error_of(cfg, "mmc ub=0 acc=0 b=4\nact acc=2 ub=8 n=4\nhalt\n"),
             Catch::Contains("p.s:2") && Catch::Contains("races with instruction 0") &&
                 Catch::Contains("sync mxu"));
  // a sync that leaves the conflicting mmc among its `pending` is not enough
  CHECK_THAT(error_of(cfg,
                      "mmc ub=0 acc=0 b=4\nmmc ub=0 acc=4 b=4\nsync mxu pending=2\n"
                      "act acc=0 ub=8 n=4\nhalt\n"),
             Catch::Contains("p.s:4") && Catch::Contains("sync mxu pending=1"));
  CHECK_NOTHROW(run_functional(cfg, assemble("mmc ub=0 acc=0 b=4\nmmc ub=0 acc=4 b=4\n"
                                             "sync mxu pending=1\nact acc=0 ub=8 n=4\nhalt\n",
                                             "p.s")));
  // the activation unit runs one act at a time: the second act orders the first
  CHECK_NOTHROW(run_functional(cfg, assemble("act acc=0 ub=0 n=4\nact acc=8 ub=8 n=4\n"
                                             "mmc ub=0 acc=0 b=4\nhalt\n",
                                             "p.s")));
  CHECK_THAT(error_of(cfg, "act acc=0 ub=0 n=4\nmmc ub=0 acc=8 b=4\nhalt\n"),
             Catch::Contains("races") && Catch::Contains("sync act"));
  CHECK_THAT(error_of(cfg, "nop\n"), Catch::Contains("does not end with halt"));
  CHECK_THAT(error_of(cfg, "halt\nnop\nhalt\n"), Catch::Contains("halt before the end"));
  CHECK_THAT(error_of(cfg, "rhm host=4000000000 ub=0 n=1\nhalt\n"),
             Catch::Contains("run it timing only"));
}

TEST_CASE("chains: well formed or rejected naming the source and what was expected",
          "[functional]") {
  const TpuConfig cfg = load_config("tiny-8-x4");
  // a source on MXU 1 with two followers: same UB rows and count, switch as the source
  const std::string ok =
      "rw tile=0 n=1 mxu=1\nrw tile=1 n=1 mxu=2\nrw tile=2 n=1 mxu=3\n"
      "mmc ub=0 acc=32 b=4 switch fan=2 mxu=1\nmmc ub=0 acc=64 b=4 switch chain mxu=2\n"
      "mmc ub=0 acc=96 b=4 switch accumulate chain mxu=3\nhalt\n";
  CHECK_NOTHROW(run_functional(cfg, assemble(ok, "p.s")));
  const std::string head = "rw tile=0 n=1 mxu=1\nrw tile=1 n=1 mxu=2\nrw tile=2 n=1 mxu=3\n";
  // a follower that reads other rows, sits on the wrong MXU, or does not switch like its source
  for (const char* bad :
       {"mmc ub=8 acc=64 b=4 switch chain mxu=2", "mmc ub=0 acc=64 b=4 chain mxu=2",
        "mmc ub=0 acc=64 b=4 switch chain mxu=3", "mmc ub=0 acc=64 b=5 switch chain mxu=2"}) {
    INFO(bad);
    CHECK_THAT(error_of(cfg, head + "mmc ub=0 acc=32 b=4 switch fan=1 mxu=1\n" + bad + "\nhalt\n"),
               Catch::Contains("p.s:5") && Catch::Contains("chain mmc 1 of 1") &&
                   Catch::Contains("instruction 3"));
  }
  // something between a source and its follower
  CHECK_THAT(
      error_of(cfg, "mmc ub=0 acc=0 b=4 fan=1\nnop\nmmc ub=0 acc=32 b=4 chain mxu=1\nhalt\n"),
      Catch::Contains("p.s:2") && Catch::Contains("fan=1"));
  // a follower without a source, and a fan past the chip's MXUs
  CHECK_THAT(error_of(cfg, "mmc ub=0 acc=32 b=4 chain mxu=1\nhalt\n"),
             Catch::Contains("p.s:1") && Catch::Contains("does not follow an mmc with fan"));
  CHECK_THAT(error_of(cfg, "mmc ub=0 acc=0 b=4 fan=2 mxu=2\nhalt\n"),
             Catch::Contains("p.s:1") && Catch::Contains("needs MXUs 3..4") &&
                 Catch::Contains("has 4 MXUs"));
  // the chain computes what unchained mmcs compute: MXU m's rows from the same UB rows
  const Program p = assemble(
      ".random host 0 4 seed=3\n.random weights 0 2 seed=4\nrhm host=0 ub=0 n=4\n"
      "rw tile=0 n=1\nrw tile=1 n=1 mxu=1\nsync host,weights\n"
      "mmc ub=0 acc=0 b=4 switch fan=1\nmmc ub=0 acc=32 b=4 switch chain mxu=1\nhalt\n",
      "c.s");
  const Program q = assemble(
      ".random host 0 4 seed=3\n.random weights 0 2 seed=4\nrhm host=0 ub=0 n=4\n"
      "rw tile=0 n=1\nrw tile=1 n=1 mxu=1\nsync host,weights\n"
      "mmc ub=0 acc=0 b=4 switch\nmmc ub=0 acc=32 b=4 switch mxu=1\nhalt\n",
      "u.s");
  CHECK(run_functional(cfg, p).state.acc == run_functional(cfg, q).state.acc);
}
