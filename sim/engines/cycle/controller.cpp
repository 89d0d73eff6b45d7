#include "sim/engines/cycle/controller.h"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace tpusim::sc {

namespace {
constexpr uint32_t kOpNop = 0x00, kOpHalt = 0x01, kOpRhm = 0x02, kOpWhm = 0x03, kOpRw = 0x04,
                   kOpMmc = 0x05, kOpAct = 0x06, kOpSetc = 0x07, kOpSync = 0x08;
}

controller::controller(sc_core::sc_module_name name, uint32_t ImemDepth_, uint32_t UbVectors_,
                       uint32_t UbBanks_, uint32_t AccEntries_, uint32_t Mxus_)
    : sc_core::sc_module(name),
      ImemDepth(ImemDepth_),
      UbVectors(UbVectors_),
      UbBanks(UbBanks_),
      AccEntries(AccEntries_),
      Mxus(Mxus_),
      BankVecs(UbBanks_ >= 1 && UbBanks_ <= UbVectors_
                   ? (UbVectors + UbBanks - 1) / UbBanks
                   : throw std::logic_error("controller: UbBanks must be 1..UbVectors")),
      Banks((UbVectors_ + BankVecs - 1) / BankVecs),
      imem_bits_(clog2(ImemDepth_)),
      ub_bits_(clog2(UbVectors_)),
      acc_bits_(clog2(AccEntries_)),
      bank_bits_(Banks > 1 ? clog2(Banks) : 1),
      imem_(ImemDepth_),
      mx_(Mxus_) {
  for (auto* v : {&shadow_full_i, &tile_arrived_i, &mmc_done_i}) v->init(Mxus);
  for (auto* v : {&switch_o, &mxu_ub_re_o, &mxu_valid_o, &mxu_switch_o, &mxu_last_o,
                  &mxu_accumulate_o, &mxu_chain_o})
    v->init(Mxus);
  mxu_ub_addr_o.init(Mxus);
  mxu_acc_addr_o.init(Mxus);
  SC_METHOD(seq);
  sensitive << clk_i.pos() << rst_ni.neg();
  dont_initialize();
  SC_METHOD(comb);
  sensitive << state_ev_ << host_busy_i << w_free_i << rw_done_i << act_busy_i;
  for (uint32_t m = 0; m < Mxus; ++m) sensitive << shadow_full_i[m] << mmc_done_i[m];
}

uint32_t controller::bank_of(uint32_t a) const {
  a &= uint32_t(mask_bits(ub_bits_));
  if ((BankVecs & (BankVecs - 1)) == 0)  // a bit field
    return (a >> clog2(BankVecs)) & uint32_t(mask_bits(bank_bits_));
  return std::min(a / BankVecs, Banks - 1);  // comparisons against the banks' first vectors
}

void controller::load_imem(uint32_t addr, const std::array<uint32_t, 4>& word) {
  imem_[addr & mask_bits(imem_bits_)] = word;
}

