// Program: instructions plus the initial images of host and weight memory, as read from an
// assembly file (sim/isa/assembler.h) or produced by the lowering.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "models/config.h"
#include "sim/isa/isa.h"

namespace tpusim {

struct Program {
  std::string name;
  std::vector<Instruction> code;
  // Initial contents. host: vector address -> W bytes; weights: tile address -> rows*cols bytes.
  // Explicit bytes may run past one vector/tile into the next ones.
  std::map<uint64_t, std::vector<int8_t>> host_init;
  std::map<uint64_t, std::vector<int8_t>> weight_init;
  // Deterministic pseudo-random fills (`.random` directive), applied after the explicit images:
  // `count` vectors (host) or tiles (weights) from `addr`, bytes from splitmix64(seed).
  struct RandomInit {
    bool weights = false;
    uint64_t addr = 0;
    uint64_t count = 0;
    uint64_t seed = 0;
  };
  std::vector<RandomInit> random_init;
  // Source line of each instruction (1-based; 0 when not from text), for error messages.
  std::vector<uint32_t> source_lines;
  std::string source_file;

  std::string where(size_t pc) const;  // "file:line (pc N)" for messages
};

// Validates `prog` against `cfg` (sim/isa/ISA.md "A program is legal when ..."): encoding rules,
// address ranges, weight tiles available for every switch, trailing halt, and race freedom
// (sim/isa/races.h). Throws InputError naming the instruction and what was expected.
void validate_program(const TpuConfig& cfg, const Program& prog);

// Highest host vector address (exclusive) any instruction or init image touches.
uint64_t host_vectors_needed(const Program& prog);

}  // namespace tpusim
