// tpu_top: SystemC twin of rtl/tb/tpu_system.v, the chip (rtl/tpu_top.v: controller + Mxus
// matrix units (gen_mxu[m]: weight FIFO with ShiftPorts shift ports + systolic array) +
// accumulators + activation unit + unified buffer + DMA engine) with the test bench's off-chip
// memories (u_host_memory, u_weight_memory) on its two link interfaces, wired with the RTL's net
// names and instance names (u_controller, u_dma, gen_mxu[m].u_weight_fifo, ...), the same ports
// (tpu_system's: the verilated model's) and the same parameters. The chip's units are children
// of this module, not of a u_chip level as in the RTL (the hierarchy of its VCD is one level
// flatter). The RTL's internal
// buses with one field per MXU are signal vectors here (element m = field m), bound to the port
// vectors of the units; the boundary's per-MXU observation ports are packed as the RTL's.
// Chained inputs (rtl/tpu_top.v): MXU m >= 1's register chain_q[m] (the RTL's
// gen_mxu[m].gen_chain.chain_q) is loaded every cycle with the row array m - 1 is fed
// (mxu_act[m - 1], glue_chain), and array m is fed chain_q[m] while mxu_chain[m], else the UB's
// read data for MXU m (glue_act).
//
// The template argument picks the C++ types of the buses wider than 32 bits: VerilatorPorts<>
// gives exactly the types of Verilator's SystemC output for one preset (so the lockstep bench
// binds this module and the verilated tpu_top to the same signals), GenericPorts gives `Bits`
// for any array size (the cycle engine). Parameters are constructor arguments with the RTL's
// names; VecBytes = max(Rows, Cols) as the RTL's localparam.
#pragma once

#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <systemc>

#include "sim/engines/cycle/accumulators.h"
#include "sim/engines/cycle/activation_unit.h"
#include "sim/engines/cycle/bits.h"
#include "sim/engines/cycle/controller.h"
#include "sim/engines/cycle/dma.h"
#include "sim/engines/cycle/host_memory.h"
#include "sim/engines/cycle/systolic_array.h"
#include "sim/engines/cycle/unified_buffer.h"
#include "sim/engines/cycle/vcd.h"
#include "sim/engines/cycle/weight_fifo.h"
#include "sim/engines/cycle/weight_memory.h"
#include "sim/isa/tpu_top_params.h"

namespace tpusim::sc {

// A named generate block of the RTL (gen_mxu[m] of tpu_top): an empty module whose constructor
// runs `body`, so that the instances `body` creates are its children, as in the RTL's hierarchy.
class gen_block : public sc_core::sc_module {
 public:
  gen_block(sc_core::sc_module_name name, const std::function<void()>& body)
      : sc_core::sc_module(name) {
    body();
  }
};

template <class P>
class tpu_top : public sc_core::sc_module {
 public:
  using Vec = typename P::Vec;
  using ColBytes = typename P::ColBytes;
  using MxuFlags = typename P::MxuFlags;
  using MxuTags = typename P::MxuTags;
  using Psum = typename P::Psum;

  sc_core::sc_in<bool> clk_i, rst_ni;
  sc_core::sc_in<bool> bd_imem_we_i;
  sc_core::sc_in<uint32_t> bd_imem_addr_i;
  sc_core::sc_in<sc_dt::sc_bv<128>> bd_imem_wdata_i;
  sc_core::sc_in<bool> bd_host_we_i;
  sc_core::sc_in<uint32_t> bd_host_addr_i;
  sc_core::sc_in<Vec> bd_host_wdata_i;
  sc_core::sc_out<Vec> bd_host_rdata_o;
  sc_core::sc_in<bool> bd_wmem_we_i;
  sc_core::sc_in<uint32_t> bd_wmem_addr_i;
  sc_core::sc_in<ColBytes> bd_wmem_wdata_i;
  sc_core::sc_out<bool> issue_valid_o;
  sc_core::sc_out<uint32_t> issue_pc_o, issue_opcode_o;
  sc_core::sc_out<bool> done_o, error_o;
  sc_core::sc_out<uint64_t> cycle_o, total_cycles_o, cnt_array_active_o, cnt_weight_stall_o,
      cnt_weight_shift_o, cnt_non_matrix_o, cnt_raw_stall_o, cnt_input_stall_o;
  sc_core::sc_out<bool> obs_dma_ub_we_o;
  sc_core::sc_out<uint32_t> obs_dma_ub_addr_o;
  sc_core::sc_out<Vec> obs_dma_ub_wdata_o;
  sc_core::sc_out<bool> obs_act_ub_we_o;
  sc_core::sc_out<uint32_t> obs_act_ub_addr_o;
  sc_core::sc_out<Vec> obs_act_ub_wdata_o;
  sc_core::sc_out<MxuFlags> obs_psum_valid_o;   // bit m: MXU m
  sc_core::sc_out<MxuTags> obs_psum_tag_o;      // bits [32m +: 32]
  sc_core::sc_out<Psum> obs_psum_o;             // bits [32 Cols m +: 32 Cols]
  sc_core::sc_out<MxuFlags> obs_fifo_arrive_o;  // bit m

