// systolic_array: SystemC twin of rtl/systolic_array.v (Rows x Cols PEs, input skew, output
// de-skew, valid/tag delay line, column-wise shadow write from ShiftPorts weight buses per
// column, each registered every BusRows rows).
//
// One clocked process advances the whole mesh per rising edge, row by row with vectorized
// loops over the columns (pe.h holds the PE's next-state functions, pe.cpp their row forms).
// A row whose switch registers are all zero skips the switch shift and blend (it is the same
// update: no PE of the row changes its active weight). The skew and de-skew
// registers are kept as histories (ring buffers) of the array input and of the bottom row: row
// r's skew output is the input of r edges ago, column c's de-skewed output the bottom value of
// Cols - 1 - c edges ago, which is what the RTL's shift registers hold.
//
// A mesh whose inputs have not changed for Rows + Cols + 1 edges (same act_i, no switch in
// flight) is at its fixed point: every register would reload its own value. The update is
// then skipped, with identical register contents (only shadow writes are applied).
//
// The weight buses' pipeline registers (segment j = rows [j BusRows, (j + 1) BusRows) sees a
// lane's bus j edges late) are kept as pending shadow writes: a bus value for row i is applied
// floor(i / BusRows) edges after it appears, which is what the RTL's segment decoders do.
#pragma once

#include <cstdint>
#include <vector>

#include <systemc>

#include "sim/engines/cycle/bits.h"
#include "sim/engines/cycle/vcd.h"

namespace tpusim::sc {

class systolic_array : public sc_core::sc_module {
 public:
  sc_core::sc_in<bool> clk_i, rst_ni;
  sc_core::sc_in<bool> valid_i, switch_i;
  sc_core::sc_in<uint32_t> tag_i;
  // act_i: the Rows lanes of the array's input row (tpu_top binds mxu_act[m]: the UB's read data
  // for MXU m, or MXU m - 1's row for a chain mmc; lanes past Rows, if any, are ignored here).
  sc_core::sc_in<Bits> act_i;
  sc_core::sc_out<bool> valid_o;
  sc_core::sc_out<uint32_t> tag_o;
  sc_core::sc_out<Bits> psum_o;  // Cols x int32
  // weight buses, lane l = p * Cols + c: port p's bus of column c (as rtl/weight_fifo.v)
  sc_core::sc_in<Bits> weight_valid_i;  // ShiftPorts * Cols bits
  sc_core::sc_in<Bits> weight_sel_i;    // ShiftPorts * Cols words: the row lane l writes
  sc_core::sc_in<Bits> weight_i;        // ShiftPorts * Cols bytes

  SC_HAS_PROCESS(systolic_array);
  systolic_array(sc_core::sc_module_name name, uint32_t Rows, uint32_t Cols, uint32_t TagBits,
                 uint32_t ShiftPorts, uint32_t BusRows);
  void trace(Vcd& vcd, const std::string& scope);

 private:
  void seq();
  void outputs();
  void reset_async();

  const uint32_t Rows, Cols, TagBits, ShiftPorts, BusRows, Depth, Segs;
  // shadow writes still on a weight bus: pend_[(pend_pos_ + d) % Segs] lands d edges from now
  struct ShadowWrite {
    uint32_t pe;  // r * Cols + c
    int8_t value;
  };
  std::vector<std::vector<ShadowWrite>> pend_;
  uint32_t pend_pos_ = 0;
  // mesh registers, row-major [r * Cols + c]
  std::vector<int8_t> act_, active_, shadow_;
  std::vector<uint8_t> sw_;
  std::vector<int32_t> psum_;
  // input history (skew registers): Rows entries of Rows lanes + switch bit
  std::vector<int8_t> hin_act_;
  std::vector<uint8_t> hin_sw_;
  uint32_t hin_pos_ = 0;
  // bottom-row history (de-skew registers): Cols entries of Cols words
  std::vector<int32_t> hb_;
  uint32_t hb_pos_ = 0;
  // valid / tag delay line
  std::vector<uint8_t> vring_;
  std::vector<uint32_t> tring_;
  uint32_t vhead_ = 0;
  // fixed-point detection
  std::vector<int8_t> last_act_in_;
  uint64_t quiet_ = 0, switch_age_ = 0;
  std::vector<int8_t> act_in_col0_;
  std::vector<uint8_t> sw_in_col0_;
  std::vector<uint32_t> sw_set_;   // per row: how many switch registers hold 1
  std::vector<int32_t> zero_row_;  // psum_i of row 0
  Bits psum_out_;
};

}  // namespace tpusim::sc
