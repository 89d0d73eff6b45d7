// Lockstep co-simulation of the two twins of tpu_top (issue 4): Verilator's SystemC output of
// rtl/ (rtl/tb/tpu_system.v: the chip with its off-chip memories) and the SystemC model of
// sim/engines/cycle/, bound to one test bench, fed the same program
// through the same back doors, compared on every output port at every clock edge. The first
// difference stops the run with the cycle, the signal and both values.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "models/config.h"
#include "sim/engines/fast/fast_engine.h"
#include "sim/isa/program.h"

namespace tpusim {

struct CosimOutcome {
  bool match = true;
  uint64_t cycles = 0;       // total_cycles of the run (when it got that far)
  uint64_t edges = 0;        // clock edges compared (load, run and read-back phases)
  std::string mismatch;      // "cycle N (run): signal: rtl=... systemc=..." when !match
  std::vector<int8_t> host;  // final host memory (read back through bd_host_rdata_o)
};

// Presets with a verilated SystemC tpu_top (rtl/CMakeLists.txt TPUSIM_RTL_PRESETS: tiny-4, tiny-8,
// small-16, small-32 and the multi-MXU tiny-4-x2, tiny-8-x4), in build order.
std::vector<std::string> cosim_presets();
// Array sizes of the one-MXU presets among them (4, 8, 16, 32).
std::vector<uint32_t> cosim_sizes();
// The one-MXU preset of `size`; throws InputError listing cosim_sizes() for any other size.
std::string cosim_preset(uint32_t size);

// Runs `prog` on both twins of `preset` (one of cosim_presets()) in lockstep. `vcd_path`: the
// SystemC twin's VCD (RTL names). `perturb_twin` flips bit 0 of the twin's host vector 0 as reset
// is released (a self-test of the comparison). Throws InputError for an unknown preset (naming
// those that exist) or an illegal program.
CosimOutcome cosim_program(const std::string& preset, const Program& prog,
                           const std::string& vcd_path = "", bool perturb_twin = false);
// The same on the one-MXU preset of `size` (cosim_preset).
CosimOutcome cosim_program(uint32_t size, const Program& prog, const std::string& vcd_path = "",
                           bool perturb_twin = false);

// A campaign (`tpusim cosim`): `programs` random legal programs (sim/isa/program_gen.h), program
// i on size sizes[i % sizes.size()] with seed `seed + i`, each in lockstep; the final host memory
// is also checked against the functional executor. `on_mismatch` is told each failing program
// (size, seed, first difference) and `on_program` the programs done after each (progress bars).
// Returns the number of mismatching programs. Throws InputError for an empty or unknown size.
using CosimMismatch = std::function<void(uint32_t size, uint64_t seed, const std::string& why)>;
using CosimProgress = std::function<void(uint64_t done, uint64_t programs)>;
uint64_t cosim_campaign(const std::vector<uint32_t>& sizes, uint64_t programs, uint64_t seed,
                        const CosimMismatch& on_mismatch = {},
                        const CosimProgress& on_program = {});
// The same over presets (program i on presets[i % presets.size()]); the generator spreads rw and
// mmc over every MXU of a multi-MXU preset. Throws InputError for an empty list or an unknown
// preset.
using CosimPresetMismatch =
    std::function<void(const std::string& preset, uint64_t seed, const std::string& why)>;
uint64_t cosim_campaign(const std::vector<std::string>& presets, uint64_t programs, uint64_t seed,
                        const CosimPresetMismatch& on_mismatch = {},
                        const CosimProgress& on_program = {});

}  // namespace tpusim
