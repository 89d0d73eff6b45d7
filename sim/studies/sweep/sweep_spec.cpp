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

const std::vector<std::string> kDerivedMetrics = {"area_mm2", "tops_per_mm2", "carbon_g_total",
                                                  "carbon_g_per_inference", "inferences_per_s"};
// useful_tops (the workload's MACs) first; tops / utilization count array slots.
const std::vector<std::string> kDefaultMetrics = {"cycles",
                                                  "seconds",
                                                  "useful_tops",
                                                  "useful_utilization",
                                                  "tops",
                                                  "utilization",
                                                  "energy_j",
                                                  "avg_power_w",
                                                  "tops_per_w",
                                                  "area_mm2",
                                                  "carbon_g_total",
                                                  "carbon_g_per_inference",
                                                  "inferences_per_s"};
const std::vector<std::string> kWorkloadAxisKeys = {"batch", "phase", "prompt_len", "context_len"};
const std::vector<std::string> kParallelAxisKeys = {"chips", "tp", "pp"};

namespace {

// Arch keys that describe rather than configure; sweeping them would change nothing simulated.
const std::set<std::string> kNotSweepable = {"name", "description", "source", "derived"};

// A path `ref` relative to the spec's folder made absolute, so that what a point reads and the
// messages it records do not depend on the current folder; a preset or workload name unchanged.
std::string relative_to(const std::string& ref, const std::string& file) {
  if (!looks_like_path(ref)) return ref;
  fs::path p(ref);
  if (p.is_relative()) p = fs::path(file).parent_path() / p;
  return fs::absolute(p).lexically_normal().string();
}

json scalar_json(const YAML::Node& n) {
  const std::string& s = n.Scalar();
  uint64_t u = 0;
  if (parse_uint_scalar(s, u)) return u;
  if (!s.empty()) {
    char* end = nullptr;
    double d = std::strtod(s.c_str(), &end);
    if (end && *end == '\0' && std::isfinite(d)) return d;
  }
  return s;
}

std::string show(const json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

// Checks `v` against the kind of value `key` takes and returns it in canonical form: integers
// as JSON integers (an integral double becomes one), reals as doubles, strings as strings.
json conform(const SweepSpec& spec, const std::string& where, const std::string& key, json v) {
  auto fail = [&](const std::string& what) {
    throw InputError(fmt::format("{}: key '{}': {}: {}", spec.file, where, show(v), what));
  };
  auto as_uint = [&](uint64_t lo, uint64_t hi) -> json {
    uint64_t u = 0;
    if (v.is_number_unsigned())
      u = v.get<uint64_t>();
    else if (v.is_number_float() && v.get<double>() >= 0 &&
             std::floor(v.get<double>()) == v.get<double>() && v.get<double>() < 1.8e19)
      u = uint64_t(v.get<double>());
    else
      fail(fmt::format("'{}' takes an integer", key));
    if (u < lo || u > hi) fail(fmt::format("'{}' takes an integer in [{}, {}]", key, lo, hi));
    return u;
  };
  if (key == "phase") {
    if (!v.is_string() || (v != "prefill" && v != "decode"))
      fail("'phase' takes prefill or decode");
    return v;
  }
  if (is_workload_key(key))
    return as_uint(1, key == "batch"        ? kMaxBatch
                      : key == "prompt_len" ? kMaxPromptLen
                                            : kMaxContextLen);
  if (is_parallel_key(key)) return as_uint(1, kMaxChips);
  const json* base = find_path(spec.base_arch, key);
  if (base->is_number_integer()) return as_uint(0, UINT64_MAX);
  if (base->is_number()) {
    if (!v.is_number()) fail(fmt::format("'{}' takes a number", key));
    return tidy(v.get<double>());
  }
  if (base->is_boolean()) {
    if (v.is_string() && (v == "true" || v == "false")) return v == "true";
    fail(fmt::format("'{}' takes true or false", key));
  }
  if (!v.is_string()) fail(fmt::format("'{}' takes a string", key));
  return v;
}

void check_key(const SweepSpec& spec, const std::string& where, const std::string& key) {
  if (is_point_key(key)) return;
  const json* v = find_path(spec.base_arch, key);
  if (v && !v->is_object() && !kNotSweepable.count(split_dots(key)[0])) return;
  std::vector<std::string> keys;
  leaf_paths(spec.base_arch, "", kNotSweepable, keys);
  for (const auto& k : kWorkloadAxisKeys) keys.push_back(k);
  for (const auto& k : kParallelAxisKeys) keys.push_back(k);
  throw InputError(fmt::format("{}: key '{}': '{}' is not a sweepable key (allowed: {})", spec.file,
                               where, key, fmt::join(keys, ", ")));
}

// The numbers of a range {from, to, step} or {from, to, scale}, `to` included when reached.
std::vector<json> range_values(YamlMap r) {
  const double from = r.real("from", -1e18, 1e18);
  const double to = r.real("to", from, 1e18);
  const bool has_step = r.has("step"), has_scale = r.has("scale");
  if (has_step == has_scale)
    r.fail("step", "give exactly one of 'step' (linear) or 'scale' (geometric)");
  const bool ints = [&] {
    auto integral = [&](const char* k) {
      uint64_t u;
      return r.node()[k].IsScalar() && parse_uint_scalar(r.node()[k].Scalar(), u);
    };
    return integral("from") && (has_scale || integral("step"));
  }();
  std::vector<json> out;
  const double eps = 1e-9 * std::max(1.0, std::fabs(to));
  if (has_step) {
    const double step = r.real("step", 1e-12, 1e18);
    for (uint64_t i = 0;; ++i) {
      double v = from + double(i) * step;
      if (v > to + eps) break;
      if (out.size() >= kMaxSweepPoints) r.fail("step", "more than 1000000 values");
      out.push_back(ints ? json(uint64_t(std::llround(v))) : json(tidy(v)));
    }
  } else {
    const double scale = r.real("scale", 1.000001, 1e9);
    if (!(from > 0)) r.fail("from", "a geometric range (scale) starts above 0");
    for (double v = from; v <= to + eps; v *= scale) {
      out.push_back(ints && std::floor(tidy(v)) == tidy(v) ? json(uint64_t(std::llround(v)))
                                                           : json(tidy(v)));
    }
  }
  r.finish();
  return out;
}

SweepAxis parse_axis(const SweepSpec& spec, const YAML::Node& node, size_t index) {
  const std::string where = fmt::format("axes[{}]", index);
  YamlMap m(node, spec.file, where);
  SweepAxis ax;
  const bool has_key = m.has("key"), has_tie = m.has("tie");
  if (has_key == has_tie)
    m.fail("key", "give exactly one of 'key' (one key) or 'tie' (a list of keys)");
  if (has_key) {
    ax.keys.push_back(m.str("key"));
  } else {
    YAML::Node t = m.raw("tie");
    if (!t.IsSequence() || t.size() < 2) m.fail("tie", "expected a list of at least two keys");
    for (size_t i = 0; i < t.size(); ++i) {
      if (!t[i].IsScalar()) m.fail(fmt::format("tie[{}]", i), "expected a key");
      ax.keys.push_back(t[i].Scalar());
    }
  }
  for (size_t k = 0; k < ax.keys.size(); ++k)
    check_key(spec, m.key_path(has_key ? "key" : fmt::format("tie[{}]", k)), ax.keys[k]);
  {
    std::set<std::string> seen;
    for (const auto& k : ax.keys)
      if (!seen.insert(k).second) m.fail("tie", fmt::format("'{}' is tied to itself", k));
  }
  std::string joined;
  for (const auto& k : ax.keys) joined += (joined.empty() ? "" : "+") + k;
  ax.name = m.str_or("name", joined);

  const int kinds = int(m.has("values")) + int(m.has("range")) + int(m.has("factors"));
  if (kinds != 1) m.fail("values", "give exactly one of 'values', 'range' or 'factors'");
  const size_t nk = ax.keys.size();
  if (m.has("values")) {
    YAML::Node vs = m.raw("values");
    if (!vs.IsSequence()) m.fail("values", "expected a list");
    if (vs.size() == 0) m.fail("values", "empty list: an axis needs at least one value");
    for (size_t i = 0; i < vs.size(); ++i) {
      const std::string vkey = m.key_path(fmt::format("values[{}]", i));
      std::vector<json> level;
      if (vs[i].IsSequence()) {
        if (vs[i].size() != nk)
          throw InputError(
              fmt::format("{}: key '{}': expected {} values, one per tied key, found {}", spec.file,
                          vkey, nk, vs[i].size()));
        for (size_t k = 0; k < nk; ++k) {
          if (!vs[i][k].IsScalar())
            throw InputError(
                fmt::format("{}: key '{}[{}]': expected a scalar", spec.file, vkey, k));
          level.push_back(conform(spec, vkey, ax.keys[k], scalar_json(vs[i][k])));
        }
      } else if (vs[i].IsScalar()) {
        for (size_t k = 0; k < nk; ++k)
          level.push_back(conform(spec, vkey, ax.keys[k], scalar_json(vs[i])));
      } else {
        throw InputError(fmt::format("{}: key '{}': expected a scalar or a list", spec.file, vkey));
      }
      ax.values.push_back(level);
    }
  } else if (m.has("range")) {
    std::vector<json> vs = range_values(m.map("range"));
    if (vs.empty()) m.fail("range", "no values between 'from' and 'to'");
    for (size_t i = 0; i < vs.size(); ++i) {
      std::vector<json> level;
      for (size_t k = 0; k < nk; ++k)
        level.push_back(conform(spec, m.key_path("range"), ax.keys[k], vs[i]));
      ax.values.push_back(level);
    }
  } else {
    YAML::Node fs_node = m.raw("factors");
    if (!fs_node.IsSequence() || fs_node.size() == 0)
      m.fail("factors", "expected a non-empty list of numbers");
    for (const auto& k : ax.keys) {
      const json* b = is_point_key(k) ? nullptr : find_path(spec.base_arch, k);
      if (!b || !b->is_number())
        m.fail("factors", fmt::format("'{}' has no numeric base value to scale", k));
    }
    for (size_t i = 0; i < fs_node.size(); ++i) {
      const std::string fkey = m.key_path(fmt::format("factors[{}]", i));
      json f = fs_node[i].IsScalar() ? scalar_json(fs_node[i]) : json();
      if (!f.is_number() || !(f.get<double>() > 0))
        throw InputError(fmt::format("{}: key '{}': expected a number > 0", spec.file, fkey));
      std::vector<json> level;
      for (const auto& k : ax.keys) {
        const json* b = find_path(spec.base_arch, k);
        double v = b->get<double>() * f.get<double>();
        if (b->is_number_integer()) {
          if (std::fabs(v - std::round(v)) > 1e-9 * std::max(1.0, std::fabs(v)))
            throw InputError(
                fmt::format("{}: key '{}': {} x {} = {} is not an integer as '{}' requires",
                            spec.file, fkey, b->dump(), f.dump(), v, k));
          level.push_back(conform(spec, fkey, k, json(uint64_t(std::llround(v)))));
        } else {
          level.push_back(conform(spec, fkey, k, json(v)));
        }
      }
      ax.values.push_back(level);
    }
  }
  m.finish();
  return ax;
}

}  // namespace

SweepSpec parse_sweep_spec(const std::string& yaml_text, const std::string& file) {
  YAML::Node doc = load_yaml_text(yaml_text, file);
  YamlMap root(doc, file, "");
  SweepSpec s;
  s.file = file;
  s.name = root.str("name");
  if (s.name.empty()) root.fail("name", "must not be empty");
  s.description = root.str_or("description", "");
  s.base = root.str("base");
  s.base_path = relative_to(s.base, file);
  try {
    TpuConfig base_cfg = parse_config(json{{"base", s.base}}.dump(), file);
    s.base_arch = arch_json(base_cfg);
  } catch (const InputError& e) {
    throw InputError(fmt::format("{}: key 'base': {}", file, e.what()));
  }
  s.design = root.choice_or("design", "cartesian", {"cartesian", "one_at_a_time"});
  s.mode = root.choice_or("mode", "fast", {"fast"});
  s.timing_only = root.boolean_or("timing_only", false);
  s.strict_capacity = root.boolean_or("strict_capacity", false);
  s.seed = root.uint_or("seed", 1, 0, UINT64_MAX);

  YAML::Node wl = root.raw("workloads");
  if (!wl) root.fail("workloads", "missing (required)");
  if (!wl.IsSequence() || wl.size() == 0)
    root.fail("workloads", "expected a non-empty list of workloads");
  for (size_t i = 0; i < wl.size(); ++i) {
    const std::string key = fmt::format("workloads[{}]", i);
    if (!wl[i].IsScalar() || wl[i].Scalar().empty())
      root.fail(key, "expected a workload name or path");
    const std::string name = wl[i].Scalar();
    if (std::find(s.workloads.begin(), s.workloads.end(), name) != s.workloads.end())
      root.fail(key, fmt::format("'{}' is listed twice", name));
    const std::string ref = relative_to(name, file);
    try {
      (void)load_workload(ref, WorkloadParams{});
    } catch (const InputError& e) {
      root.fail(key, e.what());
    }
    s.workloads.push_back(name);
    s.workload_refs.push_back(ref);
  }

  YAML::Node axes = root.raw("axes");
  if (!axes) root.fail("axes", "missing (required)");
  if (!axes.IsSequence() || axes.size() == 0)
    root.fail("axes", "expected a non-empty list of axes");
  std::set<std::string> swept;
  for (size_t i = 0; i < axes.size(); ++i) {
    SweepAxis ax = parse_axis(s, axes[i], i);
    // One at a time, axes never combine, so two may set the same key (TPU' sets the memory type
    // and its bandwidth while another axis scales the bandwidth alone).
    for (const auto& k : ax.keys)
      if (!swept.insert(k).second && s.design == "cartesian")
        root.fail(fmt::format("axes[{}]", i), fmt::format("'{}' is swept by two axes", k));
    s.axes.push_back(std::move(ax));
  }

  if (root.has("parallel")) {
    YamlMap pm = root.map("parallel");
    SweepParallel& p = s.parallel;
    p.chips = uint32_t(pm.uint_or("chips", 0, 1, kMaxChips));
    p.tp = uint32_t(pm.uint_or("tp", 0, 1, kMaxChips));
    p.pp = uint32_t(pm.uint_or("pp", 0, 1, kMaxChips));
    p.micro_batches = uint32_t(pm.uint_or("micro_batches", 0, 0, kMaxBatch));
    p.balance = pm.choice_or("balance", "weights", {"weights", "time"});
    p.collective_bytes = uint32_t(pm.uint_or("collective_bytes", 1, 1, 8));
    pm.finish();
    p.source = fmt::format("{}: key 'parallel'", file);
  }
  apply_parallel_flags(s, SweepParallel{0, 0, 0, 0, "", 0, ""});

  if (root.has("metrics")) {
    YAML::Node ms = root.raw("metrics");
    if (!ms.IsSequence() || ms.size() == 0)
      root.fail("metrics", "expected a non-empty list of metric names");
    std::set<std::string> known(kDerivedMetrics.begin(), kDerivedMetrics.end());
    EventCounts probe;
    probe.useful_macs = 1;
    probe.cycles = 1;
    all_paths(totals_json(parse_config(json{{"base", s.base}}.dump(), file), probe), "", known);
    for (size_t i = 0; i < ms.size(); ++i) {
      const std::string key = fmt::format("metrics[{}]", i);
      if (!ms[i].IsScalar()) root.fail(key, "expected a metric name");
      const std::string m = ms[i].Scalar();
      if (!known.count(m))
        root.fail(key, fmt::format("unknown metric '{}' (a path into the report totals such as "
                                   "tops or carbon_g.operational, or one of {})",
                                   m, fmt::join(kDerivedMetrics, ", ")));
      if (std::find(s.metrics.begin(), s.metrics.end(), m) != s.metrics.end())
        root.fail(key, fmt::format("'{}' is listed twice", m));
      s.metrics.push_back(m);
    }
  } else {
    s.metrics = kDefaultMetrics;
  }
  root.finish();

  long double n = s.workloads.size();
  if (s.design == "cartesian") {
    for (const auto& ax : s.axes) n *= ax.values.size();
  } else {
    size_t levels = 1;
    for (const auto& ax : s.axes) levels += ax.values.size();
    n *= levels;
  }
  if (n > kMaxSweepPoints)
    throw InputError(
        fmt::format("{}: {} points, more than the {} allowed", file, double(n), kMaxSweepPoints));
  return s;
}

bool SweepSpec::parallel_used() const {
  for (const auto& ax : axes)
    for (const auto& k : ax.keys)
      if (is_parallel_key(k)) return true;
  return parallel.chips > 1 || parallel.tp > 1 || parallel.pp > 1;
}

void apply_parallel_flags(SweepSpec& spec, const SweepParallel& f) {
  SweepParallel& p = spec.parallel;
  auto take = [](uint32_t& dst, uint32_t v) {
    if (v) dst = v;
  };
  take(p.chips, f.chips);
  take(p.tp, f.tp);
  take(p.pp, f.pp);
  take(p.micro_batches, f.micro_batches);
  take(p.collective_bytes, f.collective_bytes);
  if (!f.balance.empty()) p.balance = f.balance;
  if (!f.source.empty()) p.source = p.source.empty() ? f.source : p.source + " with " + f.source;
  if (p.balance != "weights" && p.balance != "time")
    throw InputError(fmt::format("{}: balance '{}': allowed weights, time", p.source, p.balance));
  if (p.collective_bytes == 0 || p.collective_bytes > 8)
    throw InputError(
        fmt::format("{}: collective_bytes {}: allowed 1..8", p.source, p.collective_bytes));
  // Fixed values are checked alone only when no axis can replace them.
  for (const auto& ax : spec.axes)
    for (const auto& k : ax.keys)
      if (is_parallel_key(k)) return;
  const Split sp = resolve_split(p.chips, p.tp, p.pp);
  if (!sp.reason.empty()) throw InputError(fmt::format("{}: {}", p.source, sp.reason));
}

SweepSpec load_sweep_spec(const std::string& path) {
  return parse_sweep_spec(read_input_file(path), path);
}

}  // namespace tpusim
