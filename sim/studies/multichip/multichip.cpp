#include "sim/studies/multichip/multichip.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>

#include <fmt/format.h>

#include "models/carbon.h"
#include "models/energy.h"
#include "models/errors.h"
#include "models/interconnect.h"
#include "sim/compiler/lowering.h"
#include "sim/engines/fast/fast_engine.h"
#include "sim/report/report_json.h"

namespace tpusim {

using nlohmann::json;

Split resolve_split(uint64_t chips, uint64_t tp, uint64_t pp) {
  Split s;
  if (!tp && !pp) {
    s.tp = uint32_t(chips ? chips : 1);
  } else if (tp && pp) {
    s.tp = uint32_t(tp);
    s.pp = uint32_t(pp);
    if (chips && tp * pp != chips)
      s.reason = fmt::format("chips {} is not tp {} x pp {}", chips, tp, pp);
  } else {
    const uint64_t given = tp ? tp : pp;
    uint64_t other = 1;
    if (chips && chips % given != 0)
      s.reason = fmt::format("chips {} is not a multiple of {} {}", chips, tp ? "tp" : "pp", given);
    else if (chips)
      other = chips / given;
    s.tp = uint32_t(tp ? given : other);
    s.pp = uint32_t(tp ? other : given);
  }
  if (s.reason.empty() && uint64_t(s.tp) * s.pp > kMaxChips)
    s.reason = fmt::format("tp {} x pp {} is more than {} chips", s.tp, s.pp, kMaxChips);
  return s;
}

namespace {

// ---- simulation of the distinct shards ---------------------------------------------------------

struct GroupCost {
  EventCounts counts;  // one instance (useful_macs set from the lowering)
  uint64_t weight_bytes = 0;
  uint64_t kv_bytes = 0;
};

struct TpSim {
  uint32_t tp = 1;
  std::vector<uint32_t> shape_of;              // tp index -> shape
  std::vector<std::vector<GroupCost>> shapes;  // shape -> per group
  std::vector<std::vector<Collective>> collectives;
  std::vector<uint64_t> group_out_bytes;  // full group output, bytes per element 1
};

// Shard weights only (no simulation): per shape, per group.
TpSim shard_shapes(const Workload& wl, uint32_t tp, uint32_t bpe, std::vector<Workload>* shards) {
  TpSim sim;
  sim.tp = tp;
  std::map<std::string, uint32_t> seen;
  for (uint32_t i = 0; i < tp; ++i) {
    TpShard sh = shard_workload(wl, tp, i, bpe);
    if (i == 0) sim.collectives = sh.collectives;
    const std::string key = shape_signature(sh.workload);
    auto it = seen.find(key);
    if (it != seen.end()) {
      sim.shape_of.push_back(it->second);
      continue;
    }
    const uint32_t id = uint32_t(sim.shapes.size());
    seen[key] = id;
    sim.shape_of.push_back(id);
    std::vector<GroupCost> gc(sh.workload.groups.size());
    for (size_t g = 0; g < gc.size(); ++g) {
      const LayerGroup& lg = sh.workload.groups[g];
      for (const Layer& l : lg.layers) {
        gc[g].weight_bytes += l.weight_bytes();
        gc[g].kv_bytes += l.kv_bytes(lg.items);
      }
    }
    sim.shapes.push_back(std::move(gc));
    if (shards) shards->push_back(std::move(sh.workload));
  }
  for (const LayerGroup& g : wl.groups)
    sim.group_out_bytes.push_back(g.items * g.layers.back().rows_per_item *
                                  g.layers.back().out_features);
  return sim;
}

TpSim simulate_tp(const TpuConfig& cfg, const Workload& wl, uint32_t tp, uint32_t bpe) {
  std::vector<Workload> shards;
  TpSim sim = shard_shapes(wl, tp, bpe, &shards);
  for (size_t s = 0; s < shards.size(); ++s) {
    LowerOptions lo;
    lo.values = false;
    const LoweredProgram lp = lower(cfg, shards[s], lo);
    if (lp.segments.size() != shards[s].groups.size())
      throw std::logic_error("multichip: expected one segment per layer group");
    size_t first = 0;
    for (size_t g = 0; g < lp.segments.size(); ++g) {
      EngineOptions fo;
      fo.values = false;
      fo.record_timeline = false;
      EngineResult r = run_fast(cfg, lp.segments[g].program, fo);
      GroupCost& gc = sim.shapes[s][g];
      gc.counts = r.counts;
      const size_t n = shards[s].groups[g].layers.size();
      for (size_t l = first; l < first + n; ++l) gc.counts.useful_macs += lp.layers[l].useful_macs;
      first += n;
    }
  }
  return sim;
}

// Contiguous partition of `n` units into `p` stages minimizing the lexicographic maximum of
// (primary, secondary) stage sums. Returns the first unit of every stage plus n.
std::vector<size_t> partition(const std::vector<double>& primary,
                              const std::vector<double>& secondary, uint32_t p) {
  const size_t n = primary.size();
  using Key = std::pair<double, double>;
  std::vector<double> pa(n + 1, 0.0), pb(n + 1, 0.0);
  for (size_t i = 0; i < n; ++i) {
    pa[i + 1] = pa[i] + primary[i];
    pb[i + 1] = pb[i] + secondary[i];
  }
  const Key inf{std::numeric_limits<double>::infinity(), 0.0};
  // dp[k][j]: best key for the first j units in k stages; cut[k][j]: start of the last stage.
  std::vector<std::vector<Key>> dp(p + 1, std::vector<Key>(n + 1, inf));
  std::vector<std::vector<size_t>> cut(p + 1, std::vector<size_t>(n + 1, 0));
  dp[0][0] = {0.0, 0.0};
  for (uint32_t k = 1; k <= p; ++k)
    for (size_t j = k; j <= n; ++j)
      for (size_t i = k - 1; i < j; ++i) {
        if (dp[k - 1][i] == inf) continue;
        // Rounding noise in the prefix sums must not break ties between equal stages.
        const Key seg{std::round((pa[j] - pa[i]) * 1e6) / 1e6,
                      std::round((pb[j] - pb[i]) * 1e9) / 1e9};
        const Key v = std::max(dp[k - 1][i], seg);
        if (v < dp[k][j]) {
          dp[k][j] = v;
          cut[k][j] = i;
        }
      }
  std::vector<size_t> starts(p + 1, n);
  size_t j = n;
  for (uint32_t k = p; k >= 1; --k) {
    starts[k - 1] = cut[k][j];
    j = cut[k][j];
  }
  return starts;
}

struct Phase {
  std::string kind;  // "prefill" | "decode" | ""
  uint64_t batch = 1;
  uint64_t tokens_per_step = 1;  // output unit per step: prefill tokens, decode tokens, items
};

Workload micro_batch_workload(const Workload& wl, uint64_t mb_batch) {
  if (mb_batch == wl.batch) return wl;
  if (wl.file.empty())
    throw InputError(
        fmt::format("{}: micro-batching needs a workload loaded from a file", wl.name));
  WorkloadParams p;
  p.batch = mb_batch;
  if (!wl.phase.empty()) {
    p.phase = wl.phase;
    p.prompt_len = wl.prompt_len;
    p.context_len = wl.context_len;
  }
  return load_workload(wl.file, p);
}

// Caches the simulated shards per (tp, micro-batch size): PP never changes them.
class Evaluator {
 public:
  Evaluator(const TpuConfig& cfg, Workload wl, uint32_t bpe)
      : cfg_(cfg), wl_(std::move(wl)), bpe_(bpe) {}

