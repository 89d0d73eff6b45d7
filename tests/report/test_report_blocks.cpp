// sim/report/layers_csv.h, carbon_report.h and html_report.h: the per-layer CSV, carbon per query
// and deployment, --grid / --dvfs, and the argument checks of `tpusim report`.
#include <catch2/catch.hpp>

#include <filesystem>
#include <sstream>

#include "models/carbon.h"
#include "models/config.h"
#include "models/errors.h"
#include "sim/report/carbon_report.h"
#include "sim/report/html_report.h"
#include "sim/report/layers_csv.h"
#include "sim/report/report_json.h"
#include "sim/studies/run/run_workload.h"

namespace fs = std::filesystem;
using namespace tpusim;
using nlohmann::json;

namespace {

json timing_report(const std::string& wl, const TpuConfig& cfg, const WorkloadParams& params = {}) {
  WorkloadRunOptions wo;
  wo.timing_only = true;
  return run_workload_report(cfg, wl, params, wo);
}

// RFC 4180 fields of one line (no embedded newlines in these tests).
std::vector<std::string> split_csv_line(const std::string& line) {
  std::vector<std::string> out;
  std::string cur;
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char ch = line[i];
    if (quoted) {
      if (ch == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        cur += '"';
        ++i;
      } else if (ch == '"')
        quoted = false;
      else
        cur += ch;
    } else if (ch == '"') {
      quoted = true;
    } else if (ch == ',') {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += ch;
    }
  }
  out.push_back(cur);
  return out;
}

struct Csv {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  size_t col(const std::string& name) const {
    auto it = std::find(header.begin(), header.end(), name);
    REQUIRE(it != header.end());
    return size_t(it - header.begin());
  }
};

Csv parse_csv(const std::string& text) {
  Csv c;
  std::istringstream in(text);
  std::string line;
  std::getline(in, line);
  c.header = split_csv_line(line);
  while (std::getline(in, line)) c.rows.push_back(split_csv_line(line));
  return c;
}

}  // namespace

TEST_CASE("CSV rows sum to the totals", "[csv]") {
  const TpuConfig cfg = load_config("tpu-v1");
  for (const char* wl : {"mlp0", "lstm0", "bert-base"}) {
    INFO(wl);
    const json rep = timing_report(wl, cfg);
    const Csv c = parse_csv(layers_csv(rep));
    REQUIRE(c.rows.size() == rep["layers"].size());
    for (const auto& r : c.rows) REQUIRE(r.size() == c.header.size());
    const json& t = rep["totals"];
    for (const char* k : {"cycles", "macs", "useful_macs", "dram_bytes", "host_bytes",
                          "instructions", "array_active_cycles", "weight_stall_cycles",
                          "weight_shift_cycles", "non_matrix_cycles"}) {
      INFO(k);
      uint64_t sum = 0;
      for (const auto& r : c.rows) sum += std::stoull(r[c.col(k)]);
      const std::string key = k;
      const json v = key.size() > 7 && key.substr(key.size() - 7) == "_cycles" && key != "cycles"
                         ? t["cycle_counts"][key.substr(0, key.size() - 7)]
                         : t[key];
      CHECK(sum == v.get<uint64_t>());
    }
    for (const auto& [k, total] :
         {std::pair<const char*, double>{"energy_j", t["energy_j"].get<double>()},
          {"carbon_operational_g", t["carbon_g"]["operational"].get<double>()},
          {"carbon_embodied_g", t["carbon_g"]["embodied"].get<double>()},
          {"seconds", t["seconds"].get<double>()}}) {
      INFO(k);
      double sum = 0;
      for (const auto& r : c.rows) sum += std::stod(r[c.col(k)]);
      CHECK(sum == Approx(total).epsilon(1e-9));
    }
    // Names round-trip and are in report order.
    for (size_t i = 0; i < c.rows.size(); ++i)
      CHECK(c.rows[i][c.col("name")] == rep["layers"][i]["name"].get<std::string>());
  }
}

