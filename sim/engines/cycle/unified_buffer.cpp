#include "sim/engines/cycle/unified_buffer.h"

#include <algorithm>
#include <cstring>

namespace tpusim::sc {

unified_buffer::unified_buffer(sc_core::sc_module_name name, uint32_t UbVectors_,
                               uint32_t VecBytes_, uint32_t Mxus_)
    : sc_core::sc_module(name), UbVectors(UbVectors_), VecBytes(VecBytes_), Mxus(Mxus_) {
  mxu_addr_i.init(Mxus);
  mxu_rdata_o.init(Mxus);
  mem_.assign(uint64_t(UbVectors) * VecBytes, 0);
  rd_.resize(Mxus);
  for (ReadPort& r : rd_) r.rdata_q = Bits(VecBytes * 8);
  SC_METHOD(seq);
  sensitive << clk_i.pos();
  dont_initialize();
  dma_rdata_q_ = Bits(VecBytes * 8);
}

void unified_buffer::seq() {
  // mxu_rdata_o[m] <= mem[mxu_addr_i[m]] (old contents); skipped when neither the address nor
  // that vector changed since the last edge (the register would load the same value).
  for (uint32_t m = 0; m < Mxus; ++m) {
    ReadPort& r = rd_[m];
    const uint32_t a = mxu_addr_i[m].read();
    if (a != r.last_addr || r.row_written) {
      if (a < UbVectors)
        std::memcpy(r.rdata_q.bytes(), mem_.data() + uint64_t(a) * VecBytes, VecBytes);
      else
        r.rdata_q.clear();
      mxu_rdata_o[m].write(r.rdata_q);
      r.last_addr = a;
    }
    r.row_written = false;
  }
  // dma_rdata_o <= mem[dma_addr_i] (old contents): a whm's registered read
  const uint32_t da = dma_addr_i.read();
  if (da < UbVectors)
    std::memcpy(dma_rdata_q_.bytes(), mem_.data() + uint64_t(da) * VecBytes, VecBytes);
  else
    dma_rdata_q_.clear();
  dma_rdata_o.write(dma_rdata_q_);
  auto write = [&](uint32_t d, const Bits& data) {
    if (d >= UbVectors) return;
    std::memcpy(mem_.data() + uint64_t(d) * VecBytes, data.bytes(), VecBytes);
    for (ReadPort& r : rd_) r.row_written |= d == r.last_addr;
  };
  if (dma_we_i.read()) write(dma_addr_i.read(), dma_wdata_i.read());
  if (act_we_i.read()) write(act_addr_i.read(), act_wdata_i.read());
}

void unified_buffer::trace(Vcd& v, const std::string& s) {
  // the RTL's packed buses, MXU m at field m
  const uint32_t ab = clog2(UbVectors);
  v.add(s, "mxu_addr_i", Mxus * ab, [this, ab](uint32_t* w) {
    std::fill(w, w + (Mxus * ab + 31) / 32, 0u);
    for (uint32_t m = 0; m < Mxus; ++m)
      for (uint32_t b = 0; b < ab; ++b)
        if ((mxu_addr_i[m].read() >> b) & 1u) w[(m * ab + b) / 32] |= 1u << ((m * ab + b) % 32);
  });
  v.add(s, "mxu_rdata_o", Mxus * VecBytes * 8, [this](uint32_t* w) {
    std::fill(w, w + (Mxus * VecBytes + 3) / 4, 0u);
    for (uint32_t m = 0; m < Mxus; ++m)
      std::memcpy(reinterpret_cast<uint8_t*>(w) + m * VecBytes, mxu_rdata_o[m].read().bytes(),
                  VecBytes);
  });
  v.add_u64(s, "dma_we_i", 1, [this] { return dma_we_i.read(); });
  v.add_u64(s, "dma_addr_i", clog2(UbVectors), [this] { return dma_addr_i.read(); });
  v.add_u64(s, "act_we_i", 1, [this] { return act_we_i.read(); });
  v.add_u64(s, "act_addr_i", clog2(UbVectors), [this] { return act_addr_i.read(); });
}

}  // namespace tpusim::sc
