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
      // the RTL's ROMs (rtl/act_lut.v) are generated from these tables
      sigmoid_lut_(numerics::sigmoid_table()),
      tanh_lut_(numerics::tanh_table()) {
  p2_q_.assign(Cols, 0);
  q3_q_.assign(Cols, 0);
  q5_q_.assign(Cols, 0);
  pool_q_lane_.assign(Cols, 0);
  cur4_q_.assign(Cols, 0);
  mag4_q_.assign(Cols, 0);
  wdata_ = Bits(VecBytes * 8);
  SC_METHOD(seq);
  sensitive << clk_i.pos() << rst_ni.neg();
  dont_initialize();
  SC_METHOD(comb);
  sensitive << state_ev_;
}

uint32_t activation_unit::origin() const {
  const uint32_t pin = pool_in_i.read(), ppad = pool_pad_i.read();
  return (acc_addr_i.read() - (ppad & 31) * (pin & 0xffff) - ((ppad >> 8) & 31)) &
         uint32_t(mask_bits(acc_bits_));
}

void activation_unit::seq() {
  const bool edge = clk_i.posedge();
  const bool rst = !rst_ni.read();
  const uint32_t acc_mask = uint32_t(mask_bits(acc_bits_)), ub_mask = uint32_t(mask_bits(ub_bits_));
  const bool start = start_i.read();
  // The command is latched at issue; the steps read from registers from the next cycle on
  // (rtl/activation_unit.v).
  const bool s0_on = left_q_ != 0;
  const uint32_t grp_max = ((1u << log2_q_) - 1) & 31;
  // 2-D walker (rtl/activation_unit.v, the same names)
  const bool two_d = p2d_q_;
  const bool inb = window_in_image();
  const bool kx_end = kx_q_ == ((kw_q_ - 1) & 31), ky_end = ky_q_ == ((kh_q_ - 1) & 31);
  const bool x_wrap = int64_t(oxo_q_) + sw_q_ + kw_q_ > int64_t(gw_q_) + pr_q_;
  const uint32_t row_dn = (row_q_ + sh_q_ * gw_q_) & acc_mask;
  const bool s0_first = two_d ? (kx_q_ == 0 && ky_q_ == 0) : grp_q_ == 0;
  const bool s0_last = two_d ? (kx_end && ky_end) : grp_q_ == grp_max;
  const bool s0_inb = two_d ? inb : true;
  const bool v3 = v3_q_, last3 = last3_q_, v4 = v4_q_;
  if (edge) {
    // per-lane datapath (stages 1..4), from the register values before this edge
    const uint32_t* acc = acc_rd_data_i.read().u32();
    const int16_t pool_half = log2_q_ == 0 ? 0 : int16_t(1 << (log2_q_ - 1));
    for (uint32_t c = 0; c < Cols; ++c) {
      // stage 4: the group's result from cur4 / mag4
      const int16_t cr = cur4_q_[c];
      const int16_t avg_pos = int16_t((cr + pool_half) >> log2_q_);
      const int16_t avg_neg = int16_t(-(int16_t(-cr + pool_half) >> log2_q_));
      const int32_t avg_1d = cr >= 0 ? avg_pos : avg_neg;
      const int32_t mq =
          int32_t(((uint64_t(mag4_q_[c]) * recip_q_ + (uint64_t(1) << 23)) >> 24) & 0x3ffff);
      const int32_t avg = p2d_q_ ? (cr < 0 ? -mq : mq) : avg_1d;
      const int8_t avg8 = avg > 127 ? int8_t(127) : avg < -128 ? int8_t(-128) : int8_t(avg);
      if (v4) q5_q_[c] = pool_q_ == 2 ? avg8 : int8_t(cr);
      // stage 3: pooling on q3 (before q3 is overwritten); a 2-D position outside the image
      // feeds the neutral value
      const int16_t val = inb3_q_ ? int16_t(q3_q_[c]) : pool_q_ == 2 ? int16_t(0) : int16_t(-128);
      const int16_t acc_p = pool_q_lane_[c];
      const int16_t cur = first3_q_      ? val
                          : pool_q_ == 2 ? int16_t(acc_p + val)
                                         : (val > acc_p ? val : acc_p);
      if (v3) pool_q_lane_[c] = cur;
      if (v3 && last3) {
        cur4_q_[c] = cur;
        mag4_q_[c] = uint32_t(cur < 0 ? -int32_t(cur) : int32_t(cur));
      }
      // stage 2: requantize as shift + increment (numerics::requantize_product), then the
      // function
      const int8_t x =
          numerics::requantize_product(p2_q_[c], shift_q_, numerics::Rounding(round_q_));
      int8_t fn = x;
      if (func_q_ == 1)
        fn = x < 0 ? int8_t(0) : x;
      else if (func_q_ == 2)
        fn = sigmoid_lut_[uint8_t(x) ^ 0x80];
      else if (func_q_ == 3)
        fn = tanh_lut_[uint8_t(x) ^ 0x80];
      q3_q_[c] = fn;
      // stage 1: the product of the accumulator data and mult
      p2_q_[c] = int64_t(int32_t(acc[c])) * int64_t(int32_t(mult_q_));
    }
    if (start) {
      const uint32_t pin = pool_in_i.read(), pwin = pool_window_i.read(), ppad = pool_pad_i.read();
      func_q_ = function_i.read();
      pool_q_ = pool_i.read();
      log2_q_ = pool_log2_i.read();
      mult_q_ = mult_i.read();
      shift_q_ = shift_i.read();
      round_q_ = round_i.read();
      p2d_q_ = pool2d_i.read() != 0;
      recip_q_ = pool_recip_i.read() & 0x1ffffffu;
      gw_q_ = pin & 0xffff;
      gh_q_ = pin >> 16;
      kh_q_ = pwin & 31;
      kw_q_ = (pwin >> 8) & 31;
      sh_q_ = (pwin >> 16) & 31;
      sw_q_ = (pwin >> 24) & 31;
      pl_q_ = (ppad >> 8) & 31;
      pr_q_ = (ppad >> 24) & 31;
      rd_addr_q_ = acc_addr_i.read() & acc_mask;
      grp_q_ = 0;
      // the walker's first window position
      kx_q_ = ky_q_ = off_q_ = 0;
      oxo_q_ = -int32_t((ppad >> 8) & 31);
      oyo_q_ = -int32_t(ppad & 31);
      row_q_ = win_q_ = origin();
    } else {
      rd_addr_q_ = (rd_addr_q_ + 1) & acc_mask;
      grp_q_ = s0_last ? 0 : ((grp_q_ + 1) & 31);
      if (s0_on && two_d) {  // the next window position
        if (!kx_end) {
          kx_q_ = (kx_q_ + 1) & 31;
          off_q_ = (off_q_ + 1) & acc_mask;
        } else if (!ky_end) {
          kx_q_ = 0;
          ky_q_ = (ky_q_ + 1) & 31;
          off_q_ = (off_q_ + gw_q_ - (kw_q_ - 1)) & acc_mask;
        } else if (!x_wrap) {
          kx_q_ = ky_q_ = off_q_ = 0;
          oxo_q_ = oxo_q_ + int32_t(sw_q_);
          win_q_ = (win_q_ + sw_q_) & acc_mask;
        } else {
          kx_q_ = ky_q_ = off_q_ = 0;
          oxo_q_ = -int32_t(pl_q_);
          oyo_q_ = oyo_q_ + int32_t(sh_q_);
          row_q_ = row_dn;
          win_q_ = row_dn;
        }
      }
    }
    first3_q_ = first2_q_;
    last3_q_ = last2_q_;
    inb3_q_ = inb2_q_;
    first2_q_ = first1_q_;
    last2_q_ = last1_q_;
    inb2_q_ = inb1_q_;
    first1_q_ = s0_first;
    last1_q_ = s0_last;
    inb1_q_ = s0_inb;
    if (start)
      out_addr_q_ = ub_addr_i.read() & ub_mask;
    else if (v5_q_)
      out_addr_q_ = (out_addr_q_ + 1) & ub_mask;
  }
  if (rst) {
    left_q_ = 0;
    v1_q_ = v2_q_ = v3_q_ = v4_q_ = v5_q_ = false;
  } else if (edge) {
    if (start) {
      const uint32_t pwin = pool_window_i.read();
      left_q_ = pool2d_i.read() ? out_n_i.read() * (pwin & 31) * ((pwin >> 8) & 31) : n_i.read();
    } else if (s0_on) {
      left_q_ = left_q_ - 1;
    }
    v5_q_ = v4;
    v4_q_ = v3 && last3;
    v3_q_ = v2_q_;
    v2_q_ = v1_q_;
    v1_q_ = s0_on;
  }
  state_ev_.notify();
}

