#include "sim/engines/cosim/lockstep.h"

#include <fmt/format.h>

#include "models/errors.h"
#include "sim/engines/functional/functional.h"
#include "sim/isa/program_gen.h"

namespace tpusim {

namespace cosim_detail {
#define TPUSIM_PRESET(id, name, size)                                                      \
  CosimOutcome run_##id(const TpuConfig& cfg, const Program& prog, const std::string& vcd, \
                        bool perturb);
#include "tpusim_engine_cosim_presets.inc"
#undef TPUSIM_PRESET
}  // namespace cosim_detail

namespace {
struct Entry {
  const char* preset;
  uint32_t size;
  CosimOutcome (*run)(const TpuConfig&, const Program&, const std::string&, bool);
};
const std::vector<Entry>& entries() {
  static const std::vector<Entry> e = {
#define TPUSIM_PRESET(id, name, size) {name, size, &cosim_detail::run_##id},
#include "tpusim_engine_cosim_presets.inc"
#undef TPUSIM_PRESET
  };
  return e;
}
const Entry& entry(uint32_t size) {
  for (const Entry& e : entries())
    if (e.size == size) return e;
  std::string list;
  for (const Entry& e : entries())
    list += fmt::format("{}{} ({})", list.empty() ? "" : ", ", e.size, e.preset);
  throw InputError(fmt::format(
      "cosim: no verilated tpu_top for a {}x{} array; sizes that exist: {}", size, size, list));
}
}  // namespace

std::vector<uint32_t> cosim_sizes() {
  std::vector<uint32_t> s;
  for (const Entry& e : entries()) s.push_back(e.size);
  return s;
}

std::string cosim_preset(uint32_t size) { return entry(size).preset; }

CosimOutcome cosim_program(uint32_t size, const Program& prog, const std::string& vcd_path,
                           bool perturb_twin) {
  const Entry& e = entry(size);
  return e.run(load_config(e.preset), prog, vcd_path, perturb_twin);
}

uint64_t cosim_campaign(const std::vector<uint32_t>& sizes, uint64_t programs, uint64_t seed,
                        const CosimMismatch& on_mismatch) {
  if (sizes.empty()) throw InputError("cosim: no array sizes");
  std::vector<TpuConfig> cfgs;
  cfgs.reserve(sizes.size());
  for (uint32_t s : sizes) cfgs.push_back(load_config(entry(s).preset));
  uint64_t mismatches = 0;
  for (uint64_t i = 0; i < programs; ++i) {
    const size_t k = i % sizes.size();
    const TpuConfig& cfg = cfgs[k];
    GenOptions go;
    go.instructions = 20 + uint32_t((seed + i) % 5) * 15;
    go.window = (i / sizes.size()) % 2 ? 64 : 0;
    const Program prog = generate_program(cfg, seed + i, go);
    CosimOutcome r = cosim_program(sizes[k], prog);
    std::string why = r.match ? "" : r.mismatch;
    if (r.match) {
      const FunctionalResult f = run_functional(cfg, prog);
      if (r.host.size() > f.state.host.size() ||
          !std::equal(r.host.begin(), r.host.end(), f.state.host.begin()))
        why = "final host memory differs from the functional executor";
    }
    if (!why.empty()) {
      ++mismatches;
      if (on_mismatch) on_mismatch(sizes[k], seed + i, why);
    }
  }
  return mismatches;
}

}  // namespace tpusim
