#include "sim/studies/app/app_sim.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <queue>
#include <random>
#include <vector>

#include <fmt/format.h>

#include "models/errors.h"
#include "sim/studies/serve/metrics.h"

using nlohmann::json;

namespace tpusim::app {

namespace {

struct Item {
  uint64_t req;
  double ready_s;
};

enum class EvKind { kArrival, kCallDone, kTimeout };

struct Event {
  double t;
  uint64_t seq;  // ties break in creation order: deterministic
  EvKind kind;
  uint32_t stage;
  uint64_t id;  // request (arrival) or call index (call done)
  bool operator>(const Event& o) const { return t != o.t ? t > o.t : seq > o.seq; }
};

struct Call {
  uint32_t stage;
  std::vector<uint64_t> reqs;  // one entry per item
};

struct StageState {
  std::deque<Item> queue;
  uint32_t free = 0;
  double busy_s = 0.0, energy_j = 0.0, carbon_op_g = 0.0, busy_emb_g = 0.0;
  uint64_t calls = 0, items = 0, runs = 0;
  double timeout_at = -1.0;
  std::vector<double> latency_s;
};

json pct(const serve::Percentiles& p) {
  return {{"p50", p.p50}, {"p90", p.p90}, {"p99", p.p99}, {"mean", p.mean}, {"max", p.max}};
}

class Sim {
 public:
  Sim(const AppSpec& app, StageCosts& costs, const AppRunOptions& opt)
      : app_(app), costs_(costs), opt_(opt), rng_(opt.seed) {
    const size_t n = app.stages.size(), r = opt.requests;
    st_.resize(n);
    for (size_t s = 0; s < n; ++s) st_[s].free = app.stages[s].servers;
    preds_left_.assign(r * n, 0);
    items_left_.assign(r * n, 0);
    ready_.assign(r * n, 0.0);
    sinks_left_.assign(r, uint32_t(app.sinks.size()));
    arrival_.assign(r, 0.0);
    e2e_.reserve(r);
  }

  void run() {
    const size_t n = app_.stages.size();
    std::exponential_distribution<double> gap(opt_.rate);
    double t = 0.0;
    for (uint64_t r = 0; r < opt_.requests; ++r) {
      t += opt_.arrival == "poisson" ? gap(rng_) : 1.0 / opt_.rate;
      arrival_[r] = t;
      for (size_t s = 0; s < n; ++s) preds_left_[r * n + s] = uint32_t(app_.stages[s].preds.size());
    }
    // Arrivals are pushed one at a time so the heap stays small.
    if (opt_.requests) push(arrival_[0], EvKind::kArrival, 0, 0);
    while (!ev_.empty()) {
      const Event e = ev_.top();
      ev_.pop();
      now_ = e.t;
      switch (e.kind) {
        case EvKind::kArrival:
          if (e.id + 1 < opt_.requests) push(arrival_[e.id + 1], EvKind::kArrival, 0, e.id + 1);
          for (size_t s = 0; s < n; ++s)
            if (app_.stages[s].preds.empty()) stage_ready(e.id, uint32_t(s));
          break;
        case EvKind::kCallDone:
          call_done(e.id);
          break;
        case EvKind::kTimeout:
          if (st_[e.stage].timeout_at == e.t) st_[e.stage].timeout_at = -1.0;
          try_start(e.stage);
          break;
      }
    }
  }

  json report() const;

 private:
  void push(double t, EvKind k, uint32_t s, uint64_t id) { ev_.push({t, seq_++, k, s, id}); }

  void stage_ready(uint64_t r, uint32_t s) {
    const size_t n = app_.stages.size();
    const StageSpec& sp = app_.stages[s];
    ready_[r * n + s] = now_;
    bool runs = sp.items > 0;
    if (runs && sp.probability < 1.0)
      runs = std::uniform_real_distribution<double>(0, 1)(rng_) < sp.probability;
    if (!runs) {
      stage_done(r, s);
      return;
    }
    ++st_[s].runs;
    items_left_[r * n + s] = sp.items;
    for (uint64_t i = 0; i < sp.items; ++i) st_[s].queue.push_back({r, now_});
    try_start(s);
  }

