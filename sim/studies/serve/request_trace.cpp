#include "sim/studies/serve/request_trace.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <memory>
#include <sstream>

#include <fmt/format.h>

#include "models/data_files.h"
#include "models/errors.h"
#include "models/yaml_reader.h"

namespace tpusim::serve {

namespace {

constexpr double kPi = 3.14159265358979323846;

uint32_t clamp_len(double x, uint32_t lo, uint32_t hi) {
  const double r = std::nearbyint(x);
  if (!(r >= lo)) return lo;  // also catches NaN
  if (r >= hi) return hi;
  return uint32_t(r);
}

}  // namespace

// ---- distributions --------------------------------------------------------------------------

double Rng::uniform01() { return double(gen_() >> 11) * 0x1.0p-53; }

uint64_t Rng::uniform_int(uint64_t lo, uint64_t hi) {
  const uint64_t range = hi - lo + 1;  // 0 means the full 64-bit range
  if (range == 0) return gen_();
  const uint64_t limit =
      std::numeric_limits<uint64_t>::max() - std::numeric_limits<uint64_t>::max() % range;
  uint64_t x = gen_();
  while (x >= limit) x = gen_();
  return lo + x % range;
}

double Rng::exponential(double mean) { return -mean * std::log(1.0 - uniform01()); }

double Rng::normal(double mean, double stddev) {
  const double u1 = 1.0 - uniform01();  // (0, 1]
  const double u2 = uniform01();
  return mean + stddev * std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * kPi * u2);
}

double Rng::gamma(double shape, double scale) {
  if (shape < 1.0) {
    const double u = 1.0 - uniform01();
    return gamma(shape + 1.0, scale) * std::pow(u, 1.0 / shape);
  }
  const double d = shape - 1.0 / 3.0;
  const double c = 1.0 / std::sqrt(9.0 * d);
  for (;;) {
    const double x = normal(0.0, 1.0);
    double v = 1.0 + c * x;
    if (v <= 0.0) continue;
    v = v * v * v;
    const double u = 1.0 - uniform01();
    if (u < 1.0 - 0.0331 * x * x * x * x) return d * v * scale;
    if (std::log(u) < 0.5 * x * x + d * (1.0 - v + std::log(v))) return d * v * scale;
  }
}

double Rng::lognormal_with_mean(double mean, double sigma) {
  const double mu = std::log(mean) - 0.5 * sigma * sigma;
  return std::exp(normal(mu, sigma));
}

ZipfSampler::ZipfSampler(uint32_t n, double alpha) : cdf_(n) {
  double s = 0.0;
  for (uint32_t i = 0; i < n; ++i) {
    s += 1.0 / std::pow(double(i) + 1.0, alpha);
    cdf_[i] = s;
  }
  for (double& c : cdf_) c /= s;
}

uint32_t ZipfSampler::sample(Rng& rng) const {
  const double u = rng.uniform01();
  auto it = std::upper_bound(cdf_.begin(), cdf_.end(), u);
  if (it == cdf_.end()) --it;
  return uint32_t(it - cdf_.begin());
}

// ---- named traces ---------------------------------------------------------------------------

const std::vector<TraceShape>& trace_shapes() {
  static const std::vector<TraceShape> k = {
      {"orca", "Orca: prompt ~ U{32..512}, output ~ U{1..128}"},
      {"sharegpt",
       "ShareGPT-like (vLLM): prompt ~ round(lognormal, mean 161, sigma 0.8) in [4, "
       "max_context/2], "
       "output ~ round(lognormal, mean 338, sigma 0.8) in [1, max_context - prompt]"},
      {"alpaca",
       "Alpaca-like (vLLM): prompt ~ round(lognormal, mean 19, sigma 0.5) in [1, 256], "
       "output ~ round(lognormal, mean 58, sigma 0.7) in [1, 512]"},
      {"longbench",
       "LongBench-like summarization (DistServe): prompt ~ round(normal(1738, 100)) in [1438, "
       "1920], "
       "output ~ U{16..128}"},
      {"humaneval",
       "HumanEval-like code completion (DistServe): prompt ~ round(lognormal, mean 171, sigma 0.3) "
       "in [16, 1024], output ~ U{32..256}"},
      {"slora",
       "S-LoRA: prompt ~ U{8..512}, output ~ U{8..512}, adapters with Zipf(alpha) popularity"},
  };
  return k;
}

