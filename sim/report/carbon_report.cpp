#include "sim/report/carbon_report.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>

#include <fmt/format.h>

#include "models/carbon.h"
#include "models/errors.h"
#include "models/model_params.h"
#include "models/perf.h"
#include "sim/report/layers_csv.h"

namespace tpusim {

using nlohmann::json;

TpuConfig with_grid(const TpuConfig& cfg, const std::string& grid) {
  TpuConfig c = cfg;
  const auto& presets = carbon_grid_presets();
  std::string names;
  for (const auto& [name, g] : presets) names += (names.empty() ? "" : ", ") + name;
  if (auto it = presets.find(grid); it != presets.end()) {
    c.params.carbon.grid = grid;
    c.params.carbon.grid_g_per_kwh = it->second;
    return c;
  }
  const char* s = grid.c_str();
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(s, &end);
  if (grid.empty() || end != s + grid.size() || errno != 0 || !std::isfinite(v) || v < 0.0 ||
      v > 2000.0)
    throw InputError(fmt::format(
        "grid {}: not a grid preset ({}) nor a g CO2e/kWh value in [0, 2000]", grid, names));
  c.params.carbon.grid = "custom";
  c.params.carbon.grid_g_per_kwh = v;
  return c;
}

TpuConfig run_config(const TpuConfig& cfg, const std::string& dvfs, const std::string& grid) {
  TpuConfig c = dvfs.empty() ? cfg : at_dvfs_point(cfg, dvfs);
  return grid.empty() ? c : with_grid(c, grid);
}

void add_carbon_blocks(json& report, const TpuConfig& cfg, const DeploymentOptions& d) {
  const bool want_deployment = d.qps != 0.0 || d.years != 0.0;
  if (want_deployment &&
      !(d.qps > 0.0 && d.years > 0.0 && std::isfinite(d.qps) && std::isfinite(d.years)))
    throw InputError(fmt::format("deployment: qps {} and years {} must both be given and positive",
                                 d.qps, d.years));
  const json& t = report.at("totals");
  if (!t.contains("cycles")) {
    if (want_deployment)
      throw InputError("deployment: a functional run has no time or energy; use a timed engine");
    return;
  }
  const json* wl = report.contains("workload") ? &report["workload"] : nullptr;
  const uint64_t batch = wl && (*wl).contains("batch") ? (*wl)["batch"].get<uint64_t>() : 1;
  const std::string phase = wl && (*wl).contains("phase") ? (*wl)["phase"].get<std::string>() : "";
  const double per_run =
      t["carbon_g"]["operational"].get<double>() + t["carbon_g"]["embodied"].get<double>();
  const double per_inf = per_run / double(batch);
  json per{{"query", wl ? "one batch element of the workload (the run is one batch step of `batch`)"
                        : "one run of the program"},
           {"batch", batch},
           {"per_run_g", per_run},
           {"per_inference_g", per_inf},
           {"per_1000_queries_g", 1000.0 * per_inf},
           {"energy_per_inference_j", t["energy_j"].get<double>() / double(batch)},
           {"tokens_per_run", nullptr},
           {"per_token_g", nullptr}};
  uint64_t tokens = 0;
  if (phase == "decode")
    tokens = batch;
  else if (phase == "prefill")
    tokens = batch * (*wl).value("prompt_len", uint64_t(0));
  if (tokens > 0) {
    per["tokens_per_run"] = tokens;
    per["per_token_g"] = per_run / double(tokens);
  }
  report["carbon_per"] = per;
  if (!want_deployment) return;

  const EventCounts step = counts_from_json(t);
  const DeploymentCarbon dc = deployment_carbon(cfg, step, d.qps / double(batch), d.years);
  const double queries = dc.queries * double(batch);
  report["deployment"] = {
      {"qps", d.qps},
      {"years", d.years},
      {"grid", cfg.params.carbon.grid},
      {"grid_g_per_kwh", cfg.params.carbon.grid_g_per_kwh},
      {"pue", cfg.params.carbon.pue},
      {"lifetime_years", cfg.params.carbon.lifetime_years},
      {"model", "Eq. 15, models/README.md: batch steps at qps / batch per second"},
      {"queries", queries},
      {"chips", dc.chips},
      {"energy_j", dc.energy_j},
      {"operational_g", dc.operational_g},
      {"embodied_g", dc.embodied_g},
      {"total_g", dc.total_g},
      {"per_query_g", dc.total_g / queries},
      {"per_1000_queries_g", 1000.0 * dc.total_g / queries}};
}

}  // namespace tpusim