  void try_start(uint32_t s) {
    StageState& q = st_[s];
    const StageSpec& sp = app_.stages[s];
    while (q.free > 0 && !q.queue.empty()) {
      const bool full = q.queue.size() >= sp.max_batch;
      const double due = q.queue.front().ready_s + sp.batch_timeout_s;
      if (!full && sp.batch_timeout_s > 0 && now_ < due - 1e-15) {
        if (q.timeout_at != due) {
          q.timeout_at = due;
          push(due, EvKind::kTimeout, s, 0);
        }
        return;
      }
      const uint32_t b = uint32_t(std::min<size_t>(sp.max_batch, q.queue.size()));
      Call c{s, {}};
      c.reqs.reserve(b);
      for (uint32_t i = 0; i < b; ++i) {
        c.reqs.push_back(q.queue.front().req);
        q.queue.pop_front();
      }
      const CallCost& cost = costs_.call(s, b);
      double secs = cost.seconds;
      if (sp.exponential && cost.seconds > 0)
        secs = std::exponential_distribution<double>(1.0 / cost.seconds)(rng_);
      const double k = cost.seconds > 0 ? secs / cost.seconds : 1.0;
      q.busy_s += secs;
      q.energy_j += cost.energy_j * k;
      q.carbon_op_g += cost.carbon_op_g * k;
      q.busy_emb_g += cost.embodied_g_per_s * secs;
      ++q.calls;
      q.items += b;
      --q.free;
      calls_.push_back(std::move(c));
      push(now_ + secs, EvKind::kCallDone, s, calls_.size() - 1);
    }
  }

  void call_done(uint64_t id) {
    const size_t n = app_.stages.size();
    Call c = std::move(calls_[id]);
    calls_[id].reqs.clear();
    calls_[id].reqs.shrink_to_fit();
    ++st_[c.stage].free;
    for (uint64_t r : c.reqs)
      if (--items_left_[r * n + c.stage] == 0) {
        st_[c.stage].latency_s.push_back(now_ - ready_[r * n + c.stage]);
        stage_done(r, c.stage);
      }
    try_start(c.stage);
  }

  void stage_done(uint64_t r, uint32_t s) {
    const size_t n = app_.stages.size();
    for (uint32_t j : app_.succs[s])
      if (--preds_left_[r * n + j] == 0) stage_ready(r, j);
    if (app_.succs[s].empty() && --sinks_left_[r] == 0) {
      e2e_.push_back(now_ - arrival_[r]);
      last_done_ = std::max(last_done_, now_);
      if (opt_.progress && (e2e_.size() % 4096 == 0 || e2e_.size() == opt_.requests))
        opt_.progress(e2e_.size(), opt_.requests);
    }
  }

