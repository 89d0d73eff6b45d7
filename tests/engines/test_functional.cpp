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
