#include "sim/report/report_extra.h"

#include <sys/wait.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>

#include "models/carbon.h"
#include "models/data_files.h"
#include "models/errors.h"
#include "models/model_params.h"
#include "models/perf.h"

namespace fs = std::filesystem;

namespace tpusim {

using nlohmann::json;

namespace {

// A CSV column: header and the JSON value it shows (null when the layer lacks it).
struct Column {
  const char* header;
  std::function<json(const json&)> get;
};

json at_path(const json& j, std::initializer_list<const char*> path) {
  const json* p = &j;
  for (const char* k : path) {
    if (!p->is_object() || !p->contains(k)) return nullptr;
    p = &(*p)[k];
  }
  return *p;
}

const std::vector<Column>& csv_columns() {
  static const std::vector<Column> cols = [] {
    std::vector<Column> c;
    auto add = [&c](const char* header, std::initializer_list<const char*> path) {
      std::vector<const char*> p(path);
      c.push_back({header, [p](const json& l) {
                     const json* q = &l;
                     for (const char* k : p) {
                       if (!q->is_object() || !q->contains(k)) return json(nullptr);
                       q = &(*q)[k];
                     }
                     return *q;
                   }});
    };
    add("name", {"name"});
    add("kind", {"kind"});
    add("repeat", {"repeat"});
    add("cycles", {"cycles"});
    add("seconds", {"seconds"});
    add("instructions", {"instructions"});
    add("macs", {"macs"});
    add("useful_macs", {"useful_macs"});
    add("weight_bytes", {"weight_bytes"});
    add("tops", {"tops"});
    add("utilization", {"utilization"});
    add("array_active_cycles", {"cycle_counts", "array_active"});
    add("weight_stall_cycles", {"cycle_counts", "weight_stall"});
    add("weight_shift_cycles", {"cycle_counts", "weight_shift"});
    add("non_matrix_cycles", {"cycle_counts", "non_matrix"});
    add("raw_stall_cycles", {"cycle_counts", "raw_stall"});
    add("input_stall_cycles", {"cycle_counts", "input_stall"});
    add("array_active_fraction", {"breakdown", "array_active"});
    add("weight_stall_fraction", {"breakdown", "weight_stall"});
    add("weight_shift_fraction", {"breakdown", "weight_shift"});
    add("non_matrix_fraction", {"breakdown", "non_matrix"});
    add("macs_per_weight_byte", {"ops_per_weight_byte", "macs_per_weight_byte (TPU paper)"});
    add("ops_per_weight_byte_2ops", {"ops_per_weight_byte", "ops_per_weight_byte (2 ops per MAC)"});
    add("bound", {"roofline", "bound"});
    add("attainable_tops", {"roofline", "attainable_tops"});
    add("dram_bytes", {"dram_bytes"});
    add("host_bytes", {"host_bytes"});
    add("ub_read_bytes", {"bytes", "ub_read"});
    add("ub_write_bytes", {"bytes", "ub_write"});
    add("acc_read_bytes", {"bytes", "acc_read"});
    add("acc_write_bytes", {"bytes", "acc_write"});
    add("energy_j", {"energy_j"});
    add("avg_power_w", {"avg_power_w"});
    add("tops_per_w", {"tops_per_w"});
    add("carbon_operational_g", {"carbon_g", "operational"});
    add("carbon_embodied_g", {"carbon_g", "embodied"});
    return c;
  }();
  return cols;
}

std::string csv_cell(const json& v) {
  if (v.is_null()) return "";
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_number_unsigned()) return std::to_string(v.get<uint64_t>());
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  if (v.is_number_float()) return fmt::format("{}", v.get<double>());  // shortest round trip
  std::string s = v.is_string() ? v.get<std::string>() : v.dump();
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string q = "\"";
  for (char ch : s) {
    if (ch == '"') q += '"';
    q += ch;
  }
  return q + "\"";
}

uint64_t u64(const json& j, std::initializer_list<const char*> path) {
  json v = at_path(j, path);
  return v.is_number() ? v.get<uint64_t>() : 0;
}

// Single-quoted for /bin/sh.
std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char ch : s) {
    if (ch == '\'')
      q += "'\\''";
    else
      q += ch;
  }
  return q + "'";
}

std::string joined(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

}  // namespace

std::string layers_csv(const json& report) {
  std::string out;
  const auto& cols = csv_columns();
  for (size_t i = 0; i < cols.size(); ++i) out += (i ? "," : "") + std::string(cols[i].header);
  out += "\n";
  if (!report.contains("layers") || !report["layers"].is_array()) return out;
  for (const json& layer : report["layers"]) {
    for (size_t i = 0; i < cols.size(); ++i) out += (i ? "," : "") + csv_cell(cols[i].get(layer));
    out += "\n";
  }
  return out;
}

EventCounts counts_from_json(const json& b) {
  EventCounts n;
  for (const CountField& c : kCountFields)
    n.*c.member = *c.block ? u64(b, {c.block, c.key}) : u64(b, {c.key});
  return n;
}

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
        "--grid {}: not a grid preset ({}) nor a g CO2e/kWh value in [0, 2000]", grid, names));
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
    throw InputError(
        fmt::format("--qps {} --years {}: both must be given and positive", d.qps, d.years));
  const json& t = report.at("totals");
  if (!t.contains("cycles")) {
    if (want_deployment)
      throw InputError("--qps/--years: a functional run has no time or energy; use --mode fast");
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

int make_html_report(const std::string& dir, std::ostream& out) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw InputError(fmt::format("report {}: not a folder", dir));
  if (!fs::is_regular_file(fs::path(dir) / "report.json", ec))
    throw InputError(fmt::format(
        "report {}: no report.json in it (write one with `tpusim run ... --out {}`)", dir, dir));
  const fs::path root = data_root();
  const fs::path script = root / "scripts" / "report.py";
  if (!fs::is_regular_file(script, ec))
    throw std::runtime_error(
        fmt::format("report: {} not found (set TPUSIM_HOME to the source tree)", script.string()));
  std::string python;
  std::vector<std::string> tried;
  if (const char* p = std::getenv("TPUSIM_PYTHON"); p && *p) {
    python = p;
    tried.push_back(python + " ($TPUSIM_PYTHON)");
    if (!fs::exists(python, ec)) python.clear();
  } else {
    const fs::path venv = root / "build" / "venv" / "bin" / "python";
    tried.push_back(venv.string());
    if (fs::exists(venv, ec)) python = venv.string();
  }
  if (python.empty())
    throw std::runtime_error(
        fmt::format("report: no Python environment with matplotlib (tried {}); create it with "
                    "{}/scripts/venv.sh",
                    joined(tried), root.string()));
  const std::string cmd =
      fmt::format("{} {} {}", shell_quote(python), shell_quote(script.string()), shell_quote(dir));
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (!pipe) throw std::runtime_error(fmt::format("report: cannot start {}", python));
  char buf[4096];
  size_t got;
  while ((got = std::fread(buf, 1, sizeof buf, pipe)) > 0) out.write(buf, std::streamsize(got));
  const int status = ::pclose(pipe);
  if (status == -1) throw std::runtime_error("report: lost the Python process");
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 1;
}

}  // namespace tpusim
