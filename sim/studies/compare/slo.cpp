#include "sim/studies/compare/slo.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <random>
#include <stdexcept>

#include <fmt/format.h>

#include "models/baselines.h"
#include "models/errors.h"
#include "sim/compiler/lowerer.h"
#include "sim/studies/compare/measure_cpu.h"
#include "sim/studies/run/run_workload.h"

namespace tpusim {

using nlohmann::json;

namespace {

// Load steps of the scan (fractions of capacity) and bisection steps after it.
constexpr int kLoadSteps = 64;
constexpr int kBisectSteps = 12;

// Unit-rate exponential gaps, the same for every (batch, load) of a run: drawn from mt19937_64's
// specified bit stream (not std::exponential_distribution, whose algorithm is the library's).
const std::vector<double>& unit_gaps(uint32_t n, uint64_t seed) {
  thread_local std::map<std::pair<uint32_t, uint64_t>, std::vector<double>> cache;
  auto& v = cache[{n, seed}];
  if (v.size() != n) {
    std::mt19937_64 rng(seed);
    v.resize(n);
    for (auto& g : v) {
      const double u = double(rng() >> 11) * 0x1.0p-53;  // [0, 1)
      g = -std::log1p(-u);
    }
  }
  return v;
}

void check(const SloOptions& opt) {
  if (!(opt.slo_s > 0.0)) throw InputError("--slo-ms: the response-time limit must be > 0");
  if (!(opt.percentile > 0.0 && opt.percentile < 100.0))
    throw InputError(
        fmt::format("--percentile: expected a value in (0, 100), got {}", opt.percentile));
  if (opt.max_batch < 1) throw InputError("--max-batch: expected >= 1");
  if (opt.requests < 100) throw InputError("SLO queue: at least 100 simulated requests");
}

}  // namespace

std::vector<uint64_t> slo_batch_grid(uint64_t max_batch) {
  std::vector<uint64_t> g;
  for (uint64_t p = 1; p <= max_batch; p *= 2) {
    g.push_back(p);
    if (p >= 2 && p + p / 2 <= max_batch) g.push_back(p + p / 2);
    if (p > (uint64_t(1) << 62)) break;
  }
  if (g.empty() || g.back() != max_batch) g.push_back(max_batch);
  std::sort(g.begin(), g.end());
  g.erase(std::unique(g.begin(), g.end()), g.end());
  return g;
}

std::vector<uint64_t> slo_batch_grid(const SloOptions& opt) {
  std::vector<uint64_t> g = slo_batch_grid(opt.max_batch);
  for (uint64_t b : opt.extra_batches)
    if (b >= 1 && b <= opt.max_batch) g.push_back(b);
  std::sort(g.begin(), g.end());
  g.erase(std::unique(g.begin(), g.end()), g.end());
  return g;
}

double batch_queue_percentile_s(double service_s, uint64_t batch, double rate_per_s,
                                const SloOptions& opt) {
  const std::vector<double>& gaps = unit_gaps(opt.requests, opt.seed);
  const uint64_t n = (uint64_t(opt.requests) / batch) * batch;  // whole batches only
  if (n == 0) return INFINITY;
  std::vector<double> arrival(n), response(n);
  double t = 0.0;
  for (uint64_t i = 0; i < n; ++i) {
    t += gaps[i] / rate_per_s;
    arrival[i] = t;
  }
  double free_at = 0.0;
  for (uint64_t first = 0; first < n; first += batch) {
    const double ready = arrival[first + batch - 1];
    const double end = std::max(ready, free_at) + service_s;
    free_at = end;
    for (uint64_t i = first; i < first + batch; ++i) response[i] = end - arrival[i];
  }
  // Nearest rank: the smallest value with at least pct % of the responses at or below it.
  const uint64_t rank = uint64_t(std::ceil(opt.percentile / 100.0 * double(n)));
  const uint64_t k = std::min<uint64_t>(n - 1, rank > 0 ? rank - 1 : 0);
  std::nth_element(response.begin(), response.begin() + long(k), response.end());
  return response[k];
}

SloPoint best_rate_under_slo(double service_s, uint64_t batch, const SloOptions& opt) {
  check(opt);
  SloPoint out;
  const double capacity = double(batch) / service_s;
  out.response_s = INFINITY;
  if (!(service_s > 0.0) || service_s > opt.slo_s) {
    out.response_s = service_s;  // a request waits at least one service
    return out;
  }
  if (opt.per_step) {
    out.meets = true;
    out.rate_per_s = capacity;
    out.response_s = service_s;
    return out;
  }
  int best = -1;
  for (int s = 1; s < kLoadSteps; ++s) {
    const double p = batch_queue_percentile_s(service_s, batch, capacity * s / kLoadSteps, opt);
    if (p <= opt.slo_s) {
      best = s;
      out.response_s = p;
    } else if (best < 0) {
      out.response_s = std::min(out.response_s, p);
    }
  }
  if (best < 0) return out;
  out.meets = true;
  double lo = double(best) / kLoadSteps, hi = double(best + 1) / kLoadSteps;
  out.rate_per_s = capacity * lo;
  for (int i = 0; i < kBisectSteps && best + 1 < kLoadSteps; ++i) {
    const double mid = 0.5 * (lo + hi);
    const double p = batch_queue_percentile_s(service_s, batch, capacity * mid, opt);
    if (p <= opt.slo_s) {
      lo = mid;
      out.rate_per_s = capacity * mid;
      out.response_s = p;
    } else {
      hi = mid;
    }
  }
  return out;
}

json slo_device(const std::string& name, const std::string& kind, const std::string& pays,
                const std::function<SloService(uint64_t)>& service, const SloOptions& opt) {
  check(opt);
  json series = json::array();
  double max_ips = 0.0;
  uint64_t max_ips_batch = 0;
  json chosen = nullptr;
  double first_service = 0.0, first_response = 0.0;
  SloService at_chosen;
  for (uint64_t b : slo_batch_grid(opt)) {
    const SloService sv = service(b);
    if (!sv.runs) {
      series.push_back({{"batch", b}, {"runs", false}, {"why", sv.why}});
      continue;
    }
    const double s = sv.seconds;
    if (!(s > 0.0) || !std::isfinite(s))
      throw std::runtime_error(fmt::format("{}: batch {} has no positive time", name, b));
    const double capacity = double(b) / s;
    if (capacity > max_ips) {
      max_ips = capacity;
      max_ips_batch = b;
    }
    const SloPoint pt = best_rate_under_slo(s, b, opt);
    if (b == 1) {
      first_service = s;
      first_response = pt.response_s;
    }
    series.push_back({{"batch", b},
                      {"service_s", s},
                      {"capacity_ips", capacity},
                      {"meets", pt.meets},
                      {"ips", pt.rate_per_s},
                      {"response_s", std::isfinite(pt.response_s) ? json(pt.response_s) : json()}});
    if (pt.meets) at_chosen = sv;
    if (pt.meets)
      chosen = {{"batch", b},
                {"at_grid_end", b == opt.max_batch},
                {"service_s", s},
                {"response_s", pt.response_s},
                {"ips", pt.rate_per_s}};
  }
  json d{{"name", name},
         {"kind", kind},
         {"pays", pays},
         {"meets_slo", !chosen.is_null()},
         {"chosen", chosen},
         {"max_ips", max_ips},
         {"max_ips_batch", max_ips_batch},
         {"series", series}};
  if (!chosen.is_null()) {
    const double ips = chosen["ips"].get<double>();
    d["chosen"]["pct_of_max"] = 100.0 * ips / max_ips;
    if (at_chosen.busy_w > 0.0) {
      const double load = ips * at_chosen.seconds / double(chosen["batch"].get<uint64_t>());
      const double power = at_chosen.idle_w + (at_chosen.busy_w - at_chosen.idle_w) * load;
      d["chosen"]["load"] = load;
      d["chosen"]["power_w"] = power;
      d["chosen"]["idle_w"] = at_chosen.idle_w;
      d["chosen"]["perf_per_w_total"] = ips / power;
      d["chosen"]["perf_per_w_incremental"] =
          power > at_chosen.idle_w ? ips / (power - at_chosen.idle_w) : 0.0;
    }
  } else {
    d["reason"] = fmt::format(
        "cannot meet {:.4g} ms at batch 1: one request takes {:.4g} ms on the device, p{:g} "
        "response at best {:.4g} ms",
        opt.slo_s * 1e3, first_service * 1e3, opt.percentile, first_response * 1e3);
  }
  return d;
}

json slo_compare_report(const TpuConfig& cfg, const std::string& workload,
                        const WorkloadParams& params, const CompareOptions& co,
                        const SloOptions& opt_in) {
  check(opt_in);
  SloOptions opt = opt_in;
  auto at_batch = [&](uint64_t b) {
    WorkloadParams p = params;
    p.batch = b;
    return p;
  };
  const Workload wl0 = load_workload(workload, params);
  opt.extra_batches.push_back(wl0.batch);
  json devices = json::array();

  // The accelerator: one simulated run per batch (fast engine, timing only). Its time includes
  // the host DMA of inputs and outputs over the preset's host_link (Read/Write_Host_Memory).
  json acc_tool, acc_arch, acc_workload;
  devices.push_back(slo_device(
      cfg.name, "accelerator",
      "simulated run: host link DMA of inputs and outputs, weight loads, compute, activations",
      [&](uint64_t b) {
        WorkloadRunOptions wo;
        wo.timing_only = true;
        json rep;
        try {
          rep = run_workload_report(cfg, workload, at_batch(b), wo);
        } catch (const InputError& e) {
          // A batch past what the lowering can hold (e.g. its instruction limit); batch 1 is
          // tried first, so a workload that is wrong at every batch still fails there.
          if (b == 1) throw;
          SloService no;
          no.runs = false;
          no.why = e.what();
          return no;
        } catch (const UbFull& e) {
          // The lowering found no chunking that fits the unified buffer at this batch (none
          // known since the phase planner checks what it emits; kept so that one would be
          // reported as a batch the chip cannot run, not abort the study).
          SloService no;
          no.runs = false;
          no.why = fmt::format(
              "the lowering does not fit the unified buffer ({}: {} bytes "
              "needed, {} free)",
              e.what, e.needed, e.largest);
          return no;
        }
        if (acc_tool.is_null()) {
          acc_tool = rep["tool"];
          acc_arch = rep["arch"];
        }
        const json& t = rep["totals"];
        SloService sv;
        sv.seconds = t["seconds"].get<double>();
        sv.busy_w = t["avg_power_w"].get<double>();
        // Idle: the static power (the breakdown's static_* parts over the run's time).
        double static_j = 0.0;
        for (const auto& [k, v] : t["energy_breakdown_j"].items())
          if (k.rfind("static_", 0) == 0) static_j += v.get<double>();
        sv.idle_w = static_j / sv.seconds;
        return sv;
      },
      opt));

  const CarbonParams& carbon = cfg.params.carbon;
  for (const BaselineDevice& dev : load_baseline_devices(co.baselines)) {
    const std::string pays =
        dev.host_link_gb_s > 0.0
            ? fmt::format(
                  "roofline ops (Eq. B1-B3, B7) + host link {:.4g} GB/s and {:.3g} us "
                  "per kernel launch (Eq. B8)",
                  dev.host_link_gb_s, dev.launch_us)
            : std::string("roofline ops (Eq. B1-B3, B7); the CPU is the host (no link)");
    json d = slo_device(
        dev.name, "roofline", pays,
        [&](uint64_t b) {
          const BaselineWorkload bw = baseline_workload(load_workload(workload, at_batch(b)));
          const BaselineResult r = evaluate_baseline(dev, bw, carbon);
          // Eq. B4's power over the kernels; the host time is spent at idle power.
          const double host_s = baseline_host_s(dev, bw);
          SloService sv;
          sv.seconds = r.latency_s + host_s;
          sv.idle_w = dev.idle_w;
          sv.busy_w = (r.power_w * r.latency_s + dev.idle_w * host_s) / sv.seconds;
          return sv;
        },
        opt);
    d["dtype"] = dev.dtype;
    devices.push_back(d);
  }

  if (co.measure_cpu) {
    // Each batch measured once for every library x dtype; the time budget split over the grid.
    const std::vector<uint64_t> grid = slo_batch_grid(opt);
    std::map<uint64_t, std::vector<MeasuredRun>> runs;
    auto measured = [&](uint64_t b) -> const std::vector<MeasuredRun>& {
      auto it = runs.find(b);
      if (it != runs.end()) return it->second;
      MeasureOptions mo;
      mo.max_seconds = co.measure_seconds / double(grid.size());
      const BaselineWorkload bw = baseline_workload(load_workload(workload, at_batch(b)));
      return runs[b] = measure_cpu(bw.ops, mo);
    };
    const std::vector<MeasuredRun>& first = measured(1);
    for (size_t i = 0; i < first.size(); ++i) {
      const std::string name = fmt::format("cpu-{}-{}", first[i].library, first[i].dtype);
      json d = slo_device(
          name, "measured",
          fmt::format("this machine's {} ({}, {} threads); no link", first[i].library,
                      first[i].detail, first[i].threads),
          [&, i](uint64_t b) {
            SloService sv;
            sv.seconds = measured(b).at(i).latency_s;
            return sv;
          },
          opt);
      d["dtype"] = first[i].dtype;
      devices.push_back(d);
    }
  }

  if (!co.gpu_results.empty()) {
    // A measured GPU (scripts/gpu, its shapes written by `compare --slo-ms --emit-gpu-shapes`
    // for every batch of the grid): the kernels' time only.
    auto gpu_at = [&](uint64_t b) {
      return gpu_results(co.gpu_results, baseline_workload(load_workload(workload, at_batch(b))),
                         carbon);
    };
    const std::vector<BaselineResult> first = gpu_at(1);
    for (size_t i = 0; i < first.size(); ++i) {
      json d = slo_device(
          first[i].name, "measured",
          "GEMM kernels as timed on the GPU (cuBLASLt); no host link or launch time",
          [&, i](uint64_t b) {
            const BaselineResult r = gpu_at(b).at(i);
            SloService sv;
            sv.seconds = r.latency_s;
            return sv;
          },
          opt);
      d["dtype"] = first[i].dtype;
      devices.push_back(d);
    }
  }

  json rep{{"tool", acc_tool},
           {"arch", acc_arch},
           {"workload", {{"name", wl0.name}, {"batch", wl0.batch}}},
           {"slo",
            {{"limit_ms", opt.slo_s * 1e3},
             {"percentile", opt.percentile},
             {"batch_grid", slo_batch_grid(opt)},
             {"requests", opt.requests},
             {"per_step", opt.per_step},
             {"queue", opt.per_step
                           ? "none: the limit applies to one batch step (e.g. decode TPOT)"
                           : "Poisson arrivals; batches formed in arrival order; one batch at a "
                             "time per device; response = batch end - arrival"}}},
           {"devices", devices},
           {"notes",
            {"chosen: the largest batch of the grid at which some load meets the limit, and the "
             "highest such load (ips); pct_of_max = ips / max_ips, max_ips = the best batch / "
             "service time on the grid without a limit (the TPU paper's Table 4 columns).",
             "A device that cannot meet the limit at batch 1 has meets_slo false and a reason."}}};
  return rep;
}

}  // namespace tpusim
