// Report JSON (DESIGN.md "Report JSON"): the resolved arch, the counts, and atomic file output.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "models/config.h"
#include "models/event_counts.h"

namespace tpusim {

// The resolved configuration, every field, in the YAML's key structure.
nlohmann::json arch_json(const TpuConfig& cfg);

// Event counters as JSON. With `timed` false the timing fields (cycles and breakdown) are left
// out rather than reported as zero: a functional run has no time.
nlohmann::json counts_json(const EventCounts& n, bool timed);

// The `totals` block of DESIGN.md's report: counters, perf, roofline, energy, power and carbon,
// every number a function of (cfg, counts) through models/.
nlohmann::json totals_json(const TpuConfig& cfg, const EventCounts& n);

// The `tool` block.
nlohmann::json tool_json();

// Writes `content` to `path` through a temporary file in the same folder and a rename, so an
// interrupted run never leaves a partial file. Refuses to replace an existing file unless
// `force` (InputError naming the path).
void write_file_atomic(const std::string& path, const std::string& content, bool force);

// Installs SIGINT/SIGTERM/SIGHUP handlers that remove the temporary files of writes in progress
// (any thread) and then die of the signal, so an interrupted run leaves neither a partial report
// nor a stray temporary file. Called once by the CLI's main.
void install_interrupt_cleanup();

}  // namespace tpusim
