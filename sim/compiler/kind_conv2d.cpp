// Layer kind `conv2d`: a 2-D convolution over NHWC rows, mapped as the TPU paper maps it: input
// channels on the array's rows, output channels on its columns, one weight tile per (kernel
// position, channel block, output block); for every output row an `mmc` streams the input pixels
// the kernel position touches (clipped at the borders, so no padded copy exists) into that row's
// accumulators. Stride s > 1 computes the s-times denser row (extra MAC slots, not useful MACs)
// and a 2-D act with a 1 x 1 window and stride s picks every s-th accumulator row. A fused 2-D
// pool (Layer::fused_pool) makes the blocks bands of pooled rows and pools in the same act.
#include <algorithm>
#include <limits>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "models/errors.h"
#include "sim/compiler/group_builder.h"
#include "sim/compiler/layer.h"
#include "sim/compiler/lowerer.h"

namespace tpusim {

namespace {

void parse(YamlMap& m, GroupBuilder& b, const std::string& name, const std::string& input,
           const std::string& where) {
  TensorShape s;
  Layer l = begin_layer(b, LayerKind::kConv2d, name, input, where, s);
  l.in_h = uint32_t(m.uint("in_h", 1, 1u << 16));
  l.in_w = uint32_t(m.uint("in_w", 1, 1u << 16));
  l.in_c = uint32_t(m.uint_or("in_c", s.features, 1, 1u << 20));
  if (l.in_c != s.features)
    m.fail("in_c", fmt::format("must equal the input's {} features", s.features));
  if (uint64_t(l.in_h) * l.in_w != s.rows_per_item)
    m.fail("in_h", fmt::format("in_h x in_w = {} must equal the input's {} rows per image",
                               uint64_t(l.in_h) * l.in_w, s.rows_per_item));
  l.out_features = m.uint("out_c", 1, 1u << 20);
  const uint64_t k = m.uint_or("kernel", 1, 1, 64);
  l.kernel_h = uint32_t(m.uint_or("kernel_h", k, 1, 64));
  l.kernel_w = uint32_t(m.uint_or("kernel_w", k, 1, 64));
  l.stride = uint32_t(m.uint_or("stride", 1, 1, 16));
  l.pad = uint32_t(m.uint_or("pad", 0, 0, 32));
  if (l.in_h + 2 * l.pad < l.kernel_h || l.in_w + 2 * l.pad < l.kernel_w)
    m.fail("kernel", "kernel larger than the padded input");
  l.act = parse_act(m);
  l.rows_per_item = uint64_t(l.out_h()) * l.out_w();
  b.add(std::move(l), where);
}

// Whether output o's kernel tap k (stride s, padding p) reads inside an input of n pixels.
bool in_bounds(uint64_t o, uint64_t k, uint64_t s, uint64_t p, uint64_t n) {
  const int64_t i = int64_t(o * s + k) - int64_t(p);
  return i >= 0 && i < int64_t(n);
}

// Outputs [0, out) whose tap k reads inside the input.
uint64_t valid(const Layer& l, uint64_t out, uint64_t in, uint64_t k) {
  uint64_t n = 0;
  for (uint64_t o = 0; o < out; ++o) n += in_bounds(o, k, l.stride, l.pad, in) ? 1 : 0;
  return n;
}

uint64_t macs(const Layer& l, uint64_t items) {
  // In-bounds products only: kernel positions over the zero padding are not computed.
  uint64_t pos = 0;
  for (uint64_t r = 0; r < l.kernel_h; ++r) {
    const uint64_t vy = valid(l, l.out_h(), l.in_h, r);
    for (uint64_t c = 0; c < l.kernel_w; ++c) pos += vy * valid(l, l.out_w(), l.in_w, c);
  }
  return items * pos * l.in_c * l.out_features;
}

uint64_t weight_bytes(const Layer& l) {
  // G packed images share one image's weights (Layer::images_packed).
  const uint64_t g = l.images_packed;
  return uint64_t(l.kernel_h) * l.kernel_w * (l.in_c / g) * (l.out_features / g);
}

LayerBounds bounds(const Layer& l, Bound128 rows) {
  LayerBounds b;
  b.weight_bytes = Bound128(l.kernel_h) * l.kernel_w * l.in_c * l.out_features;
  b.macs = rows * b.weight_bytes;
  return b;
}

void lower(Lowerer& low, const LayerTask& task) {
  const Layer& l = task.layer;
  const Tensor& in = task.tensors.at(l.inputs[0]);
  const Tensor& out = task.out;
  const std::string& key = task.key;
  const uint64_t W = low.W();
  const uint64_t H = l.in_h, Wd = l.in_w, Ho = l.out_h(), Wo = l.out_w(), s = l.stride, p = l.pad;
  const uint64_t kh = l.kernel_h, kw = l.kernel_w, C = l.in_c;
  const bool packed = l.im2col;  // one row per output pixel, kh x kw x C features (host-packed)
  // G images side by side in the lanes: block-diagonal tiles of one image's Cg x Mg weights.
  const uint64_t G = l.images_packed, Cg = C / G, Mg = l.out_features / G;
  if (G > 1 && packed)
    throw std::logic_error("lowering: a conv cannot take im2col rows and packed images at once");
  // Products of one input row in tile (kb, nt): the lanes of the same image in its rows and
  // columns (all of them when one image fills the lanes).
  auto cell = [&](uint64_t kb, uint64_t nt, uint64_t kvalid, uint64_t nvalid) {
    if (G == 1) return kvalid * nvalid;
    uint64_t n = 0;
    for (uint64_t i = 0; i < G; ++i) {
      const uint64_t r0 = std::max(i * Cg, kb * W), r1 = std::min((i + 1) * Cg, kb * W + W);
      const uint64_t c0 = std::max(i * Mg, nt * W), c1 = std::min((i + 1) * Mg, nt * W + W);
      if (r0 < r1 && c0 < c1) n += (r1 - r0) * (c1 - c0);
    }
    return n;
  };
  if (!packed && (2 * p > kh - 1 || 2 * p > kw - 1))
    throw InputError(
        fmt::format("lowering {}: conv '{}' has pad {} > (kernel - 1) / 2 = {}; the centre "
                    "kernel position must cover every output",
                    low.wl().name, l.name, p, (std::min(kh, kw) - 1) / 2));
  const uint64_t Wv = s == 1 || packed ? Wo : (Wo - 1) * s + 1;
  if (Wv > low.half())
    throw InputError(
        fmt::format("lowering {}: conv '{}' needs {} accumulator rows per output row; "
                    "{} has {} per half ({} too few)",
                    low.wl().name, l.name, Wv, low.cfg().name, low.half(), Wv - low.half()));
  // (rows_per_item counts G images when the group packs images into items: lowering.cpp)
  const uint64_t images =
      out.rows / (l.fused_pool.empty() ? Ho * Wo : uint64_t(l.pool_out_h()) * l.pool_out_w());
  const uint64_t per_block = low.half() / Wv;
  const uint64_t K = packed ? kh * kw * C : C;
  const uint64_t KB = (K + W - 1) / W, NT = out.blocks(W);
  const Requant rq = requant_for_k(kh * kw * Cg);
  // Kernel positions, the centre first (it initializes every accumulator row).
  std::vector<std::pair<uint64_t, uint64_t>> pos = {{p, p}};
  for (uint64_t r = 0; r < kh && !packed; ++r)
    for (uint64_t c = 0; c < kw; ++c)
      if (!(r == p && c == p)) pos.push_back({r, c});
  // Kernel positions in bounds: over output row y (rows) and summed over an output row (columns).
  auto valid_rows = [&](uint64_t y) {
    uint64_t n = 0;
    for (uint64_t r = 0; r < kh; ++r) n += in_bounds(y, r, s, p, H) ? 1 : 0;
    return n;
  };
  uint64_t valid_cols = 0;
  for (uint64_t c = 0; c < kw; ++c) valid_cols += valid(l, Wo, Wd, c);
  // Accumulator blocks of output rows g = (image, y) pairs: [g0, g1) and, with a fused pool, the
  // pool's geometry over the block and where its outputs go.
  struct Block {
    uint64_t g0, g1;
    Pool2d pool;
    uint64_t out_row = 0;  // first pooled output row
    uint64_t fresh = 0;    // rows g < fresh were computed by the previous block (overlap)
    uint64_t images = 1;   // whole images in the block, pooled one act each (`pool` is one's)
  };
  std::vector<Block> blocks;
  const bool fused = !l.fused_pool.empty();
  uint64_t PH = 0, PW = 0;
  if (!fused) {
    const uint64_t step = balanced_block(images * Ho, per_block);
    for (uint64_t g0 = 0; g0 < images * Ho; g0 += step)
      blocks.push_back({g0, std::min(images * Ho, g0 + step), {}, 0, g0, 1});
  } else {
    // Bands of pooled rows whose conv rows ((nb - 1) x stride + kh) fit a block; a window that
    // overlaps the previous band's rows recomputes them (3x3/2: one conv row per band).
    const uint64_t pk = l.pool_kh, ps = l.pool_stride, pp = l.pool_pad;
    PH = l.pool_out_h();
    PW = l.pool_out_w();
    if (per_block < pk || Wo > 0xFFFF) {
      // A pooling window's conv rows do not fit an accumulator block: the conv into a UB tensor,
      // then the pool's own pass (Lowerer::pool2d_pass tiles the image).
      Layer conv = l;
      conv.fused_pool.clear();
      conv.rows_per_item = Ho * Wo;
      const Tensor tmp = low.alloc_tensor(images * Ho * Wo, l.out_features,
                                          fmt::format("conv '{}' before its pool", l.name));
      lower(low, LayerTask{conv, task.tensors, tmp, task.i0, task.i1, images * Ho * Wo, key});
      Layer pl;
      pl.name = l.fused_pool;
      pl.kind = LayerKind::kPool;
      pl.in_h = uint32_t(Ho);
      pl.in_w = uint32_t(Wo);
      pl.kernel_h = l.pool_kh;
      pl.kernel_w = l.pool_kw;
      pl.stride = l.pool_stride;
      pl.stride_w = l.pool_stride_w;
      pl.pad = l.pool_pad;
      pl.pool = l.pool;
      low.pool2d_pass(tmp, out, pl);
      low.free_tensor(tmp);
      return;
    }
    const uint64_t nb =
        std::max<uint64_t>(1, std::min({(std::min<uint64_t>(per_block, 0xFFFF) - pk) / ps + 1,
                                        low.half() / PW, uint64_t(0xFFFF) / PW}));
    // Whole images per block when one fits (their windows never cross an image: one act each,
    // or one act over the stack when the windows tile the height exactly, no padding), else
    // bands of one image.
    const uint64_t rows_cap = std::min<uint64_t>(per_block, 0xFFFF);
    const uint64_t whole =
        Ho <= rows_cap
            ? std::min({rows_cap / Ho, low.half() / (PH * PW), uint64_t(0xFFFF) / (PH * PW)})
            : 0;
    const bool stack = pp == 0 && pk == ps && Ho % ps == 0;
    for (uint64_t img0 = 0; whole > 0 && img0 < images; img0 += whole) {
      const uint64_t n = std::min(images, img0 + whole) - img0;
      Block bl{img0 * Ho, (img0 + n) * Ho, {}, img0 * PH * PW, img0 * Ho, stack ? 1 : n};
      bl.pool = pool_tile(stack ? n * Ho : Ho, Wo, uint32_t(pk), l.pool_kw, uint32_t(ps),
                          l.pool_stride_w, uint32_t(pp), 0, stack ? n * PH : PH, 0, PW)
                    .g;
      blocks.push_back(bl);
    }
    for (uint64_t img = 0; whole == 0 && img < images; ++img) {
      uint64_t done = 0;
      for (uint64_t oy0 = 0; oy0 < PH; oy0 += nb) {
        const PoolTile t = pool_tile(Ho, Wo, uint32_t(pk), l.pool_kw, uint32_t(ps), l.pool_stride_w,
                                     uint32_t(pp), oy0, std::min(PH, oy0 + nb), 0, PW);
        const uint64_t ylo = t.y0, yhi = t.y0 + t.g.H;
        blocks.push_back({img * Ho + ylo, img * Ho + yhi, t.g, img * PH * PW + oy0 * PW,
                          img * Ho + std::max(done, ylo), 1});
        done = std::max(done, yhi);
      }
    }
  }
  for (const Block& bl : blocks) {
    const uint64_t g0 = bl.g0, g1 = bl.g1;
    for (uint64_t nt = 0; nt < NT; ++nt) {
      const uint64_t acc = low.next_acc();
      const uint64_t nvalid = std::min<uint64_t>(W, l.out_features - nt * W);
      bool first_pass = true;
      for (uint64_t kb = 0; kb < KB; ++kb) {
        const uint64_t kvalid = std::min<uint64_t>(W, K - kb * W);
        if (packed) {
          // One mmc over the block's rows: tile kb of the kh kw C x M matrix.
          Term t;
          t.k = K;
          t.n = l.out_features;
          t.key = key;
          t.sub_k = C;
          uint64_t tile = 0;
          if (!low.dry()) {
            tile = low.tile_for(t, kb, nt);
            LayerInfo& li = low.info();
            li.weight_tile_loads++;
            li.weight_bytes_read += kvalid * nvalid;
          }
          const uint64_t n = (g1 - g0) * Wo;
          const uint64_t ub = low.ub_rows(in, kb, g0 * Wo, n);
          low.em().mmc(ub, acc, n, kb > 0, tile, 0);
          if (!low.dry()) {
            uint64_t useful = 0;
            if (kb == 0)  // the block's in-bounds products, counted once
              for (uint64_t g = std::max(g0, bl.fresh); g < g1; ++g)
                useful += valid_rows(g % Ho) * valid_cols;
            low.info().useful_macs += useful * C * nvalid;
            low.info().mac_slots += n * W * W;
          }
          continue;
        }
        const uint64_t products = cell(kb, nt, kvalid, nvalid);
        if (products == 0) continue;  // an all-zero block of packed images' tiles
        for (auto [r, c] : pos) {
          Term t;  // tile rows = channels of block kb at kernel position (r, c)
          t.k = C;
          t.n = l.out_features;
          t.packed = G;
          t.key = fmt::format("{}#{}", key, r * kw + c);
          bool switched = false;
          uint64_t tile = 0;
          for (uint64_t g = g0; g < g1; ++g) {
            const uint64_t img = g / Ho, y = g % Ho;
            const int64_t yin = int64_t(y * s + r) - int64_t(p);
            if (yin < 0 || yin >= int64_t(H)) continue;
            const uint64_t u0 = c < p ? p - c : 0;
            const uint64_t u1 = std::min<uint64_t>(Wv, Wd + p - c);
            if (u0 >= u1) continue;
            if (!switched && !low.dry()) {
              tile = low.tile_for(t, kb, nt);
              LayerInfo& li = low.info();
              li.weight_tile_loads++;
              li.weight_bytes_read += products;
            }
            const uint64_t in_row = img * H * Wd + uint64_t(yin) * Wd + (u0 + c - p);
            const uint64_t ub = low.ub_rows(in, kb, in_row, u1 - u0);
            std::optional<uint64_t> sw;
            if (!switched) sw = tile;
            low.em().mmc(ub, acc + (g - g0) * Wv + u0, u1 - u0, !first_pass, sw, 0);
            switched = true;
            if (!low.dry()) {
              uint64_t useful = 0;
              if (g >= bl.fresh)  // a recomputed row (fused pool overlap) is not useful again
                for (uint64_t u = u0; u < u1; ++u) useful += (u % s == 0) ? 1 : 0;
              low.info().useful_macs += useful * products;
              low.info().mac_slots += (u1 - u0) * W * W;
            }
          }
          if (switched) first_pass = false;
        }
      }
      if (fused) {
        for (uint64_t i = 0; i < bl.images; ++i)
          low.act2d_out(out, acc + i * Ho * Wo, bl.out_row + i * PH * PW, nt, bl.pool, l.act,
                        l.pool, rq);
      } else if (s == 1 || packed) {
        low.act_out(out, acc, g0 * Wo, nt, (g1 - g0) * Wo, l.act, PoolKind::kNone, 0, rq);
      } else if (Wv <= 0xFFFF) {
        // Every s-th accumulator row of each output row: a 1 x 1 window moved by s along the
        // row, one act per block (a max over one element is the element), in pieces whose
        // output count fits the act's 16-bit d.
        const uint64_t step = std::max<uint64_t>(1, std::min<uint64_t>(0xFFFF, 0xFFFF / Wo));
        for (uint64_t a0 = g0; a0 < g1; a0 += step) {
          Pool2d pick;
          pick.H = uint32_t(std::min(g1, a0 + step) - a0);
          pick.W = uint32_t(Wv);
          pick.sw = uint32_t(s);
          low.act2d_out(out, acc + (a0 - g0) * Wv, a0 * Wo, nt, pick, l.act, PoolKind::kMax, rq);
        }
      } else {
        for (uint64_t g = g0; g < g1; ++g)
          for (uint64_t x = 0; x < Wo; ++x)
            low.act_out(out, acc + (g - g0) * Wv + x * s, g * Wo + x, nt, 1, l.act, PoolKind::kNone,
                        0, rq);
      }
    }
  }
  low.set_requant(requant_for_k(uint64_t(l.kernel_h) * l.kernel_w * (l.in_c / l.images_packed)));
}

}  // namespace

double conv_host_packing_saving(const TpuConfig& cfg, const Layer& l) {
  // Per image: the MXU rows each mapping streams plus the vectors the host link moves for its
  // input (read before the conv starts), in cycles. Channels on rows: every kernel position
  // streams the input pixels it touches (the s-times denser row when strided), ceil(C / W)
  // vectors per input pixel. Host-packed: one row per output pixel, ceil(kh kw C / W) vectors.
  const uint64_t W = cfg.array.rows, half = cfg.accumulator_entries / 2;
  const uint64_t H = l.in_h, Wd = l.in_w, Ho = l.out_h(), Wo = l.out_w(), s = l.stride, p = l.pad;
  const uint64_t kh = l.kernel_h, kw = l.kernel_w, C = l.in_c;
  const uint64_t NT = (l.out_features + W - 1) / W, KB = (C + W - 1) / W,
                 KBp = (kh * kw * C + W - 1) / W;
  if (Wo > half) return -1;
  const uint64_t Wv = s == 1 ? Wo : (Wo - 1) * s + 1;
  const bool rows_ok = 2 * p <= kh - 1 && 2 * p <= kw - 1 && Wv <= half;
  if (!rows_ok) return std::numeric_limits<double>::infinity();  // the only mapping
  uint64_t rows_cor = 0;
  for (uint64_t r = 0; r < kh; ++r) {
    const uint64_t vy = valid(l, Ho, H, r);
    for (uint64_t c = 0; c < kw; ++c) {
      const uint64_t u0 = c < p ? p - c : 0, u1 = std::min<uint64_t>(Wv, Wd + p - c);
      rows_cor += u1 > u0 ? vy * (u1 - u0) : 0;
    }
  }
  const uint64_t vb = cfg.vector_bytes();
  const double cor = double(NT * KB * rows_cor + host_link_cycles(cfg, H * Wd * KB * vb));
  const double pk = double(NT * KBp * Ho * Wo + host_link_cycles(cfg, Ho * Wo * KBp * vb));
  return cor - pk;
}

extern const LayerKindOps kConv2dKind = {LayerKind::kConv2d, "conv2d", &parse,  &macs,
                                         &weight_bytes,      nullptr,  &bounds, &lower};

}  // namespace tpusim
