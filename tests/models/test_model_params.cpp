// Model parameter blocks (models/model_params.h): defaults from
// ../shared/reference/energy-carbon.md and strict reading of the `energy`, `area`, `carbon` and
// `dvfs` keys of an arch YAML.
#include <string>

#include <catch2/catch.hpp>

#include "models/config.h"
#include "models/errors.h"
#include "models/model_params.h"

using namespace tpusim;

namespace {

TpuConfig parse(const std::string& extra) {
  return parse_config("base: tpu-v1\nname: t\n" + extra, "t.yaml");
}

// The InputError message of parsing `extra`, or "" if it parsed.
std::string error_of(const std::string& extra) {
  try {
    parse(extra);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

bool mentions(const std::string& msg, const std::string& what) {
  return msg.find(what) != std::string::npos;
}

}  // namespace

TEST_CASE("Defaults are the rows of the reference") {
  const ModelParams p = load_config("tpu-v1").params;
  CHECK(p.energy.scaling == "stillmaker");
  CHECK(p.energy.base_voltage_v == 0.9);                    // Horowitz, 45 nm 0.9 V
  CHECK(p.energy.mac_pj == Approx(0.2 + 0.1));              // int8 mult + int32 add
  CHECK(p.energy.ub_read_pj_per_byte == Approx(20.0 / 8));  // 32 KB SRAM, 20 pJ per 64 bit
  CHECK(p.energy.activation_pj_per_lane == Approx(3.1 + 0.1));
  CHECK(p.energy.dram_pj_per_bit.at("ddr3") == 70.0);
  CHECK(p.energy.dram_pj_per_bit.at("gddr5") == 14.0);
  CHECK(p.energy.dram_pj_per_bit.at("hbm2") == 3.9);
  CHECK(p.carbon.grid == "world");
  CHECK(p.carbon.grid_g_per_kwh == 481.0);
  CHECK(p.carbon.pue == 1.10);
  CHECK(p.carbon.yield == 0.875);
  CHECK(p.carbon.fab_g_per_kwh == 583.0);
  CHECK(p.carbon.gas_abatement_pct == 97);
  CHECK(p.carbon.mpa_g_per_cm2 == 500.0);
  CHECK(p.carbon.package_g == 150.0);
  CHECK(p.carbon.lifetime_years == 5.0);
  CHECK(p.carbon.dram_g_per_gb.at("ddr3") == 230.0);
  CHECK(p.carbon.dram_g_per_gb.at("lpddr4") == 48.0);
  CHECK(p.dvfs.empty());
}

TEST_CASE("Every weight-memory type the config accepts has DRAM energy and carbon entries") {
  const ModelParams p;
  for (const char* t :
       {"ddr3", "ddr4", "lpddr4", "lpddr5", "gddr5", "gddr6", "hbm2", "hbm2e", "hbm3", "hbm3e"}) {
    CHECK(p.energy.dram_pj_per_bit.count(t) == 1);
    CHECK(p.carbon.dram_g_per_gb.count(t) == 1);
  }
}

TEST_CASE("Blocks are read and override the defaults") {
  const TpuConfig c = parse(
      "energy:\n"
      "  scaling: none\n"
      "  mac_pj: 0.5\n"
      "  dram_pj_per_bit: {ddr3: 20}\n"
      "  static_w_per_mm2: {io: 0.2}\n"
      "area:\n"
      "  mac_um2: 900\n"
      "carbon:\n"
      "  grid: france\n"
      "  pue: 1.57\n"
      "  gas_abatement_pct: 99\n"
      "  dram_g_per_gb: {ddr3: 600}\n"
      "dvfs:\n"
      "  - {name: eco, voltage_v: 0.8, clock_mhz: 500}\n"
      "  - {name: turbo, voltage_v: 1.0, clock_mhz: 900}\n");
  CHECK(c.params.energy.scaling == "none");
  CHECK(c.params.energy.mac_pj == 0.5);
  CHECK(c.params.energy.dram_pj_per_bit.at("ddr3") == 20.0);
  CHECK(c.params.energy.dram_pj_per_bit.at("gddr5") == 14.0);  // untouched entries stay
  CHECK(c.params.energy.static_w_per_mm2.io == 0.2);
  CHECK(c.params.energy.static_w_per_mm2.control == ModelParams{}.energy.static_w_per_mm2.control);
  CHECK(c.params.area.mac_um2 == 900.0);
  CHECK(c.params.carbon.grid == "france");
  CHECK(c.params.carbon.grid_g_per_kwh == 56.0);
  CHECK(c.params.carbon.pue == 1.57);
  CHECK(c.params.carbon.gas_abatement_pct == 99);
  CHECK(c.params.carbon.dram_g_per_gb.at("ddr3") == 600.0);
  REQUIRE(c.params.dvfs.size() == 2);
  CHECK(c.params.dvfs[0].name == "eco");
  CHECK(c.params.dvfs[0].voltage_v == 0.8);
  CHECK(c.params.dvfs[0].clock_mhz == 500);
  CHECK(c.params.dvfs[1].name == "turbo");
}

TEST_CASE("parse_model_params returns exactly the keys it consumed") {
  ModelParams p;
  YAML::Node n = YAML::Load("name: x\narea: {io_mm2: 10}\ndvfs: []\nother: 1\n");
  const auto keys = parse_model_params(n, "x.yaml", p);
  CHECK(keys == std::vector<std::string>{"area", "dvfs"});
  CHECK(p.area.io_mm2 == 10.0);
}

TEST_CASE("A custom grid takes its value and presets and values do not mix") {
  const TpuConfig c = parse("carbon: {grid_g_per_kwh: 123.5}\n");
  CHECK(c.params.carbon.grid == "custom");
  CHECK(c.params.carbon.grid_g_per_kwh == 123.5);
  CHECK(parse("carbon: {grid: custom, grid_g_per_kwh: 7}\n").params.carbon.grid_g_per_kwh == 7.0);
  CHECK(mentions(error_of("carbon: {grid: custom}\n"), "carbon.grid_g_per_kwh"));
  CHECK(mentions(error_of("carbon: {grid: usa, grid_g_per_kwh: 7}\n"), "carbon.grid_g_per_kwh"));
  const std::string bad = error_of("carbon: {grid: mars}\n");
  CHECK(mentions(bad, "t.yaml"));
  CHECK(mentions(bad, "carbon.grid"));
  CHECK(mentions(bad, "norway"));
}

TEST_CASE("Unknown keys and out-of-range values name the file and the key and the range") {
  std::string m = error_of("energy: {mac_pj: 0.3, bogus: 1}\n");
  CHECK(mentions(m, "t.yaml"));
  CHECK(mentions(m, "energy.bogus"));

  m = error_of("carbon: {yield: 1.5}\n");
  CHECK(mentions(m, "t.yaml"));
  CHECK(mentions(m, "carbon.yield"));
  CHECK(mentions(m, "[0.01, 1]"));

  m = error_of("energy: {mac_pj: -1}\n");
  CHECK(mentions(m, "energy.mac_pj"));
  m = error_of("energy: {scaling: magic}\n");
  CHECK(mentions(m, "energy.scaling"));
  m = error_of("energy: {dram_pj_per_bit: {ddr9: 1}}\n");
  CHECK(mentions(m, "energy.dram_pj_per_bit.ddr9"));
  m = error_of("energy: {static_w_per_mm2: {cache: 1}}\n");
  CHECK(mentions(m, "energy.static_w_per_mm2.cache"));
  m = error_of("area: {whitespace_fraction: 0.95}\n");
  CHECK(mentions(m, "area.whitespace_fraction"));
  m = error_of("carbon: {gas_abatement_pct: 96}\n");
  CHECK(mentions(m, "carbon.gas_abatement_pct"));
  m = error_of("carbon: {pue: 0.9}\n");
  CHECK(mentions(m, "carbon.pue"));
  m = error_of("energy: 3\n");
  CHECK(mentions(m, "energy"));
  m = error_of("area: {mac_um2: 900, ref_node: 28}\n");
  CHECK(mentions(m, "area.ref_node"));
  // Values at the edge of a range are accepted.
  CHECK(error_of("carbon: {yield: 1.0, pue: 1.0}\n").empty());
}

TEST_CASE("DVFS lists are checked point by point") {
  CHECK(mentions(error_of("dvfs: {name: eco}\n"), "dvfs"));
  CHECK(mentions(error_of("dvfs:\n  - {name: a, voltage_v: 0.8, clock_mhz: 500}\n"
                          "  - {name: a, voltage_v: 0.9, clock_mhz: 600}\n"),
                 "dvfs[1].name"));
  CHECK(mentions(error_of("dvfs:\n  - {name: nominal, voltage_v: 0.8, clock_mhz: 500}\n"),
                 "dvfs[0].name"));
  CHECK(mentions(error_of("dvfs:\n  - {name: a, voltage_v: 5, clock_mhz: 500}\n"),
                 "dvfs[0].voltage_v"));
  CHECK(mentions(error_of("dvfs:\n  - {name: a, voltage_v: 0.8, clock_mhz: 0}\n"),
                 "dvfs[0].clock_mhz"));
  CHECK(mentions(error_of("dvfs:\n  - {name: a, voltage_v: 0.8, clock_mhz: 500, x: 1}\n"),
                 "dvfs[0].x"));
  CHECK(mentions(error_of("dvfs:\n  - {name: a, voltage_v: 0.8}\n"), "dvfs[0].clock_mhz"));
}

TEST_CASE("Other unknown top-level keys are still rejected by the loader") {
  CHECK(mentions(error_of("energies: {}\n"), "energies"));
}
