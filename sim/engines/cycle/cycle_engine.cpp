#include "sim/engines/cycle/cycle_engine.h"

#include <cstdlib>
#include <cstring>
#include <memory>

#include <fmt/format.h>
#include <systemc>

#include "models/errors.h"
#include "sim/engines/cycle/tpu_top.h"
#include "sim/engines/cycle/vcd.h"
#include "sim/engines/functional/functional.h"
#include "sim/engines/result_builder.h"
#include "sim/isa/timing.h"

// libsystemc's main() calls sc_main; every tpusim executable has its own main, so this one is
// never run, but the symbol must exist for the link.
int sc_main(int, char**) { return 1; }

namespace tpusim {

namespace sc {

void new_sc_context() {
  static bool first = true;
  if (first) {
    setenv("SC_COPYRIGHT_MESSAGE", "DISABLE", 0);
    first = false;
    if (sc_core::sc_curr_simcontext == nullptr) return;
  }
  // The previous context (and its finished simulation) is left behind, not deleted: its
  // modules are gone, and SystemC 2.3 does not support tearing a context down.
  sc_core::sc_curr_simcontext = new sc_core::sc_simcontext;
  sc_core::sc_default_global_context = sc_core::sc_curr_simcontext;
}

TpuTopParams params_for(const TpuConfig& cfg, const Program& prog) {
  const uint64_t host = std::max<uint64_t>(host_vectors_needed(prog), 1);
  return tpu_top_params(cfg, uint32_t(uint64_t(1) << clog2(std::max<uint64_t>(host, 2))),
                        uint32_t(uint64_t(1) << clog2(prog.code.size() + 2)));
}

namespace {

using Top = tpu_top<GenericPorts>;

// Clock, reset and the observer of the twin's boundary.
class EngineBench : public sc_core::sc_module {
 public:
  sc_core::sc_clock clk;
  sc_core::sc_signal<bool> rst_n{"rst_n", false};
  sc_core::sc_signal<bool> bd_imem_we{"bd_imem_we"}, bd_host_we{"bd_host_we"},
      bd_wmem_we{"bd_wmem_we"};
  sc_core::sc_signal<uint32_t> bd_imem_addr{"bd_imem_addr"}, bd_host_addr{"bd_host_addr"},
      bd_wmem_addr{"bd_wmem_addr"};
  sc_core::sc_signal<sc_dt::sc_bv<128>> bd_imem_wdata{"bd_imem_wdata"};
  sc_core::sc_signal<Bits> bd_host_wdata{"bd_host_wdata"}, bd_host_rdata{"bd_host_rdata"},
      bd_wmem_wdata{"bd_wmem_wdata"};
  sc_core::sc_signal<bool> issue_valid{"issue_valid"}, done{"done"}, error{"error"};
  sc_core::sc_signal<uint32_t> issue_pc{"issue_pc"}, issue_opcode{"issue_opcode"};
  sc_core::sc_signal<uint64_t> cycle{"cycle"}, total{"total"}, c0{"c0"}, c1{"c1"}, c2{"c2"},
      c3{"c3"}, c4{"c4"}, c5{"c5"};
  sc_core::sc_signal<bool> o_dwe{"o_dwe"}, o_awe{"o_awe"};
  sc_core::sc_signal<uint32_t> o_da{"o_da"}, o_aa{"o_aa"}, o_pv{"o_pv"}, o_arr{"o_arr"};
  sc_core::sc_signal<Bits> o_dd{"o_dd"}, o_ad{"o_ad"}, o_pt{"o_pt"}, o_ps{"o_ps"};
  Top top;
  ResultBuilder& rb;
  Vcd* vcd = nullptr;
  uint64_t cyc = 0, max_cycles = 0;
  const std::function<void(uint64_t)>* on_cycles = nullptr;  // EngineOptions::on_cycles, if set
  bool finished = false, timed_out = false;

