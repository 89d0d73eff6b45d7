// `tpusim cosim --sizes 4,8,16 --programs N --seed S` (or `--presets tiny-4-x2,tiny-8-x4`):
// lockstep co-simulation of the verilated RTL and the SystemC twin on random programs (built with
// TPUSIM_CYCLE and TPUSIM_RTL).
#include <memory>
#include <sstream>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "models/errors.h"
#include "models/yaml_reader.h"
#include "sim/cli/commands.h"
#include "sim/cli/progress.h"
#include "sim/engines/cosim/lockstep.h"

namespace tpusim::cli {

namespace {

struct CosimArgs {
  std::string sizes = "4,8,16";
  std::string presets;  // overrides --sizes when given
  uint64_t programs = 100, seed = 1;
  bool quiet = false;  // no progress bar
};

int run(const CosimArgs& a) {
  // On stderr, and only on a terminal: stdout (the mismatch lines, the total) stays clean.
  ProgressBar bar("cosim", "programs", progress_wanted(a.quiet));
  const CosimProgress on_program = [&](uint64_t done, uint64_t total) { bar.update(done, total); };
  if (!a.presets.empty()) {
    std::vector<std::string> presets;
    std::stringstream ps(a.presets);
    std::string name;
    while (std::getline(ps, name, ','))
      if (!name.empty()) presets.push_back(name);
    const uint64_t mismatches = cosim_campaign(
        presets, a.programs, a.seed,
        [](const std::string& preset, uint64_t seed, const std::string& why) {
          fmt::print("mismatch: preset {} seed {}: {}\n", preset, seed, why);
        },
        on_program);
    bar.finish();
    fmt::print("programs: {}, mismatches: {}\n", a.programs, mismatches);
    return mismatches == 0 ? 0 : 1;
  }
  std::vector<uint32_t> sizes;
  std::stringstream ss(a.sizes);
  std::string tok;
  while (std::getline(ss, tok, ',')) {
    uint64_t v = 0;
    if (!parse_uint_scalar(tok, v) || v == 0 || v > 4096)
      throw InputError(
          fmt::format("--sizes: '{}' is not an array size (expected e.g. 4,8,16)", tok));
    sizes.push_back(uint32_t(v));
  }
  const uint64_t mismatches = cosim_campaign(
      sizes, a.programs, a.seed,
      [](uint32_t size, uint64_t seed, const std::string& why) {
        fmt::print("mismatch: size {} seed {}: {}\n", size, seed, why);
      },
      on_program);
  bar.finish();
  fmt::print("programs: {}, mismatches: {}\n", a.programs, mismatches);
  return mismatches == 0 ? 0 : 1;
}

}  // namespace

Command add_cosim_command(CLI::App& app) {
  auto a = std::make_shared<CosimArgs>();
  auto* c = app.add_subcommand(
      "cosim", "Lockstep co-simulation: verilated RTL vs the SystemC twin on random programs");
  c->add_option("--sizes", a->sizes, "Array sizes (comma list of 4, 8, 16, 32): one-MXU presets");
  c->add_option("--presets", a->presets,
                "Verilated presets instead of --sizes (comma list, e.g. tiny-4-x2,tiny-8-x4: "
                "several MXUs)");
  c->add_option("--programs", a->programs,
                "Random programs in all (program i runs on size i mod the number of sizes)")
      ->check(CLI::Range(uint64_t(1), uint64_t(1000000)));
  c->add_option("--seed", a->seed, "Seed of the program generator");
  c->add_flag("--quiet", a->quiet,
              "No progress bar on stderr (none either when it is no terminal)");
  return {c, [a] { return run(*a); }};
}

}  // namespace tpusim::cli
