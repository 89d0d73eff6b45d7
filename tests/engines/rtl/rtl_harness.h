// RtlHarness: runs a tpusim::Program on a verilated tpu_top (any preset) and returns what the
// contract of sim/isa/ISA.md makes observable: per-instruction issue cycles, total cycles, the six
// performance counters, and the final host memory image.
//
// Memories are loaded through tpu_top's back-door ports while the core is held in reset; the
// initial images are tpusim::ArchState::initial(cfg, prog), the functional executor's own.
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include <fmt/format.h>
#include <verilated.h>

#include "models/config.h"
#include "sim/engines/functional/functional.h"
#include "sim/isa/isa.h"
#include "sim/isa/program.h"

namespace tpusim::rtl_test {

struct Counters {
  uint64_t array_active = 0, weight_stall = 0, weight_shift = 0, non_matrix = 0, raw_stall = 0,
           input_stall = 0;
  bool operator==(const Counters& o) const {
    return array_active == o.array_active && weight_stall == o.weight_stall &&
           weight_shift == o.weight_shift && non_matrix == o.non_matrix &&
           raw_stall == o.raw_stall && input_stall == o.input_stall;
  }
};

inline std::string to_string(const Counters& c) {
  return fmt::format("active={} wstall={} wshift={} nonmatrix={} raw={} input={}", c.array_active,
                     c.weight_stall, c.weight_shift, c.non_matrix, c.raw_stall, c.input_stall);
}

struct RtlResult {
  std::vector<uint64_t> issue_cycle;  // per pc; UINT64_MAX when never issued
  uint64_t total_cycles = 0;
  Counters counters;
  std::vector<Counters> trace;  // counters at the start of every cycle (when tracing)
  std::vector<int8_t> host;     // host vectors [0, host image size)
  bool error = false;
};

namespace detail {
template <typename T>
std::enable_if_t<std::is_integral_v<T>> pack(T& port, const int8_t* b, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v |= uint64_t(uint8_t(b[i])) << (8 * i);
  port = T(v);
}
template <std::size_t N>
void pack(VlWide<N>& port, const int8_t* b, size_t n) {
  for (size_t w = 0; w < N; ++w) port.at(w) = 0;
  for (size_t i = 0; i < n; ++i) port.at(i / 4) |= uint32_t(uint8_t(b[i])) << (8 * (i % 4));
}
template <typename T>
std::enable_if_t<std::is_integral_v<T>> unpack(const T& port, int8_t* b, size_t n) {
  for (size_t i = 0; i < n; ++i) b[i] = int8_t(uint8_t(uint64_t(port) >> (8 * i)));
}
template <std::size_t N>
void unpack(const VlWide<N>& port, int8_t* b, size_t n) {
  for (size_t i = 0; i < n; ++i) b[i] = int8_t(uint8_t(port.at(i / 4) >> (8 * (i % 4))));
}
}  // namespace detail

template <class Model>
class RtlHarness {
 public:
  explicit RtlHarness(const TpuConfig& cfg) : cfg_(cfg) {}

  // Runs `prog` from reset until halt (or `max_cycles`, then throws). `trace` keeps the
  // counters of every cycle (for T-1 / T checks).
  RtlResult run(const Program& prog, bool trace = false, uint64_t max_cycles = 2'000'000) {
    const uint64_t W = cfg_.vector_bytes(), C = cfg_.array.cols;
    auto ctx = std::make_unique<VerilatedContext>();
    auto m = std::make_unique<Model>(ctx.get(), "tpu_top");
    m->clk_i = 0;
    m->rst_ni = 0;
    m->eval();
    tick(*m);

    // instruction memory
    for (size_t pc = 0; pc < prog.code.size(); ++pc) {
      const auto bytes = encode(prog.code[pc]);
      detail::pack(m->bd_imem_wdata_i, reinterpret_cast<const int8_t*>(bytes.data()), 16);
      m->bd_imem_addr_i = uint32_t(pc);
      m->bd_imem_we_i = 1;
      tick(*m);
    }
    m->bd_imem_we_i = 0;

    const ArchState init = ArchState::initial(cfg_, prog);
    const uint64_t host_vectors = init.host.size() / W;
    if (host_vectors > uint64_t(TPUSIM_RTL_HOST_VECTORS))
      throw std::runtime_error("program needs more host memory than the RTL model has");
    for (uint64_t v = 0; v < host_vectors; ++v) {
      detail::pack(m->bd_host_wdata_i, init.host.data() + v * W, W);
      m->bd_host_addr_i = uint32_t(v);
      m->bd_host_we_i = 1;
      tick(*m);
    }
    m->bd_host_we_i = 0;
    const uint64_t weight_rows = init.weights.size() / C;
    for (uint64_t row = 0; row < weight_rows; ++row) {
      detail::pack(m->bd_wmem_wdata_i, init.weights.data() + row * C, C);
      m->bd_wmem_addr_i = uint32_t(row);
      m->bd_wmem_we_i = 1;
      tick(*m);
    }
    m->bd_wmem_we_i = 0;

    // Release reset between two clock edges: the next cycle is cycle 0.
    m->rst_ni = 1;
    m->eval();

    RtlResult res;
    res.issue_cycle.assign(prog.code.size(), UINT64_MAX);
    for (uint64_t guard = 0;; ++guard) {
      if (guard > max_cycles) throw std::runtime_error("RTL did not halt");
      m->eval();
      if (m->done_o) break;
      if (trace) res.trace.push_back(read_counters(*m));
      if (m->issue_valid_o) {
        const uint32_t pc = m->issue_pc_o;
        if (pc >= res.issue_cycle.size()) throw std::runtime_error("issue past program end");
        if (m->cycle_o != guard) throw std::runtime_error("cycle counter disagrees with bench");
        res.issue_cycle[pc] = m->cycle_o;
      }
      tick(*m);
      if (ctx->gotFinish()) throw std::runtime_error("RTL called $finish/$stop");
    }
    res.error = m->error_o;
    res.total_cycles = m->total_cycles_o;
    res.counters = read_counters(*m);

    res.host.assign(host_vectors * W, 0);
    for (uint64_t v = 0; v < host_vectors; ++v) {
      m->bd_host_addr_i = uint32_t(v);
      m->eval();
      detail::unpack(m->bd_host_rdata_o, res.host.data() + v * W, W);
    }
    m->final();
    return res;
  }

 private:
  static void tick(Model& m) {
    m.clk_i = 1;
    m.eval();
    m.clk_i = 0;
    m.eval();
  }
  static Counters read_counters(const Model& m) {
    Counters c;
    c.array_active = m.cnt_array_active_o;
    c.weight_stall = m.cnt_weight_stall_o;
    c.weight_shift = m.cnt_weight_shift_o;
    c.non_matrix = m.cnt_non_matrix_o;
    c.raw_stall = m.cnt_raw_stall_o;
    c.input_stall = m.cnt_input_stall_o;
    return c;
  }

  TpuConfig cfg_;
};

}  // namespace tpusim::rtl_test