controller::Decode controller::decode() const {
  Decode d{};
  const auto& w = id_instr_q_;
  d.op = w[0] & 0xff;
  d.flags = (w[0] >> 8) & 0xff;
  d.imm = w[0] >> 16;
  d.fa = w[1];
  d.fb = w[2];
  d.fc = w[3];
  d.chain = (d.flags >> 2) & 1;
  d.fan = (d.flags >> 3) & 7;
  switch (d.op) {
    case kOpNop:
    case kOpHalt:
      d.legal = d.flags == 0 && d.imm == 0 && d.fa == 0 && d.fb == 0 && d.fc == 0;
      break;
    case kOpRhm:
    case kOpWhm:
      d.legal = d.flags == 0 && d.imm == 0 && d.fc != 0;
      break;
    case kOpRw:
      d.legal = d.flags == 0 && d.imm < Mxus && d.fb == 0 && d.fc != 0;
      break;
    case kOpMmc:
      d.legal = (d.flags >> 6) == 0 && d.imm < Mxus && d.fc != 0 &&
                (!d.chain || (d.imm != 0 && d.fan == 0)) && d.imm + d.fan < Mxus;
      break;
    case kOpAct:
      d.legal = (d.flags >> 5) == 0 && ((d.flags >> 2) & 3) != 3 && d.fc != 0 &&
                ((d.flags & 0x10) ? (((d.flags >> 2) & 3) != 0 && d.imm != 0)
                                  : (d.imm <= 4 && (((d.flags >> 2) & 3) != 0 || d.imm == 0)));
      break;
    case kOpSetc:
      d.legal = d.flags == 0 && d.imm == 0 && d.fc == 0 && d.fa < 7;
      break;
    case kOpSync:
      d.legal = (d.flags >> 4) == 0 && (d.flags & 0xf) != 0 && d.fa == 0 && d.fb == 0 && d.fc == 0;
      break;
    default:
      d.legal = false;
  }
  const bool host_done = !host_busy_i.read();
  const bool act_done = !act_busy_i.read();
  // incomplete instructions per unit (sync mask bit order; the MXU bit: every MXU)
  const uint32_t pend[4] = {uint32_t(host_busy_i.read()),
                            (w_pend_q_ - uint32_t(rw_done_i.read())) & 0xffffu, 0,
                            uint32_t(act_busy_i.read())};
  uint32_t within_d = 0, done_mask = 0;
  for (int u = 0; u < 4; ++u) {
    within_d |= uint32_t(pend[u] <= d.imm) << u;
    done_mask |= uint32_t(pend[u] == 0) << u;
  }
  for (const MxuSeq& x : mx_) {
    if (x.mxu_pend_q > d.imm) within_d &= ~4u;
    if (x.mxu_pend_q != 0) done_mask &= ~4u;
  }
  // mmc: MXU d + j (j = 0..fan) ready: its input free at t + j (at most j rows left) and, with
  // switch, its shadow full (d + fan < Mxus when legal)
  bool mmc_ready = true;
  d.in_fan = 0;
  for (uint32_t j = 0; j <= d.fan && d.imm + j < Mxus; ++j) {
    const uint32_t m = d.imm + j;
    d.in_fan |= 1u << m;
    mmc_ready = mmc_ready && mx_[m].mx_left_q <= j && (!(d.flags & 2) || shadow_full_i[m].read());
  }
  // The UB bank interlock (rtl/controller.v): the banks of the vectors under consideration (an
  // mmc's inputs, an rhm's / whm's vectors, an act's outputs) against the other units' open
  // windows that read (for a reader) or write (for a writer).
  const uint32_t act_outputs = (d.flags & 0x10) ? d.imm : d.fc >> (d.imm & 7);
  const uint32_t ub_first = d.op == kOpMmc ? d.fa : d.fb;
  const uint32_t ub_count = d.op == kOpAct ? act_outputs : d.fc;
  d.ub_lo = bank_of(ub_first);
  d.ub_hi = bank_of(ub_first + ub_count - 1);
  auto overlaps = [&d](uint32_t lo, uint32_t hi) { return d.ub_lo <= hi && lo <= d.ub_hi; };
  bool mxu_rd_hit_other = false, mxu_rd_hit_any = false;
  for (uint32_t m = 0; m < Mxus; ++m) {
    const MxuSeq& x = mx_[m];
    const bool hit = x.mx_left_q != 0 && !x.mx_chain_q && overlaps(x.mxu_rd_lo_q, x.mxu_rd_hi_q);
    mxu_rd_hit_any = mxu_rd_hit_any || hit;
    mxu_rd_hit_other = mxu_rd_hit_other || (hit && m != d.imm);
  }
  const bool dma_rd_hit = dma_rd_left_q_ != 0 && overlaps(dma_rd_lo_q_, dma_rd_hi_q_);
  const bool dma_wr_hit = dma_wr_left_q_ != 0 && overlaps(dma_wr_lo_q_, dma_wr_hi_q_);
  const bool act_wr_hit = act_busy_i.read() && overlaps(act_wr_lo_q_, act_wr_hi_q_);
  const bool mmc_banks_free = d.chain || (!mxu_rd_hit_other && !dma_rd_hit);
  switch (d.op) {
    case kOpRhm:
      d.can_issue = host_done && !act_wr_hit;
      break;
    case kOpWhm:
      d.can_issue = host_done && !mxu_rd_hit_any;
      break;
    case kOpRw:
      d.can_issue = w_free_i.read();
      break;
    case kOpMmc:
      d.can_issue = mmc_ready && mmc_banks_free;
      break;
    case kOpAct:
      d.can_issue = act_done && !dma_wr_hit;
      break;
    case kOpSync:
      d.can_issue = (within_d & d.flags & 0xf) == (d.flags & 0xf);
      break;
    case kOpHalt:
      d.can_issue = done_mask == 0xf;
      break;
    default:
      d.can_issue = true;
  }
  d.run = !halted_q_;
  d.issue = d.run && id_valid_q_ && d.legal && d.can_issue;
  d.held = d.run && id_valid_q_ && d.legal && !d.can_issue;
  d.id_ready = !id_valid_q_ || d.issue;
  d.if_ready = !if_valid_q_ || d.id_ready;
  d.is_mmc = d.issue && d.op == kOpMmc;
  d.mxu_start = d.is_mmc ? 1u << d.imm : 0u;
  d.inject = d.is_mmc;
  for (const MxuSeq& x : mx_) d.inject = d.inject || x.mx_left_q != 0;
  d.switch_w = d.is_mmc && (d.flags & 2);
  return d;
}

