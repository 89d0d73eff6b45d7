// Program builders for the RTL test benches: tiled GEMM programs with an independently
// computed expected output, and random race-free legal programs (sim/isa/ISA.md).
#pragma once

#include <cstdint>
#include <vector>

#include "models/config.h"
#include "sim/isa/program.h"

namespace tpusim::rtl_test {

// One instruction from its fields (the test benches' shorthand; fields as in sim/isa/ISA.md).
inline Instruction make_instruction(Opcode op, uint32_t a = 0, uint32_t b = 0, uint32_t c = 0,
                                    uint8_t flags = 0, uint16_t d = 0) {
  Instruction in;
  in.op = op;
  in.a = a;
  in.b = b;
  in.c = c;
  in.flags = flags;
  in.d = d;
  return in;
}

struct GemmSpec {
  uint32_t m = 4, k = 4, n = 4;
  uint8_t function = 0;  // act function code
  uint8_t pool = 0;      // 0 none, 1 max, 2 avg
  uint32_t pool_log2 = 0;
  int32_t mult = 1 << 16;
  uint32_t shift = 18;
  uint8_t round = 0;
  uint64_t seed = 1;
};

struct GemmProgram {
  Program prog;
  uint64_t out_host = 0;         // first host vector of the output
  std::vector<int8_t> expected;  // (m / P) x n_tiles vectors of W bytes, host order
};

// C = act(requant(A (m x k) * B (k x n))) through the full data path: rhm, rw, mmc (switch,
// accumulate over k tiles), act, whm. Expected output computed with numerics::gemm_reference.
GemmProgram gemm_program(const TpuConfig& cfg, const GemmSpec& spec);

// Every MXU of `cfg` at once (sim/isa/ISA.md, several MXUs): one tile per MXU, then per MXU an
// `mmc switch` of `b` rows into its own accumulator bank, MXU 0 reading the UB rows and the others
// chained behind it (the MXUs inject side by side; b <= acc_bank_rows), a second round
// accumulating onto them with the next
// tile of each MXU, then activation and write-back to host vectors b .. b + mxus * b - 1. Needs 2
// FIFO slots.
Program multi_mxu_program(const TpuConfig& cfg, uint32_t b, uint64_t seed);

// The shift-port stream (sim/isa/ISA.md, "Shift ports"): `rw n=tiles` into MXU `mxu`'s FIFO,
// `sync weights`, then `tiles` x `mmc b=rows switch` on that MXU back to back (tile k shifts on
// port k mod P), results activated and written to host vectors rows .. rows + tiles * rows - 1.
// tiles <= weight_fifo_tiles (the rw completes before the first switch).
Program shift_stream_program(uint32_t mxu, uint32_t tiles, uint32_t rows, uint64_t seed);

}  // namespace tpusim::rtl_test
