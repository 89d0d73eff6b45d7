#include "sim/studies/run/run_workload.h"

#include <fmt/format.h>

#include "models/errors.h"
#include "models/event_counts.h"
#include "sim/compiler/lowering.h"
#include "sim/engines/engine.h"
#include "sim/report/report_json.h"

namespace tpusim {

using nlohmann::json;

namespace {

// Cycles of `prog` on the fast engine, timing only: the total a clocked engine will reach.
uint64_t expected_cycles(const TpuConfig& cfg, const Program& prog) {
  EngineOptions fo;
  fo.values = false;
  fo.record_timeline = false;
  return run_engine("fast", cfg, prog, fo).counts.cycles;
}

// Whether `opt` asks for progress and its mode is a clocked engine (slow enough to need it).
bool reports_progress(const WorkloadRunOptions& opt) {
  return opt.progress && opt.mode != "fast" && engine_info(opt.mode).timed;
}

// One more batch of a stream (sim/compiler/lowering.h, LowerOptions::batches): T(2) - T(1) and
// every counter's difference, from a two-batch program on the same engine. Timing never depends
// on values (DESIGN invariant 5): the stream program is timing-only.
json steady_state(const TpuConfig& cfg, const Workload& wl, const WorkloadRunOptions& opt,
                  const EventCounts& cold) {
  // lower() says why when the workload cannot be streamed (one group without repeats).
  LowerOptions lo;
  lo.values = false;
  lo.seed = opt.seed;
  lo.batches = 2;
  LoweredProgram lp;
  try {
    lp = lower(cfg, wl, lo);
  } catch (const InputError& e) {
    return {{"measured", false}, {"why", e.what()}};
  }
  EngineOptions eo;
  eo.values = false;
  eo.record_timeline = false;
  const Program& prog = lp.segments.at(0).program;
  if (reports_progress(opt)) {
    const uint64_t expected = expected_cycles(cfg, prog);
    eo.on_cycles = [&](uint64_t c) { opt.progress({"steady state", c, expected}); };
  }
  const EngineResult r = run_engine(opt.mode, cfg, prog, eo);
  if (eo.on_cycles) opt.progress({"steady state", r.counts.cycles, r.counts.cycles});
  EventCounts d;
  for (const CountField& f : kCountFields) {
    if (f.group == CountGroup::kLowering) continue;
    const uint64_t two = r.counts.*f.member, one = cold.*f.member;
    d.*f.member = two > one ? two - one : 0;
  }
  d.useful_macs = cold.useful_macs;
  json j = totals_json(cfg, d);
  set_useful(j, d.useful_macs);
  j["measured"] = true;
  j["double_buffered"] = lp.double_buffered;
  j["cold_cycles"] = cold.cycles;
  j["stream_cycles"] = r.counts.cycles;
  j["speedup_over_cold"] = d.cycles > 0 ? double(cold.cycles) / double(d.cycles) : 0.0;
  return j;
}

}  // namespace

json run_workload_report(const TpuConfig& cfg, const std::string& workload,
                         const WorkloadParams& params, const WorkloadRunOptions& opt) {
  return run_workload_report(cfg, load_workload(workload, params), opt);
}

json run_workload_report(const TpuConfig& cfg, const Workload& wl, const WorkloadRunOptions& opt) {
  // Capacity (DESIGN invariant 7): reported, never hidden.
  const uint64_t wbytes = wl.weight_bytes();
  const uint64_t wmem = cfg.weight_memory.bytes;
  const bool fits = wbytes <= wmem;
  const uint64_t chips = (wbytes + wmem - 1) / wmem;
  if (!fits) {
    std::string msg =
        fmt::format("{}: {} weight bytes exceed {}'s {} bytes of weight memory ({} chips needed)",
                    wl.name, wbytes, cfg.name, wmem, chips);
    if (opt.strict_capacity) throw InputError(msg + " (strict capacity)");
    if (opt.warn) opt.warn(msg + "; simulating one chip as a what-if");
  }

  const bool values = !opt.timing_only;
  const EngineInfo& engine = engine_info(opt.mode);  // throws for a mode this build lacks
  const bool timed = engine.timed;
  EngineOptions eo;
  eo.values = values;
  eo.record_timeline = false;
  check_options(engine, eo);  // before the lowering, which may take long
  LowerOptions lo;
  lo.values = values;
  lo.seed = opt.seed;
  lo.unroll = values;
  const LoweredProgram lp = lower(cfg, wl, lo);

  EventCounts total;
  std::vector<EventCounts> per_layer(lp.layers.size());
  uint64_t out_hash = 0xcbf29ce484222325ull;
  // Progress: the segments' expected cycles, each segment once (repeats are multiplied, not run).
  std::vector<uint64_t> expected;
  uint64_t expected_total = 0, done_before = 0;
  if (reports_progress(opt)) {
    for (const Segment& seg : lp.segments) {
      expected.push_back(expected_cycles(cfg, seg.program));
      expected_total += expected.back();
    }
    eo.on_cycles = [&](uint64_t c) { opt.progress({"run", done_before + c, expected_total}); };
  }
  for (size_t s = 0; s < lp.segments.size(); ++s) {
    const Segment& seg = lp.segments[s];
    eo.layer_of = &seg.layer_of;
    eo.layers = lp.layers.size();
    const EngineResult r = run_engine(opt.mode, cfg, seg.program, eo);
    if (eo.on_cycles) {
      done_before += expected[s];
      opt.progress({"run", done_before, expected_total});
    }
    if (r.has_values)
      for (const auto& w : r.values.host_writes)
        out_hash = fnv1a64(r.values.state.host.data() + w.host_vector * cfg.vector_bytes(),
                           w.vectors * cfg.vector_bytes(), out_hash);
    for (uint64_t rep = 0; rep < seg.repeat; ++rep) total += r.counts;
    for (size_t l = 0; l < r.per_layer.size(); ++l)
      for (uint64_t rep = 0; rep < seg.repeat; ++rep) per_layer[l] += r.per_layer[l];
  }
  json layers = json::array();
  for (size_t l = 0; l < lp.layers.size(); ++l) {
    const LayerInfo& info = lp.layers[l];
    EventCounts& c = per_layer[l];
    c.useful_macs = info.useful_macs * info.repeat;
    total.useful_macs += c.useful_macs;
    json j = timed ? layer_totals_json(cfg, c) : counts_json(c, false);
    j["name"] = info.name;
    j["kind"] = layer_kind_name(info.kind);
    j["repeat"] = info.repeat;
    j["useful_macs"] = c.useful_macs;
    if (timed && c.useful_macs > 0) set_useful(j, c.useful_macs);
    j["weight_bytes"] = info.weight_bytes * info.repeat;
    // How often the layer's weights came from weight memory: once per accumulator block and
    // item chunk of its phase (sim/compiler/lowering.h), useful bytes of the tiles read.
    j["weight_bytes_read"] = info.weight_bytes_read * info.repeat;
    j["weight_reads"] = info.weight_bytes > 0
                            ? json(double(info.weight_bytes_read) / double(info.weight_bytes))
                            : json(nullptr);
    j["item_chunks"] = info.chunks;
    layers.push_back(std::move(j));
  }
  json wj{{"name", wl.name},
          {"paper", wl.paper},
          {"description", wl.description},
          {"file", wl.file},
          {"assumptions", wl.assumptions},
          {"weight_bytes", wbytes},
          {"ops_per_weight_byte", wl.ops_per_weight_byte()}};
  wj["batch"] = wl.batch;
  if (!wl.phase.empty()) {
    wj["phase"] = wl.phase;
    wj["prompt_len"] = wl.prompt_len;
    wj["context_len"] = wl.context_len;
  }
  json rep{{"tool", tool_json()},
           {"arch", arch_json(cfg)},
           {"workload", wj},
           {"mode", opt.mode},
           {"timing_only", opt.timing_only},
           {"totals", timed ? totals_json(cfg, total) : counts_json(total, false)},
           {"layers", layers},
           {"capacity",
            {{"weight_bytes", wbytes},
             {"weight_memory_bytes", wmem},
             {"fits", fits},
             {"chips_needed", chips}}},
           {"lowering",
            {{"segments", lp.segments.size()},
             {"instructions", lp.instructions()},
             {"weight_addresses_wrapped", lp.weight_addresses_wrapped}}}};
  json bounds = json::array();
  for (const GroupBoundary& b : lp.boundaries) {
    json e{{"from", b.from}, {"to", b.to}, {"vectors", b.vectors}, {"on_chip", b.on_chip}};
    if (!b.on_chip) e["why"] = b.why;
    bounds.push_back(std::move(e));
  }
  rep["lowering"]["group_boundaries"] = std::move(bounds);
  if (total.useful_macs > 0 && timed) {
    set_useful(rep["totals"], total.useful_macs);
  } else if (total.useful_macs > 0) {
    rep["totals"]["useful_macs"] = total.useful_macs;
  }
  if (values) rep["outputs"] = {{"fnv1a64", fmt::format("{:016x}", out_hash)}};
  if (opt.steady && timed) rep["steady_state"] = steady_state(cfg, wl, opt, total);
  return rep;
}

}  // namespace tpusim
