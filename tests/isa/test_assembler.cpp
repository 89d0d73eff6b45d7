#include <random>

#include <catch2/catch.hpp>

#include "models/errors.h"
#include "sim/isa/assembler.h"

using namespace tpusim;

Instruction random_instruction(std::mt19937_64& rng);

namespace {
std::string error_of(const std::string& text) {
  try {
    assemble(text, "p.s");
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("text -> binary -> text is the identity on canonical text", "[asm]") {
  std::mt19937_64 rng(7);
  for (int round = 0; round < 200; ++round) {
    Program p;
    for (int i = 0; i < 50; ++i) p.code.push_back(random_instruction(rng));
    std::string text;
    for (const auto& in : p.code) text += disassemble(in) + "\n";
    Program q = assemble(text, "rt.s");
    REQUIRE(q.code == p.code);
    Program r = from_binary(to_binary(q), "rt.bin");
    std::string text2;
    for (const auto& in : r.code) text2 += disassemble(in) + "\n";
    REQUIRE(text2 == text);
    // binary -> text -> binary
    REQUIRE(to_binary(assemble(text2, "rt2.s")) == to_binary(p));
  }
}

TEST_CASE("assembler accepts operands in any order, comments and directives", "[asm]") {
  Program p = assemble(R"(
    .name demo
    .host 2 1 -2 0x7f
    .random weights 0 3 seed=9   ; comment
    mmc accumulate b=4 acc=8 ub=1 switch   # another comment
    act n=8 ub=0 acc=0 fn=tanh pool=avg:4
    setc mult=-5
    sync mxu,act
    sync mxu pending=3
    setc pool_window=3x2/2x1
    act acc=0 ub=4 n=12 pool2d=avg out=2
    halt
  )",
                       "demo.s");
  REQUIRE(p.code.size() == 8);
  CHECK(p.code[5].b == (3u | 2u << 8 | 2u << 16 | 1u << 24));
  CHECK(p.code[6].flags == (kFlagPool2d | 2u << 2));
  CHECK(p.code[6].d == 2);
  CHECK(disassemble(p.code[5]) == "setc pool_window=3x2/2x1");
  CHECK(disassemble(p.code[6]) == "act acc=0 ub=4 n=12 fn=none pool2d=avg out=2");
  CHECK(p.name == "demo");
  CHECK(p.code[0] == Instruction{Opcode::kMatmul, kFlagAccumulate | kFlagSwitch, 0, 1, 8, 4});
  CHECK(p.code[1].pool_size() == 4);
  CHECK(int32_t(p.code[2].b) == -5);
  CHECK(p.code[3].flags == (kUnitMxu | kUnitAct));
  CHECK(p.code[4] == Instruction{Opcode::kSync, kUnitMxu, 3, 0, 0, 0});
  CHECK(disassemble(p.code[4]) == "sync mxu pending=3");
  CHECK(p.host_init.at(2) == std::vector<int8_t>{1, -2, 127});
  REQUIRE(p.random_init.size() == 1);
  CHECK(p.random_init[0].weights);
  CHECK(p.source_lines[1] == 6);
}

TEST_CASE("malformed assembly names the file, the line and the problem", "[asm]") {
  CHECK_THAT(error_of("nop\nfoo x=1\n"),
             Catch::Contains("p.s:2") && Catch::Contains("unknown instruction 'foo'"));
  CHECK_THAT(error_of("rhm host=1 ub=2\n"),
             Catch::Contains("p.s:1") && Catch::Contains("missing operand n="));
  CHECK_THAT(error_of("rhm host=1 ub=2 n=0\n"), Catch::Contains("n (field c) must be >= 1"));
  CHECK_THAT(error_of("rhm host=1 ub=2 n=3 n=4\n"), Catch::Contains("given twice"));
  CHECK_THAT(error_of("rhm host=x ub=2 n=3\n"), Catch::Contains("host"));
  CHECK_THAT(error_of("rhm host=1 ub=2 n=99999999999\n"), Catch::Contains("exceeds"));
  CHECK_THAT(error_of("mmc ub=0 acc=0 b=1 swtich\n"), Catch::Contains("unknown word 'swtich'"));
  CHECK_THAT(error_of("act acc=0 ub=0 n=3 pool=max:2\n"),
             Catch::Contains("multiple of the pool size"));
  CHECK_THAT(error_of("act acc=0 ub=0 n=4 pool=max:3\n"), Catch::Contains("pool size 3"));
  CHECK_THAT(error_of("act acc=0 ub=0 n=4 fn=gelu\n"), Catch::Contains("fn='gelu'"));
  CHECK_THAT(error_of("setc shift=63\n"), Catch::Contains("shift"));
  CHECK_THAT(error_of("setc mult=1 shift=2\n"), Catch::Contains("exactly one"));
  CHECK_THAT(error_of("sync dma\n"), Catch::Contains("unit 'dma'"));
  CHECK_THAT(error_of("sync mxu pending=70000\n"), Catch::Contains("pending"));
  CHECK_THAT(error_of("sync mxu depth=1\n"), Catch::Contains("pending=N"));
  CHECK_THAT(error_of(".random host 0 0 seed=1\nhalt\n"), Catch::Contains("count must be >= 1"));
  CHECK_THAT(error_of(".bogus 1\n"), Catch::Contains("unknown directive"));
  CHECK_THAT(error_of("; only a comment\n"), Catch::Contains("no instructions"));
  CHECK_THAT(error_of("nop \xc3\xa9\n"), Catch::Contains("not printable ASCII"));
}

TEST_CASE("binary images of the wrong size are rejected", "[asm]") {
  CHECK_THROWS_AS(from_binary(std::vector<uint8_t>(15, 0), "x.bin"), InputError);
  CHECK_THROWS_AS(from_binary(std::vector<uint8_t>(), "x.bin"), InputError);
}
