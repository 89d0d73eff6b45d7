#include "models/config.h"

#include <algorithm>
#include <cmath>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "models/data_files.h"
#include "models/errors.h"
#include "models/yaml_reader.h"

namespace tpusim {

namespace {

// Upper bounds keep every derived product inside 64 bits and every allocation sane; a value
// beyond them is rejected before anything is allocated.
constexpr uint64_t kMaxArrayDim = 4096;
constexpr uint64_t kMaxClockMhz = 10000;
constexpr uint64_t kMaxUbBytes = uint64_t(1) << 34;  // 16 GiB
constexpr uint64_t kMaxAccEntries = uint64_t(1) << 24;
constexpr uint64_t kMaxUbBanks = 4096;
constexpr uint64_t kMaxFifoTiles = 64;
constexpr uint64_t kMaxWeightMemory = uint64_t(1) << 44;  // 16 TiB
constexpr double kMaxBandwidthGbS = 1e5;
constexpr uint64_t kMaxLatencyCycles = 1000000;
constexpr int kMaxBaseDepth = 8;

const std::vector<std::string> kWeightMemoryTypes = {"ddr3",  "ddr4", "lpddr4", "lpddr5", "gddr5",
                                                     "gddr6", "hbm2", "hbm2e",  "hbm3",   "hbm3e"};
const std::vector<std::string> kHostLinkTypes = {"pcie3x16", "pcie4x16", "pcie5x16", "custom"};
const std::vector<std::string> kInterconnectTypes = {"pcie3x16", "pcie4x16", "pcie5x16",
                                                     "ici",      "nvlink",   "custom"};
const std::vector<std::string> kTopologies = {"ring", "torus2d", "switch"};
constexpr double kMaxLinkLatencyUs = 1e4;
constexpr double kMaxLinkPjPerBit = 1e4;
constexpr uint64_t kMaxLinksPerChip = 64;

// Recursively overlays `over` onto `base` (maps merge key by key; anything else replaces).
YAML::Node merge(const YAML::Node& base, const YAML::Node& over) {
  if (!base.IsMap() || !over.IsMap()) return YAML::Clone(over);
  YAML::Node out = YAML::Clone(base);
  for (const auto& kv : over) {
    const std::string k = kv.first.Scalar();
    out[k] = out[k] ? merge(out[k], kv.second) : YAML::Clone(kv.second);
  }
  return out;
}

std::string resolve(const std::string& name_or_path, const std::string& from_file) {
  return resolve_data_file(name_or_path, "workloads/archs", "arch", from_file);
}

// Loads a document and applies its `base:` chain, detecting cycles.
YAML::Node load_with_bases(const std::string& path, std::vector<std::string>& chain) {
  if (std::find(chain.begin(), chain.end(), path) != chain.end()) {
    throw InputError(fmt::format("{}: key 'base': cycle in base chain ({} -> {})", chain.back(),
                                 fmt::join(chain, " -> "), path));
  }
  if (int(chain.size()) >= kMaxBaseDepth)
    throw InputError(fmt::format("{}: key 'base': chain deeper than {}", path, kMaxBaseDepth));
  chain.push_back(path);
  YAML::Node doc = load_yaml_file(path);
  if (!doc.IsMap()) throw InputError(fmt::format("{}: the document must be a mapping", path));
  if (doc["base"]) {
    if (!doc["base"].IsScalar())
      throw InputError(fmt::format("{}: key 'base': expected a preset name or path", path));
    std::string base_path = resolve(doc["base"].Scalar(), path);
    YAML::Node base = load_with_bases(base_path, chain);
    doc.remove("base");
    doc = merge(base, doc);
  }
  return doc;
}

uint64_t gb_s_to_mb_s(YamlMap& m, const std::string& key) {
  double gb = m.real(key, 1e-3, kMaxBandwidthGbS);
  return uint64_t(std::llround(gb * 1000.0));
}

TpuConfig from_yaml(const YAML::Node& doc, const std::string& file) {
  YamlMap root(doc, file, "");
  TpuConfig c;
  c.file = file;
  c.name = root.str("name");
  c.description = root.str_or("description", "");
  c.source = root.str_or("source", "");

  YamlMap arr = root.map("array");
  c.array.rows = uint32_t(arr.uint("rows", 2, kMaxArrayDim));
  c.array.cols = uint32_t(arr.uint("cols", 2, kMaxArrayDim));
  arr.finish();
  c.mxus = uint32_t(root.uint_or("mxus", 1, 1, kMaxMxus));

  c.clock_mhz = uint32_t(root.uint("clock_mhz", 1, kMaxClockMhz));
  c.unified_buffer_bytes = root.uint("unified_buffer_bytes", 1, kMaxUbBytes);
  if (c.unified_buffer_bytes % c.vector_bytes() != 0 || c.ub_vectors() < 2)
    root.fail("unified_buffer_bytes",
              fmt::format("{} must be a multiple of the vector width {} bytes, at least 2 vectors",
                          c.unified_buffer_bytes, c.vector_bytes()));
  if (c.ub_vectors() > 0xFFFFFFFFull)
    root.fail("unified_buffer_bytes", "more vectors than a 32-bit UB address reaches");
  c.ub_banks = 2 * c.mxus;
  if (root.has("unified_buffer_bank_bytes")) {
    const uint64_t bank = root.uint("unified_buffer_bank_bytes", c.vector_bytes(), kMaxUbBytes);
    const uint64_t banks = (c.unified_buffer_bytes + bank - 1) / bank;
    if (bank % c.vector_bytes() != 0 || banks > kMaxUbBanks)
      root.fail("unified_buffer_bank_bytes",
                fmt::format("{} must be a multiple of the vector width {} bytes and give at most "
                            "{} banks of the {}-byte UB",
                            bank, c.vector_bytes(), kMaxUbBanks, c.unified_buffer_bytes));
    c.ub_banks = uint32_t(banks);
  }
  c.ub_banks = uint32_t(std::min<uint64_t>(c.ub_banks, c.ub_vectors()));

  YamlMap acc = root.map("accumulators");
  c.accumulator_entries = uint32_t(acc.uint("entries", 2, kMaxAccEntries));
  acc.finish();

  YamlMap fifo = root.map("weight_fifo");
  c.weight_fifo_tiles = uint32_t(fifo.uint("tiles", 1, kMaxFifoTiles));
  c.weight_shift_ports =
      uint32_t(fifo.uint_or("shift_ports", 1, 1, std::min<uint64_t>(kMaxShiftPorts, c.array.rows)));
  c.weight_bus_segment_rows = uint32_t(
      fifo.uint_or("bus_segment_rows", std::min<uint64_t>(kDefaultBusSegmentRows, c.array.rows), 1,
                   c.array.rows));
  fifo.finish();

  YamlMap wm = root.map("weight_memory");
  c.weight_memory.type = wm.choice("type", kWeightMemoryTypes);
  c.weight_memory.bytes = wm.uint("bytes", 1, kMaxWeightMemory);
  c.weight_memory.bandwidth_mb_s = gb_s_to_mb_s(wm, "bandwidth_gb_s");
  c.weight_memory.latency_cycles = uint32_t(wm.uint("latency_cycles", 0, kMaxLatencyCycles));
  if (c.weight_memory.bytes < c.tile_bytes())
    wm.fail("bytes",
            fmt::format("{} holds no {}-byte weight tile", c.weight_memory.bytes, c.tile_bytes()));
  if (c.weight_memory_tiles() > 0xFFFFFFFFull)
    wm.fail("bytes", "more tiles than a 32-bit weight-tile address reaches");
  wm.finish();

  YamlMap hl = root.map("host_link");
  c.host_link.type = hl.choice("type", kHostLinkTypes);
  c.host_link.bandwidth_mb_s = gb_s_to_mb_s(hl, "bandwidth_gb_s");
  c.host_link.latency_cycles = uint32_t(hl.uint("latency_cycles", 0, kMaxLatencyCycles));
  hl.finish();

  if (root.has("data")) {
    YamlMap d = root.map("data");
    c.data.act_bits = uint32_t(d.uint("act_bits", 8, 8));
    c.data.weight_bits = uint32_t(d.uint("weight_bits", 8, 8));
    c.data.acc_bits = uint32_t(d.uint("acc_bits", 32, 32));
    d.finish();
  }

  YamlMap tech = root.map("technology");
  c.technology.node_nm = uint32_t(tech.uint("node_nm", 3, 180));
  c.technology.voltage_v = tech.real("voltage_v", 0.3, 2.0);
  tech.finish();

  if (root.has("interconnect")) {
    // Optional (issue 13): absent, the PCIe Gen3 x16 host-routed default of InterconnectConfig.
    YamlMap ic = root.map("interconnect");
    InterconnectConfig& x = c.interconnect;
    x.from_yaml = true;
    x.type = ic.choice_or("type", "custom", kInterconnectTypes);
    x.topology = ic.choice("topology", kTopologies);
    x.link_bandwidth_mb_s = gb_s_to_mb_s(ic, "link_bandwidth_gb_s");
    const bool us = ic.has("link_latency_us"), cyc = ic.has("link_latency_cycles");
    if (us == cyc)
      ic.fail("link_latency_us", "give exactly one of link_latency_us and link_latency_cycles");
    x.link_latency_us =
        us ? ic.real("link_latency_us", 0.0, kMaxLinkLatencyUs)
           : double(ic.uint("link_latency_cycles", 0, kMaxLatencyCycles)) / double(c.clock_mhz);
    x.energy_pj_per_bit = ic.real("energy_pj_per_bit", 0.0, kMaxLinkPjPerBit);
    x.links_per_chip = uint32_t(ic.uint_or("links_per_chip", 1, 1, kMaxLinksPerChip));
    if (x.topology == "ring" && x.links_per_chip < 2)
      ic.fail("links_per_chip", "a ring needs 2 links per chip (allowed 2..64)");
    if (x.topology == "torus2d" && x.links_per_chip < 4)
      ic.fail("links_per_chip", "a 2-D torus needs 4 links per chip (allowed 4..64)");
    ic.finish();
  }

  for (const auto& k : parse_model_params(doc, file, c.params)) root.mark_used(k);
  root.finish();
  return c;
}

}  // namespace

std::vector<std::string> list_arch_presets() { return list_data_files("workloads/archs"); }

nlohmann::json arch_json(const TpuConfig& c) {
  using nlohmann::json;
  return json{
      {"name", c.name},
      {"description", c.description},
      {"source", c.source},
      {"array", {{"rows", c.array.rows}, {"cols", c.array.cols}}},
      {"mxus", c.mxus},
      {"clock_mhz", c.clock_mhz},
      {"unified_buffer_bytes", c.unified_buffer_bytes},
      {"unified_buffer_banks", c.ub_banks},
      {"accumulators", {{"entries", c.accumulator_entries}}},
      {"weight_fifo",
       {{"tiles", c.weight_fifo_tiles},
        {"shift_ports", c.weight_shift_ports},
        {"bus_segment_rows", c.weight_bus_segment_rows}}},
      {"weight_memory",
       {{"type", c.weight_memory.type},
        {"bytes", c.weight_memory.bytes},
        {"bandwidth_gb_s", double(c.weight_memory.bandwidth_mb_s) / 1000.0},
        {"latency_cycles", c.weight_memory.latency_cycles}}},
      {"host_link",
       {{"type", c.host_link.type},
        {"bandwidth_gb_s", double(c.host_link.bandwidth_mb_s) / 1000.0},
        {"latency_cycles", c.host_link.latency_cycles}}},
      {"data",
       {{"act_bits", c.data.act_bits},
        {"weight_bits", c.data.weight_bits},
        {"acc_bits", c.data.acc_bits}}},
      {"technology", {{"node_nm", c.technology.node_nm}, {"voltage_v", c.technology.voltage_v}}},
      {"derived",
       {{"vector_bytes", c.vector_bytes()},
        {"tile_bytes", c.tile_bytes()},
        {"peak_tops", c.peak_tops()},
        {"ridge_macs_per_weight_byte", c.ridge_macs_per_weight_byte()}}},
  };
}

TpuConfig parse_config(const std::string& yaml_text, const std::string& file) {
  YAML::Node doc = load_yaml_text(yaml_text, file);
  if (doc.IsMap() && doc["base"]) {
    std::vector<std::string> chain{file};
    if (!doc["base"].IsScalar())
      throw InputError(fmt::format("{}: key 'base': expected a preset name or path", file));
    YAML::Node base = load_with_bases(resolve(doc["base"].Scalar(), file), chain);
    doc.remove("base");
    doc = merge(base, doc);
  }
  return from_yaml(doc, file);
}

TpuConfig load_config(const std::string& name_or_path) {
  std::string path = resolve(name_or_path, "");
  std::vector<std::string> chain;
  YAML::Node doc = load_with_bases(path, chain);
  return from_yaml(doc, path);
}

}  // namespace tpusim
