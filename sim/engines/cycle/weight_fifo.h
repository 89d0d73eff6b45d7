// weight_fifo: SystemC twin of rtl/weight_fifo.v (FifoTiles tile slots and the shift sequencer:
// slot life, shift start, guard).
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
  sc_core::sc_out<Bits> weight_row_we_o;  // Rows bits, one-hot
  sc_core::sc_out<Bits> weight_row_o;     // Cols bytes

  SC_HAS_PROCESS(weight_fifo);
  weight_fifo(sc_core::sc_module_name name, uint32_t Rows, uint32_t Cols, uint32_t FifoTiles);
  void trace(Vcd& vcd, const std::string& scope);

 private:
  void seq();
  void comb();
  // seq() updates registers only; comb() alone drives the outputs (one writer per signal),
  // woken by this event after every register update.
  sc_core::sc_event state_ev_;

  const uint32_t Rows, Cols, FifoTiles;
  uint32_t slot_bits_, addr_bits_, row_bits_;
  std::vector<uint8_t> mem_;  // FifoTiles * Rows rows of Cols bytes
  uint32_t tail_q_ = 0, head_q_ = 0, held_q_ = 0, arrived_q_ = 0;
  bool shifting_q_ = false;
  uint32_t shift_row_q_ = 0;
  bool shadow_full_q_ = false;
  uint32_t guard_q_ = 0;
  Bits we_, row_;
};

}  // namespace tpusim::sc
