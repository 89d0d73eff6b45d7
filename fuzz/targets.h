// Fuzz entry points (issue 12): one per input parser plus the lowering of random layer shapes.
// Shared by the libFuzzer executables (fuzz/fuzz_target.cpp, built with -DTPUSIM_FUZZ=ON) and by
// the replay driver of tests/robustness (built without libFuzzer, always in the default suite).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace tpusim::fuzz {

// Feeds `size` bytes to one parser the way the CLI does. Returns normally when the input is
// accepted or rejected with InputError (the CLI's exit code 2); any other exception escapes and
// is a finding (the CLI would report an internal error, exit code 1).
using Entry = void (*)(const uint8_t* data, size_t size);

struct Target {
  const char* name;  // fuzz/corpus/<name>/, tests/fuzz_regressions/<name>/
  Entry entry;
};

const std::vector<Target>& targets();
Entry find_target(const std::string& name);  // nullptr if unknown

}  // namespace tpusim::fuzz
