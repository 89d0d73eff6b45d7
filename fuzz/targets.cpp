#include "fuzz/targets.h"

#include <algorithm>
#include <string>

#include <fmt/format.h>

#include "models/baselines.h"
#include "models/config.h"
#include "models/errors.h"
#include "sim/compiler/import/scalesim_import.h"
#include "sim/compiler/lowering.h"
#include "sim/compiler/workload.h"
#include "sim/engines/engine.h"
#include "sim/isa/assembler.h"
#include "sim/studies/serve/request_trace.h"
#include "sim/studies/sweep/sweep.h"

namespace tpusim::fuzz {

namespace {

std::string text_of(const uint8_t* d, size_t n) {
  return std::string(reinterpret_cast<const char*>(d), n);
}

// Runs `f`, swallowing InputError only.
template <class F>
void guarded(F&& f) {
  try {
    f();
  } catch (const InputError&) {}
}

void arch_yaml(const uint8_t* d, size_t n) {
  guarded([&] { parse_config(text_of(d, n), "fuzz-arch.yaml"); });
}

void workload_yaml(const uint8_t* d, size_t n) {
  guarded([&] { parse_workload(text_of(d, n), "fuzz-workload.yaml"); });
}

void sweep_spec(const uint8_t* d, size_t n) {
  guarded([&] {
    SweepSpec s = parse_sweep_spec(text_of(d, n), "fuzz-sweep.yaml");
    // Expansion only when small: each point parses an arch (the fuzzer's time is better spent
    // on the parser than on thousands of valid points).
    uint64_t points = s.workloads.size();
    for (const auto& ax : s.axes) points *= std::max<size_t>(1, ax.values.size());
    if (points <= 64) expand_points(s);
  });
}

void scalesim_csv(const uint8_t* d, size_t n) {
  guarded([&] {
    const std::string yaml = import_scalesim(text_of(d, n), "fuzz-topology.csv", 1);
    // The import's output must itself be a workload the loader understands.
    parse_workload(yaml, "fuzz-imported.yaml");
  });
}

void assembly(const uint8_t* d, size_t n) {
  guarded([&] {
    Program p = assemble(text_of(d, n), "fuzz.s");
    // Round trip through the binary image: what assembles must decode to the same code.
    Program q = from_binary(to_binary(p), "fuzz.bin");
    if (q.code.size() != p.code.size())
      throw std::logic_error("binary round trip changed the length");
    for (size_t i = 0; i < p.code.size(); ++i)
      if (disassemble(q.code[i]) != disassemble(p.code[i]))
        throw std::logic_error(fmt::format("binary round trip changed instruction {}", i));
  });
}

void binary_program(const uint8_t* d, size_t n) {
  guarded([&] {
    Program p = from_binary(std::vector<uint8_t>(d, d + n), "fuzz.bin");
    // What decodes must disassemble and reassemble to the same image.
    std::string text = disassemble(p);
    Program q = assemble(text, "fuzz-disasm.s");
    if (to_binary(q) != std::vector<uint8_t>(d, d + n))
      throw std::logic_error("disassembly does not reassemble to the same image");
  });
}

void serve_csv(const uint8_t* d, size_t n) {
  guarded([&] { serve::parse_trace_csv(text_of(d, n), "fuzz-trace.csv", 4096, 100000); });
}

void device_yaml(const uint8_t* d, size_t n) {
  guarded([&] { parse_baseline_device(text_of(d, n), "fuzz-device.yaml"); });
}

// Random layer shapes: the bytes pick an arch (tiny-4, tiny-8, small-16), a batch and a chain of
// up to 6 layers (fc, conv2d, pool, vector, lstm_cell) with small sizes, written as workload YAML
// (so the loader validates them as it would a user's file), then lowered timing-only and run on
// the fast engine. Anything the loader accepts must lower or be refused with InputError, and
// what lowers must run.
struct ByteReader {
  const uint8_t* d;
  size_t n, i = 0;
  uint32_t next() { return i < n ? d[i++] : 0; }
  uint32_t range(uint32_t lo, uint32_t hi) { return lo + next() % (hi - lo + 1); }
};

constexpr uint64_t kMaxEngineInstructions = 20000;

void lowering(const uint8_t* d, size_t n) {
  static const char* kArchs[] = {"tiny-4", "tiny-8", "small-16"};
  static const char* kActs[] = {"none", "relu", "sigmoid", "tanh"};
  ByteReader r{d, n};
  const std::string arch = kArchs[r.next() % 3];
  const uint32_t batch = r.range(1, 8);
  // Images of h x w rows with c features, or plain vectors (h = w = 1).
  uint32_t h = r.range(1, 12), w = r.range(1, 12), c = r.range(1, 70);
  std::string y = fmt::format(
      "name: fuzz\npaper: fuzz\nbatch: {}\ninput: {{features: {}, rows_per_item: {}}}\nlayers:\n",
      batch, c, h * w);
  const uint32_t layers = r.range(1, 6);
  for (uint32_t l = 0; l < layers; ++l) {
    const uint32_t kind = r.next() % 5;
    const char* act = kActs[r.next() % 4];
    if (kind == 0) {
      c = r.range(1, 128);
      y += fmt::format("  - {{type: fc, name: l{}, out: {}, act: {}}}\n", l, c, act);
    } else if (kind == 1) {
      const uint32_t k = r.range(1, 5), s = r.range(1, 3), p = r.range(0, 2), oc = r.range(1, 80);
      y += fmt::format(
          "  - {{type: conv2d, name: l{}, in_h: {}, in_w: {}, out_c: {}, kernel: {}, stride: {}, "
          "pad: {}, act: {}}}\n",
          l, h, w, oc, k, s, p, act);
      if (h + 2 * p >= k && w + 2 * p >= k) {
        h = (h + 2 * p - k) / s + 1;
        w = (w + 2 * p - k) / s + 1;
        c = oc;
      }
    } else if (kind == 2) {
      const uint32_t win = 1u << r.range(1, 2);
      y += fmt::format("  - {{type: pool, name: l{}, window: {}, kind: {}}}\n", l, win,
                       r.next() % 2 ? "max" : "avg");
      if ((h * w) % win == 0) {
        // The pool folds consecutive rows; the image shape is no longer h x w.
        h = h * w / win;
        w = 1;
      }
    } else if (kind == 3) {
      y += fmt::format("  - {{type: vector, name: l{}, op: add, act: {}}}\n", l, act);
    } else {
      y += fmt::format("  - {{type: lstm_cell, name: l{}, hidden: {}}}\n", l, r.range(1, 64));
    }
  }
  guarded([&] {
    const TpuConfig cfg = load_config(arch);
    const Workload wl = parse_workload(y, "fuzz-lowering.yaml");
    LowerOptions lo;
    lo.values = false;
    const LoweredProgram lp = lower(cfg, wl, lo);
    // Lowering and the engine are linear in the program; a big one only costs time (batch 40
    // and fc widths to 300 made 572k instructions on tiny-4: 0.3 s natively, over libFuzzer's
    // 10 s under ASan and coverage; tests/fuzz_regressions/lowering/timeout-f563...).
    if (lp.instructions() > kMaxEngineInstructions) return;
    for (const Segment& seg : lp.segments) {
      EngineOptions eo;
      eo.record_timeline = false;
      eo.values = false;
      eo.layer_of = &seg.layer_of;
      eo.layers = lp.layers.size();
      run_engine("fast", cfg, seg.program, eo);
    }
  });
}

}  // namespace

const std::vector<Target>& targets() {
  static const std::vector<Target> k = {
      {"arch_yaml", arch_yaml},   {"workload_yaml", workload_yaml},
      {"sweep_spec", sweep_spec}, {"scalesim_csv", scalesim_csv},
      {"assembly", assembly},     {"binary_program", binary_program},
      {"serve_csv", serve_csv},   {"device_yaml", device_yaml},
      {"lowering", lowering},
  };
  return k;
}

Entry find_target(const std::string& name) {
  for (const auto& t : targets())
    if (name == t.name) return t.entry;
  return nullptr;
}

}  // namespace tpusim::fuzz
