#include "sim/engines/cycle/dma.h"

#include <algorithm>
#include <cstring>

namespace tpusim::sc {

dma::dma(sc_core::sc_module_name name, uint32_t Rows_, uint32_t Cols_, uint32_t VecBytes_,
         uint32_t UbVectors_, uint32_t FifoTiles_, uint32_t Mxus_, uint32_t HostVectors_,
         uint64_t WeightTiles_, uint32_t ClockMhz_, uint64_t HostBwMbS_, uint32_t HostLatency_,
         uint64_t WeightBwMbS_, uint32_t WeightLatency_)
    : sc_core::sc_module(name),
      Rows(Rows_),
      Cols(Cols_),
      VecBytes(VecBytes_),
      UbVectors(UbVectors_),
      FifoTiles(FifoTiles_),
      Mxus(Mxus_),
      HostVectors(HostVectors_),
      WeightTiles(WeightTiles_),
      ClockMhz(ClockMhz_),
      HostBwMbS(HostBwMbS_),
      HostLatency(HostLatency_),
      WeightBwMbS(WeightBwMbS_),
      WeightLatency(WeightLatency_) {
  fifo_slot_free_i.init(Mxus);
  fifo_alloc_slot_i.init(Mxus);
  fifo_alloc_o.init(Mxus);
  fifo_wr_en_o.init(Mxus);
  fifo_arrive_o.init(Mxus);
  ub_bits_ = clog2(UbVectors);
  host_bits_ = clog2(HostVectors);
  wm_bits_ = clog2(WeightTiles * Rows);
  slot_bits_ = FifoTiles > 1 ? clog2(FifoTiles) : 1;
  fifo_addr_bits_ = clog2(uint64_t(FifoTiles) * Rows);
  row_cnt_bits_ = clog2(uint64_t(Rows) + 1);
  mxu_bits_ = Mxus > 1 ? clog2(Mxus) : 1;
  arr_depth_ = Mxus * FifoTiles;  // tiles in flight: each holds a slot
  // ceil(tile bytes * clock / bandwidth), at least 1 (rtl/dma.v TileXferCycles)
  const uint64_t num = uint64_t(Rows) * Cols * ClockMhz;
  const uint64_t raw = (num + WeightBwMbS - 1) / WeightBwMbS;
  tile_xfer_cycles_ = uint32_t(raw < 1 ? 1 : raw);
  arrive_cycles_ = tile_xfer_cycles_ + WeightLatency;
  host_mem_.assign(uint64_t(HostVectors) * VecBytes, 0);
  zero_row_.assign(Cols, 0);
  arr_cnt_q_.assign(arr_depth_, 0);
  arr_mxu_q_.assign(arr_depth_, 0);
  arr_valid_q_.assign(arr_depth_, false);
  arr_last_q_.assign(arr_depth_, false);
  tmp_vec_ = Bits(VecBytes * 8);
  tmp_row_ = Bits(Cols * 8);
  SC_METHOD(seq);
  sensitive << clk_i.pos() << rst_ni.neg();
  dont_initialize();
  SC_METHOD(comb);
  sensitive << state_ev_ << host_start_i << host_write_i << host_addr_i << host_ub_addr_i
            << host_n_i << w_start_i << w_tile_i << w_n_i << w_mxu_i << bd_host_addr_i;
  for (uint32_t m = 0; m < Mxus; ++m) sensitive << fifo_slot_free_i[m] << fifo_alloc_slot_i[m];
}

void dma::load_weight_rows(uint64_t first_row, const int8_t* data, uint64_t rows) {
  const uint64_t end = (first_row + rows) * Cols;
  if (weight_mem_.size() < end) weight_mem_.resize(end, 0);
  std::memcpy(weight_mem_.data() + first_row * Cols, data, rows * Cols);
}

const uint8_t* dma::wmem_row(uint64_t row) const {
  const uint64_t off = row * Cols;
  return off + Cols <= weight_mem_.size() ? weight_mem_.data() + off : zero_row_.data();
}

void dma::seq() {
  const bool edge = clk_i.posedge();
  const bool rst = !rst_ni.read();
  // combinational values of the cycle that ends at this edge
  const bool host_start = host_start_i.read();
  const bool mv_on = host_start || mv_left_q_ != 0;
  const bool mv_write = host_start ? host_write_i.read() : mv_write_q_;
  const uint32_t mv_host = host_start ? host_addr_i.read() : mv_host_q_;
  const uint32_t mv_ub = host_start ? host_ub_addr_i.read() : mv_ub_q_;
  const uint32_t mv_left = host_start ? host_n_i.read() : mv_left_q_;
  const bool h_done = h_lat_q_ == 0 && h_credit_q_ >= h_target_q_;
  const bool w_start = w_start_i.read();
  const bool w_pending = w_start || w_left_q_ != 0;
  const uint32_t w_left = w_start ? w_n_i.read() : w_left_q_;
  const uint32_t w_tile = w_start ? w_tile_i.read() : w_next_q_;
  const uint32_t w_mxu = w_start ? w_mxu_i.read() : w_mxu_q_;
  const bool w_req = w_pending && link_q_ == 0 && w_mxu < Mxus && fifo_slot_free_i[w_mxu].read();
  const bool arrive = arr_valid_q_[arr_rp_q_] && arr_cnt_q_[arr_rp_q_] == 0;
  const uint64_t wm_mask = mask_bits(wm_bits_);
  const uint32_t fifo_mask = uint32_t(mask_bits(fifo_addr_bits_));
  const uint64_t req_src = uint64_t(uint32_t(w_tile * Rows)) & wm_mask;
  const uint32_t alloc_slot = w_mxu < Mxus ? fifo_alloc_slot_i[w_mxu].read() : 0;
  const uint32_t req_dst = uint32_t(alloc_slot * Rows) & fifo_mask;
  auto next_arr = [&](uint32_t s) { return s == arr_depth_ - 1 ? 0u : s + 1; };

  if (edge) {
    const uint32_t host_mask = uint32_t(mask_bits(host_bits_));
    if (mv_on && mv_write)
      std::memcpy(host_mem_.data() + uint64_t(mv_host & host_mask) * VecBytes,
                  ub_rdata_i.read().bytes(), VecBytes);
    if (bd_host_we_i.read())
      std::memcpy(host_mem_.data() + uint64_t(bd_host_addr_i.read() & host_mask) * VecBytes,
                  bd_host_wdata_i.read().bytes(), VecBytes);
    if (bd_wmem_we_i.read()) {
      const uint64_t row = bd_wmem_addr_i.read() & wm_mask;
      load_weight_rows(row, reinterpret_cast<const int8_t*>(bd_wmem_wdata_i.read().bytes()), 1);
    }
  }
  if (rst) {
    h_active_q_ = false;
    h_lat_q_ = 0;
    h_credit_q_ = h_target_q_ = 0;
    mv_left_q_ = mv_host_q_ = mv_ub_q_ = 0;
    mv_write_q_ = false;
    w_left_q_ = w_next_q_ = w_mxu_q_ = link_q_ = copy_left_q_ = 0;
    copy_src_q_ = 0;
    copy_dst_q_ = 0;
    std::fill(arr_valid_q_.begin(), arr_valid_q_.end(), false);
    std::fill(arr_last_q_.begin(), arr_last_q_.end(), false);
    std::fill(arr_cnt_q_.begin(), arr_cnt_q_.end(), 0u);
    std::fill(arr_mxu_q_.begin(), arr_mxu_q_.end(), 0u);
    arr_wp_q_ = arr_rp_q_ = 0;
  } else if (edge) {
    if (host_start) {
      h_active_q_ = true;
      h_target_q_ = uint64_t(host_n_i.read()) * VecBytes * ClockMhz;
      if (HostLatency != 0) {
        h_lat_q_ = HostLatency - 1;
        h_credit_q_ = 0;
      } else {
        h_lat_q_ = 0;
        h_credit_q_ = HostBwMbS;
      }
    } else if (h_active_q_) {
      if (h_done)
        h_active_q_ = false;
      else if (h_lat_q_ != 0)
        --h_lat_q_;
      else
        h_credit_q_ += HostBwMbS;
    }
    mv_left_q_ = mv_left - (mv_on ? 1 : 0);
    mv_host_q_ = mv_host + 1;
    mv_ub_q_ = mv_ub + 1;
    mv_write_q_ = mv_write;

    w_left_q_ = w_left - (w_req ? 1 : 0);
    w_next_q_ = w_tile + (w_req ? 1 : 0);
    w_mxu_q_ = w_mxu;
    for (uint32_t i = 0; i < arr_depth_; ++i)
      if (arr_valid_q_[i] && arr_cnt_q_[i] != 0) --arr_cnt_q_[i];
    const uint32_t rp = arr_rp_q_, wp = arr_wp_q_;
    if (arrive) {
      arr_valid_q_[rp] = false;
      arr_rp_q_ = next_arr(rp);
    }
    if (w_req) {
      link_q_ = tile_xfer_cycles_ - 1;
      arr_cnt_q_[wp] = arrive_cycles_ - 1;
      arr_mxu_q_[wp] = w_mxu;
      arr_valid_q_[wp] = true;
      arr_last_q_[wp] = w_left == 1;
      arr_wp_q_ = next_arr(wp);
      copy_left_q_ = uint32_t((Rows - 1) & mask_bits(row_cnt_bits_));
      copy_src_q_ = (req_src + 1) & wm_mask;
      copy_dst_q_ = (req_dst + 1) & fifo_mask;
    } else {
      if (link_q_ != 0) --link_q_;
      if (copy_left_q_ != 0) {
        --copy_left_q_;
        copy_src_q_ = (copy_src_q_ + 1) & wm_mask;
        copy_dst_q_ = (copy_dst_q_ + 1) & fifo_mask;
      }
    }
  }
  state_ev_.notify();
}

void dma::comb() {
  const bool host_start = host_start_i.read();
  const bool h_done = h_lat_q_ == 0 && h_credit_q_ >= h_target_q_;
  host_busy_o.write(h_active_q_ && !h_done);
  const bool mv_on = host_start || mv_left_q_ != 0;
  const bool mv_write = host_start ? host_write_i.read() : mv_write_q_;
  const uint32_t mv_host = host_start ? host_addr_i.read() : mv_host_q_;
  const uint32_t mv_ub = host_start ? host_ub_addr_i.read() : mv_ub_q_;
  const uint32_t host_mask = uint32_t(mask_bits(host_bits_));
  ub_we_o.write(mv_on && !mv_write);
  ub_addr_o.write(mv_ub & uint32_t(mask_bits(ub_bits_)));
  std::memcpy(tmp_vec_.bytes(), host_mem_.data() + uint64_t(mv_host & host_mask) * VecBytes,
              VecBytes);
  ub_wdata_o.write(tmp_vec_);
  std::memcpy(tmp_vec_.bytes(),
              host_mem_.data() + uint64_t(bd_host_addr_i.read() & host_mask) * VecBytes, VecBytes);
  bd_host_rdata_o.write(tmp_vec_);

  const bool w_start = w_start_i.read();
  const bool w_pending = w_start || w_left_q_ != 0;
  const uint32_t w_tile = w_start ? w_tile_i.read() : w_next_q_;
  const uint32_t w_mxu = w_start ? w_mxu_i.read() : w_mxu_q_;
  const bool w_req = w_pending && link_q_ == 0 && w_mxu < Mxus && fifo_slot_free_i[w_mxu].read();
  const bool arrive = arr_valid_q_[arr_rp_q_] && arr_cnt_q_[arr_rp_q_] == 0;
  const uint64_t wm_mask = mask_bits(wm_bits_);
  const uint64_t req_src = uint64_t(uint32_t(w_tile * Rows)) & wm_mask;
  const uint32_t alloc_slot = w_mxu < Mxus ? fifo_alloc_slot_i[w_mxu].read() : 0;
  const uint32_t req_dst = uint32_t(alloc_slot * Rows) & uint32_t(mask_bits(fifo_addr_bits_));
  // the copy ends before the link is free, so no rw starts during one: w_mxu names its FIFO
  const bool copying = w_req || copy_left_q_ != 0;
  w_free_o.write(w_left_q_ == 0 && link_q_ == 0);
  rw_done_o.write(arrive && arr_last_q_[arr_rp_q_]);
  for (uint32_t m = 0; m < Mxus; ++m) {
    fifo_alloc_o[m].write(w_req && w_mxu == m);
    fifo_arrive_o[m].write(arrive && arr_mxu_q_[arr_rp_q_] == m);
    fifo_wr_en_o[m].write(copying && w_mxu == m);
  }
  fifo_wr_addr_o.write(w_req ? req_dst : copy_dst_q_);
  std::memcpy(tmp_row_.bytes(), wmem_row(w_req ? req_src : copy_src_q_), Cols);
  fifo_wr_data_o.write(tmp_row_);
}

void dma::trace(Vcd& v, const std::string& s) {
  v.add_u64(s, "host_busy_o", 1, [this] { return host_busy_o.read(); });
  v.add_u64(s, "h_active_q", 1, [this] { return h_active_q_; });
  v.add_u64(s, "h_lat_q", 32, [this] { return h_lat_q_; });
  v.add_u64(s, "h_credit_q", 64, [this] { return h_credit_q_; });
  v.add_u64(s, "h_target_q", 64, [this] { return h_target_q_; });
  v.add_u64(s, "mv_left_q", 32, [this] { return mv_left_q_; });
  v.add_u64(s, "ub_we_o", 1, [this] { return ub_we_o.read(); });
  v.add_u64(s, "ub_addr_o", ub_bits_, [this] { return ub_addr_o.read(); });
  v.add_u64(s, "w_free_o", 1, [this] { return w_free_o.read(); });
  v.add_u64(s, "rw_done_o", 1, [this] { return rw_done_o.read(); });
  v.add_u64(s, "w_left_q", 32, [this] { return w_left_q_; });
  v.add_u64(s, "link_q", 32, [this] { return link_q_; });
  v.add_u64(s, "w_mxu_q", mxu_bits_, [this] { return w_mxu_q_; });
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