void controller::seq() {
  const bool edge = clk_i.posedge();
  const bool rst = !rst_ni.read();
  const Decode d = decode();
  const uint32_t ub_mask = uint32_t(mask_bits(ub_bits_)), acc_mask = uint32_t(mask_bits(acc_bits_));
  if (edge) {
    // plain always @(posedge clk_i) blocks (no reset)
    const auto old_if_instr = if_instr_q_;
    const uint32_t old_if_pc = if_pc_q_;
    if (d.run && d.if_ready) {
      if_instr_q_ = imem_[pc_q_ & mask_bits(imem_bits_)];
      if_pc_q_ = pc_q_;
    }
    if (d.run && d.id_ready) {
      id_instr_q_ = old_if_instr;
      id_pc_q_ = old_if_pc;
    }
    if (bd_imem_we_i.read()) {
      const sc_dt::sc_bv<128> v = bd_imem_wdata_i.read();
      std::array<uint32_t, 4> w;
      for (int i = 0; i < 4; ++i) w[i] = v.get_word(i);
      imem_[bd_imem_addr_i.read() & mask_bits(imem_bits_)] = w;
    }
    for (uint32_t m = 0; m < Mxus; ++m) {
      MxuSeq& x = mx_[m];
      const bool start = (d.mxu_start >> m) & 1;
      const uint32_t mx_acc_old = x.mx_acc_q;
      const bool mx_accumulate_old = x.mx_accumulate_q;
      const bool mx_chain = start ? d.chain : x.mx_chain_q;
      if (start) {
        x.mx_ub_q = (d.fa + 1) & ub_mask;
        x.mx_acc_q = (d.fb + 1) & acc_mask;
        x.mx_accumulate_q = d.flags & 1;
        x.mx_chain_q = d.chain;
        x.mxu_rd_lo_q = d.ub_lo;
        x.mxu_rd_hi_q = d.ub_hi;
      } else if (x.mx_left_q != 0) {
        x.mx_ub_q = (x.mx_ub_q + 1) & ub_mask;
        x.mx_acc_q = (x.mx_acc_q + 1) & acc_mask;
      }
      x.mxu_acc_addr_q = start ? (d.fb & acc_mask) : mx_acc_old;
      x.mxu_accumulate_q = start ? (d.flags & 1) : mx_accumulate_old;
      x.mxu_chain_q = mx_chain;
    }
    // the bank windows' ranges (no reset)
    if (d.issue && d.op == kOpWhm) {
      dma_rd_lo_q_ = d.ub_lo;
      dma_rd_hi_q_ = d.ub_hi;
    }
    if (d.issue && d.op == kOpRhm) {
      dma_wr_lo_q_ = d.ub_lo;
      dma_wr_hi_q_ = d.ub_hi;
    }
    if (d.issue && d.op == kOpAct) {
      act_wr_lo_q_ = d.ub_lo;
      act_wr_hi_q_ = d.ub_hi;
    }
    // the RTL's assertion: a chain mmc is never held (its source waited for its MXU)
    if (!rst && d.held && d.op == kOpMmc && d.chain)
      throw std::logic_error("controller: pc " + std::to_string(id_pc_q_) +
                             ": a chain mmc is held; its source did not wait for its MXU "
                             "(sim/isa/ISA.md, chained inputs)");
  }
  if (rst) {
    pc_q_ = 0;
    if_valid_q_ = false;
    id_valid_q_ = false;
    halted_q_ = false;
    error_q_ = false;
    for (MxuSeq& x : mx_) {
      x.mx_left_q = 0;
      x.mxu_valid_q = false;
      x.mxu_switch_q = false;
      x.mxu_last_q = false;
      x.mxu_pend_q = 0;
    }
    w_pend_q_ = 0;
    dma_rd_left_q_ = dma_wr_left_q_ = 0;
    mult_q_ = 0x40000000u;
    shift_q_ = 30;
    round_q_ = 0;
    pool_in_q_ = 0x00010001u;
    pool_window_q_ = 0x01010101u;
    pool_pad_q_ = 0;
    pool_recip_q_ = 1u << 24;
    cycle_q_ = total_q_ = c_active_q_ = c_wstall_q_ = c_wshift_q_ = c_nonmatrix_q_ = c_raw_q_ =
        c_input_q_ = 0;
  } else if (edge) {
    const bool old_if_valid = if_valid_q_;
    if (d.run && d.if_ready) {
      if_valid_q_ = true;
      pc_q_ = pc_q_ + 1;
    }
    if (d.run && d.id_ready) id_valid_q_ = old_if_valid;
    if (d.issue && d.op == kOpHalt) halted_q_ = true;
    if (d.run && id_valid_q_ && !d.legal) {
      halted_q_ = true;
      error_q_ = true;
    }
    // MXU input sequencers
    for (uint32_t m = 0; m < Mxus; ++m) {
      MxuSeq& x = mx_[m];
      const bool start = (d.mxu_start >> m) & 1;
      x.mxu_valid_q = start || x.mx_left_q != 0;
      x.mxu_switch_q = start && d.switch_w;
      x.mxu_last_q = start ? d.fc == 1 : x.mx_left_q == 1;
      x.mxu_pend_q = (x.mxu_pend_q + uint32_t(start) - uint32_t(mmc_done_i[m].read())) & 0xffffu;
      if (start)
        x.mx_left_q = d.fc - 1;
      else if (x.mx_left_q != 0)
        x.mx_left_q = x.mx_left_q - 1;
    }
    w_pend_q_ =
        (w_pend_q_ + uint32_t(d.issue && d.op == kOpRw) - uint32_t(rw_done_i.read())) & 0xffffu;
    // the DMA's bank windows: a whm reads in [t, t + n), an rhm writes in [t + 1, t + n + 1)
    if (d.issue && d.op == kOpWhm)
      dma_rd_left_q_ = d.fc - 1;
    else if (dma_rd_left_q_ != 0)
      --dma_rd_left_q_;
    if (d.issue && d.op == kOpRhm)
      dma_wr_left_q_ = d.fc;
    else if (dma_wr_left_q_ != 0)
      --dma_wr_left_q_;
    // setc
    if (d.issue && d.op == kOpSetc) {
      switch (d.fa & 7) {
        case 0:
          mult_q_ = d.fb;
          break;
        case 1:
          shift_q_ = d.fb & 0x3f;
          break;
        case 2:
          round_q_ = d.fb & 3;
          break;
        case 3:
          pool_in_q_ = d.fb;
          break;
        case 4:
          pool_window_q_ = d.fb;
          break;
        case 5:
          pool_pad_q_ = d.fb;
          break;
        default:
          pool_recip_q_ = d.fb & 0x1ffffffu;
      }
    }
    // counters; an mmc with fan F stalls while the tile of any of MXUs d .. d + F has not arrived
    auto all_arrived = [&](uint32_t mask) {
      for (uint32_t m = 0; m < Mxus; ++m)
        if (((mask >> m) & 1) && !tile_arrived_i[m].read()) return false;
      return true;
    };
    if (d.run) {
      const bool held_switch = d.held && d.op == kOpMmc && (d.flags & 2);
      if (d.issue && d.op == kOpHalt) total_q_ = cycle_q_ + 1;
      cycle_q_ = cycle_q_ + 1;
      if (d.inject) {
        ++c_active_q_;
      } else if ((held_switch && !all_arrived(d.in_fan)) || (d.held && d.op == kOpRw)) {
        ++c_wstall_q_;
      } else if (held_switch) {
        ++c_wshift_q_;
      } else {
        ++c_nonmatrix_q_;
        if (d.held && d.op == kOpSync) ++c_raw_q_;
        if (d.held && (d.op == kOpRhm || d.op == kOpWhm)) ++c_input_q_;
      }
    }
  }
  state_ev_.notify();
}