TEST_CASE("CSV quotes text with separators and leaves missing fields empty", "[csv]") {
  json rep{{"layers", json::array({json{{"name", "a,\"b\""},
                                        {"kind", "fc"},
                                        {"repeat", 2},
                                        {"macs", 10},
                                        {"ops_per_weight_byte",
                                         {{"macs_per_weight_byte (TPU paper)", nullptr}}}}})}};
  const std::string text = layers_csv(rep);
  CHECK(text.find("\"a,\"\"b\"\"\",fc,2,,") != std::string::npos);
  const Csv c = parse_csv(text);
  REQUIRE(c.rows.size() == 1);
  CHECK(c.rows[0][c.col("name")] == "a,\"b\"");
  CHECK(c.rows[0][c.col("cycles")].empty());
  CHECK(c.rows[0][c.col("macs_per_weight_byte")].empty());
  CHECK(c.rows[0][c.col("macs")] == "10");
  CHECK(layers_csv(json{{"totals", json::object()}}).find('\n') == text.find('\n'));  // header only
}

TEST_CASE("counts_from_json inverts totals_json", "[report]") {
  const TpuConfig cfg = load_config("tpu-v1");
  const json rep = timing_report("lstm1", cfg);
  const EventCounts n = counts_from_json(rep["totals"]);
  CHECK(totals_json(cfg, n) == rep["totals"]);
}

TEST_CASE("the grid override (--grid) takes a preset or a custom intensity", "[carbon]") {
  const TpuConfig cfg = load_config("tpu-v1");
  CHECK(with_grid(cfg, "france").params.carbon.grid_g_per_kwh == 56.0);
  CHECK(with_grid(cfg, "france").params.carbon.grid == "france");
  CHECK(with_grid(cfg, "123.5").params.carbon.grid_g_per_kwh == 123.5);
  CHECK(with_grid(cfg, "123.5").params.carbon.grid == "custom");
  CHECK(with_grid(cfg, "0").params.carbon.grid_g_per_kwh == 0.0);
  CHECK(with_grid(cfg, "2000").params.carbon.grid_g_per_kwh == 2000.0);
  for (const char* bad : {"mars", "", "-1", "2000.5", "12g", "nan", "inf"}) {
    INFO(bad);
    CHECK_THROWS_AS(with_grid(cfg, bad), InputError);
  }
  // The grid reaches the run's operational carbon, and only it.
  const json a = timing_report("mlp1", cfg);
  const json b = timing_report("mlp1", run_config(cfg, "", "norway"));
  CHECK(b["totals"]["carbon_g"]["operational"].get<double>() ==
        Approx(a["totals"]["carbon_g"]["operational"].get<double>() * 30.0 / 481.0));
  CHECK(b["totals"]["carbon_g"]["embodied"] == a["totals"]["carbon_g"]["embodied"]);
  CHECK(b["totals"]["cycles"] == a["totals"]["cycles"]);
}

TEST_CASE("the DVFS override (--dvfs): nominal keeps the arch, an unknown point is refused",
          "[dvfs]") {
  const TpuConfig cfg = load_config("tpu-v1");
  const TpuConfig n = run_config(cfg, "nominal", "");
  CHECK(n.clock_mhz == cfg.clock_mhz);
  CHECK(n.technology.voltage_v == cfg.technology.voltage_v);
  CHECK(run_config(cfg, "", "").clock_mhz == cfg.clock_mhz);
  CHECK_THROWS_AS(run_config(cfg, "turbo-9000", ""), InputError);
}

TEST_CASE("carbon per inference, per token and per 1,000 queries", "[carbon]") {
  const TpuConfig cfg = load_config("tpu-v1");
  json rep = timing_report("mlp0", cfg);
  add_carbon_blocks(rep, cfg, {});
  const json& t = rep["totals"];
  const double run_g =
      t["carbon_g"]["operational"].get<double>() + t["carbon_g"]["embodied"].get<double>();
  const uint64_t batch = rep["workload"]["batch"].get<uint64_t>();
  const json& p = rep["carbon_per"];
  CHECK(p["per_run_g"].get<double>() == Approx(run_g));
  CHECK(p["per_inference_g"].get<double>() == Approx(run_g / double(batch)));
  CHECK(p["per_1000_queries_g"].get<double>() == Approx(1000.0 * run_g / double(batch)));
  CHECK(p["per_token_g"].is_null());
  CHECK_FALSE(rep.contains("deployment"));

  const json llm = [&] {
    json r = timing_report("llama-7b", cfg, WorkloadParams{4, "decode", 0, 128});
    add_carbon_blocks(r, cfg, {});
    return r;
  }();
  CHECK(llm["carbon_per"]["tokens_per_run"].get<uint64_t>() == 4);
  CHECK(llm["carbon_per"]["per_token_g"].get<double>() ==
        Approx(llm["carbon_per"]["per_run_g"].get<double>() / 4.0));
}

