// weight_fifo: SystemC twin of rtl/weight_fifo.v (one MXU's FifoTiles tile slots in Cols byte
// banks, ShiftPorts shift sequencers and the column skew of each port's shift).
// The RTL reads each bank through a synchronous 1R1W memory (rtl/prim/prim_ram_1r1w.v) at the
// address its column uses one cycle later, write-through, one copy per shift port; the twin reads
// one bank at the current address after the edge's write, which is the same value in every
// cycle a lane is valid (lockstep campaigns compare every port of tpu_top at every edge).
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
  // lane l = p * Cols + c: port p's bus of column c (port-major, as the RTL)
  sc_core::sc_out<Bits> weight_valid_o;  // ShiftPorts * Cols bits
  sc_core::sc_out<Bits> weight_sel_o;    // ShiftPorts * Cols words (the RTL packs RowBits each)
  sc_core::sc_out<Bits> weight_o;        // ShiftPorts * Cols bytes

  SC_HAS_PROCESS(weight_fifo);
  weight_fifo(sc_core::sc_module_name name, uint32_t Rows, uint32_t Cols, uint32_t FifoTiles,
              uint32_t ShiftPorts, uint32_t BusRows);
  void trace(Vcd& vcd, const std::string& scope);

 private:
  void seq();
  void comb();
  // A sequencer's combinational signals (stage 0 of its column skew) for this cycle.
  struct Stage0 {
    bool start, on, end;
    uint32_t row, slot, addr;
  };
  // Whether a shift starts this cycle; fills `ports` with each port's stage 0.
  bool stage0(bool arrive, std::vector<Stage0>& ports) const;
  // seq() updates registers only; comb() alone drives the outputs (one writer per signal),
  // woken by this event after every register update.
  sc_core::sc_event state_ev_;

  const uint32_t Rows, Cols, FifoTiles, ShiftPorts, BusRows;
  // bus stages on the way to the last row (timing::weight_bus_stages), the ready counter's width
  uint32_t bus_stages_, ready_bits_;
  uint32_t slot_bits_, addr_bits_, row_bits_, port_bits_;
  std::vector<uint8_t> mem_;  // FifoTiles * Rows rows of Cols bytes (bank c = byte c of a row)
  uint32_t tail_q_ = 0, head_q_ = 0, held_q_ = 0, arrived_q_ = 0, port_q_ = 0;
  bool shadow_full_q_ = false;
  // cycles until the shift has reached the last row's bus segment (ready_cnt_q of the RTL)
  uint32_t ready_cnt_q_ = 0;
  // gen_port[p]: the sequencer registers
  struct Port {
    bool shifting_q = false;
    uint32_t shift_row_q = 0, slot_q = 0;
  };
  std::vector<Port> port_;
  // skew registers of lanes p * Cols + c, c = 1 .. Cols-1 (c = 0 unused: stage 0 is
  // combinational)
  std::vector<uint8_t> valid_q_;
  std::vector<uint32_t> row_q_, addr_q_;
  std::vector<uint32_t> live_q_;  // per port: how many of its valid_q_ are set
  std::vector<Stage0> s0_;
  Bits valid_, sel_, data_;
};

}  // namespace tpusim::sc
