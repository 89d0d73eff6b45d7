#include <catch2/catch.hpp>

#include "models/config.h"
#include "models/errors.h"

using namespace tpusim;

namespace {
const char* kTiny = R"(
name: t
array: {rows: 4, cols: 4}
clock_mhz: 700
unified_buffer_bytes: 4096
accumulators: {entries: 64}
weight_fifo: {tiles: 4}
weight_memory: {type: ddr3, bytes: 65536, bandwidth_gb_s: 1.4, latency_cycles: 8}
host_link: {type: pcie3x16, bandwidth_gb_s: 2.8, latency_cycles: 4}
technology: {node_nm: 28, voltage_v: 0.9}
)";

std::string error_of(const std::string& text) {
  try {
    parse_config(text, "t.yaml");
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("every shipped preset loads and validates", "[config]") {
  auto names = list_arch_presets();
  REQUIRE(names.size() >= 6);
  for (const auto& n : names) {
    TpuConfig c = load_config(n);
    CHECK(c.name == n);
  }
}

TEST_CASE("tpu-v1 preset matches the published numbers", "[config]") {
  TpuConfig c = load_config("tpu-v1");
  CHECK(c.macs_per_cycle() == 65536);
  CHECK(c.unified_buffer_bytes == 24ull << 20);
  CHECK(c.accumulator_bytes() == 4ull << 20);
  CHECK(c.weight_fifo_tiles == 4);
  CHECK(c.weight_memory.bytes == 8ull << 30);
  // 92 TOPS peak (shared/reference/tpu-v1.md: 65,536 x 2 x 700e6 = 91.75e12)
  CHECK(c.peak_tops() == Approx(91.75).epsilon(1e-3));
  // Ridge point ~1350 MACs per weight byte = 46 TMAC/s / 34 GB/s
  CHECK(c.ridge_macs_per_weight_byte() == Approx(65536.0 * 700e6 / 34e9));
  CHECK(c.ridge_macs_per_weight_byte() == Approx(1350).epsilon(0.01));
}

TEST_CASE("tpu-v1-gddr5 inherits from tpu-v1 with the TPU' ridge point", "[config]") {
  TpuConfig c = load_config("tpu-v1-gddr5");
  TpuConfig base = load_config("tpu-v1");
  CHECK(c.array.rows == base.array.rows);
  CHECK(c.weight_memory.bytes == base.weight_memory.bytes);
  CHECK(c.weight_memory.type == "gddr5");
  CHECK(c.ridge_macs_per_weight_byte() == Approx(250).epsilon(0.01));
}

TEST_CASE("a minimal config parses and derives", "[config]") {
  TpuConfig c = parse_config(kTiny, "t.yaml");
  CHECK(c.vector_bytes() == 4);
  CHECK(c.tile_bytes() == 16);
  CHECK(c.ub_vectors() == 1024);
  CHECK(c.weight_memory.bandwidth_mb_s == 1400);
  CHECK(c.ub_banks == 2);  // 2 x mxus where the preset does not say
}

TEST_CASE("the UB's banks: unified_buffer_bank_bytes, or 2 x mxus", "[config]") {
  const std::string tiny = kTiny;
  // 4096 bytes in banks of 1024 (256 vectors of 4 bytes); a last bank shorter where it does not
  // divide; never more banks than vectors
  CHECK(parse_config(tiny + "unified_buffer_bank_bytes: 1024\n", "t.yaml").ub_banks == 4);
  CHECK(parse_config(tiny + "unified_buffer_bank_bytes: 1000\n", "t.yaml").ub_banks == 5);
  CHECK(parse_config(tiny + "mxus: 3\n", "t.yaml").ub_banks == 6);
  CHECK_THAT(
      error_of(tiny + "unified_buffer_bank_bytes: 1002\n"),
      Catch::Contains("unified_buffer_bank_bytes") && Catch::Contains("multiple of the vector"));
  CHECK_THAT(error_of(tiny + "unified_buffer_bank_bytes: 2\n"),
             Catch::Contains("unified_buffer_bank_bytes"));
  // the shipped presets: 256 KiB banks (sim/isa/ISA.md, "UB banks")
  CHECK(load_config("tpu-v1").ub_banks == 96);
  CHECK(load_config("tpu-llm").ub_banks == 512);
  CHECK(load_config("tpu-v4i").ub_banks == 64);
  CHECK(load_config("tpu-llm-1x256").ub_banks == 96);
  CHECK(load_config("tiny-8-x4").ub_banks == 8);
}

TEST_CASE("config errors name the file, the key and the range", "[config]") {
  std::string base = kTiny;
  auto replace = [&](const std::string& from, const std::string& to) {
    std::string s = base;
    auto p = s.find(from);
    REQUIRE(p != std::string::npos);
    return s.replace(p, from.size(), to);
  };
  CHECK_THAT(error_of(base + "bogus: 1\n"),
             Catch::Contains("t.yaml") && Catch::Contains("unknown key 'bogus'"));
  CHECK_THAT(error_of(replace("rows: 4", "rows: 0")),
             Catch::Contains("array.rows") && Catch::Contains("[2, 4096]"));
  CHECK_THAT(error_of(replace("rows: 4", "rows: -3")), Catch::Contains("array.rows"));
  CHECK_THAT(error_of(replace("rows: 4", "rows: 4.5")), Catch::Contains("array.rows"));
  CHECK_THAT(error_of(replace("rows: 4", "rows: 99999999999999999999999")),
             Catch::Contains("array.rows"));
  CHECK_THAT(error_of(replace("clock_mhz: 700\n", "")),
             Catch::Contains("clock_mhz") && Catch::Contains("missing"));
  CHECK_THAT(error_of(replace("type: ddr3", "type: sram")), Catch::Contains("weight_memory.type"));
  CHECK_THAT(error_of(replace("unified_buffer_bytes: 4096", "unified_buffer_bytes: 4095")),
             Catch::Contains("unified_buffer_bytes"));
  CHECK_THAT(error_of(replace("array: {rows: 4, cols: 4}", "array: [4, 4]")),
             Catch::Contains("array") && Catch::Contains("mapping"));
  CHECK_THAT(error_of(replace("bandwidth_gb_s: 1.4", "bandwidth_gb_s: fast")),
             Catch::Contains("weight_memory.bandwidth_gb_s"));
  CHECK_THAT(error_of("name: [unclosed\n"),
             Catch::Contains("t.yaml:") && Catch::Contains("YAML syntax"));
  CHECK_THAT(error_of(""), Catch::Contains("empty"));
  CHECK_THAT(error_of(std::string("name: \xff\xfe\n")), Catch::Contains("UTF-8"));
  CHECK_THAT(error_of(base + "data: {act_bits: 16}\n"), Catch::Contains("data.act_bits"));
}

TEST_CASE("unknown presets and missing files are input errors", "[config]") {
  CHECK_THROWS_AS(load_config("no-such-arch"), InputError);
  CHECK_THROWS_AS(load_config("/nonexistent/arch.yaml"), InputError);
}
