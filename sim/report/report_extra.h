// The reports beyond `run --json` (issue 7): the per-layer CSV, carbon per inference / token /
// 1,000 queries and over a deployment, the run-time config overrides (--grid, --dvfs), and
// `tpusim report DIR` (Markdown + self-contained HTML with plots, made by scripts/report.py).
#pragma once

#include <ostream>
#include <string>

#include <nlohmann/json.hpp>

#include "models/config.h"
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

// `--grid NAME|G_PER_KWH`: a copy of `cfg` whose operational carbon uses grid preset NAME
// (carbon_grid_presets(): coal, europe, france, norway, taiwan, usa, world) or a custom
// intensity in g CO2e/kWh (0..2000). Throws InputError naming --grid and the allowed values.
TpuConfig with_grid(const TpuConfig& cfg, const std::string& grid);

// `--dvfs POINT` then `--grid`: the config a run uses. `dvfs` empty or "nominal" keeps the clock
// and voltage (at_dvfs_point, models/perf.h, Eq. 19); `grid` empty keeps the arch's grid.
TpuConfig run_config(const TpuConfig& cfg, const std::string& dvfs, const std::string& grid);

struct DeploymentOptions {
  double qps = 0.0;    // queries per second; a query is one batch element of the run
  double years = 0.0;  // deployment length
};

// Adds to a timed run report (one with totals.cycles):
// - `carbon_per` {query: what one query is, batch, per_run_g, per_inference_g (= per_run / batch),
//   per_1000_queries_g, energy_per_inference_j, tokens_per_run and per_token_g for LLM runs
//   (decode: batch tokens per step; prefill: batch * prompt_len), else null};
// - `deployment` (when qps > 0 and years > 0) from deployment_carbon (Eq. 15): the run is one
//   batch step, so steps/s = qps / batch; {qps, years, grid, grid_g_per_kwh, pue, queries,
//   chips, energy_j, operational_g, embodied_g, total_g, per_query_g, per_1000_queries_g}.
// `cfg` must be the config the run used. Throws InputError for a report without cycles (a
// functional run) when a deployment is asked for, or for qps/years not both positive.
void add_carbon_blocks(nlohmann::json& report, const TpuConfig& cfg, const DeploymentOptions& d);

// `tpusim report DIR`: runs scripts/report.py on DIR (DIR/report.json, any other *.json run report
// there, and a Chrome trace: trace.json or trace.json.gz first, else any other) to write
// DIR/report.md, DIR/report.html and the plots DIR/plots/*.png. Python is $TPUSIM_PYTHON if set,
// else build/venv/bin/python under data_root() ($TPUSIM_HOME or the source tree; scripts/venv.sh
// creates it). The script's stdout goes to `out`, its stderr is inherited. Returns the script's
// exit code (0 ok, 2 bad input). Throws InputError when DIR or DIR/report.json is missing, and
// std::runtime_error naming the paths tried and the fix (scripts/venv.sh) when no Python
// environment is found.
int make_html_report(const std::string& dir, std::ostream& out);

}  // namespace tpusim
