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
  sensitive << state_ev_ << start_i << acc_addr_i << pool2d_i << pool_in_i << pool_pad_i;
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
  const bool s0_on = start || left_q_ != 0;
  const uint32_t rd_addr = start ? (acc_addr_i.read() & acc_mask) : rd_addr_q_;
  const uint32_t log2 = start ? pool_log2_i.read() : log2_q_;
  const uint32_t grp = start ? 0 : grp_q_;
  const uint32_t grp_max = ((1u << log2) - 1) & 31;
  // 2-D walker (rtl/activation_unit.v, the same names)
  const uint32_t pin = pool_in_i.read(), pwin = pool_window_i.read(), ppad = pool_pad_i.read();
  const bool two_d = start ? pool2d_i.read() != 0 : p2d_q_;
  const uint32_t gw = start ? (pin & 0xffff) : gw_q_, gh = start ? (pin >> 16) : gh_q_;
  const uint32_t kh = start ? (pwin & 31) : kh_q_, kw = start ? ((pwin >> 8) & 31) : kw_q_;
  const uint32_t sh = start ? ((pwin >> 16) & 31) : sh_q_, sw = start ? ((pwin >> 24) & 31) : sw_q_;
  const uint32_t pl = start ? ((ppad >> 8) & 31) : pl_q_, pr = start ? ((ppad >> 24) & 31) : pr_q_;
  const uint32_t kx = start ? 0 : kx_q_, ky = start ? 0 : ky_q_;
  const uint32_t org0 = start ? origin() : 0;
  const int32_t oxo = start ? -int32_t((ppad >> 8) & 31) : oxo_q_;
  const int32_t oyo = start ? -int32_t(ppad & 31) : oyo_q_;
  const uint32_t row = start ? org0 : row_q_, win = start ? org0 : win_q_, off = start ? 0 : off_q_;
  const int32_t iy = oyo + int32_t(ky), ix = oxo + int32_t(kx);
  const bool inb = iy >= 0 && iy < int32_t(gh) && ix >= 0 && ix < int32_t(gw);
  const bool kx_end = kx == ((kw - 1) & 31), ky_end = ky == ((kh - 1) & 31);
  const bool x_wrap = int64_t(oxo) + sw + kw > int64_t(gw) + pr;
  const uint32_t row_dn = (row + sh * gw) & acc_mask;
  const uint32_t left =
      start ? (pool2d_i.read() ? out_n_i.read() * (pwin & 31) * ((pwin >> 8) & 31) : n_i.read())
            : left_q_;
  const bool s0_first = two_d ? (kx == 0 && ky == 0) : grp == 0;
  const bool s0_last = two_d ? (kx_end && ky_end) : grp == grp_max;
  const bool s0_inb = two_d ? inb : true;
  const bool v3 = v3_q_, last3 = last3_q_;
  if (edge) {
    // per-lane datapath (stages 1..3), from the register values before this edge
    const uint32_t* acc = acc_rd_data_i.read().u32();
    const int64_t half = shift_q_ == 0 ? 0 : (int64_t(1) << (shift_q_ - 1));
    const int16_t pool_half = log2_q_ == 0 ? 0 : int16_t(1 << (log2_q_ - 1));
    for (uint32_t c = 0; c < Cols; ++c) {
      // stage 3: pooling on q3 (before q3 is overwritten); a 2-D position outside the image
      // feeds the neutral value
      const int16_t val = inb3_q_ ? int16_t(q3_q_[c]) : pool_q_ == 2 ? int16_t(0) : int16_t(-128);
      const int16_t acc_p = pool_q_lane_[c];
      const int16_t cur = first3_q_      ? val
                          : pool_q_ == 2 ? int16_t(acc_p + val)
                                         : (val > acc_p ? val : acc_p);
      const int16_t avg_pos = int16_t((cur + pool_half) >> log2_q_);
      const int16_t avg_neg = int16_t(-(int16_t(-cur + pool_half) >> log2_q_));
      const int32_t avg_1d = cur >= 0 ? avg_pos : avg_neg;
      const uint64_t mag = uint64_t(cur < 0 ? -int32_t(cur) : int32_t(cur));
      const int32_t mq = int32_t(((mag * recip_q_ + (uint64_t(1) << 23)) >> 24) & 0x3ffff);
      const int32_t avg = p2d_q_ ? (cur < 0 ? -mq : mq) : avg_1d;
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
      p2d_q_ = pool2d_i.read() != 0;
      recip_q_ = pool_recip_i.read() & 0x1ffffffu;
      gw_q_ = gw;
      gh_q_ = gh;
      kh_q_ = kh;
      kw_q_ = kw;
      sh_q_ = sh;
      sw_q_ = sw;
      pl_q_ = pl;
      pr_q_ = pr;
    }
    rd_addr_q_ = (rd_addr + 1) & acc_mask;
    grp_q_ = s0_last ? 0 : ((grp + 1) & 31);
    if (s0_on && two_d) {  // the next window position
      if (!kx_end) {
        kx_q_ = (kx + 1) & 31;
        ky_q_ = ky;
        off_q_ = (off + 1) & acc_mask;
        oxo_q_ = oxo;
        oyo_q_ = oyo;
        row_q_ = row;
        win_q_ = win;
      } else if (!ky_end) {
        kx_q_ = 0;
        ky_q_ = (ky + 1) & 31;
        off_q_ = (off + gw - (kw - 1)) & acc_mask;
        oxo_q_ = oxo;
        oyo_q_ = oyo;
        row_q_ = row;
        win_q_ = win;
      } else if (!x_wrap) {
        kx_q_ = ky_q_ = off_q_ = 0;
        oxo_q_ = oxo + int32_t(sw);
        oyo_q_ = oyo;
        row_q_ = row;
        win_q_ = (win + sw) & acc_mask;
      } else {
        kx_q_ = ky_q_ = off_q_ = 0;
        oxo_q_ = -int32_t(pl);
        oyo_q_ = oyo + int32_t(sh);
        row_q_ = row_dn;
        win_q_ = row_dn;
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
  const uint32_t acc_mask = uint32_t(mask_bits(acc_bits_));
  const bool two_d = start ? pool2d_i.read() != 0 : p2d_q_;
  if (two_d)
    acc_rd_addr_o.write(start ? origin() : (win_q_ + off_q_) & acc_mask);
  else
    acc_rd_addr_o.write(start ? (acc_addr_i.read() & acc_mask) : rd_addr_q_);
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
