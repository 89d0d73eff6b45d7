// Request traces for `tpusim serve`: arrivals at a rate (Poisson or Gamma) with prompt and output
// lengths from the serving papers' distributions, or read from a user's CSV.
//
// Reproducibility: every draw comes from std::mt19937_64 (its output sequence is fixed by the C++
// standard) through distributions written out here (uniform, exponential, normal by Box-Muller,
// gamma by Marsaglia-Tsang, Zipf by inverse CDF), never through <random>'s distributions, whose
// algorithms differ between standard libraries. The only libm calls are log, exp, sqrt, cos, pow.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace tpusim::serve {

struct Request {
  uint64_t id = 0;
  double arrival_s = 0.0;
  uint32_t prompt_len = 0;  // tokens, >= 1
  uint32_t output_len = 0;  // generated tokens, >= 1 (the first comes out of the prefill)
  int32_t adapter = -1;     // LoRA adapter index, -1 = none
  // Sequences decoded for the request (vLLM Section 4.4): `width` parallel samples of
  // output_len tokens each sharing the prompt (beam = false), or a beam search of `width` beams
  // (beam = true). 1 = one sequence.
  uint32_t width = 1;
  bool beam = false;
  // The first prefix_len tokens of the prompt are a prefix every request shares (a system
  // prompt or few-shot examples, vLLM Section 4.4 / 6.4); 0 = none.
  uint32_t prefix_len = 0;
};

constexpr uint32_t kMaxSeqWidth = 64;  // samples / beam width of one request

// One named length distribution (see trace_names()).
struct TraceShape {
  std::string name;
  std::string description;  // the distributions, stated
};

// The named traces: orca, sharegpt, alpaca, longbench, humaneval, slora.
const std::vector<TraceShape>& trace_shapes();

struct TraceOptions {
  std::string name = "orca";  // one of trace_shapes(), or a path to a CSV file
  uint64_t requests = 1000;   // generated count; for a CSV the first N rows (0 = all)
  double rate_per_s = 1.0;    // mean arrival rate, > 0
  uint64_t seed = 1;
  std::string arrival = "poisson";  // poisson | gamma
  double cv = 1.0;                  // gamma: coefficient of variation of the inter-arrival times
  uint32_t max_context = 2048;      // prompt + output <= max_context (outputs are clipped to fit)
  uint32_t adapters = 0;            // > 0: each request gets an adapter, Zipf(alpha) popularity
  double zipf_alpha = 1.0;
  uint32_t samples = 1;     // parallel samples per request (1..kMaxSeqWidth)
  uint32_t beam_width = 0;  // > 0: beam search of this width instead (1..kMaxSeqWidth)
  // Tokens of a prefix shared by every request, prepended to each prompt (outputs clipped to
  // max_context); 0..max_context / 2.
  uint32_t shared_prefix = 0;
};

// True when `name` names a CSV file rather than a built-in trace (it ends in .csv or has a '/').
bool is_trace_file(const std::string& name);

// Builds the trace. Requests are sorted by arrival (ids in that order). Throws InputError for an
// unknown name, a bad option (naming it and its range) or a bad CSV (file:line:column: what).
std::vector<Request> make_trace(const TraceOptions& opt);

// CSV: `arrival_s,prompt_len,output_len[,adapter]`, one request a line, an optional header line
// with exactly those names, '#' comment lines and blank lines skipped. Arrivals are non-negative
// and non-decreasing; lengths are integers >= 1 with prompt + output <= max_context. Throws
// InputError "FILE:LINE:COL: what" on the first problem.
std::vector<Request> parse_trace_csv(const std::string& text, const std::string& file,
                                     uint32_t max_context, uint64_t limit = 0);
std::vector<Request> load_trace_csv(const std::string& path, uint32_t max_context,
                                    uint64_t limit = 0);

// Hand-written distributions over std::mt19937_64 (identical on every standard library).
class Rng {
 public:
  explicit Rng(uint64_t seed) : gen_(seed) {}
  double uniform01();                              // [0, 1), 53 random bits
  uint64_t uniform_int(uint64_t lo, uint64_t hi);  // [lo, hi], unbiased (rejection)
  double exponential(double mean);
  double normal(double mean, double stddev);  // Box-Muller, one value per call
  double gamma(double shape, double scale);   // Marsaglia-Tsang (shape < 1 boosted)
  double lognormal_with_mean(double mean, double sigma);

 private:
  std::mt19937_64 gen_;
};

// Zipf(alpha) over [0, n): P(i) proportional to 1 / (i + 1)^alpha, sampled by inverse CDF.
class ZipfSampler {
 public:
  ZipfSampler(uint32_t n, double alpha);
  uint32_t sample(Rng& rng) const;

 private:
  std::vector<double> cdf_;
};

}  // namespace tpusim::serve