bool is_trace_file(const std::string& name) { return looks_like_path(name, {".csv"}); }

std::vector<Request> make_trace(const TraceOptions& opt) {
  if (opt.max_context < 2)
    throw InputError(fmt::format("max_context {}: must be at least 2", opt.max_context));
  if (opt.samples < 1 || opt.samples > kMaxSeqWidth)
    throw InputError(fmt::format("samples {}: allowed 1..{}", opt.samples, kMaxSeqWidth));
  if (opt.beam_width > kMaxSeqWidth)
    throw InputError(fmt::format("beam_width {}: allowed 0..{}", opt.beam_width, kMaxSeqWidth));
  if (opt.beam_width > 0 && opt.samples > 1)
    throw InputError("samples and beam_width: choose parallel sampling or beam search, not both");
  if (opt.shared_prefix > opt.max_context / 2)
    throw InputError(fmt::format("shared_prefix {}: allowed 0..{} (half of max_context)",
                                 opt.shared_prefix, opt.max_context / 2));
  auto widen = [&opt](std::vector<Request>& reqs) {
    for (Request& r : reqs) {
      r.width = opt.beam_width ? opt.beam_width : opt.samples;
      r.beam = opt.beam_width > 0;
      if (opt.shared_prefix == 0) continue;
      r.prefix_len = opt.shared_prefix;
      r.prompt_len = std::min(r.prompt_len + opt.shared_prefix, opt.max_context - 1);
      r.output_len = std::max(1u, std::min(r.output_len, opt.max_context - r.prompt_len));
    }
  };
  if (is_trace_file(opt.name)) {
    std::vector<Request> reqs = load_trace_csv(opt.name, opt.max_context, opt.requests);
    widen(reqs);
    if (opt.adapters > 0) {
      Rng rng(opt.seed ^ 0x5eedada9ull);
      ZipfSampler zipf(opt.adapters, opt.zipf_alpha);
      for (Request& r : reqs)
        if (r.adapter < 0) r.adapter = int32_t(zipf.sample(rng));
    }
    return reqs;
  }
  const auto& shapes = trace_shapes();
  if (std::none_of(shapes.begin(), shapes.end(),
                   [&](const TraceShape& s) { return s.name == opt.name; })) {
    std::string names;
    for (const auto& s : shapes) names += (names.empty() ? "" : ", ") + s.name;
    throw InputError(
        fmt::format("trace {}: not a CSV file and not a named trace ({})", opt.name, names));
  }
  if (!(opt.rate_per_s > 0.0) || !std::isfinite(opt.rate_per_s))
    throw InputError(fmt::format("rate {}: must be a finite number > 0", opt.rate_per_s));
  if (opt.requests == 0 || opt.requests > 10000000)
    throw InputError(fmt::format("requests {}: allowed 1..10000000", opt.requests));
  if (opt.arrival != "poisson" && opt.arrival != "gamma")
    throw InputError(fmt::format("arrival {}: one of poisson, gamma", opt.arrival));
  if (opt.arrival == "gamma" && !(opt.cv > 0.0 && opt.cv <= 100.0))
    throw InputError(fmt::format("cv {}: allowed (0, 100]", opt.cv));

  const uint32_t ctx = opt.max_context;
  // Separate streams for arrivals, lengths and adapters, so that changing the rate keeps the
  // request shapes (a rate sweep serves the same requests at different speeds).
  Rng arr_rng(opt.seed * 0x9e3779b97f4a7c15ull + 1);
  Rng len_rng(opt.seed * 0x9e3779b97f4a7c15ull + 2);
  Rng ad_rng(opt.seed * 0x9e3779b97f4a7c15ull + 3);
  const uint32_t adapters = opt.adapters ? opt.adapters : (opt.name == "slora" ? 200u : 0u);
  std::unique_ptr<ZipfSampler> zipf;
  if (adapters) zipf = std::make_unique<ZipfSampler>(adapters, opt.zipf_alpha);

  std::vector<Request> out;
  out.reserve(opt.requests);
  double t = 0.0;
  const double k = 1.0 / (opt.cv * opt.cv);
  for (uint64_t i = 0; i < opt.requests; ++i) {
    t += opt.arrival == "poisson" ? arr_rng.exponential(1.0 / opt.rate_per_s)
                                  : arr_rng.gamma(k, 1.0 / (opt.rate_per_s * k));
    Request r;
    r.id = i;
    r.arrival_s = t;
    uint32_t p = 1, o = 1;
    if (opt.name == "orca") {
      p = uint32_t(len_rng.uniform_int(32, 512));
      o = uint32_t(len_rng.uniform_int(1, 128));
    } else if (opt.name == "sharegpt") {
      p = clamp_len(len_rng.lognormal_with_mean(161, 0.8), 4, ctx / 2);
      o = clamp_len(len_rng.lognormal_with_mean(338, 0.8), 1, ctx - 1);
    } else if (opt.name == "alpaca") {
      p = clamp_len(len_rng.lognormal_with_mean(19, 0.5), 1, 256);
      o = clamp_len(len_rng.lognormal_with_mean(58, 0.7), 1, 512);
    } else if (opt.name == "longbench") {
      p = clamp_len(len_rng.normal(1738, 100), 1438, 1920);
      o = uint32_t(len_rng.uniform_int(16, 128));
    } else if (opt.name == "humaneval") {
      p = clamp_len(len_rng.lognormal_with_mean(171, 0.3), 16, 1024);
      o = uint32_t(len_rng.uniform_int(32, 256));
    } else if (opt.name == "slora") {
      p = uint32_t(len_rng.uniform_int(8, 512));
      o = uint32_t(len_rng.uniform_int(8, 512));
    }
    p = std::min(p, ctx - 1);
    o = std::max(1u, std::min(o, ctx - p));
    r.prompt_len = p;
    r.output_len = o;
    if (zipf) r.adapter = int32_t(zipf->sample(ad_rng));
    out.push_back(r);
  }
  widen(out);
  return out;
}

