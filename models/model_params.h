// Parameter blocks of the energy, power, area and carbon models (issue 7), parsed from the
// optional top-level keys `energy`, `area`, `carbon` and `dvfs` of an arch YAML by
// parse_model_params. Every default cites its row in ../shared/reference/energy-carbon.md
// ("ref: <section>") or says plainly that it is an assumption; models/README.md has the equations.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace tpusim {

// Static (idle) power density of each floorplan block, W per mm^2 of that block at
// EnergyParams::static_ref_voltage_v (Eq. 7, models/README.md).
struct StaticDensity {
  // Calibration (models/README.md, "Calibration"): the published tpu-v1 idle power 28 W
  // (ref: "Calibration targets") spread uniformly over the modelled tpu-v1 die (area model,
  // 321.9 mm^2): 28 / 321.9 = 0.087 W/mm^2. Uniform because leakage and the free-running clock
  // tree both scale with area; no per-block idle figure is published.
  double matrix_unit = 0.087;
  double unified_buffer = 0.087;
  double accumulators = 0.087;
  double weight_fifo = 0.087;
  double activation = 0.087;
  double control = 0.087;
  double io = 0.087;
  double whitespace = 0.087;
};

struct EnergyParams {
  // Technology scaling of the per-event energies below (Eq. 1-3): "stillmaker" scales the 45 nm
  // base values to the arch's node and voltage; "none" takes them as given at the arch's point.
  std::string scaling = "stillmaker";
  // The operating point the per-event values are quoted at (ref: "Per-operation energy, 45 nm,
  // 0.9 V (Horowitz, ISSCC 2014)").
  double base_voltage_v = 0.9;

  // Per-event dynamic energies at 45 nm, base_voltage_v.
  // ref: "Per-operation energy", derived row: int8 mult 0.2 + int32 add 0.1 = 0.30 pJ.
  double mac_pj = 0.30;
  // Assumption (no published figure for a pipeline register): moving one byte into the
  // neighbouring PE's register over a short wire costs about one int8 add (0.03 pJ, ref:
  // "Per-operation energy"). Used for activations (east) and partial sums (south).
  double pe_transfer_pj_per_byte = 0.03;
  // Same register-and-wire assumption, per byte per hop down a column during a weight shift.
  double weight_shift_pj_per_byte = 0.03;
  // ref: "SRAM 64-bit access 32 KB: 20 pJ" -> 2.5 pJ/byte. The UB, the accumulators (256 lanes of
  // 16 KiB) and the weight FIFO are taken to be built of <= 32 KB macros read a row at a time.
  double ub_read_pj_per_byte = 2.5;
  double ub_write_pj_per_byte = 2.5;
  double acc_read_pj_per_byte = 2.5;
  double acc_write_pj_per_byte = 2.5;
  double weight_fifo_pj_per_byte = 2.5;
  // Per lane of one activation row: requantization = int32 mult 3.1 + int32 add 0.1 (ref:
  // "Per-operation energy"); the function lookup and pooling are taken as included.
  double activation_pj_per_lane = 3.2;
  // Off-chip energies are not node-scaled (they are the memory's and the link's own).
  // Assumption, no row in the reference: PCIe Gen3 SerDes at ~5 pJ/bit = 40 pJ/byte.
  double host_link_pj_per_byte = 40.0;
  // ref: "DRAM energy per bit (Accelergy CACTI plug-in table)": DDR3 70, LPDDR4 8, GDDR5 14,
  // GDDR6 7.5, HBM2 3.9, HBM3/HBM3E ~4 (the reference says no authoritative figure).
  // Types without a row use their nearest listed relative (assumption, flagged in README):
  // ddr4 -> DDR3 70 (upper bound), lpddr5 -> LPDDR4 8, hbm2e -> HBM2 3.9.
  std::map<std::string, double> dram_pj_per_bit = {
      {"ddr3", 70.0}, {"ddr4", 70.0}, {"lpddr4", 8.0}, {"lpddr5", 8.0}, {"gddr5", 14.0},
      {"gddr6", 7.5}, {"hbm2", 3.9},  {"hbm2e", 3.9},  {"hbm3", 4.0},   {"hbm3e", 4.0}};

  // Static power: density by block (above) at this voltage, scaled by (V / ref)^2 (Eq. 7).
  // ref: the tpu-v1 preset's 0.9 V, the point the 28 W idle figure was calibrated at.
  double static_ref_voltage_v = 0.9;
  StaticDensity static_w_per_mm2;
};

