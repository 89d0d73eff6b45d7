// A workload as the GEMM-like ops of the roofline baselines (models/baselines.h), so that the
// devices of `tpusim compare` and `tpusim serve --device` see the same work the chip is given.
#pragma once

#include "models/baselines.h"
#include "sim/compiler/workload.h"

namespace tpusim {

// The workload's GEMMs and vector work per run, from its layers (sim/compiler/workload.h): dense
// terms (m = rows of the term's items, k, n), convolutions (m = output pixels, k = C_in kh kw, n =
// C_out), attention (scores and context per head and sequence, K/V read as weights), and
// elementwise work as vector ops. `examples` = the batch (sequences for LLMs).
BaselineWorkload baseline_workload(const Workload& wl);

}  // namespace tpusim
