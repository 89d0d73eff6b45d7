#include "sim/isa/tpu_top_params.h"

#include <vector>

namespace tpusim {

bool TpuTopParams::operator==(const TpuTopParams& o) const {
  std::vector<uint64_t> a, b;
  for_each([&](const char*, uint64_t v) { a.push_back(v); });
  o.for_each([&](const char*, uint64_t v) { b.push_back(v); });
  return a == b;
}

std::string verilator_parameter_args(const TpuTopParams& p) {
  std::string s;
  p.for_each([&](const char* name, uint64_t v) {
    s += (s.empty() ? "-G" : " -G") + std::string(name) + "=" + std::to_string(v);
  });
  return s;
}

}  // namespace tpusim
