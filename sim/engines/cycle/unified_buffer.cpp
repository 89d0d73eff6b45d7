#include "sim/engines/cycle/unified_buffer.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>

namespace tpusim::sc {

unified_buffer::unified_buffer(sc_core::sc_module_name name, uint32_t UbVectors_, uint32_t UbBanks_,
                               uint32_t VecBytes_, uint32_t Mxus_)
    : sc_core::sc_module(name),
      UbVectors(UbVectors_),
      UbBanks(UbBanks_),
      VecBytes(VecBytes_),
      Mxus(Mxus_),
      BankVecs(UbBanks_ >= 1 && UbBanks_ <= UbVectors_
                   ? (UbVectors + UbBanks - 1) / UbBanks
                   : throw std::logic_error("unified_buffer: UbBanks must be 1..UbVectors")),
      Banks((UbVectors_ + BankVecs - 1) / BankVecs) {
  mxu_re_i.init(Mxus);
  mxu_addr_i.init(Mxus);
  mxu_rdata_o.init(Mxus);
  mem_.assign(uint64_t(Banks) * BankVecs * VecBytes, 0);
  bank_rdata_q_.assign(uint64_t(Banks) * VecBytes, 0);
  bank_reader_.assign(Banks, kNoReader);
  rd_.resize(Mxus + 1);
  for (Reader& r : rd_) r.rdata = Bits(VecBytes * 8);
  SC_METHOD(seq);
  sensitive << clk_i.pos();
  dont_initialize();
}

void unified_buffer::seq() {
  // The banks' ports, from the values before the edge (rtl/unified_buffer.v): bank b's read port
  // is the one reader addressing it with its read enable, its write port the DMA or the
  // activation unit writing a vector of it.
  auto fail = [](const std::string& what) {
    throw std::logic_error("unified_buffer: " + what +
                           " in one cycle (the bank interlock, sim/isa/ISA.md \"UB banks\")");
  };
  const uint32_t readers = Mxus + 1;
  auto addr_of = [&](uint32_t k) { return k < Mxus ? mxu_addr_i[k].read() : dma_addr_i.read(); };
  // the reads (read-first: before the writes of this edge)
  std::fill(bank_reader_.begin(), bank_reader_.end(), kNoReader);
  for (uint32_t k = 0; k < readers; ++k) {
    const uint32_t a = addr_of(k);
    if (!(k < Mxus ? mxu_re_i[k].read() : dma_re_i.read()) || a >= UbVectors) continue;
    const uint32_t b = a / BankVecs, other = bank_reader_[b];
    if (other != kNoReader)
      fail("bank " + std::to_string(b) + " read by " +
           (k < Mxus ? "MXUs " + std::to_string(other) + " and " + std::to_string(k)
                     : "MXU " + std::to_string(other) + " and the DMA"));
    std::memcpy(bank_rdata_q_.data() + uint64_t(b) * VecBytes, vector(a), VecBytes);
    bank_reader_[b] = k;
  }
  // the writes: the DMA's (an rhm's vectors) and the activation unit's, on their banks' ports
  const bool dma_we = dma_we_i.read() && dma_addr_i.read() < UbVectors;
  const bool act_we = act_we_i.read() && act_addr_i.read() < UbVectors;
  if (dma_we && act_we && dma_addr_i.read() / BankVecs == act_addr_i.read() / BankVecs)
    fail("bank " + std::to_string(dma_addr_i.read() / BankVecs) +
         " written by the DMA and the activation unit");
  if (dma_we)
    std::memcpy(mem_.data() + uint64_t(dma_addr_i.read()) * VecBytes, dma_wdata_i.read().bytes(),
                VecBytes);
  if (act_we)
    std::memcpy(mem_.data() + uint64_t(act_addr_i.read()) * VecBytes, act_wdata_i.read().bytes(),
                VecBytes);
  // each reader's data: the read register of the bank it addressed before this edge (rewritten
  // only when that bank or its register changed)
  for (uint32_t k = 0; k < readers; ++k) {
    Reader& r = rd_[k];
    const uint32_t b = bank_of(addr_of(k));
    r.dirty = r.dirty || b != r.rd_bank_q || bank_reader_[b] != kNoReader;
    r.rd_bank_q = b;
    if (!r.dirty) continue;
    std::memcpy(r.rdata.bytes(), bank_rdata_q_.data() + uint64_t(b) * VecBytes, VecBytes);
    if (k < Mxus)
      mxu_rdata_o[k].write(r.rdata);
    else
      dma_rdata_o.write(r.rdata);
    r.dirty = false;
  }
}

void unified_buffer::trace(Vcd& v, const std::string& s) {
  // the RTL's packed buses, MXU m at field m
  const uint32_t ab = clog2(UbVectors);
  v.add_u64(s, "mxu_re_i", Mxus, [this] {
    uint64_t b = 0;
    for (uint32_t m = 0; m < Mxus; ++m) b |= uint64_t(mxu_re_i[m].read()) << m;
    return b;
  });
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
  // rd_bank_q: reader k's bank at field k (the DMA at field Mxus)
  const uint32_t bb = Banks > 1 ? clog2(Banks) : 1, rb = (Mxus + 1) * bb;
  v.add(s, "rd_bank_q", rb, [this, bb, rb](uint32_t* w) {
    std::fill(w, w + (rb + 31) / 32, 0u);
    for (uint32_t k = 0; k <= Mxus; ++k)
      for (uint32_t b = 0; b < bb; ++b)
        if ((rd_[k].rd_bank_q >> b) & 1u) w[(k * bb + b) / 32] |= 1u << ((k * bb + b) % 32);
  });
  v.add_u64(s, "dma_re_i", 1, [this] { return dma_re_i.read(); });
  v.add_u64(s, "dma_we_i", 1, [this] { return dma_we_i.read(); });
  v.add_u64(s, "dma_addr_i", clog2(UbVectors), [this] { return dma_addr_i.read(); });
  v.add_u64(s, "act_we_i", 1, [this] { return act_we_i.read(); });
  v.add_u64(s, "act_addr_i", clog2(UbVectors), [this] { return act_addr_i.read(); });
}

}  // namespace tpusim::sc
