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

std::vector<SweepPoint> expand_points(const SweepSpec& spec) {
  // Axis assignments, each a full map of key -> value (base values filled in for one_at_a_time).
  std::vector<json> assigns;
  if (spec.design == "cartesian") {
    assigns.push_back(json::object());
    for (const auto& ax : spec.axes) {
      std::vector<json> next;
      for (const json& a : assigns)
        for (const auto& level : ax.values) {
          json b = a;
          for (size_t k = 0; k < ax.keys.size(); ++k) b[ax.keys[k]] = level[k];
          next.push_back(std::move(b));
        }
      assigns = std::move(next);
    }
  } else {
    json base = json::object();
    for (const auto& ax : spec.axes)
      for (const auto& k : ax.keys) {
        const json* b = is_point_key(k) ? nullptr : find_path(spec.base_arch, k);
        base[k] = b ? *b : json();
      }
    assigns.push_back(base);
    for (const auto& ax : spec.axes)
      for (const auto& level : ax.values) {
        json b = base;
        for (size_t k = 0; k < ax.keys.size(); ++k) b[ax.keys[k]] = level[k];
        assigns.push_back(std::move(b));
      }
  }

  std::vector<SweepPoint> out;
  std::set<std::string> seen;
  for (const json& a : assigns) {
    json overlay = {{"base", spec.base_path}};
    json params = json::object();
    uint64_t chips = spec.parallel.chips, tp = spec.parallel.tp, pp = spec.parallel.pp;
    for (auto it = a.begin(); it != a.end(); ++it) {
      if (is_workload_key(it.key())) {
        if (!it->is_null()) params[it.key()] = *it;
      } else if (is_parallel_key(it.key())) {
        if (it->is_null()) continue;
        (it.key() == "chips" ? chips : it.key() == "tp" ? tp : pp) = it->get<uint64_t>();
      } else {
        set_path(overlay, it.key(), *it);
      }
    }
    const Split split = resolve_split(chips, tp, pp);
    std::string arch_yaml = overlay.dump();
    json arch_id;
    std::string cfg_error;
    try {
      arch_id = arch_json(parse_config(arch_yaml, point_label(spec)));
    } catch (const InputError& e) {
      cfg_error = e.what();
      arch_id = {{"invalid", overlay}};
    }
    for (size_t w = 0; w < spec.workloads.size(); ++w) {
      // The identity: what the point resolves to, not how the spec spelled it.
      json identity = {{"arch", arch_id},
                       {"workload", spec.workloads[w]},
                       {"params", params},
                       {"mode", spec.mode},
                       {"timing_only", spec.timing_only},
                       {"strict_capacity", spec.strict_capacity},
                       {"seed", spec.seed}};
      // One chip adds nothing, so single-chip ids are those of a sweep without splits.
      if (!split.reason.empty())
        identity["parallel"] = {{"skipped", {{"chips", chips}, {"tp", tp}, {"pp", pp}}}};
      else if (split.tp * split.pp > 1)
        identity["parallel"] = {{"tp", split.tp},
                                {"pp", split.pp},
                                {"micro_batches", spec.parallel.micro_batches},
                                {"balance", spec.parallel.balance},
                                {"collective_bytes", spec.parallel.collective_bytes}};
      SweepPoint p;
      p.id = fmt::format("{:016x}", hash_text(identity.dump()));
      if (!seen.insert(p.id).second) continue;
      p.workload = w;
      p.axes = a;
      p.arch_yaml = arch_yaml;
      p.config_error = cfg_error;
      p.tp = split.tp;
      p.pp = split.pp;
      p.skip_reason = split.reason;
      out.push_back(std::move(p));
    }
  }
  return out;
}