  SC_HAS_PROCESS(EngineBench);
  EngineBench(sc_core::sc_module_name name, const TpuTopParams& prm, ResultBuilder& rb_)
      : sc_core::sc_module(name),
        clk("clk", sc_core::sc_time(2, sc_core::SC_NS), 0.5, sc_core::sc_time(1, sc_core::SC_NS),
            true),
        top("tpu_top", prm),
        rb(rb_) {
    top.clk_i(clk);
    top.rst_ni(rst_n);
    top.bd_imem_we_i(bd_imem_we);
    top.bd_imem_addr_i(bd_imem_addr);
    top.bd_imem_wdata_i(bd_imem_wdata);
    top.bd_host_we_i(bd_host_we);
    top.bd_host_addr_i(bd_host_addr);
    top.bd_host_wdata_i(bd_host_wdata);
    top.bd_host_rdata_o(bd_host_rdata);
    top.bd_wmem_we_i(bd_wmem_we);
    top.bd_wmem_addr_i(bd_wmem_addr);
    top.bd_wmem_wdata_i(bd_wmem_wdata);
    top.issue_valid_o(issue_valid);
    top.issue_pc_o(issue_pc);
    top.issue_opcode_o(issue_opcode);
    top.done_o(done);
    top.error_o(error);
    top.cycle_o(cycle);
    top.total_cycles_o(total);
    top.cnt_array_active_o(c0);
    top.cnt_weight_stall_o(c1);
    top.cnt_weight_shift_o(c2);
    top.cnt_non_matrix_o(c3);
    top.cnt_raw_stall_o(c4);
    top.cnt_input_stall_o(c5);
    top.obs_dma_ub_we_o(o_dwe);
    top.obs_dma_ub_addr_o(o_da);
    top.obs_dma_ub_wdata_o(o_dd);
    top.obs_act_ub_we_o(o_awe);
    top.obs_act_ub_addr_o(o_aa);
    top.obs_act_ub_wdata_o(o_ad);
    top.obs_psum_valid_o(o_pv);
    top.obs_psum_tag_o(o_pt);
    top.obs_psum_o(o_ps);
    top.obs_fifo_arrive_o(o_arr);
    bd_host_wdata.write(Bits(prm.VecBytes() * 8));
    bd_wmem_wdata.write(Bits(prm.Cols * 8));
    SC_METHOD(sample);
    sensitive << clk.posedge_event();
    dont_initialize();
  }

  Counters6 counters() const {
    return {c0.read(), c1.read(), c2.read(), c3.read(), c4.read(), c5.read()};
  }

