// TpuConfig: the one architecture description every engine and model takes as `const TpuConfig&`.
// Loaded and validated in one place (load_config); derived quantities are member functions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "models/limits.h"
#include "models/model_params.h"

namespace tpusim {

// One matrix unit (MXU): a rows x cols weight-stationary systolic array. A chip has `mxus` of
// them (TpuConfig::mxus), all of this shape, fed by one weight DMA and one unified buffer and
// writing one accumulator address space (sim/isa/ISA.md).
struct ArrayConfig {
  uint32_t rows = 0;  // K dimension: input vector lanes (weights' rows)
  uint32_t cols = 0;  // N dimension: output lanes
};

struct MemoryLink {
  std::string type;             // weight memory: ddr3, gddr5, hbm2, ...; host link: pcie3x16, ...
  uint64_t bytes = 0;           // capacity (weight memory only; 0 for the host link)
  uint64_t bandwidth_mb_s = 0;  // 1 MB/s = 1e6 bytes/s, integer so that cycle arithmetic is exact
  uint32_t latency_cycles = 0;  // from request to first byte
};

struct DataWidths {
  uint32_t act_bits = 8;
  uint32_t weight_bits = 8;
  uint32_t acc_bits = 32;
};

struct TechnologyConfig {
  uint32_t node_nm = 28;
  double voltage_v = 0.9;
};

// Chip-to-chip interconnect for multi-chip runs (sim/studies/multichip/multichip.h, issue 13);
// costs in models/interconnect.h. Absent from the YAML: the PCIe Gen3 x16 host-routed default
// below.
struct InterconnectConfig {
  std::string type = "pcie3x16";    // pcie3x16 | pcie4x16 | pcie5x16 | ici | nvlink | custom
  std::string topology = "switch";  // ring | torus2d | switch (switch: host root complex / switch)
  // Per link, per direction. PCIe Gen3 x16: 16 lanes x 8 GT/s x 128/130 / 8 = 15.754 GB/s (PCI-SIG
  // base spec 3.0 line rate and encoding), the link TPU v1 hangs off (Jouppi et al., ISCA 2017).
  uint64_t link_bandwidth_mb_s = 15754;
  // Per hop. Assumption: ~1 us DMA hop, the host_link latency of tpu-v1.yaml (not published).
  double link_latency_us = 1.0;
  // Per bit per hop. Assumption: ~10 pJ/bit for a long-reach PCIe SerDes plus controller (no
  // TPU v1 figure is published; long-reach SerDes are 5-10 pJ/bit at 28 nm).
  double energy_pj_per_bit = 10.0;
  uint32_t links_per_chip = 1;
  bool from_yaml = false;  // false: the default above (no `interconnect:` block)

  double link_bandwidth_bytes_per_s() const { return double(link_bandwidth_mb_s) * 1e6; }
};

struct TpuConfig {
  std::string name;  // preset name or file stem
  std::string description;
  std::string source;  // where the numbers come from
  std::string file;    // the YAML file it was loaded from ("" for built-ins)

  ArrayConfig array;  // the shape of each MXU
  uint32_t mxus = 1;  // matrix units on the chip (`mxus`, default 1: TPU v1)
  uint32_t clock_mhz = 0;
  uint64_t unified_buffer_bytes = 0;
  // Banks of the UB, each ceil(ub_vectors / banks) contiguous vectors of synchronous 1R1W SRAM
  // (sim/isa/ISA.md, "UB banks"): ceil(unified_buffer_bytes / `unified_buffer_bank_bytes`), or
  // 2 x mxus where a preset does not say.
  uint32_t ub_banks = 2;
  uint32_t accumulator_entries = 0;  // rows of `cols` int32 values
  uint32_t weight_fifo_tiles = 0;    // per MXU
  // Weight tiles that may shift into one MXU's shadow registers at once (`weight_fifo.
  // shift_ports`, default 1): the rate at which weights enter an array (sim/isa/ISA.md).
  uint32_t weight_shift_ports = 1;
  // Rows of PEs one segment of a column's weight bus drives before the next pipeline register
  // (`weight_fifo.bus_segment_rows`, default 16, at most rows): the shift reaches row i
  // floor(i / this) cycles late (sim/isa/ISA.md, "Weight path"). 1 is a PE-to-PE shift down
  // the column; `rows` one broadcast bus per column.
  uint32_t weight_bus_segment_rows = 16;
  MemoryLink weight_memory;
  MemoryLink host_link;
  DataWidths data;
  TechnologyConfig technology;
  ModelParams params;               // energy / area / carbon blocks (models/model_params.h)
  InterconnectConfig interconnect;  // optional `interconnect:` block

  // Derived quantities (never stored twice).
  uint32_t vector_bytes() const { return array.rows > array.cols ? array.rows : array.cols; }
  uint64_t tile_bytes() const { return uint64_t(array.rows) * array.cols; }
  uint64_t ub_vectors() const { return unified_buffer_bytes / vector_bytes(); }
  uint64_t accumulator_bytes() const { return uint64_t(accumulator_entries) * array.cols * 4; }
  // MACs of one MXU per injected row, and of the chip per cycle (every MXU).
  uint64_t mxu_macs_per_row() const { return uint64_t(array.rows) * array.cols; }
  uint64_t macs_per_cycle() const { return uint64_t(mxus) * mxu_macs_per_row(); }
  double clock_hz() const { return double(clock_mhz) * 1e6; }
  // Peak throughput counting 2 ops per MAC (multiply + add), as the TPU paper's 92 TOPS.
  double peak_tops() const { return 2.0 * double(macs_per_cycle()) * clock_hz() / 1e12; }
  double weight_bandwidth_bytes_per_s() const { return double(weight_memory.bandwidth_mb_s) * 1e6; }
  // Roofline ridge point in MACs per weight byte (the TPU paper's "ops per weight byte").
  double ridge_macs_per_weight_byte() const {
    return double(macs_per_cycle()) * clock_hz() / weight_bandwidth_bytes_per_s();
  }
  uint64_t weight_memory_tiles() const { return weight_memory.bytes / tile_bytes(); }
};

// Loads and validates an architecture from a preset name (see list_arch_presets) or a YAML path.
// Throws InputError (exit code 2) naming the file, the key and the allowed range on any problem:
// unknown keys, missing keys, wrong types, out-of-range values.
TpuConfig load_config(const std::string& name_or_path);

// Parses YAML text as if it came from `file` (used by load_config and by tests).
TpuConfig parse_config(const std::string& yaml_text, const std::string& file);

// The resolved configuration as JSON, in the YAML's key structure (the report's `arch` block and
// the keys a sweep may set): written here, beside the reader, so that a new key is added to both
// in one file.
nlohmann::json arch_json(const TpuConfig& cfg);

// Names of the shipped presets (workloads/archs/*.yaml), sorted.
std::vector<std::string> list_arch_presets();

}  // namespace tpusim
