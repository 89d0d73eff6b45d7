#include "sim/studies/sweep/sweep.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "models/area.h"
#include "models/config.h"
#include "models/data_files.h"
#include "models/errors.h"
#include "models/event_counts.h"
#include "models/yaml_reader.h"
#include "sim/common/files.h"
#include "sim/common/text.h"
#include "sim/compiler/workload.h"
#include "sim/engines/functional/functional.h"
#include "sim/report/report_json.h"
#include "sim/studies/multichip/multichip.h"
#include "sim/studies/run/run_workload.h"
#include "sim/studies/sweep/sweep_keys.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace tpusim {

using namespace sweep_detail;

namespace {

bool read_file(const fs::path& p, std::string& out) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  out = ss.str();
  return bool(in) || in.eof();
}

void make_dirs(const fs::path& p) {
  std::error_code ec;
  fs::create_directories(p, ec);
  if (ec || !fs::is_directory(p))
    throw InputError(
        fmt::format("{}: cannot create the results folder: {}", p.string(), ec.message()));
}

// Writes a record as OUT/points/<id>.json (ok) or OUT/failed/<id>.json, removing the other.
void store(const fs::path& out, const json& rec) {
  const std::string id = rec.at("id").get<std::string>();
  const bool ok = rec.at("status") != "failed";  // ok or skipped: a final result
  const fs::path keep = out / (ok ? "points" : "failed") / (id + ".json");
  write_file_atomic(keep.string(), point_text(rec), true);
  std::error_code ec;
  if (ok) fs::remove(out / "failed" / (id + ".json"), ec);
}

// Removes the temporaries a killed writer may have left (".<name>.tmp.<pid>").
void clean_temporaries(const fs::path& dir) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string n = e.path().filename().string();
    if (n.size() > 1 && n[0] == '.' && n.find(".tmp.") != std::string::npos)
      fs::remove(e.path(), ec);
  }
}

// A cell of summary.csv: the value as JSON writes it (strings bare), quoted as RFC 4180 wants.
std::string csv_cell(const json& v) {
  if (v.is_null()) return "";
  return csv_quote(v.is_string() ? v.get<std::string>() : v.dump());
}

// Scalar columns of a metric value: itself, or "name.sub" for each leaf of an object.
void flatten(const std::string& name, const json& v,
             std::vector<std::pair<std::string, json>>& out) {
  if (v.is_object()) {
    for (auto it = v.begin(); it != v.end(); ++it) flatten(name + "." + it.key(), *it, out);
  } else {
    out.emplace_back(name, v);
  }
}

}  // namespace

SweepOutcome collect_results(const SweepSpec& spec, const std::string& out_dir) {
  const fs::path out(out_dir);
  std::vector<SweepPoint> points = expand_points(spec);
  std::sort(points.begin(), points.end(),
            [](const SweepPoint& a, const SweepPoint& b) { return a.id < b.id; });
  SweepOutcome oc;
  oc.total = points.size();
  std::vector<json> recs;
  for (const auto& p : points) {
    std::string text;
    if (read_file(out / "points" / (p.id + ".json"), text) && point_file_valid(spec, p.id, text)) {
      recs.push_back(json::parse(text));
      if (recs.back().value("status", "") == "skipped") ++oc.skipped;
      ++oc.reused;
      continue;
    }
    ++oc.failed;
    if (read_file(out / "failed" / (p.id + ".json"), text)) {
      json j = json::parse(text, nullptr, false);
      if (!j.is_discarded() && j.is_object() && j.value("id", "") == p.id) recs.push_back(j);
    }
  }
  std::string jsonl;
  for (const auto& r : recs) jsonl += r.dump() + "\n";
  write_file_atomic((out / "results.jsonl").string(), jsonl, true);

  // summary.csv: id, status, workload, one column per swept key, the metrics flattened, error.
  std::vector<std::string> keys;
  for (const auto& ax : spec.axes)
    for (const auto& k : ax.keys) keys.push_back(k);
  std::vector<std::string> metric_cols;
  for (const auto& r : recs) {
    if (r.value("status", "") != "ok") continue;
    std::vector<std::pair<std::string, json>> cols;
    for (const auto& m : spec.metrics) flatten(m, r["metrics"].value(m, json()), cols);
    for (const auto& c : cols)
      if (std::find(metric_cols.begin(), metric_cols.end(), c.first) == metric_cols.end())
        metric_cols.push_back(c.first);
  }
  // Multi-chip sweeps: the resolved split and its communication share after the swept keys.
  const std::vector<std::pair<std::string, std::string>> split_cols =
      spec.parallel_used()
          ? std::vector<std::pair<
                std::string, std::string>>{{"split.chips", "chips"},
                                           {"split.tp", "tp"},
                                           {"split.pp", "pp"},
                                           {"split.micro_batches", "micro_batches"},
                                           {"comm_share", "comm_share"},
                                           {"useful_macs_per_chip_max", "useful_macs_per_chip_max"}}
          : std::vector<std::pair<std::string, std::string>>{};
  std::string csv = "id,status,workload";
  for (const auto& k : keys) csv += "," + csv_cell(k);
  for (const auto& c : split_cols) csv += "," + c.first;
  for (const auto& c : metric_cols) csv += "," + csv_cell(c);
  csv += ",error\n";
  for (const auto& r : recs) {
    csv += r["id"].get<std::string>() + "," + r["status"].get<std::string>() + "," +
           csv_cell(r["workload"]);
    for (const auto& k : keys) csv += "," + csv_cell(r["axes"].value(k, json()));
    for (const auto& c : split_cols)
      csv +=
          "," + csv_cell(r.contains("parallel") ? r["parallel"].value(c.second, json()) : json());
    std::map<std::string, json> vals;
    if (r.contains("metrics")) {
      std::vector<std::pair<std::string, json>> cols;
      for (const auto& m : spec.metrics) flatten(m, r["metrics"].value(m, json()), cols);
      for (auto& c : cols) vals[c.first] = c.second;
    }
    for (const auto& c : metric_cols) csv += "," + csv_cell(vals.count(c) ? vals[c] : json());
    csv += "," + csv_cell(r.value("error", r.value("reason", json()))) + "\n";
  }
  write_file_atomic((out / "summary.csv").string(), csv, true);
  return oc;
}

