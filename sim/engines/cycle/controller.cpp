#include "sim/engines/cycle/controller.h"

namespace tpusim::sc {

namespace {
constexpr uint32_t kOpNop = 0x00, kOpHalt = 0x01, kOpRhm = 0x02, kOpWhm = 0x03, kOpRw = 0x04,
                   kOpMmc = 0x05, kOpAct = 0x06, kOpSetc = 0x07, kOpSync = 0x08;
}

controller::controller(sc_core::sc_module_name name, uint32_t ImemDepth_, uint32_t UbVectors_,
                       uint32_t AccEntries_)
    : sc_core::sc_module(name),
      ImemDepth(ImemDepth_),
      UbVectors(UbVectors_),
      AccEntries(AccEntries_),
      imem_bits_(clog2(ImemDepth_)),
      ub_bits_(clog2(UbVectors_)),
      acc_bits_(clog2(AccEntries_)),
      imem_(ImemDepth_) {
  SC_METHOD(seq);
  sensitive << clk_i.pos() << rst_ni.neg();
  dont_initialize();
  SC_METHOD(comb);
  sensitive << state_ev_ << host_busy_i << w_free_i << rw_done_i << shadow_full_i << mmc_done_i
            << act_busy_i;
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
      d.legal = d.flags == 0 && d.imm == 0 && d.fb == 0 && d.fc != 0;
      break;
    case kOpMmc:
      d.legal = (d.flags >> 2) == 0 && d.imm == 0 && d.fc != 0;
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
  const bool mxu_in_free = mx_left_q_ == 0;
  const bool act_done = !act_busy_i.read();
  // incomplete instructions per unit (sync mask bit order)
  const uint32_t pend[4] = {uint32_t(host_busy_i.read()),
                            (w_pend_q_ - uint32_t(rw_done_i.read())) & 0xffffu, mxu_pend_q_,
                            uint32_t(act_busy_i.read())};
  uint32_t within_d = 0, done_mask = 0;
  for (int u = 0; u < 4; ++u) {
    within_d |= uint32_t(pend[u] <= d.imm) << u;
    done_mask |= uint32_t(pend[u] == 0) << u;
  }
  switch (d.op) {
    case kOpRhm:
    case kOpWhm:
      d.can_issue = host_done;
      break;
    case kOpRw:
      d.can_issue = w_free_i.read();
      break;
    case kOpMmc:
      d.can_issue = mxu_in_free && (!(d.flags & 2) || shadow_full_i.read());
      break;
    case kOpAct:
      d.can_issue = act_done;
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
  d.inject = d.is_mmc || mx_left_q_ != 0;
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
    const uint32_t mx_acc_old = mx_acc_q_;
    const bool mx_accumulate_old = mx_accumulate_q_;
    if (d.is_mmc) {
      mx_ub_q_ = (d.fa + 1) & ub_mask;
      mx_acc_q_ = (d.fb + 1) & acc_mask;
      mx_accumulate_q_ = d.flags & 1;
    } else if (d.inject) {
      mx_ub_q_ = (mx_ub_q_ + 1) & ub_mask;
      mx_acc_q_ = (mx_acc_q_ + 1) & acc_mask;
    }
    mxu_acc_addr_q_ = d.is_mmc ? (d.fb & acc_mask) : mx_acc_old;
    mxu_accumulate_q_ = d.is_mmc ? (d.flags & 1) : mx_accumulate_old;
  }
  if (rst) {
    pc_q_ = 0;
    if_valid_q_ = false;
    id_valid_q_ = false;
    halted_q_ = false;
    error_q_ = false;
    mx_left_q_ = 0;
    mxu_valid_q_ = false;
    mxu_switch_q_ = false;
    mxu_last_q_ = false;
    mxu_pend_q_ = w_pend_q_ = 0;
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
    // MXU input sequencer
    mxu_last_q_ = d.is_mmc ? d.fc == 1 : mx_left_q_ == 1;
    mxu_pend_q_ = (mxu_pend_q_ + uint32_t(d.is_mmc) - uint32_t(mmc_done_i.read())) & 0xffffu;
    w_pend_q_ =
        (w_pend_q_ + uint32_t(d.issue && d.op == kOpRw) - uint32_t(rw_done_i.read())) & 0xffffu;
    if (d.is_mmc)
      mx_left_q_ = d.fc - 1;
    else if (mx_left_q_ != 0)
      mx_left_q_ = mx_left_q_ - 1;
    mxu_valid_q_ = d.inject;
    mxu_switch_q_ = d.switch_w;
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
    // counters
    if (d.run) {
      const bool held_switch = d.held && d.op == kOpMmc && (d.flags & 2);
      if (d.issue && d.op == kOpHalt) total_q_ = cycle_q_ + 1;
      cycle_q_ = cycle_q_ + 1;
      if (d.inject) {
        ++c_active_q_;
      } else if ((held_switch && !tile_arrived_i.read()) || (d.held && d.op == kOpRw)) {
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
  switch_o.write(d.switch_w);
  mxu_ub_addr_o.write(d.is_mmc ? (d.fa & uint32_t(mask_bits(ub_bits_))) : mx_ub_q_);
  mxu_valid_o.write(mxu_valid_q_);
  mxu_switch_o.write(mxu_switch_q_);
  mxu_last_o.write(mxu_last_q_);
  mxu_accumulate_o.write(mxu_accumulate_q_);
  mxu_acc_addr_o.write(mxu_acc_addr_q_);
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
  v.add_u64(s, "mx_left_q", 32, [this] { return mx_left_q_; });
  v.add_u64(s, "mx_ub_q", ub_bits_, [this] { return mx_ub_q_; });
  v.add_u64(s, "mx_acc_q", acc_bits_, [this] { return mx_acc_q_; });
  v.add_u64(s, "mxu_pend_q", 16, [this] { return mxu_pend_q_; });
  v.add_u64(s, "w_pend_q", 16, [this] { return w_pend_q_; });
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
  v.add_u64(s, "switch_o", 1, [this] { return switch_o.read(); });
  v.add_u64(s, "act_start_o", 1, [this] { return act_start_o.read(); });
  v.add_u64(s, "mxu_ub_addr_o", ub_bits_, [this] { return mxu_ub_addr_o.read(); });
  v.add_u64(s, "mxu_valid_o", 1, [this] { return mxu_valid_o.read(); });
  v.add_u64(s, "mxu_switch_o", 1, [this] { return mxu_switch_o.read(); });
  v.add_u64(s, "mxu_acc_addr_o", acc_bits_, [this] { return mxu_acc_addr_o.read(); });
  v.add_u64(s, "done_o", 1, [this] { return done_o.read(); });
  v.add_u64(s, "cycle_o", 64, [this] { return cycle_o.read(); });
  v.add_u64(s, "cnt_array_active_o", 64, [this] { return cnt_array_active_o.read(); });
  v.add_u64(s, "cnt_weight_stall_o", 64, [this] { return cnt_weight_stall_o.read(); });
  v.add_u64(s, "cnt_weight_shift_o", 64, [this] { return cnt_weight_shift_o.read(); });
  v.add_u64(s, "cnt_non_matrix_o", 64, [this] { return cnt_non_matrix_o.read(); });
}

}  // namespace tpusim::sc
