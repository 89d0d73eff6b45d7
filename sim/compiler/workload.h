// Workloads as data (workloads/*.yaml): a list of layer groups, each a list of primitive layers
// (sim/compiler/layer.h) that the lowering (sim/compiler/lowering.h) turns into an ISA program.
// Generators (transformer, lstm_cell, LoRA; generators.cpp) expand hyperparameters into primitive
// layers at load time, following the GEMM convention of shared/reference/workloads.md.
//
// Rows. Every layer's row count is `items x rows_per_item`, where an item is the unit the lowering
// may split a group into when its activations do not fit the unified buffer: one example (MLP,
// LSTM), one image (CNN), one token (transformers; prefill items = batch x prompt_len, decode
// items = batch). Attention maps item i to sequence i / q_len.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sim/compiler/layer.h"

namespace tpusim {

struct LayerGroup {
  std::string name;
  uint64_t repeat = 1;  // identical copies in sequence (decoder layers)
  uint64_t items = 1;   // rows unit of this group (see header comment)
  std::vector<Layer> layers;
  uint64_t in_rows_per_item = 1;  // the group input tensor
  uint64_t in_features = 0;       // 0: the group has no input tensor (starts with a host read)
};

// Ranges of the workload parameters: the one definition the YAML loader, the parameters below,
// the CLI's options and the sweep axes use. Contexts go up to a model's max_context.
constexpr uint64_t kMaxBatch = uint64_t(1) << 20;
constexpr uint64_t kMaxPromptLen = uint64_t(1) << 20;
constexpr uint64_t kMaxContextLen = uint64_t(1) << 24;

// Overrides of a workload's defaults (0 / "" = keep the workload's), checked by load_workload
// against the ranges above.
struct WorkloadParams {
  uint64_t batch = 0;
  std::string phase;  // "prefill" | "decode" | ""
  uint64_t prompt_len = 0;
  uint64_t context_len = 0;
};

struct Workload {
  std::string name;
  std::string paper;  // source paper
  std::string description;
  std::string file;  // YAML it came from
  std::vector<std::string> assumptions;
  uint64_t batch = 1;
  std::string phase;  // "prefill" / "decode" for LLMs, "" otherwise
  uint64_t prompt_len = 0, context_len = 0;
  std::vector<LayerGroup> groups;
  // Table 1 intensity the reconstruction must reproduce (0 = none).
  double paper_ops_per_weight_byte = 0;

  uint64_t macs() const;          // analytic useful MACs, repeats included
  uint64_t weight_bytes() const;  // unique model weight bytes, repeats included
  uint64_t kv_bytes() const;      // K/V bytes read as weights, repeats included
  uint64_t layer_count() const;   // primitive layers, repeats included
  // MACs per model weight byte (the TPU paper's "ops per weight byte", Table 1 and roofline).
  double ops_per_weight_byte() const;
};

// Loads a workload by name (workloads/NAME.yaml under data_root()) or path, applies `params`
// and expands generators. Throws InputError naming the file, key and allowed range.
Workload load_workload(const std::string& name_or_path, const WorkloadParams& params = {});
Workload parse_workload(const std::string& yaml_text, const std::string& file,
                        const WorkloadParams& params = {});

struct WorkloadEntry {
  std::string name;
  std::string paper;
  std::string description;
};
// The shipped workloads (workloads/*.yaml), sorted by name.
std::vector<WorkloadEntry> list_workloads();

}  // namespace tpusim
