// activation_unit: SystemC twin of rtl/activation_unit.v (accumulator read, requantize,
// ReLU / sigmoid / tanh LUT, max / average pooling, UB write; five stages after the read).
#pragma once

#include <cstdint>
#include <vector>

#include <systemc>

#include "sim/engines/cycle/bits.h"
#include "sim/engines/cycle/vcd.h"

namespace tpusim::sc {

class activation_unit : public sc_core::sc_module {
 public:
  sc_core::sc_in<bool> clk_i, rst_ni;
  sc_core::sc_in<bool> start_i;
  sc_core::sc_in<uint32_t> acc_addr_i, ub_addr_i, n_i, function_i, pool_i, pool_log2_i, mult_i,
      shift_i, round_i;
  sc_core::sc_in<uint32_t> pool2d_i, out_n_i, pool_in_i, pool_window_i, pool_pad_i, pool_recip_i;
  sc_core::sc_out<bool> busy_o;
  sc_core::sc_out<bool> acc_rd_en_o;
  sc_core::sc_out<uint32_t> acc_rd_addr_o;
  sc_core::sc_in<Bits> acc_rd_data_i;  // Cols x int32
  sc_core::sc_out<bool> ub_we_o;
  sc_core::sc_out<uint32_t> ub_addr_o;
  sc_core::sc_out<Bits> ub_wdata_o;  // VecBytes bytes

  SC_HAS_PROCESS(activation_unit);
  activation_unit(sc_core::sc_module_name name, uint32_t Cols, uint32_t VecBytes,
                  uint32_t AccEntries, uint32_t UbVectors);
  void trace(Vcd& vcd, const std::string& scope);

 private:
  void seq();
  void comb();
  bool window_in_image() const;  // the 2-D walker's window position lies in the image (inb)
  // The 2-D walker's start values, from the inputs in the issue cycle (as the RTL's org0).
  uint32_t origin() const;
  // seq() updates registers only; comb() alone drives the outputs (one writer per signal),
  // woken by this event after every register update.
  sc_core::sc_event state_ev_;
  const uint32_t Cols, VecBytes, AccEntries, UbVectors;
  uint32_t acc_bits_, ub_bits_;
  const int8_t* sigmoid_lut_;
  const int8_t* tanh_lut_;

  uint32_t func_q_ = 0, pool_q_ = 0, log2_q_ = 0, mult_q_ = 0, shift_q_ = 0, round_q_ = 0,
           out_addr_q_ = 0;
  uint32_t left_q_ = 0, rd_addr_q_ = 0, grp_q_ = 0;
  // 2-D walker (rtl/activation_unit.v): latched geometry, window position and addresses
  bool p2d_q_ = false;
  uint32_t recip_q_ = 0;
  uint32_t gw_q_ = 0, gh_q_ = 0, kh_q_ = 0, kw_q_ = 0, sh_q_ = 0, sw_q_ = 0, pl_q_ = 0, pr_q_ = 0;
  uint32_t kx_q_ = 0, ky_q_ = 0, row_q_ = 0, win_q_ = 0, off_q_ = 0;
  int32_t oxo_q_ = 0, oyo_q_ = 0;
  bool inb1_q_ = false, inb2_q_ = false, inb3_q_ = false;
  bool v1_q_ = false, v2_q_ = false, v3_q_ = false, v4_q_ = false, v5_q_ = false;
  bool first1_q_ = false, first2_q_ = false, first3_q_ = false;
  bool last1_q_ = false, last2_q_ = false, last3_q_ = false;
  std::vector<int64_t> p2_q_;         // stage 1 -> 2: the products
  std::vector<int8_t> q3_q_, q5_q_;   // stage 2 -> 3, stage 4 -> 5 (the UB write data)
  std::vector<int16_t> pool_q_lane_;  // the running max / sum
  std::vector<int16_t> cur4_q_;       // stage 3 -> 4: the group's max or sum
  std::vector<uint32_t> mag4_q_;      // and its magnitude
  Bits wdata_;
};

}  // namespace tpusim::sc
