#include "sim/studies/serve/unified_paging.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>
#include <map>
#include <stdexcept>

#include <fmt/format.h>

#include "models/errors.h"
#include "sim/studies/serve/block_manager.h"

namespace tpusim::serve {

namespace {

using SeqId = BlockManager::SeqId;
constexpr SeqId kAdapterSeq = SeqId(1) << 62;  // adapter a holds sequence kAdapterSeq | a

// One paged instance: a model copy with its own pool, requests `reqs` of the trace.
class Instance {
 public:
  Instance(const std::vector<Request>& trace, std::vector<size_t> reqs, CostModel& cost,
           const SchedulerOptions& opt, uint64_t capacity_tokens, bool lora, ScheduleResult& out,
           ChipUsage& chip, const PoolObserver* observe = nullptr)
      : trace_(trace),
        reqs_(std::move(reqs)),
        cost_(cost),
        opt_(opt),
        lora_(lora),
        out_(out),
        chip_(chip),
        bm_(capacity_tokens / opt.block_size, 0, opt.block_size),
        gen_(trace.size(), 0),
        prefilled_(trace.size(), 0),
        prefill_len_(trace.size(), 0),
        chunk_(trace.size(), 0),
        last_token_s_(trace.size(), 0.0),
        observe_(observe) {
    const ModelInfo& m = cost.model();
    max_tokens_ = opt.chunked_prefill_tokens ? opt.chunked_prefill_tokens
                  : opt.max_batch_tokens     ? opt.max_batch_tokens
                                             : m.max_context;
  }

  bool finished() const { return done_ == reqs_.size(); }
  double next_arrival() const {
    return next_ < reqs_.size() ? trace_[reqs_[next_]].arrival_s
                                : std::numeric_limits<double>::infinity();
  }
  // Queues the arrivals up to `t`; true if there is work.
  bool ready(double t) {
    while (next_ < reqs_.size() && trace_[reqs_[next_]].arrival_s <= t)
      waiting_.push_back(reqs_[next_++]);
    return !running_.empty() || !waiting_.empty();
  }
  uint64_t pool_slots() const { return bm_.gpu_blocks() * bm_.block_size(); }
  // After the last step's admissions: slots held by K/V tokens, allocated to K/V, adapters.
  uint64_t used_slots = 0, allocated_slots = 0, adapter_slots = 0, running = 0;

  // One iteration starting at `t`; returns its seconds.
  double step(double t);

 private:
  struct Adapter {
    uint64_t blocks = 0, users = 0;
    double last_used_s = 0.0;
  };
  bool in_prefill(size_t r) const { return prefilled_[r] < prefill_len_[r]; }
  SeqId adapter_seq(int32_t a) const { return kAdapterSeq | SeqId(uint32_t(a)); }
  // Evicts the least recently used resident adapter nobody runs with; false if there is none.
  bool evict_one() {
    auto victim = resident_.end();
    for (auto it = resident_.begin(); it != resident_.end(); ++it)
      if (it->second.users == 0 &&
          (victim == resident_.end() || it->second.last_used_s < victim->second.last_used_s))
        victim = it;
    if (victim == resident_.end()) return false;
    bm_.free(adapter_seq(victim->first));
    resident_.erase(victim);
    ++out_.adapter_evictions;
    return true;
  }
  void release_adapter(size_t r, double t) {
    if (!lora_ || trace_[r].adapter < 0) return;
    Adapter& a = resident_.at(trace_[r].adapter);
    --a.users;
    a.last_used_s = t;
  }
  void preempt(size_t v, double t) {
    ++out_.preemptions;
    ++out_.requests[v].preemptions;
    bm_.free(SeqId(v));
    release_adapter(v, t);
    prefilled_[v] = prefill_len_[v] = 0;
    chunk_[v] = 0;
  }

