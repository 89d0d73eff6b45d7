// SCALE-Sim-compatible timing (sim/studies/scalesim/scalesim_compat.h): Eq. S1 against cycle counts
// derived by hand from SCALE-Sim's weight-stationary demand matrices (per fold: R weight-load rows,
// T streaming rows, C - 1 drain rows, R - 1 skew rows for the fill; the report gives the last row's
// index).
#include <catch2/catch.hpp>

#include "models/errors.h"
#include "sim/studies/scalesim/scalesim_compat.h"

using namespace tpusim;

namespace {
ScaleSimLayer conv(uint64_t h, uint64_t w, uint64_t fh, uint64_t fw, uint64_t c, uint64_t f,
                   uint64_t s) {
  ScaleSimLayer l;
  l.name = "l";
  l.ifmap_h = h;
  l.ifmap_w = w;
  l.filter_h = fh;
  l.filter_w = fw;
  l.channels = c;
  l.filters = f;
  l.stride = s;
  return l;
}
// Rows of one fold's demand matrix, by the parts listed above.
uint64_t fold_rows(uint64_t r, uint64_t c, uint64_t t) { return r + t + (c - 1) + (r - 1); }
}  // namespace

TEST_CASE("Eq. S1 on a 3x3 conv that needs four row folds") {
  // 10x10 ifmap, 3x3 filter, stride 1: 8x8 = 64 outputs; window 27 on 8 rows -> 4 row folds.
  const auto c = scalesim_ws_cycles(conv(10, 10, 3, 3, 3, 5, 1), 8, 8);
  CHECK(c.row_folds == 4);
  CHECK(c.col_folds == 1);
  CHECK(c.cycles == 4 * fold_rows(8, 8, 64) - 1);
  CHECK(c.stream_cycles + c.weight_load_cycles + c.fill_drain_cycles - 1 == c.cycles);
}

TEST_CASE("Eq. S1 with stride 2 uses SCALE-Sim's ceil output size") {
  // 12x12, 3x3, stride 2: ceil((12 - 3 + 2) / 2) = 6 -> T = 36; window 144 -> 18 row folds on 8
  // rows; 20 filters -> 3 col folds on 8 cols.
  const auto l = conv(12, 12, 3, 3, 16, 20, 2);
  CHECK(l.ofmap_h() == 6);
  const auto c = scalesim_ws_cycles(l, 8, 8);
  CHECK(c.folds() == 18 * 3);
  CHECK(c.cycles == 54 * fold_rows(8, 8, 36) - 1);
}

TEST_CASE("Eq. S1 fold counts at R and R + 1 rows of window and at C and C + 1 filters") {
  const uint64_t r = 16, cc = 16;
  CHECK(scalesim_ws_cycles(conv(4, 4, 1, 1, r, cc, 1), r, cc).cycles == fold_rows(r, cc, 16) - 1);
  CHECK(scalesim_ws_cycles(conv(4, 4, 1, 1, r + 1, cc, 1), r, cc).cycles ==
        2 * fold_rows(r, cc, 16) - 1);
  CHECK(scalesim_ws_cycles(conv(4, 4, 1, 1, r, cc + 1, 1), r, cc).cycles ==
        2 * fold_rows(r, cc, 16) - 1);
}

TEST_CASE("Eq. S1 on a non-square array") {
  // A 1x1 conv as a GEMM: T = 49, window 17 on 4 rows -> 5 folds, 9 filters on 32 cols -> 1.
  const auto c = scalesim_ws_cycles(conv(7, 7, 1, 1, 17, 9, 1), 4, 32);
  CHECK(c.cycles == 5 * (4 + 49 + 31 + 3) - 1);
  CHECK(c.weight_load_cycles == 5 * 4);
  CHECK(c.fill_drain_cycles == 5 * (4 + 32 - 2));
}

TEST_CASE("GEMM topology rows map M N K as SCALE-Sim does") {
  const auto ls = parse_scalesim_topology("Layer, M, N, K,\ng1, 5, 7, 9,\ng2, 1, 8, 8,\n", "t.csv",
                                          ScaleSimParse{true, false});
  REQUIRE(ls.size() == 2);
  CHECK(ls[0].ofmap_px() == 5);
  CHECK(ls[0].window() == 9);
  CHECK(ls[0].filters == 7);
  // g1 on 8x8: 2 row folds (K = 9), 1 col fold, T = 5.
  CHECK(scalesim_ws_cycles(ls[0], 8, 8).cycles == 2 * fold_rows(8, 8, 5) - 1);
  CHECK(scalesim_ws_cycles(ls[1], 8, 8).cycles == fold_rows(8, 8, 1) - 1);
}

TEST_CASE("Conv topology: depthwise rows expand per channel and bad rows are rejected") {
  const std::string h =
      "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, "
      "Strides,\n";
  const auto ls =
      parse_scalesim_topology(h + "DP1, 5, 5, 3, 3, 4, 1, 1,\nc, 5, 5, 3, 3, 4, 2, 1,\n", "t.csv",
                              ScaleSimParse{false, true});
  REQUIRE(ls.size() == 5);
  CHECK(ls[0].channels == 1);
  CHECK(ls[4].channels == 4);
  CHECK_THROWS_AS(parse_scalesim_topology(h + "c, 2, 2, 3, 3, 1, 1, 1,\n", "t.csv"), InputError);
  CHECK_THROWS_AS(parse_scalesim_topology(h + "c, 5, 5, 3,\n", "t.csv"), InputError);
  CHECK_THROWS_AS(parse_scalesim_topology("x\n", "t.csv"), InputError);
}

TEST_CASE("Topology CSV written for SCALE-Sim parses back to the same layers") {
  const std::vector<ScaleSimLayer> in = {conv(230, 230, 7, 7, 3, 64, 2),
                                         conv(58, 58, 3, 3, 64, 64, 1)};
  const auto out = parse_scalesim_topology(scalesim_topology_csv(in), "round.csv");
  REQUIRE(out.size() == 2);
  // SCALE-Sim rounds the output size up: ceil((230 - 7 + 2) / 2) = 113, one more than a padded
  // convolution's floor((230 - 7) / 2) + 1 = 112 (a partial window at the border).
  CHECK(out[0].ofmap_h() == 113);
  CHECK(out[0].ofmap_h() - 1 == (230 - 7) / 2 + 1);
  CHECK(out[1].ofmap_px() == 56 * 56);
  CHECK(scalesim_ws_cycles(out[0], 256, 256).cycles == fold_rows(256, 256, 113 * 113) - 1);
}
