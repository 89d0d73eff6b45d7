// The lockstep bench of sim/engines/cosim/lockstep.h as a template over the verilated model;
// compiled once per preset (rtl/CMakeLists.txt (tpusim_verilated_dispatch) generates one
// translation unit per verilated SystemC library).
#pragma once

#include <cstring>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <systemc>

#include "models/errors.h"

#include "models/config.h"
#include "sim/engines/cosim/lockstep.h"
#include "sim/engines/cycle/cycle_engine.h"
#include "sim/engines/cycle/tpu_top.h"
#include "sim/engines/cycle/vcd.h"
#include "sim/engines/functional/functional.h"
#include "sim/isa/isa.h"

namespace tpusim::cosim_detail {

using namespace tpusim::sc;

template <typename T>
std::string show(const T& v) {
  std::ostringstream os;
  if constexpr (std::is_same_v<T, bool>)
    os << int(v);
  else if constexpr (std::is_integral_v<T>)
    os << "0x" << std::hex << uint64_t(v);
  else
    os << v.to_string(sc_dt::SC_HEX);
  return os.str();
}

// Outputs of one twin (the per-MXU observation ports packed as the RTL's, every MXU compared).
template <class P>
struct Outs {
  sc_core::sc_signal<typename P::Vec> bd_host_rdata_o;
  sc_core::sc_signal<bool> issue_valid_o, done_o, error_o, obs_dma_ub_we_o, obs_act_ub_we_o;
  sc_core::sc_signal<typename P::MxuFlags> obs_psum_valid_o, obs_fifo_arrive_o;
  sc_core::sc_signal<typename P::MxuTags> obs_psum_tag_o;
  sc_core::sc_signal<uint32_t> issue_pc_o, issue_opcode_o, obs_dma_ub_addr_o, obs_act_ub_addr_o;
  sc_core::sc_signal<uint64_t> cycle_o, total_cycles_o, cnt_array_active_o, cnt_weight_stall_o,
      cnt_weight_shift_o, cnt_non_matrix_o, cnt_raw_stall_o, cnt_input_stall_o;
  sc_core::sc_signal<typename P::Vec> obs_dma_ub_wdata_o, obs_act_ub_wdata_o;
  sc_core::sc_signal<typename P::Psum> obs_psum_o;
};

template <class Rtl, int VecBits, int ColBits, int Mxus>
class LockstepBench : public sc_core::sc_module {
 public:
  using P = VerilatorPorts<VecBits, ColBits, Mxus>;
  using Twin = tpu_top<P>;

  sc_core::sc_clock clk;
  sc_core::sc_signal<bool> rst_n{"rst_n", false};
  sc_core::sc_signal<bool> bd_imem_we, bd_host_we, bd_wmem_we;
  sc_core::sc_signal<uint32_t> bd_imem_addr, bd_host_addr, bd_wmem_addr;
  sc_core::sc_signal<sc_dt::sc_bv<128>> bd_imem_wdata;
  sc_core::sc_signal<typename P::Vec> bd_host_wdata;
  sc_core::sc_signal<typename P::ColBytes> bd_wmem_wdata;
  Outs<P> ra, sa;  // rtl, systemc
  std::unique_ptr<Rtl> rtl;
  std::unique_ptr<Twin> twin;

  // stimulus: one entry per load edge
  struct Load {
    int kind;  // 0 none, 1 imem, 2 host, 3 wmem
    uint32_t addr;
    std::vector<uint32_t> words;
  };
  std::vector<Load> loads;
  uint64_t host_vectors = 0;
  uint32_t vec_bytes = 0;
  uint64_t max_cycles = 0;

  enum class Phase { kLoad, kRun, kReadback, kDone } phase = Phase::kLoad;
  size_t load_i = 0;
  uint64_t run_cycle = 0, readback_i = 0, edges = 0;
  bool finished = false, mismatch = false;
  std::string what;
  uint64_t total = 0;
  std::vector<int8_t> host;
  Vcd* vcd = nullptr;
  bool perturb = false;