TEST_CASE("deployment block follows Eq. 15 with one batch step per batch of queries", "[carbon]") {
  const TpuConfig cfg = load_config("tpu-v1");
  json rep = timing_report("mlp0", cfg);
  add_carbon_blocks(rep, cfg, {5000.0, 3.0});
  const uint64_t batch = rep["workload"]["batch"].get<uint64_t>();
  const DeploymentCarbon d =
      deployment_carbon(cfg, counts_from_json(rep["totals"]), 5000.0 / double(batch), 3.0);
  const json& j = rep["deployment"];
  CHECK(j["total_g"].get<double>() == Approx(d.total_g));
  CHECK(j["chips"].get<double>() == d.chips);
  CHECK(j["queries"].get<double>() == Approx(5000.0 * 3.0 * 365.25 * 24 * 3600));
  CHECK(j["per_query_g"].get<double>() == Approx(d.per_query_g / double(batch)));
  CHECK(j["grid_g_per_kwh"].get<double>() == cfg.params.carbon.grid_g_per_kwh);

  json half = timing_report("mlp0", cfg);
  CHECK_THROWS_AS(add_carbon_blocks(half, cfg, {5000.0, 0.0}), InputError);
  CHECK_THROWS_AS(add_carbon_blocks(half, cfg, {-1.0, 1.0}), InputError);
  WorkloadRunOptions fo;
  fo.mode = "functional";
  json functional = run_workload_report(cfg, "mlp1", {}, fo);
  CHECK_THROWS_AS(add_carbon_blocks(functional, cfg, {1.0, 1.0}), InputError);
  add_carbon_blocks(functional, cfg, {});
  CHECK_FALSE(functional.contains("carbon_per"));
}

TEST_CASE("tpusim report: a missing folder or report.json is bad input", "[report]") {
  std::ostringstream out;
  CHECK_THROWS_AS(make_html_report("/nonexistent/tpusim-report", out), InputError);
  const fs::path empty = fs::temp_directory_path() / "tpusim-reports-empty";
  fs::create_directories(empty);
  CHECK_THROWS_AS(make_html_report(empty.string(), out), InputError);
  fs::remove_all(empty);
}

TEST_CASE("steady state: one more batch of a two-batch stream, or why not", "[report]") {
  const TpuConfig cfg = load_config("tpu-v1");
  // MLP0 (one group): the next batch's input and the previous one's output overlap compute, so
  // a batch in a stream is at most the cold batch; the counters are the stream's differences.
  const json r = timing_report("mlp0", cfg);
  REQUIRE(r.contains("steady_state"));
  const json& s = r["steady_state"];
  REQUIRE(s["measured"].get<bool>());
  CHECK(s["double_buffered"].get<bool>());
  const uint64_t cold = r["totals"]["cycles"].get<uint64_t>();
  CHECK(s["cold_cycles"].get<uint64_t>() == cold);
  CHECK(s["cycles"].get<uint64_t>() == s["stream_cycles"].get<uint64_t>() - cold);
  CHECK(s["cycles"].get<uint64_t>() < cold);
  CHECK(s["useful_macs"] == r["totals"]["useful_macs"]);
  CHECK(s["macs"] == r["totals"]["macs"]);
  // Host I/O is what the stream hides: the same bytes move, in fewer exposed cycles.
  CHECK(s["host_bytes"] == r["totals"]["host_bytes"]);

  // A decoder stack (repeated groups) is not streamed: the report says why.
  WorkloadParams p;
  p.phase = "decode";
  p.context_len = 64;
  const json d = timing_report("opt-13b", cfg, p);
  REQUIRE(d.contains("steady_state"));
  CHECK_FALSE(d["steady_state"]["measured"].get<bool>());
  CHECK(d["steady_state"]["why"].get<std::string>().find("one group") != std::string::npos);

  // --cold: no stream run.
  WorkloadRunOptions wo;
  wo.timing_only = true;
  wo.steady = false;
  CHECK_FALSE(run_workload_report(cfg, "mlp1", {}, wo).contains("steady_state"));
}