  SC_HAS_PROCESS(tpu_top);
  tpu_top(sc_core::sc_module_name name, const TpuTopParams& prm);

  const TpuTopParams& params() const { return prm_; }
  controller& ctrl() { return *u_controller; }
  dma& dma_unit() { return *u_dma; }
  host_memory& host_mem() { return *u_host_memory; }
  weight_memory& weight_mem() { return *u_weight_memory; }
  unified_buffer& ub() { return *u_unified_buffer; }
  accumulators& acc() { return *u_accumulators; }
  // Registers every port and register under the RTL's hierarchy (tpu_top.u_controller...).
  void trace(Vcd& vcd);

 private:
  void glue_in();
  void glue_chain();
  void glue_act();
  void glue_tag();
  void glue_obs_dma();
  void glue_obs_act();
  void glue_obs_psum();
  void glue_host_rdata();

  TpuTopParams prm_;
  uint32_t vec_bytes_, acc_addr_bits_;

  // controller <-> units (rtl/tpu_top.v net names; a vector: element m = the RTL's field m)
  using BoolVec = sc_core::sc_vector<sc_core::sc_signal<bool>>;
  using U32Vec = sc_core::sc_vector<sc_core::sc_signal<uint32_t>>;
  using BitsVec = sc_core::sc_vector<sc_core::sc_signal<Bits>>;
  sc_core::sc_signal<bool> host_busy{"host_busy"}, host_start{"host_start"},
      host_write{"host_write"};
  sc_core::sc_signal<uint32_t> host_addr{"host_addr"}, host_ub_addr{"host_ub_addr"},
      host_n{"host_n"};
  sc_core::sc_signal<bool> w_free{"w_free"}, rw_done{"rw_done"}, w_start{"w_start"};
  // the links (rtl/tb/tpu_system.v net names)
  sc_core::sc_signal<bool> hl_req_valid{"hl_req_valid"}, hl_req_ready{"hl_req_ready"},
      hl_req_write{"hl_req_write"}, hl_rd_valid{"hl_rd_valid"}, hl_wr_valid{"hl_wr_valid"},
      hl_wr_ready{"hl_wr_ready"}, hl_done{"hl_done"};
  sc_core::sc_signal<uint32_t> hl_req_addr{"hl_req_addr"}, hl_req_len{"hl_req_len"};
  sc_core::sc_signal<Bits> hl_rd_data{"hl_rd_data"}, hl_wr_data{"hl_wr_data"};
  sc_core::sc_signal<bool> wl_req_valid{"wl_req_valid"}, wl_req_ready{"wl_req_ready"},
      wl_rd_valid{"wl_rd_valid"}, wl_arrive{"wl_arrive"};
  sc_core::sc_signal<uint32_t> wl_req_row{"wl_req_row"};
  sc_core::sc_signal<Bits> wl_rd_data{"wl_rd_data"};
  sc_core::sc_signal<uint32_t> w_tile{"w_tile"}, w_n{"w_n"}, w_mxu{"w_mxu"};
  BoolVec shadow_full{"shadow_full"}, tile_arrived{"tile_arrived"}, switch_w{"switch_w"};
  BoolVec mmc_done{"mmc_done"};
  sc_core::sc_signal<bool> act_busy{"act_busy"};
  U32Vec mxu_ub_addr{"mxu_ub_addr"};
  BoolVec mxu_ub_re{"mxu_ub_re"}, mxu_chain{"mxu_chain"};
  BoolVec mxu_valid{"mxu_valid"}, mxu_switch{"mxu_switch"}, mxu_last{"mxu_last"},
      mxu_accumulate{"mxu_accumulate"};
  U32Vec mxu_acc_addr{"mxu_acc_addr"};
  sc_core::sc_signal<bool> act_start{"act_start"};
  sc_core::sc_signal<uint32_t> act_acc_addr{"act_acc_addr"}, act_ub_addr{"act_ub_addr"},
      act_n{"act_n"}, act_mult{"act_mult"}, act_function{"act_function"}, act_pool{"act_pool"},
      act_round{"act_round"}, act_pool_log2{"act_pool_log2"}, act_shift{"act_shift"},
      act_pool2d{"act_pool2d"}, act_out_n{"act_out_n"}, act_pool_in{"act_pool_in"},
      act_pool_window{"act_pool_window"}, act_pool_pad{"act_pool_pad"},
      act_pool_recip{"act_pool_recip"};
  // datapath
  BitsVec mxu_rdata{"mxu_rdata"};
  BitsVec mxu_act{"mxu_act"};  // the row array m is fed (Rows bytes)
  BitsVec chain_q{"chain_q"};  // element m >= 1: gen_mxu[m].gen_chain.chain_q (element 0 unused)
  sc_core::sc_signal<bool> dma_ub_re{"dma_ub_re"}, dma_ub_we{"dma_ub_we"};
  sc_core::sc_signal<uint32_t> dma_ub_addr{"dma_ub_addr"};
  sc_core::sc_signal<Bits> dma_ub_wdata{"dma_ub_wdata"}, dma_ub_rdata{"dma_ub_rdata"};
  sc_core::sc_signal<bool> act_ub_we{"act_ub_we"};
  sc_core::sc_signal<uint32_t> act_ub_addr_w{"act_ub_addr_w"};
  sc_core::sc_signal<Bits> act_ub_wdata{"act_ub_wdata"};
  BoolVec fifo_slot_free{"fifo_slot_free"}, fifo_alloc{"fifo_alloc"}, fifo_wr_en{"fifo_wr_en"},
      fifo_arrive{"fifo_arrive"};
  U32Vec fifo_alloc_slot{"fifo_alloc_slot"};
  sc_core::sc_signal<uint32_t> fifo_wr_addr{"fifo_wr_addr"};
  sc_core::sc_signal<Bits> fifo_wr_data{"fifo_wr_data"};
  // gen_mxu[m]'s weight buses (ShiftPorts * Cols lanes each)
  BitsVec weight_valid{"weight_valid"}, weight_sel{"weight_sel"}, weight{"weight"};
  BoolVec psum_valid{"psum_valid"};
  U32Vec psum_tag{"psum_tag"};
  BitsVec psum{"psum"};
  sc_core::sc_signal<bool> acc_rd_en{"acc_rd_en"};
  sc_core::sc_signal<uint32_t> acc_rd_addr{"acc_rd_addr"};
  sc_core::sc_signal<Bits> acc_rd_data{"acc_rd_data"};
  // glue: {mxu_last, mxu_accumulate, mxu_acc_addr} per MXU, psum_tag split into the accumulator
  // write ports (acc_wr_*), back-door buses as `Bits`
  U32Vec mxu_tag{"mxu_tag"};
  BoolVec acc_wr_accumulate{"acc_wr_accumulate"}, acc_wr_last{"acc_wr_last"};
  U32Vec acc_wr_addr{"acc_wr_addr"};
  sc_core::sc_signal<Bits> bd_host_wdata{"bd_host_wdata"}, bd_host_rdata{"bd_host_rdata"},
      bd_wmem_wdata{"bd_wmem_wdata"};

