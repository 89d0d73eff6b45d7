// Verilator's C++ harness of sim/tools/verilator_bench.h as a template over the verilated
// model; rtl/CMakeLists.txt (tpusim_verilated_dispatch) compiles it once per benchmarked preset
// against tpusim_rtl_<id>.
#pragma once

#include <cstring>
#include <memory>
#include <stdexcept>
#include <vector>

#include "sim/engines/functional/functional.h"
#include "sim/engines/rtl/rtl_model_run.h"
#include "sim/isa/isa.h"
#include "sim/tools/verilator_bench.h"

namespace tpusim::sc::vbench {

// Verilator's C++ model: the sequence of rtl_detail::run_model (one reset edge, back-door
// loads, reset released, eval / tick until done_o), without its per-cycle observation.
template <class Model>
VerilatorTiming time_cpp(const TpuConfig& cfg, const Program& prog, uint64_t host_vectors_param,
                         uint64_t imem_depth) {
  using namespace rtl_detail;
  validate_program(cfg, prog);
  const uint64_t max_cycles = max_cycles_of(cfg, prog);
  const uint64_t W = cfg.vector_bytes(), C = cfg.array.cols;
  const ArchState init = ArchState::initial(cfg, prog);
  const uint64_t hv = init.host.size() / W;
  check_fits(prog, hv, host_vectors_param, imem_depth);
  VerilatorTiming t;

  auto t0 = Clock::now();
  auto ctx = std::make_unique<VerilatedContext>();
  auto m = std::make_unique<Model>(ctx.get(), "tpu_top");
  t.build_s = since(t0);

  t0 = Clock::now();
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
  t.load_edges = 1 + prog.code.size() + hv + init.weights.size() / C;
  m->rst_ni = 1;
  m->eval();
  t.load_s = since(t0);

  t0 = Clock::now();
  for (uint64_t c = 0;; ++c) {
    if (c > max_cycles) throw std::runtime_error("RTL did not halt");
    m->eval();
    if (m->done_o) break;
    tick(*m);
  }
  t.run_s = since(t0);
  if (m->error_o) throw std::runtime_error("RTL stopped with error_o");
  t.cycles = m->total_cycles_o;

  t0 = Clock::now();
  std::vector<uint32_t> wbuf((W + 3) / 4 + 2);
  t.host.resize(hv * W);
  for (uint64_t v = 0; v < hv; ++v) {
    m->bd_host_addr_i = uint32_t(v);
    m->eval();
    to_words(m->bd_host_rdata_o, wbuf.data(), (W + 3) / 4);
    std::memcpy(t.host.data() + v * W, wbuf.data(), W);
  }
  t.readback_s = since(t0);
  m->final();
  return t;
}

}  // namespace tpusim::sc::vbench