  const std::vector<Request>& trace_;
  std::vector<size_t> reqs_;
  CostModel& cost_;
  const SchedulerOptions& opt_;
  bool lora_;
  ScheduleResult& out_;
  ChipUsage& chip_;
  BlockManager bm_;
  uint32_t max_tokens_ = 0;
  std::vector<uint32_t> gen_, prefilled_, prefill_len_, chunk_;
  std::vector<double> last_token_s_;
  const PoolObserver* observe_;
  std::map<int32_t, Adapter> resident_;  // ordered: deterministic eviction ties
  std::deque<size_t> waiting_;
  std::vector<size_t> running_;  // in admission order
  size_t next_ = 0, done_ = 0;
};

double Instance::step(double t) {
  const ModelInfo& m = cost_.model();
  const uint32_t bs = bm_.block_size();
  const bool chunked = opt_.chunked_prefill_tokens > 0;
  double copy_s = 0.0;
  // Running decodes grow by one token; memory is found by evicting unused adapters, then by
  // preempting the latest admitted request (recompute, vLLM's policy).
  for (size_t i = 0; i < running_.size(); ++i) {
    const size_t r = running_[i];
    if (in_prefill(r)) continue;  // its prompt's blocks were allocated on admission
    const uint64_t target = uint64_t(trace_[r].prompt_len) + gen_[r] + 1;
    bool self = false;
    while (!self && bm_.tokens(SeqId(r)) < target) {
      if (bm_.append_slot(SeqId(r)) != BlockManager::Append::kNoMemory) continue;
      if (evict_one()) continue;
      const size_t v = running_.back();
      running_.pop_back();
      preempt(v, t);
      waiting_.push_front(v);
      self = v == r;
    }
  }
  // Token budget: chunked, every token of the iteration; else the new prompts'.
  uint64_t budget = max_tokens_;
  if (chunked) {
    uint64_t decodes = 0;
    for (size_t r : running_) decodes += in_prefill(r) ? 0 : 1;
    budget = budget > decodes ? budget - decodes : 0;
    for (size_t r : running_)
      if (in_prefill(r)) {
        chunk_[r] = uint32_t(std::min<uint64_t>(budget, prefill_len_[r] - prefilled_[r]));
        budget -= chunk_[r];
      }
  }
  // Admission, FCFS: the adapter (loaded if not resident) and the blocks of prompt (+ tokens
  // generated before a preemption) + the next token.
  uint64_t prefill_tokens = 0;
  while (!waiting_.empty() && running_.size() < opt_.max_batch && budget > 0) {
    const size_t r = waiting_.front();
    const Request& q = trace_[r];
    const uint64_t len = uint64_t(q.prompt_len) + gen_[r];
    if (!chunked && prefill_tokens > 0 && prefill_tokens + len > budget) break;
    const bool alone = running_.empty();
    const bool adapted = lora_ && q.adapter >= 0;  // a request without an adapter: the base model
    const bool load = adapted && !resident_.count(q.adapter);
    const uint32_t rank = adapted ? m.adapter_rank(q.adapter) : 0;
    const uint64_t adapter_need = load ? adapter_blocks(cost_, rank, bs) : 0;
    const uint64_t need = bm_.blocks_for(len + 1) + adapter_need;
    // A resident adapter is pinned while others are evicted for its request.
    if (adapted && !load) ++resident_.at(q.adapter).users;
    while (need > bm_.free_gpu_blocks() && evict_one()) {}
    if (need > bm_.free_gpu_blocks()) {
      if (adapted && !load) --resident_.at(q.adapter).users;
      if (alone)
        throw InputError(fmt::format(
            "request {} (prompt {}, output {}{}) needs {} K/V pool blocks of {} tokens but the "
            "pool holds {}: out of memory (raise weight memory, lower the ranks or the copies)",
            q.id, q.prompt_len, q.output_len,
            adapted ? fmt::format(", adapter {} of rank {}", q.adapter, rank) : std::string(), need,
            bs, bm_.gpu_blocks()));
      break;
    }
    if (load) {
      const uint64_t bytes = cost_.adapter_bytes(rank);
      if (!bm_.allocate(adapter_seq(q.adapter), adapter_need * bs))
        throw std::logic_error("unified paging: adapter admission miscounted its blocks");
      Adapter& a = resident_[q.adapter];
      a.blocks = adapter_need;
      ++a.users;  // a resident one was pinned above
      const double s = adapter_load_seconds(cost_, bytes);
      copy_s += s;
      ++out_.adapter_loads;
      out_.adapter_load_bytes += bytes;
      out_.adapter_load_s += s;
      out_.peak_resident_adapters =
          std::max<uint64_t>(out_.peak_resident_adapters, resident_.size());
    }
    if (!bm_.allocate(SeqId(r), len + 1))
      throw std::logic_error("unified paging: admission miscounted its blocks");
    prefill_len_[r] = uint32_t(len);
    prefilled_[r] = 0;
    chunk_[r] = uint32_t(chunked ? std::min<uint64_t>(budget, len) : len);
    if (chunked) budget -= chunk_[r];
    prefill_tokens += len;
    waiting_.pop_front();
    running_.push_back(r);
  }
  // The iteration: prefill chunks, decodes, each adapter's tokens.
  std::vector<CostModel::PrefillChunk> prefill;
  std::vector<uint32_t> decode;
  std::map<int32_t, uint64_t> adapter_tokens;
  for (size_t r : running_) {
    uint64_t tokens = 0;
    if (in_prefill(r)) {
      if (chunk_[r] == 0) continue;
      prefill.push_back({prefilled_[r], chunk_[r], prefilled_[r] + chunk_[r] == prefill_len_[r]});
      tokens = chunk_[r];
    } else {
      decode.push_back(trace_[r].prompt_len + gen_[r] + 1);
      tokens = 1;
    }
    if (lora_ && trace_[r].adapter >= 0) adapter_tokens[trace_[r].adapter] += tokens;
  }
  std::vector<CostModel::LoraUse> lora;
  for (const auto& [a, tokens] : adapter_tokens) lora.push_back({m.adapter_rank(a), tokens});
  EventCounts c = cost_.iteration_chunked(prefill, decode, lora, &chip_.comm_j);
  if (copy_s > 0.0) {
    const uint64_t cycles = uint64_t(std::ceil(copy_s * cost_.config().clock_hz()));
    c.cycles += cycles;
    c.non_matrix_cycles += cycles;
  }
  const double dt = cost_.seconds(c);
  chip_.account(c, dt);
  // The pool after admission (what the iteration ran with).
  adapter_slots = 0;
  for (const auto& [a, ad] : resident_) adapter_slots += ad.blocks * bs;
  used_slots = bm_.used_gpu_slots() - adapter_slots;
  allocated_slots = bm_.used_gpu_blocks() * bs - adapter_slots;
  running = running_.size();
  // Completions at t + dt.
  const double end = t + dt;
  size_t keep = 0;
  for (size_t r : running_) {
    const Request& q = trace_[r];
    if (in_prefill(r)) {
      prefilled_[r] += chunk_[r];
      chunk_[r] = 0;
      if (in_prefill(r)) {  // more chunks to come
        running_[keep++] = r;
        continue;
      }
    }
    ++out_.generated_tokens;
    RequestResult& rr = out_.requests[r];
    if (gen_[r] > 0) rr.max_tbt_s = std::max(rr.max_tbt_s, end - last_token_s_[r]);
    last_token_s_[r] = end;
    if (++gen_[r] == 1) rr.first_token_s = end;
    if (gen_[r] >= q.output_len) {
      out_.requests[r].finish_s = end;
      bm_.free(SeqId(r));
      release_adapter(r, end);
      ++done_;
      if (opt_.on_finished) opt_.on_finished(1);
      continue;
    }
    running_[keep++] = r;
  }
  running_.resize(keep);
  if (observe_ && *observe_) (*observe_)(bm_);
  return dt;
}

// Time-weighted pool occupancy over one or more instances sharing the chip.
struct PoolOccupancy {
  double time = 0, used = 0, internal = 0, adapters = 0, alloc = 0, util = 0, util_time = 0,
         running = 0;
  uint64_t max_running = 0;
  void add(double dt, const std::vector<Instance>& inst) {
    uint64_t cap = 0, used_s = 0, alloc_s = 0, ad = 0, run = 0;
    for (const Instance& i : inst) {
      cap += i.pool_slots();
      used_s += i.used_slots;
      alloc_s += i.allocated_slots;
      ad += i.adapter_slots;
      run += i.running;
    }
    time += dt;
    running += dt * double(run);
    max_running = std::max(max_running, run);
    if (cap) {
      used += dt * double(used_s + ad) / double(cap);
      internal += dt * double(alloc_s - used_s) / double(cap);
      adapters += dt * double(ad) / double(cap);
      alloc += dt * double(alloc_s + ad) / double(cap);
    }
    if (alloc_s) {
      util += dt * double(used_s) / double(alloc_s);
      util_time += dt;
    }
  }
  void store(ScheduleResult& out) const {
    if (time <= 0) return;
    out.kv_used = used / time;
    out.kv_internal = internal / time;
    out.kv_adapters = adapters / time;
    out.kv_free = std::max(0.0, 1.0 - out.kv_used - out.kv_internal);
    out.kv_allocated_fraction = alloc / time;
    out.kv_utilization = util_time > 0 ? util / util_time : 0.0;
    out.mean_running = running / time;
    out.max_running = max_running;
  }
};

// Round robin over the instances with work, one iteration each, on one clock.
void drive(std::vector<Instance>& inst, ScheduleResult& out) {
  PoolOccupancy occ;
  double t = 0.0;
  for (;;) {
    bool all_done = true, any = false;
    for (Instance& i : inst) {
      if (i.finished()) continue;
      all_done = false;
      if (!i.ready(t)) continue;
      const double dt = i.step(t);
      occ.add(dt, inst);
      t += dt;
      any = true;
    }
    if (all_done) break;
    if (!any) {
      double next = std::numeric_limits<double>::infinity();
      for (const Instance& i : inst) next = std::min(next, i.next_arrival());
      t = std::max(t, next);
    }
  }
  occ.store(out);
}

void check_single_sequences(const std::vector<Request>& trace, const char* what) {
  for (const Request& r : trace)
    if (r.width > 1 || r.prefix_len > 0)
      throw InputError(fmt::format(
          "request {}: {} serves requests of one sequence without a shared prefix (samples, "
          "beam_width and shared_prefix are for the paged scheduler without it)",
          r.id, what));
}

}  // namespace

uint64_t adapter_blocks(const CostModel& cost, uint32_t rank, uint32_t block_size) {
  const uint64_t block_bytes = uint64_t(block_size) * cost.model().kv_bytes_per_token();
  return std::max<uint64_t>(1, (cost.adapter_bytes(rank) + block_bytes - 1) / block_bytes);
}

double adapter_load_seconds(const CostModel& cost, uint64_t bytes) {
  if (const BaselineDevice* dev = cost.device())
    return dev->host_link_gb_s > 0.0 ? double(bytes) / (dev->host_link_gb_s * 1e9) : 0.0;
  const TpuConfig& cfg = cost.config();
  const double transfers = 2.0 * double(cost.model().lora_targets.size()) * cost.model().layers;
  return transfers * double(cfg.host_link.latency_cycles) / cfg.clock_hz() +
         double(bytes) / (double(cfg.host_link.bandwidth_mb_s) * 1e6);
}

void run_unified(const std::vector<Request>& trace, CostModel& cost, const SchedulerOptions& opt,
                 ScheduleResult& out, const PoolObserver& observe) {
  check_single_sequences(trace, opt.lora ? "LoRA serving" : "chunked prefill");
  std::vector<size_t> all(trace.size());
  for (size_t i = 0; i < trace.size(); ++i) all[i] = i;
  ChipUsage chip{"colocated", {}, 0.0, 0, 0.0};
  std::vector<Instance> inst;
  inst.emplace_back(trace, std::move(all), cost, opt, out.kv_capacity_tokens, opt.lora, out, chip,
                    &observe);
  drive(inst, out);
  out.chips = {chip};
}

void run_packed(const std::vector<Request>& trace, CostModel& cost, const SchedulerOptions& opt,
                ScheduleResult& out) {
  check_single_sequences(trace, "vLLM-packed");
  if (cost.options().parallel()) throw InputError("lora_packed: one chip only (no tp / pp)");
  std::map<int32_t, std::vector<size_t>> by_adapter;  // -1: the base model's own copy
  for (size_t i = 0; i < trace.size(); ++i) by_adapter[std::max(trace[i].adapter, -1)].push_back(i);
  const uint64_t copies = by_adapter.size();
  // One copy leaves kv_capacity_tokens; each further copy takes its weights from the K/V.
  const uint64_t kv_token = cost.model().kv_bytes_per_token();
  const double weight_bytes =
      double(cost.model().weight_bytes) * (cost.device() ? dtype_bytes(cost.device()->dtype) : 1.0);
  const double free_bytes =
      double(out.kv_capacity_tokens) * double(kv_token) - double(copies - 1) * weight_bytes;
  const uint64_t per_copy =
      free_bytes > 0 ? uint64_t(free_bytes / double(copies) / double(kv_token)) : 0;
  if (per_copy < opt.block_size)
    throw InputError(fmt::format(
        "vLLM-packed: {} copies of {} ({:.1f} GB each) leave no K/V memory (out of memory)", copies,
        cost.model().name, weight_bytes / 1e9));
  out.packed_copies = copies;
  out.kv_capacity_tokens = per_copy * copies;
  ChipUsage chip{"colocated", {}, 0.0, 0, 0.0};
  std::vector<Instance> inst;
  inst.reserve(copies);
  for (auto& [a, reqs] : by_adapter)
    inst.emplace_back(trace, std::move(reqs), cost, opt, per_copy, false, out, chip);
  drive(inst, out);
  out.chips = {chip};
}

}  // namespace tpusim::serve
