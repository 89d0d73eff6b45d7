// The primitive layers of a workload and what a layer kind is: one table (layer_kinds.cpp) with,
// per kind, its YAML type, how it is read, its analytic MACs and bytes, and how it is lowered.
// Each kind's code lives in its own file, kind_<name>.cpp. Adding a kind touches three files:
// the enum and any fields it needs here, one line of the table in layer_kinds.cpp, and the new
// kind_<name>.cpp (sim/compiler/README.md).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sim/isa/isa.h"

namespace tpusim {

enum class LayerKind : uint8_t {
  kFc,         // dense layer: sum of terms (input slice x weight) into output column ranges
  kConv2d,     // 2-D convolution, NHWC rows, kernel positions as weight tiles
               // (sim/compiler/lowering.h)
  kAttention,  // per-head scores (q x d_head)(d_head x kv) + context (q x kv)(kv x d_head)
  kVector,     // elementwise/softmax/layernorm/gate math on the activation unit (identity passes)
  kPool,       // 2-D window, or `window` consecutive rows, pooled on the activation unit
  kEmbedding,  // table lookup: rows gathered by the host and read with rhm
  kHostOp,     // an operation the host performs (e.g. a 7x7 global pool): whm + rhm
  kUnpack,     // lowering only: images packed in the lanes back to one image per row
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
  uint32_t stride_w = 0;  // kPool: the width's stride (0: `stride`, as convolutions)

  // kAttention (input: the QKV tensor, Q at features [0, heads*d_head); K/V as weights)
  uint32_t heads = 0, kv_heads = 0, d_head = 0;
  uint64_t q_len = 1, kv_len = 0;

  // kVector: op is documentation ("add", "mul", "softmax", "layernorm", "gate", "copy").
  std::string op;
  // kPool: window rows (power of two, 2..16; 1-D), or in_h > 0: a 2-D window of kernel_h x
  // kernel_w, stride and pad over in_h x in_w images (the kConv2d fields); max or avg.
  uint32_t window = 0;
  PoolKind pool = PoolKind::kNone;
  // kConv2d with a fused 2-D pool (GroupBuilder::take: a stride-1 conv whose only reader is a
  // 2-D pool): `pool` and this window over the conv's out_h() x out_w() output, pooled by the
  // conv's own acts (sim/isa/ISA.md, 2-D pooling); rows_per_item is the pooled count.
  uint32_t pool_kh = 0, pool_kw = 0, pool_stride = 1, pool_stride_w = 1, pool_pad = 0;
  std::string fused_pool;  // the pool layer's name (reports)
  // kConv2d reading rows the host packed (im2col): one row per output pixel, kernel_h x kernel_w
  // x in_c features (position-major, zero where the window is over the padding). Set by the
  // lowering for a group's first conv when it pays (conv_host_packing_saving, kind_conv2d.cpp).
  bool im2col = false;
  // kConv2d / kPool / kUnpack: G > 1 images packed side by side in the lanes (set by the lowering,
  // lowering.cpp image_packed): in_c and out_features are G x those of one image, the weight
  // tiles block-diagonal (G copies of one image's weights); kUnpack restores one image per row.
  uint32_t images_packed = 1;
  uint32_t pool_out_h() const { return (out_h() + 2 * pool_pad - pool_kh) / pool_stride + 1; }
  uint32_t pool_out_w() const { return (out_w() + 2 * pool_pad - pool_kw) / pool_stride_w + 1; }
  // kEmbedding: vocabulary rows of the (host) table.
  uint64_t vocab = 0;

  uint32_t out_h() const { return (in_h + 2 * pad - kernel_h) / stride + 1; }
  uint32_t out_w() const {
    return (in_w + 2 * pad - kernel_w) / (stride_w ? stride_w : stride) + 1;
  }
  // Useful multiply-accumulates for `items` items (the analytic count the lowering must match).
  // Convolutions count in-bounds products only (none over the zero padding).
  uint64_t macs(uint64_t items) const;
  // Model weight bytes (int8): dense and conv weights. KV-cache bytes are separate.
  uint64_t weight_bytes() const;
  // K/V bytes read as weights by attention for `items` items (int8).
  uint64_t kv_bytes(uint64_t items) const;
};

class YamlMap;
class GroupBuilder;  // group_builder.h
class Lowerer;       // lowerer.h
struct LayerTask;    // lowerer.h

__extension__ typedef unsigned __int128 Bound128;

// Upper bounds of one layer's work over `rows` output rows, in 128 bits so that nothing wraps
// before the workload's totals are checked against the 64-bit counters (workload.cpp).
struct LayerBounds {
  Bound128 macs = 0, weight_bytes = 0, kv_bytes = 0;
};

// What a layer kind is. Functions left null take the default noted.
struct LayerKindOps {
  LayerKind kind;
  const char* name;  // the YAML `type` and the report's `kind`
  // Reads the layer's keys (`type`, `name` and `input` are read by the caller: `name`, `input`
  // given) and adds the layer to `b`. Null: the kind is not written in YAML (generators make it).
  void (*parse)(YamlMap& m, GroupBuilder& b, const std::string& name, const std::string& input,
                const std::string& where);
  uint64_t (*macs)(const Layer& l, uint64_t items);      // null: 0 (activation-unit work)
  uint64_t (*weight_bytes)(const Layer& l);              // null: 0
  uint64_t (*kv_bytes)(const Layer& l, uint64_t items);  // null: 0
  LayerBounds (*bounds)(const Layer& l, Bound128 rows);  // null: macs = rows x out_features
  // Emits the layer's instructions for one chunk of items (lowerer.h). Never null.
  void (*lower)(Lowerer& low, const LayerTask& task);
};

// The entry of `k`; the entry whose name is the YAML `type` (nullptr for none).
const LayerKindOps& layer_kind(LayerKind k);
const LayerKindOps* layer_kind_by_name(const std::string& type);
// Every kind, in enum order.
const std::vector<const LayerKindOps*>& layer_kinds();

// Work bounds of `l` over `rows` rows (the kind's bounds, else its default).
LayerBounds layer_bounds(const Layer& l, Bound128 rows);

}  // namespace tpusim
