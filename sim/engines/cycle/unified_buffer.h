// unified_buffer: SystemC twin of rtl/unified_buffer.v (UbVectors x VecBytes, a registered read
// port per MXU (element m of mxu_addr_i / mxu_rdata_o: the RTL's field m), a DMA port (write,
// or a registered read), an activation write port). Every output is a register, written by seq().
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
  sc_core::sc_vector<sc_core::sc_in<uint32_t>> mxu_addr_i{"mxu_addr_i"};
  sc_core::sc_vector<sc_core::sc_out<Bits>> mxu_rdata_o{"mxu_rdata_o"};
  sc_core::sc_in<bool> dma_we_i;
  sc_core::sc_in<uint32_t> dma_addr_i;
  sc_core::sc_in<Bits> dma_wdata_i;
  sc_core::sc_out<Bits> dma_rdata_o;
  sc_core::sc_in<bool> act_we_i;
  sc_core::sc_in<uint32_t> act_addr_i;
  sc_core::sc_in<Bits> act_wdata_i;

  SC_HAS_PROCESS(unified_buffer);
  unified_buffer(sc_core::sc_module_name name, uint32_t UbVectors, uint32_t VecBytes,
                 uint32_t Mxus);
  const uint8_t* vector(uint32_t v) const { return mem_.data() + uint64_t(v) * VecBytes; }
  void trace(Vcd& vcd, const std::string& scope);

 private:
  void seq();
  const uint32_t UbVectors, VecBytes, Mxus;
  std::vector<uint8_t> mem_;
  // per MXU read port: the register, and what skips reloading it with the same value
  struct ReadPort {
    Bits rdata_q;
    uint32_t last_addr = ~0u;
    bool row_written = true;
  };
  std::vector<ReadPort> rd_;
  Bits dma_rdata_q_;
};

}  // namespace tpusim::sc
