// accumulators: SystemC twin of rtl/accumulators.v (AccEntries x Cols int32 shared by every MXU
// in 2 x Mxus banks of acc_bank_rows rows, each a 1R1W memory with a registered, write-through
// read; one write stage per MXU with overwrite / accumulate, its read-modify-write read one cycle
// ahead, and its mmc-done pulse; the activation unit's registered read). The RTL's per-MXU buses
// (bit or field m) are port vectors here, element m for MXU m. Two units on one bank port in one
// cycle (the RTL's assertion) throw std::logic_error: validated programs never do it.
#pragma once

#include <cstdint>
#include <vector>

#include <systemc>

#include "sim/engines/cycle/bits.h"
#include "sim/engines/cycle/vcd.h"

namespace tpusim::sc {

class accumulators : public sc_core::sc_module {
 public:
  sc_core::sc_in<bool> clk_i, rst_ni;
  sc_core::sc_vector<sc_core::sc_in<bool>> wr_valid_i{"wr_valid_i"},
      wr_accumulate_i{"wr_accumulate_i"}, wr_last_i{"wr_last_i"};
  sc_core::sc_vector<sc_core::sc_in<uint32_t>> wr_addr_i{"wr_addr_i"};
  sc_core::sc_vector<sc_core::sc_in<Bits>> wr_data_i{"wr_data_i"};  // Cols x int32 each
  sc_core::sc_vector<sc_core::sc_out<bool>> mmc_done_o{"mmc_done_o"};
  sc_core::sc_in<bool> rd_en_i;
  sc_core::sc_in<uint32_t> rd_addr_i;
  sc_core::sc_out<Bits> rd_data_o;

  SC_HAS_PROCESS(accumulators);
  accumulators(sc_core::sc_module_name name, uint32_t AccEntries, uint32_t Cols, uint32_t Mxus);
  const uint32_t* row(uint32_t r) const { return mem_.data() + uint64_t(r) * Cols; }
  void trace(Vcd& vcd, const std::string& scope);

 private:
  void seq();
  const uint32_t AccEntries, Cols, Mxus;
  const uint32_t BankRows, AccBanks;  // the RTL's localparams
  // the banks back to back: bank b's row r is row b * BankRows + r, as its address
  std::vector<uint32_t> mem_;
  // bank b's read register (u_ram.rdata_o), Cols words each, and whether this edge loaded it
  std::vector<uint32_t> bank_rdata_q_;
  std::vector<bool> bank_loaded_;
  uint32_t rd_bank_q_ = 0;
  std::vector<uint32_t> rmw_rows_;  // per MXU: the row its read-modify-write reads this edge
  // write stage register m (MXU m's port)
  struct WriteStage {
    bool wr_valid_q = false, wr_accumulate_q = false, wr_last_q = false;
    uint32_t wr_addr_q = 0;
    Bits wr_data_q;
  };
  std::vector<WriteStage> ws_;
  Bits rd_data_q_;
  bool rd_data_dirty_ = true;
};

}  // namespace tpusim::sc
