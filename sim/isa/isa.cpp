#include "sim/isa/isa.h"

#include <fmt/format.h>

#include "models/errors.h"

namespace tpusim {

namespace {
void put32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = uint8_t(v >> (8 * i));
}
uint32_t get32(const uint8_t* p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}
}  // namespace

const char* mnemonic(Opcode op) {
  switch (op) {
    case Opcode::kNop:
      return "nop";
    case Opcode::kHalt:
      return "halt";
    case Opcode::kReadHost:
      return "rhm";
    case Opcode::kWriteHost:
      return "whm";
    case Opcode::kReadWeights:
      return "rw";
    case Opcode::kMatmul:
      return "mmc";
    case Opcode::kActivate:
      return "act";
    case Opcode::kSetConfig:
      return "setc";
    case Opcode::kSync:
      return "sync";
  }
  return "?";
}

std::array<uint8_t, kInstructionBytes> encode(const Instruction& in) {
  std::array<uint8_t, kInstructionBytes> out{};
  put32(&out[0], uint32_t(uint8_t(in.op)) | uint32_t(in.flags) << 8 | uint32_t(in.d) << 16);
  put32(&out[4], in.a);
  put32(&out[8], in.b);
  put32(&out[12], in.c);
  return out;
}

Instruction decode(const uint8_t* bytes, const std::string& where) {
  const uint32_t w0 = get32(bytes);
  const uint8_t opcode = uint8_t(w0 & 0xFF);
  if (opcode >= kOpcodeCount)
    throw InputError(fmt::format("{}: unknown opcode 0x{:02x}", where, opcode));
  Instruction in;
  in.op = Opcode(opcode);
  in.flags = uint8_t(w0 >> 8);
  in.d = uint16_t(w0 >> 16);
  in.a = get32(bytes + 4);
  in.b = get32(bytes + 8);
  in.c = get32(bytes + 12);
  std::string err = check_encoding(in);
  if (!err.empty()) throw InputError(fmt::format("{}: {}: {}", where, mnemonic(in.op), err));
  return in;
}

std::string check_encoding(const Instruction& in) {
  auto zero = [&](bool flags, bool d, bool a, bool b, bool c) -> std::string {
    if (flags && in.flags) return fmt::format("flags must be 0, found 0x{:02x}", in.flags);
    if (d && in.d) return fmt::format("field d must be 0, found {}", in.d);
    if (a && in.a) return fmt::format("field a must be 0, found {}", in.a);
    if (b && in.b) return fmt::format("field b must be 0, found {}", in.b);
    if (c && in.c) return fmt::format("field c must be 0, found {}", in.c);
    return "";
  };
  switch (in.op) {
    case Opcode::kNop:
    case Opcode::kHalt:
      return zero(true, true, true, true, true);
    case Opcode::kReadHost:
    case Opcode::kWriteHost:
      if (in.c == 0) return "n (field c) must be >= 1";
      return zero(true, true, false, false, false);
    case Opcode::kReadWeights:
      if (in.c == 0) return "n (field c) must be >= 1";
      return zero(true, true, false, true, false);
    case Opcode::kMatmul:
      if (in.c == 0) return "B (field c) must be >= 1";
      if (in.flags & ~(kFlagAccumulate | kFlagSwitch))
        return fmt::format("flags 0x{:02x} has bits other than accumulate|switch", in.flags);
      return zero(false, true, false, false, false);
    case Opcode::kActivate: {
      if (in.c == 0) return "n (field c) must be >= 1";
      if (in.flags & 0xF0) return fmt::format("flags 0x{:02x} has reserved bits set", in.flags);
      uint8_t pool = (in.flags >> 2) & 0x3;
      if (pool == 3) return "pool code 3 is reserved (0 none, 1 max, 2 avg)";
      if (pool == 0 && in.d != 0) return "pool size (d) must be 0 without pooling";
      if (in.d > kMaxPoolLog2) return fmt::format("log2 pool size {} > {}", in.d, kMaxPoolLog2);
      if (in.c % (1u << in.d) != 0)
        return fmt::format("n {} is not a multiple of the pool size {}", in.c, 1u << in.d);
      return "";
    }
    case Opcode::kSetConfig:
      if (in.a >= kConfigRegCount) return fmt::format("unknown config register {}", in.a);
      if (in.a == uint32_t(ConfigReg::kShift) && in.b > kMaxRequantShift)
        return fmt::format("shift {} > {}", in.b, kMaxRequantShift);
      if (in.a == uint32_t(ConfigReg::kRound) && in.b > 2)
        return fmt::format("rounding mode {} is not 0, 1 or 2", in.b);
      return zero(true, true, false, false, true);
    case Opcode::kSync:
      if (in.flags == 0 || (in.flags & ~kUnitAll))
        return fmt::format("unit mask 0x{:02x} must be a non-zero subset of 0x0f", in.flags);
      return zero(false, false, true, true, true);
  }
  return "unknown opcode";
}

}  // namespace tpusim
