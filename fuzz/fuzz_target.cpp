// One libFuzzer executable per target: TPUSIM_FUZZ_TARGET names the entry of fuzz/targets.cpp.
#include <cstdlib>

#include "fuzz/targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const tpusim::fuzz::Entry entry = tpusim::fuzz::find_target(TPUSIM_FUZZ_TARGET);
  if (!entry) std::abort();
  entry(data, size);
  return 0;
}
