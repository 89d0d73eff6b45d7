#include "sim/engines/cycle/tpu_top.h"

namespace tpusim::sc {

std::ostream& operator<<(std::ostream& os, const Bits& b) {
  os << "0x";
  static const char* kHex = "0123456789abcdef";
  for (size_t i = b.words(); i-- > 0;)
    for (int n = 7; n >= 0; --n) os << kHex[(b.w[i] >> (4 * n)) & 15];
  return os;
}

template class tpu_top<GenericPorts>;

}  // namespace tpusim::sc