  // Rising edge of cycle `cyc`: the signals still hold the settled values of that cycle.
  void sample() {
    if (finished) return;
    if (vcd) vcd->sample(2 * cyc);
    if (cycle.read() != cyc) throw std::runtime_error("cycle counter disagrees with the bench");
    const Counters6 cnt = rb.wants_counters() ? counters() : Counters6{};
    // the weight DMA delivers at most one tile per cycle, to one MXU's FIFO
    rb.cycle(cyc, issue_valid.read(), issue_pc.read(), o_arr.read() != 0, cnt);
    if (done.read()) {
      finished = true;
      sc_core::sc_pause();
      return;
    }
    if (on_cycles && cyc % kProgressCycles == 0) (*on_cycles)(cyc);
    if (++cyc > max_cycles) {
      timed_out = true;
      finished = true;
      sc_core::sc_pause();
    }
  }
};

}  // namespace

}  // namespace sc

EngineResult run_cycle(const TpuConfig& cfg, const Program& prog, const EngineOptions& opt) {
  using namespace sc;
  validate_program(cfg, prog);
  const uint64_t W = cfg.vector_bytes();
  if (!timing::host_link_fits_dma(W, cfg.clock_mhz, cfg.host_link.bandwidth_mb_s,
                                  cfg.host_link.latency_cycles) ||
      !timing::weight_link_fits_dma(cfg.array.rows, timing::weight_tile_transfer_cycles(cfg),
                                    timing::weight_memory_latency_cycles(cfg)))
    throw InputError(fmt::format(
        "{}: the cycle engine mirrors rtl/, whose links move at most one vector (host) and one "
        "tile row (weights) per cycle, deliver a read one cycle after its request, and complete "
        "after the last vector or row (rtl/README.md); host link {} MB/s allows at most {} MB/s "
        "with latency_cycles >= 1 (got {}), weight tile transfer {} cycles needs at least {} and "
        "with the weight memory's latency_cycles ({}) at least {}",
        cfg.name, cfg.host_link.bandwidth_mb_s, W * cfg.clock_mhz, cfg.host_link.latency_cycles,
        timing::weight_tile_transfer_cycles(cfg), cfg.array.rows,
        timing::weight_memory_latency_cycles(cfg), cfg.array.rows + 1));
  // Deadlocks are input errors; the fast engine finds them without running the clock.
  EngineOptions fo;
  fo.values = false;
  fo.record_timeline = false;
  const EngineResult fast = run_fast(cfg, prog, fo);

  ResultBuilder rb(cfg, prog, opt.record_timeline, opt.layer_of, opt.layers);
  const TpuTopParams prm = params_for(cfg, prog);
  ArchState init;
  if (opt.values) init = ArchState::initial(cfg, prog);

  new_sc_context();
  auto bench = std::make_unique<EngineBench>("bench", prm, rb);
  bench->max_cycles = opt.max_cycles ? opt.max_cycles : 2 * fast.counts.cycles + 10000;
  if (opt.on_cycles) bench->on_cycles = &opt.on_cycles;
  std::unique_ptr<Vcd> vcd;
  if (!opt.vcd_path.empty()) {
    vcd = std::make_unique<Vcd>(opt.vcd_path);
    bench->top.trace(*vcd);
    bench->vcd = vcd.get();
  }
  // Memories as the back doors leave them while the core is held in reset.
  for (size_t pc = 0; pc < prog.code.size(); ++pc) {
    const auto bytes = encode(prog.code[pc]);
    std::array<uint32_t, 4> w;
    std::memcpy(w.data(), bytes.data(), 16);
    bench->top.ctrl().load_imem(uint32_t(pc), w);
  }
  if (opt.values) {
    const uint64_t hv = init.host.size() / W;
    for (uint64_t v = 0; v < hv; ++v)
      std::memcpy(bench->top.host_mem().vector(uint32_t(v)), init.host.data() + v * W, W);
    if (!init.weights.empty())
      bench->top.weight_mem().load_rows(0, init.weights.data(),
                                        init.weights.size() / cfg.array.cols);
  }
  bench->rst_n.write(true);  // reset released before the first edge: cycle 0
  while (!bench->finished) sc_core::sc_start();
  if (bench->timed_out)
    throw std::runtime_error(fmt::format("cycle engine: {} did not halt within {} cycles",
                                         prog.name, bench->max_cycles));
  if (bench->error.read()) throw std::runtime_error("cycle engine: the core stopped with error_o");
  rb.finish(bench->total.read(), bench->counters());

  EngineResult res = std::move(rb.res);
  if (opt.values) {
    FunctionalResult& v = res.values;
    v.state = std::move(init);
    const uint64_t hv = v.state.host.size() / W;
    for (uint64_t i = 0; i < hv; ++i)
      std::memcpy(v.state.host.data() + i * W, bench->top.host_mem().vector(uint32_t(i)), W);
    for (uint64_t i = 0; i < cfg.ub_vectors(); ++i)
      std::memcpy(v.state.ub.data() + i * W, bench->top.ub().vector(uint32_t(i)), W);
    const uint32_t C = cfg.array.cols;
    for (uint32_t r = 0; r < cfg.accumulator_entries; ++r)
      std::memcpy(v.state.acc.data() + uint64_t(r) * C, bench->top.acc().row(r), C * 4);
    v.state.mult = int32_t(bench->top.ctrl().mult());
    v.state.shift = bench->top.ctrl().shift();
    v.state.round = uint8_t(bench->top.ctrl().round());
    v.state.pool_in = bench->top.ctrl().pool_in();
    v.state.pool_window = bench->top.ctrl().pool_window();
    v.state.pool_pad = bench->top.ctrl().pool_pad();
    v.state.pool_recip = bench->top.ctrl().pool_recip();
    v.host_writes = rb.host_writes;
    v.counts = res.counts;
    res.has_values = true;
  }
  bench.reset();
  return res;
}

}  // namespace tpusim
