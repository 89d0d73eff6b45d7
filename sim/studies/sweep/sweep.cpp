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
#include "sim/common/files.h"
#include "models/event_counts.h"
#include "models/yaml_reader.h"
#include "sim/engines/functional/functional.h"
#include "sim/studies/multichip/multichip.h"
#include "sim/report/report_json.h"
#include "sim/compiler/workload.h"
#include "sim/studies/run/run_workload.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace tpusim {

const std::vector<std::string> kDerivedMetrics = {"area_mm2", "tops_per_mm2", "carbon_g_total",
                                                  "carbon_g_per_inference", "inferences_per_s"};
const std::vector<std::string> kDefaultMetrics = {
    "cycles",         "seconds",        "tops",          "utilization",
    "energy_j",       "avg_power_w",    "tops_per_w",    "area_mm2",
    "carbon_g_total", "carbon_g_per_inference", "inferences_per_s"};
const std::vector<std::string> kWorkloadAxisKeys = {"batch", "phase", "prompt_len", "context_len"};
const std::vector<std::string> kParallelAxisKeys = {"chips", "tp", "pp"};

namespace {

// Arch keys that describe rather than configure; sweeping them would change nothing simulated.
const std::set<std::string> kNotSweepable = {"name", "description", "source", "derived"};

bool is_workload_key(const std::string& k) {
  return std::find(kWorkloadAxisKeys.begin(), kWorkloadAxisKeys.end(), k) != kWorkloadAxisKeys.end();
}

bool is_parallel_key(const std::string& k) {
  return std::find(kParallelAxisKeys.begin(), kParallelAxisKeys.end(), k) != kParallelAxisKeys.end();
}

// Keys that are no arch path: workload parameters and the multi-chip split.
bool is_point_key(const std::string& k) { return is_workload_key(k) || is_parallel_key(k); }

// A path `ref` relative to the spec's folder made absolute, so that what a point reads and the
// messages it records do not depend on the current folder; a preset or workload name unchanged.
std::string relative_to(const std::string& ref, const std::string& file) {
  if (!looks_like_path(ref)) return ref;
  fs::path p(ref);
  if (p.is_relative()) p = fs::path(file).parent_path() / p;
  return fs::absolute(p).lexically_normal().string();
}

// The name under which a point's arch is parsed: the spec's file name without its folder, so a
// failed point's error reads the same whichever folder the spec was given from.
std::string point_label(const SweepSpec& spec) { return fs::path(spec.file).filename().string(); }

std::vector<std::string> split_dots(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == '.') {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  out.push_back(cur);
  return out;
}

const json* find_path(const json& j, const std::string& dotted) {
  const json* cur = &j;
  for (const std::string& part : split_dots(dotted)) {
    if (!cur->is_object()) return nullptr;
    auto it = cur->find(part);
    if (it == cur->end()) return nullptr;
    cur = &*it;
  }
  return cur;
}

void set_path(json& j, const std::string& dotted, const json& v) {
  json* cur = &j;
  for (const std::string& part : split_dots(dotted)) cur = &(*cur)[part];
  *cur = v;
}

// Dotted paths of the scalars of `j` (objects recursed), skipping top-level `skip` keys.
void leaf_paths(const json& j, const std::string& prefix, const std::set<std::string>& skip,
                std::vector<std::string>& out) {
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (prefix.empty() && skip.count(it.key())) continue;
    std::string p = prefix.empty() ? it.key() : prefix + "." + it.key();
    if (it->is_object()) leaf_paths(*it, p, skip, out);
    else out.push_back(p);
  }
}

void all_paths(const json& j, const std::string& prefix, std::set<std::string>& out) {
  for (auto it = j.begin(); it != j.end(); ++it) {
    std::string p = prefix.empty() ? it.key() : prefix + "." + it.key();
    out.insert(p);
    if (it->is_object()) all_paths(*it, p, out);
  }
}

// Doubles printed with 12 significant digits and read back, so that 0.1 * 3 is 0.3: values
// computed by ranges and factors must not carry binary noise into ids and file names.
double tidy(double v) { return std::stod(fmt::format("{:.12g}", v)); }

