// Helpers the sweep's files share (internal to sim/studies/sweep): which keys are not arch paths,
// dotted paths into the resolved arch JSON, and the hash that names a point.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace tpusim {
struct SweepSpec;
}

namespace tpusim::sweep_detail {

bool is_workload_key(const std::string& k);  // batch, phase, prompt_len, context_len
bool is_parallel_key(const std::string& k);  // chips, tp, pp
// Keys that are no arch path: workload parameters and the multi-chip split.
bool is_point_key(const std::string& k);

std::vector<std::string> split_dots(const std::string& s);
// The value at `dotted` in `j` (nullptr when absent).
const nlohmann::json* find_path(const nlohmann::json& j, const std::string& dotted);
void set_path(nlohmann::json& j, const std::string& dotted, const nlohmann::json& v);
// Dotted paths of the scalars of `j` (objects recursed), skipping top-level `skip` keys.
void leaf_paths(const nlohmann::json& j, const std::string& prefix,
                const std::set<std::string>& skip, std::vector<std::string>& out);
// Every dotted path of `j` (objects and scalars).
void all_paths(const nlohmann::json& j, const std::string& prefix, std::set<std::string>& out);

// Doubles printed with 12 significant digits and read back, so that 0.1 * 3 is 0.3: values
// computed by ranges and factors must not carry binary noise into ids and file names.
double tidy(double v);

// The name under which a point's arch is parsed: the spec's file name without its folder, so a
// failed point's error reads the same whichever folder the spec was given from.
std::string point_label(const SweepSpec& spec);

// The 64-bit FNV-1a of `s` (point ids).
uint64_t hash_text(const std::string& s);

}  // namespace tpusim::sweep_detail
