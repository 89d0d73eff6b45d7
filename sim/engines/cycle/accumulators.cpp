#include "sim/engines/cycle/accumulators.h"

#include <cstring>

namespace tpusim::sc {

accumulators::accumulators(sc_core::sc_module_name name, uint32_t AccEntries_, uint32_t Cols_)
    : sc_core::sc_module(name), AccEntries(AccEntries_), Cols(Cols_) {
  mem_.assign(uint64_t(AccEntries) * Cols, 0);
  wr_data_q_ = Bits(Cols * 32);
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
    // write stage: mem[wr_addr_q] <= (accumulate ? old : 0) + wr_data_q
    if (wr_valid_q_ && wr_addr_q_ < AccEntries) {
      uint32_t* dst = mem_.data() + uint64_t(wr_addr_q_) * Cols;
      const uint32_t* src = wr_data_q_.u32();
      if (wr_accumulate_q_)
        for (uint32_t c = 0; c < Cols; ++c) dst[c] += src[c];
      else
        std::memcpy(dst, src, Cols * 4);
      rd_row_written_ = wr_addr_q_ == ra;
    }
    wr_accumulate_q_ = wr_accumulate_i.read();
    wr_last_q_ = wr_last_i.read();
    wr_addr_q_ = wr_addr_i.read();
    wr_data_q_ = wr_data_i.read();
  }
  if (!rst_ni.read())
    wr_valid_q_ = false;
  else if (edge)
    wr_valid_q_ = wr_valid_i.read();
  mmc_done_o.write(wr_valid_q_ && wr_last_q_);
}

void accumulators::trace(Vcd& v, const std::string& s) {
  v.add_u64(s, "wr_valid_q", 1, [this] { return wr_valid_q_; });
  v.add_u64(s, "wr_accumulate_q", 1, [this] { return wr_accumulate_q_; });
  v.add_u64(s, "wr_addr_q", clog2(AccEntries), [this] { return wr_addr_q_; });
  v.add_u64(s, "rd_addr_i", clog2(AccEntries), [this] { return rd_addr_i.read(); });
  v.add_u64(s, "mmc_done_o", 1, [this] { return mmc_done_o.read(); });
}

}  // namespace tpusim::sc
