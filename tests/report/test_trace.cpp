// sim/report/chrome_trace.h: the Chrome/Perfetto trace and its per-interval power track.
#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <filesystem>
#include <map>

#include "models/config.h"
#include "models/data_files.h"
#include "models/energy.h"
#include "sim/compiler/lowering.h"
#include "sim/engines/fast/fast_engine.h"
#include "sim/engines/functional/functional.h"
#include "sim/isa/assembler.h"
#include "sim/report/chrome_trace.h"
#include "sim/studies/run/run_workload.h"

namespace fs = std::filesystem;
using namespace tpusim;
using nlohmann::json;

namespace {

Program example_program() {
  return assemble_file((fs::path(data_root()) / "workloads" / "examples" / "mlp2.s").string());
}

EngineResult timed_run(const TpuConfig& cfg, const Program& p) {
  EngineOptions fo;
  fo.values = false;
  fo.record_timeline = true;
  return run_fast(cfg, p, fo);
}

double sum_interval_energy(const json& trace) {
  double s = 0;
  for (const auto& i : trace["metadata"]["power"]["intervals"]) s += i["energy_j"].get<double>();
  return s;
}

// Unit slices by track, as [begin, end) in microseconds.
std::map<int, std::vector<std::pair<double, double>>> unit_slices(const json& trace) {
  std::map<int, std::vector<std::pair<double, double>>> by;
  for (const auto& e : trace["traceEvents"])
    if (e["ph"] == "X") {
      const double ts = e["ts"].get<double>();
      by[e["tid"].get<int>()].emplace_back(ts, ts + e["dur"].get<double>());
    }
  return by;
}

}  // namespace

TEST_CASE("interval counts partition the run's work and cycles exactly", "[trace]") {
  const TpuConfig cfg = load_config("tpu-v1");
  const Program p = example_program();
  const EngineResult r = timed_run(cfg, p);
  TracePart part;
  part.program = &p;
  part.result = &r;
  for (uint32_t n : {1u, 7u, 200u, uint32_t(r.counts.cycles - 1), uint32_t(r.counts.cycles),
                     uint32_t(r.counts.cycles + 1)}) {
    const IntervalCounts ic = interval_counts(cfg, {part}, n);
    CHECK(ic.counts.size() == std::min<uint64_t>(n, r.counts.cycles));
    EventCounts sum;
    for (const auto& c : ic.counts) {
      CHECK(c.cycles >= 1);
      sum += c;
    }
    // Only the breakdown counters are not split over intervals.
    sum.array_active_cycles = r.counts.array_active_cycles;
    sum.weight_stall_cycles = r.counts.weight_stall_cycles;
    sum.weight_shift_cycles = r.counts.weight_shift_cycles;
    sum.non_matrix_cycles = r.counts.non_matrix_cycles;
    sum.raw_stall_cycles = r.counts.raw_stall_cycles;
    sum.input_stall_cycles = r.counts.input_stall_cycles;
    CHECK(sum == r.counts);
    CHECK(ic.begin_cycle.front() == 0);
    CHECK(ic.begin_cycle.back() == r.counts.cycles);
  }
}

TEST_CASE("a program's trace: per-interval energy sums to the run's energy", "[trace]") {
  const TpuConfig cfg = load_config("tpu-v1");
  const Program p = example_program();
  const EngineResult r = timed_run(cfg, p);
  TraceOptions opt;
  opt.intervals = 50;
  const json t = chrome_trace(cfg, p, r, opt);
  const double run_j = estimate_energy(cfg, r.counts).total_j;
  CHECK(t["metadata"]["energy_j"].get<double>() == Approx(run_j).epsilon(1e-12));
  CHECK(t["metadata"]["power"]["interval_energy_j"].get<double>() == Approx(run_j).epsilon(1e-9));
  CHECK(sum_interval_energy(t) == Approx(run_j).epsilon(1e-9));
  CHECK(t["metadata"]["power"]["intervals"].size() == 50);
  CHECK(t["metadata"]["cycles"].get<uint64_t>() == r.counts.cycles);

  // One controller slice per instruction; one unit slice per rhm/whm/rw/mmc/act.
  size_t controller = 0, unit = 0, expected_unit = 0;
  for (const auto& in : p.code)
    expected_unit += in.op == Opcode::kReadHost || in.op == Opcode::kWriteHost ||
                     in.op == Opcode::kReadWeights || in.op == Opcode::kMatmul ||
                     in.op == Opcode::kActivate;
  for (const auto& e : t["traceEvents"])
    if (e["ph"] == "X") (e["cat"] == "controller" ? controller : unit) += 1;
  CHECK(controller == p.code.size());
  CHECK(unit == expected_unit);
}

