// Verilator's SystemC harness of sim/tools/verilator_bench.h as a template over the verilated
// SystemC model; rtl/CMakeLists.txt (tpusim_verilated_dispatch) compiles it once per benchmarked
// preset against tpusim_rtl_sc_<id>.
#pragma once

#include <cstring>
#include <memory>
#include <stdexcept>
#include <vector>

#include <verilated.h>  // first: with VM_SC it brings in SystemC its own way
#include <systemc>

#include "sim/engines/cosim/lockstep_bench.h"
#include "sim/engines/cycle/cycle_engine.h"
#include "sim/engines/functional/functional.h"
#include "sim/isa/isa.h"
#include "sim/tools/verilator_bench.h"

namespace tpusim::sc::vbench {

// Verilator's SystemC model alone under an sc_clock: the stimulus and observation of the
// lockstep bench (inputs driven on the falling edge, outputs sampled on the rising edge),
// pausing the kernel at the phase boundaries so that each phase is timed on its own.
template <class Rtl, int VecBits, int ColBits>
class RtlScBench : public sc_core::sc_module {
 public:
  using P = VerilatorPorts<VecBits, ColBits>;
  sc_core::sc_clock clk;
  sc_core::sc_signal<bool> rst_n{"rst_n", false};
  sc_core::sc_signal<bool> bd_imem_we, bd_host_we, bd_wmem_we;
  sc_core::sc_signal<uint32_t> bd_imem_addr, bd_host_addr, bd_wmem_addr;
  sc_core::sc_signal<sc_dt::sc_bv<128>> bd_imem_wdata;
  sc_core::sc_signal<typename P::Vec> bd_host_wdata;
  sc_core::sc_signal<typename P::ColBytes> bd_wmem_wdata;
  cosim_detail::Outs<P> o;
  std::unique_ptr<Rtl> rtl;

  struct Load {
    int kind;  // 0 none, 1 imem, 2 host, 3 wmem
    uint32_t addr;
    std::vector<uint32_t> words;
  };
  std::vector<Load> loads;
  enum class Phase { kLoad, kRun, kReadback, kDone } phase = Phase::kLoad;
  size_t load_i = 0;
  uint64_t run_cycle = 0, max_cycles = 0, host_vectors = 0, readback_i = 0, total = 0;
  uint32_t vec_bytes = 0;
  bool timed_out = false;
  std::vector<int8_t> host;

  SC_HAS_PROCESS(RtlScBench);
  explicit RtlScBench(sc_core::sc_module_name name)
      : sc_core::sc_module(name),
        clk("clk", sc_core::sc_time(2, sc_core::SC_NS), 0.5, sc_core::sc_time(1, sc_core::SC_NS),
            true) {
    rtl = std::make_unique<Rtl>("tpu_top_rtl");
    Rtl& m = *rtl;
    m.clk_i(clk);
    m.rst_ni(rst_n);
    m.bd_imem_we_i(bd_imem_we);
    m.bd_imem_addr_i(bd_imem_addr);
    m.bd_imem_wdata_i(bd_imem_wdata);
    m.bd_host_we_i(bd_host_we);
    m.bd_host_addr_i(bd_host_addr);
    m.bd_host_wdata_i(bd_host_wdata);
    m.bd_host_rdata_o(o.bd_host_rdata_o);
    m.bd_wmem_we_i(bd_wmem_we);
    m.bd_wmem_addr_i(bd_wmem_addr);
    m.bd_wmem_wdata_i(bd_wmem_wdata);
    m.issue_valid_o(o.issue_valid_o);
    m.issue_pc_o(o.issue_pc_o);
    m.issue_opcode_o(o.issue_opcode_o);
    m.done_o(o.done_o);
    m.error_o(o.error_o);
    m.cycle_o(o.cycle_o);
    m.total_cycles_o(o.total_cycles_o);
    m.cnt_array_active_o(o.cnt_array_active_o);
    m.cnt_weight_stall_o(o.cnt_weight_stall_o);
    m.cnt_weight_shift_o(o.cnt_weight_shift_o);
    m.cnt_non_matrix_o(o.cnt_non_matrix_o);
    m.cnt_raw_stall_o(o.cnt_raw_stall_o);
    m.cnt_input_stall_o(o.cnt_input_stall_o);
    m.obs_dma_ub_we_o(o.obs_dma_ub_we_o);
    m.obs_dma_ub_addr_o(o.obs_dma_ub_addr_o);
    m.obs_dma_ub_wdata_o(o.obs_dma_ub_wdata_o);
    m.obs_act_ub_we_o(o.obs_act_ub_we_o);
    m.obs_act_ub_addr_o(o.obs_act_ub_addr_o);
    m.obs_act_ub_wdata_o(o.obs_act_ub_wdata_o);
    m.obs_psum_valid_o(o.obs_psum_valid_o);
    m.obs_psum_tag_o(o.obs_psum_tag_o);
    m.obs_psum_o(o.obs_psum_o);
    m.obs_fifo_arrive_o(o.obs_fifo_arrive_o);
    SC_METHOD(drive);
    sensitive << clk.negedge_event();
    dont_initialize();
    SC_METHOD(sample);
    sensitive << clk.posedge_event();
    dont_initialize();
  }

