#include "sim/compiler/workload.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "models/data_files.h"
#include "models/errors.h"
#include "models/yaml_reader.h"
#include "sim/compiler/generators.h"
#include "sim/compiler/group_builder.h"

namespace tpusim {

namespace fs = std::filesystem;

namespace {
// The sum over every layer instance (repeats included) of f(layer, items of its group).
template <class F>
uint64_t sum_layers(const std::vector<LayerGroup>& groups, F f) {
  uint64_t n = 0;
  for (const auto& g : groups)
    for (const auto& l : g.layers) n += g.repeat * f(l, g.items);
  return n;
}
}  // namespace

uint64_t Workload::macs() const {
  return sum_layers(groups, [](const Layer& l, uint64_t items) { return l.macs(items); });
}

uint64_t Workload::weight_bytes() const {
  return sum_layers(groups, [](const Layer& l, uint64_t) { return l.weight_bytes(); });
}

uint64_t Workload::kv_bytes() const {
  return sum_layers(groups, [](const Layer& l, uint64_t items) { return l.kv_bytes(items); });
}

uint64_t Workload::layer_count() const {
  uint64_t n = 0;
  for (const auto& g : groups) n += g.repeat * g.layers.size();
  return n;
}

double Workload::ops_per_weight_byte() const {
  const uint64_t b = weight_bytes();
  return b == 0 ? 0.0 : double(macs()) / double(b);
}

namespace {

// One entry of a `layers:` list: a layer kind written in YAML, or the lstm_cell generator.
void parse_layer(YamlMap& m, GroupBuilder& b, const std::string& where) {
  std::vector<std::string> types;
  for (const LayerKindOps* k : layer_kinds())
    if (k->parse) types.push_back(k->name);
  types.push_back("lstm_cell");
  const std::string type = m.choice("type", types);
  const std::string name = m.str_or("name", "");
  const std::string input = m.str_or("input", "");
  if (const LayerKindOps* k = layer_kind_by_name(type)) {
    k->parse(m, b, name, input, where);
  } else {  // lstm_cell
    if (name.empty()) m.fail("name", "an lstm_cell needs a name");
    add_lstm_cell(b, name, m.uint("hidden", 1, 1u << 20), where);
  }
  m.finish();
}

void parse_layer_list(const YAML::Node& list, const std::string& file, const std::string& path,
                      uint64_t items, TensorShape in, std::vector<LayerGroup>& groups) {
  if (!list.IsSequence() || list.size() == 0)
    throw InputError(fmt::format("{}: key '{}': expected a non-empty list of layers", file, path));
  LayerGroup g0;
  g0.name = fmt::format("group{}", groups.size());
  g0.items = items;
  auto builder = std::make_unique<GroupBuilder>(file, g0, in);
  auto flush = [&]() {
    if (builder->group().layers.empty()) return;
    const TensorShape out = builder->out_shape();
    groups.push_back(builder->take());
    in = out;
    LayerGroup g;
    g.name = fmt::format("group{}", groups.size());
    g.items = items;
    builder = std::make_unique<GroupBuilder>(file, g, in);
  };
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string where = fmt::format("{}[{}]", path, i);
    if (!list[i].IsMap())
      throw InputError(fmt::format("{}: key '{}': expected a mapping", file, where));
    YamlMap m(list[i], file, where);
    if (m.has("repeat")) {
      flush();
      LayerGroup g;
      g.name = m.str_or("name", fmt::format("group{}", groups.size()));
      g.items = items;
      g.repeat = m.uint("repeat", 1, 1u << 20);
      GroupBuilder rb(file, g, in);
      YAML::Node sub = m.raw("layers");
      if (!sub.IsSequence() || sub.size() == 0)
        m.fail("layers", "expected a non-empty list of layers");
      for (size_t j = 0; j < sub.size(); ++j) {
        const std::string w2 = fmt::format("{}.layers[{}]", where, j);
        if (!sub[j].IsMap())
          throw InputError(fmt::format("{}: key '{}': expected a mapping", file, w2));
        YamlMap lm(sub[j], file, w2);
        parse_layer(lm, rb, w2);
      }
      m.finish();
      const TensorShape out = rb.out_shape();
      if (g.repeat > 1 && (out.features != in.features || out.rows_per_item != in.rows_per_item))
        throw InputError(fmt::format(
            "{}: key '{}': a repeated group must map its input shape to itself", file, where));
      groups.push_back(rb.take());
      in = out;
      LayerGroup ng;
      ng.name = fmt::format("group{}", groups.size());
      ng.items = items;
      builder = std::make_unique<GroupBuilder>(file, ng, in);
    } else {
      parse_layer(m, *builder, where);
    }
  }
  flush();
}

// Rejects a workload whose totals would not fit the 64-bit counters of the lowering, the engines
// and the reports: more than 2^40 rows in a layer, or more than 2^62 MACs, weight bytes or K/V
// bytes in all. Computed in 128 bits (bounds, not exact counts) so that nothing wraps before the
// check, and before the lowering allocates anything.
void check_workload_totals(const Workload& w, const std::string& file) {
  __extension__ typedef unsigned __int128 u128;
  const u128 kLimit = u128(1) << 62, kMaxRows = u128(1) << 40;
  u128 macs = 0, weights = 0, kv = 0;
  auto over = [&](const char* what, const Layer& l) {
    throw InputError(
        fmt::format("{}: layer '{}': the workload's {} exceed 2^62 (sizes too large to simulate)",
                    file, l.name, what));
  };
  for (const auto& g : w.groups) {
    for (const auto& l : g.layers) {
      const u128 rows = u128(g.items) * l.rows_per_item;
      if (rows > kMaxRows)
        throw InputError(
            fmt::format("{}: layer '{}': {} items x {} rows per item is more than 2^40 rows", file,
                        l.name, g.items, l.rows_per_item));
      const LayerBounds lb = layer_bounds(l, rows);
      const u128 lm = lb.macs, lw = lb.weight_bytes, lkv = lb.kv_bytes;
      if (lm > kLimit || lw > kLimit || lkv > kLimit) over("MACs or bytes", l);
      macs += lm * g.repeat;
      weights += lw * g.repeat;
      kv += lkv * g.repeat;
      if (macs > kLimit) over("MACs", l);
      if (weights > kLimit) over("weight bytes", l);
      if (kv > kLimit) over("K/V bytes", l);
    }
  }
}

}  // namespace

