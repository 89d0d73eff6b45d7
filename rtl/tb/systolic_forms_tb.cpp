// Drives one verilated systolic_array with random inputs (reset, then every input random each
// cycle: activations, valid, switch, tag, every weight bus) and prints a hash of every output
// in every cycle. scripts/rtl_forms_check.sh builds it twice, from the simulation form of
// rtl/systolic_array.v and from its synthesis form (-DSYNTHESIS: the per-PE shadow decode), and
// requires equal hashes. ROWS, COLS and RB (row-select bits) come from the build.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "Vsystolic_array.h"
#include "verilated.h"

namespace {

uint64_t state = 88172645463325252ull;
uint32_t rnd() {
  state ^= state << 13;
  state ^= state >> 7;
  state ^= state << 17;
  return uint32_t(state);
}
template <class T>
void put(T& v) {
  v = T(rnd()) | T(T(rnd()) << 16 << 16);
}
template <std::size_t W>
void put(VlWide<W>& v) {
  for (std::size_t i = 0; i < W; ++i) v[i] = rnd();
}
template <class T>
uint64_t get(const T& v) {
  return uint64_t(v);
}
template <std::size_t W>
uint64_t get(const VlWide<W>& v) {
  uint64_t h = 0;
  for (std::size_t i = 0; i < W; ++i) h = h * 31 + v[i];
  return h;
}

}  // namespace

int main(int argc, char** argv) {
  const int cycles = argc > 1 ? std::atoi(argv[1]) : 20000;
  auto* m = new Vsystolic_array;
  m->clk_i = 0;
  m->rst_ni = 0;
  m->eval();
  m->rst_ni = 1;
  m->eval();
  uint64_t h = 1469598103934665603ull;
  for (int k = 0; k < cycles; ++k) {
    m->valid_i = rnd() & 1;
    m->switch_i = (rnd() % 37) == 0;
    m->tag_i = rnd();
    put(m->act_i);
    put(m->weight_valid_i);
    put(m->weight_sel_i);
    put(m->weight_i);
    m->clk_i = 1;
    m->eval();
    m->clk_i = 0;
    m->eval();
    h = (h ^ get(m->psum_o)) * 1099511628211ull;
    h = (h ^ m->valid_o ^ (uint64_t(m->tag_o) << 8)) * 1099511628211ull;
  }
  std::printf("%dx%d %d cycles hash %016llx\n", ROWS, COLS, cycles, (unsigned long long)h);
  delete m;
  return 0;
}