json run_one_point(const SweepSpec& spec, const std::string& out_dir, const std::string& id) {
  for (const auto& p : expand_points(spec)) {
    if (p.id != id) continue;
    const fs::path out(out_dir);
    make_dirs(out / "points");
    make_dirs(out / "failed");
    json rec = run_point(spec, p);
    store(out, rec);
    return rec;
  }
  throw InputError(fmt::format("point {}: not a point of {}", id, spec.file));
}

SweepOutcome run_sweep(const SweepSpec& spec, const SweepOptions& opt) {
  const fs::path out(opt.out_dir);
  make_dirs(out / "points");
  make_dirs(out / "failed");
  clean_temporaries(out / "points");
  clean_temporaries(out / "failed");

  const std::vector<SweepPoint> points = expand_points(spec);
  SweepOutcome oc;
  oc.total = points.size();
  std::vector<const SweepPoint*> todo;
  for (const auto& p : points) {
    std::string text;
    if (read_file(out / "points" / (p.id + ".json"), text) && point_file_valid(spec, p.id, text))
      ++oc.reused;
    else
      todo.push_back(&p);
  }

  std::atomic<size_t> next{0};
  std::mutex mu;
  size_t done = 0, failed_now = 0;
  const auto t0 = std::chrono::steady_clock::now();
  auto report_progress = [&] {  // under mu
    if (!opt.on_progress) return;
    const double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    SweepProgress pr;
    pr.points_done = oc.reused + done;
    pr.points = oc.total;
    pr.failed = failed_now;
    pr.finished = done == todo.size();
    pr.eta_s = done ? el / double(done) * double(todo.size() - done) : -1.0;
    opt.on_progress(pr);
  };
  std::string write_error;
  auto worker = [&] {
    for (size_t i = next++; i < todo.size(); i = next++) {
      json rec = run_point(spec, *todo[i]);
      std::lock_guard<std::mutex> lock(mu);
      try {
        store(out, rec);
      } catch (const std::exception& e) {
        if (write_error.empty()) write_error = e.what();
        next = todo.size();
        return;
      }
      ++done;
      if (rec["status"] == "failed") ++failed_now;
      report_progress();
      if (opt.stop_after && done >= opt.stop_after) {
        std::fflush(nullptr);
        ::kill(::getpid(), SIGKILL);
      }
    }
  };
  const unsigned jobs =
      std::max(1u, std::min<unsigned>(opt.jobs, unsigned(std::max<size_t>(1, todo.size()))));
  if (jobs == 1) {
    worker();
  } else {
    std::vector<std::thread> pool;
    for (unsigned j = 0; j < jobs; ++j) pool.emplace_back(worker);
    for (auto& t : pool) t.join();
  }
  if (!write_error.empty()) throw InputError(write_error);

  SweepOutcome fin = collect_results(spec, opt.out_dir);
  fin.ran = done;
  fin.reused = oc.reused;
  return fin;
}

}  // namespace tpusim