void controller::comb() {
  const Decode d = decode();
  host_start_o.write(d.issue && (d.op == kOpRhm || d.op == kOpWhm));
  host_write_o.write(d.op == kOpWhm);
  host_addr_o.write(d.fa);
  host_ub_addr_o.write(d.fb);
  host_n_o.write(d.fc);
  w_start_o.write(d.issue && d.op == kOpRw);
  w_tile_o.write(d.fa);
  w_n_o.write(d.fc);
  w_mxu_o.write(d.imm & uint32_t(mask_bits(Mxus > 1 ? clog2(Mxus) : 1)));
  for (uint32_t m = 0; m < Mxus; ++m) {
    const MxuSeq& x = mx_[m];
    const bool start = (d.mxu_start >> m) & 1;
    switch_o[m].write(start && d.switch_w);
    mxu_ub_addr_o[m].write(start ? (d.fa & uint32_t(mask_bits(ub_bits_))) : x.mx_ub_q);
    // a row injected now addresses the UB unless it is a chain mmc's
    mxu_ub_re_o[m].write((start || x.mx_left_q != 0) && !(start ? d.chain : x.mx_chain_q));
    mxu_valid_o[m].write(x.mxu_valid_q);
    mxu_switch_o[m].write(x.mxu_switch_q);
    mxu_last_o[m].write(x.mxu_last_q);
    mxu_accumulate_o[m].write(x.mxu_accumulate_q);
    mxu_chain_o[m].write(x.mxu_chain_q);
    mxu_acc_addr_o[m].write(x.mxu_acc_addr_q);
  }
  act_start_o.write(d.issue && d.op == kOpAct);
  act_acc_addr_o.write(d.fa);
  act_ub_addr_o.write(d.fb);
  act_n_o.write(d.fc);
  act_function_o.write(d.flags & 3);
  act_pool_o.write((d.flags >> 2) & 3);
  act_pool_log2_o.write(d.imm & 7);
  act_mult_o.write(mult_q_);
  act_shift_o.write(shift_q_);
  act_round_o.write(round_q_);
  act_pool2d_o.write((d.flags >> 4) & 1);
  act_out_n_o.write(d.imm);
  act_pool_in_o.write(pool_in_q_);
  act_pool_window_o.write(pool_window_q_);
  act_pool_pad_o.write(pool_pad_q_);
  act_pool_recip_o.write(pool_recip_q_);
  issue_valid_o.write(d.issue);
  issue_pc_o.write(id_pc_q_);
  issue_opcode_o.write(d.op);
  done_o.write(halted_q_);
  error_o.write(error_q_);
  cycle_o.write(cycle_q_);
  total_cycles_o.write(total_q_);
  cnt_array_active_o.write(c_active_q_);
  cnt_weight_stall_o.write(c_wstall_q_);
  cnt_weight_shift_o.write(c_wshift_q_);
  cnt_non_matrix_o.write(c_nonmatrix_q_);
  cnt_raw_stall_o.write(c_raw_q_);
  cnt_input_stall_o.write(c_input_q_);
}