Workload parse_workload(const std::string& yaml_text, const std::string& file,
                        const WorkloadParams& params) {
  YAML::Node doc = load_yaml_text(yaml_text, file);
  if (!doc.IsMap()) throw InputError(fmt::format("{}: expected a mapping at the top level", file));
  YamlMap m(doc, file, "");
  Workload w;
  w.file = file;
  w.name = m.str("name");
  w.paper = m.str("paper");
  w.description = m.str_or("description", "");
  w.assumptions = str_list(m, "assumptions");
  w.paper_ops_per_weight_byte = m.real_or("paper_ops_per_weight_byte", 0, 0, 1e9);
  w.batch = m.uint_or("batch", 1, 1, kMaxBatch);
  const bool has_tf = m.has("transformer");
  const bool has_layers = m.has("layers");
  if (has_tf == has_layers) m.fail("layers", "give exactly one of 'layers' and 'transformer'");
  bool phased = false;
  if (has_tf) {
    YamlMap tm = m.map("transformer");
    phased = !(tm.has("encoder") && tm.node()["encoder"].IsScalar() &&
               tm.node()["encoder"].Scalar() == "true");
  }
  if (phased) {
    w.phase = m.choice_or("phase", "decode", {"prefill", "decode"});
    w.prompt_len = m.uint_or("prompt_len", 512, 1, kMaxPromptLen);
    w.context_len = m.uint_or("context_len", 1024, 1, kMaxContextLen);
  }
  if (params.batch > kMaxBatch || params.prompt_len > kMaxPromptLen ||
      params.context_len > kMaxContextLen)
    throw InputError(fmt::format(
        "{}: batch {}, prompt_len {}, context_len {}: allowed up to {}, {}, {}", file, params.batch,
        params.prompt_len, params.context_len, kMaxBatch, kMaxPromptLen, kMaxContextLen));
  if (params.batch) w.batch = params.batch;
  if (!params.phase.empty()) {
    if (!phased)
      throw InputError(fmt::format("{}: phase {}: workload '{}' has no prefill/decode phases", file,
                                   params.phase, w.name));
    if (params.phase != "prefill" && params.phase != "decode")
      throw InputError(fmt::format("phase '{}': not one of prefill, decode", params.phase));
    w.phase = params.phase;
  }
  if ((params.prompt_len || params.context_len) && !phased)
    throw InputError(
        fmt::format("{}: prompt_len/context_len: workload '{}' is not an LLM", file, w.name));
  if (params.prompt_len) w.prompt_len = params.prompt_len;
  if (params.context_len) w.context_len = params.context_len;

  if (has_tf) {
    TransformerSpec t = parse_transformer(m.map("transformer"));
    if (phased && w.context_len > t.max_context)
      throw InputError(fmt::format("{}: context_len {} exceeds the model's max_context {}", file,
                                   w.context_len, t.max_context));
    if (phased && w.prompt_len > t.max_context)
      throw InputError(fmt::format("{}: prompt_len {} exceeds the model's max_context {}", file,
                                   w.prompt_len, t.max_context));
    build_transformer(t, w);
  } else {
    TensorShape in;
    if (m.has("input")) {
      YamlMap im = m.map("input");
      in.features = im.uint("features", 1, kMaxDim);
      in.rows_per_item = im.uint_or("rows_per_item", 1, 1, kMaxDim);
      im.finish();
    }
    parse_layer_list(m.raw("layers"), file, "layers", w.batch, in, w.groups);
  }
  m.finish();
  check_workload_totals(w, file);
  return w;
}

Workload load_workload(const std::string& name_or_path, const WorkloadParams& params) {
  const std::string path = resolve_data_file(name_or_path, "workloads", "workload");
  // read_input_file: existence, regular file, size; parse_workload: encoding and syntax.
  return parse_workload(read_input_file(path), path, params);
}

std::vector<WorkloadEntry> list_workloads() {
  std::vector<WorkloadEntry> out;
  for (const std::string& name : list_data_files("workloads")) {
    YAML::Node doc =
        load_yaml_file((fs::path(data_root()) / "workloads" / (name + ".yaml")).string());
    WorkloadEntry w;
    w.name = name;
    if (doc.IsMap() && doc["paper"]) w.paper = doc["paper"].as<std::string>();
    if (doc.IsMap() && doc["description"]) w.description = doc["description"].as<std::string>();
    out.push_back(w);
  }
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.name < b.name; });
  return out;
}

}  // namespace tpusim