struct AreaParams {
  // Per-block area at `ref_node_nm`, derived from the TPU v1 floorplan shares of its <= 331 mm^2
  // 28 nm die (ref: "Calibration targets for the tpu-v1 preset"; tpu-v1.md "floorplan"),
  // rounded down; scaled to other nodes by (node / ref)^2 except I/O (Eq. 8-9).
  double ref_node_nm = 28.0;
  // Matrix unit ~24 %: 0.24 * 331 / 65536 = 1212 um^2 per MAC -> 1200.
  double mac_um2 = 1200.0;
  // Each weight shift port beyond the first, per PE (sim/isa/ISA.md, "Shift ports"): an 8-bit
  // select in front of the shadow register, a row-select compare and 8 more wires down each
  // column. Assumption: ~5 % of the PE's 1200 um^2 (no published figure).
  double shift_port_um2_per_pe = 60.0;
  // UB ~29 %: 0.29 * 331 / 24 MiB = 4.0 mm^2 per MiB (also used for the weight FIFO SRAM).
  double sram_mm2_per_mib = 4.0;
  // Accumulators ~6 %: 0.06 * 331 / 4 MiB = 4.97 -> 5.0 mm^2 per MiB (SRAM plus adders).
  double accumulator_mm2_per_mib = 5.0;
  // Compute 30 % less the matrix unit's 24 % = 6 % for the activation pipeline, 256 lanes:
  // 0.06 * 331 / 256 = 0.0776 -> 0.075 mm^2 per lane.
  double activation_mm2_per_lane = 0.075;
  // Control 2 %: 0.02 * 331 = 6.6 -> 6.5 mm^2 (taken as independent of the array size).
  double control_mm2 = 6.5;
  // I/O 10 %: 0.10 * 331 = 33.1 -> 33 mm^2 (DDR and PCIe PHYs; analog, not node-scaled).
  double io_mm2 = 33.0;
  // The 100 - 37 - 30 - 10 - 2 = 21 % of the floorplan left unlabelled (wiring, white space).
  double whitespace_fraction = 0.21;
};

struct CarbonParams {
  // Grid carbon intensity at the point of use (ref: "Grid carbon intensity"): one of the presets
  // (carbon_grid_presets()) or "custom" with grid_g_per_kwh given.
  std::string grid = "world";
  double grid_g_per_kwh = 481.0;  // resolved value of `grid` (world 481, 2023)
  double pue = 1.10;              // ref: "PUE: hyperscale 1.10"
  double lifetime_years = 5.0;    // ref: "LLMCarbon (ICLR 2024) uses 5-year lifetimes"
  double yield = 0.875;           // ref: ACT defaults, "yield 0.875"
  double fab_g_per_kwh = 583.0;   // ref: ACT defaults, "fab in Taiwan at 583 gCO2/kWh"
  int gas_abatement_pct = 97;     // 95, 97 or 99; ref: ACT defaults "gas abatement 97 %"
  double mpa_g_per_cm2 = 500.0;   // ref: ACT defaults "MPA 500 g/cm^2 at every node"
  double package_g = 150.0;       // ref: ACT "plus 150 g per packaged IC"
  // Embodied DRAM carbon per GB (1e9 bytes) by weight-memory type. ref: "DRAM g/GB": DDR3 (30 nm)
  // 230 (the DDR3 of a 2015 part), DDR4 (10 nm) 65, LPDDR4 48. Types without a row (assumption):
  // lpddr5 -> LPDDR4 48; GDDR and HBM -> LLMCarbon's 0.4 kg/GB.
  std::map<std::string, double> dram_g_per_gb = {
      {"ddr3", 230.0},  {"ddr4", 65.0},  {"lpddr4", 48.0}, {"lpddr5", 48.0}, {"gddr5", 400.0},
      {"gddr6", 400.0}, {"hbm2", 400.0}, {"hbm2e", 400.0}, {"hbm3", 400.0},  {"hbm3e", 400.0}};
};

// One voltage/frequency operating point of an arch (`tpusim run --dvfs NAME`).
struct DvfsPoint {
  std::string name;
  double voltage_v = 0.0;
  uint32_t clock_mhz = 0;
};

struct ModelParams {
  EnergyParams energy;
  AreaParams area;
  CarbonParams carbon;
  // No DVFS table is published for TPU v1, so the default list is empty; the arch's own
  // (clock_mhz, technology.voltage_v) is always available as the point "nominal".
  std::vector<DvfsPoint> dvfs;
};

// Grid presets in gCO2/kWh (ref: "Grid carbon intensity"), sorted by name: coal 820, europe 300,
// france 56, norway 30, taiwan 583, usa 369, world 481.
const std::map<std::string, double>& carbon_grid_presets();

// Reads the model blocks present in `root` into `out` (defaults stay for absent keys). Returns the
// top-level keys it consumed (those of `energy`, `area`, `carbon`, `dvfs` present) so that the
// config loader can reject the rest as unknown. Throws InputError naming `file`, the key and the
// allowed range for unknown keys, wrong types and out-of-range values.
std::vector<std::string> parse_model_params(const YAML::Node& root, const std::string& file,
                                            ModelParams& out);

}  // namespace tpusim
