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
  we_ = Bits(Rows);
  row_ = Bits(Cols * 8);
  SC_METHOD(seq);
  sensitive << clk_i.pos() << rst_ni.neg();
  dont_initialize();
  SC_METHOD(comb);
  sensitive << state_ev_ << arrive_i;
}

void weight_fifo::seq() {
  const bool edge = clk_i.posedge();
  const bool rst = !rst_ni.read();
  const uint32_t row_mask = uint32_t(mask_bits(row_bits_));
  const uint32_t cnt_mask = uint32_t(mask_bits(slot_bits_ + 1));
  const bool arrive = arrive_i.read();
  const bool head_ready = arrived_q_ != 0 || arrive;
  const bool shift_start = !shifting_q_ && !shadow_full_q_ && head_ready && guard_q_ == 0;
  const bool shift_on = shift_start || shifting_q_;
  const uint32_t shift_row = shift_start ? 0 : shift_row_q_;
  const bool shift_end = shift_on && shift_row == ((Rows - 1) & row_mask);
  auto next_slot = [&](uint32_t s) { return s == FifoTiles - 1 ? 0u : s + 1; };
  if (edge && wr_en_i.read())
    std::memcpy(mem_.data() + uint64_t(wr_addr_i.read()) * Cols, wr_data_i.read().bytes(), Cols);
  if (rst) {
    tail_q_ = head_q_ = held_q_ = arrived_q_ = 0;
    shifting_q_ = false;
    shift_row_q_ = 0;
    shadow_full_q_ = false;
    guard_q_ = 0;
  } else if (edge) {
    if (alloc_i.read()) tail_q_ = next_slot(tail_q_);
    held_q_ = (held_q_ + alloc_i.read() - shift_end) & cnt_mask;
    arrived_q_ = (arrived_q_ + arrive - shift_start) & cnt_mask;
    shifting_q_ = shift_on && !shift_end;
    shift_row_q_ = (shift_row + 1) & row_mask;
    if (shift_end) {
      head_q_ = next_slot(head_q_);
      shadow_full_q_ = true;
    }
    if (switch_i.read()) {
      shadow_full_q_ = false;
      guard_q_ = Cols - 1;
    } else if (guard_q_ != 0) {
      --guard_q_;
    }
  }
  state_ev_.notify();
}

void weight_fifo::comb() {
  const bool head_ready = arrived_q_ != 0 || arrive_i.read();
  const bool shift_start = !shifting_q_ && !shadow_full_q_ && head_ready && guard_q_ == 0;
  const bool shift_on = shift_start || shifting_q_;
  const uint32_t shift_row = shift_start ? 0 : shift_row_q_;
  const uint32_t addr_mask = uint32_t(mask_bits(addr_bits_));
  const uint32_t rd_addr = ((uint32_t(head_q_ * Rows) & addr_mask) + shift_row) & addr_mask;
  slot_free_o.write(held_q_ < FifoTiles);
  alloc_slot_o.write(tail_q_);
  shadow_full_o.write(shadow_full_q_);
  tile_arrived_o.write(shifting_q_ || head_ready);
  if (uint64_t(rd_addr) < uint64_t(FifoTiles) * Rows)
    std::memcpy(row_.bytes(), mem_.data() + uint64_t(rd_addr) * Cols, Cols);
  else
    row_.clear();
  weight_row_o.write(row_);
  we_.clear();
  if (shift_on && shift_row < Rows) we_.w[shift_row / 32] = 1u << (shift_row % 32);
  weight_row_we_o.write(we_);
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
  v.add_u64(s, "guard_q", 32, [this] { return guard_q_; });
  v.add_u64(s, "tile_arrived_o", 1, [this] { return tile_arrived_o.read(); });
}

}  // namespace tpusim::sc
