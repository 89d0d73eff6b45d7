#include "sim/engines/cycle/systolic_array.h"

#include <algorithm>
#include <cstring>

#include "sim/engines/cycle/pe.h"

namespace tpusim::sc {

systolic_array::systolic_array(sc_core::sc_module_name name, uint32_t Rows_, uint32_t Cols_,
                               uint32_t TagBits_, uint32_t ShiftPorts_, uint32_t BusRows_)
    : sc_core::sc_module(name),
      Rows(Rows_),
      Cols(Cols_),
      TagBits(TagBits_),
      ShiftPorts(ShiftPorts_),
      BusRows(BusRows_),
      Depth(Rows_ + Cols_ - 1),
      Segs((Rows_ + BusRows_ - 1) / BusRows_) {
  pend_.resize(Segs);
  const size_t n = size_t(Rows) * Cols;
  act_.assign(n, 0);
  active_.assign(n, 0);
  shadow_.assign(n, 0);
  sw_.assign(n, 0);
  psum_.assign(n, 0);
  hin_act_.assign(size_t(Rows) * Rows, 0);
  hin_sw_.assign(Rows, 0);
  hb_.assign(size_t(Cols) * Cols, 0);
  vring_.assign(Depth, 0);
  tring_.assign(Depth, 0);
  last_act_in_.assign(Rows, 0);
  act_in_col0_.assign(Rows, 0);
  sw_in_col0_.assign(Rows, 0);
  sw_set_.assign(Rows, 0);
  zero_row_.assign(Cols, 0);
  psum_out_ = Bits(Cols * 32);
  switch_age_ = ~uint64_t(0) / 2;
  SC_METHOD(seq);
  sensitive << clk_i.pos() << rst_ni.neg();
  dont_initialize();
}

void systolic_array::reset_async() {
  std::fill(hin_act_.begin(), hin_act_.end(), 0);
  std::fill(hin_sw_.begin(), hin_sw_.end(), 0);
  std::fill(sw_.begin(), sw_.end(), 0);
  std::fill(sw_set_.begin(), sw_set_.end(), 0);
  std::fill(act_.begin(), act_.end(), 0);  // every PE register is reset, as in the RTL
  std::fill(psum_.begin(), psum_.end(), 0);
  std::fill(active_.begin(), active_.end(), 0);
  std::fill(shadow_.begin(), shadow_.end(), 0);
  std::fill(vring_.begin(), vring_.end(), 0);
  for (auto& p : pend_) p.clear();  // the bus stages' valid bits are reset
  quiet_ = 0;
}

void systolic_array::seq() {
  const bool edge = clk_i.posedge();
  const bool rst = !rst_ni.read();
  if (edge) {
    const int8_t* in = reinterpret_cast<const int8_t*>(act_i.read().bytes());
    const bool sw_in = switch_i.read();

    // de-skew: the bottom row's registers (before this edge) enter the history
    std::memcpy(hb_.data() + size_t(hb_pos_) * Cols, psum_.data() + size_t(Rows - 1) * Cols,
                size_t(Cols) * 4);
    hb_pos_ = hb_pos_ + 1 == Cols ? 0 : hb_pos_ + 1;

    // valid / tag delay line (valid_q is reset, tag_q is not)
    vring_[vhead_] = valid_i.read();
    tring_[vhead_] = tag_i.read();
    vhead_ = vhead_ + 1 == Depth ? 0 : vhead_ + 1;

    // inputs of column 0: row 0 direct, row r the input of r edges ago (skew registers)
    act_in_col0_[0] = in[0];
    sw_in_col0_[0] = sw_in;
    for (uint32_t r = 1, slot = hin_pos_ == 0 ? Rows - 1 : hin_pos_ - 1; r < Rows; ++r) {
      act_in_col0_[r] = hin_act_[size_t(slot) * Rows + r];
      sw_in_col0_[r] = hin_sw_[slot];
      slot = slot == 0 ? Rows - 1 : slot - 1;
    }
    bool same = std::memcmp(last_act_in_.data(), in, Rows) == 0;
    if (!same) std::memcpy(last_act_in_.data(), in, Rows);
    if (sw_in)
      switch_age_ = 0;
    else
      ++switch_age_;
    const bool switching = switch_age_ <= uint64_t(Rows) + Cols + 1;
    quiet_ = (same && !switching) ? quiet_ + 1 : 0;
    const bool fixed_point = quiet_ > uint64_t(Rows) + Cols + 1;

    // mesh, bottom row first so that row r - 1 still holds its old partial sums
    for (uint32_t rr = Rows; rr-- > 0;) {
      int8_t* act = act_.data() + size_t(rr) * Cols;
      int32_t* ps = psum_.data() + size_t(rr) * Cols;
      const int32_t* above = rr == 0 ? zero_row_.data() : psum_.data() + size_t(rr - 1) * Cols;
      int8_t* active = active_.data() + size_t(rr) * Cols;
      const int8_t* shadow = shadow_.data() + size_t(rr) * Cols;
      if (!fixed_point) {
        // act_o <= act_i, switch_o <= switch_i: the row shifts east by one PE. A row whose
        // switch registers are all zero and stay so needs neither the shift nor the blend.
        std::memmove(act + 1, act, Cols - 1);
        act[0] = act_in_col0_[rr];
        const uint8_t sw0 = sw_in_col0_[rr];
        if (sw_set_[rr] != 0 || sw0 != 0) {
          uint8_t* sw = sw_.data() + size_t(rr) * Cols;
          sw_set_[rr] += uint32_t(sw0) - sw[Cols - 1];
          std::memmove(sw + 1, sw, Cols - 1);
          sw[0] = sw0;
          // active_q <= switch_i ? shadow_q : active_q, which is also the weight of this edge
          pe::switch_row(active, sw, shadow, Cols);
        }
        pe::psum_row(ps, above, act, active, Cols);
      }
    }

    // shadow writes (after the switches of this edge read the old values): lane l = p * Cols
    // + c writes row sel[l] of column c when valid[l], in segment sel[l] / BusRows, that many
    // edges from now; no two writes land on one PE in a cycle
    std::vector<ShadowWrite>& due = pend_[pend_pos_];
    for (const ShadowWrite& w : due) shadow_[w.pe] = w.value;
    due.clear();
    const Bits& wvalid = weight_valid_i.read();
    const uint32_t* wsel = weight_sel_i.read().u32();
    const int8_t* wdata = reinterpret_cast<const int8_t*>(weight_i.read().bytes());
    const uint32_t lanes = ShiftPorts * Cols;
    for (uint32_t word = 0; word < wvalid.words(); ++word)
      for (uint32_t bits = wvalid.w[word]; bits != 0; bits &= bits - 1) {
        const uint32_t l = word * 32 + uint32_t(__builtin_ctz(bits));
        if (l >= lanes || wsel[l] >= Rows) continue;
        const uint32_t pe = wsel[l] * Cols + l % Cols, seg = wsel[l] / BusRows;
        if (seg == 0)
          shadow_[pe] = wdata[l];
        else
          pend_[(pend_pos_ + seg) % Segs].push_back({pe, wdata[l]});
      }
    pend_pos_ = pend_pos_ + 1 == Segs ? 0 : pend_pos_ + 1;

    // skew registers: this edge's input enters the history
    std::memcpy(hin_act_.data() + size_t(hin_pos_) * Rows, in, Rows);
    hin_sw_[hin_pos_] = sw_in;
    hin_pos_ = hin_pos_ + 1 == Rows ? 0 : hin_pos_ + 1;
  }
  if (rst) reset_async();
  outputs();
}

void systolic_array::outputs() {
  valid_o.write(vring_[vhead_]);
  tag_o.write(tring_[vhead_]);
  int32_t* out = reinterpret_cast<int32_t*>(psum_out_.u32());
  // column c shows the bottom value of d = Cols - 1 - c edges ago (d = 0: the registers)
  out[Cols - 1] = psum_[size_t(Rows - 1) * Cols + Cols - 1];
  for (uint32_t d = 1, slot = hb_pos_ == 0 ? Cols - 1 : hb_pos_ - 1; d < Cols; ++d) {
    const uint32_t c = Cols - 1 - d;
    out[c] = hb_[size_t(slot) * Cols + c];
    slot = slot == 0 ? Cols - 1 : slot - 1;
  }
  psum_o.write(psum_out_);
}

void systolic_array::trace(Vcd& v, const std::string& s) {
  v.add_u64(s, "valid_i", 1, [this] { return valid_i.read(); });
  v.add_u64(s, "switch_i", 1, [this] { return switch_i.read(); });
  v.add_u64(s, "tag_i", TagBits, [this] { return tag_i.read(); });
  v.add_u64(s, "valid_o", 1, [this] { return valid_o.read(); });
  v.add_u64(s, "tag_o", TagBits, [this] { return tag_o.read(); });
  v.add(s, "psum_o", Cols * 32,
        [this](uint32_t* w) { std::memcpy(w, psum_o.read().u32(), size_t(Cols) * 4); });
  // the PE registers of the top-left 8 x 8 corner, named as the RTL's arrays (index r*Cols+c)
  for (uint32_t r = 0; r < Rows && r < 8; ++r)
    for (uint32_t c = 0; c < Cols && c < 8; ++c) {
      const size_t i = size_t(r) * Cols + c;
      const std::string at = "[" + std::to_string(i) + "]";
      v.add_u64(s, "act_q" + at, 8, [this, i] { return uint8_t(act_[i]); });
      v.add_u64(s, "psum_q" + at, 32, [this, i] { return uint32_t(psum_[i]); });
      v.add_u64(s, "active_q" + at, 8, [this, i] { return uint8_t(active_[i]); });
      v.add_u64(s, "shadow_q" + at, 8, [this, i] { return uint8_t(shadow_[i]); });
    }
}

}  // namespace tpusim::sc
