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
// Whether the preset has one MXU (the size-named presets); loaded once per preset.
bool one_mxu(const Entry& e) {
  static std::vector<int> known(entries().size(), -1);
  int& k = known[size_t(&e - entries().data())];
  if (k < 0) k = load_config(e.preset).mxus == 1;
  return k == 1;
}
const Entry& entry(uint32_t size) {
  for (const Entry& e : entries())
    if (e.size == size && one_mxu(e)) return e;
  std::string list;
  for (uint32_t s : cosim_sizes()) list += fmt::format("{}{}", list.empty() ? "" : ", ", s);
  throw InputError(fmt::format(
      "cosim: no verilated tpu_top for a {}x{} array; sizes that exist: {}", size, size, list));
}
const Entry& entry(const std::string& preset) {
  for (const Entry& e : entries())
    if (preset == e.preset) return e;
  std::string list;
  for (const Entry& e : entries()) list += fmt::format("{}{}", list.empty() ? "" : ", ", e.preset);
  throw InputError(
      fmt::format("cosim: no verilated tpu_top for preset '{}'; presets: {}", preset, list));
}
}  // namespace

std::vector<std::string> cosim_presets() {
  std::vector<std::string> v;
  for (const Entry& e : entries()) v.push_back(e.preset);
  return v;
}

std::vector<uint32_t> cosim_sizes() {
  std::vector<uint32_t> s;
  for (const Entry& e : entries())
    if (one_mxu(e)) s.push_back(e.size);
  return s;
}

std::string cosim_preset(uint32_t size) { return entry(size).preset; }

CosimOutcome cosim_program(const std::string& preset, const Program& prog,
                           const std::string& vcd_path, bool perturb_twin) {
  const Entry& e = entry(preset);
  return e.run(load_config(e.preset), prog, vcd_path, perturb_twin);
}

CosimOutcome cosim_program(uint32_t size, const Program& prog, const std::string& vcd_path,
                           bool perturb_twin) {
  return cosim_program(std::string(entry(size).preset), prog, vcd_path, perturb_twin);
}

uint64_t cosim_campaign(const std::vector<std::string>& presets, uint64_t programs, uint64_t seed,
                        const CosimPresetMismatch& on_mismatch, const CosimProgress& on_program) {
  if (presets.empty()) throw InputError("cosim: no presets");
  std::vector<TpuConfig> cfgs;
  cfgs.reserve(presets.size());
  for (const std::string& p : presets) cfgs.push_back(load_config(entry(p).preset));
  uint64_t mismatches = 0;
  for (uint64_t i = 0; i < programs; ++i) {
    const size_t k = i % presets.size();
    const TpuConfig& cfg = cfgs[k];
    GenOptions go;
    go.instructions = 20 + uint32_t((seed + i) % 5) * 15;
    go.window = (i / presets.size()) % 2 ? 64 : 0;
    const Program prog = generate_program(cfg, seed + i, go);
    CosimOutcome r = cosim_program(presets[k], prog);
    std::string why = r.match ? "" : r.mismatch;
    if (r.match) {
      const FunctionalResult f = run_functional(cfg, prog);
      if (r.host.size() > f.state.host.size() ||
          !std::equal(r.host.begin(), r.host.end(), f.state.host.begin()))
        why = "final host memory differs from the functional executor";
    }
    if (!why.empty()) {
      ++mismatches;
      if (on_mismatch) on_mismatch(presets[k], seed + i, why);
    }
    if (on_program) on_program(i + 1, programs);
  }
  return mismatches;
}

uint64_t cosim_campaign(const std::vector<uint32_t>& sizes, uint64_t programs, uint64_t seed,
                        const CosimMismatch& on_mismatch, const CosimProgress& on_program) {
  if (sizes.empty()) throw InputError("cosim: no array sizes");
  std::vector<std::string> presets;
  for (uint32_t s : sizes) presets.push_back(entry(s).preset);
  return cosim_campaign(
      presets, programs, seed,
      [&](const std::string& preset, uint64_t sd, const std::string& why) {
        if (on_mismatch) on_mismatch(entry(preset).size, sd, why);
      },
      on_program);
}

}  // namespace tpusim