void activation_unit::comb() {
  ub_we_o.write(v5_q_);
  ub_addr_o.write(out_addr_q_);
  std::memcpy(wdata_.bytes(), q5_q_.data(), Cols);
  ub_wdata_o.write(wdata_);
  busy_o.write(left_q_ != 0 || v1_q_ || v2_q_ || v3_q_ || v4_q_ || v5_q_);
  const uint32_t acc_mask = uint32_t(mask_bits(acc_bits_));
  // a step reads its row (a 2-D window position in the padding reads none: its value is unused)
  acc_rd_en_o.write(left_q_ != 0 && (!p2d_q_ || window_in_image()));
  acc_rd_addr_o.write(p2d_q_ ? (win_q_ + off_q_) & acc_mask : rd_addr_q_);
}

bool activation_unit::window_in_image() const {
  const int32_t iy = oyo_q_ + int32_t(ky_q_), ix = oxo_q_ + int32_t(kx_q_);
  return iy >= 0 && iy < int32_t(gh_q_) && ix >= 0 && ix < int32_t(gw_q_);
}

void activation_unit::trace(Vcd& v, const std::string& s) {
  v.add_u64(s, "busy_o", 1, [this] { return busy_o.read(); });
  v.add_u64(s, "left_q", 32, [this] { return left_q_; });
  v.add_u64(s, "rd_addr_q", acc_bits_, [this] { return rd_addr_q_; });
  v.add_u64(s, "v1_q", 1, [this] { return v1_q_; });
  v.add_u64(s, "v2_q", 1, [this] { return v2_q_; });
  v.add_u64(s, "v3_q", 1, [this] { return v3_q_; });
  v.add_u64(s, "v4_q", 1, [this] { return v4_q_; });
  v.add_u64(s, "v5_q", 1, [this] { return v5_q_; });
  v.add_u64(s, "out_addr_q", ub_bits_, [this] { return out_addr_q_; });
  v.add_u64(s, "acc_rd_en_o", 1, [this] { return acc_rd_en_o.read(); });
  v.add_u64(s, "acc_rd_addr_o", acc_bits_, [this] { return acc_rd_addr_o.read(); });
  v.add_u64(s, "ub_we_o", 1, [this] { return ub_we_o.read(); });
  v.add(s, "ub_wdata_o", VecBytes * 8, [this](uint32_t* w) {
    std::memcpy(w, ub_wdata_o.read().u32(), ub_wdata_o.read().words() * 4);
  });
}

}  // namespace tpusim::sc
