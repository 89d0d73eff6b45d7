#include "sim/studies/serve/scheduler.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <stdexcept>

#include <fmt/format.h>

#include "models/errors.h"
#include "sim/studies/serve/block_manager.h"
#include "sim/studies/serve/kv_cache.h"
#include "sim/studies/serve/orca_pipeline.h"
#include "sim/studies/serve/unified_paging.h"

namespace tpusim::serve {

namespace {

// One moment of the K/V memory, in token slots (see ScheduleResult's kv_* fields).
struct KvSnapshot {
  uint64_t capacity = 0, used = 0, allocated = 0, reserved = 0, internal = 0, external = 0;
  uint64_t logical_blocks = 0, physical_blocks = 0;  // paged sharing
};

KvSnapshot snapshot(const KvCache& kv, uint64_t external) {
  KvSnapshot s;
  s.capacity = kv.capacity_tokens();
  s.used = kv.used_tokens();
  s.allocated = kv.allocated_tokens();
  s.reserved = kv.reserved_tokens();
  s.internal = kv.internal_tokens();
  s.external = external;
  return s;
}

KvSnapshot snapshot(const BlockManager& bm) {
  KvSnapshot s;
  s.capacity = bm.gpu_blocks() * bm.block_size();
  s.used = bm.used_gpu_slots();
  s.allocated = bm.used_gpu_blocks() * bm.block_size();
  s.internal = s.allocated - s.used;
  s.logical_blocks = bm.logical_gpu_blocks();
  s.physical_blocks = bm.used_gpu_blocks();
  return s;
}

// Time-weighted occupancy of the K/V memory and of the batch.
struct Occupancy {
  double time = 0, util = 0, alloc = 0, running = 0;
  double util_time = 0, used = 0, reserved = 0, internal = 0, external = 0;
  double share = 0, share_time = 0;
  uint64_t max_running = 0;
  void add(double dt, const KvSnapshot& kv, size_t running_now) {
    time += dt;
    running += dt * double(running_now);
    max_running = std::max<uint64_t>(max_running, running_now);
    if (kv.allocated > 0) {
      util_time += dt;
      util += dt * double(kv.used) / double(kv.allocated);
    }
    if (kv.capacity > 0) {
      const double cap = double(kv.capacity);
      alloc += dt * double(kv.allocated) / cap;
      used += dt * double(kv.used) / cap;
      reserved += dt * double(kv.reserved) / cap;
      internal += dt * double(kv.internal) / cap;
      external += dt * double(std::min(kv.external, kv.capacity - kv.allocated)) / cap;
    }
    if (kv.logical_blocks > 0) {
      share_time += dt;
      share += dt * double(kv.logical_blocks - kv.physical_blocks) / double(kv.logical_blocks);
    }
  }
  void store(ScheduleResult& out) const {
    out.kv_utilization = util_time > 0 ? util / util_time : 0.0;
    out.kv_allocated_fraction = time > 0 ? alloc / time : 0.0;
    out.mean_running = time > 0 ? running / time : 0.0;
    out.max_running = max_running;
    if (time > 0) {
      out.kv_used = used / time;
      out.kv_reserved = reserved / time;
      out.kv_internal = internal / time;
      out.kv_external = external / time;
      out.kv_free =
          std::max(0.0, 1.0 - out.kv_used - out.kv_reserved - out.kv_internal - out.kv_external);
    }
    out.kv_sharing_saving = share_time > 0 ? share / share_time : 0.0;
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

[[noreturn]] void too_big(const Request& r, uint64_t capacity, uint64_t need) {
  throw InputError(fmt::format(
      "request {} (prompt {}, output {}, {} sequence(s)) needs {} K/V token slots but the chip "
      "holds {} (raise weight memory or lower max_batch)",
      r.id, r.prompt_len, r.output_len, r.width, need, capacity));
}

struct Entry {
  size_t r = 0;
  double ready_s = 0.0;
};

// Orca's iteration-level scheduling with contiguous K/V reservations (the continuous scheduler).
// A request's region covers prompt + its whole output for each of its sequences, so a running
// request never needs more memory and nothing is preempted.
void run_contiguous(const std::vector<Request>& trace, CostModel& cost, const SchedulerOptions& opt,
                    ChipUsage& chip, ScheduleResult& out) {
  const ModelInfo& m = cost.model();
  const uint32_t max_tokens = opt.max_batch_tokens ? opt.max_batch_tokens : m.max_context;
  const size_t n = trace.size();
  KvCache kv(out.kv_capacity_tokens, opt.reserve, m.max_context, n);
  std::vector<uint32_t> gen(n, 0);
  std::deque<size_t> waiting;
  std::vector<size_t> running, newly;
  std::vector<uint32_t> prefill, decode;
  std::vector<int32_t> adapters;
  Occupancy occ;
  size_t next = 0, done = 0;
  uint64_t seqs = 0;  // sequences running
  double t = 0.0;
  while (done < n) {
    while (next < n && trace[next].arrival_s <= t) waiting.push_back(next++);
    if (running.empty() && waiting.empty()) {
      t = trace[next].arrival_s;
      continue;
    }
    for (size_t r : running) {
      const Request& q = trace[r];
      if (!kv.grow(r, q.prompt_len, q.output_len, (uint64_t(q.prompt_len) + gen[r] + 1) * q.width,
                   q.width))
        throw std::logic_error("contiguous K/V: a running request outgrew its region");
    }
    // Admission, FCFS.
    newly.clear();
    uint64_t prefill_tokens = 0, new_seqs = 0;
    while (!waiting.empty() && seqs + new_seqs + trace[waiting.front()].width <= opt.max_batch) {
      const size_t r = waiting.front();
      const Request& q = trace[r];
      if (prefill_tokens > 0 && prefill_tokens + q.prompt_len > max_tokens) break;
      if (!kv.grow(r, q.prompt_len, q.output_len, (uint64_t(q.prompt_len) + 1) * q.width,
                   q.width)) {
        if (running.empty() && newly.empty())
          too_big(q, kv.capacity_tokens(), kv.reservation(q.prompt_len, q.output_len, q.width));
        break;
      }
      waiting.pop_front();
      newly.push_back(r);
      new_seqs += q.width;
      prefill_tokens += q.prompt_len;
    }
    // External fragmentation: free slots in holes too small for the request at the queue's head.
    const uint64_t external =
        waiting.empty() ? 0
                        : kv.free_in_holes_below(kv.reservation(trace[waiting.front()].prompt_len,
                                                                trace[waiting.front()].output_len,
                                                                trace[waiting.front()].width));
    prefill.clear();
    decode.clear();
    adapters.clear();
    for (size_t r : running)
      decode.insert(decode.end(), trace[r].width, trace[r].prompt_len + gen[r] + 1);
    for (size_t r : newly) prefill.push_back(trace[r].prompt_len);
    running.insert(running.end(), newly.begin(), newly.end());
    seqs += new_seqs;
    if (opt.lora)
      for (size_t r : running) adapters.push_back(trace[r].adapter);
    const EventCounts c =
        cost.iteration(prefill, decode, opt.lora ? distinct_adapters(adapters) : 0, &chip.comm_j);
    const double dt = cost.seconds(c);
    occ.add(dt, snapshot(kv, external), seqs);
    t += dt;
    chip.account(c, dt);
    size_t keep = 0;
    for (size_t r : running) {
      out.generated_tokens += trace[r].width;
      if (++gen[r] == 1) out.requests[r].first_token_s = t;
      if (gen[r] >= trace[r].output_len) {
        out.requests[r].finish_s = t;
        kv.release(r);
        seqs -= trace[r].width;
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

// vLLM: iteration-level scheduling on BlockManager (see scheduler.h, paged). Also DistServe's
// decode chip: with `prefilled` the requests arrive with their first token and K/V.
void run_paged(const std::vector<Request>& trace, const std::vector<Entry>& entries,
               CostModel& cost, const SchedulerOptions& opt, bool prefilled, ChipUsage& chip,
               ScheduleResult& out) {
  using SeqId = BlockManager::SeqId;
  const ModelInfo& m = cost.model();
  const TpuConfig& cfg = cost.config();
  const uint32_t bs = opt.block_size;
  const uint64_t block_bytes = uint64_t(bs) * m.kv_bytes_per_token();
  const double host_bw = double(cfg.host_link.bandwidth_mb_s) * 1e6;
  const double host_latency_s = double(cfg.host_link.latency_cycles) / cfg.clock_hz();
  const uint32_t max_tokens = opt.max_batch_tokens ? opt.max_batch_tokens : m.max_context;
  const size_t n_all = trace.size();
  out.swap_capacity_blocks = opt.swap_space_bytes / block_bytes;
  BlockManager bm(out.kv_capacity_tokens / bs, out.swap_capacity_blocks, bs);
  std::vector<uint32_t> gen(n_all, 0);
  std::vector<char> needs_prefill(n_all, prefilled ? 0 : 1), swapped(n_all, 0);
  std::vector<double> last_token(n_all, 0.0);  // time of each request's latest token
  if (prefilled)
    for (const Entry& e : entries) {
      gen[e.r] = 1;
      last_token[e.r] = out.requests[e.r].first_token_s;
    }
  auto sid = [](size_t r, uint32_t j) { return SeqId(r) * kMaxSeqWidth + j; };
  std::vector<SeqId> grp;
  auto group = [&](size_t r) -> const std::vector<SeqId>& {
    grp.clear();
    for (uint32_t j = 0; j < trace[r].width; ++j) grp.push_back(sid(r, j));
    return grp;
  };
  auto target = [&](size_t r) { return uint64_t(trace[r].prompt_len) + gen[r] + 1; };
  Rng beam_rng(0xbea5eedull);
  // A prefix every request shares (Request::prefix_len): its full blocks are computed once and
  // kept by a pinned sequence, and each group's prompt shares them (vLLM Section 4.4).
  constexpr SeqId kPrefixSeq = ~SeqId(0);
  uint32_t prefix = 0;
  for (const Entry& e : entries) prefix = std::max(prefix, trace[e.r].prefix_len);
  const uint64_t prefix_blocks = prefix / bs;
  if (prefix_blocks > 0 && !bm.allocate(kPrefixSeq, prefix_blocks * bs))
    throw InputError(fmt::format("shared prefix of {} tokens: more than the {} K/V blocks", prefix,
                                 bm.gpu_blocks()));
  std::deque<size_t> waiting;
  std::vector<size_t> running, newly;
  std::vector<uint32_t> prefill, decode;
  std::vector<int32_t> adapters;
  Occupancy occ;
  size_t next = 0, done = 0;
  uint64_t seqs = 0;  // sequences of the running groups
  double t = 0.0;
  const size_t n = entries.size();
  while (done < n) {
    while (next < n && entries[next].ready_s <= t) waiting.push_back(entries[next++].r);
    if (running.empty() && waiting.empty()) {
      t = entries[next].ready_s;
      continue;
    }
    uint64_t copy_blocks = 0;
    auto preempt = [&](size_t v) {
      ++out.preemptions;
      ++out.requests[v].preemptions;
      seqs -= trace[v].width;
      const bool swap =
          opt.preemption == "swap" || (opt.preemption == "auto" && trace[v].width > 1);
      if (swap) {
        const int64_t b = bm.swap_out(group(v));
        if (b >= 0) {
          copy_blocks += uint64_t(b);
          swapped[v] = 1;
          out.swap_peak_blocks = std::max(out.swap_peak_blocks, bm.used_cpu_blocks());
          return;
        }
        ++out.swap_fallbacks;  // the host swap space is full: recompute instead
      }
      for (SeqId s : group(v)) bm.free(s);
      needs_prefill[v] = 1;
    };
    // Running sequences grow by one token; preempt the latest admitted group when memory runs
    // out (vLLM's policy).
    for (size_t i = 0; i < running.size(); ++i) {
      const size_t r = running[i];
      bool self = false;
      for (uint32_t j = 0; j < trace[r].width && !self; ++j)
        while (bm.tokens(sid(r, j)) < target(r)) {
          if (bm.append_slot(sid(r, j)) != BlockManager::Append::kNoMemory) continue;
          const size_t v = running.back();
          running.pop_back();
          preempt(v);
          waiting.push_front(v);
          if (v == r) {
            self = true;
            break;
          }
        }
    }
    // Admission, FCFS.
    newly.clear();
    prefill.clear();
    decode.clear();
    uint64_t prefill_tokens = 0, new_seqs = 0;
    while (!waiting.empty() && seqs + new_seqs + trace[waiting.front()].width <= opt.max_batch) {
      const size_t r = waiting.front();
      const Request& q = trace[r];
      const uint32_t w = q.width;
      const bool alone = running.empty() && newly.empty();
      if (swapped[r]) {
        const int64_t b = bm.swap_in(group(r), w);
        if (b < 0) {
          if (!alone) break;
          // Cannot come back even alone (its blocks plus one per sequence): recompute.
          for (SeqId s : group(r)) bm.free(s);
          swapped[r] = 0;
          needs_prefill[r] = 1;
          continue;
        }
        copy_blocks += uint64_t(b);
        swapped[r] = 0;
        for (SeqId s : group(r))
          while (bm.tokens(s) < target(r))
            if (bm.append_slot(s) == BlockManager::Append::kNoMemory)
              throw std::logic_error("paged: a swapped-in group found no block for its token");
        decode.insert(decode.end(), w, uint32_t(target(r)));
      } else {
        // Fresh, recomputed or (disaggregated) transferred: the prompt's blocks once, shared by
        // the group's sequences, the rest of each sequence its own.
        const uint64_t len = uint64_t(q.prompt_len) + gen[r];
        // At least the prompt's last token is computed (it yields the first output).
        const uint64_t shared = std::min<uint64_t>(q.prefix_len, q.prompt_len - 1) / bs * bs;
        const uint64_t cost_tokens =
            gen[r] == 0 ? q.prompt_len - shared : uint64_t(w) * (len - shared);
        if (needs_prefill[r] && prefill_tokens > 0 && prefill_tokens + cost_tokens > max_tokens)
          break;
        const uint64_t full = q.prompt_len / bs;
        const uint64_t need = full - shared / bs + uint64_t(w) * (bm.blocks_for(len + 1) - full);
        if (need > bm.free_gpu_blocks()) {
          if (alone) too_big(q, bm.gpu_blocks() * bs, need * bs);
          break;
        }
        if (shared > 0)
          bm.allocate(sid(r, 0), q.prompt_len, &kPrefixSeq, shared);
        else
          bm.allocate(sid(r, 0), q.prompt_len);
        for (uint32_t j = 1; j < w; ++j) bm.fork(sid(r, 0), sid(r, j));
        for (SeqId s : group(r))
          while (bm.tokens(s) < len + 1)
            if (bm.append_slot(s) == BlockManager::Append::kNoMemory)
              throw std::logic_error("paged: admission miscounted its blocks");
        if (needs_prefill[r]) {
          prefill_tokens += cost_tokens;
          if (gen[r] == 0)
            prefill.push_back(uint32_t(q.prompt_len - shared));
          else
            prefill.insert(prefill.end(), w, uint32_t(len - shared));
        } else {
          decode.insert(decode.end(), w, uint32_t(len + 1));
        }
      }
      waiting.pop_front();
      newly.push_back(r);
      new_seqs += w;
    }
    for (size_t r : running) decode.insert(decode.end(), trace[r].width, uint32_t(target(r)));
    running.insert(running.end(), newly.begin(), newly.end());
    seqs += new_seqs;
    adapters.clear();
    if (opt.lora)
      for (size_t r : running) adapters.push_back(trace[r].adapter);
    EventCounts c = cost.iteration(prefill, decode, opt.lora ? distinct_adapters(adapters) : 0,
                                   &chip.comm_j, opt.paged_attention_overhead);
    if (copy_blocks) {
      const uint64_t bytes = copy_blocks * block_bytes;
      add_copy(c, cfg, swap_seconds(copy_blocks, block_bytes, m.layers, host_latency_s, host_bw));
      c.host_write_bytes += bytes;
      out.swap_bytes += bytes;
      out.swap_blocks += copy_blocks;
      out.swap_transfers += copy_blocks * 2 * m.layers;
    }
    const double dt = cost.seconds(c);
    occ.add(dt, snapshot(bm), seqs);
    t += dt;
    chip.account(c, dt);
    size_t keep = 0;
    for (size_t r : running) {
      const Request& q = trace[r];
      needs_prefill[r] = 0;
      out.generated_tokens += q.width;
      RequestResult& rr = out.requests[r];
      if (gen[r] > 0) rr.max_tbt_s = std::max(rr.max_tbt_s, t - last_token[r]);
      last_token[r] = t;
      if (++gen[r] == 1) out.requests[r].first_token_s = t;
      if (gen[r] >= q.output_len) {
        out.requests[r].finish_s = t;
        for (SeqId s : group(r)) bm.free(s);
        seqs -= q.width;
        ++done;
        if (opt.on_finished) opt.on_finished(1);
        continue;
      }
      if (q.beam)
        for (uint32_t j = 1; j < q.width; ++j)
          if (beam_rng.uniform01() < kBeamForkProbability) {
            const uint32_t parent = uint32_t(beam_rng.uniform_int(0, j - 1));
            bm.free(sid(r, j));
            bm.fork(sid(r, parent), sid(r, j));
          }
      running[keep++] = r;
    }
    running.resize(keep);
  }
  out.copy_on_writes = bm.copy_on_writes();
  occ.store(out);
}

void run_static(const std::vector<Request>& trace, CostModel& cost, const SchedulerOptions& opt,
                ChipUsage& chip, ScheduleResult& out) {
  const ModelInfo& m = cost.model();
  const size_t n = trace.size();
  KvCache kv(out.kv_capacity_tokens, opt.reserve, m.max_context, n);
  std::deque<size_t> waiting;
  std::vector<size_t> batch;
  uint64_t rows = 0;  // sequences of the batch
  std::vector<uint32_t> prefill, decode;
  std::vector<int32_t> adapters;
  Occupancy occ;
  size_t next = 0, done = 0;
  double t = 0.0;
  auto step = [&](const std::vector<uint32_t>& p, const std::vector<uint32_t>& d, uint32_t a) {
    const EventCounts c = cost.iteration(p, d, a, &chip.comm_j);
    const double dt = cost.seconds(c);
    const uint64_t external =
        waiting.empty() ? 0
                        : kv.free_in_holes_below(kv.reservation(trace[waiting.front()].prompt_len,
                                                                trace[waiting.front()].output_len,
                                                                trace[waiting.front()].width));
    occ.add(dt, snapshot(kv, external), rows);
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
    rows = 0;
    uint32_t pmax = 0, omax = 0;
    while (!waiting.empty() && rows + trace[waiting.front()].width <= opt.max_batch) {
      const size_t r = waiting.front();
      const Request& q = trace[r];
      if (!kv.grow(r, q.prompt_len, q.output_len, (uint64_t(q.prompt_len) + 1) * q.width,
                   q.width)) {
        if (batch.empty())
          too_big(q, kv.capacity_tokens(), kv.reservation(q.prompt_len, q.output_len, q.width));
        break;
      }
      waiting.pop_front();
      batch.push_back(r);
      rows += q.width;
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
    for (size_t r : batch) out.generated_tokens += trace[r].width;
    // Decode until the longest output is done; finished sequences still occupy their rows.
    prefill.clear();
    for (uint32_t j = 1; j < omax; ++j) {
      for (size_t r : batch) {
        const Request& q = trace[r];
        kv.grow(r, q.prompt_len, q.output_len,
                (uint64_t(q.prompt_len) + std::min(j + 1, q.output_len)) * q.width, q.width);
      }
      decode.assign(rows, std::min(pmax + j + 1, m.max_context));
      step(prefill, decode, na);
      for (size_t r : batch) out.generated_tokens += (j < trace[r].output_len) * trace[r].width;
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
      out.generated_tokens += trace[r].width;
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
  run_paged(trace, entries, cost, opt, true, dec, out);
  out.chips = {pre, dec};
}

}  // namespace

double swap_seconds(uint64_t blocks, uint64_t block_bytes, uint32_t layers, double latency_s,
                    double bytes_per_s) {
  const double transfers = double(blocks) * 2.0 * layers;
  return transfers * latency_s + double(blocks) * double(block_bytes) / bytes_per_s;
}

const std::vector<std::string>& scheduler_names() {
  static const std::vector<std::string> k = {"static", "continuous", "paged", "disaggregated"};
  return k;
}

uint64_t kv_capacity_tokens(const CostModel& cost) {
  if (const BaselineDevice* dev = cost.device()) {
    // The device's memory less the weights in the device's dtype; tp x pp: the tightest stage's
    // devices (its weight share in the device dtype, its K/V bytes per token).
    const double mem = dev->memory_gb * 1e9;
    if (cost.options().parallel()) {
      double cap = -1.0;
      for (const StageMemory& s : cost.stages()) {
        const double w = double(s.weight_bytes) * dtype_bytes(dev->dtype);
        if (mem <= w) return 0;
        const double kv = double(s.kv_bytes) * cost.model().kv_dtype_bytes;
        if (kv > 0) cap = cap < 0 ? (mem - w) / kv : std::min(cap, (mem - w) / kv);
      }
      return cap < 0 ? 0 : uint64_t(cap);
    }
    const double w = double(cost.model().weight_bytes) * dtype_bytes(dev->dtype);
    return mem > w ? uint64_t((mem - w) / double(cost.model().kv_bytes_per_token())) : 0;
  }
  const uint64_t mem = cost.config().weight_memory.bytes;
  if (cost.options().parallel()) {
    // Every token holds K/V on every stage: the tightest stage's chips bound the system.
    uint64_t cap = UINT64_MAX;
    for (const StageMemory& s : cost.stages()) {
      if (mem <= s.weight_bytes) return 0;
      const uint64_t kv = s.kv_bytes * cost.model().kv_dtype_bytes;
      if (kv) cap = std::min(cap, (mem - s.weight_bytes) / kv);
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
  if (opt.preemption != "recompute" && opt.preemption != "swap" && opt.preemption != "auto")
    throw InputError(fmt::format("preemption {}: one of recompute, swap, auto", opt.preemption));
  if (opt.max_batch == 0) throw InputError("max_batch: must be >= 1");
  if (opt.block_size == 0) throw InputError("block_size: must be >= 1");
  if (!(opt.paged_attention_overhead >= 0.0 && opt.paged_attention_overhead <= 10.0))
    throw InputError(
        fmt::format("paged_attention_overhead {}: allowed 0..10", opt.paged_attention_overhead));
  if ((opt.lora || opt.chunked_prefill_tokens) && opt.scheduler != "paged")
    throw InputError(fmt::format("{}: runs on the paged scheduler, not {}",
                                 opt.lora ? "lora (S-LoRA's unified paging)" : "chunked prefill",
                                 opt.scheduler));
  if (opt.lora_packed && !opt.lora) throw InputError("lora_packed: needs lora");
  for (size_t i = 1; i < trace.size(); ++i)
    if (trace[i].arrival_s < trace[i - 1].arrival_s)
      throw InputError("trace: requests must be sorted by arrival");
  const uint32_t ctx = cost.model().max_context;
  for (const Request& r : trace)
    if (r.prompt_len < 1 || r.output_len < 1 || uint64_t(r.prompt_len) + r.output_len > ctx)
      throw InputError(
          fmt::format("request {}: prompt {} + output {} must be in 2..{} (max_context)", r.id,
                      r.prompt_len, r.output_len, ctx));
  for (const Request& r : trace)
    if (r.width < 1 || r.width > kMaxSeqWidth || r.width > opt.max_batch)
      throw InputError(fmt::format(
          "request {}: {} sequences (samples or beams): allowed 1..{} and at most max_batch {}",
          r.id, r.width, kMaxSeqWidth, opt.max_batch));
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
    if (opt.scheduler == "paged" && (opt.lora || opt.chunked_prefill_tokens)) {
      if (opt.lora_packed)
        run_packed(trace, cost, opt, out);
      else
        run_unified(trace, cost, opt, out);
      return out;
    }
    if (opt.scheduler == "paged") {
      std::vector<Entry> entries(trace.size());
      for (size_t i = 0; i < trace.size(); ++i) entries[i] = Entry{i, trace[i].arrival_s};
      run_paged(trace, entries, cost, opt, false, chip, out);
    } else if (opt.pipeline && cost.options().pp > 1) {
      run_orca_pipelined(trace, cost, opt, chip, out);
    } else {
      run_contiguous(trace, cost, opt, chip, out);
    }
    out.chips = {chip};
  }
  return out;
}

}  // namespace tpusim::serve
