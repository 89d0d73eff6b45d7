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

namespace tpusim {

namespace fs = std::filesystem;

const char* layer_kind_name(LayerKind k) {
  switch (k) {
    case LayerKind::kFc: return "fc";
    case LayerKind::kConv2d: return "conv2d";
    case LayerKind::kAttention: return "attention";
    case LayerKind::kVector: return "vector";
    case LayerKind::kPool: return "pool";
    case LayerKind::kEmbedding: return "embedding";
    case LayerKind::kHostOp: return "host_op";
  }
  return "?";
}

uint64_t Layer::macs(uint64_t items) const {
  switch (kind) {
    case LayerKind::kFc: {
      uint64_t m = 0;
      for (const FcTerm& t : terms) {
        uint64_t lo = t.item_lo, hi = t.item_hi == 0 ? items : std::min(t.item_hi, items);
        uint64_t its = hi > lo ? hi - lo : 0;
        m += its * rows_per_item * t.k * t.n;
      }
      return m;
    }
    case LayerKind::kConv2d: {
      // In-bounds products only: kernel positions over the zero padding are not computed.
      auto valid = [&](uint64_t out, uint64_t in, uint64_t k) {
        uint64_t n = 0;
        for (uint64_t o = 0; o < out; ++o) {
          const int64_t i = int64_t(o * stride + k) - int64_t(pad);
          n += (i >= 0 && i < int64_t(in)) ? 1 : 0;
        }
        return n;
      };
      uint64_t pos = 0;
      for (uint64_t r = 0; r < kernel_h; ++r) {
        const uint64_t vy = valid(out_h(), in_h, r);
        for (uint64_t c = 0; c < kernel_w; ++c) pos += vy * valid(out_w(), in_w, c);
      }
      return items * pos * in_c * out_features;
    }
    case LayerKind::kAttention:
      // scores (q x d_head)(d_head x kv) + context (q x kv)(kv x d_head), per item = per query row
      return items * rows_per_item * heads * 2ull * d_head * kv_len;
    default:
      return 0;
  }
}

uint64_t Layer::weight_bytes() const {
  switch (kind) {
    case LayerKind::kFc: {
      uint64_t b = 0;
      for (const FcTerm& t : terms) b += t.k * t.n;
      return b;
    }
    case LayerKind::kConv2d:
      return uint64_t(kernel_h) * kernel_w * in_c * out_features;
    default:
      return 0;
  }
}

uint64_t Layer::kv_bytes(uint64_t items) const {
  if (kind != LayerKind::kAttention) return 0;
  const uint64_t seqs = (items * rows_per_item + q_len - 1) / q_len;
  return seqs * kv_heads * 2ull * d_head * kv_len;
}

uint64_t Workload::macs() const {
  uint64_t m = 0;
  for (const auto& g : groups)
    for (const auto& l : g.layers) m += g.repeat * l.macs(g.items);
  return m;
}

uint64_t Workload::weight_bytes() const {
  uint64_t b = 0;
  for (const auto& g : groups)
    for (const auto& l : g.layers) b += g.repeat * l.weight_bytes();
  return b;
}

uint64_t Workload::kv_bytes() const {
  uint64_t b = 0;
  for (const auto& g : groups)
    for (const auto& l : g.layers) b += g.repeat * l.kv_bytes(g.items);
  return b;
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

constexpr uint64_t kMaxDim = uint64_t(1) << 32;

struct TensorShape {
  uint64_t features = 0;
  uint64_t rows_per_item = 1;
};

ActFunction parse_act(YamlMap& m) {
  const std::string a = m.choice_or("act", "none", {"none", "relu", "sigmoid", "tanh"});
  if (a == "relu") return ActFunction::kRelu;
  if (a == "sigmoid") return ActFunction::kSigmoid;
  if (a == "tanh") return ActFunction::kTanh;
  return ActFunction::kNone;
}

std::vector<std::string> str_list(YamlMap& m, const std::string& key) {
  std::vector<std::string> out;
  YAML::Node n = m.raw(key);
  if (!n) return out;
  if (!n.IsSequence()) m.fail(key, "expected a list of strings");
  for (const auto& e : n) {
    if (!e.IsScalar()) m.fail(key, "expected a list of strings");
    out.push_back(e.Scalar());
  }
  return out;
}

// Builds one group at a time, tracking the shape of every named tensor so that each layer is
// checked against its inputs (features and rows per item must agree).
class GroupBuilder {
 public:
  GroupBuilder(std::string file, LayerGroup g, TensorShape in) : file_(std::move(file)), g_(std::move(g)) {
    g_.in_features = in.features;
    g_.in_rows_per_item = in.rows_per_item;
    if (in.features) shapes_["@in"] = in;
    prev_ = in.features ? "@in" : "";
  }

  // Resolves "" to the previous tensor; fails when the name is unknown.
  std::string resolve(const std::string& name, const std::string& where) const {
    const std::string n = name.empty() ? prev_ : name;
    if (n.empty() || !shapes_.count(n))
      throw InputError(fmt::format("{}: {}: input '{}' is not an earlier layer of group '{}'", file_,
                                   where, name.empty() ? "(previous)" : name, g_.name));
    return n;
  }
  TensorShape shape(const std::string& resolved) const { return shapes_.at(resolved); }
  const std::string& prev() const { return prev_; }
  bool has_prev() const { return !prev_.empty(); }

  void add(Layer l, const std::string& where) {
    if (l.name.empty()) l.name = fmt::format("{}{}", layer_kind_name(l.kind), g_.layers.size());
    if (shapes_.count(l.name))
      throw InputError(fmt::format("{}: {}: duplicate layer name '{}'", file_, where, l.name));
    if (l.out_features == 0 || l.out_features >= kMaxDim)
      throw InputError(fmt::format("{}: {}: layer '{}' has {} output features (allowed 1..2^32)",
                                   file_, where, l.name, l.out_features));
    shapes_[l.name] = TensorShape{l.out_features, l.rows_per_item};
    prev_ = l.name;
    g_.layers.push_back(std::move(l));
  }
  TensorShape out_shape() const { return shapes_.at(prev_); }
  LayerGroup take() { return std::move(g_); }
  const std::string& file() const { return file_; }
  LayerGroup& group() { return g_; }

 private:
  std::string file_;
  LayerGroup g_;
  std::map<std::string, TensorShape> shapes_;
  std::string prev_;
};

Layer make_fc(GroupBuilder& b, const std::string& name, const std::string& input, uint64_t out,
              ActFunction act, const std::string& where) {
  const std::string in = b.resolve(input, where);
  Layer l;
  l.name = name;
  l.kind = LayerKind::kFc;
  l.out_features = out;
  l.act = act;
  l.rows_per_item = b.shape(in).rows_per_item;
  l.terms.push_back(FcTerm{in, 0, b.shape(in).features, 0, out, 0, 0});
  return l;
}

Layer make_vector(GroupBuilder& b, const std::string& name, const std::string& op,
                  const std::vector<std::string>& inputs, ActFunction act, const std::string& where) {
  Layer l;
  l.name = name;
  l.kind = LayerKind::kVector;
  l.op = op;
  l.act = act;
  for (const auto& i : inputs) {
    const std::string r = b.resolve(i, where);
    const TensorShape s = b.shape(r);
    if (l.inputs.empty()) {
      l.out_features = s.features;
      l.rows_per_item = s.rows_per_item;
    } else if (s.features != l.out_features || s.rows_per_item != l.rows_per_item) {
      throw InputError(fmt::format("{}: {}: vector operands of '{}' differ in shape ({} x {} vs {} x {})",
                                   b.file(), where, name, s.rows_per_item, s.features,
                                   l.rows_per_item, l.out_features));
    }
    l.inputs.push_back(r);
  }
  return l;
}

Layer make_host_read(const std::string& name, uint64_t features, uint64_t rows_per_item,
                     uint64_t vocab) {
  Layer l;
  l.name = name;
  l.kind = LayerKind::kEmbedding;
  l.out_features = features;
  l.rows_per_item = rows_per_item;
  l.vocab = vocab;
  return l;
}

// LSTM cell: four gate GEMMs over [x, h_prev] and four vector passes (sim/compiler/lowering.h says which
// products the activation unit approximates). h_prev and c_prev come from the host.
void add_lstm_cell(GroupBuilder& b, const std::string& name, uint64_t hidden, const std::string& where) {
  const std::string x = b.resolve("", where);
  const TensorShape xs = b.shape(x);
  b.add(make_host_read(name + ".h_prev", hidden, xs.rows_per_item, 0), where);
  b.add(make_host_read(name + ".c_prev", hidden, xs.rows_per_item, 0), where);
  const char* gates[4] = {"i", "f", "g", "o"};
  for (int k = 0; k < 4; ++k) {
    Layer l;
    l.name = name + ".gate_" + gates[k];
    l.kind = LayerKind::kFc;
    l.out_features = hidden;
    l.rows_per_item = xs.rows_per_item;
    l.act = k == 2 ? ActFunction::kTanh : ActFunction::kSigmoid;
    l.terms.push_back(FcTerm{x, 0, xs.features, 0, hidden, 0, 0});
    l.terms.push_back(FcTerm{name + ".h_prev", 0, hidden, 0, hidden, 0, 0});
    b.add(std::move(l), where);
  }
  b.add(make_vector(b, name + ".fc", "mul", {name + ".gate_f", name + ".c_prev"}, ActFunction::kNone, where), where);
  b.add(make_vector(b, name + ".ig", "mul", {name + ".gate_i", name + ".gate_g"}, ActFunction::kNone, where), where);
  b.add(make_vector(b, name + ".c", "add", {name + ".fc", name + ".ig"}, ActFunction::kNone, where), where);
  b.add(make_vector(b, name + ".h", "mul", {name + ".gate_o", name + ".c"}, ActFunction::kTanh, where), where);
}

void parse_layer(YamlMap& m, GroupBuilder& b, const std::string& where) {
  const std::string type = m.choice(
      "type", {"fc", "conv2d", "pool", "vector", "host_op", "embedding", "lstm_cell"});
  const std::string name = m.str_or("name", "");
  const std::string input = m.str_or("input", "");
  if (type == "fc") {
    const std::string in = b.resolve(input, where);
    if (m.has("in") && m.uint("in", 1, kMaxDim) != b.shape(in).features)
      m.fail("in", fmt::format("must equal the input's {} features", b.shape(in).features));
    const uint64_t out = m.uint("out", 1, kMaxDim);
    b.add(make_fc(b, name, in, out, parse_act(m), where), where);
  } else if (type == "conv2d") {
    const std::string in = b.resolve(input, where);
    const TensorShape s = b.shape(in);
    Layer l;
    l.name = name;
    l.kind = LayerKind::kConv2d;
    l.in_h = uint32_t(m.uint("in_h", 1, 1u << 16));
    l.in_w = uint32_t(m.uint("in_w", 1, 1u << 16));
    l.in_c = uint32_t(m.uint_or("in_c", s.features, 1, 1u << 20));
    if (l.in_c != s.features)
      m.fail("in_c", fmt::format("must equal the input's {} features", s.features));
    if (uint64_t(l.in_h) * l.in_w != s.rows_per_item)
      m.fail("in_h", fmt::format("in_h x in_w = {} must equal the input's {} rows per image",
                                 uint64_t(l.in_h) * l.in_w, s.rows_per_item));
    l.out_features = m.uint("out_c", 1, 1u << 20);
    const uint64_t k = m.uint_or("kernel", 1, 1, 64);
    l.kernel_h = uint32_t(m.uint_or("kernel_h", k, 1, 64));
    l.kernel_w = uint32_t(m.uint_or("kernel_w", k, 1, 64));
    l.stride = uint32_t(m.uint_or("stride", 1, 1, 16));
    l.pad = uint32_t(m.uint_or("pad", 0, 0, 32));
    if (l.in_h + 2 * l.pad < l.kernel_h || l.in_w + 2 * l.pad < l.kernel_w)
      m.fail("kernel", "kernel larger than the padded input");
    l.act = parse_act(m);
    l.inputs = {in};
    l.rows_per_item = uint64_t(l.out_h()) * l.out_w();
    b.add(std::move(l), where);
  } else if (type == "pool") {
    const std::string in = b.resolve(input, where);
    const TensorShape s = b.shape(in);
    Layer l;
    l.name = name;
    l.kind = LayerKind::kPool;
    l.window = uint32_t(m.uint("window", 2, 16));
    if ((l.window & (l.window - 1)) != 0) m.fail("window", "must be a power of two in 2..16");
    if (s.rows_per_item % l.window != 0)
      m.fail("window", fmt::format("must divide the input's {} rows per item", s.rows_per_item));
    l.pool = m.choice_or("kind", "max", {"max", "avg"}) == "max" ? PoolKind::kMax : PoolKind::kAvg;
    l.act = parse_act(m);
    l.inputs = {in};
    l.out_features = s.features;
    l.rows_per_item = s.rows_per_item / l.window;
    b.add(std::move(l), where);
  } else if (type == "vector") {
    std::vector<std::string> ins = str_list(m, "inputs");
    if (ins.empty()) ins = {input};
    const std::string op =
        m.choice_or("op", "add", {"add", "mul", "softmax", "layernorm", "gate", "copy"});
    b.add(make_vector(b, name.empty() ? op + std::to_string(b.group().layers.size()) : name, op,
                      ins, parse_act(m), where),
          where);
  } else if (type == "host_op") {
    const std::string in = b.resolve(input, where);
    const TensorShape s = b.shape(in);
    Layer l;
    l.name = name;
    l.kind = LayerKind::kHostOp;
    l.op = m.str_or("op", "host");
    l.inputs = {in};
    l.out_features = m.uint_or("out_features", s.features, 1, kMaxDim);
    l.rows_per_item = m.uint_or("out_rows_per_item", s.rows_per_item, 1, kMaxDim);
    b.add(std::move(l), where);
  } else if (type == "embedding") {
    b.add(make_host_read(name, m.uint("features", 1, kMaxDim), m.uint_or("rows_per_item", 1, 1, kMaxDim),
                         m.uint_or("vocab", 0, 0, kMaxDim)),
          where);
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
    if (!list[i].IsMap()) throw InputError(fmt::format("{}: key '{}': expected a mapping", file, where));
    YamlMap m(list[i], file, where);
    if (m.has("repeat")) {
      flush();
      LayerGroup g;
      g.name = m.str_or("name", fmt::format("group{}", groups.size()));
      g.items = items;
      g.repeat = m.uint("repeat", 1, 1u << 20);
      GroupBuilder rb(file, g, in);
      YAML::Node sub = m.raw("layers");
      if (!sub.IsSequence() || sub.size() == 0) m.fail("layers", "expected a non-empty list of layers");
      for (size_t j = 0; j < sub.size(); ++j) {
        const std::string w2 = fmt::format("{}.layers[{}]", where, j);
        if (!sub[j].IsMap()) throw InputError(fmt::format("{}: key '{}': expected a mapping", file, w2));
        YamlMap lm(sub[j], file, w2);
        parse_layer(lm, rb, w2);
      }
      m.finish();
      const TensorShape out = rb.out_shape();
      if (g.repeat > 1 && (out.features != in.features || out.rows_per_item != in.rows_per_item))
        throw InputError(fmt::format("{}: key '{}': a repeated group must map its input shape to itself", file, where));
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

// ---- transformer generator ------------------------------------------------------------------

struct LoraSpec {
  std::vector<uint64_t> ranks;
  uint64_t adapters = 0;
  bool q = false, k = false, v = false, o = false;
};

struct TransformerSpec {
  uint64_t layers = 0, d_model = 0, heads = 0, kv_heads = 0, d_head = 0, d_ff = 0, vocab = 0;
  uint64_t max_context = 0;
  std::string ffn;    // gelu | relu | swiglu
  std::string block;  // sequential | parallel
  bool encoder = false;
  uint64_t seq_len = 0;          // encoders: tokens per example
  uint64_t patch_k = 0, patch_tokens = 0;  // vision: patch embedding GEMM
  std::string head;   // lm_head | classifier | projection | pooler | none
  uint64_t head_out = 0;
  LoraSpec lora;
};

// The items [lo, hi) that adapter j of `a` serves when `items` rows are split evenly.
std::pair<uint64_t, uint64_t> adapter_items(uint64_t j, uint64_t a, uint64_t items) {
  return {j * items / a, (j + 1) * items / a};
}

void build_transformer(const TransformerSpec& t, Workload& w) {
  const std::string& f = w.file;
  const bool decode = !t.encoder && w.phase == "decode";
  const uint64_t q_len = t.encoder ? t.seq_len : decode ? 1 : w.prompt_len;
  const uint64_t kv_len = t.encoder ? t.seq_len : decode ? w.context_len : w.prompt_len;
  const uint64_t tokens = w.batch * q_len;
  const uint64_t d = t.d_model, hd = t.heads * t.d_head, kvd = t.kv_heads * t.d_head;
  const uint64_t qkv = hd + 2 * kvd;

  // Prologue: token embedding (host gather) or patch embedding GEMM.
  {
    LayerGroup g;
    g.name = "embed";
    if (t.patch_k) {
      g.items = w.batch * t.patch_tokens;
      GroupBuilder b(f, g, TensorShape{t.patch_k, 1});
      b.add(make_fc(b, "patch_embed", "", d, ActFunction::kNone, "transformer"), "transformer");
      w.groups.push_back(b.take());
    } else {
      g.items = tokens;
      GroupBuilder b(f, g, TensorShape{0, 1});
      b.add(make_host_read("token_embed", d, 1, t.vocab), "transformer");
      w.groups.push_back(b.take());
    }
  }

  // Decoder / encoder layers.
  {
    LayerGroup g;
    g.name = "layer";
    g.items = tokens;
    g.repeat = t.layers;
    GroupBuilder b(f, g, TensorShape{d, 1});
    const std::string wh = "transformer";
    const uint64_t na = t.lora.adapters ? std::min(t.lora.adapters, tokens) : 0;
    auto rank = [&](uint64_t j) { return t.lora.ranks[j % t.lora.ranks.size()]; };
    uint64_t max_rank = 0;
    for (uint64_t j = 0; j < na; ++j) max_rank = std::max(max_rank, rank(j));
    const uint64_t qkv_targets = uint64_t(t.lora.q) + t.lora.k + t.lora.v;

    b.add(make_vector(b, "ln1", "layernorm", {"@in"}, ActFunction::kNone, wh), wh);
    if (na && qkv_targets) {
      Layer a;
      a.name = "lora_a_qkv";
      a.kind = LayerKind::kFc;
      a.out_features = qkv_targets * max_rank;
      for (uint64_t j = 0; j < na; ++j) {
        auto [lo, hi] = adapter_items(j, na, tokens);
        a.terms.push_back(FcTerm{"ln1", 0, d, 0, qkv_targets * rank(j), lo, hi});
      }
      b.add(std::move(a), wh);
    }
    Layer qkvl = make_fc(b, "qkv", "ln1", qkv, ActFunction::kNone, wh);
    if (na && qkv_targets) {
      for (uint64_t j = 0; j < na; ++j) {
        auto [lo, hi] = adapter_items(j, na, tokens);
        uint64_t slot = 0;
        const std::pair<bool, std::pair<uint64_t, uint64_t>> outs[3] = {
            {t.lora.q, {0, hd}}, {t.lora.k, {hd, kvd}}, {t.lora.v, {hd + kvd, kvd}}};
        for (const auto& o : outs) {
          if (!o.first) continue;
          qkvl.terms.push_back(FcTerm{"lora_a_qkv", slot * rank(j), rank(j), o.second.first,
                                      o.second.second, lo, hi});
          ++slot;
        }
      }
    }
    b.add(std::move(qkvl), wh);
    {
      Layer a;
      a.name = "attn";
      a.kind = LayerKind::kAttention;
      a.inputs = {"qkv"};
      a.heads = uint32_t(t.heads);
      a.kv_heads = uint32_t(t.kv_heads);
      a.d_head = uint32_t(t.d_head);
      a.q_len = q_len;
      a.kv_len = kv_len;
      a.out_features = hd;
      b.add(std::move(a), wh);
    }
    if (na && t.lora.o) {
      Layer a;
      a.name = "lora_a_o";
      a.kind = LayerKind::kFc;
      a.out_features = max_rank;
      for (uint64_t j = 0; j < na; ++j) {
        auto [lo, hi] = adapter_items(j, na, tokens);
        a.terms.push_back(FcTerm{"attn", 0, hd, 0, rank(j), lo, hi});
      }
      b.add(std::move(a), wh);
    }
    Layer ol = make_fc(b, "o_proj", "attn", d, ActFunction::kNone, wh);
    if (na && t.lora.o) {
      for (uint64_t j = 0; j < na; ++j) {
        auto [lo, hi] = adapter_items(j, na, tokens);
        ol.terms.push_back(FcTerm{"lora_a_o", 0, rank(j), 0, d, lo, hi});
      }
    }
    b.add(std::move(ol), wh);
    std::string ffn_in = "ln1";
    if (t.block == "sequential") {
      b.add(make_vector(b, "res1", "add", {"o_proj", "@in"}, ActFunction::kNone, wh), wh);
      b.add(make_vector(b, "ln2", "layernorm", {"res1"}, ActFunction::kNone, wh), wh);
      ffn_in = "ln2";
    }
    if (t.ffn == "swiglu") {
      b.add(make_fc(b, "ffn_gate", ffn_in, t.d_ff, ActFunction::kSigmoid, wh), wh);
      b.add(make_fc(b, "ffn_up", ffn_in, t.d_ff, ActFunction::kNone, wh), wh);
      b.add(make_vector(b, "ffn_mul", "mul", {"ffn_gate", "ffn_up"}, ActFunction::kNone, wh), wh);
      b.add(make_fc(b, "ffn_down", "ffn_mul", d, ActFunction::kNone, wh), wh);
    } else {
      b.add(make_fc(b, "ffn_up", ffn_in, t.d_ff, ActFunction::kRelu, wh), wh);
      b.add(make_fc(b, "ffn_down", "ffn_up", d, ActFunction::kNone, wh), wh);
    }
    if (t.block == "sequential")
      b.add(make_vector(b, "res2", "add", {"ffn_down", "res1"}, ActFunction::kNone, wh), wh);
    else
      b.add(make_vector(b, "res", "add", {"o_proj", "ffn_down", "@in"}, ActFunction::kNone, wh), wh);
    w.groups.push_back(b.take());
  }

  // Epilogue on one token per sequence (last token, or the class token).
  if (t.head != "none") {
    LayerGroup g;
    g.name = "head";
    g.items = w.batch;
    GroupBuilder b(f, g, TensorShape{d, 1});
    b.add(make_vector(b, "ln_f", "layernorm", {"@in"}, ActFunction::kNone, "transformer"), "transformer");
    const uint64_t out = t.head == "lm_head" ? t.vocab : t.head_out ? t.head_out : d;
    b.add(make_fc(b, t.head, "ln_f", out, t.head == "pooler" ? ActFunction::kTanh : ActFunction::kNone,
                  "transformer"),
          "transformer");
    w.groups.push_back(b.take());
  }
}

TransformerSpec parse_transformer(YamlMap m) {
  TransformerSpec t;
  t.layers = m.uint("layers", 1, 1024);
  t.d_model = m.uint("d_model", 1, 1u << 20);
  t.heads = m.uint("heads", 1, 4096);
  t.kv_heads = m.uint_or("kv_heads", t.heads, 1, t.heads);
  if (t.heads % t.kv_heads != 0) m.fail("kv_heads", "must divide heads");
  t.d_head = m.uint_or("d_head", t.d_model / t.heads, 1, 4096);
  t.d_ff = m.uint("d_ff", 1, 1u << 22);
  t.vocab = m.uint_or("vocab", 0, 0, 1u << 24);
  t.max_context = m.uint_or("max_context", 2048, 1, 1u << 24);
  t.ffn = m.choice_or("ffn", "gelu", {"gelu", "relu", "swiglu"});
  t.block = m.choice_or("block", "sequential", {"sequential", "parallel"});
  t.encoder = m.boolean_or("encoder", false);
  if (t.encoder) t.seq_len = m.uint("seq_len", 1, 1u << 20);
  if (m.has("patch_embed")) {
    YamlMap p = m.map("patch_embed");
    t.patch_k = p.uint("k", 1, 1u << 20);
    t.patch_tokens = p.uint("tokens", 1, 1u << 20);
    p.finish();
  }
  t.head = m.choice_or("head", t.encoder ? "pooler" : "lm_head",
                       {"lm_head", "classifier", "projection", "pooler", "none"});
  t.head_out = m.uint_or("head_out", 0, 0, 1u << 24);
  if (t.head == "lm_head" && t.vocab == 0) m.fail("vocab", "an lm_head needs the vocabulary size");
  if (m.has("lora")) {
    YamlMap l = m.map("lora");
    YAML::Node r = l.raw("ranks");
    if (!r.IsSequence() || r.size() == 0) l.fail("ranks", "expected a non-empty list of ranks");
    for (const auto& e : r) {
      uint64_t v = 0;
      if (!e.IsScalar() || !parse_uint_scalar(e.Scalar(), v) || v == 0 || v > t.d_model)
        l.fail("ranks", fmt::format("ranks must be integers in 1..{}", t.d_model));
      t.lora.ranks.push_back(v);
    }
    t.lora.adapters = l.uint("adapters", 1, 1u << 20);
    std::vector<std::string> targets = str_list(l, "targets");
    if (targets.empty()) targets = {"q", "k", "v", "o"};
    for (const auto& s : targets) {
      if (s == "q") t.lora.q = true;
      else if (s == "k") t.lora.k = true;
      else if (s == "v") t.lora.v = true;
      else if (s == "o") t.lora.o = true;
      else l.fail("targets", "allowed targets: q, k, v, o");
    }
    l.finish();
  }
  m.finish();
  return t;
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
    throw InputError(fmt::format("{}: layer '{}': the workload's {} exceed 2^62 (sizes too large to simulate)",
                                 file, l.name, what));
  };
  for (const auto& g : w.groups) {
    for (const auto& l : g.layers) {
      const u128 rows = u128(g.items) * l.rows_per_item;
      if (rows > kMaxRows)
        throw InputError(fmt::format("{}: layer '{}': {} items x {} rows per item is more than 2^40 rows",
                                     file, l.name, g.items, l.rows_per_item));
      u128 lm = 0, lw = 0, lkv = 0;
      switch (l.kind) {
        case LayerKind::kFc:
          for (const FcTerm& t : l.terms) {
            lm += rows * t.k * t.n;
            lw += u128(t.k) * t.n;
          }
          break;
        case LayerKind::kConv2d:
          lw = u128(l.kernel_h) * l.kernel_w * l.in_c * l.out_features;
          lm = rows * lw;
          break;
        case LayerKind::kAttention:
          lkv = (rows + 1) * l.kv_heads * 2u * l.d_head * l.kv_len;
          lm = rows * l.heads * l.d_head * (u128(l.kv_len) + 1) * 2u;
          break;
        default:
          lm = rows * l.out_features;
          break;
      }
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
  if (params.batch > kMaxBatch || params.prompt_len > kMaxPromptLen || params.context_len > kMaxContextLen)
    throw InputError(fmt::format("{}: batch {}, prompt_len {}, context_len {}: allowed up to {}, {}, {}", file,
                                 params.batch, params.prompt_len, params.context_len, kMaxBatch,
                                 kMaxPromptLen, kMaxContextLen));
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
    throw InputError(fmt::format("{}: prompt_len/context_len: workload '{}' is not an LLM", file, w.name));
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
    YAML::Node doc = load_yaml_file((fs::path(data_root()) / "workloads" / (name + ".yaml")).string());
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
