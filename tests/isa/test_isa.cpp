#include <random>

#include <catch2/catch.hpp>

#include "models/errors.h"
#include "sim/isa/assembler.h"
#include "sim/isa/isa.h"

using namespace tpusim;

// Random legal instruction over the whole ISA (also used by the assembler tests).
Instruction random_instruction(std::mt19937_64& rng) {
  std::uniform_int_distribution<uint32_t> any;
  auto n = [&] { return 1 + any(rng) % 0xFFFF; };
  Instruction in;
  switch (any(rng) % 9) {
    case 0:
      in.op = Opcode::kNop;
      break;
    case 1:
      in.op = Opcode::kHalt;
      break;
    case 2:
      in = {Opcode::kReadHost, 0, 0, any(rng), any(rng), n()};
      break;
    case 3:
      in = {Opcode::kWriteHost, 0, 0, any(rng), any(rng), n()};
      break;
    case 4:
      in = {Opcode::kReadWeights, 0, 0, any(rng), 0, n()};
      break;
    case 5: {  // on any MXU; a chain follower (d >= 1) or a source of 1 .. 7 - d followers
      const uint16_t d = uint16_t(any(rng) % kMaxMxus);
      uint8_t flags = uint8_t(any(rng) % 4);
      if (d > 0 && any(rng) % 3 == 0)
        flags |= kFlagChain;
      else if (d + 1u < kMaxMxus && any(rng) % 3 == 0)
        flags |= uint8_t((1 + any(rng) % (kMaxMxus - 1 - d)) << kMmcFanShift);
      in = {Opcode::kMatmul, flags, d, any(rng), any(rng), n()};
      break;
    }
    case 6: {
      if (any(rng) % 3 == 0) {  // a 2-D window: pool max/avg, d = outputs
        in = {Opcode::kActivate,
              uint8_t((any(rng) % 4) | ((1 + any(rng) % 2) << 2) | kFlagPool2d),
              uint16_t(1 + any(rng) % 0xFFFF),
              any(rng),
              any(rng),
              n()};
        break;
      }
      uint8_t pool = any(rng) % 3;
      uint16_t d = pool ? uint16_t(any(rng) % 5) : 0;
      in = {Opcode::kActivate,         uint8_t((any(rng) % 4) | (pool << 2)), d, any(rng), any(rng),
            (1 + any(rng) % 1000) << d};
      break;
    }
    case 7: {
      uint32_t reg = any(rng) % kConfigRegCount;
      auto bytes = [&](uint32_t lo, uint32_t span) {
        uint32_t v = 0;
        for (int i = 0; i < 4; ++i) v |= (lo + any(rng) % span) << (8 * i);
        return v;
      };
      uint32_t v = reg == 0   ? any(rng)
                   : reg == 1 ? any(rng) % 63
                   : reg == 2 ? any(rng) % 3
                   : reg == 3 ? (1 + any(rng) % 0xFFFF) | (1 + any(rng) % 0xFFFF) << 16
                   : reg == 4 ? bytes(1, kMaxPoolWindow)
                   : reg == 5 ? bytes(0, kMaxPoolWindow)
                              : 1 + any(rng) % kPoolRecipOne;
      in = {Opcode::kSetConfig, 0, 0, reg, v, 0};
      break;
    }
    default:
      in = {Opcode::kSync, uint8_t(1 + any(rng) % 15), 0, 0, 0, 0};
      break;
  }
  return in;
}

TEST_CASE("encode/decode round-trips random instructions", "[isa]") {
  std::mt19937_64 rng(42);
  for (int i = 0; i < 20000; ++i) {
    Instruction in = random_instruction(rng);
    REQUIRE(check_encoding(in).empty());
    auto bytes = encode(in);
    Instruction out = decode(bytes.data(), "test");
    REQUIRE(out == in);
  }
}

TEST_CASE("the bit layout is the documented one", "[isa]") {
  Instruction in{Opcode::kMatmul, kFlagSwitch | kFlagAccumulate, 0, 0x11223344, 0x55667788, 0x99};
  auto b = encode(in);
  CHECK(b[0] == 0x05);
  CHECK(b[1] == 0x03);
  CHECK(b[2] == 0x00);
  CHECK(b[4] == 0x44);
  CHECK(b[7] == 0x11);
  CHECK(b[8] == 0x88);
  CHECK(b[12] == 0x99);
}

TEST_CASE("decode rejects unknown opcodes and reserved bits", "[isa]") {
  std::array<uint8_t, 16> b{};
  b[0] = 0x09;
  CHECK_THROWS_AS(decode(b.data(), "x"), InputError);
  b[0] = 0x00;
  b[5] = 1;  // nop with a != 0
  CHECK_THROWS_AS(decode(b.data(), "x"), InputError);
  Instruction sync0{Opcode::kSync, 0, 0, 0, 0, 0};
  CHECK_FALSE(check_encoding(sync0).empty());
  Instruction act_bad{Opcode::kActivate, uint8_t(1 << 2), 1, 0, 0, 3};  // n=3 with pool 2
  CHECK_FALSE(check_encoding(act_bad).empty());
  Instruction mm0{Opcode::kMatmul, 0, 0, 0, 0, 0};
  CHECK_FALSE(check_encoding(mm0).empty());
  // chained inputs: a follower on MXU 0, a follower with fan, a fan past the last MXU, bits 6..7
  CHECK_THAT(check_encoding({Opcode::kMatmul, kFlagChain, 0, 0, 0, 1}),
             Catch::Contains("chain needs MXU (field d) >= 1"));
  CHECK_THAT(check_encoding({Opcode::kMatmul, uint8_t(kFlagChain | 1 << kMmcFanShift), 1, 0, 0, 1}),
             Catch::Contains("fan 0"));
  CHECK_THAT(check_encoding({Opcode::kMatmul, uint8_t(2 << kMmcFanShift), kMaxMxus - 2, 0, 0, 1}),
             Catch::Contains("passes MXU"));
  CHECK(
      check_encoding({Opcode::kMatmul, uint8_t(1 << kMmcFanShift), kMaxMxus - 2, 0, 0, 1}).empty());
  CHECK_FALSE(check_encoding({Opcode::kMatmul, 0x40, 0, 0, 0, 1}).empty());
  Instruction shift63{Opcode::kSetConfig, 0, 0, 1, 63, 0};
  CHECK_FALSE(check_encoding(shift63).empty());
}