// ---- CSV ------------------------------------------------------------------------------------

namespace {

struct Field {
  std::string text;
  size_t col = 1;  // 1-based column of its first character
};

std::vector<Field> split_csv(const std::string& line) {
  std::vector<Field> f;
  size_t start = 0;
  for (;;) {
    size_t comma = line.find(',', start);
    std::string raw =
        line.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    size_t lead = raw.find_first_not_of(" \t");
    size_t trail = raw.find_last_not_of(" \t");
    Field fd;
    fd.col = start + 1 + (lead == std::string::npos ? 0 : lead);
    fd.text = lead == std::string::npos ? "" : raw.substr(lead, trail - lead + 1);
    f.push_back(fd);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return f;
}

bool parse_u32(const std::string& s, uint32_t& out) {
  if (s.empty() || s.size() > 10) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + uint64_t(c - '0');
  }
  if (v > 0xFFFFFFFFull) return false;
  out = uint32_t(v);
  return true;
}

bool parse_real(const std::string& s, double& out) {
  if (s.empty()) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-'))
      return false;  // no "inf", "nan", hex floats
  char* end = nullptr;
  out = std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size() && std::isfinite(out);
}

}  // namespace

std::vector<Request> parse_trace_csv(const std::string& text, const std::string& file,
                                     uint32_t max_context, uint64_t limit) {
  check_utf8_text(text, file);
  std::vector<Request> out;
  std::istringstream in(text);
  std::string line;
  size_t line_no = 0;
  size_t fields_expected = 0;  // 3 or 4, fixed by the header or the first row
  bool seen_row = false;
  auto fail = [&](size_t col, const std::string& what) {
    throw InputError(fmt::format("{}:{}:{}: {}", file, line_no, col, what));
  };
  double last_arrival = 0.0;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const size_t first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line[first] == '#') continue;
    std::vector<Field> f = split_csv(line);
    if (!seen_row && fields_expected == 0 && !f[0].text.empty() &&
        std::isalpha(static_cast<unsigned char>(f[0].text[0])) && f[0].text != "nan" &&
        f[0].text != "inf") {
      // A header: exactly the documented names.
      const char* names[] = {"arrival_s", "prompt_len", "output_len", "adapter"};
      if (f.size() != 3 && f.size() != 4)
        fail(1, fmt::format(
                    "header has {} columns; expected arrival_s,prompt_len,output_len[,adapter]",
                    f.size()));
      for (size_t i = 0; i < f.size(); ++i)
        if (f[i].text != names[i])
          fail(f[i].col,
               fmt::format("header column {} is '{}'; expected '{}'", i + 1, f[i].text, names[i]));
      fields_expected = f.size();
      continue;
    }
    if (fields_expected == 0) fields_expected = f.size();
    if (f.size() != fields_expected || (f.size() != 3 && f.size() != 4))
      fail(1, fmt::format("{} fields; expected {} (arrival_s,prompt_len,output_len{})", f.size(),
                          fields_expected == 4 ? 4 : 3,
                          fields_expected == 4 ? ",adapter" : "[,adapter]"));
    seen_row = true;
    Request r;
    if (!parse_real(f[0].text, r.arrival_s) || r.arrival_s < 0.0)
      fail(f[0].col,
           fmt::format("arrival_s '{}': expected a finite number of seconds >= 0", f[0].text));
    if (!out.empty() && r.arrival_s < last_arrival)
      fail(f[0].col,
           fmt::format(
               "arrival_s {} is before the previous row's {} (rows must be sorted by arrival)",
               f[0].text, last_arrival));
    if (!parse_u32(f[1].text, r.prompt_len) || r.prompt_len < 1 || r.prompt_len >= max_context)
      fail(f[1].col, fmt::format("prompt_len '{}': expected an integer in 1..{}", f[1].text,
                                 max_context - 1));
    if (!parse_u32(f[2].text, r.output_len) || r.output_len < 1 || r.output_len >= max_context)
      fail(f[2].col, fmt::format("output_len '{}': expected an integer in 1..{}", f[2].text,
                                 max_context - 1));
    if (uint64_t(r.prompt_len) + r.output_len > max_context)
      fail(f[2].col, fmt::format("prompt_len + output_len = {} exceeds the model's max_context {}",
                                 uint64_t(r.prompt_len) + r.output_len, max_context));
    if (f.size() == 4) {
      uint32_t a = 0;
      if (!parse_u32(f[3].text, a) || a > 0x7FFFFFFFu)
        fail(f[3].col,
             fmt::format("adapter '{}': expected an integer in 0..2147483647", f[3].text));
      r.adapter = int32_t(a);
    }
    last_arrival = r.arrival_s;
    r.id = out.size();
    out.push_back(r);
    if (limit && out.size() >= limit) break;
  }
  if (out.empty())
    throw InputError(fmt::format(
        "{}: no requests (expected rows arrival_s,prompt_len,output_len[,adapter])", file));
  return out;
}

std::vector<Request> load_trace_csv(const std::string& path, uint32_t max_context, uint64_t limit) {
  return parse_trace_csv(read_input_file(path, size_t(256) << 20), path, max_context, limit);
}

}  // namespace tpusim::serve
