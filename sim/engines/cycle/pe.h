// pe: the processing element of rtl/systolic_array.v as an inline next-state function. The
// SystemC systolic_array does not instantiate one SystemC module per PE (a 256 x 256 array would
// spend its time in the kernel); it advances whole rows of PEs per clock with these
// functions, which are exactly the register updates of rtl/systolic_array.v's mesh loop:
//   act_o    <= act_i;                     switch_o <= switch_i;   (switch_o reset to 0)
//   psum_o   <= psum_i + act_i * (switch_i ? shadow_q : active_q)   (int32 wrap-around)
//   active_q <= switch_i ? shadow_q : active_q;                     (reset to 0)
//   shadow_q <= weight_we_i ? weight_i : shadow_q;                  (reset to 0)
#pragma once

#include <cstdint>

namespace tpusim::sc::pe {

inline int8_t weight_eff(bool switch_i, int8_t shadow_q, int8_t active_q) {
  return switch_i ? shadow_q : active_q;
}

// int8 x int8 product sign-extended and added with 32-bit wrap-around (numerics::wrap_add).
inline int32_t psum_next(int32_t psum_i, int8_t act_i, int8_t weight) {
  return int32_t(uint32_t(psum_i) + uint32_t(int32_t(int16_t(act_i) * int16_t(weight))));
}

// The row-wise forms the array calls once per row and edge (pe.cpp; compiled for AVX2 and for
// baseline x86-64, chosen at load time, where the compiler supports function multiversioning).
// Both are element-wise over n PEs, so any vector width gives the scalar functions' results.
//   active[c] = weight_eff(sw[c], shadow[c], active[c])
void switch_row(int8_t* active, const uint8_t* sw, const int8_t* shadow, uint32_t n);
//   ps[c] = psum_next(above[c], act[c], weight[c]); ps and above must not overlap
void psum_row(int32_t* ps, const int32_t* above, const int8_t* act, const int8_t* weight,
              uint32_t n);

}  // namespace tpusim::sc::pe
