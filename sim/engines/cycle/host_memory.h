// host_memory: SystemC twin of rtl/tb/host_memory.v, the test bench's host side of the host
// link: host memory (HostVectors vectors) and the link's timing (latency, then a credit counter
// of HostBwMbS per cycle), behind the DMA's host link interface, with its back door.
#pragma once

#include <cstdint>
#include <vector>

#include <systemc>

#include "sim/engines/cycle/bits.h"
#include "sim/engines/cycle/vcd.h"

namespace tpusim::sc {

class host_memory : public sc_core::sc_module {
 public:
  sc_core::sc_in<bool> clk_i, rst_ni;
  sc_core::sc_in<bool> hl_req_valid_i;
  sc_core::sc_out<bool> hl_req_ready_o;
  sc_core::sc_in<bool> hl_req_write_i;
  sc_core::sc_in<uint32_t> hl_req_addr_i, hl_req_len_i;
  sc_core::sc_out<bool> hl_rd_valid_o;
  sc_core::sc_out<Bits> hl_rd_data_o;
  sc_core::sc_in<bool> hl_wr_valid_i;
  sc_core::sc_out<bool> hl_wr_ready_o;
  sc_core::sc_in<Bits> hl_wr_data_i;
  sc_core::sc_out<bool> hl_done_o;
  sc_core::sc_in<bool> bd_we_i;
  sc_core::sc_in<uint32_t> bd_addr_i;
  sc_core::sc_in<Bits> bd_wdata_i;
  sc_core::sc_out<Bits> bd_rdata_o;

  SC_HAS_PROCESS(host_memory);
  // Throws std::invalid_argument outside what the chip's DMA needs of the link (the RTL
  // model's elaboration checks).
  host_memory(sc_core::sc_module_name name, uint32_t VecBytes, uint32_t HostVectors,
              uint32_t ClockMhz, uint64_t HostBwMbS, uint32_t HostLatency);

  // Engine back door (equivalent to the bd_* port while the core is in reset or done).
  uint8_t* vector(uint32_t v) { return mem_.data() + uint64_t(v) * VecBytes; }
  void trace(Vcd& vcd, const std::string& scope);

 private:
  void seq();
  void comb();
  sc_core::sc_event state_ev_;

  const uint32_t VecBytes, HostVectors, ClockMhz;
  const uint64_t HostBwMbS;
  const uint32_t HostLatency;
  uint32_t addr_mask_;
  std::vector<uint8_t> mem_;

  bool active_q_ = false, rd_valid_q_ = false;
  uint32_t lat_q_ = 0, rd_left_q_ = 0, rd_addr_q_ = 0, wr_addr_q_ = 0;
  uint64_t credit_q_ = 0, target_q_ = 0;
  Bits rd_data_q_, tmp_;
};

}  // namespace tpusim::sc
