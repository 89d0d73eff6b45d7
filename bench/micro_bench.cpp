// Google Benchmark micro-benchmarks of the hot loops (issue 11). Not tests: they report rates
// (items_per_second, and cycles or MACs per second as counters), to be read as ratios.
//   BM_FastEventLoop   the fast engine's per-instruction event loop, timing only, on one long
//                      random program (small-16)
//   BM_FastValueGemm   the fast engine with values on a lowered dense layer (value GEMM path)
//   BM_ReferenceGemm   the reference int8 GEMM it computes values with (numerics::gemm_reference)
//   BM_CycleArrayStep  the SystemC twin clocking a matmul-heavy lowered layer (array step per
//   clock) BM_RtlStep         the verilated RTL on the same program (when the rtl engine has the
//   size)
#include <benchmark/benchmark.h>

#include <fmt/format.h>

#include "models/config.h"
#include "sim/compiler/lowering.h"
#include "sim/compiler/workload.h"
#include "sim/engines/engine.h"
#include "sim/isa/numerics.h"
#include "sim/isa/program_gen.h"

using namespace tpusim;

namespace {

Program fc_program(const TpuConfig& cfg, uint64_t m, uint64_t k, uint64_t n, bool values) {
  const std::string yaml = fmt::format(
      "name: fc\npaper: \"bench\"\nbatch: {0}\ninput: {{features: {1}}}\nlayers:\n"
      "  - {{type: fc, name: fc, out: {2}, act: none}}\n",
      m, k, n);
  LowerOptions lo;
  lo.values = values;
  return lower(cfg, parse_workload(yaml, "bench"), lo).segments.at(0).program;
}

void BM_FastEventLoop(benchmark::State& st) {
  const TpuConfig cfg = load_config("small-16");
  GenOptions go;
  go.instructions = uint32_t(st.range(0));
  const Program p = generate_program(cfg, 7, go);
  EngineOptions eo;
  eo.record_timeline = false;
  eo.values = false;
  uint64_t cycles = 0;
  for (auto _ : st) cycles += run_engine("fast", cfg, p, eo).counts.cycles;
  st.SetItemsProcessed(int64_t(st.iterations()) * int64_t(p.code.size()));
  st.counters["sim_cycles_per_s"] = benchmark::Counter(double(cycles), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_FastEventLoop)->Arg(2000)->Arg(20000)->Unit(benchmark::kMillisecond);

void BM_FastValueGemm(benchmark::State& st) {
  const TpuConfig cfg = load_config("tpu-v1");
  const uint64_t m = uint64_t(st.range(0));
  const Program p = fc_program(cfg, m, 512, 512, true);
  EngineOptions eo;
  eo.record_timeline = false;
  for (auto _ : st) benchmark::DoNotOptimize(run_engine("fast", cfg, p, eo).counts.cycles);
  st.counters["macs_per_s"] = benchmark::Counter(double(st.iterations()) * double(m * 512 * 512),
                                                 benchmark::Counter::kIsRate);
}
BENCHMARK(BM_FastValueGemm)->Arg(256)->Arg(1024)->Unit(benchmark::kMillisecond);

void BM_ReferenceGemm(benchmark::State& st) {
  const int64_t m = st.range(0);
  numerics::MatrixI8 a = numerics::MatrixI8::Constant(m, 512, 3),
                     w = numerics::MatrixI8::Constant(512, 512, -2);
  for (auto _ : st) benchmark::DoNotOptimize(numerics::gemm_reference(a, w));
  st.counters["macs_per_s"] = benchmark::Counter(double(st.iterations()) * double(m * 512 * 512),
                                                 benchmark::Counter::kIsRate);
}
BENCHMARK(BM_ReferenceGemm)->Arg(256)->Arg(1024)->Unit(benchmark::kMillisecond);

void engine_step(benchmark::State& st, const char* engine) {
  static const char* kArch[] = {"tiny-4", "tiny-8", "small-16", "small-32"};
  const std::string arch = kArch[st.range(0)];
  const TpuConfig cfg = load_config(arch);
  const uint64_t w = cfg.array.rows;
  const Program p = fc_program(cfg, 8 * w, 2 * w, 2 * w, true);
  EngineOptions eo;
  eo.record_timeline = false;
  uint64_t cycles = 0;
  for (auto _ : st) cycles += run_engine(engine, cfg, p, eo).counts.cycles;
  st.SetLabel(arch);
  st.counters["sim_cycles_per_s"] = benchmark::Counter(double(cycles), benchmark::Counter::kIsRate);
}
void BM_CycleArrayStep(benchmark::State& st) { engine_step(st, "cycle"); }
void BM_RtlStep(benchmark::State& st) { engine_step(st, "rtl"); }
BENCHMARK(BM_CycleArrayStep)->DenseRange(0, 3)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_RtlStep)->DenseRange(0, 2)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
