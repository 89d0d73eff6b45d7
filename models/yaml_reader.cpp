#include "models/yaml_reader.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "models/errors.h"

namespace fs = std::filesystem;

namespace tpusim {

namespace {

bool valid_utf8(const std::string& s, size_t& bad_offset) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  size_t n = s.size(), i = 0;
  while (i < n) {
    unsigned char c = p[i];
    if (c == 0) {
      bad_offset = i;
      return false;
    }
    size_t len = c < 0x80           ? 1
                 : (c >> 5) == 0x6  ? 2
                 : (c >> 4) == 0xE  ? 3
                 : (c >> 3) == 0x1E ? 4
                                    : 0;
    if (len == 0 || i + len > n) {
      bad_offset = i;
      return false;
    }
    for (size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) {
        bad_offset = i;
        return false;
      }
    }
    i += len;
  }
  return true;
}

std::string describe(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Null:
      return "null";
    case YAML::NodeType::Scalar:
      return fmt::format("'{}'", n.Scalar());
    default:
      return "nothing";
  }
}

}  // namespace

bool parse_uint_scalar(const std::string& text, uint64_t& out) {
  if (text.empty()) return false;
  std::string t = text;
  t.erase(std::remove(t.begin(), t.end(), '_'), t.end());
  int base = 10;
  size_t start = 0;
  if (t.size() > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X')) {
    base = 16;
    start = 2;
  }
  if (start >= t.size()) return false;
  for (size_t i = start; i < t.size(); ++i) {
    if (base == 10 ? !std::isdigit((unsigned char)t[i]) : !std::isxdigit((unsigned char)t[i]))
      return false;
  }
  errno = 0;
  char* end = nullptr;
  unsigned long long v = std::strtoull(t.c_str() + start, &end, base);
  if (errno == ERANGE || *end != '\0') return false;
  out = v;
  return true;
}

void check_utf8_text(const std::string& text, const std::string& file) {
  size_t bad = 0;
  if (!valid_utf8(text, bad))
    throw InputError(fmt::format("{}: not UTF-8 text (bad byte at offset {})", file, bad));
}

std::string read_input_file(const std::string& path, size_t max_bytes) {
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (ec || !fs::exists(st)) throw InputError(fmt::format("{}: cannot open file", path));
  if (!fs::is_regular_file(st))
    throw InputError(
        fmt::format("{}: not a regular file (expected a text or binary input file)", path));
  const uintmax_t size = fs::file_size(path, ec);
  if (ec) throw InputError(fmt::format("{}: cannot read file", path));
  if (size > max_bytes)
    throw InputError(
        fmt::format("{}: file is {} bytes, more than the {} allowed", path, size, max_bytes));
  if (size == 0) throw InputError(fmt::format("{}: empty file", path));
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(fmt::format("{}: cannot open file", path));
  std::string text(size_t(size), '\0');
  in.read(text.data(), std::streamsize(size));
  if (size_t(in.gcount()) != size) throw InputError(fmt::format("{}: cannot read file", path));
  return text;
}

YAML::Node load_yaml_text(const std::string& text, const std::string& file) {
  check_utf8_text(text, file);
  try {
    YAML::Node n = YAML::Load(text);
    if (!n || n.IsNull()) throw InputError(fmt::format("{}: empty YAML document", file));
    return n;
  } catch (const YAML::Exception& e) {
    throw InputError(fmt::format("{}:{}:{}: YAML syntax error: {}", file, e.mark.line + 1,
                                 e.mark.column + 1, e.msg));
  }
}

YAML::Node load_yaml_file(const std::string& path, size_t max_bytes) {
  return load_yaml_text(read_input_file(path, max_bytes), path);
}

YamlMap::YamlMap(const YAML::Node& node, std::string file, std::string path)
    : node_(node), file_(std::move(file)), path_(std::move(path)) {
  if (!node_.IsMap()) {
    throw InputError(fmt::format("{}: {} must be a mapping of keys, found {}", file_,
                                 path_.empty() ? "the document" : "'" + path_ + "'",
                                 describe(node_)));
  }
}

std::string YamlMap::key_path(const std::string& key) const {
  return path_.empty() ? key : path_ + "." + key;
}

void YamlMap::fail(const std::string& key, const std::string& what) const {
  throw InputError(fmt::format("{}: key '{}': {}", file_, key_path(key), what));
}

bool YamlMap::has(const std::string& key) const { return bool(node_[key]); }

void YamlMap::mark_used(const std::string& key) { used_.insert(key); }