// A YAML scalar as JSON: an unsigned integer, a finite number, or a string.
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
    if (v.is_number_unsigned()) u = v.get<uint64_t>();
    else if (v.is_number_float() && v.get<double>() >= 0 && std::floor(v.get<double>()) == v.get<double>() &&
             v.get<double>() < 1.8e19)
      u = uint64_t(v.get<double>());
    else fail(fmt::format("'{}' takes an integer", key));
    if (u < lo || u > hi) fail(fmt::format("'{}' takes an integer in [{}, {}]", key, lo, hi));
    return u;
  };
  if (key == "phase") {
    if (!v.is_string() || (v != "prefill" && v != "decode"))
      fail("'phase' takes prefill or decode");
    return v;
  }
  if (is_workload_key(key))
    return as_uint(1, key == "batch" ? kMaxBatch : key == "prompt_len" ? kMaxPromptLen : kMaxContextLen);
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
  if (has_step == has_scale) r.fail("step", "give exactly one of 'step' (linear) or 'scale' (geometric)");
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
  if (has_key == has_tie) m.fail("key", "give exactly one of 'key' (one key) or 'tie' (a list of keys)");
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
          throw InputError(fmt::format("{}: key '{}': expected {} values, one per tied key, found {}",
                                       spec.file, vkey, nk, vs[i].size()));
        for (size_t k = 0; k < nk; ++k) {
          if (!vs[i][k].IsScalar())
            throw InputError(fmt::format("{}: key '{}[{}]': expected a scalar", spec.file, vkey, k));
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
            throw InputError(fmt::format("{}: key '{}': {} x {} = {} is not an integer as '{}' requires",
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

uint64_t hash_text(const std::string& s) { return fnv1a64(s.data(), s.size()); }

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
  if (!wl.IsSequence() || wl.size() == 0) root.fail("workloads", "expected a non-empty list of workloads");
  for (size_t i = 0; i < wl.size(); ++i) {
    const std::string key = fmt::format("workloads[{}]", i);
    if (!wl[i].IsScalar() || wl[i].Scalar().empty()) root.fail(key, "expected a workload name or path");
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
  if (!axes.IsSequence() || axes.size() == 0) root.fail("axes", "expected a non-empty list of axes");
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
    if (!ms.IsSequence() || ms.size() == 0) root.fail("metrics", "expected a non-empty list of metric names");
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
    throw InputError(fmt::format("{}: {} points, more than the {} allowed", file, double(n), kMaxSweepPoints));
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
    throw InputError(fmt::format("{}: collective_bytes {}: allowed 1..8", p.source, p.collective_bytes));
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
      json identity = {{"arch", arch_id},          {"workload", spec.workloads[w]},
                       {"params", params},         {"mode", spec.mode},
                       {"timing_only", spec.timing_only}, {"strict_capacity", spec.strict_capacity},
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
      const double slots = double(n_chips) * double(cfg.macs_per_cycle()) * tot.value("cycles", 0.0);
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
    const double carbon = t.contains("carbon_g")
                              ? t["carbon_g"].value("operational", 0.0) + t["carbon_g"].value("embodied", 0.0)
                              : 0.0;
    json metrics = json::object();
    for (const auto& m : spec.metrics) {
      if (m == "area_mm2") metrics[m] = area;
      else if (m == "tops_per_mm2") metrics[m] = t.value("tops", 0.0) / area;
      else if (m == "carbon_g_total") metrics[m] = carbon;
      else if (m == "carbon_g_per_inference") metrics[m] = carbon / batch;
      else if (m == "inferences_per_s") metrics[m] = seconds > 0 ? batch / seconds : 0.0;
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
        for (const json& c : rep.at("chips")) per_chip = std::max(per_chip, c.value("useful_macs", uint64_t(0)));
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
  if (!j.contains("metrics") || !j["metrics"].is_object() || j["metrics"].size() != spec.metrics.size())
    return false;
  for (const auto& m : spec.metrics)
    if (!j["metrics"].contains(m)) return false;
  return true;
}

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
    throw InputError(fmt::format("--out {}: cannot create folder: {}", p.string(), ec.message()));
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
    if (n.size() > 1 && n[0] == '.' && n.find(".tmp.") != std::string::npos) fs::remove(e.path(), ec);
  }
}

std::string csv_cell(const json& v) {
  if (v.is_null()) return "";
  std::string s = v.is_string() ? v.get<std::string>() : v.dump();
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

// Scalar columns of a metric value: itself, or "name.sub" for each leaf of an object.
void flatten(const std::string& name, const json& v, std::vector<std::pair<std::string, json>>& out) {
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
  std::sort(points.begin(), points.end(), [](const SweepPoint& a, const SweepPoint& b) { return a.id < b.id; });
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
      spec.parallel_used() ? std::vector<std::pair<std::string, std::string>>{{"split.chips", "chips"},
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
      csv += "," + csv_cell(r.contains("parallel") ? r["parallel"].value(c.second, json()) : json());
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
  throw InputError(fmt::format("--only-point {}: not a point of {}", id, spec.file));
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
  const unsigned jobs = std::max(1u, std::min<unsigned>(opt.jobs, unsigned(std::max<size_t>(1, todo.size()))));
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
