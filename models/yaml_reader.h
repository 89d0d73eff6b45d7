// YamlMap: strict reading of one YAML mapping. Every getter names the file, the full key path and
// the allowed range in its InputError; finish() rejects keys nobody asked for. Shared by every
// loader (arch, workload, sweep spec, device) so that all inputs fail the same way.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace tpusim {

class YamlMap {
 public:
  // `node` must be a map; `path` is the key path used in messages ("" for the document root).
  YamlMap(const YAML::Node& node, std::string file, std::string path);

  bool has(const std::string& key) const;
  YAML::Node raw(const std::string& key);  // marks the key used; undefined node if absent
  YamlMap map(const std::string& key);     // required sub-map
  std::string str(const std::string& key);
  std::string str_or(const std::string& key, const std::string& fallback);
  // Integers in [lo, hi]; accepts plain decimal or 0x hex, rejects fractions and overflow.
  uint64_t uint(const std::string& key, uint64_t lo, uint64_t hi);
  uint64_t uint_or(const std::string& key, uint64_t fallback, uint64_t lo, uint64_t hi);
  int64_t sint(const std::string& key, int64_t lo, int64_t hi);
  double real(const std::string& key, double lo, double hi);
  double real_or(const std::string& key, double fallback, double lo, double hi);
  bool boolean_or(const std::string& key, bool fallback);
  // One of `allowed`.
  std::string choice(const std::string& key, const std::vector<std::string>& allowed);
  std::string choice_or(const std::string& key, const std::string& fallback,
                        const std::vector<std::string>& allowed);
  void mark_used(const std::string& key);
  // Throws for the first key present but never read.
  void finish() const;

  std::string key_path(const std::string& key) const;
  [[noreturn]] void fail(const std::string& key, const std::string& what) const;
  const std::string& file() const { return file_; }
  const YAML::Node& node() const { return node_; }

 private:
  YAML::Node get(const std::string& key, bool required);
  YAML::Node node_;
  std::string file_;
  std::string path_;
  std::set<std::string> used_;
};

// Parses a scalar as an unsigned integer; false if it is not one (fractions, signs, junk,
// overflow).
bool parse_uint_scalar(const std::string& text, uint64_t& out);

// Reads a whole input file (any format). Throws InputError naming the file when it cannot be
// opened, is not a regular file (a folder, a FIFO, a device), is empty, or is larger than
// `max_bytes` (checked before anything is allocated).
std::string read_input_file(const std::string& path, size_t max_bytes = 16u << 20);

// Throws InputError "FILE: not UTF-8 text (bad byte at offset N)" unless `text` is UTF-8; NUL
// bytes count as bad (no text input of tpusim contains one).
void check_utf8_text(const std::string& text, const std::string& file);

// Loads a YAML file, or throws InputError with the file name and the parser's line and column.
// Rejects empty files, non-UTF-8 bytes and files over `max_bytes`.
YAML::Node load_yaml_file(const std::string& path, size_t max_bytes = 16u << 20);
YAML::Node load_yaml_text(const std::string& text, const std::string& file);

}  // namespace tpusim
