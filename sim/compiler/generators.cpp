#include "sim/compiler/generators.h"

#include <algorithm>
#include <utility>

#include <fmt/format.h>

#include "models/errors.h"

namespace tpusim {

// LSTM cell: four gate GEMMs over [x, h_prev] and four vector passes (sim/compiler/lowering.h says
// which products the activation unit approximates). h_prev and c_prev come from the host.
void add_lstm_cell(GroupBuilder& b, const std::string& name, uint64_t hidden,
                   const std::string& where) {
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
  b.add(make_vector(b, name + ".fc", "mul", {name + ".gate_f", name + ".c_prev"},
                    ActFunction::kNone, where),
        where);
  b.add(make_vector(b, name + ".ig", "mul", {name + ".gate_i", name + ".gate_g"},
                    ActFunction::kNone, where),
        where);
  b.add(make_vector(b, name + ".c", "add", {name + ".fc", name + ".ig"}, ActFunction::kNone, where),
        where);
  b.add(make_vector(b, name + ".h", "mul", {name + ".gate_o", name + ".c"}, ActFunction::kTanh,
                    where),
        where);
}

// The items [lo, hi) that adapter j of `a` serves when `items` rows are split evenly.
namespace {

std::pair<uint64_t, uint64_t> adapter_items(uint64_t j, uint64_t a, uint64_t items) {
  return {j * items / a, (j + 1) * items / a};
}

}  // namespace

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
      b.add(make_vector(b, "res", "add", {"o_proj", "ffn_down", "@in"}, ActFunction::kNone, wh),
            wh);
    w.groups.push_back(b.take());
  }

  // Epilogue on one token per sequence (last token, or the class token).
  if (t.head != "none") {
    LayerGroup g;
    g.name = "head";
    g.items = w.batch;
    GroupBuilder b(f, g, TensorShape{d, 1});
    b.add(make_vector(b, "ln_f", "layernorm", {"@in"}, ActFunction::kNone, "transformer"),
          "transformer");
    const uint64_t out = t.head == "lm_head" ? t.vocab : t.head_out ? t.head_out : d;
    b.add(make_fc(b, t.head, "ln_f", out,
                  t.head == "pooler" ? ActFunction::kTanh : ActFunction::kNone, "transformer"),
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
      if (s == "q")
        t.lora.q = true;
      else if (s == "k")
        t.lora.k = true;
      else if (s == "v")
        t.lora.v = true;
      else if (s == "o")
        t.lora.o = true;
      else
        l.fail("targets", "allowed targets: q, k, v, o");
    }
    l.finish();
  }
  m.finish();
  return t;
}

}  // namespace tpusim
