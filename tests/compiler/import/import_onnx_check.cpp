// Runs import_onnx (the C++ side of `tpusim import-onnx`) on one model for the Python test:
//   import_onnx_check MODEL [BATCH]
// prints the YAML, then a comment line "#macs N" with the parsed workload's analytic MACs, after
// checking that the workload lowers for small-16 with a MAC count equal to the analytic one.
// Exit 0 on success, 2 with the InputError on stderr, 1 otherwise.
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "models/config.h"
#include "models/errors.h"
#include "sim/compiler/import/onnx_import.h"
#include "sim/compiler/lowering.h"
#include "sim/compiler/workload.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: import_onnx_check MODEL [BATCH]\n");
    return 1;
  }
  try {
    const uint64_t batch = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 0;
    const std::string yaml = tpusim::import_onnx(argv[1], batch);
    const tpusim::Workload w = tpusim::parse_workload(yaml, argv[1]);
    tpusim::LowerOptions lo;
    lo.values = false;
    const tpusim::LoweredProgram lp = tpusim::lower(tpusim::load_config("small-16"), w, lo);
    if (lp.useful_macs() != w.macs()) {
      std::fprintf(stderr, "lowered MACs %llu != analytic %llu\n",
                   (unsigned long long)lp.useful_macs(), (unsigned long long)w.macs());
      return 1;
    }
    std::cout << yaml << "#macs " << w.macs() << "\n";
    return 0;
  } catch (const tpusim::InputError& e) {
    std::fprintf(stderr, "tpusim: error: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tpusim: internal error: %s\n", e.what());
    return 1;
  }
}
