// Area model (models/area.h). Targets: ../shared/reference/tpu-v1.md "process / die" and
// "floorplan": die <= 331 mm^2 at 28 nm; UB ~29 %, matrix unit ~24 %, accumulators ~6 %,
// I/O 10 %, control 2 %.
#include <catch2/catch.hpp>

#include "models/area.h"
#include "models/config.h"

using namespace tpusim;

TEST_CASE("tpu-v1 fits the published die bound and floorplan shares") {
  const TpuConfig cfg = load_config("tpu-v1");
  const AreaResult a = estimate_area(cfg);
  CHECK(a.die_mm2 <= 331.0);
  CHECK(a.die_mm2 >= 0.85 * 331.0);  // "<= half of Haswell": not a different chip altogether
  CHECK(a.share("unified_buffer") == Approx(0.29).margin(0.02));
  CHECK(a.share("matrix_unit") == Approx(0.24).margin(0.02));
  CHECK(a.share("accumulators") == Approx(0.06).margin(0.01));
  CHECK(a.share("io") == Approx(0.10).margin(0.01));
  CHECK(a.share("control") == Approx(0.02).margin(0.005));
  // Data buffers 37 % (UB + accumulators + weight FIFO and the rest), compute 30 %.
  CHECK(a.share("unified_buffer") + a.share("accumulators") + a.share("weight_fifo") ==
        Approx(0.37).margin(0.03));
  CHECK(a.share("matrix_unit") + a.share("activation") == Approx(0.30).margin(0.02));
  CHECK_THROWS_AS(a.share("no_such_block"), std::out_of_range);
}

TEST_CASE("Blocks are every floorplan block and sum to the die (Eq. 9)") {
  const TpuConfig cfg = load_config("tpu-v1");
  const AreaResult a = estimate_area(cfg);
  double sum = 0.0;
  for (const char* b : kAreaBlocks) {
    REQUIRE(a.blocks_mm2.count(b) == 1);
    CHECK(a.blocks_mm2.at(b) > 0.0);
    sum += a.blocks_mm2.at(b);
  }
  CHECK(a.blocks_mm2.size() == std::size(kAreaBlocks));
  CHECK(sum == Approx(a.die_mm2));
  CHECK(a.share("whitespace") == Approx(cfg.params.area.whitespace_fraction));
}

TEST_CASE("Area scales with capacity and node (Eq. 8)") {
  TpuConfig cfg = load_config("tpu-v1");
  const AreaResult base = estimate_area(cfg);
  // 24 MiB at 4 mm^2/MiB.
  CHECK(base.blocks_mm2.at("unified_buffer") == Approx(24 * cfg.params.area.sram_mm2_per_mib));
  CHECK(base.blocks_mm2.at("matrix_unit") == Approx(65536 * cfg.params.area.mac_um2 * 1e-6));

  cfg.unified_buffer_bytes *= 2;
  CHECK(estimate_area(cfg).blocks_mm2.at("unified_buffer") ==
        Approx(2 * base.blocks_mm2.at("unified_buffer")));

  cfg = load_config("tpu-v1");
  cfg.technology.node_nm = 14;  // half the reference node: a quarter of the logic area
  const AreaResult shrunk = estimate_area(cfg);
  CHECK(area_node_scale(cfg) == Approx(0.25));
  CHECK(shrunk.blocks_mm2.at("matrix_unit") == Approx(base.blocks_mm2.at("matrix_unit") / 4));
  CHECK(shrunk.blocks_mm2.at("io") == Approx(base.blocks_mm2.at("io")));  // PHYs do not shrink
  CHECK(shrunk.die_mm2 < base.die_mm2);

  const AreaResult small = estimate_area(load_config("small-16"));
  CHECK(small.blocks_mm2.at("matrix_unit") ==
        Approx(base.blocks_mm2.at("matrix_unit") * 256.0 / 65536.0));
}

TEST_CASE("Each shift port holds its own copy of the weight FIFO (Eq. 8, rtl/weight_fifo.v)") {
  TpuConfig cfg = load_config("tpu-v1");
  const double one = estimate_area(cfg).blocks_mm2.at("weight_fifo");
  CHECK(one == Approx(double(cfg.weight_fifo_tiles) * double(cfg.tile_bytes()) / (1024.0 * 1024.0) *
                      cfg.params.area.sram_mm2_per_mib));
  cfg.weight_shift_ports = 2;
  CHECK(estimate_area(cfg).blocks_mm2.at("weight_fifo") == Approx(2 * one));
}
