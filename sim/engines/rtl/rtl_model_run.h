// The RTL engine's runner as a template over the verilated model; compiled once per preset
// (rtl/CMakeLists.txt (tpusim_verilated_dispatch) generates one translation unit per verilated
// library).
#pragma once

#include <cstring>
#include <memory>
#include <stdexcept>
#include <type_traits>

#include <fmt/format.h>
#include <verilated.h>

#include "models/errors.h"
#include "sim/engines/functional/functional.h"
#include "sim/engines/result_builder.h"
#include "sim/engines/rtl/rtl_engine.h"
#include "sim/isa/isa.h"

namespace tpusim::rtl_detail {

template <typename T>
std::enable_if_t<std::is_integral_v<T>> to_words(const T& port, uint32_t* w, size_t n) {
  w[0] = uint32_t(uint64_t(port));
  if (n > 1) w[1] = uint32_t(uint64_t(port) >> 32);
}
template <std::size_t N>
void to_words(const VlWide<N>& port, uint32_t* w, size_t n) {
  for (size_t i = 0; i < n && i < N; ++i) w[i] = port.at(i);
}
template <typename T>
std::enable_if_t<std::is_integral_v<T>> from_bytes(T& port, const int8_t* b, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v |= uint64_t(uint8_t(b[i])) << (8 * i);
  port = T(v);
}
template <std::size_t N>
void from_bytes(VlWide<N>& port, const int8_t* b, size_t n) {
  for (size_t w = 0; w < N; ++w) port.at(w) = 0;
  for (size_t i = 0; i < n; ++i) port.at(i / 4) |= uint32_t(uint8_t(b[i])) << (8 * (i % 4));
}

template <class Model>
void tick(Model& m) {
  m.clk_i = 1;
  m.eval();
  m.clk_i = 0;
  m.eval();
}

template <class Model>
EngineResult run_model(const TpuConfig& cfg, const Program& prog, const EngineOptions& opt,
                       uint64_t host_vectors_param, uint64_t imem_depth) {
  validate_program(cfg, prog);
  EngineOptions fo;
  fo.values = false;
  fo.record_timeline = false;
  const uint64_t fast_cycles = run_fast(cfg, prog, fo).counts.cycles;
  const uint64_t W = cfg.vector_bytes(), C = cfg.array.cols;
  ArchState init = ArchState::initial(cfg, prog);
  const uint64_t hv = init.host.size() / W;
  if (hv > host_vectors_param || prog.code.size() > imem_depth)
    throw InputError(fmt::format(
        "{}: the program needs {} host vectors and {} instructions; the verilated model has {} "
        "and {}",
        prog.name, hv, prog.code.size(), host_vectors_param, imem_depth));

  // A VerilatedContext makes itself the thread's context; once this one is gone, the default
  // context is the thread's again, so that a verilated model built later in this thread (the
  // lockstep bench's SystemC model) does not find a deleted one.
  struct RestoreContext {
    ~RestoreContext() { Verilated::threadContextp(Verilated::defaultContextp()); }
  } restore_context;
  auto ctx = std::make_unique<VerilatedContext>();
  auto m = std::make_unique<Model>(ctx.get(), "tpu_top");
  m->clk_i = 0;
  m->rst_ni = 0;
  m->eval();
  tick(*m);
  for (size_t pc = 0; pc < prog.code.size(); ++pc) {
    const auto bytes = encode(prog.code[pc]);
    from_bytes(m->bd_imem_wdata_i, reinterpret_cast<const int8_t*>(bytes.data()), 16);
    m->bd_imem_addr_i = uint32_t(pc);
    m->bd_imem_we_i = 1;
    tick(*m);
  }
  m->bd_imem_we_i = 0;
  if (opt.values) {
    for (uint64_t v = 0; v < hv; ++v) {
      from_bytes(m->bd_host_wdata_i, init.host.data() + v * W, W);
      m->bd_host_addr_i = uint32_t(v);
      m->bd_host_we_i = 1;
      tick(*m);
    }
    m->bd_host_we_i = 0;
    for (uint64_t row = 0; row < init.weights.size() / C; ++row) {
      from_bytes(m->bd_wmem_wdata_i, init.weights.data() + row * C, C);
      m->bd_wmem_addr_i = uint32_t(row);
      m->bd_wmem_we_i = 1;
      tick(*m);
    }
    m->bd_wmem_we_i = 0;
  }
  m->rst_ni = 1;
  m->eval();

  ResultBuilder rb(cfg, prog, opt.record_timeline, opt.layer_of, opt.layers);
  const uint64_t M = cfg.mxus;
  std::vector<uint32_t> wbuf(std::max<uint64_t>((W + 3) / 4, M * C) + 2), tags(M + 2);
  const uint32_t acc_bits = [&] {
    uint32_t b = 0;
    while ((uint64_t(1) << b) < cfg.accumulator_entries) ++b;
    return b;
  }();
  auto counters = [&] {
    return Counters6{m->cnt_array_active_o, m->cnt_weight_stall_o, m->cnt_weight_shift_o,
                     m->cnt_non_matrix_o,   m->cnt_raw_stall_o,    m->cnt_input_stall_o};
  };
  const uint64_t max_cycles = 2 * fast_cycles + 10000;
  for (uint64_t c = 0;; ++c) {
    if (c > max_cycles) throw std::runtime_error("RTL did not halt");
    if (opt.on_cycles && c % kProgressCycles == 0) opt.on_cycles(c);
    m->eval();
    // obs_fifo_arrive_o: one bit per MXU; the weight DMA delivers at most one tile per cycle
    rb.cycle(c, m->issue_valid_o, m->issue_pc_o, m->obs_fifo_arrive_o != 0,
             rb.wants_counters() || m->done_o ? counters() : Counters6{});
    if (m->done_o) break;
    if (opt.values) {
      // replay the writes this cycle's edge performs (the observation ports)
      if (m->obs_dma_ub_we_o) {
        to_words(m->obs_dma_ub_wdata_o, wbuf.data(), (W + 3) / 4);
        std::memcpy(init.ub.data() + uint64_t(m->obs_dma_ub_addr_o) * W, wbuf.data(), W);
      }
      if (m->obs_act_ub_we_o) {
        to_words(m->obs_act_ub_wdata_o, wbuf.data(), (W + 3) / 4);
        std::memcpy(init.ub.data() + uint64_t(m->obs_act_ub_addr_o) * W, wbuf.data(), W);
      }
      if (m->obs_psum_valid_o) {
        // the accumulators' write stages write these rows one edge later; no read can come in
        // between for race-free programs (nor two MXUs write one row), so applying them now, in
        // MXU order, gives the same final state
        to_words(m->obs_psum_o, wbuf.data(), M * C);
        to_words(m->obs_psum_tag_o, tags.data(), M);
        for (uint64_t x = 0; x < M; ++x) {
          if (!((uint64_t(m->obs_psum_valid_o) >> x) & 1u)) continue;
          const uint32_t tag = tags[x];
          const bool accumulate = (tag >> acc_bits) & 1u;
          int32_t* row = init.acc.data() + uint64_t(tag & ((1u << acc_bits) - 1)) * C;
          for (uint64_t k = 0; k < C; ++k)
            row[k] = int32_t((accumulate ? uint32_t(row[k]) : 0u) + wbuf[x * C + k]);
        }
      }
    }
    tick(*m);
    if (ctx->gotFinish()) throw std::runtime_error("RTL called $finish/$stop");
  }
  if (m->error_o) throw std::runtime_error("RTL stopped with error_o");
  rb.finish(m->total_cycles_o, counters());
  EngineResult res = std::move(rb.res);
  if (opt.values) {
    for (uint64_t v = 0; v < hv; ++v) {
      m->bd_host_addr_i = uint32_t(v);
      m->eval();
      to_words(m->bd_host_rdata_o, wbuf.data(), (W + 3) / 4);
      std::memcpy(init.host.data() + v * W, wbuf.data(), W);
    }
    for (const Instruction& in : prog.code)
      if (in.op == Opcode::kSetConfig) init.apply(in);
    res.values.state = std::move(init);
    res.values.host_writes = rb.host_writes;
    res.values.counts = res.counts;
    res.has_values = true;
  }
  m->final();
  return res;
}

}  // namespace tpusim::rtl_detail
