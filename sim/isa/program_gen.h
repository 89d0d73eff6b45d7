// Random legal programs over the whole ISA for co-simulation and engine-agreement campaigns:
// race-free (sim/isa/ISA.md: a sync on the unit whose in-flight work conflicts), deadlock-free (no
// rw that waits on a FIFO slot only a later switch frees), random shapes that are and are not
// multiples of the array size, random data with extreme values; on a chip with several MXUs, rw
// and mmc spread over all of them (a one-MXU chip draws exactly the programs it drew before).
#pragma once

#include <cstdint>

#include "models/config.h"
#include "sim/isa/program.h"

namespace tpusim {

struct GenOptions {
  uint32_t instructions = 40;  // before the final halt, syncs not counted
  uint32_t max_rows = 0;       // 0: up to 3 x the array size
  // UB and accumulator addresses drawn from [0, window) (0: the whole memory, capped at 1024
  // vectors). A small window makes the units conflict often, so that many syncs are needed.
  uint32_t window = 0;
};

Program generate_program(const TpuConfig& cfg, uint64_t seed, const GenOptions& opt = {});

}  // namespace tpusim
