// SCALE-Sim-compatible timing (issue 11, `tpusim scalesim-cycles`): an analytic per-layer model
// that reproduces the compute cycles ("Total Cycles" of COMPUTE_REPORT.csv) of SCALE-Sim v3's
// weight-stationary dataflow (scalesim/compute/systolic_compute_ws.py) exactly, for a R x C
// array whose SRAMs never stall (InterfaceBandwidth = CALC; stall cycles are then 0).
//
// Derivation (scalesim/compute/systolic_compute_ws.py, memory/double_buffered_scratchpad_mem.py).
// A layer is the GEMM (T x Sr) x (Sr x Sc): T = ofmap pixels, Sr = filter_h * filter_w *
// channels (the conv window), Sc = filters. It runs as row_folds = ceil(Sr / R) times
// col_folds = ceil(Sc / C) folds, back to back, none overlapped with another. Each fold's ifmap
// demand is R rows of weight load (the "inter_fold_gap_prefix"), T rows of streaming, C - 1 rows
// of output drain, then skewed by R - 1 rows for the pipeline fill: 2R + C + T - 2 rows (the
// filter and ofmap demands have the same height). The memory system services row i at cycle i
// (no stalls), and "Total Cycles" is the service cycle of the last ofmap row:
//   cycles = folds * (2R + C + T - 2) - 1                                         (Eq. S1)
// which splits into stream = folds * T, weight load = folds * R and fill + drain = folds *
// (R + C - 2), less the one cycle of the zero-based last index.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "models/config.h"
#include "models/event_counts.h"
#include "sim/compiler/import/scalesim_import.h"

namespace tpusim {

struct Workload;

// Cycles of one layer by Eq. S1 and its parts (stream + weight_load + fill_drain - 1 == cycles).
struct ScaleSimCycles {
  uint64_t row_folds = 0, col_folds = 0;
  uint64_t cycles = 0;              // SCALE-Sim "Total Cycles"
  uint64_t stream_cycles = 0;       // folds * T
  uint64_t weight_load_cycles = 0;  // folds * R (not overlapped with compute)
  uint64_t fill_drain_cycles = 0;   // folds * (R + C - 2)
  uint64_t folds() const { return row_folds * col_folds; }
};

// Eq. S1 for `layer` on an `rows` x `cols` weight-stationary array. Throws InputError for a zero
// array dimension or a filter larger than the ifmap.
ScaleSimCycles scalesim_ws_cycles(const ScaleSimLayer& layer, uint64_t rows, uint64_t cols);

// The matrix layers of a tpusim workload as SCALE-Sim rows: each dense term a GEMM (M = items x
// rows_per_item, K = term.k, N = term.n), each conv one conv row per item (SCALE-Sim runs batch
// 1) on the padded ifmap (SCALE-Sim has no padding). Attention, vector, pool, embedding and host
// layers have no SCALE-Sim equivalent and are skipped; repeated groups expand into copies.
std::vector<ScaleSimLayer> scalesim_layers_from_workload(const Workload& wl);

// The default TPU-style timing of the same layers (`scalesim-cycles --tpu-style`): every layer
// lowered as its own group (input from the host) and run from an idle machine on the fast engine,
// timing only. Throws InputError for a non-square array.
std::vector<EventCounts> tpu_style_counts(const TpuConfig& cfg,
                                          const std::vector<ScaleSimLayer>& layers);

}  // namespace tpusim
