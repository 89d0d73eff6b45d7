#include "sim/report/chrome_trace.h"

#include <algorithm>
#include <array>

#include <fmt/format.h>

#include "models/energy.h"
#include "sim/compiler/lowering.h"
#include "sim/engines/functional/functional.h"
#include "sim/isa/timing.h"

namespace tpusim {

using nlohmann::json;

namespace {

__extension__ typedef unsigned __int128 U128;

// Track ids (Chrome "tid") in display order.
enum Track : int { kController = 1, kHostDma, kWeightDma, kMxu, kActivation, kLayer };
const char* track_name(int t) {
  switch (t) {
    case kController:
      return "controller";
    case kHostDma:
      return "host DMA";
    case kWeightDma:
      return "weight DMA";
    case kMxu:
      return "MXU (matrix unit)";
    case kActivation:
      return "activation unit";
    default:
      return "layer";
  }
}
constexpr int kPid = 1;

uint64_t part_cycles(const TracePart& p) { return p.result->counts.cycles; }

void check_part(const TracePart& p) {
  if (!p.program || !p.result)
    throw std::logic_error("chrome_trace: a part without program or result");
  if (p.result->timeline.size() != p.program->code.size())
    throw std::logic_error(
        "chrome_trace: the result has no timeline (EngineOptions::record_timeline)");
  if (p.layer_of && p.layer_of->size() != p.program->code.size())
    throw std::logic_error("chrome_trace: layer_of must have one entry per instruction");
}

// Busy span of the unit an instruction occupies, [begin, end) in the part's cycles; the
// controller-only instructions (sync, halt, nop, set-config) return track 0.
struct UnitSpan {
  int track = 0;
  uint64_t begin = 0, end = 0;
};
UnitSpan unit_span(const TpuConfig& cfg, const Instruction& in, const InstrTiming& t) {
  switch (in.op) {
    case Opcode::kReadHost:
    case Opcode::kWriteHost:
      return {kHostDma, t.issue, t.done};
    case Opcode::kReadWeights: {
      // The bus is busy until the last tile left it; the weight memory latency follows.
      const uint64_t lat = timing::weight_memory_latency_cycles(cfg);
      return {kWeightDma, t.issue, std::max(t.issue, t.done >= lat ? t.done - lat : t.issue)};
    }
    case Opcode::kMatmul:
      // Injection cycles: the MXU accepts the next mmc right after them (results drain
      // mxu_latency_cycles later, given as `done` in the slice's args).
      return {kMxu, t.issue, t.issue + in.c};
    case Opcode::kActivate:
      return {kActivation, t.issue, t.done};
    default:
      return {};
  }
}

}  // namespace

IntervalCounts interval_counts(const TpuConfig& cfg, const std::vector<TracePart>& parts,
                               uint32_t intervals) {
  uint64_t total = 0;
  for (const TracePart& p : parts) {
    check_part(p);
    total += part_cycles(p);
  }
  IntervalCounts ic;
  const uint64_t n = std::max<uint64_t>(1, std::min<uint64_t>(intervals, total));
  ic.begin_cycle.resize(n + 1);
  for (uint64_t i = 0; i <= n; ++i) ic.begin_cycle[i] = uint64_t(U128(total) * i / n);
  ic.counts.resize(n);
  for (uint64_t i = 0; i < n; ++i) ic.counts[i].cycles = ic.begin_cycle[i + 1] - ic.begin_cycle[i];
  if (total == 0) return ic;

  uint64_t offset = 0;
  EventCounts w;
  for (const TracePart& p : parts) {
    const uint64_t end_of_part = offset + part_cycles(p);
    WorkCounter work(cfg);
    for (size_t pc = 0; pc < p.program->code.size(); ++pc) {
      w = EventCounts{};
      work.add(p.program->code[pc], w);
      const InstrTiming& t = p.result->timeline[pc];
      const uint64_t s = std::min(offset + t.issue, end_of_part - 1);
      const uint64_t e = std::min(std::max(offset + t.done, s + 1), end_of_part);
      const uint64_t span = e - s;
      // First interval holding cycle s.
      size_t k = size_t(std::upper_bound(ic.begin_cycle.begin(), ic.begin_cycle.end(), s) -
                        ic.begin_cycle.begin()) -
                 1;
      if (e <= ic.begin_cycle[k + 1]) {
        ic.counts[k] += w;
        continue;
      }
      // Spread in proportion to the overlap: interval j gets floor(v C_j / span) -
      // floor(v C_{j-1} / span), C_j the overlap up to its end, so the shares sum to v.
      uint64_t cum_prev = 0;
      for (; k < n && ic.begin_cycle[k] < e; ++k) {
        const uint64_t cum = std::min(e, ic.begin_cycle[k + 1]) - s;
        // The work counters of count_work, split field by field.
        for (const CountField& f : kCountFields) {
          if (f.group != CountGroup::kWork && f.group != CountGroup::kBytes &&
              f.group != CountGroup::kPerMxu)
            continue;
          const uint64_t v = w.*f.member;
          if (v == 0) continue;
          ic.counts[k].*f.member +=
              uint64_t(U128(v) * cum / span) - uint64_t(U128(v) * cum_prev / span);
        }
        cum_prev = cum;
      }
    }
    offset = end_of_part;
  }
  return ic;
}

json chrome_trace(const TpuConfig& cfg, const std::vector<TracePart>& parts,
                  const TraceOptions& opt) {
  const double mhz = double(cfg.clock_mhz);
  auto us = [mhz](uint64_t cycle) { return double(cycle) / mhz; };
  json events = json::array();
  events.push_back({{"name", "process_name"},
                    {"ph", "M"},
                    {"pid", kPid},
                    {"args", {{"name", fmt::format("tpusim {}", cfg.name)}}}});
  bool any_layers = false;
  for (const TracePart& p : parts) any_layers = any_layers || (p.layer_of && p.layer_names);
  for (int tr = kController; tr <= (any_layers ? kLayer : kActivation); ++tr) {
    events.push_back({{"name", "thread_name"},
                      {"ph", "M"},
                      {"pid", kPid},
                      {"tid", tr},
                      {"args", {{"name", track_name(tr)}}}});
    events.push_back({{"name", "thread_sort_index"},
                      {"ph", "M"},
                      {"pid", kPid},
                      {"tid", tr},
                      {"args", {{"sort_index", tr}}}});
  }

  uint64_t offset = 0, slices = 0, complete_to_cycle = 0;
  bool truncated = false;
  json parts_meta = json::array();
  EventCounts total_counts;
  auto slice = [&](int tid, const std::string& name, const char* cat, uint64_t b, uint64_t e,
                   json args) {
    events.push_back({{"name", name},
                      {"cat", cat},
                      {"ph", "X"},
                      {"pid", kPid},
                      {"tid", tid},
                      {"ts", us(b)},
                      {"dur", us(e - b)},
                      {"args", std::move(args)}});
    ++slices;
  };
  for (const TracePart& p : parts) {
    check_part(p);
    const Program& prog = *p.program;
    const auto& tl = p.result->timeline;
    total_counts += p.result->counts;
    parts_meta.push_back({{"name", p.name},
                          {"start_cycle", offset},
                          {"cycles", part_cycles(p)},
                          {"instructions", prog.code.size()},
                          {"repeat", p.repeat}});
    const bool layers = p.layer_of && p.layer_names;
    uint64_t prev_issue = 0;
    size_t layer_begin_pc = 0;
    for (size_t pc = 0; pc < prog.code.size() && !truncated; ++pc) {
      if (slices >= opt.max_slices) {
        truncated = true;
        complete_to_cycle = offset + (pc == 0 ? 0 : prev_issue + 1);
        break;
      }
      const Instruction& in = prog.code[pc];
      const InstrTiming& t = tl[pc];
      const std::string layer = layers ? (*p.layer_names)[(*p.layer_of)[pc]] : std::string();
      json args{{"pc", pc}, {"issue_cycle", offset + t.issue}, {"done_cycle", offset + t.done}};
      if (layers) args["layer"] = layer;
      const uint64_t held0 = pc == 0 ? 0 : prev_issue + 1;
      slice(kController, mnemonic(in.op), "controller", offset + held0, offset + t.issue + 1, args);
      const UnitSpan u = unit_span(cfg, in, t);
      if (u.track != 0)
        slice(u.track, mnemonic(in.op), "unit", offset + u.begin, offset + u.end, args);
      // Layer track: one slice per run of consecutive instructions of one layer, from the first
      // one's held cycles to the last one's issue.
      if (layers && (pc + 1 == prog.code.size() || (*p.layer_of)[pc + 1] != (*p.layer_of)[pc])) {
        const uint64_t b = layer_begin_pc == 0 ? 0 : tl[layer_begin_pc - 1].issue + 1;
        slice(kLayer, layer, "layer", offset + b, offset + t.issue + 1,
              {{"first_pc", layer_begin_pc}, {"last_pc", pc}});
        layer_begin_pc = pc + 1;
      }
      prev_issue = t.issue;
    }
    offset += part_cycles(p);
  }

  // Power counter: interval energy / interval seconds, dynamic and static stacked.
  const IntervalCounts ic = interval_counts(cfg, parts, opt.intervals);
  json intervals = json::array();
  double interval_energy = 0.0;
  for (size_t i = 0; i < ic.counts.size(); ++i) {
    const EnergyResult e = estimate_energy(cfg, ic.counts[i]);
    interval_energy += e.total_j;
    const double dyn_w = e.seconds > 0 ? e.dynamic_j / e.seconds : 0.0;
    const double stat_w = e.seconds > 0 ? e.static_j / e.seconds : 0.0;
    events.push_back({{"name", "power (W)"},
                      {"ph", "C"},
                      {"pid", kPid},
                      {"ts", us(ic.begin_cycle[i])},
                      {"args", {{"dynamic", dyn_w}, {"static", stat_w}}}});
    intervals.push_back({{"start_cycle", ic.begin_cycle[i]},
                         {"cycles", ic.counts[i].cycles},
                         {"seconds", e.seconds},
                         {"energy_j", e.total_j},
                         {"dynamic_j", e.dynamic_j},
                         {"static_j", e.static_j},
                         {"avg_power_w", e.avg_power_w},
                         {"macs", ic.counts[i].macs}});
  }
  events.push_back({{"name", "power (W)"},
                    {"ph", "C"},
                    {"pid", kPid},
                    {"ts", us(offset)},
                    {"args", {{"dynamic", 0.0}, {"static", 0.0}}}});

  const EnergyResult whole = estimate_energy(cfg, total_counts);
  json meta{{"tool", "tpusim"},
            {"version", TPUSIM_VERSION},
            {"arch", cfg.name},
            {"clock_mhz", cfg.clock_mhz},
            {"time_unit", "ts and dur in microseconds at clock_mhz; cycles in args"},
            {"cycles", offset},
            {"parts", parts_meta},
            {"slices", slices},
            {"slices_truncated", truncated},
            {"energy_j", whole.total_j},
            {"power",
             {{"method",
               "work events of each instruction spread over its [issue, done) cycles in "
               "proportion, energy by models/energy.h estimate_energy per interval"},
              {"intervals", intervals},
              {"interval_energy_j", interval_energy}}}};
  if (truncated) meta["slices_complete_to_cycle"] = complete_to_cycle;
  return json{
      {"traceEvents", std::move(events)}, {"displayTimeUnit", "ns"}, {"metadata", std::move(meta)}};
}

json chrome_trace(const TpuConfig& cfg, const Program& program, const EngineResult& result,
                  const TraceOptions& opt) {
  TracePart part;
  part.name = program.name;
  part.program = &program;
  part.result = &result;
  json j = chrome_trace(cfg, std::vector<TracePart>{part}, opt);
  j["metadata"]["program"] = program.name;
  return j;
}

json workload_trace(const TpuConfig& cfg, const std::string& workload, const WorkloadParams& params,
                    const TraceOptions& opt) {
  const Workload wl = load_workload(workload, params);
  LowerOptions lo;
  lo.values = false;
  lo.unroll = false;
  const LoweredProgram lp = lower(cfg, wl, lo);
  std::vector<std::string> layer_names;
  for (const LayerInfo& l : lp.layers) layer_names.push_back(l.name);
  std::vector<EngineResult> results;
  results.reserve(lp.segments.size());
  std::vector<TracePart> parts;
  bool repeated = false;
  for (const Segment& seg : lp.segments) {
    EngineOptions fo;
    fo.values = false;
    fo.record_timeline = true;
    results.push_back(run_fast(cfg, seg.program, fo));
    TracePart part;
    part.name = seg.group;
    part.program = &seg.program;
    part.result = &results.back();
    part.repeat = seg.repeat;
    part.layer_of = &seg.layer_of;
    part.layer_names = &layer_names;
    parts.push_back(part);
    repeated = repeated || seg.repeat > 1;
  }
  json j = chrome_trace(cfg, parts, opt);
  json& m = j["metadata"];
  m["workload"] = wl.name;
  m["batch"] = wl.batch;
  if (!wl.phase.empty()) m["phase"] = wl.phase;
  m["segments_note"] =
      repeated ? "one instance of each segment laid end to end; the run repeats segment k "
                 "parts[k].repeat times, so its cycles and energy are sum(repeat_k * part_k)"
               : "every segment once, as in the run";
  double run_energy = 0.0;
  uint64_t run_cycles = 0;
  for (const TracePart& p : parts) {
    run_energy += double(p.repeat) * estimate_energy(cfg, p.result->counts).total_j;
    run_cycles += p.repeat * p.result->counts.cycles;
  }
  m["run_cycles"] = run_cycles;
  m["run_energy_j"] = run_energy;
  return j;
}

}  // namespace tpusim
