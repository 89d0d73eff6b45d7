// Report JSON (DESIGN.md "Report JSON"): the resolved arch, the counts and the totals.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "models/config.h"
#include "models/event_counts.h"

namespace tpusim {

// Event counters as JSON, laid out by kCountFields (models/event_counts.h): work at the top level,
// bytes under "bytes", cycles and "cycle_counts". With `timed` false the time counters are left
// out rather than reported as zero (a functional run has no time); useful_macs appears when the
// lowering supplied it.
nlohmann::json counts_json(const EventCounts& n, bool timed);

// The `totals` block of DESIGN.md's report: counters, perf, roofline, energy, power and carbon,
// every number a function of (cfg, counts) through models/.
nlohmann::json totals_json(const TpuConfig& cfg, const EventCounts& n);

// totals_json for one layer of a program. The engines give a layer the cycles from the previous
// instruction's issue to each of its own, so the tail of a matmul still streaming when the next
// layer issues is that layer's time. Array-slot `tops` and `utilization` are taken over the same
// cycles (the array-active ones, each of which uses every MAC slot), so they stay within the peak
// where the layer's counted MAC slots (`macs`) would not; over a whole program the two agree.
nlohmann::json layer_totals_json(const TpuConfig& cfg, const EventCounts& n);

// Sets `useful_macs`, `useful_tops` (2 x useful MACs per second: the headline figure, the TPU
// paper's TOPS) and `useful_utilization` (useful MACs / (cycles x array MACs): Table 3's "useful
// MACs in 64K matrix") of a timed block `t` (with `seconds` and `peak_tops`).
void set_useful(nlohmann::json& t, uint64_t useful_macs);

// The `tool` block.
nlohmann::json tool_json();

}  // namespace tpusim