json run_point(const SweepSpec& spec, const SweepPoint& point) {
  json rec = {{"id", point.id},
              {"sweep", spec.name},
              {"workload", spec.workloads[point.workload]},
              {"axes", point.axes}};
  if (!point.skip_reason.empty()) {
    rec["status"] = "skipped";
    rec["reason"] = fmt::format("{} (tp x pp must equal chips)", point.skip_reason);
    return rec;
  }
  try {
    if (!point.config_error.empty()) throw InputError(point.config_error);
    const TpuConfig cfg = parse_config(point.arch_yaml, point_label(spec));
    WorkloadParams wp;
    if (point.axes.is_object()) {
      for (auto it = point.axes.begin(); it != point.axes.end(); ++it) {
        if (it->is_null()) continue;
        if (it.key() == "batch") wp.batch = it->get<uint64_t>();
        if (it.key() == "phase") wp.phase = it->get<std::string>();
        if (it.key() == "prompt_len") wp.prompt_len = it->get<uint64_t>();
        if (it.key() == "context_len") wp.context_len = it->get<uint64_t>();
      }
    }
    const uint32_t n_chips = point.tp * point.pp;
    json rep;
    if (n_chips > 1) {
      MultiChipOptions mo;
      mo.tp = point.tp;
      mo.pp = point.pp;
      mo.micro_batches = spec.parallel.micro_batches;
      mo.balance = spec.parallel.balance;
      mo.collective_bytes_per_element = spec.parallel.collective_bytes;
      mo.strict_capacity = spec.strict_capacity;
      rep = run_multichip_report(cfg, spec.workload_refs[point.workload], wp, mo);
      // Utilization of the system: every chip's array over the wall-clock cycles.
      json& tot = rep.at("totals");
      const double slots =
          double(n_chips) * double(cfg.macs_per_cycle()) * tot.value("cycles", 0.0);
      tot["utilization"] = slots > 0 ? tot.value("macs", 0.0) / slots : 0.0;
    } else {
      WorkloadRunOptions wo;
      wo.mode = spec.mode;
      wo.timing_only = spec.timing_only;
      wo.strict_capacity = spec.strict_capacity;
      wo.seed = spec.seed;
      rep = run_workload_report(cfg, spec.workload_refs[point.workload], wp, wo);
    }
    const json& t = rep.at("totals");
    const double batch = std::max(1.0, rep.at("workload").value("batch", 1.0));
    const double seconds = t.value("seconds", 0.0);
    const double area = double(n_chips) * estimate_area(cfg).die_mm2;
    const double carbon = t.contains("carbon_g") ? t["carbon_g"].value("operational", 0.0) +
                                                       t["carbon_g"].value("embodied", 0.0)
                                                 : 0.0;
    json metrics = json::object();
    for (const auto& m : spec.metrics) {
      if (m == "area_mm2")
        metrics[m] = area;
      else if (m == "tops_per_mm2")
        metrics[m] = t.value("tops", 0.0) / area;
      else if (m == "carbon_g_total")
        metrics[m] = carbon;
      else if (m == "carbon_g_per_inference")
        metrics[m] = carbon / batch;
      else if (m == "inferences_per_s")
        metrics[m] = seconds > 0 ? batch / seconds : 0.0;
      else {
        const json* v = find_path(t, m);
        metrics[m] = v ? *v : json();
      }
    }
    rec["status"] = "ok";
    rec["metrics"] = metrics;
    rec["capacity"] = rep.value("capacity", json());
    rec["workload_batch"] = rep.at("workload").value("batch", json());
    if (spec.parallel_used()) {
      json par = {{"chips", n_chips}, {"tp", point.tp}, {"pp", point.pp}};
      if (n_chips > 1) {
        uint64_t per_chip = 0;
        for (const json& c : rep.at("chips"))
          per_chip = std::max(per_chip, c.value("useful_macs", uint64_t(0)));
        par["micro_batches"] = rep.at("split").at("micro_batches");
        par["comm_share"] = rep.at("communication").at("share");
        par["comm_energy_j"] = rep.at("communication").at("energy_j");
        par["useful_macs_per_chip_max"] = per_chip;
      } else {
        par["micro_batches"] = 1;
        par["comm_share"] = 0.0;
        par["comm_energy_j"] = 0.0;
        par["useful_macs_per_chip_max"] = t.value("useful_macs", uint64_t(0));
      }
      rec["parallel"] = par;
    }
  } catch (const InputError& e) {
    rec["status"] = "failed";
    rec["error"] = e.what();
  } catch (const std::exception& e) {
    rec["status"] = "failed";
    rec["error"] = fmt::format("internal error: {}", e.what());
  }
  return rec;
}

std::string point_text(const json& record) { return record.dump(2) + "\n"; }

bool point_file_valid(const SweepSpec& spec, const std::string& id, const std::string& text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || j.value("id", "") != id) return false;
  if (j.value("status", "") == "skipped") return true;
  if (j.value("status", "") != "ok") return false;
  if (spec.parallel_used() && !(j.contains("parallel") && j["parallel"].is_object())) return false;
  if (!j.contains("metrics") || !j["metrics"].is_object() ||
      j["metrics"].size() != spec.metrics.size())
    return false;
  for (const auto& m : spec.metrics)
    if (!j["metrics"].contains(m)) return false;
  return true;
}

}  // namespace tpusim
