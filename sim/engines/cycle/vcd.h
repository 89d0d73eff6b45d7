// Vcd: a small VCD writer for the SystemC twin (`--vcd FILE`). Every module registers its ports
// and registers under its RTL instance path (tpu_top.u_controller.pc_q, ...) with the RTL's
// names and widths, so the twin's waveform diffs against a Verilator trace of rtl/ by name.
// Values are sampled once per clock, after the rising edge has settled (time = cycle * 2 units,
// as a 2-unit clock period: the RTL trace of one tick).
#pragma once

#include <cstdint>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

namespace tpusim::sc {

class Vcd {
 public:
  // Fills `words` (ceil(width / 32) words, little-endian) with the current value.
  using Getter = std::function<void(uint32_t* words)>;

  explicit Vcd(const std::string& path);
  ~Vcd();
  void add(const std::string& scope, const std::string& name, uint32_t width, Getter get);
  // Convenience for scalar values.
  void add_u64(const std::string& scope, const std::string& name, uint32_t width,
               std::function<uint64_t()> get);
  // Writes the changes since the last sample at `time`.
  void sample(uint64_t time);

 private:
  struct Var {
    std::string scope, name, id;
    uint32_t width;
    Getter get;
    std::vector<uint32_t> last;
    bool first = true;
  };
  void header();
  std::ofstream out_;
  std::vector<Var> vars_;
  bool header_done_ = false;
  std::vector<uint32_t> buf_;
};

}  // namespace tpusim::sc
