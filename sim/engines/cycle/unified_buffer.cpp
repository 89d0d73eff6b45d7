#include "sim/engines/cycle/unified_buffer.h"

#include <cstring>

namespace tpusim::sc {

unified_buffer::unified_buffer(sc_core::sc_module_name name, uint32_t UbVectors_,
                               uint32_t VecBytes_)
    : sc_core::sc_module(name), UbVectors(UbVectors_), VecBytes(VecBytes_) {
  mem_.assign(uint64_t(UbVectors) * VecBytes, 0);
  mxu_rdata_q_ = Bits(VecBytes * 8);
  tmp_ = Bits(VecBytes * 8);
  SC_METHOD(seq);
  sensitive << clk_i.pos();
  dont_initialize();
  SC_METHOD(comb);
  sensitive << state_ev_ << dma_addr_i;
}

void unified_buffer::seq() {
  // mxu_rdata_o <= mem[mxu_addr_i] (old contents); skipped when neither the address nor that
  // vector changed since the last edge (the register would load the same value).
  const uint32_t a = mxu_addr_i.read();
  if (a != last_mxu_addr_ || mxu_row_written_) {
    if (a < UbVectors)
      std::memcpy(mxu_rdata_q_.bytes(), mem_.data() + uint64_t(a) * VecBytes, VecBytes);
    else
      mxu_rdata_q_.clear();
    mxu_rdata_o.write(mxu_rdata_q_);
    last_mxu_addr_ = a;
  }
  mxu_row_written_ = false;
  if (dma_we_i.read()) {
    const uint32_t d = dma_addr_i.read();
    if (d < UbVectors) {
      std::memcpy(mem_.data() + uint64_t(d) * VecBytes, dma_wdata_i.read().bytes(), VecBytes);
      mxu_row_written_ |= d == a;
    }
  }
  if (act_we_i.read()) {
    const uint32_t d = act_addr_i.read();
    if (d < UbVectors) {
      std::memcpy(mem_.data() + uint64_t(d) * VecBytes, act_wdata_i.read().bytes(), VecBytes);
      mxu_row_written_ |= d == a;
    }
  }
  state_ev_.notify();
}

void unified_buffer::comb() {
  const uint32_t d = dma_addr_i.read();
  if (d < UbVectors)
    std::memcpy(tmp_.bytes(), mem_.data() + uint64_t(d) * VecBytes, VecBytes);
  else
    tmp_.clear();
  dma_rdata_o.write(tmp_);
}

void unified_buffer::trace(Vcd& v, const std::string& s) {
  v.add_u64(s, "mxu_addr_i", clog2(UbVectors), [this] { return mxu_addr_i.read(); });
  v.add(s, "mxu_rdata_o", VecBytes * 8, [this](uint32_t* w) {
    std::memcpy(w, mxu_rdata_o.read().u32(), mxu_rdata_o.read().words() * 4);
  });
  v.add_u64(s, "dma_we_i", 1, [this] { return dma_we_i.read(); });
  v.add_u64(s, "dma_addr_i", clog2(UbVectors), [this] { return dma_addr_i.read(); });
  v.add_u64(s, "act_we_i", 1, [this] { return act_we_i.read(); });
  v.add_u64(s, "act_addr_i", clog2(UbVectors), [this] { return act_addr_i.read(); });
}

}  // namespace tpusim::sc
