#include "sim/engines/cycle/weight_fifo.h"

#include <cstring>

namespace tpusim::sc {

weight_fifo::weight_fifo(sc_core::sc_module_name name, uint32_t Rows_, uint32_t Cols_,
                         uint32_t FifoTiles_, uint32_t ShiftPorts_, uint32_t BusRows_)
    : sc_core::sc_module(name),
      Rows(Rows_),
      Cols(Cols_),
      FifoTiles(FifoTiles_),
      ShiftPorts(ShiftPorts_),
      BusRows(BusRows_) {
  bus_stages_ = (Rows - 1) / BusRows;
  ready_bits_ = bus_stages_ > 1 ? clog2(bus_stages_) : 1;
  slot_bits_ = FifoTiles > 1 ? clog2(FifoTiles) : 1;
  addr_bits_ = clog2(uint64_t(FifoTiles) * Rows);
  row_bits_ = clog2(Rows);
  port_bits_ = ShiftPorts > 1 ? clog2(ShiftPorts) : 1;
  mem_.assign(uint64_t(FifoTiles) * Rows * Cols, 0);
  port_.assign(ShiftPorts, Port{});
  const uint32_t lanes = ShiftPorts * Cols;
  valid_q_.assign(lanes, 0);
  row_q_.assign(lanes, 0);
  addr_q_.assign(lanes, 0);
  live_q_.assign(ShiftPorts, 0);
  s0_.resize(ShiftPorts);
  valid_ = Bits(lanes);
  sel_ = Bits(lanes * 32);
  data_ = Bits(lanes * 8);
  SC_METHOD(seq);
  sensitive << clk_i.pos() << rst_ni.neg();
  dont_initialize();
  SC_METHOD(comb);
  sensitive << state_ev_ << arrive_i;
}

bool weight_fifo::stage0(bool arrive, std::vector<Stage0>& ports) const {
  const uint32_t row_mask = uint32_t(mask_bits(row_bits_));
  const uint32_t addr_mask = uint32_t(mask_bits(addr_bits_));
  const bool head_ready = arrived_q_ != 0 || arrive;
  const bool shift_start = !port_[port_q_].shifting_q && !shadow_full_q_ && head_ready;
  for (uint32_t p = 0; p < ShiftPorts; ++p) {
    Stage0& s = ports[p];
    const Port& q = port_[p];
    s.start = shift_start && p == port_q_;
    s.on = s.start || q.shifting_q;
    s.row = s.start ? 0 : q.shift_row_q;
    s.slot = s.start ? head_q_ : q.slot_q;
    s.end = s.on && s.row == ((Rows - 1) & row_mask);
    s.addr = ((uint32_t(s.slot * Rows) & addr_mask) + s.row) & addr_mask;
  }
  return shift_start;
}

void weight_fifo::seq() {
  const bool edge = clk_i.posedge();
  const bool rst = !rst_ni.read();
  const uint32_t row_mask = uint32_t(mask_bits(row_bits_));
  const uint32_t slot_mask = uint32_t(mask_bits(slot_bits_));
  const uint32_t cnt_mask = uint32_t(mask_bits(slot_bits_ + 1));
  const bool arrive = arrive_i.read();
  const bool shift_start = stage0(arrive, s0_);
  auto next_slot = [&](uint32_t s) { return s == FifoTiles - 1 ? 0u : s + 1; };
  if (edge && wr_en_i.read())
    std::memcpy(mem_.data() + uint64_t(wr_addr_i.read()) * Cols, wr_data_i.read().bytes(), Cols);
  if (rst) {
    tail_q_ = head_q_ = held_q_ = arrived_q_ = port_q_ = 0;
    shadow_full_q_ = false;
    ready_cnt_q_ = 0;
    for (Port& q : port_) q = Port{};
    std::fill(valid_q_.begin(), valid_q_.end(), 0);
    std::fill(live_q_.begin(), live_q_.end(), 0);
  } else if (edge) {
    bool drain_end = false;
    for (uint32_t p = 0; p < ShiftPorts; ++p) {
      const Stage0& s0 = s0_[p];
      const uint32_t base = p * Cols;
      const bool last_valid = Cols == 1 ? s0.on : valid_q_[base + Cols - 1] != 0;
      const uint32_t last_row = Cols == 1 ? s0.row : row_q_[base + Cols - 1];
      drain_end = drain_end || (last_valid && last_row == ((Rows - 1) & row_mask));
      // column skew: stage c <= stage c - 1 (row_q/addr_q are not reset in the RTL either)
      if (live_q_[p] != 0 || s0.on) {
        for (uint32_t c = Cols - 1; c >= 2; --c) {
          valid_q_[base + c] = valid_q_[base + c - 1];
          row_q_[base + c] = row_q_[base + c - 1];
          addr_q_[base + c] = addr_q_[base + c - 1];
        }
        if (Cols > 1) {
          valid_q_[base + 1] = s0.on;
          row_q_[base + 1] = s0.row;
          addr_q_[base + 1] = s0.addr;
        }
        live_q_[p] = 0;
        for (uint32_t c = 1; c < Cols; ++c) live_q_[p] += valid_q_[base + c];
      }
      Port& q = port_[p];
      q.shifting_q = s0.on && !s0.end;
      q.shift_row_q = (s0.row + 1) & row_mask;
      q.slot_q = s0.slot & slot_mask;
    }
    if (alloc_i.read()) tail_q_ = next_slot(tail_q_);
    held_q_ = (held_q_ + alloc_i.read() - drain_end) & cnt_mask;
    arrived_q_ = (arrived_q_ + arrive - shift_start) & cnt_mask;
    if (shift_start) {
      head_q_ = next_slot(head_q_);
      port_q_ = port_q_ == ShiftPorts - 1 ? 0 : port_q_ + 1;
    }
    if (shift_start)
      shadow_full_q_ = true;
    else if (switch_i.read())
      shadow_full_q_ = false;
    // the shadow is ready weight_shift_to_switch_cycles = max(1, bus_stages) after the start
    if (shift_start)
      ready_cnt_q_ = bus_stages_ > 1 ? bus_stages_ - 1 : 0;
    else if (ready_cnt_q_ != 0)
      --ready_cnt_q_;
  }
  state_ev_.notify();
}

void weight_fifo::comb() {
  std::vector<Stage0>& s0 = s0_;
  stage0(arrive_i.read(), s0);
  const uint64_t depth = uint64_t(FifoTiles) * Rows;
  slot_free_o.write(held_q_ < FifoTiles);
  alloc_slot_o.write(tail_q_);
  shadow_full_o.write(shadow_full_q_ && ready_cnt_q_ == 0);
  tile_arrived_o.write(arrived_q_ != 0 || arrive_i.read() || shadow_full_q_);
  uint32_t* sel = sel_.u32();
  uint8_t* data = data_.bytes();
  valid_.clear();
  for (uint32_t p = 0; p < ShiftPorts; ++p)
    for (uint32_t c = 0; c < Cols; ++c) {
      const uint32_t l = p * Cols + c;
      const bool v = c == 0 ? s0[p].on : valid_q_[l] != 0;
      const uint32_t row = c == 0 ? s0[p].row : row_q_[l];
      const uint32_t addr = c == 0 ? s0[p].addr : addr_q_[l];
      if (v) valid_.w[l / 32] |= 1u << (l % 32);
      sel[l] = row;
      data[l] = addr < depth ? mem_[uint64_t(addr) * Cols + c] : 0;
    }
  weight_valid_o.write(valid_);
  weight_sel_o.write(sel_);
  weight_o.write(data_);
}

void weight_fifo::trace(Vcd& v, const std::string& s) {
  v.add_u64(s, "slot_free_o", 1, [this] { return slot_free_o.read(); });
  v.add_u64(s, "tail_q", slot_bits_, [this] { return tail_q_; });
  v.add_u64(s, "head_q", slot_bits_, [this] { return head_q_; });
  v.add_u64(s, "held_q", slot_bits_ + 1, [this] { return held_q_; });
  v.add_u64(s, "arrived_q", slot_bits_ + 1, [this] { return arrived_q_; });
  v.add_u64(s, "port_q", port_bits_, [this] { return port_q_; });
  v.add_u64(s, "shadow_full_q", 1, [this] { return shadow_full_q_; });
  if (bus_stages_ > 1) v.add_u64(s, "ready_cnt_q", ready_bits_, [this] { return ready_cnt_q_; });
  v.add_u64(s, "tile_arrived_o", 1, [this] { return tile_arrived_o.read(); });
  for (uint32_t p = 0; p < ShiftPorts; ++p) {
    const std::string g = s + ".gen_port[" + std::to_string(p) + "]";
    const Port* q = &port_[p];
    v.add_u64(g, "shifting_q", 1, [q] { return q->shifting_q; });
    v.add_u64(g, "shift_row_q", row_bits_, [q] { return q->shift_row_q; });
    v.add_u64(g, "slot_q", slot_bits_, [q] { return q->slot_q; });
  }
}

}  // namespace tpusim::sc
