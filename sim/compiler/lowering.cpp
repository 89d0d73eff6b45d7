#include "sim/compiler/lowering.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <optional>
#include <stdexcept>

#include <type_traits>

#include <fmt/format.h>

#include "models/errors.h"
#include "sim/compiler/emitter.h"
#include "sim/compiler/group_builder.h"
#include "sim/compiler/lowerer.h"
#include "sim/compiler/sink.h"

// Value keys (weight_value / host_value):
//   dense term t of layer L in group G, repetition r:  "G/r/L/t"  (k x n, the term's matrix)
//   conv layer:                                       "G/r/L"    (row (ky*kw + kx)*C + c, col)
//   attention K^T of sequence s, kv head g:           "G/r/L/k/s/g"  (d_head x kv_len)
//   attention V:                                      "G/r/L/v/s/g"  (kv_len x d_head)
//   host-read layer output (embedding, host op):      "G/r/L"    (global row, feature)
//   first group input:                                "input"    (global row, feature)
// r is 0 unless the program is unrolled.

namespace tpusim {

Requant requant_for_k(uint64_t k) {
  // Uniform int8 operands have a standard deviation of ~74, so a K-deep dot product has ~5476 *
  // sqrt(K); scale it to ~40 so that the next layer sees well-spread int8 values.
  Requant r;
  r.shift = 24;
  const double m = std::ldexp(40.0 / (5476.0 * std::sqrt(double(std::max<uint64_t>(k, 1)))), 24);
  r.mult = int32_t(std::max(1.0, std::round(m)));
  return r;
}

Requant requant_for_sum(uint64_t operands) {
  Requant r;
  r.shift = 24;
  r.mult = int32_t(std::llround(std::ldexp(1.0, 24) / double(std::max<uint64_t>(operands, 1))));
  return r;
}

uint64_t key_hash(const std::string& key) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : key) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

int8_t value_from(uint64_t seed, uint64_t key_h, uint64_t a, uint64_t b) {
  return value_keyed(value_key(seed, key_h), a, b);
}

int8_t weight_value(uint64_t seed, const std::string& key, uint64_t k, uint64_t n) {
  return value_from(seed, key_hash(key), k, n);
}
int8_t host_value(uint64_t seed, const std::string& key, uint64_t row, uint64_t feature) {
  return value_from(seed, key_hash(key), row, feature);
}

namespace {

template <class Layers>
uint64_t sum_layers(const Layers& layers, uint64_t LayerInfo::*field) {
  uint64_t m = 0;
  for (const auto& l : layers) m += l.repeat * (l.*field);
  return m;
}

// Receives the segments of one lowering (stored or counted).
class SegmentOut {
 public:
  virtual ~SegmentOut() = default;
  // Starts a segment; returns the sink of its instructions.
  virtual Sink& begin(const std::string& group, uint64_t repeat, const std::string& name) = 0;
  virtual Program* images() = 0;  // where memory images go (values only)
  virtual void end(uint64_t ahead) = 0;
};

class StoreOut final : public SegmentOut {
 public:
  StoreOut(LoweredProgram& lp, uint64_t budget) : lp_(lp), budget_(budget) {}
  Sink& begin(const std::string& group, uint64_t repeat, const std::string& name) override {
    lp_.segments.emplace_back();
    Segment& seg = lp_.segments.back();
    seg.group = group;
    seg.repeat = repeat;
    seg.program.name = name;
    sink_ = std::make_unique<ProgramSink>(total_, budget_);
    return *sink_;
  }
  Program* images() override { return &lp_.segments.back().program; }
  void end(uint64_t ahead) override {
    Segment& seg = lp_.segments.back();
    sink_->finish(ahead, seg.program, seg.layer_of);
    sink_.reset();
  }

 private:
  LoweredProgram& lp_;
  uint64_t budget_ = 0, total_ = 0;
  std::unique_ptr<ProgramSink> sink_;
};

class CountOut final : public SegmentOut {
 public:
  CountOut(LoweringStats& st, uint64_t budget) : st_(st), budget_(budget) {}
  Sink& begin(const std::string& group, uint64_t repeat, const std::string&) override {
    st_.segments.emplace_back();
    st_.segments.back().group = group;
    st_.segments.back().repeat = repeat;
    sink_ = std::make_unique<CountingSink>(st_.segments.back(), total_, budget_);
    return *sink_;
  }
  Program* images() override { return nullptr; }
  void end(uint64_t) override {
    sink_->finish();
    sink_.reset();
  }

