// A serving study: one request trace (or one per rate) through a scheduler on the cost model of
// an arch and a model, summarized into the report of `tpusim serve` (sim/cli/cmd_serve.cpp).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace tpusim::serve {

// Ranges of the options, one definition (the CLI's flags check the same).
constexpr uint64_t kMaxRequests = 10000000;
constexpr uint32_t kMaxServeBatch = 65536;  // max_batch
constexpr uint32_t kMaxBlockTokens = 4096;  // block_size, bucket
constexpr uint32_t kMaxLoraRank = 1024;
constexpr uint32_t kMaxLoraAdapters = 1000000;
constexpr double kMaxSwapSpaceGib = 1024.0;

struct ServeStudyOptions {
  std::string arch = "tpu-llm";
  std::string model = "opt-13b";
  std::string trace = "orca";      // named trace or FILE.csv
  uint64_t requests = 1000;        // generated; for a CSV the first N rows (0 = all)
  std::vector<double> rates{1.0};  // requests per second, one run each
  uint64_t seed = 1;
  std::string arrival = "poisson";       // poisson | gamma
  double cv = 1.0;                       // gamma inter-arrival coefficient of variation
  std::string scheduler = "continuous";  // static | continuous | paged | disaggregated
  double slo_ttft = 0.0;                 // s, 0 = not checked
  double slo_tpot = 0.0;                 // s, 0 = not checked
  double slo_target = 0.9;               // attainment a swept rate must reach to count as goodput
  uint32_t max_batch = 128;
  uint32_t max_batch_tokens = 0;  // 0 = the model's max_context
  uint32_t block_size = 16;
  std::string preemption = "recompute";   // recompute | swap | auto
  double swap_space_gib = 4.0;            // paged host swap space, GiB (vLLM's default 4)
  double paged_attention_overhead = 0.0;  // paged decode attention gather, fraction (0..10)
  std::string kv_dtype = "int8";          // int8 | fp16 (CostOptions::kv_dtype)
  bool causal_prefill = false;            // CostOptions::causal_prefill
  uint32_t samples = 1;                   // parallel samples per request
  uint32_t beam_width = 0;                // > 0: beam search of this width
  uint32_t shared_prefix = 0;             // tokens of a prefix every prompt starts with
  uint64_t kv_capacity_tokens = 0;        // 0 = (weight memory - weights) / K/V bytes per token
  std::string device;                     // price on this baseline device (CostOptions::device)
  std::string device_dtype;               // its dtype (empty = the device's own)
  std::string reserve = "max";            // max | pow2 | oracle (contiguous schedulers)
  double kv_link_gb_s = 32.0;
  bool lora = false;
  bool pipeline = false;         // SchedulerOptions::pipeline (Orca's pipelining over pp stages)
  uint32_t lora_adapters = 0;    // 0 = 200 for the slora trace and with lora
  uint32_t lora_rank = 16;       // for a model without its own rank mix (CostOptions::lora_rank)
  bool lora_packed = false;      // vLLM-packed baseline (SchedulerOptions::lora_packed)
  uint32_t chunked_prefill = 0;  // Sarathi-Serve token budget per iteration (paged), 0 = off
  double lora_alpha = 1.0;       // Zipf exponent of adapter popularity
  uint32_t bucket = 64;          // cost-model length bucket, tokens
  // Every serving instance is tp x pp chips (sim/studies/serve/cost_model.h); 1 x 1: one chip.
  uint32_t tp = 1, pp = 1, collective_bytes = 1;
  bool per_request = false;  // also the per-request CSV (a single rate only)
  // Told as requests finish: the rate being run, requests finished and in all (progress bars).
  std::function<void(double rate, uint64_t finished, uint64_t requests)> progress;
};

// Throws InputError naming the option (rate, max_batch, ...) and its allowed range.
void validate(const ServeStudyOptions& opt);

struct ServeStudy {
  nlohmann::json report;     // one rate: its summary at the top level; several: `sweep`
  std::string csv;           // one row per rate
  std::string requests_csv;  // per request (per_request)
};

// Told after each rate: the rate's summary (metrics.h summarize, with rate_per_s), its wall time
// in seconds, and the setting in words ("continuous on tpu-llm x2 (tp 2 pp 1) (opt-13b), trace
// orca").
using RateDone =
    std::function<void(const nlohmann::json& summary, double wall_s, const std::string& setting)>;

// Runs the study. Throws InputError for bad options (validate) or inputs (arch, model, trace).
ServeStudy run_serve_study(const ServeStudyOptions& opt, const RateDone& on_rate = {});

}  // namespace tpusim::serve
