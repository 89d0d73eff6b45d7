// weight_fifo: SystemC twin of rtl/weight_fifo.v (FifoTiles tile slots in Cols byte banks, the
// shift sequencer and the column skew of the shift).
#pragma once

#include <cstdint>
#include <vector>

#include <systemc>

#include "sim/engines/cycle/bits.h"
#include "sim/engines/cycle/vcd.h"

namespace tpusim::sc {

class weight_fifo : public sc_core::sc_module {
 public:
  sc_core::sc_in<bool> clk_i, rst_ni;
  sc_core::sc_out<bool> slot_free_o;
  sc_core::sc_out<uint32_t> alloc_slot_o;
  sc_core::sc_in<bool> alloc_i, wr_en_i;
  sc_core::sc_in<uint32_t> wr_addr_i;
  sc_core::sc_in<Bits> wr_data_i;
  sc_core::sc_in<bool> arrive_i, switch_i;
  sc_core::sc_out<bool> shadow_full_o, tile_arrived_o;
  sc_core::sc_out<Bits> weight_valid_o;  // Cols bits
  sc_core::sc_out<Bits> weight_sel_o;    // Cols words (the RTL packs RowBits per column)
  sc_core::sc_out<Bits> weight_o;        // Cols bytes

  SC_HAS_PROCESS(weight_fifo);
  weight_fifo(sc_core::sc_module_name name, uint32_t Rows, uint32_t Cols, uint32_t FifoTiles);
  void trace(Vcd& vcd, const std::string& scope);

 private:
  void seq();
  void comb();
  // The sequencer's combinational signals (stage 0 of the column skew) for this cycle.
  struct Stage0 {
    bool head_ready, shift_start, shift_on, shift_end;
    uint32_t shift_row, addr;
  };
  Stage0 stage0(bool arrive) const;
  // seq() updates registers only; comb() alone drives the outputs (one writer per signal),
  // woken by this event after every register update.
  sc_core::sc_event state_ev_;

  const uint32_t Rows, Cols, FifoTiles;
  uint32_t slot_bits_, addr_bits_, row_bits_;
  std::vector<uint8_t> mem_;  // FifoTiles * Rows rows of Cols bytes (bank c = byte c of a row)
  uint32_t tail_q_ = 0, head_q_ = 0, held_q_ = 0, arrived_q_ = 0;
  bool shifting_q_ = false;
  uint32_t shift_row_q_ = 0;
  bool shadow_full_q_ = false;
  // skew registers of columns 1 .. Cols-1 (index 0 unused: stage 0 is combinational)
  std::vector<uint8_t> valid_q_;
  std::vector<uint32_t> row_q_, addr_q_;
  uint32_t live_q_ = 0;  // how many valid_q_ are set
  Bits valid_, sel_, data_;
};

}  // namespace tpusim::sc