 private:
  LoweringStats& st_;
  uint64_t budget_ = 0, total_ = 0;
  std::unique_ptr<CountingSink> sink_;
};

struct Drive {
  std::vector<LayerInfo> layers;
  HostTensor input, output;
  std::vector<GroupBoundary> boundaries;
  bool wrapped = false;
  bool double_buffered = false;
  uint32_t layer = 0;  // the layer being lowered (names the place of an OverBudget)
  // Into a LoweredProgram or a LoweringStats: the layer table and the workload's tensors.
  template <class Result>
  void move_to(Result& r) {
    r.layers = std::move(layers);
    r.input = input;
    r.output = output;
    r.boundaries = std::move(boundaries);
    r.weight_addresses_wrapped = wrapped;
    if constexpr (std::is_same_v<Result, LoweredProgram>) r.double_buffered = double_buffered;
  }
};

void check_mappable(const TpuConfig& cfg, const Workload& wl) {
  if (cfg.array.rows != cfg.array.cols)
    throw InputError(fmt::format("lowering {} for {}: the array must be square ({} x {})", wl.name,
                                 cfg.name, cfg.array.rows, cfg.array.cols));
  if (cfg.accumulator_entries < 2)
    throw InputError(
        fmt::format("lowering for {}: needs at least 2 accumulator entries", cfg.name));
}

// The first group as lowered: its first conv fed im2col rows by the host where that pays
// (conv_host_packing_saving). Only the workload's input is packed: the host knows its values; a
// group input the chip wrote would need the host to read it back and repack it.
std::optional<LayerGroup> host_packed(const TpuConfig& cfg, const LayerGroup& g,
                                      LowerOptions::ConvInput how) {
  if (how == LowerOptions::ConvInput::kChannels) return std::nullopt;
  if (!g.in_features || g.layers.empty() || g.repeat != 1) return std::nullopt;
  const Layer& c = g.layers[0];
  if (c.kind != LayerKind::kConv2d || c.inputs != std::vector<std::string>{"@in"} ||
      !c.terms.empty())
    return std::nullopt;
  for (size_t i = 1; i < g.layers.size(); ++i) {
    for (const auto& n : g.layers[i].inputs)
      if (n == "@in") return std::nullopt;
    for (const auto& t : g.layers[i].terms)
      if (t.input == "@in") return std::nullopt;
  }
  if (how == LowerOptions::ConvInput::kAuto ? !(conv_host_packing_saving(cfg, c) > 0)
                                            : uint64_t(c.out_w()) > cfg.accumulator_entries / 2)
    return std::nullopt;
  LayerGroup p = g;
  p.layers[0].im2col = true;
  p.in_rows_per_item = uint64_t(c.out_h()) * c.out_w();
  p.in_features = uint64_t(c.kernel_h) * c.kernel_w * c.in_c;
  // Its accumulator rows are now its output pixels, strided or not: a 2-D pool after it runs in
  // its acts (ResNet-50's 3x3/2 maxpool after conv1).
  fuse_conv_pools(p);
  return p;
}

// MXU rows a conv streams per image with channels on the array's rows (every kernel position
// over the pixels it touches, the s-times denser row when strided; border clipping ignored).
uint64_t conv_rows_per_image(const Layer& l, uint64_t W) {
  const uint64_t Wv = l.stride == 1 ? l.out_w() : (uint64_t(l.out_w()) - 1) * l.stride + 1;
  return uint64_t(l.kernel_h) * l.kernel_w * l.out_h() * Wv * ((l.in_c + W - 1) / W) *
         ((l.out_features + W - 1) / W);
}

// The first group with its leading convs and pools taking G images side by side in the lanes
// (Layer::images_packed): on a 256-wide array a 3x3 conv over 24 channels streams its pixels
// nine times with 24 of 256 rows and columns used; 8 images packed in the lanes use 192 of each
// with block-diagonal tiles (8 copies of one image's weights) and stream 1/8 of the rows. The host
// packs the workload's input so (its values are host data); after the prefix an `unpack` layer
// (kind_unpack.cpp) moves each image back to rows of its own, one MXU pass over them. G is the
// largest divisor of the items with G x (the prefix's widest channel count) <= the array width;
// the prefix is the one whose MXU rows saved (1 - 1/G of the convs') most exceed the unpack.
// Later layers keep their shapes, G images per item of the transformed group.
std::optional<LayerGroup> image_packed(const TpuConfig& cfg, const LayerGroup& g,
                                       LowerOptions::PackImages how, double* saving = nullptr) {
  if (how == LowerOptions::PackImages::kOff || !g.in_features || g.repeat != 1 || g.items < 2 ||
      g.layers.empty())
    return std::nullopt;
  const uint64_t W = cfg.array.rows;
  // Every layer: a conv, a 2-D pool, a dense layer over its own rows or an elementwise vector op
  // (they do not care how many images an item holds); no item-ranged terms.
  for (const Layer& l : g.layers) {
    const bool ok = l.kind == LayerKind::kConv2d || (l.kind == LayerKind::kPool && l.in_h > 0) ||
                    l.kind == LayerKind::kFc || l.kind == LayerKind::kVector;
    if (!ok || l.im2col) return std::nullopt;
    for (const auto& t : l.terms)
      if (t.item_hi) return std::nullopt;
  }
  // The prefix: a chain of convs and 2-D pools from the group input.
  uint64_t best_e = 0, best_g = 1;
  double best = 0;
  uint64_t widest = g.in_features;
  double rows = 0;  // MXU rows per image of the prefix so far
  for (size_t e = 1; e <= g.layers.size(); ++e) {
    const Layer& l = g.layers[e - 1];
    const std::string prev = e == 1 ? "@in" : g.layers[e - 2].name;
    if (l.kind != LayerKind::kConv2d && l.kind != LayerKind::kPool) break;
    if (l.inputs != std::vector<std::string>{prev} || !l.terms.empty()) break;
    if (l.kind == LayerKind::kConv2d) {
      rows += double(conv_rows_per_image(l, W));
      widest = std::max<uint64_t>(widest, l.in_c);
    }
    widest = std::max<uint64_t>(widest, l.out_features);
    uint64_t G = std::min<uint64_t>(W / widest, g.items);
    while (G > 1 && g.items % G != 0) --G;
    if (G < 2) break;
    if (!clean_cut(g, e)) continue;  // something after the prefix reads more than its last
    const double unpack = e == g.layers.size() ? 0.0 : double(l.rows_per_item);  // one pass
    const double saved = rows * (1.0 - 1.0 / double(G)) - unpack;
    if (saved > best || (how == LowerOptions::PackImages::kOn && best_e == 0)) {
      best = saved;
      best_e = e;
      best_g = G;
    }
  }
  if (best_e == 0 || (how == LowerOptions::PackImages::kAuto && best <= 0)) return std::nullopt;
  const uint64_t G = best_g;
  if (saving) {
    // MXU rows saved plus the host-link time of the input's vectors (G images share one).
    const uint64_t in_bytes =
        g.in_rows_per_item * ((g.in_features + W - 1) / W) * cfg.vector_bytes();
    *saving = best + double(host_link_cycles(cfg, in_bytes)) * (1.0 - 1.0 / double(G));
  }
  LayerGroup p = g;
  p.items = g.items / G;
  p.in_features = g.in_features * G;
  p.layers.clear();
  for (size_t i = 0; i < g.layers.size(); ++i) {
    Layer l = g.layers[i];
    if (i < best_e) {
      l.images_packed = uint32_t(G);
      l.out_features *= G;
      if (l.kind == LayerKind::kConv2d) l.in_c *= uint32_t(G);
    } else {
      l.rows_per_item *= G;  // G images per item from here on
    }
    p.layers.push_back(std::move(l));
    if (i + 1 == best_e && best_e < g.layers.size()) {
      Layer u;
      u.kind = LayerKind::kUnpack;
      u.name = g.layers[i].name + ".unpack";
      u.inputs = {g.layers[i].name};
      u.images_packed = uint32_t(G);
      u.out_features = g.layers[i].out_features;
      u.rows_per_item = g.layers[i].rows_per_item * G;
      p.layers.push_back(std::move(u));
    }
  }
  if (best_e < g.layers.size()) {
    const std::string from = g.layers[best_e - 1].name, to = from + ".unpack";
    for (size_t i = best_e + 1; i < p.layers.size(); ++i) {
      for (auto& n : p.layers[i].inputs)
        if (n == from) n = to;
      for (auto& t : p.layers[i].terms)
        if (t.input == from) t.input = to;
    }
  }
  return p;
}

// The first group as lowered: its first conv fed im2col rows by the host, or its leading layers
// on images packed in the lanes, whichever saves more (each only where it saves at all).
struct FirstGroup {
  std::optional<LayerGroup> group;
  uint64_t images = 0;  // > 0: images packed per item (new_host_packed), else im2col rows
};
FirstGroup first_group(const TpuConfig& cfg, const LayerGroup& g, const LowerOptions& opt) {
  FirstGroup f;
  std::optional<LayerGroup> im2col = host_packed(cfg, g, opt.first_conv);
  double s_im2col = im2col ? conv_host_packing_saving(cfg, g.layers[0]) : 0.0, s_images = 0.0;
  std::optional<LayerGroup> images = image_packed(cfg, g, opt.pack_images, &s_images);
  bool use_images = false;
  if (!images)
    use_images = false;
  else if (!im2col)
    use_images = true;
  else if (opt.first_conv == LowerOptions::ConvInput::kHostIm2col)
    use_images = false;  // forced
  else if (opt.pack_images == LowerOptions::PackImages::kOn)
    use_images = true;  // forced
  else
    use_images = s_images > s_im2col;
  if (use_images) {
    f.images = images->layers[0].images_packed;
    f.group = std::move(images);
  } else {
    f.group = std::move(im2col);
  }
  return f;
}

// LowerOptions::batches > 1: the workload's one group, once per batch, in one program.
template <class Start, class Finish>
void drive_stream(Lowerer& low, const Workload& wl, const LowerOptions& opt, Drive& d, Start& start,
                  Finish& finish) {
  if (wl.groups.size() != 1 || wl.groups[0].repeat != 1)
    throw InputError(fmt::format(
        "lowering {}: a stream of {} batches needs a workload of one group without repeats "
        "(it has {} groups)",
        wl.name, opt.batches, wl.groups.size()));
  const FirstGroup first_g = first_group(low.cfg(), wl.groups[0], opt);
  const std::optional<LayerGroup>& chosen = first_g.group;
  const bool packed = chosen && !first_g.images, images = chosen && first_g.images;
  const LayerGroup& g = chosen ? *chosen : wl.groups[0];
  start("", 1);
  std::vector<HostTensor> ins, outs;
  for (uint64_t b = 0; b < opt.batches; ++b) {
    // Every batch reads the same values (same key): its output is the first batch's.
    if (g.in_features)
      ins.push_back(
          packed   ? low.new_host_im2col(g, "input")
          : images ? low.new_host_packed(g, first_g.images, "input")
                   : low.new_host_tensor(g.items * g.in_rows_per_item, g.in_features, "input"));
    const Layer& last = g.layers.back();
    outs.push_back(low.new_host_tensor(g.items * last.rows_per_item, last.out_features, ""));
  }
  for (uint64_t b = 0; b < opt.batches; ++b) {
    const uint32_t first = uint32_t(d.layers.size());
    for (const Layer& l : g.layers) {
      LayerInfo li;
      li.group = g.name;
      li.name = g.name + "/" + l.name + (b > 0 ? fmt::format("#{}", b) : "");
      li.kind = l.kind;
      li.weight_bytes = l.weight_bytes();
      li.act = l.act;
      d.layers.push_back(li);
    }
    d.layer = first;
    const HostTensor in = g.in_features ? ins[b] : HostTensor{};
    low.set_stream(b, opt.batches,
                   b + 1 < opt.batches && g.in_features ? ins[b + 1] : HostTensor{});
    low.lower_group(g, 0, in, outs[b], first);
    if (images)
      for (size_t i = first; i < d.layers.size(); ++i) d.layers[i].item_images = first_g.images;
    d.double_buffered = low.double_buffered();
  }
  finish();
  if (g.in_features) d.input = ins[0];
  d.output = outs[0];
  d.wrapped = low.wrapped();
}

// Whether repeated group `g` may write its output where its input is (Lowerer::lower_group with
// both at one UB region): the output has the input's shape, and the last layer, the only one
// writing there, reads the input not at all or row for row (a vector op: each block's rows are
// read into the accumulators before its act writes them back).
bool in_place_ok(const LayerGroup& g) {
  if (g.layers.empty() || !g.in_features) return false;
  const Layer& last = g.layers.back();
  if (last.out_features != g.in_features || last.rows_per_item != g.in_rows_per_item) return false;
  const bool only = g.layers.size() == 1;  // its "" input is the group's
  bool reads_in = false;
  for (const auto& n : last.inputs) reads_in = reads_in || n == "@in" || (only && n.empty());
  for (const auto& t : last.terms)
    reads_in = reads_in || t.input == "@in" || (only && t.input.empty());
  return !reads_in || last.kind == LayerKind::kVector;
}

// How many switches of its MXU early each tile's rw goes (sim/compiler/sink.h). One MXU: the
// FIFO's depth. Several: an rw that finds its MXU's FIFO full holds the controller (it issues in
// order) and with it every other MXU's matmuls, and a slot frees only rows + cols - 1 cycles
// after its shift starts; so leave the slots that drain while the link brings one tile for each
// MXU (weight_slot_drain_cycles over mxus x the tile transfer), at least one ahead.
uint64_t rw_ahead(const TpuConfig& cfg) {
  const uint64_t fifo = std::max<uint32_t>(1, cfg.weight_fifo_tiles);
  if (cfg.mxus == 1) return fifo;
  const uint64_t round =
      uint64_t(cfg.mxus) * std::max<uint64_t>(1, timing::weight_tile_transfer_cycles(cfg));
  const uint64_t draining = (timing::weight_slot_drain_cycles(cfg) + round - 1) / round;
  return draining < fifo ? fifo - draining : 1;
}

// Runs the tiling, allocation and sync insertion of `wl` into `out`, one segment per group (one in
// all when unrolled). The only code that walks a workload: lower() and lower_stats() differ only
// in `out`.
void drive(const TpuConfig& cfg, const Workload& wl, const LowerOptions& opt, SegmentOut& out,
           Drive& d) {
  Lowerer low(cfg, wl, opt);
  low.set_layers(&d.layers);
  const uint64_t ahead = rw_ahead(cfg);
  std::unique_ptr<Emitter> em;
  auto start = [&](const std::string& group, uint64_t repeat) {
    Sink& sink = out.begin(group, repeat, wl.name + (group.empty() ? "" : "/" + group));
    em = std::make_unique<Emitter>(sink, cfg);
    low.begin_program(em.get(), out.images());
  };
  auto finish = [&]() {
    em->flush();
    out.end(ahead);
  };
  if (opt.batches > 1) {
    drive_stream(low, wl, opt, d, start, finish);
    return;
  }
  if (opt.unroll) start("", 1);
  // Issue 20 item 4: where each group's output goes. A repeated group reads and writes one UB
  // region (in place), so it keeps its output on chip only when its input is there; any other
  // group tries the UB's bottom, then its top, where it and the group(s) reading the tensor fit
  // whole beside it (dry runs: the next group, and when that repeats, also the one after it).
  const auto host_dummy = [&](const LayerGroup& g) {
    const Layer& last = g.layers.back();
    HostTensor h;
    h.rows = g.items * last.rows_per_item;
    h.features = last.out_features;
    return Lowerer::host_io(h);
  };
  const auto reads_into = [&](size_t gi, uint64_t rows, uint64_t features) {
    if (gi >= wl.groups.size()) return false;
    const LayerGroup& next = wl.groups[gi];
    return next.in_features == features && next.items * next.in_rows_per_item == rows;
  };
  // Whether repeated group gi (not the last) can read and write `r` in place, the group after it
  // reading `r` as it is or gathering rows from a copy the host gets.
  // (Gathered rows are written back by the next group's program: not when that one repeats too.)
  const auto repeats_in = [&](size_t gi, const Tensor& r, uint32_t first) {
    const LayerGroup& g = wl.groups[gi];
    if (gi + 1 >= wl.groups.size() || !in_place_ok(g) || !low.fits_whole(g, 0, r, r, first))
      return false;
    if (!reads_into(gi + 1, r.rows, r.features)) return wl.groups[gi + 1].repeat == 1;
    return low.fits_whole(wl.groups[gi + 1], 0, r, host_dummy(wl.groups[gi + 1]), first);
  };
  struct Where {
    Tensor t;
    std::string why;  // through the host: the reason
  };
  const auto place_output = [&](size_t gi, const LayerGroup& g, const Tensor& in) -> Where {
    const Layer& last = g.layers.back();
    const uint64_t rows = g.items * last.rows_per_item, features = last.out_features;
    const bool last_group = gi + 1 == wl.groups.size();
    if (last_group && g.repeat == 1) return {{}, ""};  // the workload's output
    if (!opt.keep_on_chip) return {{}, "each group through the host (keep_on_chip off)"};
    if (g.repeat > 1) {
      if (last_group) return {{}, "the workload's output"};
      if (in.host || in.features == 0) return {{}, "its input came through the host"};
      return {in, ""};  // chosen by the group before it (repeats_in)
    }
    if (!reads_into(gi + 1, rows, features))
      return {{}, "the next group reads other rows (the host gathers them)"};
    const uint32_t first = uint32_t(d.layers.size());
    const LayerGroup& next = wl.groups[gi + 1];
    for (bool top : {false, true}) {
      const Tensor cand = low.ub_io(rows, features, top);
      if (!low.fits_whole(g, 0, in, cand, first)) continue;
      if (next.repeat > 1 ? repeats_in(gi + 1, cand, first)
                          : low.fits_whole(next, 0, cand, host_dummy(next), first))
        return {cand, ""};
    }
    return {{}, "does not fit the UB beside the groups writing and reading it"};
  };
  Tensor cur;
  bool have_cur = false;
  std::optional<Tensor> write_back;  // a UB output the host gathers rows from, not yet written
  for (size_t gi = 0; gi < wl.groups.size(); ++gi) {
    const FirstGroup first_g = gi == 0 ? first_group(cfg, wl.groups[gi], opt) : FirstGroup{};
    const std::optional<LayerGroup>& chosen = first_g.group;
    const bool packed = chosen && !first_g.images, images = chosen && first_g.images;
    const LayerGroup& g = chosen ? *chosen : wl.groups[gi];
    if (!opt.unroll) start(g.name, g.repeat);
    const uint64_t reps = opt.unroll ? g.repeat : 1;
    for (uint64_t rep = 0; rep < reps; ++rep) {
      Tensor in;
      if (g.in_features) {
        if (!have_cur) {
          const HostTensor h =
              packed   ? low.new_host_im2col(g, "input")
              : images ? low.new_host_packed(g, first_g.images, "input")
                       : low.new_host_tensor(g.items * g.in_rows_per_item, g.in_features, "input");
          d.input = h;
          in = Lowerer::host_io(h);
        } else {
          in = cur;  // its shape: the transition at the end of the previous group saw to it
        }
      }
      if (write_back) {  // in this group's program: the one before repeats
        low.write_back(*write_back, uint32_t(d.layers.size()));
        write_back.reset();
      }
      const Layer& last = g.layers.back();
      Where out = place_output(gi, g, in);
      if (out.t.features == 0)
        out.t = Lowerer::host_io(
            low.new_host_tensor(g.items * last.rows_per_item, last.out_features, ""));
      const uint32_t first = uint32_t(d.layers.size());
      for (const Layer& l : g.layers) {
        LayerInfo li;
        li.group = g.name;
        li.name = (opt.unroll && g.repeat > 1 ? fmt::format("{}.{}", g.name, rep) : g.name) + "/" +
                  l.name;
        li.kind = l.kind;
        li.repeat = opt.unroll ? 1 : g.repeat;
        li.weight_bytes = l.weight_bytes();
        li.act = l.act;
        d.layers.push_back(li);
      }
      d.layer = first;
      low.lower_group(g, rep, in, out.t, first);
      if (images)
        for (size_t i = first; i < d.layers.size(); ++i) d.layers[i].item_images = first_g.images;
      if (rep == 0) {
        const uint64_t vecs = out.t.rows * out.t.blocks(low.W());
        if (g.repeat > 1) d.boundaries.push_back({g.name, g.name, vecs, !out.t.host, out.why});
        if (gi + 1 < wl.groups.size()) {
          const bool as_is = reads_into(gi + 1, out.t.rows, out.t.features);
          d.boundaries.push_back(
              {g.name, wl.groups[gi + 1].name, vecs, !out.t.host && as_is,
               as_is || out.t.host ? out.why
                                   : "the next group reads other rows (the host gathers them from "
                                     "a copy written back)"});
        }
      }
      cur = out.t;
      have_cur = true;
    }
    // The next group reads other rows than this one wrote: the host gathers (or extends) them,
    // from a copy of this output written back (by the next group's program) when it stayed in the
    // UB; their values restart as host data. A repeated next group that can work in place gets
    // them read into the UB at the end of this program (its own runs once per repetition).
    if (gi + 1 < wl.groups.size() && wl.groups[gi + 1].in_features &&
        !reads_into(gi + 1, cur.rows, cur.features)) {
      const LayerGroup& next = wl.groups[gi + 1];
      const uint32_t at = uint32_t(d.layers.size() - 1);
      if (!cur.host) write_back = cur;
      const uint64_t rows = next.items * next.in_rows_per_item;
      const HostTensor h = low.new_host_tensor(rows, next.in_features, next.name + "/0/gather");
      cur = Lowerer::host_io(h);
      if (opt.keep_on_chip && next.repeat > 1 && g.repeat == 1)
        for (bool top : {false, true}) {
          const Tensor r = low.ub_io(rows, next.in_features, top);
          if (!repeats_in(gi + 1, r, uint32_t(d.layers.size()))) continue;
          low.read_into(h, r, at);
          cur = r;
          d.boundaries.back().why += "; read into the UB for the repeated group";
          break;
        }
    }
    if (!opt.unroll) finish();
  }
  if (opt.unroll) finish();
  if (have_cur) {
    if (!cur.host) throw std::logic_error("lowering: the workload's output must be in host memory");
    d.output = HostTensor{cur.base, cur.rows, cur.features};
  }
  d.wrapped = low.wrapped();
}

// The program is stored only below this many instructions; above it lower() counts first.
constexpr uint64_t kProbeInstructions = uint64_t(1) << 22;

}  // namespace

