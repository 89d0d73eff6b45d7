// weight_memory: SystemC twin of rtl/tb/weight_memory.v, the test bench's weight side of the
// weight link: weight memory (rows of Cols bytes; grown with what is loaded, so tpu-v1's 8 GiB
// is not allocated, while WeightTiles still sets the address width as in the RTL) and the link's
// timing (TileXferCycles of occupancy per tile, arrival TileXferCycles + WeightLatency after the
// request), behind the DMA's weight link interface, with its back door.
#pragma once

#include <cstdint>
#include <vector>

#include <systemc>

#include "sim/engines/cycle/bits.h"
#include "sim/engines/cycle/vcd.h"

namespace tpusim::sc {

class weight_memory : public sc_core::sc_module {
 public:
  sc_core::sc_in<bool> clk_i, rst_ni;
  sc_core::sc_in<bool> wl_req_valid_i;
  sc_core::sc_out<bool> wl_req_ready_o;
  sc_core::sc_in<uint32_t> wl_req_row_i;
  sc_core::sc_out<bool> wl_rd_valid_o;
  sc_core::sc_out<Bits> wl_rd_data_o;
  sc_core::sc_out<bool> wl_arrive_o;
  sc_core::sc_in<bool> bd_we_i;
  sc_core::sc_in<uint32_t> bd_addr_i;
  sc_core::sc_in<Bits> bd_wdata_i;

  SC_HAS_PROCESS(weight_memory);
  // Throws std::invalid_argument outside what the chip's DMA needs of the link (the RTL
  // model's elaboration checks).
  weight_memory(sc_core::sc_module_name name, uint32_t Rows, uint32_t Cols, uint64_t WeightTiles,
                uint32_t Depth, uint32_t ClockMhz, uint64_t WeightBwMbS, uint32_t WeightLatency);

  // Engine back door (equivalent to the bd_* port while the core is in reset).
  void load_rows(uint64_t first_row, const int8_t* data, uint64_t rows);
  void trace(Vcd& vcd, const std::string& scope);

 private:
  void seq();
  void comb();
  sc_core::sc_event state_ev_;
  const uint8_t* row(uint64_t r) const;

  const uint32_t Rows, Cols;
  const uint64_t WeightTiles;
  const uint32_t Depth;
  uint32_t tile_xfer_cycles_, arrive_cycles_, row_cnt_bits_;
  uint64_t addr_mask_;
  std::vector<uint8_t> mem_;  // rows of Cols bytes, grown on load
  std::vector<uint8_t> zero_row_;

  bool rd_valid_q_ = false;
  uint32_t link_q_ = 0, rd_left_q_ = 0;
  uint64_t rd_row_q_ = 0;
  std::vector<uint32_t> cnt_q_;
  std::vector<bool> valid_q_;
  uint32_t wp_q_ = 0, rp_q_ = 0;
  Bits rd_data_q_;
};

}  // namespace tpusim::sc
