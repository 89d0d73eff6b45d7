// controller: SystemC twin of rtl/controller.v (instruction memory, 2-stage front end, in-order
// blocking issue with the chained inputs' condition (an mmc with fan F waits for MXUs d .. d + F)
// and the UB bank interlock (each unit's last UB window: its banks, registered at issue, and
// whether it is open), one input sequencer per MXU, setc registers, the six counters). Same ports,
// same parameters, same registers; see the RTL file for the behaviour. The RTL's per-MXU buses (bit
// or field m for MXU m) are port vectors here, element m for MXU m, and gen_mxu[m]'s registers one
// MxuSeq each. A chain mmc held at a clock edge (the RTL's assertion) throws std::logic_error
// naming its pc: validated programs never hold one (sim/isa/ISA.md, the paragraph after the timing
// table).
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include <systemc>

#include "sim/engines/cycle/bits.h"
#include "sim/engines/cycle/vcd.h"

namespace tpusim::sc {

class controller : public sc_core::sc_module {
 public:
  sc_core::sc_in<bool> clk_i, rst_ni;
  sc_core::sc_in<bool> bd_imem_we_i;
  sc_core::sc_in<uint32_t> bd_imem_addr_i;
  sc_core::sc_in<sc_dt::sc_bv<128>> bd_imem_wdata_i;
  sc_core::sc_in<bool> host_busy_i, w_free_i, rw_done_i, act_busy_i;
  sc_core::sc_vector<sc_core::sc_in<bool>> shadow_full_i{"shadow_full_i"},
      tile_arrived_i{"tile_arrived_i"}, mmc_done_i{"mmc_done_i"};
  sc_core::sc_out<bool> host_start_o, host_write_o;
  sc_core::sc_out<uint32_t> host_addr_o, host_ub_addr_o, host_n_o;
  sc_core::sc_out<bool> w_start_o;
  sc_core::sc_out<uint32_t> w_tile_o, w_n_o, w_mxu_o;
  sc_core::sc_vector<sc_core::sc_out<bool>> switch_o{"switch_o"};
  sc_core::sc_vector<sc_core::sc_out<uint32_t>> mxu_ub_addr_o{"mxu_ub_addr_o"};
  sc_core::sc_vector<sc_core::sc_out<bool>> mxu_ub_re_o{"mxu_ub_re_o"};
  sc_core::sc_vector<sc_core::sc_out<bool>> mxu_valid_o{"mxu_valid_o"},
      mxu_switch_o{"mxu_switch_o"}, mxu_last_o{"mxu_last_o"}, mxu_accumulate_o{"mxu_accumulate_o"},
      mxu_chain_o{"mxu_chain_o"};
  sc_core::sc_vector<sc_core::sc_out<uint32_t>> mxu_acc_addr_o{"mxu_acc_addr_o"};
  sc_core::sc_out<bool> act_start_o;
  sc_core::sc_out<uint32_t> act_acc_addr_o, act_ub_addr_o, act_n_o, act_function_o, act_pool_o,
      act_pool_log2_o, act_mult_o, act_shift_o, act_round_o, act_pool2d_o, act_out_n_o,
      act_pool_in_o, act_pool_window_o, act_pool_pad_o, act_pool_recip_o;
  sc_core::sc_out<bool> issue_valid_o;
  sc_core::sc_out<uint32_t> issue_pc_o, issue_opcode_o;
  sc_core::sc_out<bool> done_o, error_o;
  sc_core::sc_out<uint64_t> cycle_o, total_cycles_o, cnt_array_active_o, cnt_weight_stall_o,
      cnt_weight_shift_o, cnt_non_matrix_o, cnt_raw_stall_o, cnt_input_stall_o;

  SC_HAS_PROCESS(controller);
  controller(sc_core::sc_module_name name, uint32_t ImemDepth, uint32_t UbVectors, uint32_t UbBanks,
             uint32_t AccEntries, uint32_t Mxus);