void controller::trace(Vcd& v, const std::string& s) {
  v.add_u64(s, "pc_q", 32, [this] { return pc_q_; });
  v.add_u64(s, "if_valid_q", 1, [this] { return if_valid_q_; });
  v.add_u64(s, "if_pc_q", 32, [this] { return if_pc_q_; });
  v.add(s, "if_instr_q", 128,
        [this](uint32_t* w) { std::copy(if_instr_q_.begin(), if_instr_q_.end(), w); });
  v.add_u64(s, "id_valid_q", 1, [this] { return id_valid_q_; });
  v.add_u64(s, "id_pc_q", 32, [this] { return id_pc_q_; });
  v.add(s, "id_instr_q", 128,
        [this](uint32_t* w) { std::copy(id_instr_q_.begin(), id_instr_q_.end(), w); });
  v.add_u64(s, "halted_q", 1, [this] { return halted_q_; });
  v.add_u64(s, "error_q", 1, [this] { return error_q_; });
  v.add_u64(s, "w_pend_q", 16, [this] { return w_pend_q_; });
  v.add_u64(s, "dma_rd_left_q", 32, [this] { return dma_rd_left_q_; });
  v.add_u64(s, "dma_wr_left_q", 32, [this] { return dma_wr_left_q_; });
  v.add_u64(s, "dma_rd_lo_q", bank_bits_, [this] { return dma_rd_lo_q_; });
  v.add_u64(s, "dma_rd_hi_q", bank_bits_, [this] { return dma_rd_hi_q_; });
  v.add_u64(s, "dma_wr_lo_q", bank_bits_, [this] { return dma_wr_lo_q_; });
  v.add_u64(s, "dma_wr_hi_q", bank_bits_, [this] { return dma_wr_hi_q_; });
  v.add_u64(s, "act_wr_lo_q", bank_bits_, [this] { return act_wr_lo_q_; });
  v.add_u64(s, "act_wr_hi_q", bank_bits_, [this] { return act_wr_hi_q_; });
  for (uint32_t m = 0; m < Mxus; ++m) {
    const std::string g = s + ".gen_mxu[" + std::to_string(m) + "]";
    const MxuSeq* x = &mx_[m];
    v.add_u64(g, "mx_left_q", 32, [x] { return x->mx_left_q; });
    v.add_u64(g, "mx_ub_q", ub_bits_, [x] { return x->mx_ub_q; });
    v.add_u64(g, "mx_acc_q", acc_bits_, [x] { return x->mx_acc_q; });
    v.add_u64(g, "mxu_pend_q", 16, [x] { return x->mxu_pend_q; });
    v.add_u64(g, "mxu_valid_q", 1, [x] { return x->mxu_valid_q; });
    v.add_u64(g, "mxu_switch_q", 1, [x] { return x->mxu_switch_q; });
    v.add_u64(g, "mxu_chain_q", 1, [x] { return x->mxu_chain_q; });
    v.add_u64(g, "mxu_acc_addr_q", acc_bits_, [x] { return x->mxu_acc_addr_q; });
    v.add_u64(g, "mxu_rd_lo_q", bank_bits_, [x] { return x->mxu_rd_lo_q; });
    v.add_u64(g, "mxu_rd_hi_q", bank_bits_, [x] { return x->mxu_rd_hi_q; });
  }
  v.add_u64(s, "mult_q", 32, [this] { return mult_q_; });
  v.add_u64(s, "shift_q", 6, [this] { return shift_q_; });
  v.add_u64(s, "round_q", 2, [this] { return round_q_; });
  v.add_u64(s, "pool_in_q", 32, [this] { return pool_in_q_; });
  v.add_u64(s, "pool_window_q", 32, [this] { return pool_window_q_; });
  v.add_u64(s, "pool_pad_q", 32, [this] { return pool_pad_q_; });
  v.add_u64(s, "pool_recip_q", 25, [this] { return pool_recip_q_; });
  v.add_u64(s, "issue_valid_o", 1, [this] { return issue_valid_o.read(); });
  v.add_u64(s, "issue_pc_o", 32, [this] { return issue_pc_o.read(); });
  v.add_u64(s, "issue_opcode_o", 8, [this] { return issue_opcode_o.read(); });
  v.add_u64(s, "host_start_o", 1, [this] { return host_start_o.read(); });
  v.add_u64(s, "w_start_o", 1, [this] { return w_start_o.read(); });
  v.add_u64(s, "w_mxu_o", Mxus > 1 ? clog2(Mxus) : 1, [this] { return w_mxu_o.read(); });
  // the RTL's packed per-MXU vectors, MXU m at bit m
  auto bits = [this](sc_core::sc_vector<sc_core::sc_out<bool>>* vec) {
    return [this, vec] {
      uint64_t b = 0;
      for (uint32_t m = 0; m < Mxus; ++m) b |= uint64_t((*vec)[m].read()) << m;
      return b;
    };
  };
  v.add_u64(s, "switch_o", Mxus, bits(&switch_o));
  v.add_u64(s, "mxu_valid_o", Mxus, bits(&mxu_valid_o));
  v.add_u64(s, "mxu_switch_o", Mxus, bits(&mxu_switch_o));
  v.add_u64(s, "mxu_ub_re_o", Mxus, bits(&mxu_ub_re_o));
  v.add_u64(s, "mxu_chain_o", Mxus, bits(&mxu_chain_o));
  v.add_u64(s, "act_start_o", 1, [this] { return act_start_o.read(); });
  v.add_u64(s, "done_o", 1, [this] { return done_o.read(); });
  v.add_u64(s, "cycle_o", 64, [this] { return cycle_o.read(); });
  v.add_u64(s, "cnt_array_active_o", 64, [this] { return cnt_array_active_o.read(); });
  v.add_u64(s, "cnt_weight_stall_o", 64, [this] { return cnt_weight_stall_o.read(); });
  v.add_u64(s, "cnt_weight_shift_o", 64, [this] { return cnt_weight_shift_o.read(); });
  v.add_u64(s, "cnt_non_matrix_o", 64, [this] { return cnt_non_matrix_o.read(); });
}

}  // namespace tpusim::sc