  const AppSpec& app_;
  StageCosts& costs_;
  const AppRunOptions& opt_;
  std::mt19937_64 rng_;
  std::priority_queue<Event, std::vector<Event>, std::greater<Event>> ev_;
  uint64_t seq_ = 0;
  double now_ = 0.0, last_done_ = 0.0;
  std::vector<StageState> st_;
  std::vector<Call> calls_;
  std::vector<uint32_t> preds_left_, sinks_left_;
  std::vector<uint64_t> items_left_;
  std::vector<double> ready_, arrival_, e2e_;
};

json Sim::report() const {
  const size_t n = app_.stages.size();
  const double q = double(opt_.requests);
  const double span = opt_.requests ? std::max(0.0, last_done_ - arrival_[0]) : 0.0;
  json stages = json::array();
  double energy = 0.0, active = 0.0, op_g = 0.0, emb_g = 0.0, min_cap = INFINITY;
  std::string bottleneck;
  for (size_t s = 0; s < n; ++s) {
    const StageSpec& sp = app_.stages[s];
    const StageState& ss = st_[s];
    const CallCost& full = costs_.call(uint32_t(s), sp.max_batch);
    double e = ss.energy_j, op = ss.carbon_op_g, emb = ss.busy_emb_g;
    if (costs_.dedicated(uint32_t(s))) {
      const double idle_s = std::max(0.0, sp.servers * span - ss.busy_s);
      const double idle_j = costs_.idle_w(uint32_t(s)) * idle_s;
      e += idle_j;
      op += idle_j * costs_.grid_factor_g_per_j();
      emb = full.embodied_g_per_s * sp.servers * span;
    }
    // Requests per second the stage sustains at its best batch (a power of two or max_batch:
    // a full max_batch is not always the fastest per item, e.g. when a large batch no longer
    // fits the unified buffer).
    const double per_req = double(sp.items) * sp.probability;
    double cap = INFINITY;
    uint32_t best_batch = sp.max_batch;
    if (per_req > 0) {
      cap = 0.0;
      for (uint32_t b = 1;; b = std::min(2 * b, sp.max_batch)) {
        const CallCost& c = costs_.call(uint32_t(s), b);
        const double r = c.seconds > 0 ? sp.servers * double(b) / (c.seconds * per_req) : INFINITY;
        if (r > cap) {
          cap = r;
          best_batch = b;
        }
        if (b == sp.max_batch) break;
      }
    }
    if (cap < min_cap) {
      min_cap = cap;
      bottleneck = sp.name;
    }
    energy += e;
    active += ss.energy_j;
    op_g += op;
    emb_g += emb;
    json j = {{"name", sp.name},
              {"kind", kind_name(sp.kind)},
              {"servers", sp.servers},
              {"max_batch", sp.max_batch},
              {"items_per_request", sp.items},
              {"probability", sp.probability},
              {"requests_run", ss.runs},
              {"calls", ss.calls},
              {"mean_batch", ss.calls ? double(ss.items) / double(ss.calls) : 0.0},
              {"service_s_at_max_batch", full.seconds},
              {"capacity_requests_per_s", std::isfinite(cap) ? json(cap) : json(nullptr)},
              {"capacity_batch", best_batch},
              {"utilization", span > 0 ? ss.busy_s / (sp.servers * span) : 0.0},
              {"busy_s", ss.busy_s},
              {"latency_s", pct(serve::percentiles(ss.latency_s))},
              {"energy_j_per_query", e / q},
              {"active_energy_j_per_query", ss.energy_j / q},
              {"call_energy_j_at_max_batch", full.energy_j},
              {"carbon_g_per_query",
               {{"operational", op / q}, {"embodied", emb / q}, {"total", (op + emb) / q}}}};
    if (sp.kind == StageKind::kModel ||
        (sp.kind == StageKind::kRetrieval && sp.algorithm == "exact"))
      j["target"] = sp.device.empty() ? sp.arch : sp.device;
    if (sp.kind == StageKind::kModel) j["workload"] = sp.workload;
    if (sp.kind == StageKind::kRetrieval) {
      j["algorithm"] = sp.algorithm;
      if (sp.algorithm != "exact") j["freq_ghz"] = sp.freq_ghz;
    }
    stages.push_back(j);
  }
  return {
      {"tool", {{"name", "tpusim"}, {"command", "app"}}},
      {"app",
       {{"name", app_.name},
        {"file", app_.file},
        {"paper", app_.paper},
        {"description", app_.description},
        {"assumptions", app_.assumptions}}},
      {"rate_per_s", opt_.rate},
      {"requests", opt_.requests},
      {"seed", opt_.seed},
      {"arrival", opt_.arrival},
      {"span_s", span},
      {"throughput_requests_per_s", span > 0 ? q / span : 0.0},
      {"latency_s", pct(serve::percentiles(e2e_))},
      {"energy_j_per_query", energy / q},
      {"active_energy_j_per_query", active / q},
      {"carbon_g_per_query",
       {{"operational", op_g / q}, {"embodied", emb_g / q}, {"total", (op_g + emb_g) / q}}},
      {"bottleneck", bottleneck},
      {"capacity_requests_per_s", std::isfinite(min_cap) ? json(min_cap) : json(nullptr)},
      {"stages", stages},
      {"engine_runs", costs_.engine_runs()},
  };
}

}  // namespace

json run_app(const AppSpec& app, StageCosts& costs, const AppRunOptions& opt) {
  if (!(opt.rate > 0) || !std::isfinite(opt.rate))
    throw InputError(fmt::format("rate: must be > 0 requests/s, got {}", opt.rate));
  if (opt.requests < 1 || opt.requests > kMaxRequests)
    throw InputError(
        fmt::format("requests: must be in [1, {}], got {}", kMaxRequests, opt.requests));
  if (opt.arrival != "poisson" && opt.arrival != "uniform")
    throw InputError("arrival: must be poisson or uniform");
  Sim sim(app, costs, opt);
  sim.run();
  return sim.report();
}

}  // namespace tpusim::app