  const Workload& workload() const { return wl_; }

  const Workload& micro(uint64_t mb) {
    auto it = micro_.find(mb);
    if (it == micro_.end()) it = micro_.emplace(mb, micro_batch_workload(wl_, mb)).first;
    return it->second;
  }
  const TpSim& sim(uint32_t tp, uint64_t mb) {
    auto key = std::make_pair(tp, mb);
    auto it = sims_.find(key);
    if (it == sims_.end()) it = sims_.emplace(key, simulate_tp(cfg_, micro(mb), tp, bpe_)).first;
    return it->second;
  }
  const TpSim& weights(uint32_t tp) {
    auto it = weights_.find(tp);
    if (it == weights_.end()) it = weights_.emplace(tp, shard_shapes(wl_, tp, bpe_, nullptr)).first;
    return it->second;
  }
  uint64_t units() const {
    uint64_t n = 0;
    for (const auto& g : wl_.groups) n += g.repeat;
    return n;
  }

 private:
  const TpuConfig& cfg_;
  Workload wl_;
  uint32_t bpe_;
  std::map<uint64_t, Workload> micro_;
  std::map<std::pair<uint32_t, uint64_t>, TpSim> sims_;
  std::map<uint32_t, TpSim> weights_;
};

std::vector<size_t> unit_groups(const Workload& wl) {
  std::vector<size_t> u;
  for (size_t g = 0; g < wl.groups.size(); ++g)
    for (uint64_t r = 0; r < wl.groups[g].repeat; ++r) u.push_back(g);
  return u;
}

// Max over shapes of a stage's weight (and K/V) bytes per chip, for the full batch.
struct StageCapacity {
  uint64_t weight_bytes = 0, kv_bytes = 0;
};

std::vector<size_t> weight_partition(const Workload& wl, const TpSim& w, uint32_t pp) {
  const auto units = unit_groups(wl);
  std::vector<double> wb(units.size()), zero(units.size(), 0.0);
  for (size_t u = 0; u < units.size(); ++u) {
    uint64_t m = 0;
    for (const auto& sh : w.shapes) m = std::max(m, sh[units[u]].weight_bytes);
    wb[u] = double(m);
  }
  return partition(wb, zero, pp);
}

std::vector<StageCapacity> stage_capacity(const Workload& wl, const TpSim& w,
                                          const std::vector<size_t>& starts) {
  const auto units = unit_groups(wl);
  std::vector<StageCapacity> out(starts.size() - 1);
  for (size_t s = 0; s + 1 < starts.size(); ++s)
    for (const auto& sh : w.shapes) {
      StageCapacity c;
      for (size_t u = starts[s]; u < starts[s + 1]; ++u) {
        c.weight_bytes += sh[units[u]].weight_bytes;
        c.kv_bytes += sh[units[u]].kv_bytes;
      }
      out[s].weight_bytes = std::max(out[s].weight_bytes, c.weight_bytes);
      out[s].kv_bytes = std::max(out[s].kv_bytes, c.kv_bytes);
    }
  return out;
}

std::string describe_units(const Workload& wl, const std::vector<size_t>& units, size_t a,
                           size_t b) {
  std::string s;
  size_t u = a;
  while (u < b) {
    size_t v = u;
    while (v < b && units[v] == units[u]) ++v;
    if (!s.empty()) s += ", ";
    s += v - u > 1 ? fmt::format("{} x{}", wl.groups[units[u]].name, v - u)
                   : wl.groups[units[u]].name;
    u = v;
  }
  return s;
}

json evaluate_fixed(const TpuConfig& cfg, Evaluator& ev, const MultiChipOptions& opt, uint32_t M);

// Checks the split; with micro_batches 0 and PP, tries every micro-batch count (divisors of the
// batch; decode: up to pp, more never shortens the period) and keeps the lowest latency, the
// fewest micro-batches on a tie within 0.1 % (each one re-reads the stage's weights).
json evaluate(const TpuConfig& cfg, Evaluator& ev, const MultiChipOptions& opt) {
  const Workload& wl = ev.workload();
  if (opt.tp == 0 || opt.pp == 0) throw InputError("tp and pp must be at least 1");
  if (opt.micro_batches || opt.pp == 1)
    return evaluate_fixed(cfg, ev, opt, opt.micro_batches ? opt.micro_batches : 1);
  const uint64_t limit = wl.phase == "decode" ? std::min<uint64_t>(wl.batch, opt.pp) : wl.batch;
  json best;
  for (uint64_t m = 1; m <= limit; ++m) {
    if (wl.batch % m != 0) continue;
    json r = evaluate_fixed(cfg, ev, opt, uint32_t(m));
    if (best.is_null() ||
        r["latency_s"].get<double>() < best["latency_s"].get<double>() * (1.0 - 1e-3))
      best = std::move(r);
  }
  best["split"]["micro_batches_chosen"] = "auto: lowest latency over the divisors of the batch";
  return best;
}

json evaluate_fixed(const TpuConfig& cfg, Evaluator& ev, const MultiChipOptions& opt, uint32_t M) {
  const Workload& wl = ev.workload();
  const uint32_t n_chips = opt.tp * opt.pp;
  if (const Split sp = resolve_split(opt.chips, opt.tp, opt.pp); !sp.reason.empty())
    throw InputError(sp.reason);
  if (opt.balance != "weights" && opt.balance != "time")
    throw InputError(fmt::format("balance '{}': allowed weights, time", opt.balance));
  const uint64_t n_units = ev.units();
  if (opt.pp > n_units)
    throw InputError(fmt::format("pp {}: {} has only {} layer-group instances to split into stages",
                                 opt.pp, wl.name, n_units));
  if (M == 0 || M > wl.batch || wl.batch % M != 0)
    throw InputError(fmt::format("micro_batches {}: must divide the batch {}", M, wl.batch));
  const uint64_t mb = wl.batch / M;
  const uint32_t T = opt.tp, P = opt.pp;
  const InterconnectConfig& ic = cfg.interconnect;
  const double hz = cfg.clock_hz();

  const TpSim& sim = ev.sim(T, mb);
  const Workload& mwl = ev.micro(mb);
  const auto units = unit_groups(mwl);
  const size_t G = mwl.groups.size();

  // Per group instance: compute time (slowest shard), collective time and energy.
  std::vector<double> g_compute(G, 0.0), g_weight(G, 0.0);
  std::vector<CollectiveCost> g_comm(G);
  for (size_t g = 0; g < G; ++g) {
    for (const auto& sh : sim.shapes) {
      g_compute[g] = std::max(g_compute[g], double(sh[g].counts.cycles) / hz);
      g_weight[g] = std::max(g_weight[g], double(sh[g].weight_bytes));
    }
    for (const Collective& c : sim.collectives[g]) g_comm[g] += collective_cost(ic, T, c);
  }
  std::vector<double> u_time(units.size()), u_weight(units.size());
  for (size_t u = 0; u < units.size(); ++u) {
    u_time[u] = g_compute[units[u]] + g_comm[units[u]].seconds;
    u_weight[u] = g_weight[units[u]];
  }
  const std::vector<size_t> starts =
      opt.balance == "weights" ? partition(u_weight, u_time, P) : partition(u_time, u_weight, P);

  // Flow-shop elements: stage 0, link 0-1, stage 1, ...
  struct Element {
    std::string name;
    double compute_s = 0.0, comm_s = 0.0, comm_j = 0.0, link_bytes = 0.0;
    double total() const { return compute_s + comm_s; }
  };
  std::vector<Element> el;
  uint64_t collectives_per_step = 0;
  uint64_t collective_bytes_per_step = 0;
  for (uint32_t s = 0; s < P; ++s) {
    Element e;
    e.name = fmt::format("stage {}", s);
    for (size_t u = starts[s]; u < starts[s + 1]; ++u) {
      const size_t g = units[u];
      e.compute_s += g_compute[g];
      e.comm_s += g_comm[g].seconds;
      e.comm_j += g_comm[g].energy_j;
      e.link_bytes += g_comm[g].link_bytes;
      collectives_per_step += sim.collectives[g].size() * M;
      for (const Collective& c : sim.collectives[g]) collective_bytes_per_step += c.bytes * M;
    }
    el.push_back(e);
    if (s + 1 < P) {
      Element l;
      l.name = fmt::format("link {}-{}", s, s + 1);
      const uint64_t bytes =
          sim.group_out_bytes[units[starts[s + 1] - 1]] * opt.collective_bytes_per_element;
      const CollectiveCost c = stage_link_cost(ic, T, bytes);
      l.comm_s = c.seconds;
      l.comm_j = c.energy_j;
      l.link_bytes = c.link_bytes;
      el.push_back(l);
    }
  }
  double sum = 0.0, mx = 0.0, comm_sum = 0.0;
  size_t bott = 0;
  for (size_t k = 0; k < el.size(); ++k) {
    sum += el[k].total();
    comm_sum += el[k].comm_s;
    if (el[k].total() > mx) {
      mx = el[k].total();
      bott = k;
    }
  }
  const bool decode = wl.phase == "decode";
  double wall = 0.0, comm_crit = 0.0;
  std::string bound;
  json path = json::array();
  if (decode) {
    if (sum >= double(M) * mx) {
      wall = sum;
      comm_crit = comm_sum;
      bound = "pipeline_latency";  // one micro-batch's trip through every stage
      for (const auto& e : el)
        path.push_back({{"element", e.name},
                        {"repeats", 1},
                        {"compute_s", e.compute_s},
                        {"comm_s", e.comm_s}});
    } else {
      wall = double(M) * mx;
      comm_crit = double(M) * el[bott].comm_s;
      bound = "bottleneck_stage";
      path.push_back({{"element", el[bott].name},
                      {"repeats", M},
                      {"compute_s", el[bott].compute_s},
                      {"comm_s", el[bott].comm_s}});
    }
  } else {
    wall = sum + double(M - 1) * mx;
    comm_crit = comm_sum + double(M - 1) * el[bott].comm_s;
    bound = M > 1 && P > 1 ? "pipeline_fill_then_bottleneck" : "sequential";
    for (size_t k = 0; k < el.size(); ++k)
      path.push_back({{"element", el[k].name},
                      {"repeats", k == bott ? M : 1},
                      {"compute_s", el[k].compute_s},
                      {"comm_s", el[k].comm_s}});
  }

  // Per chip: counts of its stage x M micro-batches; energy with static power while waiting.
  double static_w = 0.0;
  for (const auto& [k, w] : static_power_w(cfg)) static_w += w;
  const uint64_t wmem = cfg.weight_memory.bytes;
  const TpSim& wsim = ev.weights(T);
  const std::vector<StageCapacity> cap = stage_capacity(wl, wsim, starts);
  json chips = json::array();
  EventCounts all;
  double chips_j = 0.0, comm_j = 0.0, link_bytes = 0.0;
  for (const auto& e : el) {
    comm_j += e.comm_j * M;
    link_bytes += e.link_bytes * M;
  }
  bool fits = true, fits_kv = true;
  uint64_t max_chip_weight = 0, max_chip_kv = 0;
  double slowest = -1.0;
  EventCounts slowest_counts;
  for (uint32_t s = 0; s < P; ++s)
    for (uint32_t i = 0; i < T; ++i) {
      const uint32_t shape = sim.shape_of[i];
      EventCounts c;
      uint64_t wbytes = 0, kvbytes = 0;
      for (size_t u = starts[s]; u < starts[s + 1]; ++u) {
        c += sim.shapes[shape][units[u]].counts;
        wbytes += wsim.shapes[wsim.shape_of[i]][units[u]].weight_bytes;
        kvbytes += wsim.shapes[wsim.shape_of[i]][units[u]].kv_bytes;
      }
      EventCounts cm;
      for (uint32_t m = 0; m < M; ++m) cm += c;
      all += cm;
      const EnergyResult er = estimate_energy(cfg, cm);
      const double busy = double(cm.cycles) / hz;
      const double e_j = er.total_j + static_w * std::max(0.0, wall - busy);
      chips_j += e_j;
      const bool f = wbytes <= wmem, fk = wbytes + kvbytes <= wmem;
      fits = fits && f;
      fits_kv = fits_kv && fk;
      max_chip_weight = std::max(max_chip_weight, wbytes);
      max_chip_kv = std::max(max_chip_kv, kvbytes);
      if (busy > slowest) {
        slowest = busy;
        slowest_counts = cm;
      }
      chips.push_back(
          {{"chip", s * T + i},
           {"stage", s},
           {"tp_index", i},
           {"shard", shape},
           {"compute_s", busy},
           {"busy_fraction", wall > 0 ? busy / wall : 0.0},
           {"utilization",
            wall > 0 ? double(cm.useful_macs) / (double(cfg.macs_per_cycle()) * wall * hz) : 0.0},
           {"useful_macs", cm.useful_macs},
           {"energy_j", e_j},
           {"weight_bytes", wbytes},
           {"kv_bytes", kvbytes},
           {"fits", f}});
    }
  const double energy = chips_j + comm_j;

  Phase ph;
  ph.kind = wl.phase;
  ph.batch = wl.batch;
  ph.tokens_per_step = wl.phase == "prefill" ? wl.batch * wl.prompt_len : wl.batch;
  const double per_s = wall > 0 ? double(ph.tokens_per_step) / wall : 0.0;

  json stages = json::array();
  for (uint32_t s = 0; s < P; ++s)
    stages.push_back({{"stage", s},
                      {"groups", describe_units(wl, units, starts[s], starts[s + 1])},
                      {"first_unit", starts[s]},
                      {"units", starts[s + 1] - starts[s]},
                      {"compute_s", el[2 * s].compute_s},
                      {"comm_s", el[2 * s].comm_s},
                      {"weight_bytes_per_chip", cap[s].weight_bytes},
                      {"kv_bytes_per_chip", cap[s].kv_bytes}});
  json rep;
  rep["tool"] = tool_json();
  rep["arch"] = arch_json(cfg);
  rep["interconnect"] = interconnect_json(cfg);
  json wj{{"name", wl.name},           {"file", wl.file},
          {"batch", wl.batch},         {"weight_bytes", wl.weight_bytes()},
          {"kv_bytes", wl.kv_bytes()}, {"macs", wl.macs()}};
  if (!wl.phase.empty()) {
    wj["phase"] = wl.phase;
    wj["prompt_len"] = wl.prompt_len;
    wj["context_len"] = wl.context_len;
  }
  rep["workload"] = wj;
  rep["mode"] = "fast";
  rep["timing_only"] = true;
  rep["split"] = {{"chips", n_chips},
                  {"tp", T},
                  {"pp", P},
                  {"micro_batches", M},
                  {"micro_batch_size", mb},
                  {"balance", opt.balance},
                  {"collective_bytes_per_element", opt.collective_bytes_per_element},
                  {"distinct_shards_simulated", sim.shapes.size()},
                  {"stages", stages}};
  rep["latency_s"] = wall;
  rep["latency_kind"] = wl.phase == "prefill" ? "ttft" : decode ? "tpot" : "batch";
  if (wl.phase.empty()) {
    rep["items_per_s"] = per_s;
    rep["energy_per_item_j"] = energy / double(ph.tokens_per_step);
  } else {
    rep["tokens_per_s"] = per_s;
    rep["energy_per_token_j"] = energy / double(ph.tokens_per_step);
  }
  rep["energy_j"] = energy;
  rep["communication"] = {{"seconds_critical", comm_crit},
                          {"share", wall > 0 ? comm_crit / wall : 0.0},
                          {"energy_j", comm_j},
                          {"energy_share", energy > 0 ? comm_j / energy : 0.0},
                          {"link_bytes", link_bytes},
                          {"collectives", collectives_per_step},
                          {"collective_bytes", collective_bytes_per_step}};
  rep["critical_path"] = {
      {"bound", bound}, {"bottleneck", el[bott].name}, {"seconds", wall}, {"elements", path}};
  double mean_stage = 0.0;
  for (uint32_t s = 0; s < P; ++s) mean_stage += el[2 * s].total() / P;
  rep["pipeline"] = {
      {"bubble_fraction",
       wall > 0 && !decode ? std::max(0.0, 1.0 - double(M) * mean_stage / wall) : 0.0},
      {"bubble_fraction_balanced", decode ? 0.0 : double(P - 1) / double(M + P - 1)},
      {"stage_imbalance", mean_stage > 0 ? mx / mean_stage : 0.0}};
  rep["chips"] = chips;
  const uint64_t wtotal = wl.weight_bytes();
  rep["capacity"] = {{"weight_bytes", wtotal},
                     {"weight_memory_bytes", wmem},
                     {"weight_bytes_per_chip_max", max_chip_weight},
                     {"kv_bytes_per_chip_max", max_chip_kv},
                     {"fits", fits},
                     {"fits_with_kv", fits_kv},
                     {"chips_needed", (wtotal + wmem - 1) / wmem}};
  if (!fits) {
    const std::string msg = fmt::format(
        "{}: a chip of the {} x {} split holds {} weight bytes, over {}'s {} bytes of weight "
        "memory",
        wl.name, T, P, max_chip_weight, cfg.name, wmem);
    if (opt.strict_capacity) throw InputError(msg + " (strict capacity)");
    if (opt.warn) opt.warn(msg + "; simulating as a what-if");
  }
  json tot = totals_json(cfg, all);
  const CarbonResult cr = estimate_carbon(cfg, slowest_counts);
  tot["scope"] =
      "sum over chips; cycles, seconds, energy, power, TOPS and carbon are wall-clock system "
      "values";
  tot["cycles"] = uint64_t(std::llround(wall * hz));
  tot["seconds"] = wall;
  tot["chip_cycles"] = all.cycles;
  tot["energy_j"] = energy;
  tot["avg_power_w"] = wall > 0 ? energy / wall : 0.0;
  tot["tops"] = wall > 0 ? 2.0 * double(all.useful_macs) / wall / 1e12 : 0.0;
  tot["tops_per_w"] = energy > 0 ? 2.0 * double(all.useful_macs) / energy / 1e12 : 0.0;
  const double op_g = energy / 3.6e6 * cr.grid_g_per_kwh * cr.pue;
  const double emb_g =
      cr.lifetime_s > 0 ? double(n_chips) * cr.embodied_total_g * wall / cr.lifetime_s : 0.0;
  tot["carbon_g"] = {{"operational", op_g},
                     {"embodied", emb_g},
                     {"grid_g_per_kwh", cr.grid_g_per_kwh},
                     {"pue", cr.pue}};
  rep["totals"] = tot;
  rep["bottleneck_chip_totals"] = totals_json(cfg, slowest_counts);
  return rep;
}

}  // namespace

CollectiveCost collective_cost(const InterconnectConfig& ic, uint32_t tp, const Collective& c) {
  return c.kind == "all_reduce" ? all_reduce_cost(ic, tp, c.bytes)
                                : all_gather_cost(ic, tp, c.bytes);
}

CollectiveCost stage_link_cost(const InterconnectConfig& ic, uint32_t tp, uint64_t bytes) {
  CollectiveCost c = p2p_cost(ic, (bytes + tp - 1) / tp);
  c.energy_j *= tp;
  c.link_bytes *= tp;
  c += all_gather_cost(ic, tp, bytes);
  return c;
}

std::vector<StageMemory> weight_balanced_stages(const Workload& wl, uint32_t tp, uint32_t pp,
                                                uint32_t bytes_per_element) {
  if (tp == 0 || pp == 0) throw InputError("tp and pp must be at least 1");
  const auto units = unit_groups(wl);
  if (pp > units.size())
    throw InputError(fmt::format("pp {}: {} has only {} layer-group instances to split into stages",
                                 pp, wl.name, units.size()));
  const TpSim w = shard_shapes(wl, tp, bytes_per_element, nullptr);
  const std::vector<size_t> starts = weight_partition(wl, w, pp);
  const std::vector<StageCapacity> cap = stage_capacity(wl, w, starts);
  std::vector<StageMemory> out(pp);
  for (uint32_t s = 0; s < pp; ++s) {
    out[s].first_unit = starts[s];
    out[s].end_unit = starts[s + 1];
    out[s].weight_bytes = cap[s].weight_bytes;
    out[s].kv_bytes = cap[s].kv_bytes;
    out[s].group_of_unit.assign(units.begin() + long(starts[s]),
                                units.begin() + long(starts[s + 1]));
  }
  return out;
}

json run_multichip_report(const TpuConfig& cfg, const std::string& workload,
                          const WorkloadParams& params, const MultiChipOptions& opt) {
  if (opt.collective_bytes_per_element == 0 || opt.collective_bytes_per_element > 8)
    throw InputError("collective bytes per element must be in 1..8");
  Evaluator ev(cfg, load_workload(workload, params), opt.collective_bytes_per_element);
  return evaluate(cfg, ev, opt);
}

json plan_multichip(const TpuConfig& cfg, const std::string& workload, const WorkloadParams& params,
                    const PlanOptions& opt) {
  if (!(opt.slo_latency_s > 0))
    throw InputError("slo_latency must be a positive number of seconds");
  if (opt.max_chips == 0 || opt.max_chips > 4096) throw InputError("max_chips must be in 1..4096");
  Evaluator ev(cfg, load_workload(workload, params), opt.collective_bytes_per_element);
  const Workload& wl = ev.workload();
  const uint64_t wmem = cfg.weight_memory.bytes;
  json cands = json::array();
  json best;
  uint32_t found_n = 0;
  for (uint32_t n = 1; n <= opt.max_chips && !found_n; ++n) {
    for (uint32_t t = 1; t <= n; ++t) {
      if (n % t != 0) continue;
      const uint32_t p = n / t;
      if (p > ev.units()) continue;
      json c{{"chips", n}, {"tp", t}, {"pp", p}};
      try {
        // Capacity first (no simulation): weights-balanced stages must fit every chip.
        const TpSim& w = ev.weights(t);
        const auto starts = weight_partition(wl, w, p);
        uint64_t mx = 0;
        for (const auto& s : stage_capacity(wl, w, starts)) mx = std::max(mx, s.weight_bytes);
        if (mx > wmem) continue;  // not listed: most splits of a big model overflow
        MultiChipOptions mo;
        mo.tp = t;
        mo.pp = p;
        mo.micro_batches = opt.micro_batches;
        mo.balance = opt.balance;
        mo.collective_bytes_per_element = opt.collective_bytes_per_element;
        json r = evaluate(cfg, ev, mo);
        c["latency_s"] = r["latency_s"];
        c["latency_kind"] = r["latency_kind"];
        const bool llm = r.contains("tokens_per_s");
        c["throughput_per_s"] = llm ? r["tokens_per_s"] : r["items_per_s"];
        c["energy_per_unit_j"] = llm ? r["energy_per_token_j"] : r["energy_per_item_j"];
        c["comm_share"] = r["communication"]["share"];
        c["micro_batches"] = r["split"]["micro_batches"];
        c["weight_bytes_per_chip_max"] = r["capacity"]["weight_bytes_per_chip_max"];
        c["fits"] = r["capacity"]["fits"].get<bool>();
        c["meets_slo"] = c["fits"].get<bool>() && r["latency_s"].get<double>() <= opt.slo_latency_s;
        if (!c["fits"].get<bool>())
          c["why_not"] = "capacity (time-balanced stages)";
        else if (!c["meets_slo"].get<bool>())
          c["why_not"] = "latency over the SLO";
        if (c["meets_slo"].get<bool>()) {
          found_n = n;
          const auto better = [](const json& a, const json& b) {
            const double ta = a["throughput_per_s"].get<double>(),
                         tb = b["throughput_per_s"].get<double>();
            if (ta != tb) return ta > tb;
            return a["energy_per_unit_j"].get<double>() < b["energy_per_unit_j"].get<double>();
          };
          if (best.is_null() || better(c, best)) best = c;
        }
      } catch (const InputError& e) {
        c["why_not"] = e.what();
        c["meets_slo"] = false;
      }
      cands.push_back(c);
    }
  }
  json out{{"tool", tool_json()},
           {"arch", cfg.name},
           {"interconnect", interconnect_json(cfg)},
           {"workload",
            {{"name", wl.name},
             {"batch", wl.batch},
             {"phase", wl.phase},
             {"prompt_len", wl.prompt_len},
             {"context_len", wl.context_len},
             {"weight_bytes", wl.weight_bytes()}}},
           {"slo_latency_s", opt.slo_latency_s},
           {"latency_kind", wl.phase == "prefill"  ? "ttft"
                            : wl.phase == "decode" ? "tpot"
                                                   : "batch"},
           {"search",
            {{"max_chips", opt.max_chips},
             {"balance", opt.balance},
             {"chips_needed_for_weights", (wl.weight_bytes() + wmem - 1) / wmem}}},
           {"found", !best.is_null()},
           {"best", best},
           {"candidates", cands}};
  return out;
}

}  // namespace tpusim
