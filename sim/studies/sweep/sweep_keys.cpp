#include "sim/studies/sweep/sweep_keys.h"

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

#include "sim/common/hash.h"
#include "sim/studies/sweep/sweep.h"

using nlohmann::json;

namespace tpusim::sweep_detail {

bool is_workload_key(const std::string& k) {
  return std::find(kWorkloadAxisKeys.begin(), kWorkloadAxisKeys.end(), k) !=
         kWorkloadAxisKeys.end();
}

bool is_parallel_key(const std::string& k) {
  return std::find(kParallelAxisKeys.begin(), kParallelAxisKeys.end(), k) !=
         kParallelAxisKeys.end();
}

// Keys that are no arch path: workload parameters and the multi-chip split.
bool is_point_key(const std::string& k) { return is_workload_key(k) || is_parallel_key(k); }

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
    if (it->is_object())
      leaf_paths(*it, p, skip, out);
    else
      out.push_back(p);
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

uint64_t hash_text(const std::string& s) { return fnv1a64(s.data(), s.size()); }

std::string point_label(const SweepSpec& spec) {
  return std::filesystem::path(spec.file).filename().string();
}

}  // namespace tpusim::sweep_detail
