#include "sim/engines/cycle/dma.h"

#include <algorithm>

namespace tpusim::sc {

dma::dma(sc_core::sc_module_name name, uint32_t Rows_, uint32_t Cols_, uint32_t VecBytes_,
         uint32_t UbVectors_, uint32_t FifoTiles_, uint32_t Mxus_)
    : sc_core::sc_module(name),
      Rows(Rows_),
      Cols(Cols_),
      VecBytes(VecBytes_),
      UbVectors(UbVectors_),
      FifoTiles(FifoTiles_),
      Mxus(Mxus_) {
  fifo_slot_free_i.init(Mxus);
  fifo_alloc_slot_i.init(Mxus);
  fifo_alloc_o.init(Mxus);
  fifo_wr_en_o.init(Mxus);
  fifo_arrive_o.init(Mxus);
  ub_bits_ = clog2(UbVectors);
  slot_bits_ = FifoTiles > 1 ? clog2(FifoTiles) : 1;
  fifo_addr_bits_ = clog2(uint64_t(FifoTiles) * Rows);
  mxu_bits_ = Mxus > 1 ? clog2(Mxus) : 1;
  arr_depth_ = Mxus * FifoTiles;  // tiles in flight: each holds a slot
  arr_mxu_q_.assign(arr_depth_, 0);
  arr_last_q_.assign(arr_depth_, false);
  SC_METHOD(seq);
  sensitive << clk_i.pos() << rst_ni.neg();
  dont_initialize();
  SC_METHOD(comb);
  sensitive << state_ev_ << host_start_i << host_write_i << host_addr_i << host_ub_addr_i
            << host_n_i << w_start_i << w_tile_i << w_n_i << w_mxu_i << ub_rdata_i << hl_rd_valid_i
            << hl_rd_data_i << hl_done_i << wl_req_ready_i << wl_rd_valid_i << wl_rd_data_i
            << wl_arrive_i;
  for (uint32_t m = 0; m < Mxus; ++m) sensitive << fifo_slot_free_i[m] << fifo_alloc_slot_i[m];
}

void dma::seq() {
  const bool edge = clk_i.posedge();
  const bool rst = !rst_ni.read();
  const uint32_t ub_mask = uint32_t(mask_bits(ub_bits_));
  const uint32_t fifo_mask = uint32_t(mask_bits(fifo_addr_bits_));
  // combinational values of the cycle that ends at this edge
  const bool host_start = host_start_i.read();
  const uint32_t rd_left = host_start ? host_n_i.read() : rd_left_q_;
  const bool rd_on = (host_start ? host_write_i.read() : true) && rd_left != 0;
  const uint32_t rd_ub = host_start ? (host_ub_addr_i.read() & ub_mask) : rd_ub_q_;
  const bool w_start = w_start_i.read();
  const bool w_pending = w_start || w_left_q_ != 0;
  const uint32_t w_left = w_start ? w_n_i.read() : w_left_q_;
  const uint32_t w_tile = w_start ? w_tile_i.read() : w_next_q_;
  const uint32_t w_mxu = w_start ? w_mxu_i.read() : w_mxu_q_;
  const bool w_req =
      w_pending && w_mxu < Mxus && fifo_slot_free_i[w_mxu].read() && wl_req_ready_i.read();
  const uint32_t alloc_slot = w_mxu < Mxus ? fifo_alloc_slot_i[w_mxu].read() : 0;
  const uint32_t req_dst = uint32_t(alloc_slot * Rows) & fifo_mask;
  auto next_arr = [&](uint32_t s) { return s == arr_depth_ - 1 ? 0u : s + 1; };

  if (rst) {
    h_active_q_ = wr_beat_q_ = false;
    rd_left_q_ = rd_ub_q_ = wb_ub_q_ = 0;
    w_left_q_ = w_next_q_ = w_mxu_q_ = copy_mxu_q_ = copy_dst_q_ = 0;
    std::fill(arr_last_q_.begin(), arr_last_q_.end(), false);
    std::fill(arr_mxu_q_.begin(), arr_mxu_q_.end(), 0u);
    arr_wp_q_ = arr_rp_q_ = 0;
  } else if (edge) {
    if (host_start)
      h_active_q_ = true;
    else if (hl_done_i.read())
      h_active_q_ = false;
    rd_left_q_ = rd_on ? rd_left - 1 : 0;
    rd_ub_q_ = (rd_ub + 1) & ub_mask;
    wr_beat_q_ = rd_on;
    if (host_start)
      wb_ub_q_ = host_ub_addr_i.read() & ub_mask;
    else if (hl_rd_valid_i.read())
      wb_ub_q_ = (wb_ub_q_ + 1) & ub_mask;

    w_left_q_ = w_left - (w_req ? 1 : 0);
    w_next_q_ = w_tile + (w_req ? 1 : 0);
    w_mxu_q_ = w_mxu;
    if (wl_arrive_i.read()) arr_rp_q_ = next_arr(arr_rp_q_);
    if (w_req) {
      arr_mxu_q_[arr_wp_q_] = w_mxu;
      arr_last_q_[arr_wp_q_] = w_left == 1;
      arr_wp_q_ = next_arr(arr_wp_q_);
      copy_mxu_q_ = w_mxu;
      copy_dst_q_ = req_dst;
    } else if (wl_rd_valid_i.read()) {
      copy_dst_q_ = (copy_dst_q_ + 1) & fifo_mask;
    }
  }
  state_ev_.notify();
}

void dma::comb() {
  const uint32_t ub_mask = uint32_t(mask_bits(ub_bits_));
  const bool host_start = host_start_i.read();
  host_busy_o.write(h_active_q_ && !hl_done_i.read());
  const uint32_t rd_ub = host_start ? (host_ub_addr_i.read() & ub_mask) : rd_ub_q_;
  const uint32_t rd_left = host_start ? host_n_i.read() : rd_left_q_;
  const bool rd_on = (host_start ? host_write_i.read() : true) && rd_left != 0;
  hl_req_valid_o.write(host_start);
  hl_req_write_o.write(host_write_i.read());
  hl_req_addr_o.write(host_addr_i.read());
  hl_req_len_o.write(host_n_i.read());
  hl_wr_valid_o.write(wr_beat_q_);
  hl_wr_data_o.write(ub_rdata_i.read());
  const bool rd_valid = hl_rd_valid_i.read();
  ub_re_o.write(rd_on);  // a whm reads UB[b + i] in cycle t + i, i < n
  ub_we_o.write(rd_valid);
  ub_addr_o.write(rd_valid ? wb_ub_q_ : rd_ub);
  ub_wdata_o.write(hl_rd_data_i.read());

  const bool w_start = w_start_i.read();
  const bool w_pending = w_start || w_left_q_ != 0;
  const uint32_t w_tile = w_start ? w_tile_i.read() : w_next_q_;
  const uint32_t w_mxu = w_start ? w_mxu_i.read() : w_mxu_q_;
  const bool w_offer = w_pending && w_mxu < Mxus && fifo_slot_free_i[w_mxu].read();
  const bool w_req = w_offer && wl_req_ready_i.read();
  const bool arrive = wl_arrive_i.read();
  w_free_o.write(w_left_q_ == 0 && wl_req_ready_i.read());
  rw_done_o.write(arrive && arr_last_q_[arr_rp_q_]);
  for (uint32_t m = 0; m < Mxus; ++m) {
    fifo_alloc_o[m].write(w_req && w_mxu == m);
    fifo_arrive_o[m].write(arrive && arr_mxu_q_[arr_rp_q_] == m);
    fifo_wr_en_o[m].write(wl_rd_valid_i.read() && copy_mxu_q_ == m);
  }
  fifo_wr_addr_o.write(copy_dst_q_);
  fifo_wr_data_o.write(wl_rd_data_i.read());
  wl_req_valid_o.write(w_offer);
  wl_req_row_o.write(w_tile * Rows);
}

void dma::trace(Vcd& v, const std::string& s) {
  v.add_u64(s, "host_busy_o", 1, [this] { return host_busy_o.read(); });
  v.add_u64(s, "h_active_q", 1, [this] { return h_active_q_; });
  v.add_u64(s, "rd_left_q", 32, [this] { return rd_left_q_; });
  v.add_u64(s, "wr_beat_q", 1, [this] { return wr_beat_q_; });
  v.add_u64(s, "ub_re_o", 1, [this] { return ub_re_o.read(); });
  v.add_u64(s, "ub_we_o", 1, [this] { return ub_we_o.read(); });
  v.add_u64(s, "ub_addr_o", ub_bits_, [this] { return ub_addr_o.read(); });
  v.add_u64(s, "w_free_o", 1, [this] { return w_free_o.read(); });
  v.add_u64(s, "rw_done_o", 1, [this] { return rw_done_o.read(); });
  v.add_u64(s, "w_left_q", 32, [this] { return w_left_q_; });
  v.add_u64(s, "w_mxu_q", mxu_bits_, [this] { return w_mxu_q_; });
  v.add_u64(s, "copy_dst_q", fifo_addr_bits_, [this] { return copy_dst_q_; });
  v.add_u64(s, "hl_req_valid_o", 1, [this] { return hl_req_valid_o.read(); });
  v.add_u64(s, "hl_wr_valid_o", 1, [this] { return hl_wr_valid_o.read(); });
  v.add_u64(s, "hl_rd_valid_i", 1, [this] { return hl_rd_valid_i.read(); });
  v.add_u64(s, "hl_done_i", 1, [this] { return hl_done_i.read(); });
  v.add_u64(s, "wl_req_valid_o", 1, [this] { return wl_req_valid_o.read(); });
  v.add_u64(s, "wl_req_ready_i", 1, [this] { return wl_req_ready_i.read(); });
  v.add_u64(s, "wl_rd_valid_i", 1, [this] { return wl_rd_valid_i.read(); });
  v.add_u64(s, "wl_arrive_i", 1, [this] { return wl_arrive_i.read(); });
  // the RTL's packed per-MXU vectors, MXU m at bit m
  auto bits = [this](sc_core::sc_vector<sc_core::sc_out<bool>>* vec) {
    return [this, vec] {
      uint64_t b = 0;
      for (uint32_t m = 0; m < Mxus; ++m) b |= uint64_t((*vec)[m].read()) << m;
      return b;
    };
  };
  v.add_u64(s, "fifo_alloc_o", Mxus, bits(&fifo_alloc_o));
  v.add_u64(s, "fifo_wr_en_o", Mxus, bits(&fifo_wr_en_o));
  v.add_u64(s, "fifo_wr_addr_o", fifo_addr_bits_, [this] { return fifo_wr_addr_o.read(); });
  v.add_u64(s, "fifo_arrive_o", Mxus, bits(&fifo_arrive_o));
}

}  // namespace tpusim::sc