namespace {
// A cheap order-dependent hash step (equality checks of instruction streams, not cryptography).
uint64_t mix(uint64_t h, uint64_t w) {
  h = (h ^ w) * 0x9e3779b97f4a7c15ull;
  return h ^ (h >> 29);
}
}  // namespace

void SegmentStats::add(const Instruction& in) {
  ++instructions;
  ++by_opcode[size_t(in.op) < by_opcode.size() ? size_t(in.op) : 0];
  auto reach = [](uint64_t& used, uint64_t lo, uint64_t n) { used = std::max(used, lo + n); };
  switch (in.op) {
    case Opcode::kReadHost:
    case Opcode::kWriteHost:
      reach(host_vectors_used, in.a, in.c);
      reach(ub_vectors_used, in.b, in.c);
      break;
    case Opcode::kMatmul:
      matmul_rows += in.c;
      reach(ub_vectors_used, in.a, in.c);
      reach(acc_entries_used, in.b, in.c);
      break;
    case Opcode::kActivate:
      reach(acc_entries_used, in.a, in.c);
      reach(ub_vectors_used, in.b, act_outputs(in));
      break;
    case Opcode::kReadWeights:
      weight_tiles_read += in.c;
      reach(weight_tiles_used, in.a, in.c);
      weight_hash = mix(weight_hash, in.a);
      return;
    default:
      break;
  }
  const uint64_t w0 =
      uint64_t(in.op) | uint64_t(in.flags) << 8 | uint64_t(in.d) << 16 | uint64_t(in.a) << 32;
  const uint64_t w1 = uint64_t(in.b) | uint64_t(in.c) << 32;
  code_hash = mix(mix(code_hash, w0), w1);
}

