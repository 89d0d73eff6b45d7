// dma: SystemC twin of rtl/dma.v (host link rhm/whm with its credit counter, weight link rw
// for every MXU with per-tile arrival countdowns, host and weight memories with their back
// doors). The RTL's per-MXU FIFO buses (bit or field m) are port vectors here, element m for
// MXU m's weight FIFO.
// Host memory holds HostVectors vectors; weight memory grows with what is loaded (the
// WeightTiles parameter still sets the address width, as in the RTL), so tpu-v1's 8 GiB is
// not allocated.
#pragma once

#include <cstdint>
#include <vector>

#include <systemc>

#include "sim/engines/cycle/bits.h"
#include "sim/engines/cycle/vcd.h"

namespace tpusim::sc {

class dma : public sc_core::sc_module {
 public:
  sc_core::sc_in<bool> clk_i, rst_ni;
  sc_core::sc_in<bool> host_start_i, host_write_i;
  sc_core::sc_in<uint32_t> host_addr_i, host_ub_addr_i, host_n_i;
  sc_core::sc_out<bool> host_busy_o;
  sc_core::sc_out<bool> ub_we_o;
  sc_core::sc_out<uint32_t> ub_addr_o;
  sc_core::sc_out<Bits> ub_wdata_o;
  sc_core::sc_in<Bits> ub_rdata_i;
  sc_core::sc_in<bool> w_start_i;
  sc_core::sc_in<uint32_t> w_tile_i, w_n_i, w_mxu_i;
  sc_core::sc_out<bool> w_free_o, rw_done_o;
  sc_core::sc_vector<sc_core::sc_in<bool>> fifo_slot_free_i{"fifo_slot_free_i"};
  sc_core::sc_vector<sc_core::sc_in<uint32_t>> fifo_alloc_slot_i{"fifo_alloc_slot_i"};
  sc_core::sc_vector<sc_core::sc_out<bool>> fifo_alloc_o{"fifo_alloc_o"},
      fifo_wr_en_o{"fifo_wr_en_o"};
  sc_core::sc_out<uint32_t> fifo_wr_addr_o;
  sc_core::sc_out<Bits> fifo_wr_data_o;
  sc_core::sc_vector<sc_core::sc_out<bool>> fifo_arrive_o{"fifo_arrive_o"};
  sc_core::sc_in<bool> bd_host_we_i;
  sc_core::sc_in<uint32_t> bd_host_addr_i;
  sc_core::sc_in<Bits> bd_host_wdata_i;
  sc_core::sc_out<Bits> bd_host_rdata_o;
  sc_core::sc_in<bool> bd_wmem_we_i;
  sc_core::sc_in<uint32_t> bd_wmem_addr_i;
  sc_core::sc_in<Bits> bd_wmem_wdata_i;

  SC_HAS_PROCESS(dma);
  dma(sc_core::sc_module_name name, uint32_t Rows, uint32_t Cols, uint32_t VecBytes,
      uint32_t UbVectors, uint32_t FifoTiles, uint32_t Mxus, uint32_t HostVectors,
      uint64_t WeightTiles, uint32_t ClockMhz, uint64_t HostBwMbS, uint32_t HostLatency,
      uint64_t WeightBwMbS, uint32_t WeightLatency);

  // Engine back doors (equivalent to the bd_* ports while the core is in reset).
  uint8_t* host_vector(uint32_t v) { return host_mem_.data() + uint64_t(v) * VecBytes; }
  void load_weight_rows(uint64_t first_row, const int8_t* data, uint64_t rows);
  void trace(Vcd& vcd, const std::string& scope);

 private:
  void seq();
  void comb();
  // seq() updates registers only; comb() alone drives the outputs (one writer per signal),
  // woken by this event after every register update.
  sc_core::sc_event state_ev_;
  const uint8_t* wmem_row(uint64_t row) const;

  const uint32_t Rows, Cols, VecBytes, UbVectors, FifoTiles, Mxus, HostVectors;
  const uint64_t WeightTiles;
  const uint32_t ClockMhz;
  const uint64_t HostBwMbS;
  const uint32_t HostLatency;
  const uint64_t WeightBwMbS;
  const uint32_t WeightLatency;
  uint32_t ub_bits_, host_bits_, wm_bits_, slot_bits_, fifo_addr_bits_, row_cnt_bits_, mxu_bits_;
  uint32_t tile_xfer_cycles_, arrive_cycles_, arr_depth_;

  std::vector<uint8_t> host_mem_;
  std::vector<uint8_t> weight_mem_;  // rows of Cols bytes, grown on load
  std::vector<uint8_t> zero_row_;

  bool h_active_q_ = false;
  uint32_t h_lat_q_ = 0;
  uint64_t h_credit_q_ = 0, h_target_q_ = 0;
  uint32_t mv_left_q_ = 0, mv_host_q_ = 0, mv_ub_q_ = 0;
  bool mv_write_q_ = false;
  uint32_t w_left_q_ = 0, w_next_q_ = 0, w_mxu_q_ = 0, link_q_ = 0, copy_left_q_ = 0;
  uint64_t copy_src_q_ = 0;
  uint32_t copy_dst_q_ = 0;
  std::vector<uint32_t> arr_cnt_q_, arr_mxu_q_;
  std::vector<bool> arr_valid_q_, arr_last_q_;
  uint32_t arr_wp_q_ = 0, arr_rp_q_ = 0;
  Bits tmp_vec_, tmp_row_;
};

}  // namespace tpusim::sc
