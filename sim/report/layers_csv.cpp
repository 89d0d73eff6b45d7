#include "sim/report/layers_csv.h"

#include <functional>
#include <initializer_list>
#include <vector>

#include <fmt/format.h>

#include "sim/common/text.h"

namespace tpusim {

using nlohmann::json;

namespace {

// A CSV column: header and the JSON value it shows (null when the layer lacks it).
struct Column {
  const char* header;
  std::function<json(const json&)> get;
};

json at_path(const json& j, std::initializer_list<const char*> path) {
  const json* p = &j;
  for (const char* k : path) {
    if (!p->is_object() || !p->contains(k)) return nullptr;
    p = &(*p)[k];
  }
  return *p;
}

const std::vector<Column>& csv_columns() {
  static const std::vector<Column> cols = [] {
    std::vector<Column> c;
    auto add = [&c](const char* header, std::initializer_list<const char*> path) {
      std::vector<const char*> p(path);
      c.push_back({header, [p](const json& l) {
                     const json* q = &l;
                     for (const char* k : p) {
                       if (!q->is_object() || !q->contains(k)) return json(nullptr);
                       q = &(*q)[k];
                     }
                     return *q;
                   }});
    };
    add("name", {"name"});
    add("kind", {"kind"});
    add("repeat", {"repeat"});
    add("cycles", {"cycles"});
    add("seconds", {"seconds"});
    add("instructions", {"instructions"});
    add("macs", {"macs"});
    add("useful_macs", {"useful_macs"});
    add("weight_bytes", {"weight_bytes"});
    add("useful_tops", {"useful_tops"});
    add("useful_utilization", {"useful_utilization"});
    add("tops", {"tops"});
    add("utilization", {"utilization"});
    add("weight_bytes_read", {"weight_bytes_read"});
    add("weight_reads", {"weight_reads"});
    add("item_chunks", {"item_chunks"});
    add("array_active_cycles", {"cycle_counts", "array_active"});
    add("weight_stall_cycles", {"cycle_counts", "weight_stall"});
    add("weight_shift_cycles", {"cycle_counts", "weight_shift"});
    add("non_matrix_cycles", {"cycle_counts", "non_matrix"});
    add("raw_stall_cycles", {"cycle_counts", "raw_stall"});
    add("input_stall_cycles", {"cycle_counts", "input_stall"});
    add("array_active_fraction", {"breakdown", "array_active"});
    add("weight_stall_fraction", {"breakdown", "weight_stall"});
    add("weight_shift_fraction", {"breakdown", "weight_shift"});
    add("non_matrix_fraction", {"breakdown", "non_matrix"});
    add("macs_per_weight_byte", {"ops_per_weight_byte", "macs_per_weight_byte (TPU paper)"});
    add("ops_per_weight_byte_2ops", {"ops_per_weight_byte", "ops_per_weight_byte (2 ops per MAC)"});
    add("bound", {"roofline", "bound"});
    add("attainable_tops", {"roofline", "attainable_tops"});
    add("dram_bytes", {"dram_bytes"});
    add("host_bytes", {"host_bytes"});
    add("ub_read_bytes", {"bytes", "ub_read"});
    add("ub_write_bytes", {"bytes", "ub_write"});
    add("acc_read_bytes", {"bytes", "acc_read"});
    add("acc_write_bytes", {"bytes", "acc_write"});
    add("energy_j", {"energy_j"});
    add("avg_power_w", {"avg_power_w"});
    add("tops_per_w", {"tops_per_w"});
    add("carbon_operational_g", {"carbon_g", "operational"});
    add("carbon_embodied_g", {"carbon_g", "embodied"});
    return c;
  }();
  return cols;
}

// A cell: numbers in their shortest round-trip form, text quoted as RFC 4180 wants.
std::string csv_cell(const json& v) {
  if (v.is_null()) return "";
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_number_unsigned()) return std::to_string(v.get<uint64_t>());
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  if (v.is_number_float()) return fmt::format("{}", v.get<double>());  // shortest round trip
  return csv_quote(v.is_string() ? v.get<std::string>() : v.dump());
}

uint64_t u64(const json& j, std::initializer_list<const char*> path) {
  json v = at_path(j, path);
  return v.is_number() ? v.get<uint64_t>() : 0;
}

}  // namespace

std::string layers_csv(const json& report) {
  std::string out;
  const auto& cols = csv_columns();
  for (size_t i = 0; i < cols.size(); ++i) out += (i ? "," : "") + std::string(cols[i].header);
  out += "\n";
  if (!report.contains("layers") || !report["layers"].is_array()) return out;
  for (const json& layer : report["layers"]) {
    for (size_t i = 0; i < cols.size(); ++i) out += (i ? "," : "") + csv_cell(cols[i].get(layer));
    out += "\n";
  }
  return out;
}

EventCounts counts_from_json(const json& b) {
  EventCounts n;
  for (const CountField& c : kCountFields) {
    if (c.group == CountGroup::kPerMxu) continue;
    n.*c.member = *c.block ? u64(b, {c.block, c.key}) : u64(b, {c.key});
  }
  if (b.contains("mxu_rows"))  // multi-MXU runs only (counts_json)
    for (uint32_t m = 0; m < kMaxMxus && m < b.at("mxu_rows").size(); ++m)
      n.mxu_rows(m) = b.at("mxu_rows").at(m).get<uint64_t>();
  else
    n.mxu_rows_0 = n.matmul_rows;
  return n;
}

}  // namespace tpusim