bool SegmentStats::operator==(const SegmentStats& o) const {
  return group == o.group && repeat == o.repeat && instructions == o.instructions &&
         by_opcode == o.by_opcode && matmul_rows == o.matmul_rows &&
         weight_tiles_read == o.weight_tiles_read && ub_vectors_used == o.ub_vectors_used &&
         acc_entries_used == o.acc_entries_used && weight_tiles_used == o.weight_tiles_used &&
         host_vectors_used == o.host_vectors_used && code_hash == o.code_hash &&
         weight_hash == o.weight_hash;
}

uint64_t LoweredProgram::useful_macs() const { return sum_layers(layers, &LayerInfo::useful_macs); }
uint64_t LoweredProgram::mac_slots() const { return sum_layers(layers, &LayerInfo::mac_slots); }
uint64_t LoweredProgram::weight_bytes_read() const {
  return sum_layers(layers, &LayerInfo::weight_bytes_read);
}
uint64_t LoweredProgram::instructions() const {
  uint64_t n = 0;
  for (const auto& s : segments) n += s.program.code.size();
  return n;
}

uint64_t LoweringStats::useful_macs() const { return sum_layers(layers, &LayerInfo::useful_macs); }
uint64_t LoweringStats::mac_slots() const { return sum_layers(layers, &LayerInfo::mac_slots); }
uint64_t LoweringStats::weight_bytes_read() const {
  return sum_layers(layers, &LayerInfo::weight_bytes_read);
}
uint64_t LoweringStats::instructions() const {
  uint64_t n = 0;
  for (const auto& s : segments) n += s.instructions;
  return n;
}

