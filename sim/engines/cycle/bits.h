// Payload types of the SystemC twin (sim/engines/cycle/, issue 4).
//
// Ports of tpu_top use the types Verilator generates for its SystemC output (bool for 1 bit,
// uint32_t up to 32 bits, uint64_t up to 64, sc_bv<N> beyond), chosen per preset by the
// template argument of tpu_top (see tpu_top.h), so one test bench binds either twin. Inside the
// core, buses wider than 64 bits (UB vectors, tile rows, result rows, the one-hot shift row
// enable) travel as `Bits`: Verilator's VlWide layout (32-bit words, bit 0 of word 0 is bit 0 of
// the bus) with a run-time width, so the modules take their sizes as constructor parameters like
// the RTL's and a 256 x 256 array costs no sc_bv<8192> conversion per clock.
#pragma once

#include <cstdint>
#include <cstring>
#include <ostream>
#include <string>
#include <type_traits>
#include <vector>

#include <systemc>

namespace tpusim::sc {

struct Bits {
  std::vector<uint32_t> w;  // ceil(width / 32) words, unused high bits zero

  Bits() = default;
  explicit Bits(uint32_t width_bits) : w((width_bits + 31) / 32, 0u) {}
  size_t words() const { return w.size(); }
  uint8_t* bytes() { return reinterpret_cast<uint8_t*>(w.data()); }
  const uint8_t* bytes() const { return reinterpret_cast<const uint8_t*>(w.data()); }
  uint32_t* u32() { return w.data(); }
  const uint32_t* u32() const { return w.data(); }
  bool bit(uint32_t i) const { return (w[i / 32] >> (i % 32)) & 1u; }
  void clear() { std::fill(w.begin(), w.end(), 0u); }
  bool any() const {
    for (uint32_t x : w)
      if (x) return true;
    return false;
  }
  bool operator==(const Bits& o) const { return w == o.w; }
  bool operator!=(const Bits& o) const { return !(w == o.w); }
};

std::ostream& operator<<(std::ostream& os, const Bits& b);
// sc_signal<Bits>::trace needs an overload; the twin traces through its own VCD writer
// (sim/engines/cycle/vcd.h) instead, so this one does nothing.
inline void sc_trace(sc_core::sc_trace_file*, const Bits&, const std::string&) {}

// Conversions between a Verilator port type and the bytes / words of a bus.
template <typename T>
struct PortCodec;

template <>
struct PortCodec<bool> {
  static void to_words(const bool& v, uint32_t* w, size_t) { w[0] = v; }
  static bool from_words(const uint32_t* w, size_t) { return w[0] & 1u; }
};
template <>
struct PortCodec<uint32_t> {
  static void to_words(const uint32_t& v, uint32_t* w, size_t) { w[0] = v; }
  static uint32_t from_words(const uint32_t* w, size_t) { return w[0]; }
};
template <>
struct PortCodec<uint64_t> {
  static void to_words(const uint64_t& v, uint32_t* w, size_t n) {
    w[0] = uint32_t(v);
    if (n > 1) w[1] = uint32_t(v >> 32);
  }
  static uint64_t from_words(const uint32_t* w, size_t n) {
    return uint64_t(w[0]) | (n > 1 ? uint64_t(w[1]) << 32 : 0);
  }
};
template <int N>
struct PortCodec<sc_dt::sc_bv<N>> {
  static void to_words(const sc_dt::sc_bv<N>& v, uint32_t* w, size_t n) {
    for (size_t i = 0; i < n; ++i) w[i] = v.get_word(int(i));
  }
  static sc_dt::sc_bv<N> from_words(const uint32_t* w, size_t n) {
    sc_dt::sc_bv<N> v;
    for (size_t i = 0; i < n; ++i) v.set_word(int(i), w[i]);
    return v;
  }
};
template <>
struct PortCodec<Bits> {
  static void to_words(const Bits& v, uint32_t* w, size_t n) {
    std::memcpy(w, v.u32(), std::min(n, v.words()) * 4);
  }
  static Bits from_words(const uint32_t* w, size_t n) {
    Bits b;
    b.w.assign(w, w + n);
    return b;
  }
};

// The type Verilator's SystemC output gives an N-bit port.
template <int N>
using VlPort = std::conditional_t<
    N == 1, bool,
    std::conditional_t<N <= 32, uint32_t, std::conditional_t<N <= 64, uint64_t, sc_dt::sc_bv<N>>>>;

// Port types of tpu_top's wide buses: the Verilator types of one preset (VecBits = VecBytes * 8,
// ColBits = Cols * 8, Mxus matrix units), or `Bits` for any size (the cycle engine). MxuFlags:
// one bit per MXU (obs_psum_valid_o, obs_fifo_arrive_o); MxuTags: 32 bits per MXU
// (obs_psum_tag_o); Psum: Cols int32 per MXU (obs_psum_o).
template <int VecBits, int ColBits, int Mxus = 1>
struct VerilatorPorts {
  using Imem = sc_dt::sc_bv<128>;
  using Vec = VlPort<VecBits>;
  using ColBytes = VlPort<ColBits>;
  using MxuFlags = VlPort<Mxus>;
  using MxuTags = VlPort<Mxus * 32>;
  using Psum = VlPort<Mxus * ColBits * 4>;
  static constexpr bool kFixed = true;
  static constexpr int kVecBits = VecBits, kColBits = ColBits, kMxus = Mxus;
};
struct GenericPorts {
  using Imem = sc_dt::sc_bv<128>;
  using Vec = Bits;
  using ColBytes = Bits;
  using MxuFlags = uint32_t;  // Mxus <= 8 (models/limits.h)
  using MxuTags = Bits;
  using Psum = Bits;
  static constexpr bool kFixed = false;
  static constexpr int kVecBits = 0, kColBits = 0, kMxus = 0;
};

// Width in bits of an address register: $clog2(n) as Verilog computes it.
inline uint32_t clog2(uint64_t n) {
  uint32_t b = 0;
  while ((uint64_t(1) << b) < n) ++b;
  return b;
}
inline uint64_t mask_bits(uint32_t bits) {
  return bits >= 64 ? ~uint64_t(0) : (uint64_t(1) << bits) - 1;
}

}  // namespace tpusim::sc
