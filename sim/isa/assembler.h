// Text assembly <-> Program, and binary program images (sim/isa/ISA.md). The text format is one
// instruction or directive per line, operands as key=value in any order; disassemble() prints the
// canonical form, so text -> binary -> text is the identity on canonical text.
#pragma once

#include <string>
#include <vector>

#include "sim/isa/program.h"

namespace tpusim {

// Parses assembly text; `file` names the source in errors ("file:line: what was expected").
Program assemble(const std::string& text, const std::string& file);
Program assemble_file(const std::string& path);

// Canonical text of one instruction / of a whole program (data directives included).
std::string disassemble(const Instruction& in);
std::string disassemble(const Program& prog);

// Raw binary image: 16 bytes per instruction, no data images.
std::vector<uint8_t> to_binary(const Program& prog);
Program from_binary(const std::vector<uint8_t>& bytes, const std::string& file);
Program load_binary_file(const std::string& path);

// splitmix64 byte stream used by `.random` (and by test generators).
void fill_random_bytes(int8_t* out, size_t n, uint64_t seed);

}  // namespace tpusim