TEST_CASE("a unit's slices never overlap and stay inside the run", "[trace]") {
  const TpuConfig cfg = load_config("tpu-v1");
  const json t = workload_trace(cfg, "mlp0", {});
  const double end_us = double(t["metadata"]["cycles"].get<uint64_t>()) / cfg.clock_mhz;
  auto by = unit_slices(t);
  for (int track = 1; track <= 6; ++track) {  // controller .. layer: every track is used by mlp0
    INFO("track " << track);
    auto& v = by[track];
    REQUIRE(!v.empty());
    std::sort(v.begin(), v.end());
    for (size_t i = 0; i < v.size(); ++i) {
      CHECK(v[i].first >= 0.0);
      CHECK(v[i].second <= end_us * (1 + 1e-12));
      if (i + 1 < v.size()) CHECK(v[i].second <= v[i + 1].first * (1 + 1e-12) + 1e-9);
    }
  }
}

TEST_CASE("a workload's trace: interval energy sums to the run report's energy", "[trace]") {
  const TpuConfig cfg = load_config("tpu-v1");
  WorkloadRunOptions wo;
  wo.timing_only = true;
  const json rep = run_workload_report(cfg, "mlp0", {}, wo);
  const json t = workload_trace(cfg, "mlp0", {});
  const double run_j = rep["totals"]["energy_j"].get<double>();
  CHECK(sum_interval_energy(t) == Approx(run_j).epsilon(1e-9));
  CHECK(t["metadata"]["run_energy_j"].get<double>() == Approx(run_j).epsilon(1e-9));
  CHECK(t["metadata"]["cycles"].get<uint64_t>() == rep["totals"]["cycles"].get<uint64_t>());
  CHECK(t["metadata"]["workload"] == "mlp0");
}

TEST_CASE("a segmented workload traces one instance of each segment, end to end", "[trace]") {
  const TpuConfig cfg = load_config("tpu-v1");
  WorkloadRunOptions wo;
  wo.timing_only = true;
  const json rep = run_workload_report(cfg, "bert-base", {}, wo);
  const json t = workload_trace(cfg, "bert-base", {});
  const json& m = t["metadata"];
  REQUIRE(m["parts"].size() == rep["lowering"]["segments"].get<size_t>());
  uint64_t start = 0, run_cycles = 0;
  bool repeated = false;
  for (const auto& part : m["parts"]) {
    CHECK(part["start_cycle"].get<uint64_t>() == start);
    start += part["cycles"].get<uint64_t>();
    run_cycles += part["repeat"].get<uint64_t>() * part["cycles"].get<uint64_t>();
    repeated = repeated || part["repeat"].get<uint64_t>() > 1;
  }
  REQUIRE(repeated);
  CHECK(m["cycles"].get<uint64_t>() == start);
  CHECK(m["run_cycles"].get<uint64_t>() == rep["totals"]["cycles"].get<uint64_t>());
  CHECK(m["run_energy_j"].get<double>() ==
        Approx(rep["totals"]["energy_j"].get<double>()).epsilon(1e-9));
  CHECK(m["segments_note"].get<std::string>().find("one instance of each segment") !=
        std::string::npos);
  CHECK(sum_interval_energy(t) == Approx(m["energy_j"].get<double>()).epsilon(1e-9));
  CHECK(m["energy_j"].get<double>() < m["run_energy_j"].get<double>());
}

TEST_CASE("slices beyond max_slices are left out, the power track is not", "[trace]") {
  const TpuConfig cfg = load_config("tpu-v1");
  TraceOptions opt;
  opt.max_slices = 100;
  const json t = workload_trace(cfg, "mlp0", {}, opt);
  CHECK(t["metadata"]["slices_truncated"] == true);
  CHECK(t["metadata"]["slices"].get<uint64_t>() <= opt.max_slices + 2);  // <= 3 per instruction
  CHECK(t["metadata"]["slices_complete_to_cycle"].get<uint64_t>() > 0);
  CHECK(sum_interval_energy(t) == Approx(t["metadata"]["energy_j"].get<double>()).epsilon(1e-9));
}

TEST_CASE("a run without a timeline is refused", "[trace]") {
  const TpuConfig cfg = load_config("tpu-v1");
  const Program p = example_program();
  EngineOptions fo;
  fo.values = false;
  fo.record_timeline = false;
  const EngineResult r = run_fast(cfg, p, fo);
  CHECK_THROWS_AS(chrome_trace(cfg, p, r), std::logic_error);
}
