// Lockstep co-simulation of the two twins of tpu_top (issue 4): Verilator's SystemC output of
// rtl/ and the SystemC model of sim/systemc/, bound to one test bench, fed the same program
// through the same back doors, compared on every output port at every clock edge. The first
// difference stops the run with the cycle, the signal and both values.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "models/config.h"
#include "sim/fast_engine.h"
#include "sim/program.h"

namespace tpusim {

struct CosimOutcome {
  bool match = true;
  uint64_t cycles = 0;      // total_cycles of the run (when it got that far)
  uint64_t edges = 0;       // clock edges compared (load, run and read-back phases)
  std::string mismatch;     // "cycle N (run): signal: rtl=... systemc=..." when !match
  std::vector<int8_t> host; // final host memory (read back through bd_host_rdata_o)
};

// Array sizes with a verilated SystemC tpu_top (presets tiny-4, tiny-8, small-16, small-32).
std::vector<uint32_t> cosim_sizes();
// The preset of `size`; throws InputError listing cosim_sizes() for any other size.
std::string cosim_preset(uint32_t size);

// Runs `prog` on both twins of the preset of `size` in lockstep. `vcd_path`: the SystemC
// twin's VCD (RTL names). `perturb_twin` flips bit 0 of the twin's host vector 0 as reset is
// released (a self-test of the comparison). Throws InputError for an unknown size or an illegal
// program.
CosimOutcome cosim_program(uint32_t size, const Program& prog, const std::string& vcd_path = "",
                           bool perturb_twin = false);

// `tpusim cosim --sizes 4,8,16 --programs N --seed S`: N random legal programs
// (sim/program_gen.h), program i on size sizes[i % sizes.size()] with seed S + i, each in
// lockstep; also checks the final host memory against the functional executor. Prints the
// first mismatch of each failing program and the line "programs: N, mismatches: M".
// Returns 0 when M == 0, else 1.
int cmd_cosim(const std::vector<uint32_t>& sizes, uint64_t programs, uint64_t seed,
              std::ostream& out);

}  // namespace tpusim
