#include "sim/compiler/group_builder.h"

namespace tpusim {

void fuse_conv_pools(LayerGroup& g) {
  auto readers = [&](const std::string& name) {
    size_t n = 0;
    for (const Layer& l : g.layers) {
      for (const auto& i : l.inputs) n += i == name;
      for (const auto& t : l.terms) n += t.input == name;
    }
    return n;
  };
  for (size_t i = 1; i < g.layers.size(); ++i) {
    Layer& conv = g.layers[i - 1];
    const Layer& pool = g.layers[i];
    if (pool.kind != LayerKind::kPool || pool.in_h == 0 || pool.act != ActFunction::kNone ||
        conv.kind != LayerKind::kConv2d || (conv.stride != 1 && !conv.im2col) ||
        !conv.fused_pool.empty() || pool.inputs.size() != 1 || pool.inputs[0] != conv.name ||
        readers(conv.name) != 1)
      continue;
    conv.pool = pool.pool;
    conv.pool_kh = pool.kernel_h;
    conv.pool_kw = pool.kernel_w;
    conv.pool_stride = pool.stride;
    conv.pool_stride_w = pool.stride_w ? pool.stride_w : pool.stride;
    conv.pool_pad = pool.pad;
    conv.fused_pool = pool.name;
    conv.rows_per_item = pool.rows_per_item;
    const std::string from = pool.name, to = conv.name;
    g.layers.erase(g.layers.begin() + std::ptrdiff_t(i));
    for (Layer& l : g.layers) {
      for (auto& in : l.inputs)
        if (in == from) in = to;
      for (auto& t : l.terms)
        if (t.input == from) t.input = to;
    }
    --i;
  }
}

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

Layer begin_layer(GroupBuilder& b, LayerKind kind, const std::string& name,
                  const std::string& input, const std::string& where, TensorShape& in) {
  const std::string resolved = b.resolve(input, where);
  in = b.shape(resolved);
  Layer l;
  l.name = name;
  l.kind = kind;
  l.inputs = {resolved};
  return l;
}

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
                  const std::vector<std::string>& inputs, ActFunction act,
                  const std::string& where) {
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
      throw InputError(fmt::format(
          "{}: {}: vector operands of '{}' differ in shape ({} x {} vs {} x {})", b.file(), where,
          name, s.rows_per_item, s.features, l.rows_per_item, l.out_features));
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

}  // namespace tpusim