  std::unique_ptr<controller> u_controller;
  std::unique_ptr<dma> u_dma;
  std::unique_ptr<host_memory> u_host_memory;
  std::unique_ptr<weight_memory> u_weight_memory;
  // gen_mxu[m] and its u_weight_fifo, u_systolic_array
  std::vector<std::unique_ptr<gen_block>> gen_mxu_;
  std::vector<std::unique_ptr<weight_fifo>> u_weight_fifo;
  std::vector<std::unique_ptr<systolic_array>> u_systolic_array;
  std::unique_ptr<unified_buffer> u_unified_buffer;
  std::unique_ptr<accumulators> u_accumulators;
  std::unique_ptr<activation_unit> u_activation_unit;
  Bits tmp_;
  Bits act_row_;                     // glue_act's buffer where Rows < VecBytes
  std::vector<uint32_t> obs_words_;  // glue_obs_psum's packing buffer
  bool obs_psum_zero_ = false;       // obs_psum_o holds zeros
};

}  // namespace tpusim::sc

namespace tpusim::sc {

template <class P>
tpu_top<P>::tpu_top(sc_core::sc_module_name name, const TpuTopParams& prm)
    : sc_core::sc_module(name), prm_(prm) {
  vec_bytes_ = prm.VecBytes();
  acc_addr_bits_ = clog2(prm.AccEntries);
  const uint32_t M = prm.Mxus;
  if constexpr (P::kFixed) {
    if (int(vec_bytes_ * 8) != P::kVecBits || int(prm.Cols * 8) != P::kColBits ||
        int(M) != P::kMxus)
      throw std::logic_error("tpu_top: port widths of the template do not match Rows/Cols/Mxus");
  }
  if (M < 1 || M > 32) throw std::logic_error("tpu_top: Mxus out of range");
  const uint32_t tag_bits = acc_addr_bits_ + 2;  // {last, accumulate, address}
  const uint32_t lanes = prm.ShiftPorts * prm.Cols;
  tmp_ = Bits(prm.Cols * 32 > vec_bytes_ * 8 ? prm.Cols * 32 : vec_bytes_ * 8);
  for (BoolVec* v :
       {&shadow_full, &tile_arrived, &switch_w, &mmc_done, &mxu_ub_re, &mxu_chain, &mxu_valid,
        &mxu_switch, &mxu_last, &mxu_accumulate, &fifo_slot_free, &fifo_alloc, &fifo_wr_en,
        &fifo_arrive, &psum_valid, &acc_wr_accumulate, &acc_wr_last})
    v->init(M);
  for (U32Vec* v :
       {&mxu_ub_addr, &mxu_acc_addr, &fifo_alloc_slot, &psum_tag, &mxu_tag, &acc_wr_addr})
    v->init(M);
  for (BitsVec* v : {&mxu_rdata, &mxu_act, &chain_q, &weight_valid, &weight_sel, &weight, &psum})
    v->init(M);
  // buses start with their widths (as the RTL's zero-initialized nets)
  for (auto* s : {&dma_ub_wdata, &dma_ub_rdata, &act_ub_wdata, &bd_host_wdata, &bd_host_rdata,
                  &hl_rd_data, &hl_wr_data})
    s->write(Bits(vec_bytes_ * 8));
  for (auto* s : {&fifo_wr_data, &bd_wmem_wdata, &wl_rd_data}) s->write(Bits(prm.Cols * 8));
  for (uint32_t m = 0; m < M; ++m) {
    mxu_rdata[m].write(Bits(vec_bytes_ * 8));
    mxu_act[m].write(Bits(prm.Rows * 8));
    chain_q[m].write(Bits(prm.Rows * 8));
    weight_valid[m].write(Bits(lanes));
    weight_sel[m].write(Bits(lanes * 32));
    weight[m].write(Bits(lanes * 8));
    psum[m].write(Bits(prm.Cols * 32));
  }
  acc_rd_data.write(Bits(prm.Cols * 32));
  act_row_ = Bits(prm.Rows * 8);
  obs_words_.assign(size_t(M) * prm.Cols + M, 0u);

  u_controller = std::make_unique<controller>("u_controller", prm.ImemDepth, prm.UbVectors,
                                              prm.UbBanks, prm.AccEntries, M);
  controller& c = *u_controller;
  c.clk_i(clk_i);
  c.rst_ni(rst_ni);
  c.bd_imem_we_i(bd_imem_we_i);
  c.bd_imem_addr_i(bd_imem_addr_i);
  c.bd_imem_wdata_i(bd_imem_wdata_i);
  c.host_busy_i(host_busy);
  c.w_free_i(w_free);
  c.rw_done_i(rw_done);
  c.shadow_full_i(shadow_full);
  c.tile_arrived_i(tile_arrived);
  c.mmc_done_i(mmc_done);
  c.act_busy_i(act_busy);
  c.host_start_o(host_start);
  c.host_write_o(host_write);
  c.host_addr_o(host_addr);
  c.host_ub_addr_o(host_ub_addr);
  c.host_n_o(host_n);
  c.w_start_o(w_start);
  c.w_tile_o(w_tile);
  c.w_n_o(w_n);
  c.w_mxu_o(w_mxu);
  c.switch_o(switch_w);
  c.mxu_ub_addr_o(mxu_ub_addr);
  c.mxu_ub_re_o(mxu_ub_re);
  c.mxu_valid_o(mxu_valid);
  c.mxu_switch_o(mxu_switch);
  c.mxu_last_o(mxu_last);
  c.mxu_accumulate_o(mxu_accumulate);
  c.mxu_chain_o(mxu_chain);
  c.mxu_acc_addr_o(mxu_acc_addr);
  c.act_start_o(act_start);
  c.act_acc_addr_o(act_acc_addr);
  c.act_ub_addr_o(act_ub_addr);
  c.act_n_o(act_n);
  c.act_function_o(act_function);
  c.act_pool_o(act_pool);
  c.act_pool_log2_o(act_pool_log2);
  c.act_mult_o(act_mult);
  c.act_shift_o(act_shift);
  c.act_round_o(act_round);
  c.act_pool2d_o(act_pool2d);
  c.act_out_n_o(act_out_n);
  c.act_pool_in_o(act_pool_in);
  c.act_pool_window_o(act_pool_window);
  c.act_pool_pad_o(act_pool_pad);
  c.act_pool_recip_o(act_pool_recip);
  c.issue_valid_o(issue_valid_o);
  c.issue_pc_o(issue_pc_o);
  c.issue_opcode_o(issue_opcode_o);
  c.done_o(done_o);
  c.error_o(error_o);
  c.cycle_o(cycle_o);
  c.total_cycles_o(total_cycles_o);
  c.cnt_array_active_o(cnt_array_active_o);
  c.cnt_weight_stall_o(cnt_weight_stall_o);
  c.cnt_weight_shift_o(cnt_weight_shift_o);
  c.cnt_non_matrix_o(cnt_non_matrix_o);
  c.cnt_raw_stall_o(cnt_raw_stall_o);
  c.cnt_input_stall_o(cnt_input_stall_o);

  u_dma = std::make_unique<dma>("u_dma", prm.Rows, prm.Cols, vec_bytes_, prm.UbVectors,
                                prm.FifoTiles, M);
  dma& d = *u_dma;
  d.clk_i(clk_i);
  d.rst_ni(rst_ni);
  d.host_start_i(host_start);
  d.host_write_i(host_write);
  d.host_addr_i(host_addr);
  d.host_ub_addr_i(host_ub_addr);
  d.host_n_i(host_n);
  d.host_busy_o(host_busy);
  d.ub_re_o(dma_ub_re);
  d.ub_we_o(dma_ub_we);
  d.ub_addr_o(dma_ub_addr);
  d.ub_wdata_o(dma_ub_wdata);
  d.ub_rdata_i(dma_ub_rdata);
  d.w_start_i(w_start);
  d.w_tile_i(w_tile);
  d.w_n_i(w_n);
  d.w_mxu_i(w_mxu);
  d.w_free_o(w_free);
  d.rw_done_o(rw_done);
  d.fifo_slot_free_i(fifo_slot_free);
  d.fifo_alloc_slot_i(fifo_alloc_slot);
  d.fifo_alloc_o(fifo_alloc);
  d.fifo_wr_en_o(fifo_wr_en);
  d.fifo_wr_addr_o(fifo_wr_addr);
  d.fifo_wr_data_o(fifo_wr_data);
  d.fifo_arrive_o(fifo_arrive);
  d.hl_req_valid_o(hl_req_valid);
  d.hl_req_ready_i(hl_req_ready);
  d.hl_req_write_o(hl_req_write);
  d.hl_req_addr_o(hl_req_addr);
  d.hl_req_len_o(hl_req_len);
  d.hl_rd_valid_i(hl_rd_valid);
  d.hl_rd_data_i(hl_rd_data);
  d.hl_wr_valid_o(hl_wr_valid);
  d.hl_wr_ready_i(hl_wr_ready);
  d.hl_wr_data_o(hl_wr_data);
  d.hl_done_i(hl_done);
  d.wl_req_valid_o(wl_req_valid);
  d.wl_req_ready_i(wl_req_ready);
  d.wl_req_row_o(wl_req_row);
  d.wl_rd_valid_i(wl_rd_valid);
  d.wl_rd_data_i(wl_rd_data);
  d.wl_arrive_i(wl_arrive);

  // the test bench's side of the links (rtl/tb/tpu_system.v)
  u_host_memory = std::make_unique<host_memory>("u_host_memory", vec_bytes_, prm.HostVectors,
                                                prm.ClockMhz, prm.HostBwMbS, prm.HostLatency);
  host_memory& h = *u_host_memory;
  h.clk_i(clk_i);
  h.rst_ni(rst_ni);
  h.hl_req_valid_i(hl_req_valid);
  h.hl_req_ready_o(hl_req_ready);
  h.hl_req_write_i(hl_req_write);
  h.hl_req_addr_i(hl_req_addr);
  h.hl_req_len_i(hl_req_len);
  h.hl_rd_valid_o(hl_rd_valid);
  h.hl_rd_data_o(hl_rd_data);
  h.hl_wr_valid_i(hl_wr_valid);
  h.hl_wr_ready_o(hl_wr_ready);
  h.hl_wr_data_i(hl_wr_data);
  h.hl_done_o(hl_done);
  h.bd_we_i(bd_host_we_i);
  h.bd_addr_i(bd_host_addr_i);
  h.bd_wdata_i(bd_host_wdata);
  h.bd_rdata_o(bd_host_rdata);
  u_weight_memory = std::make_unique<weight_memory>(
      "u_weight_memory", prm.Rows, prm.Cols, prm.WeightTiles, M * prm.FifoTiles, prm.ClockMhz,
      prm.WeightBwMbS, prm.WeightLatency);
  weight_memory& wm = *u_weight_memory;
  wm.clk_i(clk_i);
  wm.rst_ni(rst_ni);
  wm.wl_req_valid_i(wl_req_valid);
  wm.wl_req_ready_o(wl_req_ready);
  wm.wl_req_row_i(wl_req_row);
  wm.wl_rd_valid_o(wl_rd_valid);
  wm.wl_rd_data_o(wl_rd_data);
  wm.wl_arrive_o(wl_arrive);
  wm.bd_we_i(bd_wmem_we_i);
  wm.bd_addr_i(bd_wmem_addr_i);
  wm.bd_wdata_i(bd_wmem_wdata);

  // gen_mxu[m]: MXU m's weight FIFO and systolic array
  for (uint32_t m = 0; m < M; ++m) {
    gen_mxu_.push_back(
        std::make_unique<gen_block>(("gen_mxu[" + std::to_string(m) + "]").c_str(), [&, m] {
          u_weight_fifo.push_back(std::make_unique<weight_fifo>(
              "u_weight_fifo", prm.Rows, prm.Cols, prm.FifoTiles, prm.ShiftPorts, prm.BusRows));
          weight_fifo& f = *u_weight_fifo.back();
          f.clk_i(clk_i);
          f.rst_ni(rst_ni);
          f.slot_free_o(fifo_slot_free[m]);
          f.alloc_slot_o(fifo_alloc_slot[m]);
          f.alloc_i(fifo_alloc[m]);
          f.wr_en_i(fifo_wr_en[m]);
          f.wr_addr_i(fifo_wr_addr);
          f.wr_data_i(fifo_wr_data);
          f.arrive_i(fifo_arrive[m]);
          f.switch_i(switch_w[m]);
          f.shadow_full_o(shadow_full[m]);
          f.tile_arrived_o(tile_arrived[m]);
          f.weight_valid_o(weight_valid[m]);
          f.weight_sel_o(weight_sel[m]);
          f.weight_o(weight[m]);

          u_systolic_array.push_back(std::make_unique<systolic_array>(
              "u_systolic_array", prm.Rows, prm.Cols, tag_bits, prm.ShiftPorts, prm.BusRows));
          systolic_array& a = *u_systolic_array.back();
          a.clk_i(clk_i);
          a.rst_ni(rst_ni);
          a.valid_i(mxu_valid[m]);
          a.switch_i(mxu_switch[m]);
          a.tag_i(mxu_tag[m]);
          a.act_i(mxu_act[m]);
          a.valid_o(psum_valid[m]);
          a.tag_o(psum_tag[m]);
          a.psum_o(psum[m]);
          a.weight_valid_i(weight_valid[m]);
          a.weight_sel_i(weight_sel[m]);
          a.weight_i(weight[m]);
        }));
  }

  u_unified_buffer = std::make_unique<unified_buffer>("u_unified_buffer", prm.UbVectors,
                                                      prm.UbBanks, vec_bytes_, M);
  unified_buffer& u = *u_unified_buffer;
  u.clk_i(clk_i);
  u.mxu_re_i(mxu_ub_re);
  u.mxu_addr_i(mxu_ub_addr);
  u.mxu_rdata_o(mxu_rdata);
  u.dma_re_i(dma_ub_re);
  u.dma_we_i(dma_ub_we);
  u.dma_addr_i(dma_ub_addr);
  u.dma_wdata_i(dma_ub_wdata);
  u.dma_rdata_o(dma_ub_rdata);
  u.act_we_i(act_ub_we);
  u.act_addr_i(act_ub_addr_w);
  u.act_wdata_i(act_ub_wdata);

  u_accumulators = std::make_unique<accumulators>("u_accumulators", prm.AccEntries, prm.Cols, M);
  accumulators& mm = *u_accumulators;
  mm.clk_i(clk_i);
  mm.rst_ni(rst_ni);
  mm.wr_valid_i(psum_valid);
  mm.wr_accumulate_i(acc_wr_accumulate);
  mm.wr_last_i(acc_wr_last);
  mm.wr_addr_i(acc_wr_addr);
  mm.wr_data_i(psum);
  mm.mmc_done_o(mmc_done);
  mm.rd_en_i(acc_rd_en);
  mm.rd_addr_i(acc_rd_addr);
  mm.rd_data_o(acc_rd_data);

  u_activation_unit = std::make_unique<activation_unit>("u_activation_unit", prm.Cols, vec_bytes_,
                                                        prm.AccEntries, prm.UbVectors);
  activation_unit& t = *u_activation_unit;
  t.clk_i(clk_i);
  t.rst_ni(rst_ni);
  t.start_i(act_start);
  t.acc_addr_i(act_acc_addr);
  t.ub_addr_i(act_ub_addr);
  t.n_i(act_n);
  t.function_i(act_function);
  t.pool_i(act_pool);
  t.pool_log2_i(act_pool_log2);
  t.mult_i(act_mult);
  t.shift_i(act_shift);
  t.round_i(act_round);
  t.pool2d_i(act_pool2d);
  t.out_n_i(act_out_n);
  t.pool_in_i(act_pool_in);
  t.pool_window_i(act_pool_window);
  t.pool_pad_i(act_pool_pad);
  t.pool_recip_i(act_pool_recip);
  t.busy_o(act_busy);
  t.acc_rd_en_o(acc_rd_en);
  t.acc_rd_addr_o(acc_rd_addr);
  t.acc_rd_data_i(acc_rd_data);
  t.ub_we_o(act_ub_we);
  t.ub_addr_o(act_ub_addr_w);
  t.ub_wdata_o(act_ub_wdata);

  SC_METHOD(glue_in);
  sensitive << bd_host_wdata_i << bd_wmem_wdata_i;
  if (M > 1) {
    SC_METHOD(glue_chain);
    sensitive << clk_i.pos();
    dont_initialize();
  }
  SC_METHOD(glue_act);
  for (uint32_t m = 0; m < M; ++m) sensitive << mxu_rdata[m] << mxu_chain[m] << chain_q[m];
  SC_METHOD(glue_tag);
  for (uint32_t m = 0; m < M; ++m)
    sensitive << mxu_last[m] << mxu_accumulate[m] << mxu_acc_addr[m] << psum_tag[m];
  SC_METHOD(glue_obs_dma);
  sensitive << dma_ub_we << dma_ub_addr << dma_ub_wdata;
  SC_METHOD(glue_obs_act);
  sensitive << act_ub_we << act_ub_addr_w << act_ub_wdata;
  SC_METHOD(glue_obs_psum);
  for (uint32_t m = 0; m < M; ++m)
    sensitive << psum_valid[m] << psum_tag[m] << psum[m] << fifo_arrive[m];
  SC_METHOD(glue_host_rdata);
  sensitive << bd_host_rdata;
}

template <class P>
void tpu_top<P>::glue_in() {
  Bits v(vec_bytes_ * 8), r(prm_.Cols * 8);
  PortCodec<Vec>::to_words(bd_host_wdata_i.read(), v.u32(), v.words());
  bd_host_wdata.write(v);
  PortCodec<ColBytes>::to_words(bd_wmem_wdata_i.read(), r.u32(), r.words());
  bd_wmem_wdata.write(r);
}

template <class P>
void tpu_top<P>::glue_chain() {
  // chain_q[m] <= the row array m - 1 is fed (its value before this edge)
  for (uint32_t m = 1; m < prm_.Mxus; ++m) chain_q[m].write(mxu_act[m - 1].read());
}

template <class P>
void tpu_top<P>::glue_act() {
  // array m's input row: chain_q[m] for a chain mmc's row, else lanes [0, Rows) of the UB's read
  // data for MXU m (mxu_chain[0] is never set: the decoder checks a chain mmc's d >= 1)
  for (uint32_t m = 0; m < prm_.Mxus; ++m) {
    if (m > 0 && mxu_chain[m].read()) {
      mxu_act[m].write(chain_q[m].read());
    } else if (prm_.Rows == vec_bytes_) {
      mxu_act[m].write(mxu_rdata[m].read());
    } else {
      std::memcpy(act_row_.bytes(), mxu_rdata[m].read().bytes(), prm_.Rows);
      mxu_act[m].write(act_row_);
    }
  }
}

template <class P>
void tpu_top<P>::glue_tag() {
  for (uint32_t m = 0; m < prm_.Mxus; ++m) {
    mxu_tag[m].write((uint32_t(mxu_last[m].read()) << (acc_addr_bits_ + 1)) |
                     (uint32_t(mxu_accumulate[m].read()) << acc_addr_bits_) |
                     mxu_acc_addr[m].read());
    const uint32_t tag = psum_tag[m].read();
    acc_wr_accumulate[m].write((tag >> acc_addr_bits_) & 1u);
    acc_wr_last[m].write((tag >> (acc_addr_bits_ + 1)) & 1u);
    acc_wr_addr[m].write(tag & uint32_t(mask_bits(acc_addr_bits_)));
  }
}

template <class P>
void tpu_top<P>::glue_obs_dma() {
  const bool we = dma_ub_we.read();
  obs_dma_ub_we_o.write(we);
  obs_dma_ub_addr_o.write(we ? dma_ub_addr.read() : 0u);
  const size_t n = (vec_bytes_ * 8 + 31) / 32;
  if (we)
    obs_dma_ub_wdata_o.write(PortCodec<Vec>::from_words(dma_ub_wdata.read().u32(), n));
  else
    obs_dma_ub_wdata_o.write(PortCodec<Vec>::from_words(Bits(vec_bytes_ * 8).u32(), n));
}

template <class P>
void tpu_top<P>::glue_obs_act() {
  const bool we = act_ub_we.read();
  obs_act_ub_we_o.write(we);
  obs_act_ub_addr_o.write(we ? act_ub_addr_w.read() : 0u);
  const size_t n = (vec_bytes_ * 8 + 31) / 32;
  if (we)
    obs_act_ub_wdata_o.write(PortCodec<Vec>::from_words(act_ub_wdata.read().u32(), n));
  else
    obs_act_ub_wdata_o.write(PortCodec<Vec>::from_words(Bits(vec_bytes_ * 8).u32(), n));
}

template <class P>
void tpu_top<P>::glue_obs_psum() {
  // the RTL's packed observation buses: MXU m at bit m, tag word m, result words [m * Cols, ..)
  const uint32_t M = prm_.Mxus, C = prm_.Cols;
  uint32_t valid = 0, arrive = 0;
  for (uint32_t m = 0; m < M; ++m) {
    valid |= uint32_t(psum_valid[m].read()) << m;
    arrive |= uint32_t(fifo_arrive[m].read()) << m;
  }
  obs_psum_valid_o.write(PortCodec<MxuFlags>::from_words(&valid, 1));
  obs_fifo_arrive_o.write(PortCodec<MxuFlags>::from_words(&arrive, 1));
  uint32_t* tags = obs_words_.data() + size_t(M) * C;
  for (uint32_t m = 0; m < M; ++m) tags[m] = (valid >> m) & 1u ? psum_tag[m].read() : 0u;
  obs_psum_tag_o.write(PortCodec<MxuTags>::from_words(tags, M));
  if (valid == 0 && obs_psum_zero_) return;  // zeros already
  for (uint32_t m = 0; m < M; ++m) {
    uint32_t* w = obs_words_.data() + size_t(m) * C;
    if ((valid >> m) & 1u)
      std::copy(psum[m].read().u32(), psum[m].read().u32() + C, w);
    else
      std::fill(w, w + C, 0u);
  }
  obs_psum_o.write(PortCodec<Psum>::from_words(obs_words_.data(), size_t(M) * C));
  obs_psum_zero_ = valid == 0;
}

template <class P>
void tpu_top<P>::glue_host_rdata() {
  const Bits& b = bd_host_rdata.read();
  bd_host_rdata_o.write(PortCodec<Vec>::from_words(b.u32(), b.words()));
}

template <class P>
void tpu_top<P>::trace(Vcd& v) {
  const std::string s = "tpu_top";
  v.add_u64(s, "clk_i", 1, [this] { return clk_i.read(); });
  v.add_u64(s, "rst_ni", 1, [this] { return rst_ni.read(); });
  v.add_u64(s, "issue_valid_o", 1, [this] { return issue_valid_o.read(); });
  v.add_u64(s, "issue_pc_o", 32, [this] { return issue_pc_o.read(); });
  v.add_u64(s, "issue_opcode_o", 8, [this] { return issue_opcode_o.read(); });
  v.add_u64(s, "done_o", 1, [this] { return done_o.read(); });
  v.add_u64(s, "error_o", 1, [this] { return error_o.read(); });
  v.add_u64(s, "cycle_o", 64, [this] { return cycle_o.read(); });
  v.add_u64(s, "total_cycles_o", 64, [this] { return total_cycles_o.read(); });
  v.add_u64(s, "cnt_array_active_o", 64, [this] { return cnt_array_active_o.read(); });
  v.add_u64(s, "cnt_weight_stall_o", 64, [this] { return cnt_weight_stall_o.read(); });
  v.add_u64(s, "cnt_weight_shift_o", 64, [this] { return cnt_weight_shift_o.read(); });
  v.add_u64(s, "cnt_non_matrix_o", 64, [this] { return cnt_non_matrix_o.read(); });
  v.add_u64(s, "cnt_raw_stall_o", 64, [this] { return cnt_raw_stall_o.read(); });
  v.add_u64(s, "cnt_input_stall_o", 64, [this] { return cnt_input_stall_o.read(); });
  // per-MXU nets as the RTL's packed vectors, MXU m at bit m
  auto bits = [this](BoolVec* vec) {
    return [this, vec] {
      uint64_t b = 0;
      for (uint32_t m = 0; m < prm_.Mxus; ++m) b |= uint64_t((*vec)[m].read()) << m;
      return b;
    };
  };
  const uint32_t M = prm_.Mxus;
  v.add_u64(s, "host_busy", 1, [this] { return host_busy.read(); });
  v.add_u64(s, "w_free", 1, [this] { return w_free.read(); });
  v.add_u64(s, "rw_done", 1, [this] { return rw_done.read(); });
  v.add_u64(s, "shadow_full", M, bits(&shadow_full));
  v.add_u64(s, "tile_arrived", M, bits(&tile_arrived));
  v.add_u64(s, "mxu_ub_re", M, bits(&mxu_ub_re));
  v.add_u64(s, "mxu_chain", M, bits(&mxu_chain));
  v.add_u64(s, "dma_ub_re", 1, [this] { return dma_ub_re.read(); });
  v.add_u64(s, "mmc_done", M, bits(&mmc_done));
  v.add_u64(s, "act_busy", 1, [this] { return act_busy.read(); });
  v.add_u64(s, "psum_valid", M, bits(&psum_valid));
  v.add_u64(s, "fifo_arrive", M, bits(&fifo_arrive));
  u_controller->trace(v, s + ".u_controller");
  u_dma->trace(v, s + ".u_dma");
  u_host_memory->trace(v, s + ".u_host_memory");
  u_weight_memory->trace(v, s + ".u_weight_memory");
  for (uint32_t m = 0; m < M; ++m) {
    const std::string g = s + ".gen_mxu[" + std::to_string(m) + "]";
    u_weight_fifo[m]->trace(v, g + ".u_weight_fifo");
    u_systolic_array[m]->trace(v, g + ".u_systolic_array");
  }
  u_unified_buffer->trace(v, s + ".u_unified_buffer");
  u_accumulators->trace(v, s + ".u_accumulators");
  u_activation_unit->trace(v, s + ".u_activation_unit");
}

// The cycle engine's instantiation (any size); the lockstep bench instantiates
// tpu_top<VerilatorPorts<...>> per preset.
extern template class tpu_top<GenericPorts>;

}  // namespace tpusim::sc
