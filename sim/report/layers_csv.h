// The per-layer CSV of a report and the counts a report block was made from.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "models/event_counts.h"

namespace tpusim {

// One CSV row per entry of report["layers"] (RFC 4180: comma separated, header first, text
// quoted when it holds a comma, quote or newline, "\n" line ends). Columns: name, kind, repeat,
// then the counters and models of the layer in the units their names carry; a cell is empty
// when the layer lacks the field (a functional run has no cycles, an intensity with no weight
// bytes read is null). Every number is copied from the report JSON, so the rows sum to
// report["totals"] for the additive columns (cycles, macs, bytes, energy, carbon). A report
// without layers (a program run) gives the header only.
std::string layers_csv(const nlohmann::json& report);

// The EventCounts a report block (`totals` or a layer) was made from: the inverse of
// counts_json (sim/report/report_json.h); fields the block lacks are 0.
EventCounts counts_from_json(const nlohmann::json& block);

}  // namespace tpusim
