// unified_buffer: SystemC twin of rtl/unified_buffer.v (UbVectors x VecBytes in banks of
// BankVecs = ceil(UbVectors / UbBanks) vectors, each a 1R1W memory with a registered, read-first
// read; readers: MXU m (element m of mxu_re_i / mxu_addr_i / mxu_rdata_o: the RTL's field m) and
// the DMA (dma_re_i), each given the read register of the bank it addressed in the previous
// cycle; writers: the DMA and the activation unit). Two units on one bank port in one cycle (the
// RTL's assertions) throw std::logic_error naming the bank and the units: the controller's bank
// interlock never lets them (sim/isa/ISA.md, "UB banks"). Every output is a register, written by
// seq().
#pragma once

#include <cstdint>
#include <vector>

#include <systemc>

#include "sim/engines/cycle/bits.h"
#include "sim/engines/cycle/vcd.h"

namespace tpusim::sc {

class unified_buffer : public sc_core::sc_module {
 public:
  sc_core::sc_in<bool> clk_i;
  sc_core::sc_vector<sc_core::sc_in<bool>> mxu_re_i{"mxu_re_i"};
  sc_core::sc_vector<sc_core::sc_in<uint32_t>> mxu_addr_i{"mxu_addr_i"};
  sc_core::sc_vector<sc_core::sc_out<Bits>> mxu_rdata_o{"mxu_rdata_o"};
  sc_core::sc_in<bool> dma_re_i;
  sc_core::sc_in<bool> dma_we_i;
  sc_core::sc_in<uint32_t> dma_addr_i;
  sc_core::sc_in<Bits> dma_wdata_i;
  sc_core::sc_out<Bits> dma_rdata_o;
  sc_core::sc_in<bool> act_we_i;
  sc_core::sc_in<uint32_t> act_addr_i;
  sc_core::sc_in<Bits> act_wdata_i;

  SC_HAS_PROCESS(unified_buffer);
  unified_buffer(sc_core::sc_module_name name, uint32_t UbVectors, uint32_t UbBanks,
                 uint32_t VecBytes, uint32_t Mxus);
  const uint8_t* vector(uint32_t v) const { return mem_.data() + uint64_t(v) * VecBytes; }
  void trace(Vcd& vcd, const std::string& scope);

 private:
  void seq();
  // the bank of vector a (< UbVectors; the last bank for an address past the UB, which only a
  // reader that reads nothing presents)
  uint32_t bank_of(uint32_t a) const { return a < UbVectors ? a / BankVecs : Banks - 1; }
  const uint32_t UbVectors, UbBanks, VecBytes, Mxus;
  const uint32_t BankVecs, Banks;  // the RTL's localparams
  // the banks back to back: bank b's row r is vector b * BankVecs + r, as its address
  std::vector<uint8_t> mem_;
  // bank b's read register (u_ram.rdata_o), VecBytes each, and the reader that loaded it at
  // this edge (kNoReader: none)
  static constexpr uint32_t kNoReader = ~0u;
  std::vector<uint8_t> bank_rdata_q_;
  std::vector<uint32_t> bank_reader_;
  // reader k (MXU k; the DMA at k = Mxus): the bank it addressed in the previous cycle
  // (rd_bank_q), its data (that bank's read register) and whether its port must be rewritten
  struct Reader {
    uint32_t rd_bank_q = 0;
    Bits rdata;
    bool dirty = true;
  };
  std::vector<Reader> rd_;
};

}  // namespace tpusim::sc