  SC_HAS_PROCESS(LockstepBench);
  LockstepBench(sc_core::sc_module_name name, const TpuTopParams& prm)
      : sc_core::sc_module(name),
        clk("clk", sc_core::sc_time(2, sc_core::SC_NS), 0.5, sc_core::sc_time(1, sc_core::SC_NS),
            true) {
    rtl = std::make_unique<Rtl>("tpu_top_rtl");
    twin = std::make_unique<Twin>("tpu_top", prm);
    bind(*rtl, ra);
    bind(*twin, sa);
    vec_bytes = prm.VecBytes();
    SC_METHOD(drive);
    sensitive << clk.negedge_event();
    dont_initialize();
    SC_METHOD(compare);
    sensitive << clk.posedge_event();
    dont_initialize();
  }

  // The same binding code for either twin: the port names are the RTL's.
  template <class M>
  void bind(M& m, Outs<P>& o) {
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
  }

  // Falling edge: inputs for the next rising edge.
  void drive() {
    if (finished) return;
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
        if (perturb) twin->host_mem().vector(0)[0] ^= 1;
        phase = Phase::kRun;
      }
    } else if (phase == Phase::kReadback) {
      bd_host_addr.write(uint32_t(readback_i));
    }
  }

  template <typename T>
  bool same(const char* name, const sc_core::sc_signal<T>& r, const sc_core::sc_signal<T>& s) {
    if (r.read() == s.read()) return true;
    std::ostringstream os;
    const char* ph = phase == Phase::kLoad ? "load" : phase == Phase::kRun ? "run" : "read-back";
    os << "cycle " << (phase == Phase::kRun ? run_cycle : edges) << " (" << ph << "): " << name
       << ": rtl=" << show(r.read()) << " systemc=" << show(s.read());
    what = os.str();
    mismatch = true;
    return false;
  }

  bool compare_all() {
    return same("issue_valid_o", ra.issue_valid_o, sa.issue_valid_o) &&
           same("issue_pc_o", ra.issue_pc_o, sa.issue_pc_o) &&
           same("issue_opcode_o", ra.issue_opcode_o, sa.issue_opcode_o) &&
           same("done_o", ra.done_o, sa.done_o) && same("error_o", ra.error_o, sa.error_o) &&
           same("cycle_o", ra.cycle_o, sa.cycle_o) &&
           same("total_cycles_o", ra.total_cycles_o, sa.total_cycles_o) &&
           same("cnt_array_active_o", ra.cnt_array_active_o, sa.cnt_array_active_o) &&
           same("cnt_weight_stall_o", ra.cnt_weight_stall_o, sa.cnt_weight_stall_o) &&
           same("cnt_weight_shift_o", ra.cnt_weight_shift_o, sa.cnt_weight_shift_o) &&
           same("cnt_non_matrix_o", ra.cnt_non_matrix_o, sa.cnt_non_matrix_o) &&
           same("cnt_raw_stall_o", ra.cnt_raw_stall_o, sa.cnt_raw_stall_o) &&
           same("cnt_input_stall_o", ra.cnt_input_stall_o, sa.cnt_input_stall_o) &&
           same("obs_dma_ub_we_o", ra.obs_dma_ub_we_o, sa.obs_dma_ub_we_o) &&
           same("obs_dma_ub_addr_o", ra.obs_dma_ub_addr_o, sa.obs_dma_ub_addr_o) &&
           same("obs_dma_ub_wdata_o", ra.obs_dma_ub_wdata_o, sa.obs_dma_ub_wdata_o) &&
           same("obs_act_ub_we_o", ra.obs_act_ub_we_o, sa.obs_act_ub_we_o) &&
           same("obs_act_ub_addr_o", ra.obs_act_ub_addr_o, sa.obs_act_ub_addr_o) &&
           same("obs_act_ub_wdata_o", ra.obs_act_ub_wdata_o, sa.obs_act_ub_wdata_o) &&
           same("obs_psum_valid_o", ra.obs_psum_valid_o, sa.obs_psum_valid_o) &&
           same("obs_psum_tag_o", ra.obs_psum_tag_o, sa.obs_psum_tag_o) &&
           same("obs_psum_o", ra.obs_psum_o, sa.obs_psum_o) &&
           same("obs_fifo_arrive_o", ra.obs_fifo_arrive_o, sa.obs_fifo_arrive_o) &&
           same("bd_host_rdata_o", ra.bd_host_rdata_o, sa.bd_host_rdata_o);
  }

  void stop() {
    finished = true;
    sc_core::sc_pause();
  }

  // Rising edge: both twins' outputs still hold the settled values of the ending cycle.
  void compare() {
    if (finished) return;
    ++edges;
    if (phase == Phase::kRun && vcd) vcd->sample(2 * run_cycle);
    if (!compare_all()) return stop();
    if (phase == Phase::kRun) {
      if (ra.done_o.read()) {
        total = ra.total_cycles_o.read();
        phase = host_vectors ? Phase::kReadback : Phase::kDone;
        if (phase == Phase::kDone) return stop();
        return;
      }
      if (++run_cycle > max_cycles) {
        what = "no halt within " + std::to_string(max_cycles) + " cycles";
        mismatch = true;
        return stop();
      }
    } else if (phase == Phase::kReadback) {
      // bd_host_rdata_o is combinational: it shows the vector drive() addressed
      std::vector<uint32_t> w((vec_bytes + 3) / 4);
      PortCodec<typename P::Vec>::to_words(ra.bd_host_rdata_o.read(), w.data(), w.size());
      const int8_t* b = reinterpret_cast<const int8_t*>(w.data());
      host.insert(host.end(), b, b + vec_bytes);
      if (++readback_i == host_vectors) return stop();
    }
  }
};

