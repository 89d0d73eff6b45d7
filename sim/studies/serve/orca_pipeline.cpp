#include "sim/studies/serve/orca_pipeline.h"

#include <algorithm>
#include <deque>
#include <limits>
#include <stdexcept>

#include <fmt/format.h>

#include "models/errors.h"
#include "sim/studies/serve/kv_cache.h"

namespace tpusim::serve {

namespace {

struct Slot {
  std::vector<size_t> running;
  double ready_s = 0.0;    // its in-flight iteration leaves the last stage (or it may start)
  bool in_flight = false;  // an iteration's tokens are still to be emitted at ready_s
  bool parked = false;     // idle with nothing to take: woken by an arrival or a release
};

}  // namespace

void run_orca_pipelined(const std::vector<Request>& trace, CostModel& cost,
                        const SchedulerOptions& opt, ChipUsage& chip, ScheduleResult& out) {
  const ModelInfo& m = cost.model();
  const uint32_t pp = std::max<uint32_t>(cost.options().pp, 1);
  const uint32_t max_tokens = opt.max_batch_tokens ? opt.max_batch_tokens : m.max_context;
  const size_t n = trace.size();
  const double inf = std::numeric_limits<double>::infinity();
  KvCache kv(out.kv_capacity_tokens, opt.reserve, m.max_context, n);
  std::vector<uint32_t> gen(n, 0);
  std::vector<Slot> slots(pp);
  std::vector<double> stage_free(pp, 0.0);
  std::deque<size_t> waiting;
  std::vector<uint32_t> prefill, decode;
  size_t next = 0, done = 0;
  uint64_t in_system = 0;  // sequences in some slot
  double running_time = 0.0, last_t = 0.0;
  auto wake_all = [&](double t) {
    for (Slot& s : slots)
      if (s.parked) {
        s.parked = false;
        s.ready_s = t;
      }
  };
  while (done < n) {
    // The slot that acts first (ties: the lowest index); parked slots wait for a wake-up.
    size_t k = SIZE_MAX;
    for (size_t i = 0; i < slots.size(); ++i)
      if (!slots[i].parked && (k == SIZE_MAX || slots[i].ready_s < slots[k].ready_s)) k = i;
    const double next_arrival = next < n ? trace[next].arrival_s : inf;
    if (k == SIZE_MAX || slots[k].ready_s > next_arrival) {
      // Nothing acts before the next arrival: it wakes the parked slots.
      if (next >= n) throw std::logic_error("orca pipeline: every slot parked with work left");
      waiting.push_back(next++);
      wake_all(next_arrival);
      continue;
    }
    Slot& s = slots[k];
    const double t = s.ready_s;
    running_time += double(in_system) * (t - last_t);
    last_t = t;
    while (next < n && trace[next].arrival_s <= t) waiting.push_back(next++);
    if (s.in_flight) {
      // The iteration's tokens: first tokens, finished requests leave and free their regions.
      s.in_flight = false;
      size_t keep = 0;
      bool freed = false;
      for (size_t r : s.running) {
        out.generated_tokens += trace[r].width;
        if (++gen[r] == 1) out.requests[r].first_token_s = t;
        if (gen[r] >= trace[r].output_len) {
          out.requests[r].finish_s = t;
          kv.release(r);
          in_system -= trace[r].width;
          freed = true;
          ++done;
          if (opt.on_finished) opt.on_finished(1);
        } else {
          s.running[keep++] = r;
        }
      }
      s.running.resize(keep);
      if (freed) wake_all(t);
    }
    for (size_t r : s.running) {
      const Request& q = trace[r];
      if (!kv.grow(r, q.prompt_len, q.output_len, (uint64_t(q.prompt_len) + gen[r] + 1) * q.width,
                   q.width))
        throw std::logic_error("orca pipeline: a running request outgrew its region");
    }
    // Admission, FCFS, into this slot.
    prefill.clear();
    decode.clear();
    for (size_t r : s.running)
      decode.insert(decode.end(), trace[r].width, trace[r].prompt_len + gen[r] + 1);
    uint64_t seqs = decode.size(), prefill_tokens = 0;
    while (!waiting.empty() && seqs + trace[waiting.front()].width <= opt.max_batch) {
      const size_t r = waiting.front();
      const Request& q = trace[r];
      if (prefill_tokens > 0 && prefill_tokens + q.prompt_len > max_tokens) break;
      if (!kv.grow(r, q.prompt_len, q.output_len, (uint64_t(q.prompt_len) + 1) * q.width,
                   q.width)) {
        if (in_system == 0 && s.running.empty())
          throw InputError(fmt::format(
              "request {} (prompt {}, output {}) needs {} K/V token slots but the system holds {}",
              q.id, q.prompt_len, q.output_len, kv.reservation(q.prompt_len, q.output_len, q.width),
              kv.capacity_tokens()));
        break;
      }
      waiting.pop_front();
      s.running.push_back(r);
      prefill.push_back(q.prompt_len);
      prefill_tokens += q.prompt_len;
      seqs += q.width;
      in_system += q.width;
    }
    if (s.running.empty()) {
      s.parked = true;  // an arrival or another slot's release wakes it
      continue;
    }
    const EventCounts c = cost.iteration(prefill, decode, 0, &chip.comm_j);
    const double dt = cost.seconds(c);
    chip.account(c, dt);
    out.max_running = std::max<uint64_t>(out.max_running, in_system);
    double at = t;
    for (uint32_t st = 0; st < pp; ++st) {
      at = std::max(at, stage_free[st]) + dt / pp;
      stage_free[st] = at;
    }
    s.ready_s = at;
    s.in_flight = true;
  }
  out.mean_running = last_t > 0 ? running_time / last_t : 0.0;
}

}  // namespace tpusim::serve