YAML::Node YamlMap::get(const std::string& key, bool required) {
  used_.insert(key);
  YAML::Node n = node_[key];
  if (!n && required) fail(key, "missing (required)");
  return n;
}

YAML::Node YamlMap::raw(const std::string& key) { return get(key, false); }

YamlMap YamlMap::map(const std::string& key) {
  YAML::Node n = get(key, true);
  if (!n.IsMap()) fail(key, fmt::format("expected a mapping, found {}", describe(n)));
  return YamlMap(n, file_, key_path(key));
}

std::string YamlMap::str(const std::string& key) {
  YAML::Node n = get(key, true);
  if (!n.IsScalar()) fail(key, fmt::format("expected a string, found {}", describe(n)));
  return n.Scalar();
}

std::string YamlMap::str_or(const std::string& key, const std::string& fallback) {
  return has(key) ? str(key) : (used_.insert(key), fallback);
}

uint64_t YamlMap::uint(const std::string& key, uint64_t lo, uint64_t hi) {
  YAML::Node n = get(key, true);
  uint64_t v = 0;
  if (!n.IsScalar() || !parse_uint_scalar(n.Scalar(), v))
    fail(key, fmt::format("expected an integer in [{}, {}], found {}", lo, hi, describe(n)));
  if (v < lo || v > hi) fail(key, fmt::format("{} is out of range [{}, {}]", v, lo, hi));
  return v;
}

uint64_t YamlMap::uint_or(const std::string& key, uint64_t fallback, uint64_t lo, uint64_t hi) {
  if (!has(key)) {
    used_.insert(key);
    return fallback;
  }
  return uint(key, lo, hi);
}

int64_t YamlMap::sint(const std::string& key, int64_t lo, int64_t hi) {
  YAML::Node n = get(key, true);
  std::string s = n.IsScalar() ? n.Scalar() : "";
  bool neg = !s.empty() && s[0] == '-';
  uint64_t mag = 0;
  if (!n.IsScalar() || !parse_uint_scalar(neg ? s.substr(1) : s, mag) || mag > (uint64_t(1) << 62))
    fail(key, fmt::format("expected an integer in [{}, {}], found {}", lo, hi, describe(n)));
  int64_t v = neg ? -int64_t(mag) : int64_t(mag);
  if (v < lo || v > hi) fail(key, fmt::format("{} is out of range [{}, {}]", v, lo, hi));
  return v;
}

double YamlMap::real(const std::string& key, double lo, double hi) {
  YAML::Node n = get(key, true);
  double v = 0;
  bool ok = false;
  if (n.IsScalar()) {
    const std::string& s = n.Scalar();
    char* end = nullptr;
    errno = 0;
    v = std::strtod(s.c_str(), &end);
    ok = !s.empty() && end && *end == '\0' && errno == 0 && std::isfinite(v);
  }
  if (!ok) fail(key, fmt::format("expected a number in [{}, {}], found {}", lo, hi, describe(n)));
  if (v < lo || v > hi) fail(key, fmt::format("{} is out of range [{}, {}]", v, lo, hi));
  return v;
}

double YamlMap::real_or(const std::string& key, double fallback, double lo, double hi) {
  if (!has(key)) {
    used_.insert(key);
    return fallback;
  }
  return real(key, lo, hi);
}

bool YamlMap::boolean_or(const std::string& key, bool fallback) {
  if (!has(key)) {
    used_.insert(key);
    return fallback;
  }
  YAML::Node n = get(key, true);
  if (n.IsScalar()) {
    const std::string& s = n.Scalar();
    if (s == "true") return true;
    if (s == "false") return false;
  }
  fail(key, fmt::format("expected true or false, found {}", describe(n)));
}

std::string YamlMap::choice(const std::string& key, const std::vector<std::string>& allowed) {
  std::string v = str(key);
  for (const auto& a : allowed)
    if (a == v) return v;
  fail(key, fmt::format("'{}' is not one of: {}", v, fmt::join(allowed, ", ")));
}

std::string YamlMap::choice_or(const std::string& key, const std::string& fallback,
                               const std::vector<std::string>& allowed) {
  if (!has(key)) {
    used_.insert(key);
    return fallback;
  }
  return choice(key, allowed);
}

void YamlMap::finish() const {
  for (const auto& kv : node_) {
    std::string k = kv.first.IsScalar() ? kv.first.Scalar() : "?";
    if (!used_.count(k)) {
      throw InputError(fmt::format("{}: unknown key '{}'", file_, key_path(k)));
    }
  }
}

}  // namespace tpusim
