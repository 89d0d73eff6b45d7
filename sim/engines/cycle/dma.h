// dma: SystemC twin of rtl/dma.v, the chip's DMA engine: the host link (rhm/whm) and the weight
// link (rw, for every MXU) up to their request interfaces (hl_*, wl_*). The memories and the
// links' timing are the test bench's (host_memory.h, weight_memory.h). The RTL's per-MXU FIFO
// buses (bit or field m) are port vectors here, element m for MXU m's weight FIFO.
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
  sc_core::sc_out<bool> ub_re_o;  // a whm reads UB[ub_addr_o] (rtl/dma.v)
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
  // host link interface
  sc_core::sc_out<bool> hl_req_valid_o;
  sc_core::sc_in<bool> hl_req_ready_i;
  sc_core::sc_out<bool> hl_req_write_o;
  sc_core::sc_out<uint32_t> hl_req_addr_o, hl_req_len_o;
  sc_core::sc_in<bool> hl_rd_valid_i;
  sc_core::sc_in<Bits> hl_rd_data_i;
  sc_core::sc_out<bool> hl_wr_valid_o;
  sc_core::sc_in<bool> hl_wr_ready_i;
  sc_core::sc_out<Bits> hl_wr_data_o;
  sc_core::sc_in<bool> hl_done_i;
  // weight link interface
  sc_core::sc_out<bool> wl_req_valid_o;
  sc_core::sc_in<bool> wl_req_ready_i;
  sc_core::sc_out<uint32_t> wl_req_row_o;
  sc_core::sc_in<bool> wl_rd_valid_i;
  sc_core::sc_in<Bits> wl_rd_data_i;
  sc_core::sc_in<bool> wl_arrive_i;

  SC_HAS_PROCESS(dma);
  dma(sc_core::sc_module_name name, uint32_t Rows, uint32_t Cols, uint32_t VecBytes,
      uint32_t UbVectors, uint32_t FifoTiles, uint32_t Mxus);

  void trace(Vcd& vcd, const std::string& scope);

 private:
  void seq();
  void comb();
  // seq() updates registers only; comb() alone drives the outputs (one writer per signal),
  // woken by this event after every register update.
  sc_core::sc_event state_ev_;

  const uint32_t Rows, Cols, VecBytes, UbVectors, FifoTiles, Mxus;
  uint32_t ub_bits_, slot_bits_, fifo_addr_bits_, mxu_bits_, arr_depth_;

  bool h_active_q_ = false, wr_beat_q_ = false;
  uint32_t rd_left_q_ = 0, rd_ub_q_ = 0, wb_ub_q_ = 0;
  uint32_t w_left_q_ = 0, w_next_q_ = 0, w_mxu_q_ = 0, copy_mxu_q_ = 0, copy_dst_q_ = 0;
  std::vector<uint32_t> arr_mxu_q_;
  std::vector<bool> arr_last_q_;
  uint32_t arr_wp_q_ = 0, arr_rp_q_ = 0;
};

}  // namespace tpusim::sc
