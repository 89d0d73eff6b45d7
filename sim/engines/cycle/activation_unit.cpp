#include "sim/engines/cycle/activation_unit.h"

#include <cstring>

#include "sim/isa/numerics.h"

namespace tpusim::sc {

activation_unit::activation_unit(sc_core::sc_module_name name, uint32_t Cols_, uint32_t VecBytes_,
                                 uint32_t AccEntries_, uint32_t UbVectors_)
    : sc_core::sc_module(name),
      Cols(Cols_),
      VecBytes(VecBytes_),
      AccEntries(AccEntries_),
      UbVectors(UbVectors_),
      acc_bits_(clog2(AccEntries_)),
      ub_bits_(clog2(UbVectors_)),
      // the RTL's $readmemh images are generated from these tables (rtl/README.md)
      sigmoid_lut_(numerics::sigmoid_table()),
      tanh_lut_(numerics::tanh_table()) {
  q2_q_.assign(Cols, 0);
  q3_q_.assign(Cols, 0);
  q4_q_.assign(Cols, 0);
  pool_q_lane_.assign(Cols, 0);
  wdata_ = Bits(VecBytes * 8);
  SC_METHOD(seq);
  sensitive << clk_i.pos() << rst_ni.neg();
  dont_initialize();
  SC_METHOD(comb);
  sensitive << state_ev_ << start_i << acc_addr_i;
}

void activation_unit::seq() {
  const bool edge = clk_i.posedge();
  const bool rst = !rst_ni.read();
  const uint32_t acc_mask = uint32_t(mask_bits(acc_bits_)), ub_mask = uint32_t(mask_bits(ub_bits_));
  const bool start = start_i.read();
  const bool s0_on = start || left_q_ != 0;
  const uint32_t left = start ? n_i.read() : left_q_;
  const uint32_t rd_addr = start ? (acc_addr_i.read() & acc_mask) : rd_addr_q_;
  const uint32_t log2 = start ? pool_log2_i.read() : log2_q_;
  const uint32_t grp = start ? 0 : grp_q_;
  const uint32_t grp_max = ((1u << log2) - 1) & 31;
  const bool s0_first = grp == 0, s0_last = grp == grp_max;
  const bool v3 = v3_q_, last3 = last3_q_;
  if (edge) {
    // per-lane datapath (stages 1..3), from the register values before this edge
    const uint32_t* acc = acc_rd_data_i.read().u32();
    const int64_t half = shift_q_ == 0 ? 0 : (int64_t(1) << (shift_q_ - 1));
    const int16_t pool_half = log2_q_ == 0 ? 0 : int16_t(1 << (log2_q_ - 1));
    for (uint32_t c = 0; c < Cols; ++c) {
      // stage 3: pooling on q3 (before q3 is overwritten)
      const int16_t val = int16_t(q3_q_[c]);
      const int16_t acc_p = pool_q_lane_[c];
      const int16_t cur = first3_q_      ? val
                          : pool_q_ == 2 ? int16_t(acc_p + val)
                                         : (val > acc_p ? val : acc_p);
      const int16_t avg_pos = int16_t((cur + pool_half) >> log2_q_);
      const int16_t avg_neg = int16_t(-(int16_t(-cur + pool_half) >> log2_q_));
      const int16_t avg = cur >= 0 ? avg_pos : avg_neg;
      const int8_t avg8 = avg > 127 ? int8_t(127) : avg < -128 ? int8_t(-128) : int8_t(avg);
      const int8_t out = pool_q_ == 2 ? avg8 : int8_t(cur);
      if (v3) pool_q_lane_[c] = cur;
      if (v3 && last3) q4_q_[c] = out;
      // stage 2: function on q2
      const int8_t x = q2_q_[c];
      int8_t fn = x;
      if (func_q_ == 1)
        fn = x < 0 ? int8_t(0) : x;
      else if (func_q_ == 2)
        fn = sigmoid_lut_[uint8_t(x) ^ 0x80];
      else if (func_q_ == 3)
        fn = tanh_lut_[uint8_t(x) ^ 0x80];
      q3_q_[c] = fn;
      // stage 1: requantize the accumulator data
      const int64_t prod = int64_t(int32_t(acc[c])) * int64_t(int32_t(mult_q_));
      const int64_t pos = (prod + half) >> shift_q_;
      const int64_t neg = -((-prod + half) >> shift_q_);
      const int64_t flr = prod >> shift_q_;
      const int64_t rnd = round_q_ == 0 ? (prod >= 0 ? pos : neg) : round_q_ == 1 ? pos : flr;
      q2_q_[c] = rnd > 127 ? int8_t(127) : rnd < -128 ? int8_t(-128) : int8_t(rnd);
    }
    if (start) {
      func_q_ = function_i.read();
      pool_q_ = pool_i.read();
      log2_q_ = pool_log2_i.read();
      mult_q_ = mult_i.read();
      shift_q_ = shift_i.read();
      round_q_ = round_i.read();
    }
    rd_addr_q_ = (rd_addr + 1) & acc_mask;
    grp_q_ = s0_last ? 0 : ((grp + 1) & 31);
    first3_q_ = first2_q_;
    last3_q_ = last2_q_;
    first2_q_ = first1_q_;
    last2_q_ = last1_q_;
    first1_q_ = s0_first;
    last1_q_ = s0_last;
    if (start)
      out_addr_q_ = ub_addr_i.read() & ub_mask;
    else if (v4_q_)
      out_addr_q_ = (out_addr_q_ + 1) & ub_mask;
  }
  if (rst) {
    left_q_ = 0;
    v1_q_ = v2_q_ = v3_q_ = v4_q_ = false;
  } else if (edge) {
    left_q_ = left - (s0_on ? 1 : 0);
    v4_q_ = v3 && last3;
    v3_q_ = v2_q_;
    v2_q_ = v1_q_;
    v1_q_ = s0_on;
  }
  state_ev_.notify();
}

void activation_unit::comb() {
  ub_we_o.write(v4_q_);
  ub_addr_o.write(out_addr_q_);
  std::memcpy(wdata_.bytes(), q4_q_.data(), Cols);
  ub_wdata_o.write(wdata_);
  busy_o.write(left_q_ != 0 || v1_q_ || v2_q_ || v3_q_ || v4_q_);
  const bool start = start_i.read();
  acc_rd_addr_o.write(start ? (acc_addr_i.read() & uint32_t(mask_bits(acc_bits_))) : rd_addr_q_);
}

void activation_unit::trace(Vcd& v, const std::string& s) {
  v.add_u64(s, "busy_o", 1, [this] { return busy_o.read(); });
  v.add_u64(s, "left_q", 32, [this] { return left_q_; });
  v.add_u64(s, "rd_addr_q", acc_bits_, [this] { return rd_addr_q_; });
  v.add_u64(s, "v1_q", 1, [this] { return v1_q_; });
  v.add_u64(s, "v2_q", 1, [this] { return v2_q_; });
  v.add_u64(s, "v3_q", 1, [this] { return v3_q_; });
  v.add_u64(s, "v4_q", 1, [this] { return v4_q_; });
  v.add_u64(s, "out_addr_q", ub_bits_, [this] { return out_addr_q_; });
  v.add_u64(s, "acc_rd_addr_o", acc_bits_, [this] { return acc_rd_addr_o.read(); });
  v.add_u64(s, "ub_we_o", 1, [this] { return ub_we_o.read(); });
  v.add(s, "ub_wdata_o", VecBytes * 8, [this](uint32_t* w) {
    std::memcpy(w, ub_wdata_o.read().u32(), ub_wdata_o.read().words() * 4);
  });
}

}  // namespace tpusim::sc
