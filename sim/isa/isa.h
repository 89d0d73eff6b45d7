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

// mmc flags: bit 0 accumulate, bit 1 switch, bit 2 chain (the rows are MXU d - 1's, one cycle
// late, not read from the UB), bits [5:3] fan F (the next F instructions are chain mmcs that take
// this one's rows; sim/isa/ISA.md, "Chained inputs").
constexpr uint8_t kFlagAccumulate = 0x01;
constexpr uint8_t kFlagSwitch = 0x02;
constexpr uint8_t kFlagChain = 0x04;
constexpr uint32_t kMmcFanShift = 3;
constexpr uint8_t kMmcFanMask = 0x38;
constexpr uint32_t kMaxMmcFan = 7;

enum class ActFunction : uint8_t { kNone = 0, kRelu = 1, kSigmoid = 2, kTanh = 3 };
enum class PoolKind : uint8_t { kNone = 0, kMax = 1, kAvg = 2 };
constexpr uint32_t kMaxPoolLog2 = 4;

// act flags: [1:0] function, [3:2] pool, bit 4 a 2-D pooling window (sim/isa/ISA.md).
constexpr uint8_t kFlagPool2d = 0x10;

enum class ConfigReg : uint32_t {
  kMult = 0,
  kShift = 1,
  kRound = 2,
  kPoolIn = 3,      // 2-D pool input: width W [15:0], height H [31:16], each >= 1
  kPoolWindow = 4,  // kh [7:0], kw [15:8], stride_h [23:16], stride_w [31:24], each 1..16
  kPoolPad = 5,     // top [7:0], left [15:8], bottom [23:16], right [31:24], each 0..15
  kPoolRecip = 6,   // the average's reciprocal R, 1..2^24 (avg = round(sum x R / 2^24))
};
constexpr uint32_t kConfigRegCount = 7;
constexpr uint32_t kMaxRequantShift = 62;
constexpr uint32_t kMaxPoolWindow = 16;
constexpr uint32_t kPoolRecipOne = 1u << 24;

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

  // Accessors for mmc (flags of other opcodes mean other things): a chain mmc takes MXU d - 1's
  // rows; a source's followers
  bool chained() const { return (flags & kFlagChain) != 0; }
  uint32_t fan() const { return uint32_t(flags & kMmcFanMask) >> kMmcFanShift; }
  // Accessors for act
  ActFunction act_function() const { return ActFunction(flags & 0x3); }
  PoolKind pool_kind() const { return PoolKind((flags >> 2) & 0x3); }
  bool pool_2d() const { return (flags & kFlagPool2d) != 0; }
  uint32_t pool_size() const { return pool_2d() ? 1u : 1u << d; }  // 1-D group size
};

// The setc registers, at their reset values; latched by every act at issue.
struct ConfigRegs {
  int32_t mult = 1 << 30;
  uint32_t shift = 30;
  uint8_t round = 0;
  uint32_t pool_in = 0x00010001u;      // 1 x 1
  uint32_t pool_window = 0x01010101u;  // 1 x 1 window, stride 1
  uint32_t pool_pad = 0;
  uint32_t pool_recip = kPoolRecipOne;
  // Applies a setc (its encoding already checked).
  void apply(const Instruction& setc);
};

// The geometry of a 2-D pooling act (sim/isa/ISA.md): an H x W image in accumulator rows
// a + y * W + x, a kh x kw window moved by (sh, sw), pt/pl/pb/pr virtual rows and columns of
// padding, out_h() x out_w() outputs in raster order.
struct Pool2d {
  uint32_t H = 1, W = 1, kh = 1, kw = 1, sh = 1, sw = 1, pt = 0, pl = 0, pb = 0, pr = 0;
  static Pool2d of(const ConfigRegs& r);
  uint32_t out_h() const { return (H + pt + pb - kh) / sh + 1; }
  uint32_t out_w() const { return (W + pl + pr - kw) / sw + 1; }
  uint64_t outputs() const { return uint64_t(out_h()) * out_w(); }
  // Cycles the activation unit walks: one window position per cycle.
  uint64_t steps() const { return outputs() * kh * kw; }
};
// "" when a 2-D act `in` is legal with the registers `r`, else what is wrong.
std::string check_pool2d(const Instruction& in, const ConfigRegs& r);
// UB vectors an act writes (from the instruction alone): d for a 2-D window, else n / 2^d.
inline uint64_t act_outputs(const Instruction& in) {
  return in.pool_2d() ? uint64_t(in.d) : uint64_t(in.c >> in.d);
}
// Accumulator rows an act reads, one per cycle: the 2-D walk's steps, else n.
inline uint64_t act_steps(const Instruction& in, const ConfigRegs& r) {
  return in.pool_2d() ? Pool2d::of(r).steps() : uint64_t(in.c);
}

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
