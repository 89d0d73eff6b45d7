#include "sim/engines/cycle/weight_fifo.h"

#include <cstring>

namespace tpusim::sc {

weight_fifo::weight_fifo(sc_core::sc_module_name name, uint32_t Rows_, uint32_t Cols_,
                         uint32_t FifoTiles_)
    : sc_core::sc_module(name), Rows(Rows_), Cols(Cols_), FifoTiles(FifoTiles_) {
  slot_bits_ = FifoTiles > 1 ? clog2(FifoTiles) : 1;
  addr_bits_ = clog2(uint64_t(FifoTiles) * Rows);
  row_bits_ = clog2(Rows);
  mem_.assign(uint64_t(FifoTiles) * Rows * Cols, 0);
  valid_q_.assign(Cols, 0);
  row_q_.assign(Cols, 0);
  addr_q_.assign(Cols, 0);
  valid_ = Bits(Cols);
  sel_ = Bits(Cols * 32);
  data_ = Bits(Cols * 8);
  SC_METHOD(seq);
  sensitive << clk_i.pos() << rst_ni.neg();
  dont_initialize();
  SC_METHOD(comb);
  sensitive << state_ev_ << arrive_i;
}

weight_fifo::Stage0 weight_fifo::stage0(bool arrive) const {
  const uint32_t row_mask = uint32_t(mask_bits(row_bits_));
  const uint32_t addr_mask = uint32_t(mask_bits(addr_bits_));
  Stage0 s{};
  s.head_ready = arrived_q_ != 0 || arrive;
  s.shift_start = !shifting_q_ && !shadow_full_q_ && s.head_ready;
  s.shift_on = s.shift_start || shifting_q_;
  s.shift_row = s.shift_start ? 0 : shift_row_q_;
  s.shift_end = s.shift_on && s.shift_row == ((Rows - 1) & row_mask);
  s.addr = ((uint32_t(head_q_ * Rows) & addr_mask) + s.shift_row) & addr_mask;
  return s;
}

void weight_fifo::seq() {
  const bool edge = clk_i.posedge();
  const bool rst = !rst_ni.read();
  const uint32_t row_mask = uint32_t(mask_bits(row_bits_));
  const uint32_t cnt_mask = uint32_t(mask_bits(slot_bits_ + 1));
  const bool arrive = arrive_i.read();
  const Stage0 s0 = stage0(arrive);
  auto next_slot = [&](uint32_t s) { return s == FifoTiles - 1 ? 0u : s + 1; };
  if (edge && wr_en_i.read())
    std::memcpy(mem_.data() + uint64_t(wr_addr_i.read()) * Cols, wr_data_i.read().bytes(), Cols);
  if (rst) {
    tail_q_ = head_q_ = held_q_ = arrived_q_ = 0;
    shifting_q_ = false;
    shift_row_q_ = 0;
    shadow_full_q_ = false;
    std::fill(valid_q_.begin(), valid_q_.end(), 0);
    live_q_ = 0;
  } else if (edge) {
    const bool last_valid = Cols == 1 ? s0.shift_on : valid_q_[Cols - 1] != 0;
    const uint32_t last_row = Cols == 1 ? s0.shift_row : row_q_[Cols - 1];
    const bool drain_end = last_valid && last_row == ((Rows - 1) & row_mask);
    // column skew: stage c <= stage c - 1 (row_q/addr_q are not reset in the RTL either)
    if (live_q_ != 0 || s0.shift_on) {
      for (uint32_t c = Cols - 1; c >= 2; --c) {
        valid_q_[c] = valid_q_[c - 1];
        row_q_[c] = row_q_[c - 1];
        addr_q_[c] = addr_q_[c - 1];
      }
      if (Cols > 1) {
        valid_q_[1] = s0.shift_on;
        row_q_[1] = s0.shift_row;
        addr_q_[1] = s0.addr;
      }
      live_q_ = 0;
      for (uint32_t c = 1; c < Cols; ++c) live_q_ += valid_q_[c];
    }
    if (alloc_i.read()) tail_q_ = next_slot(tail_q_);
    held_q_ = (held_q_ + alloc_i.read() - drain_end) & cnt_mask;
    arrived_q_ = (arrived_q_ + arrive - s0.shift_start) & cnt_mask;
    shifting_q_ = s0.shift_on && !s0.shift_end;
    shift_row_q_ = (s0.shift_row + 1) & row_mask;
    if (s0.shift_end) head_q_ = next_slot(head_q_);
    if (s0.shift_start)
      shadow_full_q_ = true;
    else if (switch_i.read())
      shadow_full_q_ = false;
  }
  state_ev_.notify();
}

void weight_fifo::comb() {
  const Stage0 s0 = stage0(arrive_i.read());
  const uint64_t depth = uint64_t(FifoTiles) * Rows;
  slot_free_o.write(held_q_ < FifoTiles);
  alloc_slot_o.write(tail_q_);
  shadow_full_o.write(shadow_full_q_);
  tile_arrived_o.write(s0.head_ready);
  uint32_t* sel = sel_.u32();
  uint8_t* data = data_.bytes();
  valid_.clear();
  for (uint32_t c = 0; c < Cols; ++c) {
    const bool v = c == 0 ? s0.shift_on : valid_q_[c] != 0;
    const uint32_t row = c == 0 ? s0.shift_row : row_q_[c];
    const uint32_t addr = c == 0 ? s0.addr : addr_q_[c];
    if (v) valid_.w[c / 32] |= 1u << (c % 32);
    sel[c] = row;
    data[c] = addr < depth ? mem_[uint64_t(addr) * Cols + c] : 0;
  }
  weight_valid_o.write(valid_);
  weight_sel_o.write(sel_);
  weight_o.write(data_);
}

void weight_fifo::trace(Vcd& v, const std::string& s) {
  v.add_u64(s, "slot_free_o", 1, [this] { return slot_free_o.read(); });
  v.add_u64(s, "tail_q", slot_bits_, [this] { return tail_q_; });
  v.add_u64(s, "head_q", slot_bits_, [this] { return head_q_; });
  v.add_u64(s, "held_q", slot_bits_ + 1, [this] { return held_q_; });
  v.add_u64(s, "arrived_q", slot_bits_ + 1, [this] { return arrived_q_; });
  v.add_u64(s, "shifting_q", 1, [this] { return shifting_q_; });
  v.add_u64(s, "shift_row_q", row_bits_, [this] { return shift_row_q_; });
  v.add_u64(s, "shadow_full_q", 1, [this] { return shadow_full_q_; });
  v.add_u64(s, "tile_arrived_o", 1, [this] { return tile_arrived_o.read(); });
}

}  // namespace tpusim::sc