LoweringStats lower_stats(const TpuConfig& cfg, const Workload& wl, const LowerOptions& opt) {
  check_mappable(cfg, wl);
  LowerOptions o = opt;
  o.values = false;
  LoweringStats st;
  st.workload = wl.name;
  CountOut out(st, 0);
  Drive d;
  drive(cfg, wl, o, out, d);
  d.move_to(st);
  return st;
}

LoweringStats stats_of(const LoweredProgram& lp) {
  LoweringStats st;
  st.workload = lp.workload;
  st.layers = lp.layers;
  st.input = lp.input;
  st.output = lp.output;
  st.boundaries = lp.boundaries;
  st.weight_addresses_wrapped = lp.weight_addresses_wrapped;
  for (const auto& seg : lp.segments) {
    st.segments.emplace_back();
    SegmentStats& s = st.segments.back();
    s.group = seg.group;
    s.repeat = seg.repeat;
    for (const auto& in : seg.program.code) s.add(in);
  }
  return st;
}

LoweredProgram lower(const TpuConfig& cfg, const Workload& wl, const LowerOptions& opt) {
  check_mappable(cfg, wl);
  const uint64_t limit = opt.max_instructions;
  const uint64_t probe = limit ? std::min(limit, kProbeInstructions) : 0;
  auto store = [&](uint64_t budget) {
    LoweredProgram lp;
    lp.workload = wl.name;
    lp.values = opt.values;
    lp.identity_tile = 0;
    StoreOut out(lp, budget);
    Drive d;
    drive(cfg, wl, opt, out, d);
    d.move_to(lp);
    return lp;
  };
  try {
    return store(probe);
  } catch (const OverBudget&) {}
  // A big program: count it without storing anything, stopping at the limit; store it if it fits.
  LoweringStats st;
  CountOut out(st, limit);
  Drive d;
  LowerOptions o = opt;
  o.values = false;
  try {
    drive(cfg, wl, o, out, d);
  } catch (const OverBudget& e) {
    const std::string where = e.layer < d.layers.size() ? d.layers[e.layer].name : std::string("?");
    throw InputError(fmt::format(
        "{}: workload '{}' (batch {}) lowers for {} to more than {} instructions (the limit was "
        "reached "
        "in layer '{}'); expected at most {} (LowerOptions::max_instructions; storing them takes "
        "~{} MiB): lower a smaller batch or context, use a larger array, or count the program "
        "without storing it (lower_stats)",
        wl.file.empty() ? wl.name : wl.file, wl.name, wl.batch, cfg.name, limit, where, limit,
        (limit * kStoredInstructionBytes) >> 20));
  }
  return store(0);
}

}  // namespace tpusim
