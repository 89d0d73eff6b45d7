#include "sim/engines/cycle/weight_memory.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "sim/isa/timing.h"

namespace tpusim::sc {

weight_memory::weight_memory(sc_core::sc_module_name name, uint32_t Rows_, uint32_t Cols_,
                             uint64_t WeightTiles_, uint32_t Depth_, uint32_t ClockMhz,
                             uint64_t WeightBwMbS, uint32_t WeightLatency)
    : sc_core::sc_module(name), Rows(Rows_), Cols(Cols_), WeightTiles(WeightTiles_), Depth(Depth_) {
  // rtl/tb/weight_memory.v TileXferCycles
  tile_xfer_cycles_ =
      uint32_t(timing::transfer_cycles(uint64_t(Rows) * Cols, ClockMhz, WeightBwMbS));
  arrive_cycles_ = tile_xfer_cycles_ + WeightLatency;
  // rtl/tb/weight_memory.v's elaboration checks: what the chip's DMA needs of the weight side
  if (!timing::weight_link_fits_dma(Rows, tile_xfer_cycles_, WeightLatency))
    throw std::invalid_argument(
        "weight_memory: the weight link moves more than one tile row per cycle, or a tile "
        "arrives before its last row (the chip's DMA needs neither, rtl/dma.v)");
  row_cnt_bits_ = clog2(uint64_t(Rows) + 1);
  addr_mask_ = mask_bits(clog2(WeightTiles * Rows));
  zero_row_.assign(Cols, 0);
  cnt_q_.assign(Depth, 0);
  valid_q_.assign(Depth, false);
  rd_data_q_ = Bits(Cols * 8);
  SC_METHOD(seq);
  sensitive << clk_i.pos() << rst_ni.neg();
  dont_initialize();
  SC_METHOD(comb);
  sensitive << state_ev_;
}

void weight_memory::load_rows(uint64_t first_row, const int8_t* data, uint64_t rows) {
  const uint64_t end = (first_row + rows) * Cols;
  if (mem_.size() < end) mem_.resize(end, 0);
  std::memcpy(mem_.data() + first_row * Cols, data, rows * Cols);
}

const uint8_t* weight_memory::row(uint64_t r) const {
  const uint64_t off = r * Cols;
  return off + Cols <= mem_.size() ? mem_.data() + off : zero_row_.data();
}

void weight_memory::seq() {
  const bool edge = clk_i.posedge();
  const bool rst = !rst_ni.read();
  // combinational values of the cycle that ends at this edge
  const bool take = wl_req_valid_i.read() && link_q_ == 0;
  const bool rd_on = take || rd_left_q_ != 0;
  const uint64_t rd_row = take ? (uint64_t(wl_req_row_i.read()) & addr_mask_) : rd_row_q_;
  const bool arrive = valid_q_[rp_q_] && cnt_q_[rp_q_] == 0;
  auto next_slot = [&](uint32_t s) { return s == Depth - 1 ? 0u : s + 1; };

  if (edge) {
    std::memcpy(rd_data_q_.bytes(), row(rd_row), Cols);
    if (bd_we_i.read())
      load_rows(bd_addr_i.read() & addr_mask_,
                reinterpret_cast<const int8_t*>(bd_wdata_i.read().bytes()), 1);
  }
  if (rst) {
    rd_valid_q_ = false;
    link_q_ = rd_left_q_ = 0;
    rd_row_q_ = 0;
    std::fill(cnt_q_.begin(), cnt_q_.end(), 0u);
    std::fill(valid_q_.begin(), valid_q_.end(), false);
    wp_q_ = rp_q_ = 0;
  } else if (edge) {
    for (uint32_t i = 0; i < Depth; ++i)
      if (valid_q_[i] && cnt_q_[i] != 0) --cnt_q_[i];
    const uint32_t rp = rp_q_, wp = wp_q_;
    if (arrive) {
      valid_q_[rp] = false;
      rp_q_ = next_slot(rp);
    }
    if (take) {
      link_q_ = tile_xfer_cycles_ - 1;
      cnt_q_[wp] = arrive_cycles_ - 1;
      valid_q_[wp] = true;
      wp_q_ = next_slot(wp);
      rd_left_q_ = uint32_t((Rows - 1) & mask_bits(row_cnt_bits_));
    } else {
      if (link_q_ != 0) --link_q_;
      if (rd_left_q_ != 0) --rd_left_q_;
    }
    rd_row_q_ = (rd_row + 1) & addr_mask_;
    rd_valid_q_ = rd_on;
  }
  state_ev_.notify();
}

void weight_memory::comb() {
  wl_req_ready_o.write(link_q_ == 0);
  wl_arrive_o.write(valid_q_[rp_q_] && cnt_q_[rp_q_] == 0);
  wl_rd_valid_o.write(rd_valid_q_);
  wl_rd_data_o.write(rd_data_q_);
}

void weight_memory::trace(Vcd& v, const std::string& s) {
  v.add_u64(s, "link_q", 32, [this] { return link_q_; });
  v.add_u64(s, "rd_left_q", 32, [this] { return rd_left_q_; });
  v.add_u64(s, "wl_rd_valid_o", 1, [this] { return wl_rd_valid_o.read(); });
  v.add_u64(s, "wl_arrive_o", 1, [this] { return wl_arrive_o.read(); });
}

}  // namespace tpusim::sc
