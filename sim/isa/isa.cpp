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
      if (in.d >= kMaxMxus) return fmt::format("MXU (field d) {} >= {}", in.d, kMaxMxus);
      return zero(true, false, false, true, false);
    case Opcode::kMatmul:
      if (in.c == 0) return "B (field c) must be >= 1";
      if (in.flags & ~(kFlagAccumulate | kFlagSwitch | kFlagChain | kMmcFanMask))
        return fmt::format("flags 0x{:02x} has bits other than accumulate|switch|chain|fan",
                           in.flags);
      if (in.d >= kMaxMxus) return fmt::format("MXU (field d) {} >= {}", in.d, kMaxMxus);
      if (in.chained() && in.d == 0)
        return "chain needs MXU (field d) >= 1: it takes MXU d - 1's rows";
      if (in.chained() && in.fan() != 0)
        return fmt::format("a chain mmc has fan 0 (its source counts the chain), found {}",
                           in.fan());
      if (in.d + in.fan() >= kMaxMxus)
        return fmt::format("fan {} from MXU {} passes MXU {}", in.fan(), in.d, kMaxMxus - 1);
      return zero(false, false, false, false, false);
    case Opcode::kActivate: {
      if (in.c == 0) return "n (field c) must be >= 1";
      if (in.flags & 0xE0) return fmt::format("flags 0x{:02x} has reserved bits set", in.flags);
      uint8_t pool = (in.flags >> 2) & 0x3;
      if (pool == 3) return "pool code 3 is reserved (0 none, 1 max, 2 avg)";
      if (in.pool_2d()) {
        if (pool == 0) return "a 2-D window (flag 0x10) needs pool max or avg";
        if (in.d == 0) return "a 2-D window needs d = its output count >= 1";
        return "";
      }
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
      if (in.a == uint32_t(ConfigReg::kPoolIn) && ((in.b & 0xFFFF) == 0 || (in.b >> 16) == 0))
        return fmt::format("pool_in 0x{:08x}: width [15:0] and height [31:16] must be >= 1", in.b);
      if (in.a == uint32_t(ConfigReg::kPoolWindow))
        for (int i = 0; i < 4; ++i) {
          const uint32_t v = (in.b >> (8 * i)) & 0xFF;
          if (v < 1 || v > kMaxPoolWindow)
            return fmt::format("pool_window 0x{:08x}: each byte (kh, kw, sh, sw) must be 1..{}",
                               in.b, kMaxPoolWindow);
        }
      if (in.a == uint32_t(ConfigReg::kPoolPad))
        for (int i = 0; i < 4; ++i)
          if (((in.b >> (8 * i)) & 0xFF) >= kMaxPoolWindow)
            return fmt::format(
                "pool_pad 0x{:08x}: each byte (top, left, bottom, right) must be "
                "0..{}",
                in.b, kMaxPoolWindow - 1);
      if (in.a == uint32_t(ConfigReg::kPoolRecip) && (in.b < 1 || in.b > kPoolRecipOne))
        return fmt::format("pool_recip {} is not in 1..2^24", in.b);
      return zero(true, true, false, false, true);
    case Opcode::kSync:
      if (in.flags == 0 || (in.flags & ~kUnitAll))
        return fmt::format("unit mask 0x{:02x} must be a non-zero subset of 0x0f", in.flags);
      return zero(false, false, true, true, true);
  }
  return "unknown opcode";
}

void ConfigRegs::apply(const Instruction& in) {
  switch (ConfigReg(in.a)) {
    case ConfigReg::kMult:
      mult = int32_t(in.b);
      break;
    case ConfigReg::kShift:
      shift = in.b;
      break;
    case ConfigReg::kRound:
      round = uint8_t(in.b);
      break;
    case ConfigReg::kPoolIn:
      pool_in = in.b;
      break;
    case ConfigReg::kPoolWindow:
      pool_window = in.b;
      break;
    case ConfigReg::kPoolPad:
      pool_pad = in.b;
      break;
    case ConfigReg::kPoolRecip:
      pool_recip = in.b;
      break;
  }
}

Pool2d Pool2d::of(const ConfigRegs& r) {
  Pool2d p;
  p.W = r.pool_in & 0xFFFF;
  p.H = r.pool_in >> 16;
  p.kh = r.pool_window & 0xFF;
  p.kw = (r.pool_window >> 8) & 0xFF;
  p.sh = (r.pool_window >> 16) & 0xFF;
  p.sw = r.pool_window >> 24;
  p.pt = r.pool_pad & 0xFF;
  p.pl = (r.pool_pad >> 8) & 0xFF;
  p.pb = (r.pool_pad >> 16) & 0xFF;
  p.pr = r.pool_pad >> 24;
  return p;
}

std::string check_pool2d(const Instruction& in, const ConfigRegs& r) {
  const Pool2d p = Pool2d::of(r);
  if (uint64_t(p.H) * p.W != in.c)
    return fmt::format("n {} is not the pool_in image's H x W = {} x {} = {} rows", in.c, p.H, p.W,
                       uint64_t(p.H) * p.W);
  if (p.pt >= p.kh || p.pb >= p.kh || p.pl >= p.kw || p.pr >= p.kw)
    return fmt::format(
        "pool_pad (top {}, left {}, bottom {}, right {}) must be smaller than the "
        "{} x {} window (every window holds an image element)",
        p.pt, p.pl, p.pb, p.pr, p.kh, p.kw);
  if (p.H + p.pt + p.pb < p.kh || p.W + p.pl + p.pr < p.kw)
    return fmt::format("the {} x {} window is larger than the padded {} x {} image", p.kh, p.kw,
                       p.H + p.pt + p.pb, p.W + p.pl + p.pr);
  if (p.outputs() != in.d)
    return fmt::format("d {} is not the window's output count {} x {} = {}", in.d, p.out_h(),
                       p.out_w(), p.outputs());
  return "";
}

}  // namespace tpusim
