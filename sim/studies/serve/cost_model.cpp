#include "sim/studies/serve/cost_model.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <optional>
#include <set>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "models/data_files.h"
#include "models/errors.h"
#include "models/yaml_reader.h"
#include "sim/compiler/baseline_ops.h"
#include "sim/compiler/lowering.h"
#include "sim/compiler/workload.h"
#include "sim/engines/fast/fast_engine.h"

namespace tpusim::serve {

namespace {

std::string model_path(const std::string& name_or_path) {
  return resolve_data_file(name_or_path, "workloads", "workload");
}

uint32_t field_u32(const YAML::Node& t, const char* key, uint32_t fallback,
                   const std::string& file) {
  if (!t[key]) {
    if (fallback) return fallback;
    throw InputError(fmt::format("{}: key 'transformer.{}' is required by serve", file, key));
  }
  uint64_t v = 0;
  if (!t[key].IsScalar() || !parse_uint_scalar(t[key].Scalar(), v) || v == 0 || v > 0xFFFFFFFFull)
    throw InputError(
        fmt::format("{}: key 'transformer.{}': expected a positive integer", file, key));
  return uint32_t(v);
}

}  // namespace

uint32_t kv_dtype_bytes(const std::string& dtype) {
  if (dtype == "int8") return 1;
  if (dtype == "fp16") return 2;
  throw InputError(fmt::format("kv_dtype {}: one of int8, fp16", dtype));
}

EventCounts scaled(const EventCounts& c, uint64_t k) {
  EventCounts out;
  for_each_count(out, c, [k](uint64_t& o, uint64_t v) { o = v * k; });
  return out;
}

EventCounts divided(const EventCounts& c, uint64_t k) {
  EventCounts out;
  for_each_count(out, c, [k](uint64_t& o, uint64_t v) { o = v / k; });
  const uint64_t matrix =
      out.array_active_cycles + out.weight_stall_cycles + out.weight_shift_cycles;
  out.cycles = std::max(out.cycles, matrix);
  out.non_matrix_cycles = out.cycles - matrix;
  out.raw_stall_cycles = std::min(out.raw_stall_cycles, out.non_matrix_cycles);
  out.input_stall_cycles =
      std::min(out.input_stall_cycles, out.non_matrix_cycles - out.raw_stall_cycles);
  return out;
}

EventCounts minus(const EventCounts& a, const EventCounts& b) {
  EventCounts out = a;
  for_each_count(out, b, [](uint64_t& o, uint64_t v) { o = o > v ? o - v : 0; });
  return out;
}

EventCounts lerp(const EventCounts& a, const EventCounts& b, uint64_t num, uint64_t den) {
  EventCounts out = a;
  for_each_count(out, b, [num, den](uint64_t& o, uint64_t v) {
    if (v > o) o += (v - o) * num / den;
  });
  return out;
}

CostModel::CostModel(const TpuConfig& cfg, const std::string& model, const CostOptions& opt)
    : cfg_(cfg), opt_(opt) {
  if (opt_.bucket == 0) throw InputError("cost bucket: must be >= 1");
  info_.kv_dtype_bytes = kv_dtype_bytes(opt_.kv_dtype);
  const std::string path = model_path(model);
  YAML::Node doc = load_yaml_file(path);
  if (!doc.IsMap() || !doc["transformer"] || !doc["transformer"].IsMap())
    throw InputError(fmt::format("{}: model: serve needs a transformer workload", path));
  YAML::Node t = doc["transformer"];
  if (t["encoder"] && t["encoder"].IsScalar() && t["encoder"].Scalar() == "true")
    throw InputError(fmt::format("{}: model: an encoder has no decode phase to serve", path));
  info_.file = path;
  info_.layers = field_u32(t, "layers", 0, path);
  info_.d_model = field_u32(t, "d_model", 0, path);
  info_.heads = field_u32(t, "heads", 0, path);
  info_.kv_heads = field_u32(t, "kv_heads", info_.heads, path);
  info_.d_head = field_u32(t, "d_head", info_.d_model / info_.heads, path);
  info_.max_context = field_u32(t, "max_context", 2048, path);
  // The model's adapter rank mix and targets (workloads/lora*.yaml), else lora_rank on q, k, v, o.
  info_.lora_targets = {"q", "k", "v", "o"};
  if (t["lora"] && t["lora"].IsMap()) {
    const YAML::Node l = t["lora"];
    if (l["ranks"] && l["ranks"].IsSequence())
      for (const auto& r : l["ranks"]) {
        uint64_t v = 0;
        if (!r.IsScalar() || !parse_uint_scalar(r.Scalar(), v) || v == 0 || v > 65536)
          throw InputError(
              fmt::format("{}: key 'transformer.lora.ranks': expected integers 1..65536", path));
        info_.lora_ranks.push_back(uint32_t(v));
      }
    if (l["targets"] && l["targets"].IsSequence()) {
      info_.lora_targets.clear();
      for (const auto& x : l["targets"]) info_.lora_targets.push_back(x.Scalar());
    }
  }
  if (info_.lora_ranks.empty()) info_.lora_ranks = {opt_.lora_rank};
  if (t["lora"]) t.remove("lora");
  YAML::Emitter em;
  em << doc;
  base_yaml_ = em.c_str();
  WorkloadParams wp;
  wp.phase = "decode";
  wp.batch = 1;
  wp.context_len = 1;
  wp.prompt_len = 1;
  Workload wl = parse_workload(base_yaml_, path, wp);
  info_.name = wl.name;
  info_.weight_bytes = wl.weight_bytes();
  if (opt_.tp == 0 || opt_.pp == 0) throw InputError("tp and pp must be at least 1");
  if (opt_.collective_bytes == 0 || opt_.collective_bytes > 8)
    throw InputError("collective_bytes: allowed 1..8");
  if (!opt_.device.empty()) {
    dev_ = load_baseline_device(opt_.device);
    if (!opt_.device_dtype.empty()) {
      const auto& names = baseline_dtypes();
      if (std::find(names.begin(), names.end(), opt_.device_dtype) == names.end())
        throw InputError(
            fmt::format("device_dtype {}: one of int8, fp16, bf16, fp32", opt_.device_dtype));
      dev_.dtype = opt_.device_dtype;
    }
    if (!(dev_.peak_ops_per_s() > 0.0))
      throw InputError(fmt::format("{}: device {} has no {} peak (device_dtype)", dev_.file,
                                   dev_.name, dev_.dtype));
    // Activations cross the device link in the device's dtype.
    opt_.collective_bytes =
        std::max<uint32_t>(opt_.collective_bytes, uint32_t(dtype_bytes(dev_.dtype)));
  } else if (!opt_.device_dtype.empty()) {
    throw InputError("device_dtype: needs a device");
  }
  // At batch 1 and context 1 a stage's K/V bytes are those of one token.
  if (opt_.parallel())
    stages_ = weight_balanced_stages(wl, opt_.tp, opt_.pp, opt_.collective_bytes);
}

uint32_t CostModel::round_up(uint64_t n) const {
  const uint64_t b = opt_.bucket;
  uint64_t r = (std::max<uint64_t>(n, 1) + b - 1) / b * b;
  return uint32_t(std::min<uint64_t>(r, info_.max_context));
}

uint32_t CostModel::token_bucket(uint64_t n) const {
  if (n >= opt_.bucket) return round_up(n);
  uint64_t p = 1;
  while (p < n) p *= 2;
  return uint32_t(std::min<uint64_t>(p, round_up(n)));
}

CostModel::Split CostModel::run(const std::string& yaml_text, const std::string& phase,
                                uint64_t batch, uint64_t prompt_len, uint64_t context_len,
                                bool head_only) {
  const auto t0 = std::chrono::steady_clock::now();
  WorkloadParams wp;
  wp.phase = phase;
  wp.batch = batch;
  wp.prompt_len = prompt_len;
  wp.context_len = context_len;
  Workload wl = parse_workload(yaml_text, info_.file, wp);
  if (head_only) {
    std::vector<LayerGroup> keep;
    for (auto& g : wl.groups)
      if (g.name == "head") keep.push_back(std::move(g));
    wl.groups = std::move(keep);
  }
  Split s = opt_.parallel()        ? simulate_parallel(wl, head_only)
            : !opt_.device.empty() ? simulate_device(wl)
                                   : simulate(wl);
  ++engine_runs_;
  engine_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return s;
}

CostModel::Split CostModel::simulate(const Workload& wl) {
  LowerOptions lo;
  lo.values = false;
  const LoweredProgram lp = lower(cfg_, wl, lo);
  Split s;
  for (const Segment& seg : lp.segments) {
    EngineOptions fo;
    fo.values = false;
    fo.record_timeline = false;
    fo.layer_of = &seg.layer_of;
    fo.layers = lp.layers.size();
    const EngineResult r = run_fast(cfg_, seg.program, fo);
    for (size_t l = 0; l < lp.layers.size(); ++l) {
      const LayerInfo& info = lp.layers[l];
      EventCounts& dst = info.kind == LayerKind::kAttention ? s.attention
                         : info.group == "head"             ? s.head
                                                            : s.dense;
      dst += scaled(r.per_layer[l], seg.repeat);
    }
  }
  for (const LayerInfo& info : lp.layers) {
    EventCounts& dst = info.kind == LayerKind::kAttention ? s.attention
                       : info.group == "head"             ? s.head
                                                          : s.dense;
    dst.useful_macs += info.useful_macs * info.repeat;
  }
  return s;
}

CostModel::Split CostModel::simulate_device(const Workload& wl) {
  // The workload cut into the three parts by layer, each part's ops timed on the device.
  Workload parts[3] = {wl, wl, wl};  // dense, attention, head
  for (int p = 0; p < 3; ++p) {
    std::vector<LayerGroup> keep;
    for (const LayerGroup& g : wl.groups) {
      LayerGroup k = g;
      k.layers.clear();
      for (const Layer& l : g.layers) {
        const int part = l.kind == LayerKind::kAttention ? 1 : g.name == "head" ? 2 : 0;
        if (part == p) k.layers.push_back(l);
      }
      if (!k.layers.empty()) keep.push_back(std::move(k));
    }
    parts[p].groups = std::move(keep);
  }
  Split s;
  EventCounts* dst[3] = {&s.dense, &s.attention, &s.head};
  for (int p = 0; p < 3; ++p) {
    const BaselineWorkload bw = baseline_workload(parts[p]);
    double seconds = 0.0, ops = 0.0;
    for (const BaselineOp& op : bw.ops) {
      seconds += roofline_op(dev_, op).seconds;
      ops += op.gemm_ops();
    }
    if (p == 0 && device_host_)
      seconds += baseline_host_s(dev_, baseline_workload(wl));  // Eq. B8, once
    EventCounts& c = *dst[p];
    c.cycles = uint64_t(std::ceil(seconds * cfg_.clock_hz()));
    c.non_matrix_cycles = c.cycles;
    c.useful_macs = uint64_t(ops / 2.0);
  }
  return s;
}

CostModel::Split CostModel::simulate_parallel(const Workload& wl, bool head_only) {
  const uint32_t tp = opt_.tp;
  Split out;
  std::vector<std::vector<Collective>> collectives;
  std::set<std::string> seen;
  for (uint32_t i = 0; i < tp; ++i) {
    TpShard sh = shard_workload(wl, tp, i, opt_.collective_bytes);
    if (!seen.insert(shape_signature(sh.workload)).second) continue;
    const Split s = opt_.device.empty() ? simulate(sh.workload) : simulate_device(sh.workload);
    if (i == 0) {
      out = s;
      collectives = std::move(sh.collectives);
      continue;
    }
    // Uneven splits: each part waits for its slowest shard.
    if (s.dense.cycles > out.dense.cycles) out.dense = s.dense;
    if (s.attention.cycles > out.attention.cycles) out.attention = s.attention;
    if (s.head.cycles > out.head.cycles) out.head = s.head;
  }
  const InterconnectConfig& ic = opt_.device.empty() ? cfg_.interconnect : opt_.device_link;
  auto charge = [&](EventCounts& dst, double& dst_j, const CollectiveCost& c, uint64_t times) {
    const uint64_t cycles = uint64_t(std::ceil(c.seconds * cfg_.clock_hz())) * times;
    dst.cycles += cycles;
    dst.non_matrix_cycles += cycles;
    dst_j += c.energy_j * double(times);
  };
  double attention_j = 0.0;  // attention runs on local heads: no collectives expected
  for (size_t g = 0; g < wl.groups.size(); ++g) {
    const LayerGroup& lg = wl.groups[g];
    for (const Collective& c : collectives[g]) {
      const Layer* after = nullptr;
      for (const Layer& l : lg.layers)
        if (l.name == c.layer) after = &l;
      const CollectiveCost cost = collective_cost(ic, tp, c);
      if (after && after->kind == LayerKind::kAttention)
        charge(out.attention, attention_j, cost, lg.repeat);
      else if (lg.name == "head")
        charge(out.head, out.head_comm_j, cost, lg.repeat);
      else
        charge(out.dense, out.dense_comm_j, cost, lg.repeat);
    }
  }
  if (!head_only)
    for (size_t s = 0; s + 1 < stages_.size(); ++s) {
      const size_t g = stages_[s].group_of_unit.back();
      if (g >= wl.groups.size()) continue;
      const LayerGroup& lg = wl.groups[g];
      const Layer& last = lg.layers.back();
      const uint64_t bytes =
          lg.items * last.rows_per_item * last.out_features * opt_.collective_bytes;
      charge(out.dense, out.dense_comm_j, stage_link_cost(ic, tp, bytes), 1);
    }
  return out;
}

const CostModel::Split& CostModel::prefill_point(uint32_t len) {
  auto it = prefill_.find(len);
  if (it == prefill_.end())
    it = prefill_.emplace(len, run(base_yaml_, "prefill", 1, len, 1, false)).first;
  return it->second;
}

double CostModel::dense_comm_j(uint64_t tokens) {
  if (!opt_.parallel()) return 0.0;
  const uint64_t chunk = info_.max_context;
  double j = 0.0;
  const uint64_t whole_chunks = tokens / chunk;
  if (tokens > chunk) j = prefill_point(uint32_t(chunk)).dense_comm_j * double(whole_chunks);
  const uint64_t rest = tokens > chunk ? tokens % chunk : tokens;
  if (rest > 0 || tokens == 0) j += prefill_point(token_bucket(rest)).dense_comm_j;
  return j;
}

EventCounts CostModel::dense(uint64_t tokens) {
  const uint64_t chunk = info_.max_context;
  EventCounts out;
  if (tokens > chunk) out = scaled(prefill_point(uint32_t(chunk)).dense, tokens / chunk);
  const uint64_t rest = tokens > chunk ? tokens % chunk : tokens;
  if (rest > 0 || tokens == 0) out += prefill_point(token_bucket(rest)).dense;
  return out;
}

const EventCounts& CostModel::prefill_attention(uint32_t prompt_len) {
  const uint32_t p = round_up(prompt_len);
  if (!opt_.causal_prefill) return prefill_point(p).attention;
  auto it = prefill_attn_.find(p);
  if (it == prefill_attn_.end()) {
    // p (p + 1) / 2 of the p^2 (query, key) pairs: counts x (p + 1) / (2 p).
    EventCounts half = divided(scaled(prefill_point(p).attention, uint64_t(p) + 1), 2ull * p);
    it = prefill_attn_.emplace(p, half).first;
  }
  return it->second;
}

const EventCounts& CostModel::decode_attention(uint32_t context_len, uint64_t batch) {
  const uint32_t c = round_up(context_len);
  uint64_t d = 1;
  while (d < std::min(batch, kDecodeAttnBatchCap)) d *= 2;
  auto it = decode_attn_.find({c, d});
  if (it == decode_attn_.end())
    it = decode_attn_
             .emplace(std::make_pair(c, d),
                      divided(run(base_yaml_, "decode", d, 1, c, false).attention, d))
             .first;
  return it->second;
}

const EventCounts& CostModel::head(uint64_t sequences) {
  const uint64_t b = opt_.bucket;
  const uint64_t s = (std::max<uint64_t>(sequences, 1) + b - 1) / b * b;
  auto it = head_.find(s);
  if (it == head_.end()) it = head_.emplace(s, run(base_yaml_, "decode", s, 1, 1, true)).first;
  return it->second.head;
}

std::string CostModel::lora_yaml(uint32_t rank, uint32_t adapters) const {
  YAML::Node doc = YAML::Load(base_yaml_);
  YAML::Node l;
  l["ranks"].push_back(rank);
  l["adapters"] = adapters;
  for (const std::string& tgt : info_.lora_targets) l["targets"].push_back(tgt);
  doc["transformer"]["lora"] = l;
  YAML::Emitter em;
  em << doc;
  return em.c_str();
}

EventCounts CostModel::lora_point(uint32_t adapters) {
  auto it = lora_.find(adapters);
  if (it != lora_.end()) return it->second;
  const Split with = run(lora_yaml(opt_.lora_rank, adapters), "decode", adapters, 1, 1, false);
  const Split without = run(base_yaml_, "decode", adapters, 1, 1, false);
  return lora_.emplace(adapters, minus(with.whole(), without.whole())).first->second;
}

EventCounts CostModel::lora_extra(uint32_t adapters) {
  if (adapters == 0) return {};
  uint32_t lo = 1;
  while (lo * 2 <= adapters) lo *= 2;
  if (lo == adapters) return lora_point(lo);
  const EventCounts a = lora_point(lo);
  const EventCounts b = lora_point(lo * 2);
  return lerp(a, b, adapters - lo, lo);
}

EventCounts CostModel::iteration(const std::vector<uint32_t>& prefill,
                                 const std::vector<uint32_t>& decode, uint32_t adapters,
                                 double* comm_j, double decode_attention_overhead) {
  uint64_t tokens = decode.size();
  for (uint32_t p : prefill) tokens += p;
  EventCounts c = dense(tokens);
  c += head(prefill.size() + decode.size());
  if (comm_j && opt_.parallel()) {
    const uint64_t b = opt_.bucket;
    const uint64_t s = (std::max<uint64_t>(prefill.size() + decode.size(), 1) + b - 1) / b * b;
    *comm_j += dense_comm_j(tokens) + head_.at(s).head_comm_j;
  }
  for (uint32_t p : prefill) c += prefill_attention(p);
  EventCounts attn;
  for (uint32_t ctx : decode) attn += decode_attention(ctx, decode.size());
  // On the chip an fp16 cache is two int8 K/V tiles per element; a device moves its own dtype.
  if (info_.kv_dtype_bytes > 1 && opt_.device.empty()) attn = scaled(attn, info_.kv_dtype_bytes);
  if (decode_attention_overhead > 0.0) {
    const uint64_t extra = uint64_t(std::ceil(double(attn.cycles) * decode_attention_overhead));
    attn.cycles += extra;
    attn.non_matrix_cycles += extra;
  }
  c += attn;
  if (adapters) c += lora_extra(adapters);
  return c;
}

EventCounts CostModel::lora_tokens_point(uint32_t rank, uint32_t tokens) {
  auto it = lora_tokens_.find({rank, tokens});
  if (it != lora_tokens_.end()) return it->second;
  // On a device the runs leave out Eq. B8's host time: the adapters' kernel launches are
  // charged once per iteration (lora_launch), since S-LoRA's kernels batch every adapter.
  device_host_ = opt_.device.empty();
  const Split with = run(lora_yaml(rank, 1), "prefill", 1, tokens, 1, false);
  const Split without =
      opt_.device.empty() ? prefill_point(tokens) : run(base_yaml_, "prefill", 1, tokens, 1, false);
  device_host_ = true;
  return lora_tokens_.emplace(std::make_pair(rank, tokens), minus(with.whole(), without.whole()))
      .first->second;
}

EventCounts CostModel::lora_tokens(uint32_t rank, uint64_t tokens) {
  if (rank == 0 || tokens == 0) return {};
  const uint64_t chunk = info_.max_context;
  EventCounts out;
  if (tokens > chunk) out = scaled(lora_tokens_point(rank, uint32_t(chunk)), tokens / chunk);
  const uint64_t rest = tokens > chunk ? tokens % chunk : tokens;
  if (rest > 0) out += lora_tokens_point(rank, token_bucket(rest));
  return out;
}

const EventCounts& CostModel::lora_launch() {
  if (!lora_launch_) {
    // Eq. B8 of a one-token run with one adapter minus without: the LoRA ops' launches.
    const Split with = run(lora_yaml(info_.lora_ranks.front(), 1), "prefill", 1, 1, 1, false);
    const Split without = run(base_yaml_, "prefill", 1, 1, 1, false);
    device_host_ = false;
    const Split with_kernels =
        run(lora_yaml(info_.lora_ranks.front(), 1), "prefill", 1, 1, 1, false);
    const Split without_kernels = run(base_yaml_, "prefill", 1, 1, 1, false);
    device_host_ = true;
    const uint64_t host_with = minus(with.dense, with_kernels.dense).cycles;
    const uint64_t host_without = minus(without.dense, without_kernels.dense).cycles;
    EventCounts c;
    c.cycles = c.non_matrix_cycles = host_with > host_without ? host_with - host_without : 0;
    lora_launch_ = c;
  }
  return *lora_launch_;
}

uint64_t CostModel::adapter_bytes(uint32_t rank) const {
  const uint64_t d = info_.d_model, hd = uint64_t(info_.heads) * info_.d_head,
                 kvd = uint64_t(info_.kv_heads) * info_.d_head;
  uint64_t elems = 0;  // per layer: A (d_in x r) + B (r x d_out) per target
  for (const std::string& tgt : info_.lora_targets) {
    if (tgt == "q") elems += (d + hd) * rank;
    if (tgt == "k" || tgt == "v") elems += (d + kvd) * rank;
    if (tgt == "o") elems += (hd + d) * rank;
  }
  const double bytes_per_elem = opt_.device.empty() ? 1.0 : dtype_bytes(dev_.dtype);
  return uint64_t(double(elems) * info_.layers * bytes_per_elem);
}

EventCounts CostModel::iteration_chunked(const std::vector<PrefillChunk>& prefill,
                                         const std::vector<uint32_t>& decode,
                                         const std::vector<LoraUse>& lora, double* comm_j) {
  uint64_t tokens = decode.size(), heads = decode.size();
  for (const PrefillChunk& p : prefill) {
    tokens += p.len;
    heads += p.last ? 1 : 0;
  }
  EventCounts c = dense(tokens);
  if (heads) c += head(heads);  // none when every chunk leaves its prompt unfinished
  if (comm_j && opt_.parallel()) {
    const uint64_t b = opt_.bucket;
    *comm_j += dense_comm_j(tokens) + (heads ? head_.at((heads + b - 1) / b * b).head_comm_j : 0.0);
  }
  for (const PrefillChunk& p : prefill) {
    if (p.offset == 0) {
      c += prefill_attention(p.len);
    } else {
      // Bucketing can make the shorter prefix cost more; minus() clamps at 0 per counter.
      const EventCounts before = prefill_attention(p.offset);
      c += minus(prefill_attention(p.offset + p.len), before);
    }
  }
  EventCounts attn;
  for (uint32_t ctx : decode) attn += decode_attention(ctx, decode.size());
  if (info_.kv_dtype_bytes > 1 && opt_.device.empty()) attn = scaled(attn, info_.kv_dtype_bytes);
  c += attn;
  for (const LoraUse& u : lora) c += lora_tokens(u.rank, u.tokens);
  if (!lora.empty() && !opt_.device.empty()) c += lora_launch();
  return c;
}

}  // namespace tpusim::serve
