// Replays fuzz inputs through the entry points of fuzz/targets.cpp without libFuzzer: every file
// under ROOT/<target>/ for each ROOT given (tests/fuzz_regressions: crashes the fuzzer found, now
// fixed; fuzz/corpus: the seeds). Exit 0 when every input is accepted or rejected with
// InputError; 1 (naming the file and the exception) otherwise.
#include <algorithm>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <vector>

#include "fuzz/targets.h"

namespace fs = std::filesystem;

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: fuzz_replay ROOT...  (ROOT/<target>/<input files>)\n";
    return 2;
  }
  size_t inputs = 0, failures = 0;
  for (int a = 1; a < argc; ++a) {
    const fs::path root(argv[a]);
    if (!fs::is_directory(root)) {
      std::cerr << root.string() << ": not a folder\n";
      return 2;
    }
    for (const auto& t : tpusim::fuzz::targets()) {
      const fs::path dir = root / t.name;
      if (!fs::is_directory(dir)) continue;
      std::vector<fs::path> files;
      for (const auto& e : fs::directory_iterator(dir))
        if (e.is_regular_file() && e.path().filename().string()[0] != '.')
          files.push_back(e.path());
      std::sort(files.begin(), files.end());
      for (const auto& f : files) {
        std::ifstream in(f, std::ios::binary);
        std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                   std::istreambuf_iterator<char>());
        ++inputs;
        try {
          t.entry(bytes.data(), bytes.size());
        } catch (const std::exception& e) {
          ++failures;
          std::cerr << "FAIL " << t.name << " " << f.string() << ": " << e.what() << "\n";
        }
      }
    }
  }
  std::cout << "fuzz_replay: " << inputs << " inputs, " << failures << " failures\n";
  if (inputs == 0) {
    std::cerr << "fuzz_replay: no inputs found (wrong folders?)\n";
    return 1;
  }
  return failures == 0 ? 0 : 1;
}
