// Workloads as data (workloads/*.yaml): a list of layer groups, each a list of primitive layers
// that the lowering (sim/compiler/lowering.h) turns into an ISA program. Generators (transformer, lstm_cell,
// LoRA) expand hyperparameters into primitive layers at load time, following the GEMM convention
// of shared/reference/workloads.md.
//
// Rows. Every layer's row count is `items x rows_per_item`, where an item is the unit the lowering
// may split a group into when its activations do not fit the unified buffer: one example (MLP,
// LSTM), one image (CNN), one token (transformers; prefill items = batch x prompt_len, decode
// items = batch). Attention maps item i to sequence i / q_len.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sim/isa/isa.h"

namespace tpusim {

enum class LayerKind : uint8_t {
  kFc,         // dense layer: sum of terms (input slice x weight) into output column ranges
  kConv2d,     // 2-D convolution, NHWC rows, kernel positions as weight tiles (sim/compiler/lowering.h)
  kAttention,  // per-head scores (q x d_head)(d_head x kv) + context (q x kv)(kv x d_head)
  kVector,     // elementwise/softmax/layernorm/gate math on the activation unit (identity passes)
  kPool,       // pooling of `window` consecutive rows on the activation unit
  kEmbedding,  // table lookup: rows gathered by the host and read with rhm
  kHostOp,     // an operation the host performs (e.g. a 7x7 global pool): whm + rhm
};

const char* layer_kind_name(LayerKind k);

// One term of a dense layer: input features [f0, f0 + k) of tensor `input` times a (k x n)
// weight matrix, added into output columns [n0, n0 + n), for items [item_lo, item_hi) only
// (item_hi == 0: all items). LoRA adapters and per-sequence attention use item ranges.
struct FcTerm {
  std::string input;  // layer name, "" = the previous layer (the group input for the first)
  uint64_t f0 = 0, k = 0;
  uint64_t n0 = 0, n = 0;
  uint64_t item_lo = 0, item_hi = 0;
};

struct Layer {
  std::string name;
  LayerKind kind = LayerKind::kFc;
  std::vector<std::string> inputs;  // for kVector / kAttention / kPool / kHostOp ("" = previous)
  uint64_t out_features = 0;
  uint64_t rows_per_item = 1;  // output rows per item
  ActFunction act = ActFunction::kNone;

  std::vector<FcTerm> terms;  // kFc

  // kConv2d (input rows per item = in_h x in_w, output rows per item = out_h() x out_w())
  uint32_t in_h = 0, in_w = 0, in_c = 0, kernel_h = 1, kernel_w = 1, stride = 1, pad = 0;

  // kAttention (input: the QKV tensor, Q at features [0, heads*d_head); K/V as weights)
  uint32_t heads = 0, kv_heads = 0, d_head = 0;
  uint64_t q_len = 1, kv_len = 0;

  // kVector: op is documentation ("add", "mul", "softmax", "layernorm", "gate", "copy").
  std::string op;
  // kPool: window rows (power of two, 2..16), max or avg.
  uint32_t window = 0;
  PoolKind pool = PoolKind::kNone;
  // kEmbedding: vocabulary rows of the (host) table.
  uint64_t vocab = 0;

  uint32_t out_h() const { return (in_h + 2 * pad - kernel_h) / stride + 1; }
  uint32_t out_w() const { return (in_w + 2 * pad - kernel_w) / stride + 1; }
  // Useful multiply-accumulates for `items` items (the analytic count the lowering must match).
  // Convolutions count in-bounds products only (none over the zero padding).
  uint64_t macs(uint64_t items) const;
  // Model weight bytes (int8): dense and conv weights. KV-cache bytes are separate.
  uint64_t weight_bytes() const;
  // K/V bytes read as weights by attention for `items` items (int8).
  uint64_t kv_bytes(uint64_t items) const;
};

struct LayerGroup {
  std::string name;
  uint64_t repeat = 1;           // identical copies in sequence (decoder layers)
  uint64_t items = 1;            // rows unit of this group (see header comment)
  std::vector<Layer> layers;
  uint64_t in_rows_per_item = 1;  // the group input tensor
  uint64_t in_features = 0;      // 0: the group has no input tensor (starts with a host read)
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
  std::string paper;        // source paper
  std::string description;
  std::string file;         // YAML it came from
  std::vector<std::string> assumptions;
  uint64_t batch = 1;
  std::string phase;        // "prefill" / "decode" for LLMs, "" otherwise
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