  // Back door for engines: the instruction memory (word 0 first), and the setc registers.
  void load_imem(uint32_t addr, const std::array<uint32_t, 4>& word);
  uint32_t mult() const { return mult_q_; }
  uint32_t shift() const { return shift_q_; }
  uint32_t round() const { return round_q_; }
  uint32_t pool_in() const { return pool_in_q_; }
  uint32_t pool_window() const { return pool_window_q_; }
  uint32_t pool_pad() const { return pool_pad_q_; }
  uint32_t pool_recip() const { return pool_recip_q_; }
  void trace(Vcd& vcd, const std::string& scope);

 private:
  struct Decode {
    uint32_t op, flags, imm, fa, fb, fc;
    bool legal, can_issue, run, issue, held, id_ready, if_ready, is_mmc, inject, switch_w;
    bool chain;             // mmc: flag bit 2 (its rows are MXU d - 1's)
    uint32_t fan;           // mmc: flags [5:3], its followers
    uint32_t mxu_start;     // bit m: an mmc starts on MXU m (is_mmc and d == m)
    uint32_t in_fan;        // bit m: MXU m is d + j, j = 0..fan (the RTL's mxu_in_fan)
    uint32_t ub_lo, ub_hi;  // the banks of its UB vectors (the RTL's ub_lo, ub_hi)
  };
  // a UB vector's bank (the RTL's bank_of, for any address of UbAddrBits bits)
  uint32_t bank_of(uint32_t a) const;
  Decode decode() const;
  void seq();
  void comb();
  // seq() updates registers only; comb() alone drives the outputs (one writer per signal),
  // woken by this event after every register update.
  sc_core::sc_event state_ev_;

  const uint32_t ImemDepth, UbVectors, UbBanks, AccEntries, Mxus;
  const uint32_t BankVecs, Banks;  // the RTL's localparams
  const uint32_t imem_bits_, ub_bits_, acc_bits_, bank_bits_;
  std::vector<std::array<uint32_t, 4>> imem_;

  uint32_t pc_q_ = 0;
  bool if_valid_q_ = false;
  uint32_t if_pc_q_ = 0;
  std::array<uint32_t, 4> if_instr_q_{};
  bool id_valid_q_ = false;
  uint32_t id_pc_q_ = 0;
  std::array<uint32_t, 4> id_instr_q_{};
  bool halted_q_ = false, error_q_ = false;
  // gen_mxu[m]: MXU m's input sequencer and incomplete-mmc counter
  struct MxuSeq {
    uint32_t mx_left_q = 0, mx_ub_q = 0, mx_acc_q = 0;
    bool mx_accumulate_q = false, mx_chain_q = false;
    uint32_t mxu_pend_q = 0;  // 16-bit counter
    bool mxu_valid_q = false, mxu_switch_q = false, mxu_last_q = false, mxu_accumulate_q = false,
         mxu_chain_q = false;
    uint32_t mxu_acc_addr_q = 0;
    uint32_t mxu_rd_lo_q = 0, mxu_rd_hi_q = 0;  // the banks of its last mmc's inputs
  };
  std::vector<MxuSeq> mx_;
  uint32_t w_pend_q_ = 0;  // 16-bit counter
  // the bank windows of the DMA (whm reads, rhm writes) and of the activation unit (its writes)
  uint32_t dma_rd_left_q_ = 0, dma_wr_left_q_ = 0;
  uint32_t dma_rd_lo_q_ = 0, dma_rd_hi_q_ = 0, dma_wr_lo_q_ = 0, dma_wr_hi_q_ = 0, act_wr_lo_q_ = 0,
           act_wr_hi_q_ = 0;
  uint32_t mult_q_ = 0x40000000u, shift_q_ = 30, round_q_ = 0;
  uint32_t pool_in_q_ = 0x00010001u, pool_window_q_ = 0x01010101u, pool_pad_q_ = 0,
           pool_recip_q_ = 1u << 24;
  uint64_t cycle_q_ = 0, total_q_ = 0, c_active_q_ = 0, c_wstall_q_ = 0, c_wshift_q_ = 0,
           c_nonmatrix_q_ = 0, c_raw_q_ = 0, c_input_q_ = 0;
};

}  // namespace tpusim::sc
