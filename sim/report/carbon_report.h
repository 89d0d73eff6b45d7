// Carbon in a run's report (issue 7): per inference / token / 1,000 queries and over a deployment,
// and the run-time overrides of the config that carbon and power depend on (--grid, --dvfs).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "models/config.h"

namespace tpusim {

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

}  // namespace tpusim
