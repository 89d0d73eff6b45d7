#include "models/model_params.h"

#include <set>

#include <fmt/format.h>

#include "models/errors.h"
#include "models/yaml_reader.h"

namespace tpusim {

namespace {

// Ranges: wide enough for any real design, narrow enough to catch unit mistakes (pJ vs nJ, a
// fraction typed as a percentage).
constexpr double kMaxEventPj = 1e4;  // per event or per byte
constexpr double kMaxDramPjPerBit = 1e3;
constexpr double kMaxStaticWPerMm2 = 10.0;
constexpr double kMinVoltage = 0.3;
constexpr double kMaxVoltage = 2.0;
constexpr double kMaxBlockMm2 = 1e4;
constexpr double kMaxGridG = 2000.0;      // above any grid (coal 820)
constexpr uint64_t kMaxClockMhz = 10000;  // as the arch's clock_mhz
constexpr size_t kMaxDvfsPoints = 64;

void read_map_of_reals(YamlMap& parent, const std::string& key, std::map<std::string, double>& m,
                       double lo, double hi) {
  if (!parent.has(key)) {
    parent.mark_used(key);
    return;
  }
  YamlMap sub = parent.map(key);
  for (auto& [name, value] : m) value = sub.real_or(name, value, lo, hi);
  sub.finish();  // keys that are not a known type
}

void parse_energy(YamlMap e, EnergyParams& p) {
  p.scaling = e.choice_or("scaling", p.scaling, {"stillmaker", "none"});
  p.base_voltage_v = e.real_or("base_voltage_v", p.base_voltage_v, kMinVoltage, kMaxVoltage);
  p.mac_pj = e.real_or("mac_pj", p.mac_pj, 0.0, kMaxEventPj);
  p.pe_transfer_pj_per_byte =
      e.real_or("pe_transfer_pj_per_byte", p.pe_transfer_pj_per_byte, 0.0, kMaxEventPj);
  p.weight_shift_pj_per_byte =
      e.real_or("weight_shift_pj_per_byte", p.weight_shift_pj_per_byte, 0.0, kMaxEventPj);
  p.ub_read_pj_per_byte = e.real_or("ub_read_pj_per_byte", p.ub_read_pj_per_byte, 0.0, kMaxEventPj);
  p.ub_write_pj_per_byte =
      e.real_or("ub_write_pj_per_byte", p.ub_write_pj_per_byte, 0.0, kMaxEventPj);
  p.acc_read_pj_per_byte =
      e.real_or("acc_read_pj_per_byte", p.acc_read_pj_per_byte, 0.0, kMaxEventPj);
  p.acc_write_pj_per_byte =
      e.real_or("acc_write_pj_per_byte", p.acc_write_pj_per_byte, 0.0, kMaxEventPj);
  p.weight_fifo_pj_per_byte =
      e.real_or("weight_fifo_pj_per_byte", p.weight_fifo_pj_per_byte, 0.0, kMaxEventPj);
  p.activation_pj_per_lane =
      e.real_or("activation_pj_per_lane", p.activation_pj_per_lane, 0.0, kMaxEventPj);
  p.host_link_pj_per_byte =
      e.real_or("host_link_pj_per_byte", p.host_link_pj_per_byte, 0.0, kMaxEventPj);
  read_map_of_reals(e, "dram_pj_per_bit", p.dram_pj_per_bit, 0.0, kMaxDramPjPerBit);
  p.static_ref_voltage_v =
      e.real_or("static_ref_voltage_v", p.static_ref_voltage_v, kMinVoltage, kMaxVoltage);
  if (e.has("static_w_per_mm2")) {
    YamlMap s = e.map("static_w_per_mm2");
    StaticDensity& d = p.static_w_per_mm2;
    d.matrix_unit = s.real_or("matrix_unit", d.matrix_unit, 0.0, kMaxStaticWPerMm2);
    d.unified_buffer = s.real_or("unified_buffer", d.unified_buffer, 0.0, kMaxStaticWPerMm2);
    d.accumulators = s.real_or("accumulators", d.accumulators, 0.0, kMaxStaticWPerMm2);
    d.weight_fifo = s.real_or("weight_fifo", d.weight_fifo, 0.0, kMaxStaticWPerMm2);
    d.activation = s.real_or("activation", d.activation, 0.0, kMaxStaticWPerMm2);
    d.control = s.real_or("control", d.control, 0.0, kMaxStaticWPerMm2);
    d.io = s.real_or("io", d.io, 0.0, kMaxStaticWPerMm2);
    d.whitespace = s.real_or("whitespace", d.whitespace, 0.0, kMaxStaticWPerMm2);
    s.finish();
  } else {
    e.mark_used("static_w_per_mm2");
  }
  e.finish();
}

void parse_area(YamlMap a, AreaParams& p) {
  p.ref_node_nm = a.real_or("ref_node_nm", p.ref_node_nm, 3.0, 180.0);
  p.mac_um2 = a.real_or("mac_um2", p.mac_um2, 1e-3, 1e6);
  p.shift_port_um2_per_pe = a.real_or("shift_port_um2_per_pe", p.shift_port_um2_per_pe, 0.0, 1e6);
  p.sram_mm2_per_mib = a.real_or("sram_mm2_per_mib", p.sram_mm2_per_mib, 1e-3, 1e3);
  p.accumulator_mm2_per_mib =
      a.real_or("accumulator_mm2_per_mib", p.accumulator_mm2_per_mib, 1e-3, 1e3);
  p.activation_mm2_per_lane =
      a.real_or("activation_mm2_per_lane", p.activation_mm2_per_lane, 0.0, 1e2);
  p.control_mm2 = a.real_or("control_mm2", p.control_mm2, 0.0, kMaxBlockMm2);
  p.io_mm2 = a.real_or("io_mm2", p.io_mm2, 0.0, kMaxBlockMm2);
  p.whitespace_fraction = a.real_or("whitespace_fraction", p.whitespace_fraction, 0.0, 0.9);
  a.finish();
}

void parse_carbon(YamlMap c, CarbonParams& p) {
  const auto& presets = carbon_grid_presets();
  std::vector<std::string> names;
  names.reserve(presets.size() + 1);
  for (const auto& kv : presets) names.push_back(kv.first);
  names.push_back("custom");
  const bool has_value = c.has("grid_g_per_kwh");
  // A number given alone means a custom grid; a preset name and a number together conflict.
  p.grid = c.choice_or("grid", has_value ? "custom" : p.grid, names);
  if (p.grid == "custom") {
    if (!has_value) c.fail("grid_g_per_kwh", "missing (required when grid is 'custom')");
    p.grid_g_per_kwh = c.real("grid_g_per_kwh", 0.0, kMaxGridG);
  } else {
    if (has_value)
      c.fail("grid_g_per_kwh",
             fmt::format("given with preset grid '{}'; set grid: custom or drop one", p.grid));
    p.grid_g_per_kwh = presets.at(p.grid);
  }
  p.pue = c.real_or("pue", p.pue, 1.0, 3.0);
  p.lifetime_years = c.real_or("lifetime_years", p.lifetime_years, 0.1, 50.0);
  p.yield = c.real_or("yield", p.yield, 0.01, 1.0);
  p.fab_g_per_kwh = c.real_or("fab_g_per_kwh", p.fab_g_per_kwh, 0.0, kMaxGridG);
  p.gas_abatement_pct = int(c.uint_or("gas_abatement_pct", uint64_t(p.gas_abatement_pct), 95, 99));
  if (p.gas_abatement_pct != 95 && p.gas_abatement_pct != 97 && p.gas_abatement_pct != 99)
    c.fail("gas_abatement_pct", fmt::format("{} is not one of 95, 97, 99", p.gas_abatement_pct));
  p.mpa_g_per_cm2 = c.real_or("mpa_g_per_cm2", p.mpa_g_per_cm2, 0.0, 1e4);
  p.package_g = c.real_or("package_g", p.package_g, 0.0, 1e5);
  read_map_of_reals(c, "dram_g_per_gb", p.dram_g_per_gb, 0.0, 1e4);
  c.finish();
}

void parse_dvfs(const YAML::Node& node, const std::string& file, std::vector<DvfsPoint>& out) {
  if (!node.IsSequence())
    throw InputError(
        fmt::format("{}: key 'dvfs': expected a list of {{name, voltage_v, "
                    "clock_mhz}} points",
                    file));
  if (node.size() > kMaxDvfsPoints)
    throw InputError(fmt::format("{}: key 'dvfs': {} points, at most {} allowed", file, node.size(),
                                 kMaxDvfsPoints));
  out.clear();
  std::set<std::string> seen;
  for (size_t i = 0; i < node.size(); ++i) {
    YamlMap m(node[i], file, fmt::format("dvfs[{}]", i));
    DvfsPoint p;
    p.name = m.str("name");
    if (p.name.empty() || p.name == "nominal" || !seen.insert(p.name).second)
      m.fail("name", fmt::format("'{}' must be non-empty, unique and not 'nominal' (reserved for "
                                 "the arch's own clock and voltage)",
                                 p.name));
    p.voltage_v = m.real("voltage_v", kMinVoltage, kMaxVoltage);
    p.clock_mhz = uint32_t(m.uint("clock_mhz", 1, kMaxClockMhz));
    m.finish();
    out.push_back(p);
  }
}

}  // namespace

const std::map<std::string, double>& carbon_grid_presets() {
  // ref: "Grid carbon intensity (gCO2/kWh)": World 481 (2023); USA 369-380 (lower figure);
  // Europe ~300; Taiwan 583-642 (lower figure, as ACT's fab default); France 56; Norway 30;
  // coal 820.
  static const std::map<std::string, double> kPresets = {
      {"coal", 820.0},   {"europe", 300.0}, {"france", 56.0}, {"norway", 30.0},
      {"taiwan", 583.0}, {"usa", 369.0},    {"world", 481.0}};
  return kPresets;
}

std::vector<std::string> parse_model_params(const YAML::Node& root, const std::string& file,
                                            ModelParams& out) {
  std::vector<std::string> used;
  if (!root.IsMap()) return used;
  if (root["energy"]) {
    parse_energy(YamlMap(root["energy"], file, "energy"), out.energy);
    used.push_back("energy");
  }
  if (root["area"]) {
    parse_area(YamlMap(root["area"], file, "area"), out.area);
    used.push_back("area");
  }
  if (root["carbon"]) {
    parse_carbon(YamlMap(root["carbon"], file, "carbon"), out.carbon);
    used.push_back("carbon");
  }
  if (root["dvfs"]) {
    parse_dvfs(root["dvfs"], file, out.dvfs);
    used.push_back("dvfs");
  }
  return used;
}

}  // namespace tpusim
