#include "sim/engines/cycle/accumulators.h"

#include <cstring>

namespace tpusim::sc {

accumulators::accumulators(sc_core::sc_module_name name, uint32_t AccEntries_, uint32_t Cols_,
                           uint32_t Mxus_)
    : sc_core::sc_module(name), AccEntries(AccEntries_), Cols(Cols_), Mxus(Mxus_) {
  for (auto* v : {&wr_valid_i, &wr_accumulate_i, &wr_last_i}) v->init(Mxus);
  wr_addr_i.init(Mxus);
  wr_data_i.init(Mxus);
  mmc_done_o.init(Mxus);
  mem_.assign(uint64_t(AccEntries) * Cols, 0);
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
    // rd_data_o <= mem[rd_addr_i] (old contents); skipped when it would reload the same value
    const uint32_t ra = rd_addr_i.read();
    if (ra != last_rd_addr_ || rd_row_written_) {
      if (ra < AccEntries)
        std::memcpy(rd_data_q_.u32(), row(ra), Cols * 4);
      else
        rd_data_q_.clear();
      rd_data_o.write(rd_data_q_);
      last_rd_addr_ = ra;
    }
    rd_row_written_ = false;
    // write stages: mem[wr_addr_q[m]] <= (accumulate ? old : 0) + wr_data_q[m], ports in MXU
    // order, each from the row before the edge (a port whose row a later port also writes is
    // overridden by it, as the RTL's last non-blocking assignment wins)
    for (uint32_t m = 0; m < Mxus; ++m) {
      const WriteStage& w = ws_[m];
      if (!w.wr_valid_q || w.wr_addr_q >= AccEntries) continue;
      bool overridden = false;
      for (uint32_t k = m + 1; k < Mxus; ++k)
        overridden = overridden || (ws_[k].wr_valid_q && ws_[k].wr_addr_q == w.wr_addr_q);
      if (overridden) continue;
      uint32_t* dst = mem_.data() + uint64_t(w.wr_addr_q) * Cols;
      const uint32_t* src = w.wr_data_q.u32();
      if (w.wr_accumulate_q)
        for (uint32_t c = 0; c < Cols; ++c) dst[c] += src[c];
      else
        std::memcpy(dst, src, Cols * 4);
      rd_row_written_ = rd_row_written_ || w.wr_addr_q == ra;
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
  v.add_u64(s, "rd_addr_i", clog2(AccEntries), [this] { return rd_addr_i.read(); });
  v.add_u64(s, "mmc_done_o", Mxus, [this] {
    uint64_t b = 0;
    for (uint32_t m = 0; m < Mxus; ++m) b |= uint64_t(mmc_done_o[m].read()) << m;
    return b;
  });
}

}  // namespace tpusim::sc
