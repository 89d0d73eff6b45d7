// Layer kind `pool`: max or average pooling on the activation unit.
// 2-D (`in_h`, `in_w`, `kernel` or `kernel_h`/`kernel_w`, `stride` or `stride_h`/`stride_w`
// (default: the window's sides), `pad`):
// a window over each in_h x in_w image, PyTorch's max_pool2d / avg_pool2d (count_include_pad),
// as an identity pass and a 2-D act per band of output rows (Lowerer::pool2d_pass).
// 1-D (`window`): max or average over `window` consecutive rows (a power of two, 2..16).

#include <algorithm>

#include <fmt/format.h>

#include "sim/compiler/group_builder.h"
#include "sim/compiler/layer.h"
#include "sim/compiler/lowerer.h"

namespace tpusim {

namespace {

void parse(YamlMap& m, GroupBuilder& b, const std::string& name, const std::string& input,
           const std::string& where) {
  TensorShape s;
  Layer l = begin_layer(b, LayerKind::kPool, name, input, where, s);
  l.pool = m.choice_or("kind", "max", {"max", "avg"}) == "max" ? PoolKind::kMax : PoolKind::kAvg;
  if (m.has("in_h")) {
    if (m.has("window")) m.fail("window", "give `window` (1-D) or `in_h`/`in_w` (2-D), not both");
    l.in_h = uint32_t(m.uint("in_h", 1, 1u << 16));
    l.in_w = uint32_t(m.uint("in_w", 1, 1u << 16));
    if (uint64_t(l.in_h) * l.in_w != s.rows_per_item)
      m.fail("in_h", fmt::format("in_h x in_w = {} must equal the input's {} rows per image",
                                 uint64_t(l.in_h) * l.in_w, s.rows_per_item));
    const uint64_t k = m.uint_or("kernel", 2, 1, kMaxPoolWindow);
    l.kernel_h = uint32_t(m.uint_or("kernel_h", k, 1, kMaxPoolWindow));
    l.kernel_w = uint32_t(m.uint_or("kernel_w", k, 1, kMaxPoolWindow));
    // strides default to the window's sides (non-overlapping windows)
    const bool st = m.has("stride");
    const uint64_t sd = st ? m.uint("stride", 1, kMaxPoolWindow) : 0;
    l.stride = uint32_t(m.uint_or("stride_h", st ? sd : l.kernel_h, 1, kMaxPoolWindow));
    l.stride_w = uint32_t(m.uint_or("stride_w", st ? sd : l.kernel_w, 1, kMaxPoolWindow));
    l.pad = uint32_t(m.uint_or("pad", 0, 0, kMaxPoolWindow - 1));
    if (2 * l.pad > std::min(l.kernel_h, l.kernel_w))
      m.fail("pad", fmt::format("must be at most half the {} x {} window", l.kernel_h, l.kernel_w));
    if (l.in_h + 2 * l.pad < l.kernel_h || l.in_w + 2 * l.pad < l.kernel_w)
      m.fail("kernel", "window larger than the padded input");
    l.act = parse_act(m);
    l.out_features = s.features;
    l.rows_per_item = uint64_t(l.out_h()) * l.out_w();
    b.add(std::move(l), where);
    return;
  }
  l.window = uint32_t(m.uint("window", 2, 16));
  if ((l.window & (l.window - 1)) != 0) m.fail("window", "must be a power of two in 2..16");
  if (s.rows_per_item % l.window != 0)
    m.fail("window", fmt::format("must divide the input's {} rows per item", s.rows_per_item));
  l.act = parse_act(m);
  l.out_features = s.features;
  l.rows_per_item = s.rows_per_item / l.window;
  b.add(std::move(l), where);
}

void lower(Lowerer& low, const LayerTask& task) {
  const Layer& l = task.layer;
  const Tensor& out = task.out;
  const std::map<std::string, Tensor>& tensors = task.tensors;
  low.set_requant(requant_for_sum(1));
  if (l.in_h) {
    low.pool2d_pass(tensors.at(l.inputs[0]), out, l);
    return;
  }
  low.identity_pass({&tensors.at(l.inputs[0])}, out, l.act, l.pool, l.window);
  low.set_requant(requant_for_sum(1));
}

}  // namespace

extern const LayerKindOps kPoolKind = {LayerKind::kPool, "pool",  &parse,  nullptr,
                                       nullptr,          nullptr, nullptr, &lower};

}  // namespace tpusim
