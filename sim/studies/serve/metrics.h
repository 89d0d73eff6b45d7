// Serving metrics of a ScheduleResult: throughput, TTFT / TPOT / end-to-end percentiles, SLO
// attainment, K/V utilization, energy and carbon per token; as the JSON `tpusim serve` writes.
#pragma once

#include <vector>

#include <nlohmann/json.hpp>

#include "sim/studies/serve/cost_model.h"
#include "sim/studies/serve/scheduler.h"

namespace tpusim::serve {

struct SloTargets {
  double ttft_s = 0.0;  // 0 = not checked
  double tpot_s = 0.0;  // 0 = not checked; one-token outputs always meet it
};

struct Percentiles {
  double p50 = 0, p90 = 0, p99 = 0, mean = 0, max = 0;
};
// Percentiles by linear interpolation between order statistics (numpy's default); all 0 if empty.
Percentiles percentiles(std::vector<double> v);

// Fraction of requests meeting both targets.
double slo_attainment(const ScheduleResult& r, const SloTargets& slo);

// The report. Times in seconds; throughput_tokens_per_s counts generated tokens over the span
// from the first arrival to the last completion. Energy: each chip's busy counts through
// estimate_energy plus its static power while idle within that span (from t = 0); per token =
// over generated tokens. Carbon: operational at the arch's grid and PUE, embodied amortized over
// the span, per chip (models/carbon.h).
nlohmann::json summarize(const ScheduleResult& r, const CostModel& cost, const SloTargets& slo);

}  // namespace tpusim::serve