// Runs one program in lockstep on Rtl (a verilated SystemC tpu_top) and the twin.
template <class Rtl, int VecBits, int ColBits, int Mxus>
CosimOutcome run_lockstep(const TpuConfig& cfg, const Program& prog, const std::string& vcd_path,
                          uint32_t host_vectors_param, uint32_t imem_depth, bool perturb) {
  using Bench = LockstepBench<Rtl, VecBits, ColBits, Mxus>;
  validate_program(cfg, prog);
  const uint64_t W = cfg.vector_bytes(), C = cfg.array.cols;
  const ArchState init = ArchState::initial(cfg, prog);
  const uint64_t hv = init.host.size() / W;
  if (hv > host_vectors_param || prog.code.size() > imem_depth)
    throw InputError(
        fmt::format("{}: the program needs more host ({} vectors) or instruction "
                    "memory than the verilated model has",
                    prog.name, hv));
  const TpuTopParams prm = tpu_top_params(cfg, host_vectors_param, imem_depth);

  EngineOptions fo;
  fo.values = false;
  fo.record_timeline = false;
  const uint64_t fast_cycles = run_fast(cfg, prog, fo).counts.cycles;

  new_sc_context();
  auto bench = std::make_unique<Bench>("bench", prm);
  std::unique_ptr<Vcd> vcd;
  if (!vcd_path.empty()) {
    vcd = std::make_unique<Vcd>(vcd_path);
    bench->twin->trace(*vcd);
    bench->vcd = vcd.get();
  }
  bench->max_cycles = 2 * fast_cycles + 10000;
  bench->host_vectors = hv;
  bench->perturb = perturb;
  // the RTL harness's sequence: one reset edge, then the back-door loads
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
  while (!bench->finished) sc_core::sc_start();
  CosimOutcome out;
  out.match = !bench->mismatch;
  out.mismatch = bench->what;
  out.cycles = bench->total;
  out.edges = bench->edges;
  out.host = std::move(bench->host);
  bench.reset();
  return out;
}

}  // namespace tpusim::cosim_detail
