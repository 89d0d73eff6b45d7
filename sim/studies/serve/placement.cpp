#include "sim/studies/serve/placement.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <queue>
#include <stdexcept>
#include <tuple>

#include <fmt/format.h>

#include "models/config.h"
#include "models/errors.h"
#include "sim/report/report_json.h"
#include "sim/studies/serve/serve_study.h"

namespace tpusim::serve {

std::string Placement::name() const {
  if (colocated) return fmt::format("colocated tp{} pp{}", prefill.tp, prefill.pp);
  return fmt::format("{} x prefill tp{} pp{} + {} x decode tp{} pp{}", prefill_instances,
                     prefill.tp, prefill.pp, decode_instances, decode.tp, decode.pp);
}

double layerwise_transfer_end_s(double compute_start_s, double compute_s, uint32_t layers,
                                uint64_t bytes, double bytes_per_s, double link_free_s) {
  const uint32_t n = std::max<uint32_t>(layers, 1);
  const double per_layer_s = double(bytes) / n / bytes_per_s;
  double end = link_free_s;
  for (uint32_t l = 0; l < n; ++l) {
    const double ready = compute_start_s + compute_s * double(l + 1) / n;
    end = std::max(end, ready) + per_layer_s;
  }
  return end;
}

namespace {

enum class Ev {
  kArrival,
  kPrefillDone,
  kPrefillRetry,
  kDecodeDone,
  kDecodeRetry,
  kKvArrived,
  kHeldRelease
};

struct Event {
  double t;
  uint64_t seq;  // insertion order: ties are processed first in, first out (deterministic)
  Ev kind;
  size_t a, b;  // instance index, request index or batch id (by kind)
  bool operator>(const Event& o) const { return std::tie(t, seq) > std::tie(o.t, o.seq); }
};

struct PrefillInst {
  std::deque<size_t> queue;
  uint64_t queued_tokens = 0;
  uint64_t held_tokens = 0;  // K/V on the instance: its batches, and prefilled K/V not yet sent
  // Batches in flight, at most pp (one per stage: pipelined across batches), by id.
  std::map<size_t, std::vector<size_t>> batches;
  std::vector<double> stage_free;  // each stage's end of its latest batch
  bool retry_pending = false;      // a kPrefillRetry is queued for when stage 0 frees
  double link_free = 0.0;
  ChipUsage usage{"prefill", {}, 0.0, 0, 0.0};
};

struct DecodeInst {
  // pp batch slots (one per stage in flight, as Orca's pipelining): each slot's requests step
  // together; a slot is busy while its iteration crosses the stages.
  std::vector<std::vector<size_t>> slots;
  std::vector<char> slot_busy;
  std::vector<double> stage_free;  // each stage's end of its latest iteration
  bool retry_pending = false;      // a kDecodeRetry is queued for when stage 0 frees
  std::deque<size_t> waiting;      // K/V arrived (or preempted: to recompute), joining FCFS
  uint64_t used_blocks = 0;        // allocated to requests on the instance
  uint64_t inflight_blocks = 0;    // reserved for K/V on its way
  ChipUsage usage{"decode", {}, 0.0, 0, 0.0};
};

}  // namespace

DistServeResult simulate_distserve(const std::vector<Request>& trace, CostModel& prefill_cost,
                                   CostModel& decode_cost, const DistServeOptions& opt) {
  const SchedulerOptions& so = opt.sched;
  if (opt.prefill_instances == 0 || opt.decode_instances == 0)
    throw InputError("placement: prefill and decode instances must be >= 1");
  if (so.max_batch == 0) throw InputError("max_batch: must be >= 1");
  if (so.block_size == 0) throw InputError("block_size: must be >= 1");
  if (!(so.kv_link_gb_s > 0.0) || !std::isfinite(so.kv_link_gb_s))
    throw InputError(fmt::format("kv_link_gb_s {}: must be a finite number > 0", so.kv_link_gb_s));
  if (so.lora) throw InputError("placement: LoRA adapters are not modelled on disaggregated runs");
  const ModelInfo& m = decode_cost.model();
  for (size_t i = 0; i < trace.size(); ++i) {
    const Request& r = trace[i];
    if (i > 0 && r.arrival_s < trace[i - 1].arrival_s)
      throw InputError("trace: requests must be sorted by arrival");
    if (r.width != 1)
      throw InputError(fmt::format(
          "request {}: {} sequences: disaggregated placements serve one sequence per request", r.id,
          r.width));
    if (r.prompt_len < 1 || r.output_len < 1 ||
        uint64_t(r.prompt_len) + r.output_len > m.max_context)
      throw InputError(
          fmt::format("request {}: prompt {} + output {} must be in 2..{} (max_context)", r.id,
                      r.prompt_len, r.output_len, m.max_context));
  }
  const uint32_t bs = so.block_size;
  const uint32_t max_tokens = so.max_batch_tokens ? so.max_batch_tokens : m.max_context;
  const double bytes_per_s = so.kv_link_gb_s * 1e9;
  const uint64_t kv_bytes = m.kv_bytes_per_token();

  DistServeResult res;
  ScheduleResult& out = res.schedule;
  res.prefill_capacity_tokens = opt.prefill_kv_capacity_tokens ? opt.prefill_kv_capacity_tokens
                                                               : kv_capacity_tokens(prefill_cost);
  res.decode_capacity_tokens = opt.decode_kv_capacity_tokens ? opt.decode_kv_capacity_tokens
                                                             : kv_capacity_tokens(decode_cost);
  const uint64_t decode_blocks = res.decode_capacity_tokens / bs;
  if (res.prefill_capacity_tokens == 0 || decode_blocks == 0)
    throw InputError(fmt::format(
        "placement: the weights of {} leave no K/V memory on a {} instance (more tp or pp)", m.name,
        res.prefill_capacity_tokens == 0 ? "prefill" : "decode"));
  out.kv_capacity_tokens = decode_blocks * bs;
  const size_t n = trace.size();
  out.requests.resize(n);
  res.kv_ready_s.assign(n, 0.0);
  for (size_t i = 0; i < n; ++i) out.requests[i].request = trace[i];
  auto blocks_for = [&](uint64_t tokens) { return (tokens + bs - 1) / bs; };
  // Blocks a request needs on its decode instance for its next step: prompt + generated + the
  // token the step appends (vLLM's paged growth, as the paged scheduler's).
  std::vector<uint32_t> gen(n, 0);
  auto need = [&](size_t r) { return blocks_for(uint64_t(trace[r].prompt_len) + gen[r] + 1); };
  for (size_t r = 0; r < n; ++r) {
    if (trace[r].prompt_len > res.prefill_capacity_tokens)
      throw InputError(
          fmt::format("request {} (prompt {}): more K/V than a prefill instance holds ({} tokens)",
                      trace[r].id, trace[r].prompt_len, res.prefill_capacity_tokens));
    if (blocks_for(uint64_t(trace[r].prompt_len) + trace[r].output_len) > decode_blocks)
      throw InputError(
          fmt::format("request {} (prompt {}, output {}): more K/V than a decode instance holds "
                      "({} tokens)",
                      trace[r].id, trace[r].prompt_len, trace[r].output_len, decode_blocks * bs));
  }

  std::vector<PrefillInst> pre(opt.prefill_instances);
  const uint32_t prefill_pp = std::max<uint32_t>(prefill_cost.options().pp, 1);
  for (PrefillInst& pi : pre) pi.stage_free.assign(prefill_pp, 0.0);
  size_t next_batch = 0;
  std::vector<DecodeInst> dec(opt.decode_instances);
  const uint32_t decode_pp = std::max<uint32_t>(decode_cost.options().pp, 1);
  for (DecodeInst& di : dec) {
    di.slots.resize(decode_pp);
    di.slot_busy.assign(decode_pp, 0);
    di.stage_free.assign(decode_pp, 0.0);
  }
  std::vector<size_t> prefill_of(n, 0), decode_of(n, SIZE_MAX);
  std::vector<uint64_t> blocks(n, 0);   // allocated on its decode instance
  std::vector<char> recompute(n, 0);    // preempted: its K/V is recomputed on rejoining
  std::vector<char> recomputing(n, 0);  // in the current step as a prefill
  std::deque<size_t> held;              // prefilled, waiting for a decode instance (FIFO)
  std::priority_queue<Event, std::vector<Event>, std::greater<Event>> events;
  uint64_t seq = 0;
  auto push = [&](double t, Ev k, size_t a, size_t b) { events.push(Event{t, seq++, k, a, b}); };
  for (size_t r = 0; r < n; ++r) push(trace[r].arrival_s, Ev::kArrival, 0, r);
  std::vector<uint32_t> prefill_lens, decode_lens;
  const std::vector<uint32_t> none;
  double transfer_wait = 0.0;
  uint64_t transfers = 0;

  auto free_blocks = [&](const DecodeInst& di) {
    return decode_blocks - di.used_blocks - di.inflight_blocks;
  };
  // Blocks reserved for a transferred request: its prompt's K/V and its first decode step's token.
  auto handoff_blocks = [&](size_t r) { return blocks_for(uint64_t(trace[r].prompt_len) + 2); };
  // The decode instance with the most free blocks that takes request r's K/V, or SIZE_MAX.
  auto pick_decode = [&](size_t r) {
    size_t best = SIZE_MAX;
    uint64_t best_free = 0;
    for (size_t d = 0; d < dec.size(); ++d) {
      const uint64_t free = free_blocks(dec[d]);
      if (free >= handoff_blocks(r) && (best == SIZE_MAX || free > best_free)) {
        best = d;
        best_free = free;
      }
    }
    return best;
  };
  auto reserve = [&](size_t r, size_t d) {
    decode_of[r] = d;
    dec[d].inflight_blocks += handoff_blocks(r);
    res.decode_peak_reserved_tokens = std::max(res.decode_peak_reserved_tokens,
                                               (dec[d].used_blocks + dec[d].inflight_blocks) * bs);
  };
  // Sends a group of requests' K/V from prefill instance p, layer by layer (see the header).
  auto send = [&](size_t p, const std::vector<size_t>& rs, double start, double compute_s) {
    uint64_t bytes = 0;
    for (size_t r : rs) bytes += uint64_t(trace[r].prompt_len) * kv_bytes;
    const double end =
        layerwise_transfer_end_s(start, compute_s, m.layers, bytes, bytes_per_s, pre[p].link_free);
    pre[p].link_free = end;
    pre[p].usage.counts.host_write_bytes += bytes;
    out.kv_transfer_bytes += bytes;
    for (size_t r : rs) {
      push(end, Ev::kKvArrived, decode_of[r], r);
      push(end, Ev::kHeldRelease, p, r);
    }
  };
  std::vector<size_t> group;
  auto try_handoff = [&](double t) {
    while (!held.empty()) {
      const size_t r = held.front();
      const size_t d = pick_decode(r);
      if (d == SIZE_MAX) break;  // FCFS: the head waits for memory
      held.pop_front();
      reserve(r, d);
      group.assign(1, r);
      send(prefill_of[r], group, t, 0.0);
    }
  };
  auto try_prefill = [&](size_t p, double t) {
    PrefillInst& pi = pre[p];
    if (pi.queue.empty() || pi.batches.size() >= prefill_pp) return;
    if (pi.stage_free[0] > t) {  // stage 0 still runs the previous batch
      if (!pi.retry_pending) push(pi.stage_free[0], Ev::kPrefillRetry, p, 0);
      pi.retry_pending = true;
      return;
    }
    std::vector<size_t> batch;
    prefill_lens.clear();
    uint64_t tokens = 0;
    while (!pi.queue.empty() && batch.size() < so.max_batch) {
      const size_t r = pi.queue.front();
      const uint32_t len = trace[r].prompt_len;
      if (tokens > 0 && tokens + len > max_tokens) break;
      if (pi.held_tokens + tokens + len > res.prefill_capacity_tokens) break;  // back-pressure
      tokens += len;
      batch.push_back(r);
      prefill_lens.push_back(len);
      pi.queue.pop_front();
    }
    if (batch.empty()) return;  // waits for its held K/V to leave
    pi.queued_tokens -= tokens;
    pi.held_tokens += tokens;
    res.prefill_peak_held_tokens = std::max(res.prefill_peak_held_tokens, pi.held_tokens);
    const EventCounts c = prefill_cost.iteration(prefill_lens, none, 0, &pi.usage.comm_j);
    const double dt = prefill_cost.seconds(c);
    pi.usage.account(c, dt);
    // Through the stages: dt split evenly over them (weight-balanced), each stage after the
    // batch's previous stage and after its own previous batch.
    double end = t;
    for (double& free : pi.stage_free) end = free = std::max(end, free) + dt / prefill_pp;
    const size_t id = next_batch++;
    push(end, Ev::kPrefillDone, p, id);
    // Requests whose decode instance is reserved now stream their K/V behind the compute; the
    // others are held after the batch (only while nothing earlier waits: FCFS).
    group.clear();
    for (size_t r : batch) {
      if (trace[r].output_len == 1 || !held.empty()) continue;
      const size_t d = pick_decode(r);
      if (d == SIZE_MAX) continue;
      reserve(r, d);
      group.push_back(r);
    }
    if (!group.empty()) send(p, group, t, end - t);
    pi.batches.emplace(id, std::move(batch));
    if (!pi.queue.empty() && pi.batches.size() < prefill_pp && !pi.retry_pending) {
      push(pi.stage_free[0], Ev::kPrefillRetry, p, 0);
      pi.retry_pending = true;
    }
  };
  // vLLM's step on a decode instance: running requests grow by a block when they need one,
  // preempting the latest admitted (recompute: its blocks freed, rejoining later with a prefill
  // over its prompt and generated tokens) when none is free; then waiting requests join FCFS.
  auto try_decode = [&](size_t d, double t) {
    DecodeInst& di = dec[d];
    // An idle slot with requests first (they must not wait behind new ones), else an empty one.
    size_t k = di.slots.size();
    for (size_t i = 0; i < di.slots.size(); ++i)
      if (!di.slot_busy[i] &&
          (k == di.slots.size() || (di.slots[k].empty() && !di.slots[i].empty())))
        k = i;
    if (k == di.slots.size()) return;  // every slot in flight
    if (di.stage_free[0] > t) {        // stage 0 still runs another slot's iteration
      if (!di.retry_pending) push(di.stage_free[0], Ev::kDecodeRetry, d, 0);
      di.retry_pending = true;
      return;
    }
    std::vector<size_t>& running = di.slots[k];
    for (size_t i = 0; i < running.size(); ++i) {
      const size_t r = running[i];
      bool self = false;
      while (!self && blocks[r] < need(r)) {
        if (free_blocks(di) > 0) {
          ++blocks[r];
          ++di.used_blocks;
          continue;
        }
        const size_t v = running.back();
        running.pop_back();
        di.used_blocks -= blocks[v];
        blocks[v] = 0;
        recompute[v] = 1;
        di.waiting.push_front(v);
        ++out.preemptions;
        ++out.requests[v].preemptions;
        self = v == r;
      }
    }
    while (!di.waiting.empty() && running.size() < so.max_batch) {
      const size_t r = di.waiting.front();
      if (recompute[r]) {
        if (need(r) > free_blocks(di)) break;
        di.used_blocks += need(r) - blocks[r];
        blocks[r] = need(r);
        recompute[r] = 0;
        recomputing[r] = 1;
      } else if (blocks[r] < need(r)) {
        if (need(r) - blocks[r] > free_blocks(di)) break;
        di.used_blocks += need(r) - blocks[r];
        blocks[r] = need(r);
      }
      di.waiting.pop_front();
      running.push_back(r);
    }
    // Nothing runs and the head cannot rejoin: requests whose K/V is resident go ahead of it
    // (their blocks would otherwise keep the head out for ever).
    if (running.empty() &&
        std::find(di.slot_busy.begin(), di.slot_busy.end(), 1) == di.slot_busy.end()) {
      for (auto it = di.waiting.begin(); it != di.waiting.end() && running.size() < so.max_batch;)
        if (!recompute[*it] && blocks[*it] >= need(*it)) {
          running.push_back(*it);
          it = di.waiting.erase(it);
        } else {
          ++it;
        }
    }
    if (running.empty()) return;
    prefill_lens.clear();
    decode_lens.clear();
    for (size_t r : running) {
      if (recomputing[r])
        prefill_lens.push_back(trace[r].prompt_len + gen[r]);
      else
        decode_lens.push_back(trace[r].prompt_len + gen[r] + 1);
    }
    const EventCounts c = decode_cost.iteration(prefill_lens, decode_lens, 0, &di.usage.comm_j);
    const double dt = decode_cost.seconds(c);
    di.usage.account(c, dt);
    di.slot_busy[k] = 1;
    res.decode_peak_reserved_tokens =
        std::max(res.decode_peak_reserved_tokens, (di.used_blocks + di.inflight_blocks) * bs);
    double end = t;  // through the stages, dt split evenly over them
    for (double& free : di.stage_free) end = free = std::max(end, free) + dt / decode_pp;
    push(end, Ev::kDecodeDone, d, k);
    bool more = false;  // another idle slot with requests, or one to take waiting requests
    for (size_t i = 0; i < di.slots.size(); ++i)
      more |= !di.slot_busy[i] && (!di.slots[i].empty() || !di.waiting.empty());
    if (more && !di.retry_pending) {
      push(di.stage_free[0], Ev::kDecodeRetry, d, 0);
      di.retry_pending = true;
    }
  };
  auto finish = [&](size_t r, double t) {
    out.requests[r].finish_s = t;
    if (so.on_finished) so.on_finished(1);
  };

  while (!events.empty()) {
    const Event e = events.top();
    events.pop();
    const double t = e.t;
    switch (e.kind) {
      case Ev::kArrival: {
        size_t p = 0;
        for (size_t i = 1; i < pre.size(); ++i)
          if (pre[i].queued_tokens < pre[p].queued_tokens) p = i;
        prefill_of[e.b] = p;
        pre[p].queue.push_back(e.b);
        pre[p].queued_tokens += trace[e.b].prompt_len;
        try_prefill(p, t);
        break;
      }
      case Ev::kPrefillDone: {
        PrefillInst& pi = pre[e.a];
        const std::vector<size_t> batch = std::move(pi.batches.at(e.b));
        pi.batches.erase(e.b);
        for (size_t r : batch) {
          out.requests[r].first_token_s = t;
          gen[r] = 1;
          out.generated_tokens += 1;
          if (trace[r].output_len == 1) {
            pi.held_tokens -= trace[r].prompt_len;
            finish(r, t);
          } else if (decode_of[r] == SIZE_MAX) {
            held.push_back(r);
            ++res.held_for_decode_memory;
          }
        }
        try_handoff(t);
        try_prefill(e.a, t);
        break;
      }
      case Ev::kPrefillRetry: {
        pre[e.a].retry_pending = false;
        try_prefill(e.a, t);
        break;
      }
      case Ev::kDecodeRetry: {
        dec[e.a].retry_pending = false;
        try_decode(e.a, t);
        break;
      }
      case Ev::kHeldRelease: {
        pre[e.a].held_tokens -= trace[e.b].prompt_len;
        try_prefill(e.a, t);
        break;
      }
      case Ev::kKvArrived: {
        res.kv_ready_s[e.b] = t;
        transfer_wait += t - out.requests[e.b].first_token_s;
        ++transfers;
        DecodeInst& di = dec[e.a];
        const uint64_t b = handoff_blocks(e.b);
        di.inflight_blocks -= b;
        di.used_blocks += b;
        blocks[e.b] = b;
        di.waiting.push_back(e.b);
        try_decode(e.a, t);
        break;
      }
      case Ev::kDecodeDone: {
        DecodeInst& di = dec[e.a];
        std::vector<size_t>& running = di.slots[e.b];
        di.slot_busy[e.b] = 0;
        size_t keep = 0;
        bool freed = false;
        for (size_t r : running) {
          ++gen[r];
          ++out.generated_tokens;
          recomputing[r] = 0;
          if (gen[r] >= trace[r].output_len) {
            di.used_blocks -= blocks[r];
            blocks[r] = 0;
            freed = true;
            finish(r, t);
          } else {
            running[keep++] = r;
          }
        }
        running.resize(keep);
        if (freed) try_handoff(t);
        try_decode(e.a, t);
        break;
      }
    }
  }
  for (size_t r = 0; r < n; ++r)
    if (gen[r] != trace[r].output_len)
      throw std::logic_error(fmt::format("distserve: request {} ended with {} of {} tokens", r,
                                         gen[r], trace[r].output_len));
  res.mean_transfer_wait_s = transfers ? transfer_wait / double(transfers) : 0.0;
  for (PrefillInst& pi : pre) out.chips.push_back(pi.usage);
  for (DecodeInst& di : dec) out.chips.push_back(di.usage);
  return res;
}

CostModel& CostModelCache::get(const InstanceShape& s) {
  auto it = models_.find(s);
  if (it != models_.end()) return *it->second;
  CostOptions co = base_;
  co.tp = s.tp;
  co.pp = s.pp;
  auto cm = std::make_unique<CostModel>(cfg_, model_, co);
  CostModel& ref = *cm;
  models_.emplace(s, std::move(cm));
  return ref;
}

std::vector<Placement> enumerate_placements(const PlacementSearchOptions& opt) {
  std::vector<InstanceShape> shapes;
  for (uint32_t tp : opt.tp)
    for (uint32_t pp : opt.pp)
      if (tp >= 1 && pp >= 1 && uint64_t(tp) * pp <= opt.chip_budget)
        shapes.push_back(InstanceShape{tp, pp});
  std::sort(shapes.begin(), shapes.end());
  shapes.erase(std::unique(shapes.begin(), shapes.end(),
                           [](const InstanceShape& a, const InstanceShape& b) {
                             return a.tp == b.tp && a.pp == b.pp;
                           }),
               shapes.end());
  std::vector<Placement> out;
  if (opt.colocated)
    for (const InstanceShape& s : shapes) out.push_back(Placement{true, 1, s, 0, s});
  if (opt.disaggregated)
    for (const InstanceShape& ps : shapes)
      for (const InstanceShape& ds : shapes)
        for (uint32_t np = 1; np * ps.chips() + ds.chips() <= opt.chip_budget; ++np)
          for (uint32_t nd = 1; np * ps.chips() + nd * ds.chips() <= opt.chip_budget; ++nd)
            out.push_back(Placement{false, np, ps, nd, ds});
  return out;
}

namespace {

// SLO attainment of one placement at one rate; throws InputError when it cannot serve at all.
double attainment(const Placement& p, CostModelCache& costs, const TraceOptions& trace,
                  const SchedulerOptions& sched, const PlacementSearchOptions& opt, double rate) {
  TraceOptions to = trace;
  to.rate_per_s = rate;
  to.requests = std::max<uint64_t>(to.requests, uint64_t(std::ceil(rate * opt.min_trace_s)));
  const std::vector<Request> reqs = make_trace(to);
  if (p.colocated) {
    SchedulerOptions so = sched;
    so.scheduler = "paged";
    return slo_attainment(simulate(reqs, costs.get(p.prefill), so), opt.slo);
  }
  DistServeOptions d;
  d.sched = sched;
  d.prefill_instances = p.prefill_instances;
  d.decode_instances = p.decode_instances;
  CostModel& pc = costs.get(p.prefill);
  CostModel& dc = costs.get(p.decode);
  return slo_attainment(simulate_distserve(reqs, pc, dc, d).schedule, opt.slo);
}

}  // namespace

PlacementScore placement_goodput(const Placement& p, CostModelCache& costs,
                                 const TraceOptions& trace, const SchedulerOptions& sched,
                                 const PlacementSearchOptions& opt) {
  PlacementScore s;
  s.placement = p;
  if (!(opt.rate_start_per_s > 0.0) || !(opt.rate_max_per_s >= opt.rate_start_per_s))
    throw InputError("placement search: rates must satisfy 0 < start <= max");
  try {
    auto ok = [&](double rate) {
      ++s.probes;
      return attainment(p, costs, trace, sched, opt, rate) >= opt.slo_target;
    };
    double lo = 0.0, hi = opt.rate_start_per_s;
    while (hi <= opt.rate_max_per_s && ok(hi)) {
      lo = hi;
      hi *= 2.0;
    }
    if (hi > opt.rate_max_per_s) {
      s.goodput_per_s = lo;
      return s;
    }
    // lo passes (or is 0), hi fails: bisect.
    for (uint32_t i = 0; i < opt.bisections; ++i) {
      const double mid = lo > 0.0 ? 0.5 * (lo + hi) : 0.5 * hi;
      if (ok(mid))
        lo = mid;
      else
        hi = mid;
    }
    s.goodput_per_s = lo;
  } catch (const InputError& e) {
    s.feasible = false;
    s.note = e.what();
    s.goodput_per_s = 0.0;
  }
  return s;
}

PlacementSearch search_placements(
    CostModelCache& costs, const TraceOptions& trace, const SchedulerOptions& sched,
    const PlacementSearchOptions& opt,
    const std::function<void(size_t done, size_t all, const PlacementScore&)>& progress) {
  PlacementSearch out;
  const std::vector<Placement> all = enumerate_placements(opt);
  if (all.empty())
    throw InputError(
        fmt::format("placement search: no placement fits a budget of {} chips", opt.chip_budget));
  auto better = [&](int i, int j) {  // is i better than j
    if (j < 0) return true;
    const PlacementScore& a = out.scores[size_t(i)];
    const PlacementScore& b = out.scores[size_t(j)];
    if (a.goodput_per_chip() != b.goodput_per_chip())
      return a.goodput_per_chip() > b.goodput_per_chip();
    return a.placement.chips() < b.placement.chips();
  };
  for (size_t i = 0; i < all.size(); ++i) {
    out.scores.push_back(placement_goodput(all[i], costs, trace, sched, opt));
    const int k = int(i);
    if (out.scores[i].goodput_per_s > 0.0) {
      if (better(k, out.best)) out.best = k;
      int& side = all[i].colocated ? out.best_colocated : out.best_disaggregated;
      if (better(k, side)) side = k;
    }
    if (progress) progress(i + 1, all.size(), out.scores[i]);
  }
  return out;
}

namespace {

nlohmann::json placement_json(const PlacementScore& s) {
  const Placement& p = s.placement;
  return {
      {"name", p.name()},
      {"colocated", p.colocated},
      {"chips", p.chips()},
      {"prefill", {{"instances", p.prefill_instances}, {"tp", p.prefill.tp}, {"pp", p.prefill.pp}}},
      {"decode", p.colocated ? nlohmann::json(nullptr)
                             : nlohmann::json{{"instances", p.decode_instances},
                                              {"tp", p.decode.tp},
                                              {"pp", p.decode.pp}}},
      {"goodput_per_s", s.goodput_per_s},
      {"goodput_per_chip", s.goodput_per_chip()},
      {"feasible", s.feasible},
      {"note", s.note},
      {"probes", s.probes}};
}

}  // namespace

PlacementStudy run_placement_study(
    const ServeStudyOptions& a, PlacementSearchOptions search,
    const std::function<void(size_t done, size_t all, const PlacementScore&)>& progress) {
  validate(a);
  if (a.slo_ttft <= 0.0 && a.slo_tpot <= 0.0)
    throw InputError("serve --search: give --slo-ttft and/or --slo-tpot (goodput needs an SLO)");
  if (a.lora || a.samples > 1 || a.beam_width > 0)
    throw InputError("serve --search: LoRA, parallel samples and beams are not searched");
  const TpuConfig cfg = load_config(a.arch);
  CostOptions co;
  co.bucket = a.bucket;
  co.collective_bytes = a.collective_bytes;
  co.kv_dtype = a.kv_dtype;
  co.causal_prefill = a.causal_prefill;
  co.device = a.device;
  co.device_dtype = a.device_dtype;
  CostModelCache costs(cfg, a.model, co);
  const ModelInfo info = costs.get(InstanceShape{1, 1}).model();

  TraceOptions to;
  to.name = a.trace;
  to.requests = a.requests;
  to.seed = a.seed;
  to.arrival = a.arrival;
  to.cv = a.cv;
  to.max_context = info.max_context;
  to.shared_prefix = a.shared_prefix;

  SchedulerOptions so;
  so.max_batch = a.max_batch;
  so.max_batch_tokens = a.max_batch_tokens;
  so.block_size = a.block_size;
  so.preemption = a.preemption;
  so.kv_link_gb_s = a.kv_link_gb_s;
  so.swap_space_bytes = uint64_t(a.swap_space_gib * double(uint64_t(1) << 30));
  so.paged_attention_overhead = a.paged_attention_overhead;
  so.kv_capacity_tokens = a.kv_capacity_tokens;
  search.slo = SloTargets{a.slo_ttft, a.slo_tpot};
  search.slo_target = a.slo_target;

  const PlacementSearch s = search_placements(costs, to, so, search, progress);
  PlacementStudy out;
  nlohmann::json scores = nlohmann::json::array();
  out.csv =
      "placement,colocated,chips,prefill_instances,prefill_tp,prefill_pp,decode_instances,"
      "decode_tp,decode_pp,goodput_per_s,goodput_per_chip,feasible\n";
  for (const PlacementScore& e : s.scores) {
    scores.push_back(placement_json(e));
    const Placement& p = e.placement;
    out.csv += fmt::format("{},{},{},{},{},{},{},{},{},{:.6g},{:.6g},{}\n", p.name(),
                           int(p.colocated), p.chips(), p.prefill_instances, p.prefill.tp,
                           p.prefill.pp, p.colocated ? 0 : p.decode_instances,
                           p.colocated ? 0 : p.decode.tp, p.colocated ? 0 : p.decode.pp,
                           e.goodput_per_s, e.goodput_per_chip(), int(e.feasible));
  }
  auto pick = [&](int i) {
    return i < 0 ? nlohmann::json(nullptr) : placement_json(s.scores[size_t(i)]);
  };
  nlohmann::json rep{
      {"tool", tool_json()},
      {"arch", a.arch},
      {"device", a.device.empty() ? nlohmann::json(nullptr) : nlohmann::json(a.device)},
      {"device_dtype", a.device_dtype},
      {"model",
       {{"name", info.name},
        {"kv_dtype", a.kv_dtype},
        {"causal_prefill", a.causal_prefill},
        {"kv_bytes_per_token", info.kv_bytes_per_token()}}},
      {"trace",
       {{"name", a.trace}, {"requests", a.requests}, {"seed", a.seed}, {"arrival", a.arrival}}},
      {"slo", {{"ttft_s", a.slo_ttft}, {"tpot_s", a.slo_tpot}, {"attainment", a.slo_target}}},
      {"search",
       {{"chip_budget", search.chip_budget},
        {"tp", search.tp},
        {"pp", search.pp},
        {"rate_start_per_s", search.rate_start_per_s},
        {"min_trace_s", search.min_trace_s},
        {"bisections", search.bisections}}},
      {"scheduler",
       {{"max_batch", a.max_batch},
        {"max_batch_tokens", a.max_batch_tokens ? a.max_batch_tokens : info.max_context},
        {"block_size", a.block_size},
        {"kv_link_gb_s", a.kv_link_gb_s}}},
      {"placements", scores},
      {"best", pick(s.best)},
      {"best_colocated", pick(s.best_colocated)},
      {"best_disaggregated", pick(s.best_disaggregated)},
      {"assumptions",
       {"goodput: the largest rate whose SLO attainment reaches the target, found by doubling "
        "from rate_start_per_s and bisecting; per chip = goodput / the placement's chips",
        "colocated: one paged (vLLM-like) instance of tp x pp chips; replicas scale goodput and "
        "chips alike",
        "disaggregated: sim/studies/serve/placement.h (router to the least-queued prefill "
        "instance, back-pressure, oracle decode reservation, layer-by-layer K/V transfer on one "
        "link per prefill instance)"}}};
  if (s.best_colocated >= 0 && s.best_disaggregated >= 0) {
    const double c = s.scores[size_t(s.best_colocated)].goodput_per_chip();
    const double d = s.scores[size_t(s.best_disaggregated)].goodput_per_chip();
    rep["disaggregated_over_colocated_per_chip"] = c > 0 ? d / c : 0.0;
  }
  out.report = std::move(rep);
  return out;
}

}  // namespace tpusim::serve
