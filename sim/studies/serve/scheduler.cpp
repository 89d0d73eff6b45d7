#include "sim/studies/serve/scheduler.h"

#include <algorithm>
#include <cmath>
#include <deque>

#include <fmt/format.h>

#include "models/errors.h"
#include "sim/studies/serve/kv_cache.h"

namespace tpusim::serve {

namespace {

// Time-weighted occupancy of the K/V memory and of the batch.
struct Occupancy {
  double time = 0, util = 0, alloc = 0, running = 0;
  double util_time = 0;
  uint64_t max_running = 0;
  void add(double dt, const KvCache& kv, size_t running_now) {
    time += dt;
    running += dt * double(running_now);
    max_running = std::max<uint64_t>(max_running, running_now);
    if (kv.allocated_tokens() > 0) {
      util_time += dt;
      util += dt * double(kv.used_tokens()) / double(kv.allocated_tokens());
    }
    if (kv.capacity_tokens() > 0)
      alloc += dt * double(kv.allocated_tokens()) / double(kv.capacity_tokens());
  }
  void store(ScheduleResult& out) const {
    out.kv_utilization = util_time > 0 ? util / util_time : 0.0;
    out.kv_allocated_fraction = time > 0 ? alloc / time : 0.0;
    out.mean_running = time > 0 ? running / time : 0.0;
    out.max_running = max_running;
  }
};

uint32_t distinct_adapters(std::vector<int32_t>& ids) {
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return uint32_t(std::count_if(ids.begin(), ids.end(), [](int32_t a) { return a >= 0; }));
}

// Adds host-link copy time (swap, K/V transfer) to an iteration's counts as non-matrix cycles.
void add_copy(EventCounts& c, const TpuConfig& cfg, double seconds) {
  const uint64_t cycles = uint64_t(std::ceil(seconds * cfg.clock_hz()));
  c.cycles += cycles;
  c.non_matrix_cycles += cycles;
}

[[noreturn]] void too_big(const Request& r, const KvCache& kv, uint64_t need) {
  throw InputError(fmt::format(
      "request {} (prompt {}, output {}) needs {} K/V token slots but the chip holds {} "
      "(raise weight memory or lower max_batch)",
      r.id, r.prompt_len, r.output_len, need, kv.capacity_tokens()));
}

struct Entry {
  size_t r = 0;
  double ready_s = 0.0;
};

// Iteration-level scheduling on one chip (continuous, paged, and DistServe's decode chip).
// `prefilled`: the requests arrive with their first token and K/V (disaggregated decode).
void run_iteration_level(const std::vector<Request>& trace, const std::vector<Entry>& entries,
                         CostModel& cost, const SchedulerOptions& opt, bool paged, bool prefilled,
                         ChipUsage& chip, ScheduleResult& out) {
  const ModelInfo& m = cost.model();
  const uint64_t bpt = m.kv_bytes_per_token();
  const double host_bw = cost.config().host_link.bandwidth_mb_s * 1e6;
  const uint32_t max_tokens = opt.max_batch_tokens ? opt.max_batch_tokens : m.max_context;
  const size_t n_all = trace.size();
  KvCache kv(out.kv_capacity_tokens, paged, opt.block_size, opt.reserve, m.max_context, n_all);
  std::vector<uint32_t> gen(n_all, 0);
  std::vector<char> needs_prefill(n_all, prefilled ? 0 : 1), swapped(n_all, 0);
  if (prefilled)
    for (const Entry& e : entries) gen[e.r] = 1;
  std::deque<size_t> waiting;
  std::vector<size_t> running, newly;
  std::vector<uint32_t> prefill, decode;
  std::vector<int32_t> adapters;
  Occupancy occ;
  size_t next = 0, done = 0;
  double t = 0.0;
  const size_t n = entries.size();
  while (done < n) {
    while (next < n && entries[next].ready_s <= t) waiting.push_back(entries[next++].r);
    if (running.empty() && waiting.empty()) {
      t = entries[next].ready_s;
      continue;
    }
    uint64_t copy_bytes = 0;
    // Running sequences grow by one token; preempt the latest admitted when memory runs out.
    for (size_t i = 0; i < running.size(); ++i) {
      const size_t r = running[i];
      const Request& q = trace[r];
      while (!kv.grow(r, q.prompt_len, q.output_len, uint64_t(q.prompt_len) + gen[r] + 1)) {
        const size_t v = running.back();
        running.pop_back();
        ++out.preemptions;
        ++out.requests[v].preemptions;
        if (opt.preemption == "swap") {
          copy_bytes += (uint64_t(trace[v].prompt_len) + gen[v]) * bpt;
          swapped[v] = 1;
        } else {
          needs_prefill[v] = 1;
        }
        kv.release(v);
        waiting.push_front(v);
        if (v == r) break;
      }
    }
    // Admission, FCFS.
    newly.clear();
    uint64_t prefill_tokens = 0;
    while (!waiting.empty() && running.size() + newly.size() < opt.max_batch) {
      const size_t r = waiting.front();
      const Request& q = trace[r];
      const uint32_t len = q.prompt_len + gen[r];
      if (needs_prefill[r] && prefill_tokens > 0 && prefill_tokens + len > max_tokens) break;
      if (!kv.grow(r, q.prompt_len, q.output_len, uint64_t(len) + 1)) {
        if (running.empty() && newly.empty())
          too_big(q, kv, paged ? uint64_t(len) + 1 : kv.reservation(q.prompt_len, q.output_len));
        break;
      }
      waiting.pop_front();
      newly.push_back(r);
      if (needs_prefill[r]) prefill_tokens += len;
      if (swapped[r]) {
        copy_bytes += uint64_t(len) * bpt;
        swapped[r] = 0;
      }
    }
    prefill.clear();
    decode.clear();
    adapters.clear();
    for (size_t r : running) decode.push_back(trace[r].prompt_len + gen[r] + 1);
    for (size_t r : newly) {
      if (needs_prefill[r])
        prefill.push_back(trace[r].prompt_len + gen[r]);
      else
        decode.push_back(trace[r].prompt_len + gen[r] + 1);
    }
    running.insert(running.end(), newly.begin(), newly.end());
    if (opt.lora)
      for (size_t r : running) adapters.push_back(trace[r].adapter);
    EventCounts c =
        cost.iteration(prefill, decode, opt.lora ? distinct_adapters(adapters) : 0, &chip.comm_j);
    if (copy_bytes) {
      add_copy(c, cost.config(), double(copy_bytes) / host_bw);
      c.host_write_bytes += copy_bytes;
      out.swap_bytes += copy_bytes;
    }
    const double dt = cost.seconds(c);
    occ.add(dt, kv, running.size());
    t += dt;
    chip.account(c, dt);
    size_t keep = 0;
    for (size_t r : running) {
      needs_prefill[r] = 0;
      ++out.generated_tokens;
      if (++gen[r] == 1) out.requests[r].first_token_s = t;
      if (gen[r] >= trace[r].output_len) {
        out.requests[r].finish_s = t;
        kv.release(r);
        ++done;
        if (opt.on_finished) opt.on_finished(1);
      } else {
        running[keep++] = r;
      }
    }
    running.resize(keep);
  }
  occ.store(out);
}

void run_static(const std::vector<Request>& trace, CostModel& cost, const SchedulerOptions& opt,
                ChipUsage& chip, ScheduleResult& out) {
  const ModelInfo& m = cost.model();
  const size_t n = trace.size();
  KvCache kv(out.kv_capacity_tokens, false, opt.block_size, opt.reserve, m.max_context, n);
  std::deque<size_t> waiting;
  std::vector<size_t> batch;
  std::vector<uint32_t> prefill, decode;
  std::vector<int32_t> adapters;
  Occupancy occ;
  size_t next = 0, done = 0;
  double t = 0.0;
  auto step = [&](const std::vector<uint32_t>& p, const std::vector<uint32_t>& d, uint32_t a) {
    const EventCounts c = cost.iteration(p, d, a, &chip.comm_j);
    const double dt = cost.seconds(c);
    occ.add(dt, kv, batch.size());
    t += dt;
    chip.account(c, dt);
  };
  while (done < n) {
    while (next < n && trace[next].arrival_s <= t) waiting.push_back(next++);
    if (waiting.empty()) {
      t = trace[next].arrival_s;
      continue;
    }
    batch.clear();
    uint32_t pmax = 0, omax = 0;
    while (!waiting.empty() && batch.size() < opt.max_batch) {
      const size_t r = waiting.front();
      const Request& q = trace[r];
      if (!kv.grow(r, q.prompt_len, q.output_len, uint64_t(q.prompt_len) + 1)) {
        if (batch.empty()) too_big(q, kv, kv.reservation(q.prompt_len, q.output_len));
        break;
      }
      waiting.pop_front();
      batch.push_back(r);
      pmax = std::max(pmax, q.prompt_len);
      omax = std::max(omax, q.output_len);
    }
    adapters.clear();
    if (opt.lora)
      for (size_t r : batch) adapters.push_back(trace[r].adapter);
    const uint32_t na = opt.lora ? distinct_adapters(adapters) : 0;
    // Prefill, every prompt padded to the longest.
    prefill.assign(batch.size(), pmax);
    decode.clear();
    step(prefill, decode, na);
    for (size_t r : batch) out.requests[r].first_token_s = t;
    out.generated_tokens += batch.size();
    // Decode until the longest output is done; finished sequences still occupy their rows.
    prefill.clear();
    for (uint32_t j = 1; j < omax; ++j) {
      for (size_t r : batch) {
        const Request& q = trace[r];
        kv.grow(r, q.prompt_len, q.output_len,
                uint64_t(q.prompt_len) + std::min(j + 1, q.output_len));
      }
      decode.assign(batch.size(), std::min(pmax + j + 1, m.max_context));
      step(prefill, decode, na);
      for (size_t r : batch) out.generated_tokens += j < trace[r].output_len;
    }
    for (size_t r : batch) {
      out.requests[r].finish_s = t;
      kv.release(r);
    }
    done += batch.size();
    if (opt.on_finished) opt.on_finished(batch.size());
  }
  occ.store(out);
}

void run_disaggregated(const std::vector<Request>& trace, CostModel& cost,
                       const SchedulerOptions& opt, ScheduleResult& out) {
  const ModelInfo& m = cost.model();
  const uint32_t max_tokens = opt.max_batch_tokens ? opt.max_batch_tokens : m.max_context;
  if (!(opt.kv_link_gb_s > 0.0) || !std::isfinite(opt.kv_link_gb_s))
    throw InputError(fmt::format("kv_link_gb_s {}: must be a finite number > 0", opt.kv_link_gb_s));
  const double link_bytes_per_s = opt.kv_link_gb_s * 1e9;
  ChipUsage pre{"prefill", {}, 0.0, 0, 0.0};
  ChipUsage dec{"decode", {}, 0.0, 0, 0.0};
  std::vector<Entry> entries;
  std::vector<uint32_t> prefill;
  const std::vector<uint32_t> none;
  std::vector<int32_t> adapters;
  std::vector<size_t> batch;
  double t = 0.0, link_free = 0.0;
  size_t next = 0;
  const size_t n = trace.size();
  while (next < n) {
    t = std::max(t, trace[next].arrival_s);
    batch.clear();
    prefill.clear();
    adapters.clear();
    uint64_t tokens = 0;
    while (next < n && trace[next].arrival_s <= t && batch.size() < opt.max_batch &&
           (tokens == 0 || tokens + trace[next].prompt_len <= max_tokens)) {
      tokens += trace[next].prompt_len;
      prefill.push_back(trace[next].prompt_len);
      adapters.push_back(trace[next].adapter);
      batch.push_back(next++);
    }
    const EventCounts c =
        cost.iteration(prefill, none, opt.lora ? distinct_adapters(adapters) : 0, &pre.comm_j);
    const double dt = cost.seconds(c);
    t += dt;
    pre.account(c, dt);
    for (size_t r : batch) {
      RequestResult& rr = out.requests[r];
      rr.first_token_s = t;
      ++out.generated_tokens;
      if (trace[r].output_len == 1) {
        rr.finish_s = t;
        if (opt.on_finished) opt.on_finished(1);
        continue;
      }
      const uint64_t bytes = uint64_t(trace[r].prompt_len) * m.kv_bytes_per_token();
      link_free = std::max(link_free, t) + double(bytes) / link_bytes_per_s;
      pre.counts.host_write_bytes += bytes;
      out.kv_transfer_bytes += bytes;
      entries.push_back(Entry{r, link_free});
    }
  }
  // Transfers finish in FIFO order, so `entries` is already sorted by ready time.
  run_iteration_level(trace, entries, cost, opt, true, true, dec, out);
  out.chips = {pre, dec};
}

}  // namespace

const std::vector<std::string>& scheduler_names() {
  static const std::vector<std::string> k = {"static", "continuous", "paged", "disaggregated"};
  return k;
}

uint64_t kv_capacity_tokens(const CostModel& cost) {
  const uint64_t mem = cost.config().weight_memory.bytes;
  if (cost.options().parallel()) {
    // Every token holds K/V on every stage: the tightest stage's chips bound the system.
    uint64_t cap = UINT64_MAX;
    for (const StageMemory& s : cost.stages()) {
      if (mem <= s.weight_bytes) return 0;
      if (s.kv_bytes) cap = std::min(cap, (mem - s.weight_bytes) / s.kv_bytes);
    }
    return cap == UINT64_MAX ? 0 : cap;
  }
  const uint64_t w = cost.model().weight_bytes;
  return mem > w ? (mem - w) / cost.model().kv_bytes_per_token() : 0;
}

ScheduleResult simulate(const std::vector<Request>& trace, CostModel& cost,
                        const SchedulerOptions& opt) {
  const auto& names = scheduler_names();
  if (std::find(names.begin(), names.end(), opt.scheduler) == names.end())
    throw InputError(fmt::format("scheduler {}: one of static, continuous, paged, disaggregated",
                                 opt.scheduler));
  if (opt.preemption != "recompute" && opt.preemption != "swap")
    throw InputError(fmt::format("preemption {}: one of recompute, swap", opt.preemption));
  if (opt.max_batch == 0) throw InputError("max_batch: must be >= 1");
  for (size_t i = 1; i < trace.size(); ++i)
    if (trace[i].arrival_s < trace[i - 1].arrival_s)
      throw InputError("trace: requests must be sorted by arrival");
  const uint32_t ctx = cost.model().max_context;
  for (const Request& r : trace)
    if (r.prompt_len < 1 || r.output_len < 1 || uint64_t(r.prompt_len) + r.output_len > ctx)
      throw InputError(
          fmt::format("request {}: prompt {} + output {} must be in 2..{} (max_context)", r.id,
                      r.prompt_len, r.output_len, ctx));
  ScheduleResult out;
  out.kv_capacity_tokens =
      opt.kv_capacity_tokens ? opt.kv_capacity_tokens : kv_capacity_tokens(cost);
  if (out.kv_capacity_tokens == 0)
    throw InputError(
        cost.options().parallel()
            ? fmt::format("{}: the weights of {} split tp {} x pp {} leave no weight memory for "
                          "the K/V cache "
                          "on some chip (more tp or pp)",
                          cost.config().name, cost.model().name, cost.options().tp,
                          cost.options().pp)
            : fmt::format("{}: the {} weight bytes of {} leave no weight memory for the K/V cache",
                          cost.config().name, cost.model().weight_bytes, cost.model().name));
  out.requests.resize(trace.size());
  for (size_t i = 0; i < trace.size(); ++i) out.requests[i].request = trace[i];
  if (trace.empty()) return out;
  if (opt.scheduler == "static") {
    ChipUsage chip{"colocated", {}, 0.0, 0, 0.0};
    run_static(trace, cost, opt, chip, out);
    out.chips = {chip};
  } else if (opt.scheduler == "disaggregated") {
    run_disaggregated(trace, cost, opt, out);
  } else {
    ChipUsage chip{"colocated", {}, 0.0, 0, 0.0};
    std::vector<Entry> entries(trace.size());
    for (size_t i = 0; i < trace.size(); ++i) entries[i] = Entry{i, trace[i].arrival_s};
    run_iteration_level(trace, entries, cost, opt, opt.scheduler == "paged", false, chip, out);
    out.chips = {chip};
  }
  return out;
}

}  // namespace tpusim::serve
