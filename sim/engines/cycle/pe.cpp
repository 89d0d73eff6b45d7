#include "sim/engines/cycle/pe.h"

// Function multiversioning: an AVX2 clone and a baseline clone of each row function, picked
// once by the dynamic loader (ifunc) from the CPU's features, so the default build (no -march)
// still runs the 256-wide loops at AVX2 width on machines that have it. Off where the compiler
// lacks target_clones, off x86-64, and off under the sanitizers (an ifunc resolver runs before
// their run time is set up).
#if defined(__x86_64__) && defined(__has_attribute)
#if __has_attribute(target_clones)
#define TPUSIM_PE_CLONES 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#undef TPUSIM_PE_CLONES
#endif
#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(undefined_behavior_sanitizer)
#undef TPUSIM_PE_CLONES
#endif
#endif

#if defined(TPUSIM_PE_CLONES)
#define TPUSIM_PE_ROW __attribute__((target_clones("avx2", "default")))
#else
#define TPUSIM_PE_ROW
#endif

namespace tpusim::sc::pe {

TPUSIM_PE_ROW void switch_row(int8_t* __restrict active, const uint8_t* __restrict sw,
                              const int8_t* __restrict shadow, uint32_t n) {
  // written as a mask blend (sw is 0 or 1) so that it vectorizes
  for (uint32_t c = 0; c < n; ++c) {
    const int8_t m = int8_t(-int8_t(sw[c]));
    active[c] = int8_t((shadow[c] & m) | (active[c] & ~m));
  }
}

TPUSIM_PE_ROW void psum_row(int32_t* __restrict ps, const int32_t* __restrict above,
                            const int8_t* __restrict act, const int8_t* __restrict weight,
                            uint32_t n) {
  // the product of two int8 fits in int16: one 16-bit multiply per lane, then sign extension
  for (uint32_t c = 0; c < n; ++c) {
    const int16_t p = int16_t(int16_t(act[c]) * int16_t(weight[c]));
    ps[c] = int32_t(uint32_t(above[c]) + uint32_t(int32_t(p)));
  }
}

}  // namespace tpusim::sc::pe