  // Falling edge: inputs for the next rising edge; pauses once reset is released.
  void drive() {
    bd_imem_we.write(false);
    bd_host_we.write(false);
    bd_wmem_we.write(false);
    if (phase == Phase::kLoad) {
      if (load_i < loads.size()) {
        const Load& l = loads[load_i++];
        if (l.kind == 1) {
          bd_imem_we.write(true);
          bd_imem_addr.write(l.addr);
          bd_imem_wdata.write(PortCodec<sc_dt::sc_bv<128>>::from_words(l.words.data(), 4));
        } else if (l.kind == 2) {
          bd_host_we.write(true);
          bd_host_addr.write(l.addr);
          bd_host_wdata.write(
              PortCodec<typename P::Vec>::from_words(l.words.data(), l.words.size()));
        } else if (l.kind == 3) {
          bd_wmem_we.write(true);
          bd_wmem_addr.write(l.addr);
          bd_wmem_wdata.write(
              PortCodec<typename P::ColBytes>::from_words(l.words.data(), l.words.size()));
        }
      } else {
        rst_n.write(true);  // released between two edges: the next edge ends cycle 0
        phase = Phase::kRun;
        sc_core::sc_pause();
      }
    } else if (phase == Phase::kReadback) {
      bd_host_addr.write(uint32_t(readback_i));
    }
  }

  // Rising edge: the outputs still hold the settled values of the ending cycle.
  void sample() {
    if (phase == Phase::kRun) {
      if (o.done_o.read()) {
        total = o.total_cycles_o.read();
        phase = host_vectors ? Phase::kReadback : Phase::kDone;
        sc_core::sc_pause();
      } else if (++run_cycle > max_cycles) {
        timed_out = true;
        phase = Phase::kDone;
        sc_core::sc_pause();
      }
    } else if (phase == Phase::kReadback) {
      std::vector<uint32_t> w((vec_bytes + 3) / 4);
      PortCodec<typename P::Vec>::to_words(o.bd_host_rdata_o.read(), w.data(), w.size());
      const int8_t* b = reinterpret_cast<const int8_t*>(w.data());
      host.insert(host.end(), b, b + vec_bytes);
      if (++readback_i == host_vectors) {
        phase = Phase::kDone;
        sc_core::sc_pause();
      }
    }
  }
};

template <class Rtl, int VecBits, int ColBits>
VerilatorTiming time_sc(const TpuConfig& cfg, const Program& prog, uint64_t host_vectors_param,
                        uint64_t imem_depth) {
  using Bench = RtlScBench<Rtl, VecBits, ColBits>;
  validate_program(cfg, prog);
  const uint64_t max_cycles = max_cycles_of(cfg, prog);
  const uint64_t W = cfg.vector_bytes(), C = cfg.array.cols;
  const ArchState init = ArchState::initial(cfg, prog);
  const uint64_t hv = init.host.size() / W;
  check_fits(prog, hv, host_vectors_param, imem_depth);
  VerilatorTiming t;

  auto t0 = Clock::now();
  new_sc_context();
  // The verilated SystemC model takes the thread's VerilatedContext, which a C++ model run
  // earlier in this process may have left pointing at its deleted context: give it its own.
  auto ctx = std::make_unique<VerilatedContext>();
  Verilated::threadContextp(ctx.get());
  auto bench = std::make_unique<Bench>("bench");
  bench->max_cycles = max_cycles;
  bench->host_vectors = hv;
  bench->vec_bytes = uint32_t(W);
  bench->loads.push_back({0, 0, {}});
  for (size_t pc = 0; pc < prog.code.size(); ++pc) {
    const auto bytes = encode(prog.code[pc]);
    std::vector<uint32_t> w(4);
    std::memcpy(w.data(), bytes.data(), 16);
    bench->loads.push_back({1, uint32_t(pc), w});
  }
  for (uint64_t v = 0; v < hv; ++v) {
    std::vector<uint32_t> w((W + 3) / 4, 0);
    std::memcpy(w.data(), init.host.data() + v * W, W);
    bench->loads.push_back({2, uint32_t(v), w});
  }
  for (uint64_t row = 0; row < init.weights.size() / C; ++row) {
    std::vector<uint32_t> w((C + 3) / 4, 0);
    std::memcpy(w.data(), init.weights.data() + row * C, C);
    bench->loads.push_back({3, uint32_t(row), w});
  }
  t.load_edges = bench->loads.size();
  t.build_s = since(t0);

  // elaboration happens on the first sc_start; it is counted with the load phase
  t0 = Clock::now();
  while (bench->phase == Bench::Phase::kLoad) sc_core::sc_start();
  t.load_s = since(t0);
  t0 = Clock::now();
  while (bench->phase == Bench::Phase::kRun) sc_core::sc_start();
  t.run_s = since(t0);
  if (bench->timed_out) throw std::runtime_error("RTL (SystemC) did not halt");
  if (bench->o.error_o.read()) throw std::runtime_error("RTL (SystemC) stopped with error_o");
  t0 = Clock::now();
  while (bench->phase == Bench::Phase::kReadback) sc_core::sc_start();
  t.readback_s = since(t0);
  t.cycles = bench->total;
  t.host = std::move(bench->host);
  bench.reset();
  return t;
}

}  // namespace tpusim::sc::vbench
