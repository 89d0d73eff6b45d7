#include "sim/engines/cycle/host_memory.h"

#include <cstring>
#include <stdexcept>

#include "sim/isa/timing.h"

namespace tpusim::sc {

host_memory::host_memory(sc_core::sc_module_name name, uint32_t VecBytes_, uint32_t HostVectors_,
                         uint32_t ClockMhz_, uint64_t HostBwMbS_, uint32_t HostLatency_)
    : sc_core::sc_module(name),
      VecBytes(VecBytes_),
      HostVectors(HostVectors_),
      ClockMhz(ClockMhz_),
      HostBwMbS(HostBwMbS_),
      HostLatency(HostLatency_) {
  // rtl/tb/host_memory.v's elaboration checks: what the chip's DMA needs of the host side
  if (!timing::host_link_fits_dma(VecBytes, ClockMhz, HostBwMbS, HostLatency))
    throw std::invalid_argument(
        "host_memory: the host link moves more than one vector per cycle, or its latency is "
        "under 1 cycle (the chip's DMA needs neither, rtl/dma.v)");
  addr_mask_ = uint32_t(mask_bits(clog2(HostVectors)));
  mem_.assign(uint64_t(HostVectors) * VecBytes, 0);
  rd_data_q_ = Bits(VecBytes * 8);
  tmp_ = Bits(VecBytes * 8);
  SC_METHOD(seq);
  sensitive << clk_i.pos() << rst_ni.neg();
  dont_initialize();
  SC_METHOD(comb);
  sensitive << state_ev_ << bd_addr_i;
}

void host_memory::seq() {
  const bool edge = clk_i.posedge();
  const bool rst = !rst_ni.read();
  // combinational values of the cycle that ends at this edge
  const bool done = lat_q_ == 0 && credit_q_ >= target_q_;
  const bool take = hl_req_valid_i.read() && (!active_q_ || done);
  const bool write = hl_req_write_i.read();
  const uint32_t rd_left = take ? hl_req_len_i.read() : rd_left_q_;
  const bool rd_on = ((take && !write) || rd_left_q_ != 0) && rd_left != 0;
  const uint32_t rd_addr = take ? hl_req_addr_i.read() : rd_addr_q_;

  if (edge) {
    std::memcpy(rd_data_q_.bytes(), vector(rd_addr & addr_mask_), VecBytes);
    if (hl_wr_valid_i.read())
      std::memcpy(vector(wr_addr_q_ & addr_mask_), hl_wr_data_i.read().bytes(), VecBytes);
    if (bd_we_i.read())
      std::memcpy(vector(bd_addr_i.read() & addr_mask_), bd_wdata_i.read().bytes(), VecBytes);
  }
  if (rst) {
    active_q_ = rd_valid_q_ = false;
    lat_q_ = rd_left_q_ = rd_addr_q_ = wr_addr_q_ = 0;
    credit_q_ = target_q_ = 0;
  } else if (edge) {
    if (take) {
      // the request cycle is the first busy cycle: apply its step right away
      active_q_ = true;
      target_q_ = uint64_t(hl_req_len_i.read()) * VecBytes * ClockMhz;
      if (HostLatency != 0) {
        lat_q_ = HostLatency - 1;
        credit_q_ = 0;
      } else {
        lat_q_ = 0;
        credit_q_ = HostBwMbS;
      }
    } else if (active_q_) {
      if (done)
        active_q_ = false;
      else if (lat_q_ != 0)
        --lat_q_;
      else
        credit_q_ += HostBwMbS;
    }
    rd_left_q_ = rd_on ? rd_left - 1 : 0;
    rd_addr_q_ = rd_addr + 1;
    rd_valid_q_ = rd_on;
    if (take)
      wr_addr_q_ = hl_req_addr_i.read();
    else if (hl_wr_valid_i.read())
      ++wr_addr_q_;
  }
  state_ev_.notify();
}

void host_memory::comb() {
  const bool done = lat_q_ == 0 && credit_q_ >= target_q_;
  hl_done_o.write(done);
  hl_req_ready_o.write(!active_q_ || done);
  hl_wr_ready_o.write(true);
  hl_rd_valid_o.write(rd_valid_q_);
  hl_rd_data_o.write(rd_data_q_);
  std::memcpy(tmp_.bytes(), vector(bd_addr_i.read() & addr_mask_), VecBytes);
  bd_rdata_o.write(tmp_);
}

void host_memory::trace(Vcd& v, const std::string& s) {
  v.add_u64(s, "active_q", 1, [this] { return active_q_; });
  v.add_u64(s, "lat_q", 32, [this] { return lat_q_; });
  v.add_u64(s, "credit_q", 64, [this] { return credit_q_; });
  v.add_u64(s, "target_q", 64, [this] { return target_q_; });
  v.add_u64(s, "rd_left_q", 32, [this] { return rd_left_q_; });
  v.add_u64(s, "hl_rd_valid_o", 1, [this] { return hl_rd_valid_o.read(); });
  v.add_u64(s, "hl_done_o", 1, [this] { return hl_done_o.read(); });
}

}  // namespace tpusim::sc
