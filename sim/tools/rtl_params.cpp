// rtl_params: the Verilator parameters of arch presets, for rtl/CMakeLists.txt. Built and run at
// configure time (try_run), because verilate() runs Verilator before the project's own code is
// built; it loads each preset with the one config loader and maps it with the one parameter map
// (sim/isa/tpu_top_params.h), so no other file reads a preset for the RTL.
//   rtl_params HOST_VECTORS IMEM_DEPTH FILE.yaml...
// prints one line per file: "NAME|ROWS|COLS|-GRows=..|-GCols=..|...".
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "models/config.h"
#include "sim/isa/tpu_top_params.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: rtl_params HOST_VECTORS IMEM_DEPTH FILE.yaml...\n");
    return 2;
  }
  try {
    const auto host = uint32_t(std::stoul(argv[1]));
    const auto imem = uint32_t(std::stoul(argv[2]));
    for (int i = 3; i < argc; ++i) {
      const tpusim::TpuConfig cfg = tpusim::load_config(argv[i]);
      const tpusim::TpuTopParams p = tpusim::tpu_top_params(cfg, host, imem);
      std::string line = cfg.name + "|" + std::to_string(p.Rows) + "|" + std::to_string(p.Cols);
      p.for_each([&](const char* name, uint64_t v) {
        line += "|-G" + std::string(name) + "=" + std::to_string(v);
      });
      std::printf("%s\n", line.c_str());
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rtl_params: %s\n", e.what());
    return 2;
  }
  return 0;
}
