#include "sim/engines/cycle/accumulators.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>

#include "sim/isa/races.h"

namespace tpusim::sc {

accumulators::accumulators(sc_core::sc_module_name name, uint32_t AccEntries_, uint32_t Cols_,
                           uint32_t Mxus_)
    : sc_core::sc_module(name),
      AccEntries(AccEntries_),
      Cols(Cols_),
      Mxus(Mxus_),
      BankRows(uint32_t(acc_bank_rows(AccEntries_, Mxus_))),
      AccBanks((AccEntries_ + BankRows - 1) / BankRows) {
  for (auto* v : {&wr_valid_i, &wr_accumulate_i, &wr_last_i}) v->init(Mxus);
  wr_addr_i.init(Mxus);
  wr_data_i.init(Mxus);
  mmc_done_o.init(Mxus);
  mem_.assign(uint64_t(AccBanks) * BankRows * Cols, 0);
  bank_rdata_q_.assign(uint64_t(AccBanks) * Cols, 0);
  bank_loaded_.assign(AccBanks, false);
  ws_.resize(Mxus);
  for (WriteStage& w : ws_) w.wr_data_q = Bits(Cols * 32);
  rd_data_q_ = Bits(Cols * 32);
  SC_METHOD(seq);
  sensitive << clk_i.pos() << rst_ni.neg();
  dont_initialize();
}

void accumulators::seq() {
  const bool edge = clk_i.posedge();
  if (edge) {
    // The banks' ports, from the values before the edge (rtl/accumulators.v): bank b's read port
    // is the activation unit's read or the read-modify-write read of the MXU row entering its
    // write stage; its write port the MXU whose write stage holds a row of it.
    auto fail = [](const std::string& what) {
      throw std::logic_error("accumulators: " + what +
                             " in one cycle (the race rule's bank clause, sim/isa/ISA.md)");
    };
    constexpr uint32_t kNone = ~0u;
    const uint32_t ra = rd_addr_i.read();
    const bool act_reads = rd_en_i.read() && ra < AccEntries;
    const uint32_t act_bank = act_reads ? ra / BankRows : kNone;
    // the row each MXU's read-modify-write reads at this edge, kNone for none
    std::vector<uint32_t>& rmw = rmw_rows_;
    rmw.assign(Mxus, kNone);
    for (uint32_t m = 0; m < Mxus; ++m) {
      const uint32_t a = wr_addr_i[m].read();
      if (!wr_valid_i[m].read() || !wr_accumulate_i[m].read() || a >= AccEntries) continue;
      const uint32_t b = a / BankRows;
      if (b == act_bank)
        fail("bank " + std::to_string(b) + " read by MXU " + std::to_string(m) +
             " and the activation unit");
      for (uint32_t k = 0; k < m; ++k)
        if (rmw[k] != kNone && rmw[k] / BankRows == b)
          fail("bank " + std::to_string(b) + " read by MXUs " + std::to_string(k) + " and " +
               std::to_string(m));
      rmw[m] = a;
    }
    // write stages: mem[wr_addr_q[m]] <= (accumulate ? the row read in the previous cycle : 0) +
    // wr_data_q[m], each MXU on its row's bank's write port
    for (uint32_t m = 0; m < Mxus; ++m) {
      const WriteStage& w = ws_[m];
      if (!w.wr_valid_q || w.wr_addr_q >= AccEntries) continue;
      const uint32_t b = w.wr_addr_q / BankRows;
      for (uint32_t k = 0; k < m; ++k)
        if (ws_[k].wr_valid_q && ws_[k].wr_addr_q < AccEntries && ws_[k].wr_addr_q / BankRows == b)
          fail("bank " + std::to_string(b) + " written by MXUs " + std::to_string(k) + " and " +
               std::to_string(m));
      uint32_t* dst = mem_.data() + uint64_t(w.wr_addr_q) * Cols;
      const uint32_t* src = w.wr_data_q.u32();
      const uint32_t* old = bank_rdata_q_.data() + uint64_t(b) * Cols;
      if (w.wr_accumulate_q)
        for (uint32_t c = 0; c < Cols; ++c) dst[c] = old[c] + src[c];
      else
        std::memcpy(dst, src, Cols * 4);
    }
    // the reads, after the writes: write-through (a row written at this edge reads new)
    std::fill(bank_loaded_.begin(), bank_loaded_.end(), false);
    auto load = [&](uint32_t a) {
      const uint32_t b = a / BankRows;
      std::memcpy(bank_rdata_q_.data() + uint64_t(b) * Cols, row(a), Cols * 4);
      bank_loaded_[b] = true;
    };
    if (act_reads) load(ra);
    for (uint32_t m = 0; m < Mxus; ++m)
      if (rmw[m] != kNone) load(rmw[m]);
    // rd_data_o = the read register of the bank read last cycle's address is in
    const uint32_t rd_bank = ra < AccEntries ? ra / BankRows : 0;
    rd_data_dirty_ = rd_data_dirty_ || rd_bank != rd_bank_q_ || bank_loaded_[rd_bank];
    rd_bank_q_ = rd_bank;
    if (rd_data_dirty_) {
      std::memcpy(rd_data_q_.u32(), bank_rdata_q_.data() + uint64_t(rd_bank_q_) * Cols, Cols * 4);
      rd_data_o.write(rd_data_q_);
      rd_data_dirty_ = false;
    }
    for (uint32_t m = 0; m < Mxus; ++m) {
      WriteStage& w = ws_[m];
      w.wr_accumulate_q = wr_accumulate_i[m].read();
      w.wr_last_q = wr_last_i[m].read();
      w.wr_addr_q = wr_addr_i[m].read();
      w.wr_data_q = wr_data_i[m].read();
    }
  }
  for (uint32_t m = 0; m < Mxus; ++m) {
    WriteStage& w = ws_[m];
    if (!rst_ni.read())
      w.wr_valid_q = false;
    else if (edge)
      w.wr_valid_q = wr_valid_i[m].read();
    mmc_done_o[m].write(w.wr_valid_q && w.wr_last_q);
  }
}

void accumulators::trace(Vcd& v, const std::string& s) {
  // the RTL's packed per-MXU vectors, MXU m at bit m
  auto bits = [this](bool WriteStage::*f) {
    return [this, f] {
      uint64_t b = 0;
      for (uint32_t m = 0; m < Mxus; ++m) b |= uint64_t(ws_[m].*f) << m;
      return b;
    };
  };
  v.add_u64(s, "wr_valid_q", Mxus, bits(&WriteStage::wr_valid_q));
  v.add_u64(s, "wr_accumulate_q", Mxus, bits(&WriteStage::wr_accumulate_q));
  for (uint32_t m = 0; m < Mxus; ++m)
    v.add_u64(s, "wr_addr_q[" + std::to_string(m) + "]", clog2(AccEntries),
              [this, m] { return ws_[m].wr_addr_q; });
  v.add_u64(s, "rd_en_i", 1, [this] { return rd_en_i.read(); });
  v.add_u64(s, "rd_addr_i", clog2(AccEntries), [this] { return rd_addr_i.read(); });
  v.add_u64(s, "rd_bank_q", AccBanks > 1 ? clog2(AccBanks) : 1, [this] { return rd_bank_q_; });
  v.add_u64(s, "mmc_done_o", Mxus, [this] {
    uint64_t b = 0;
    for (uint32_t m = 0; m < Mxus; ++m) b |= uint64_t(mmc_done_o[m].read()) << m;
    return b;
  });
}

}  // namespace tpusim::sc
