#include "sim/studies/app/app_spec.h"

#include <cmath>
#include <functional>
#include <map>

#include <fmt/format.h>

#include "models/baselines.h"
#include "models/config.h"
#include "models/data_files.h"
#include "models/errors.h"
#include "models/yaml_reader.h"

namespace tpusim::app {

const char* kind_name(StageKind k) {
  switch (k) {
    case StageKind::kModel:
      return "model";
    case StageKind::kHost:
      return "host";
    case StageKind::kRetrieval:
      return "retrieval";
  }
  return "?";
}

namespace {

std::vector<std::string> string_list(YamlMap& m, const std::string& key) {
  std::vector<std::string> out;
  if (!m.has(key)) return out;
  YAML::Node n = m.raw(key);
  if (n.IsScalar()) return {n.Scalar()};
  if (!n.IsSequence()) m.fail(key, "expected a string or a list of strings");
  for (const auto& e : n) {
    if (!e.IsScalar()) m.fail(key, "expected a list of strings");
    out.push_back(e.Scalar());
  }
  return out;
}

// Resolves a shipped name or a path (relative to the app file) and loads it once to check it,
// re-throwing the loader's error under the key that named it.
std::string checked_file(YamlMap& m, const std::string& key, const std::string& dir,
                         const std::string& what,
                         const std::function<void(const std::string&)>& load) {
  const std::string v = m.str(key);
  std::string path;
  try {
    path = resolve_data_file(v, dir, what, m.file());
    load(path);
  } catch (const InputError& e) {
    m.fail(key, e.what());
  }
  return path;
}

void parse_model_target(YamlMap& s, StageSpec& st) {
  if (s.has("arch") == s.has("device"))
    s.fail("arch",
           "give exactly one of 'arch' (a simulated chip) and 'device' (a roofline device)");
  if (s.has("arch"))
    st.arch = checked_file(s, "arch", "workloads/archs", "arch",
                           [](const std::string& p) { (void)load_config(p); });
  else
    st.device = checked_file(s, "device", "workloads/devices", "device",
                             [](const std::string& p) { (void)load_baseline_device(p); });
}

StageSpec parse_stage(YamlMap& s) {
  StageSpec st;
  st.name = s.str("name");
  if (st.name.empty()) s.fail("name", "must not be empty");
  const std::string kind = s.choice("kind", {"model", "host", "retrieval"});
  st.kind = kind == "model"  ? StageKind::kModel
            : kind == "host" ? StageKind::kHost
                             : StageKind::kRetrieval;
  st.after = string_list(s, "after");
  st.items = s.uint_or("items", 1, 0, kMaxItems);
  st.probability = s.real_or("probability", 1.0, 0.0, 1.0);
  st.servers = uint32_t(s.uint_or("servers", 1, 1, kMaxServers));
  st.max_batch = uint32_t(s.uint_or("max_batch", 1, 1, kMaxBatch));
  st.batch_timeout_s = s.real_or("batch_timeout_ms", 0.0, 0.0, 1e7) / 1e3;
  st.exponential =
      s.choice_or("service", "deterministic", {"deterministic", "exponential"}) == "exponential";
  switch (st.kind) {
    case StageKind::kModel: {
      parse_model_target(s, st);
      st.params.phase = s.choice_or("phase", "", {"", "prefill", "decode", "generate"});
      st.params.prompt_len = s.uint_or("prompt_len", 0, 0, 1u << 20);
      st.params.context_len = s.uint_or("context_len", 0, 0, 1u << 20);
      st.repeat = uint32_t(s.uint_or("repeat", 1, 1, 1u << 20));
      if (st.params.phase == "generate") {
        st.output_tokens = uint32_t(s.uint("output_tokens", 1, 1u << 20));
        if (st.params.prompt_len == 0) s.fail("prompt_len", "required with phase generate");
        if (s.has("context_len")) s.fail("context_len", "not with phase generate (derived)");
      }
      WorkloadParams p = st.params;
      p.batch = st.max_batch;
      if (st.output_tokens) p.phase = "prefill";
      st.workload = checked_file(s, "workload", "workloads", "workload",
                                 [&](const std::string& f) { (void)load_workload(f, p); });
      break;
    }
    case StageKind::kHost:
      st.cost_s = s.real("cost_us", 0.0, 1e12) / 1e6;
      break;
    case StageKind::kRetrieval: {
      st.algorithm = s.choice("algorithm", {"exact", "ivf", "hnsw", "hierarchical"});
      st.vectors = s.uint("vectors", 1, uint64_t(1) << 50);
      st.dim = s.uint("dim", 1, 65536);
      st.code_bytes = s.real_or("code_bytes", 1.0, 0.125, 8.0);
      if (st.algorithm == "exact") {
        parse_model_target(s, st);
        st.scan_chunk = s.uint_or("scan_chunk", 131072, 1, uint64_t(1) << 32);
        break;
      }
      st.nodes = uint32_t(s.uint_or("nodes", 1, 1, kMaxServers));
      st.cores_per_node = uint32_t(s.uint("cores_per_node", 1, 4096));
      st.scan_gb_s_per_core = s.real("scan_gb_s_per_core", 1e-6, 1e4);
      if (st.algorithm == "hnsw") {
        st.ef_search = uint32_t(s.uint("ef_search", 1, 1u << 20));
        st.hnsw_m = uint32_t(s.uint("m", 1, 1024));
      } else {
        st.nlist = s.uint_or("nlist", 0, 0, uint64_t(1) << 40);
        if (st.algorithm == "ivf") {
          st.nprobe = uint32_t(s.uint("nprobe", 1, 1u << 24));
        } else {
          st.sample_nprobe = uint32_t(s.uint("sample_nprobe", 1, 1u << 24));
          st.deep_nprobe = uint32_t(s.uint("deep_nprobe", 1, 1u << 24));
          st.clusters_searched = uint32_t(s.uint_or("clusters_searched", 1, 1, st.nodes));
        }
      }
      if (s.has("dvfs")) {
        YAML::Node n = s.raw("dvfs");
        if (!n.IsSequence() || n.size() == 0)
          s.fail("dvfs", "expected a list of {ghz, busy_w, idle_w}");
        for (size_t i = 0; i < n.size(); ++i) {
          YamlMap l(n[i], s.file(), s.key_path(fmt::format("dvfs[{}]", i)));
          FreqLevel f{l.real("ghz", 0.01, 100.0), l.real("busy_w", 0.0, 1e6),
                      l.real("idle_w", 0.0, 1e6)};
          l.finish();
          if (!st.freqs.empty() && f.ghz <= st.freqs.back().ghz)
            s.fail("dvfs", "levels must be in ascending ghz");
          st.freqs.push_back(f);
        }
      } else {
        s.fail("dvfs", "required for host retrieval: at least one {ghz, busy_w, idle_w} level");
      }
      st.freq_ghz = s.real_or("freq_ghz", st.freqs.back().ghz, 0.0, 100.0);
      st.clock_bound = s.real_or("clock_bound_fraction", 1.0, 0.0, 1.0);
      bool found = false;
      for (const auto& f : st.freqs) found = found || std::abs(f.ghz - st.freq_ghz) < 1e-9;
      if (!found) s.fail("freq_ghz", "must be one of the dvfs levels' ghz");
      break;
    }
  }
  s.finish();
  return st;
}

}  // namespace

AppSpec parse_app(const std::string& yaml_text, const std::string& file) {
  YAML::Node root = load_yaml_text(yaml_text, file);
  YamlMap m(root, file, "");
  AppSpec app;
  app.file = file;
  app.name = m.str("name");
  app.paper = m.str_or("paper", "");
  app.description = m.str_or("description", "");
  app.assumptions = string_list(m, "assumptions");
  if (m.has("host")) {
    YamlMap h = m.map("host");
    app.host.device = checked_file(h, "device", "workloads/devices", "device",
                                   [](const std::string& p) { (void)load_baseline_device(p); });
    app.host.cores_per_device = uint32_t(h.uint("cores_per_device", 1, 4096));
    h.finish();
  } else {
    app.host.device = resolve_data_file(app.host.device, "workloads/devices", "device");
  }
  if (m.has("carbon_arch"))
    app.carbon_arch = checked_file(m, "carbon_arch", "workloads/archs", "arch",
                                   [](const std::string& p) { (void)load_config(p); });
  else
    app.carbon_arch = resolve_data_file(app.carbon_arch, "workloads/archs", "arch");

  YAML::Node list = m.raw("stages");
  if (!list || !list.IsSequence() || list.size() == 0)
    m.fail("stages", "expected a non-empty list of stages");
  if (list.size() > kMaxStages) m.fail("stages", fmt::format("at most {} stages", kMaxStages));
  std::vector<StageSpec> stages;
  std::map<std::string, uint32_t> index;
  for (size_t i = 0; i < list.size(); ++i) {
    YamlMap s(list[i], file, fmt::format("stages[{}]", i));
    stages.push_back(parse_stage(s));
    if (!index.emplace(stages.back().name, uint32_t(i)).second)
      s.fail("name", fmt::format("'{}' names two stages", stages.back().name));
  }
  m.finish();
  // Edges, then a topological order (Kahn); whatever is left over lies on a cycle.
  const size_t n = stages.size();
  std::vector<std::vector<uint32_t>> succ(n);
  std::vector<uint32_t> indeg(n, 0);
  for (size_t i = 0; i < n; ++i)
    for (const auto& a : stages[i].after) {
      auto it = index.find(a);
      const std::string key = fmt::format("stages[{}].after", i);
      if (it == index.end())
        throw InputError(fmt::format("{}: key '{}': unknown stage '{}'", file, key, a));
      if (it->second == i)
        throw InputError(
            fmt::format("{}: key '{}': stage '{}' depends on itself (a cycle)", file, key, a));
      stages[i].preds.push_back(it->second);
      succ[it->second].push_back(uint32_t(i));
      ++indeg[i];
    }
  std::vector<uint32_t> order;
  for (size_t i = 0; i < n; ++i)
    if (indeg[i] == 0) order.push_back(uint32_t(i));
  for (size_t k = 0; k < order.size(); ++k)
    for (uint32_t j : succ[order[k]])
      if (--indeg[j] == 0) order.push_back(j);
  if (order.size() != n) {
    for (size_t i = 0; i < n; ++i)
      if (indeg[i] > 0)
        throw InputError(fmt::format("{}: key 'stages[{}].after': stage '{}' lies on a cycle", file,
                                     i, stages[i].name));
  }
  // Renumber in topological order.
  std::vector<uint32_t> pos(n);
  for (size_t k = 0; k < n; ++k) pos[order[k]] = uint32_t(k);
  app.stages.resize(n);
  for (size_t k = 0; k < n; ++k) {
    app.stages[k] = stages[order[k]];
    for (auto& p : app.stages[k].preds) p = pos[p];
  }
  app.succs.assign(n, {});
  for (size_t k = 0; k < n; ++k)
    for (uint32_t p : app.stages[k].preds) app.succs[p].push_back(uint32_t(k));
  for (size_t k = 0; k < n; ++k)
    if (app.succs[k].empty()) app.sinks.push_back(uint32_t(k));
  return app;
}

AppSpec load_app(const std::string& name_or_path) {
  const std::string path = resolve_data_file(name_or_path, "workloads/apps", "application");
  return parse_app(read_input_file(path), path);
}

}  // namespace tpusim::app
