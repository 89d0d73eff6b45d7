// The instruction set (sim/isa/ISA.md): instruction struct, 128-bit binary encoding and validation.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "models/config.h"

namespace tpusim {

enum class Opcode : uint8_t {
  kNop = 0x00,
  kHalt = 0x01,
  kReadHost = 0x02,     // rhm
  kWriteHost = 0x03,    // whm
  kReadWeights = 0x04,  // rw
  kMatmul = 0x05,       // mmc
  kActivate = 0x06,     // act
  kSetConfig = 0x07,    // setc
  kSync = 0x08,
};
constexpr uint8_t kOpcodeCount = 0x09;

// mmc flags
constexpr uint8_t kFlagAccumulate = 0x01;
constexpr uint8_t kFlagSwitch = 0x02;

enum class ActFunction : uint8_t { kNone = 0, kRelu = 1, kSigmoid = 2, kTanh = 3 };
enum class PoolKind : uint8_t { kNone = 0, kMax = 1, kAvg = 2 };
constexpr uint32_t kMaxPoolLog2 = 4;

enum class ConfigReg : uint32_t { kMult = 0, kShift = 1, kRound = 2 };
constexpr uint32_t kConfigRegCount = 3;
constexpr uint32_t kMaxRequantShift = 62;

// sync unit mask bits
constexpr uint8_t kUnitHost = 0x1;
constexpr uint8_t kUnitWeights = 0x2;
constexpr uint8_t kUnitMxu = 0x4;
constexpr uint8_t kUnitAct = 0x8;
constexpr uint8_t kUnitAll = 0xF;

constexpr size_t kInstructionBytes = 16;

struct Instruction {
  Opcode op = Opcode::kNop;
  uint8_t flags = 0;
  uint16_t d = 0;
  uint32_t a = 0, b = 0, c = 0;

  bool operator==(const Instruction& o) const {
    return op == o.op && flags == o.flags && d == o.d && a == o.a && b == o.b && c == o.c;
  }
  bool operator!=(const Instruction& o) const { return !(*this == o); }

  // Accessors for act
  ActFunction act_function() const { return ActFunction(flags & 0x3); }
  PoolKind pool_kind() const { return PoolKind((flags >> 2) & 0x3); }
  uint32_t pool_size() const { return 1u << d; }
};

// Little-endian 16-byte image, word 0 first.
std::array<uint8_t, kInstructionBytes> encode(const Instruction& in);
// Decodes one instruction; throws InputError naming `where` on an unknown opcode or non-zero
// reserved field.
Instruction decode(const uint8_t* bytes, const std::string& where);

// Checks field-level encoding rules (sim/isa/ISA.md table) independent of any config: reserved
// fields zero, counts >= 1, function/pool/shift ranges. Returns "" when legal, else what is wrong.
std::string check_encoding(const Instruction& in);

const char* mnemonic(Opcode op);

}  // namespace tpusim
