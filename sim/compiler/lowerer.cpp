#include "sim/compiler/lowerer.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <stdexcept>

#include <fmt/format.h>

#include "models/errors.h"
#include "sim/compiler/interval_set.h"
#include "sim/isa/timing.h"

namespace tpusim {

uint64_t Lowerer::new_tile_address() {
  uint64_t addr = next_tile_++;
  if (addr >= cfg_.weight_memory_tiles()) {
    if (opt_.values)
      throw InputError(
          fmt::format("lowering {}: weights need more than the {} tiles of weight memory ({} B); "
                      "run timing-only",
                      wl_.name, cfg_.weight_memory_tiles(), cfg_.weight_memory.bytes));
    wrapped_ = true;  // timing only: addresses fold into weight memory (tile 0: the identity)
    addr = 1 + (addr - 1) % std::max<uint64_t>(1, cfg_.weight_memory_tiles() - 1);
  }
  return addr;
}

uint64_t Lowerer::tile_for(const Term& t, uint64_t kb, uint64_t nt) {
  if (em_->dry) return 0;
  if (!t.grid) {
    // (an im2col matrix is placed apart from the per-position matrices it packs)
    const uint64_t mh = t.sub_k || t.packed > 1
                            ? key_hash(t.key) ^ splitmix(t.sub_k * 0x10001 + t.packed)
                            : key_hash(t.key);
    // The placement (f0, n0) is part of the tile: GQA heads share a K/V matrix at other offsets.
    const uint64_t place = splitmix(mh ^ splitmix(t.f0 * 0x9e3779b97f4a7c15ull + t.n0));
    auto [it, fresh] = tiles_.try_emplace(place);
    TileGrid& g = it->second;
    if (fresh) {
      g.key_h = mh;
      g.kb0 = t.f0 / W_;
      g.nt0 = t.n0 / W_;
      g.init((t.f0 + t.k + W_ - 1) / W_ - g.kb0, (t.n0 + t.n + W_ - 1) / W_ - g.nt0);
    }
    t.grid = &g;
  }
  TileGrid& g = *t.grid;
  if (kb < g.kb0 || kb >= g.kb0 + g.kbs || nt < g.nt0 || nt >= g.nt0 + g.nts)
    throw std::logic_error(
        fmt::format("lowering {}: tile ({}, {}) outside matrix '{}'", wl_.name, kb, nt, t.key));
  uint32_t& slot = g.at(kb, nt);
  if (slot) return slot;
  const uint64_t mh = g.key_h;
  const uint64_t addr = new_tile_address();
  slot = u32(addr);
  if (opt_.values) {
    std::vector<int8_t> img(cfg_.tile_bytes(), 0);
    const uint64_t vk = value_key(opt_.seed, t.packed > 1 ? key_hash(t.key) : mh);
    const uint64_t gk = t.k / t.packed, gn = t.n / t.packed;  // one image's block
    for (uint64_t r = 0; r < W_; ++r) {
      const uint64_t f = kb * W_ + r;
      if (f < t.f0 || f >= t.f0 + t.k) continue;
      if (t.packed > 1) {
        const uint64_t i = (f - t.f0) / gk;
        for (uint64_t c = 0; c < W_; ++c) {
          const uint64_t col = nt * W_ + c;
          if (col < t.n0 + i * gn || col >= t.n0 + (i + 1) * gn) continue;
          img[r * W_ + c] = value_keyed(vk, (f - t.f0) % gk, col - t.n0 - i * gn);
        }
        continue;
      }
      uint64_t row = f - t.f0, rk = vk;
      if (t.sub_k) {
        rk = value_key(opt_.seed, key_hash(fmt::format("{}#{}", t.key, row / t.sub_k)));
        row %= t.sub_k;
      }
      for (uint64_t c = 0; c < W_; ++c) {
        const uint64_t col = nt * W_ + c;
        if (col < t.n0 || col >= t.n0 + t.n) continue;
        img[r * W_ + c] = value_keyed(rk, row, col - t.n0);
      }
    }
    prog_->weight_init[addr] = std::move(img);
  }
  return addr;
}

void Lowerer::reset_ub(bool spill, const LayerGroup* stream) {
  ub_ = std::make_unique<UbAllocator>(cfg_.ub_vectors());
  for (auto [base, n] : pinned_)
    if (!ub_->reserve(base, n)) throw UbFull{n, ub_->largest(), "tensor kept between phases"};
  if (chunk_bufs_) {
    for (int i = 0; i < 2; ++i) {
      chunk_in_[i] =
          alloc_tensor(chunk_items_ * chunk_in_rows_, chunk_in_features_, "chunk input buffer");
      chunk_in_[i].owned = false;
    }
  }
  if (stream) {
    // Two input and two output buffers of the whole batch, first: the same addresses for every
    // batch of the stream.
    const Layer& last = stream->layers.back();
    for (int i = 0; i < 2; ++i) {
      in_buf_[i] = alloc_tensor(stream->items * stream->in_rows_per_item, stream->in_features,
                                "stream input buffer");
      in_buf_[i].owned = false;
      out_buf_[i] = alloc_tensor(stream->items * last.rows_per_item, last.out_features,
                                 "stream output buffer");
      out_buf_[i].owned = false;
    }
  }
  if (spill) {
    for (auto* slot : {&stage_in_[0], &stage_in_[1], &stage_out_[0], &stage_out_[1]}) {
      auto b = ub_->alloc(half_);
      if (!b) throw UbFull{4 * half_, cfg_.ub_vectors(), "host staging buffers"};
      *slot = *b;
    }
  }
}

void Lowerer::begin_program(Emitter* em, Program* prog) {
  em_ = em;
  prog_ = prog;
  tiles_.clear();
  shift_tiles_.clear();
  next_tile_ = 1;
  if (opt_.values) {
    std::vector<int8_t> id(cfg_.tile_bytes(), 0);
    for (uint64_t r = 0; r < W_; ++r) id[r * W_ + r] = 1;
    prog_->weight_init[0] = std::move(id);
  }
}

HostTensor Lowerer::host_tensor(
    uint64_t rows, uint64_t features, const std::string& key,
    const std::function<int8_t(uint64_t vk, uint64_t row, uint64_t feature)>& value) {
  HostTensor h;
  h.rows = rows;
  h.features = features;
  const uint64_t blocks = (features + W_ - 1) / W_;
  h.base = host_alloc(rows * blocks);
  if (opt_.values && !key.empty()) {
    std::vector<int8_t> img(rows * blocks * W_, 0);
    const uint64_t vk = value_key(opt_.seed, key_hash(key));
    for (uint64_t b = 0; b < blocks; ++b)
      for (uint64_t r = 0; r < rows; ++r)
        for (uint64_t l = 0; l < W_ && b * W_ + l < features; ++l)
          img[(b * rows + r) * W_ + l] = value(vk, r, b * W_ + l);
    prog_->host_init[h.base] = std::move(img);
  }
  return h;
}

HostTensor Lowerer::new_host_tensor(uint64_t rows, uint64_t features, const std::string& key) {
  return host_tensor(rows, features, key,
                     [](uint64_t vk, uint64_t r, uint64_t f) { return value_keyed(vk, r, f); });
}

HostTensor Lowerer::new_host_im2col(const LayerGroup& g, const std::string& key) {
  const Layer& l = g.layers.at(0);
  const uint64_t H = l.in_h, Wd = l.in_w, C = l.in_c, kw = l.kernel_w, s = l.stride,
                 sw = l.stride_w ? l.stride_w : l.stride, p = l.pad, Ho = l.out_h(), Wo = l.out_w();
  // Row r = output pixel (image, y, x); feature f = (ky x kw + kx) x C + c: the input at that
  // window position, 0 over the padding.
  return host_tensor(g.items * Ho * Wo, uint64_t(l.kernel_h) * kw * C, key,
                     [&](uint64_t vk, uint64_t r, uint64_t f) -> int8_t {
                       const uint64_t im = r / (Ho * Wo), y = r / Wo % Ho, x = r % Wo;
                       const uint64_t pos = f / C, c = f % C, ky = pos / kw, kx = pos % kw;
                       const int64_t yi = int64_t(y * s + ky) - int64_t(p),
                                     xi = int64_t(x * sw + kx) - int64_t(p);
                       if (yi < 0 || yi >= int64_t(H) || xi < 0 || xi >= int64_t(Wd)) return 0;
                       return value_keyed(vk, im * H * Wd + uint64_t(yi) * Wd + uint64_t(xi), c);
                     });
}

HostTensor Lowerer::new_host_packed(const LayerGroup& g, uint64_t packed, const std::string& key) {
  const uint64_t C = g.in_features / packed, P = g.in_rows_per_item;
  // Row r = (packed item s, pixel p); feature f = image i's channel c: image sG + i's pixel p.
  return host_tensor(g.items * P, g.in_features, key, [&](uint64_t vk, uint64_t r, uint64_t f) {
    return value_keyed(vk, (r / P * packed + f / C) * P + r % P, f % C);
  });
}

void Lowerer::switch_shift_if_needed(uint64_t from, uint64_t n, std::optional<uint64_t>& tile,
                                     uint64_t& key) {
  tile.reset();
  key = kIdentityKey - 1 - (from * W_ + n);  // one key per shift, never a model matrix's
  if (em_->active_key() == key) return;
  uint64_t addr = 0;
  if (!em_->dry) {
    auto [it, fresh] = shift_tiles_.try_emplace({from, n}, 0);
    if (fresh) {
      it->second = new_tile_address();
      if (opt_.values) {
        std::vector<int8_t> img(cfg_.tile_bytes(), 0);
        for (uint64_t c = 0; c < n; ++c) img[(from + c) * W_ + c] = 1;
        prog_->weight_init[it->second] = std::move(img);
      }
    }
    addr = it->second;
    info().identity_tile_loads++;
  }
  tile = addr;
}

void Lowerer::gemm(const Tensor& out, const std::vector<Term>& terms, ActFunction f,
                   const Requant& rq, uint64_t nt_lo, uint64_t nt_hi) {
  const uint64_t rows = out.rows;
  // With several MXUs, G output column blocks at once, block j on MXU j into its own share of
  // the accumulator half: for each K tile, one mmc per MXU in a row, so that they run side by
  // side (the controller issues one a cycle) and share the input rows read for that K tile.
  const uint64_t G = std::max<uint64_t>(1, std::min<uint64_t>(em_->mxus(), nt_hi - nt_lo));
  // Block j starts at share j of the half, in banks of its own (mxu_share).
  const uint64_t share = mxu_share(G);
  const uint64_t blk = balanced_block(rows, std::min(half_ / G, share));
  std::vector<uint64_t> tiles(G);
  std::vector<IntervalSet> init(G);
  std::vector<std::vector<Emitter::Mmc>> queued(G);
  for (uint64_t rb0 = 0; rb0 < rows; rb0 += blk) {
    const uint64_t rb1 = std::min(rows, rb0 + blk);
    for (uint64_t nt0 = nt_lo; nt0 < nt_hi; nt0 += G) {
      const uint64_t g = std::min(G, nt_hi - nt0);  // blocks in this group
      const uint64_t acc0 = next_acc();
      for (uint64_t j = 0; j < g; ++j) init[j] = IntervalSet();
      // With several MXUs and every input on chip, each MXU's matmuls are queued and then
      // issued round-robin, so that a term that feeds one block (an attention head's V) does
      // not keep the other MXUs waiting behind its K tiles. (Inputs staged from the host are
      // read per K tile into alternating buffers: those issue per K tile.) The i-th mmcs of the
      // MXUs issue together: where they read the same rows (one K tile), as one source and its
      // chain followers (Emitter::mmcs).
      const bool queue = g > 1 && std::none_of(terms.begin(), terms.end(),
                                               [](const Term& t) { return t.in->host; });
      for (auto& q : queued) q.clear();
      auto mmc = [&](uint64_t j, uint64_t ub, uint64_t acc, uint64_t n, bool accumulate,
                     std::optional<uint64_t> sw) {
        queued[j].push_back({ub, acc, n, accumulate, sw, 0, uint32_t(j)});
      };
      auto issue_queued = [&] {
        std::vector<Emitter::Mmc> together;
        for (size_t i = 0, left = 1; left; ++i) {
          left = 0;
          together.clear();
          for (uint64_t j = 0; j < g; ++j) {
            if (i >= queued[j].size()) continue;
            together.push_back(queued[j][i]);
            left += i + 1 < queued[j].size();
          }
          if (!together.empty()) em_->mmcs(together);
        }
        for (auto& q : queued) q.clear();
      };
      for (const Term& t : terms) {
        const uint64_t a = std::max(rb0, t.row_lo), b = std::min(rb1, t.row_hi);
        if (a >= b) continue;
        // Output columns [c0, c1) of block nt0 + j that this term feeds (none: c0 >= c1).
        auto cols = [&](uint64_t j) {
          const uint64_t nt = nt0 + j;
          return std::make_pair(std::max(nt * W_, t.n0), std::min(nt * W_ + W_, t.n0 + t.n));
        };
        bool any = false;
        for (uint64_t j = 0; j < g && !any; ++j) any = cols(j).first < cols(j).second;
        if (!any) continue;
        const uint64_t kb0 = t.f0 / W_, kb1 = (t.f0 + t.k + W_ - 1) / W_;
        if (em_->dry) {
          // A dry run only sizes the UB; what it changes is the host staging parity (one
          // ub_rows per K tile), applied here without walking the tiles of a huge layer.
          if (t.in->host && ((kb1 - kb0) & 1)) stage_in_next_ ^= 1;
          continue;
        }
        for (uint64_t kb = kb0; kb < kb1; ++kb) {
          const uint64_t kvalid = std::min(kb * W_ + W_, t.f0 + t.k) - std::max(kb * W_, t.f0);
          for (uint64_t j = 0; j < g; ++j)
            if (cols(j).first < cols(j).second) tiles[j] = tile_for(t, kb, nt0 + j);
          const uint64_t ub = ub_rows(*t.in, kb, a, b - a);
          for (uint64_t j = 0; j < g; ++j) {
            const auto [c0, c1] = cols(j);
            if (c0 >= c1) continue;
            const uint64_t acc = acc0 + j * share;
            // Split [a, b) where the accumulators are already initialized or not.
            bool first = true;
            uint64_t s = a;
            while (s < b) {
              const bool cov = init[j].covers(s, s + 1);
              uint64_t e = s + 1;
              while (e < b && init[j].covers(e, e + 1) == cov) ++e;
              std::optional<uint64_t> sw;
              if (first) sw = tiles[j];
              mmc(j, ub + (s - a), acc + (s - rb0), e - s, cov, sw);
              first = false;
              s = e;
            }
            init[j].add(a, b);
            LayerInfo& li = info();
            li.useful_macs += (b - a) * kvalid * (c1 - c0);
            li.mac_slots += (b - a) * W_ * W_;
            if (t.kv) {
              li.kv_tile_loads++;
              li.kv_bytes_read += kvalid * (c1 - c0);
            } else {
              li.weight_tile_loads++;
              li.weight_bytes_read += kvalid * (c1 - c0);
            }
          }
          if (!queue) issue_queued();  // this K tile's (its staging buffer is reused)
        }
      }
      issue_queued();
      for (uint64_t j = 0; j < g; ++j)
        act_out(out, acc0 + j * share, rb0, nt0 + j, rb1 - rb0, f, PoolKind::kNone, 0, rq);
    }
  }
}

void Lowerer::identity_pass(const std::vector<const Tensor*>& ins, const Tensor& out, ActFunction f,
                            PoolKind pool, uint32_t window) {
  const uint32_t log2p = window > 1 ? uint32_t(std::log2(window)) : 0;
  const Requant rq = requant_for_sum(ins.size());
  const uint64_t rows = ins[0]->rows;
  const uint64_t w = std::max<uint32_t>(window, 1);
  // With several MXUs, G column blocks at once, block j on MXU j (as Lowerer::gemm).
  const uint64_t blocks = out.blocks(W_);
  const uint64_t G = std::max<uint64_t>(1, std::min<uint64_t>(em_->mxus(), blocks));
  const uint64_t share = mxu_share(G);  // as Lowerer::gemm
  const uint64_t step = balanced_block(rows / w, std::min(half_ / G, share) / w) * w;  // windows
  for (uint64_t rb0 = 0; rb0 < rows; rb0 += step) {
    const uint64_t rb1 = std::min(rows, rb0 + step);
    for (uint64_t b0 = 0; b0 < blocks; b0 += G) {
      const uint64_t g = std::min(G, blocks - b0);
      const uint64_t acc0 = next_acc();
      for (size_t k = 0; k < ins.size(); ++k)
        for (uint64_t j = 0; j < g; ++j) {
          const uint64_t ub = ub_rows(*ins[k], b0 + j, rb0, rb1 - rb0);
          std::optional<uint64_t> sw;
          switch_identity_if_needed(sw, uint32_t(j));
          em_->mmc(ub, acc0 + j * share, rb1 - rb0, k > 0, sw, kIdentityKey, uint32_t(j));
          if (!em_->dry) info().mac_slots += (rb1 - rb0) * W_ * W_;
        }
      for (uint64_t j = 0; j < g; ++j)
        act_out(out, acc0 + j * share, rb0 >> log2p, b0 + j, rb1 - rb0, f, pool, log2p, rq);
    }
  }
}

PoolTile pool_tile(uint64_t H, uint64_t W, uint32_t kh, uint32_t kw, uint32_t sh, uint32_t sw,
                   uint32_t p, uint64_t oy0, uint64_t oy1, uint64_t ox0, uint64_t ox1) {
  const int64_t top = int64_t(oy0 * sh) - p, bottom = int64_t((oy1 - 1) * sh + kh) - p;
  const int64_t left = int64_t(ox0 * sw) - p, right = int64_t((ox1 - 1) * sw + kw) - p;
  PoolTile t;
  t.y0 = uint64_t(std::max<int64_t>(0, top));
  t.x0 = uint64_t(std::max<int64_t>(0, left));
  const uint64_t y1 = uint64_t(std::min<int64_t>(int64_t(H), bottom)),
                 x1 = uint64_t(std::min<int64_t>(int64_t(W), right));
  t.g.H = uint32_t(y1 - t.y0);
  t.g.W = uint32_t(x1 - t.x0);
  t.g.kh = kh;
  t.g.kw = kw;
  t.g.sh = sh;
  t.g.sw = sw;
  t.g.pt = uint32_t(int64_t(t.y0) - top);
  t.g.pb = uint32_t(std::max<int64_t>(0, bottom - int64_t(y1)));
  t.g.pl = uint32_t(int64_t(t.x0) - left);
  t.g.pr = uint32_t(std::max<int64_t>(0, right - int64_t(x1)));
  return t;
}

void Lowerer::pool2d_pass(const Tensor& in, const Tensor& out, const Layer& l) {
  const uint64_t H = l.in_h, Wd = l.in_w, kh = l.kernel_h, kw = l.kernel_w, s = l.stride, p = l.pad,
                 sw = l.stride_w ? l.stride_w : l.stride, OH = l.out_h(), OW = l.out_w();
  // Tiles of nb output rows x ow output columns whose input rows and columns fit half the
  // accumulators (and the act's 16-bit fields); the outputs of a tile are contiguous in the UB
  // when it spans whole rows, so a tile narrower than the image is one output row high.
  const uint64_t cap = std::min<uint64_t>(half_, 0xFFFF);
  uint64_t ow = OW, nb = 1;
  if (kh * Wd <= cap) {
    nb = std::max<uint64_t>(1, std::min((cap / Wd - kh) / s + 1, cap / OW));
  } else {
    if (cap / kh < kw)
      throw InputError(
          fmt::format("lowering {}: pool '{}' needs {} accumulator rows for one "
                      "{} x {} window; {} has {} per half",
                      wl_.name, l.name, kh * kw, kh, kw, cfg_.name, half_));
    ow = (cap / kh - kw) / sw + 1;
  }
  const Requant rq = requant_for_sum(1);
  const uint64_t images = in.rows / (H * Wd);
  for (uint64_t img = 0; img < images; ++img)
    for (uint64_t oy0 = 0; oy0 < OH; oy0 += nb)
      for (uint64_t ox0 = 0; ox0 < OW; ox0 += ow) {
        const uint64_t oy1 = std::min(OH, oy0 + nb), ox1 = std::min(OW, ox0 + ow);
        const PoolTile t = pool_tile(H, Wd, uint32_t(kh), uint32_t(kw), uint32_t(s), uint32_t(sw),
                                     uint32_t(p), oy0, oy1, ox0, ox1);
        const Pool2d& g = t.g;
        const uint64_t ylo = t.y0, yhi = t.y0 + g.H, xlo = t.x0, xhi = t.x0 + g.W;
        const bool whole = xlo == 0 && xhi == Wd;
        for (uint64_t b = 0; b < out.blocks(W_); ++b) {
          const uint64_t acc = next_acc();
          // one identity pass per contiguous run of input rows: the band, or each row's slice
          for (uint64_t y = ylo; y < yhi; y = whole ? yhi : y + 1) {
            const uint64_t n = whole ? (yhi - ylo) * Wd : xhi - xlo;
            const uint64_t ub = ub_rows(in, b, img * H * Wd + y * Wd + xlo, n);
            std::optional<uint64_t> tile;
            switch_identity_if_needed(tile);
            em_->mmc(ub, acc + (y - ylo) * g.W, n, false, tile, kIdentityKey);
            if (!em_->dry) info().mac_slots += n * W_ * W_;
          }
          act2d_out(out, acc, img * OH * OW + oy0 * OW + ox0, b, g, l.act, l.pool, rq);
        }
      }
}

void Lowerer::host_fill(const Tensor& out, const std::string& key, uint64_t global_row0) {
  // The host prepares the rows (in place when the tensor is spilled, else in a fresh region that
  // the UB reads with one rhm per block).
  const uint64_t blocks = out.blocks(W_);
  if (em_->dry) return;
  Tensor src = out;
  if (!out.host) {
    src.host = true;
    src.base = host_alloc(out.rows * blocks);
    src.stride = out.rows;
    src.row_off = 0;
  }
  if (opt_.values) {
    const uint64_t vk = value_key(opt_.seed, key_hash(key));
    for (uint64_t b = 0; b < blocks; ++b) {
      std::vector<int8_t> img(out.rows * W_, 0);
      for (uint64_t r = 0; r < out.rows; ++r)
        for (uint64_t l = 0; l < W_ && b * W_ + l < out.features; ++l)
          img[r * W_ + l] = value_keyed(vk, global_row0 + r, b * W_ + l);
      prog_->host_init[src.vec(0, b)] = std::move(img);
    }
  }
  if (out.host) return;
  for (uint64_t b = 0; b < blocks; ++b) em_->rhm(src.vec(0, b), out.vec(0, b), out.rows);
}

void Lowerer::lower_group_chunk(const LayerGroup& g, uint64_t rep, uint64_t i0, uint64_t i1,
                                const Tensor& gin, const Tensor& gout, uint32_t first_layer,
                                const std::string& in_name) {
  const uint64_t items = i1 - i0;
  std::map<std::string, Tensor> tensors;
  // Last use of every tensor.
  std::map<std::string, size_t> last_use;
  auto note = [&](const std::string& n, size_t i) { last_use[n] = i; };
  for (size_t i = 0; i < g.layers.size(); ++i) {
    const Layer& l = g.layers[i];
    for (const auto& t : l.terms) note(t.input, i);
    for (const auto& s : l.inputs) note(s, i);
  }
  const std::string prefix = g.name + "/" + std::to_string(rep) + "/";

  // A group input no layer reads (a group that starts with its own host read) is not read in.
  if (g.in_features && last_use.count(in_name)) {
    Tensor in_view = gin;
    in_view.row_off = gin.row_off + i0 * g.in_rows_per_item;
    in_view.rows = items * g.in_rows_per_item;
    const uint64_t c = chunk_bufs_ ? i0 / chunk_items_ : 0;  // this chunk
    Tensor t = stream_bufs_  ? in_buf_[batch_ % 2]
               : chunk_bufs_ ? chunk_in_[c % 2]
               : !gin.host   ? in_view  // kept in the UB by the previous phase
                           : alloc_tensor(in_view.rows, g.in_features, g.name + " input", &in_view);
    t.rows = in_view.rows;  // a chunk buffer's last chunk may be shorter (its stride stays)
    cur_layer_ = first_layer;
    em_->layer = cur_layer_;
    const bool read_ahead = (stream_bufs_ && batch_ > 0) || (chunk_bufs_ && c > 0);
    if (gin.host && !t.host && !read_ahead) {
      // Read in pieces of half the accumulators' rows where a piece moves many times the link's
      // latency and the first layer reads its input block by block (ub_rows): each piece is
      // emitted when the first layer's blocks reach the piece before it, so the layer computes
      // on the rows already in while the rest arrives (ResNet-50's 3.2 MB of im2col rows took
      // 143k cycles before conv1 could start). Else the whole input first.
      const Layer& l0 = g.layers[0];
      bool l0_reads = false;
      for (const auto& n : l0.inputs) l0_reads = l0_reads || n == in_name;
      for (const auto& tm : l0.terms) l0_reads = l0_reads || tm.input == in_name;
      const bool by_blocks = l0.kind == LayerKind::kConv2d || l0.kind == LayerKind::kFc ||
                             l0.kind == LayerKind::kPool || l0.kind == LayerKind::kVector;
      const bool pieces =
          l0_reads && by_blocks && t.rows > half_ &&
          host_link_cycles(cfg_, half_ * W_) >= 4 * uint64_t(cfg_.host_link.latency_cycles);
      in_pieces_ = {t, in_view, pieces ? half_ : t.rows, 0, {}};
      read_pieces(1);
    }
    if (chunk_bufs_ && i1 < chunk_total_) {
      // The next chunk's input into the other buffer while this one computes.
      Tensor next = gin;
      next.row_off = gin.row_off + i1 * g.in_rows_per_item;
      const uint64_t rows = (std::min(chunk_total_, i1 + chunk_items_) - i1) * g.in_rows_per_item;
      read_after_pieces(next, chunk_in_[(c + 1) % 2], rows);
    }
    if (stream_bufs_ && batch_ + 1 < batches_) {
      // Read the next batch's input into the other buffer while this one computes.
      Tensor next = gin;
      next.base = next_in_.base;
      const Tensor& nb = in_buf_[(batch_ + 1) % 2];
      read_after_pieces(next, nb, nb.rows);
    }
    tensors[in_name] = t;
  }
  for (size_t i = 0; i < g.layers.size(); ++i) {
    const Layer& l = g.layers[i];
    cur_layer_ = first_layer + uint32_t(i);
    em_->layer = cur_layer_;
    const bool last = i + 1 == g.layers.size();
    const uint64_t rows = items * l.rows_per_item;
    Tensor gout_view = gout;
    gout_view.row_off = gout.row_off + i0 * l.rows_per_item;
    gout_view.rows = rows;
    Tensor out = last && stream_bufs_ ? out_buf_[batch_ % 2]
                 : last && !gout.host
                     ? gout_view  // kept in the UB for the next phase
                     : alloc_tensor(rows, l.out_features, l.name, last ? &gout_view : nullptr);
    const std::string key = prefix + l.name;
    layer_kind(l.kind).lower(*this, LayerTask{l, tensors, out, i0, i1, rows, key});
    read_pieces(~0ull);  // whatever the first layer did not reach, before any other reads it
    tensors[l.name] = out;
    // Free tensors whose last use was this layer (never the group output).
    for (auto it = tensors.begin(); it != tensors.end();) {
      auto lu = last_use.find(it->first);
      const bool dead = it->first != l.name && (lu == last_use.end() || lu->second <= i);
      if (dead) {
        free_tensor(it->second);
        it = tensors.erase(it);
      } else {
        ++it;
      }
    }
    if (last && !out.host && gout.host) {
      for (uint64_t b = 0; b < out.blocks(W_); ++b)
        em_->whm(gout_view.vec(0, b), out.vec(0, b), out.rows);
    }
  }
  for (auto& [n, t] : tensors) free_tensor(t);
}

std::optional<UbFull> Lowerer::fits(const LayerGroup& g, uint64_t rep, const std::string& in_name,
                                    const Tensor& gin, const Tensor& gout, uint32_t first_layer,
                                    uint64_t chunk, bool spill) {
  const bool was_dry = em_->dry;
  const uint64_t host_saved = host_next_;
  em_->dry = true;
  spill_ = spill;
  std::optional<UbFull> err;
  try {
    reset_ub(spill, stream_bufs_ ? &g : nullptr);
    lower_group_chunk(g, rep, 0, std::min(chunk, g.items), gin, gout, first_layer, in_name);
  } catch (const UbFull& e) {
    err = e;
  }
  em_->dry = was_dry;
  host_next_ = host_saved;
  return err;
}

uint64_t Lowerer::largest_chunk(const LayerGroup& g, uint64_t rep, const std::string& in_name,
                                const Tensor& gin, const Tensor& gout, uint32_t first_layer) {
  uint64_t chunk = g.items;
  auto err = fits(g, rep, in_name, gin, gout, first_layer, chunk, false);
  while (err && chunk > 1) {
    chunk = (chunk + 1) / 2;
    err = fits(g, rep, in_name, gin, gout, first_layer, chunk, false);
  }
  return err ? 0 : chunk;
}

uint64_t Lowerer::plan_chunk_bufs(const LayerGroup& g, uint64_t rep, const std::string& in_name,
                                  const Tensor& gin, const Tensor& gout, uint32_t first_layer,
                                  uint64_t chunk) {
  // The host link reads chunk c + 1's input while chunk c computes (issue 20 item 5: CNN1's
  // 8 MB per 4-image chunk took 373k cycles before each chunk could start).
  chunk_bufs_ = false;
  bool read = false;
  for (const Layer& l : g.layers) {
    for (const auto& n : l.inputs) read = read || n == in_name;
    for (const auto& t : l.terms) read = read || t.input == in_name;
  }
  if (!gin.host || !g.in_features || !read || chunk >= g.items || stream_bufs_) return chunk;
  chunk_total_ = g.items;
  chunk_in_rows_ = g.in_rows_per_item;
  chunk_in_features_ = g.in_features;
  // Smaller chunks make room for the buffers but re-read the weights once more per chunk: taken
  // while the weight reads added (at the weight memory's bandwidth) take less than the host reads
  // hidden (every chunk's input but the first, at the host link's).
  uint64_t weights = 0;
  for (const Layer& l : g.layers) weights += l.weight_bytes();
  const auto chunks_of = [&](uint64_t c) { return (g.items + c - 1) / c; };
  const uint64_t item_bytes = g.in_rows_per_item * ((g.in_features + W_ - 1) / W_) * W_;
  for (uint64_t c = chunk; c >= 1; c = c / 2) {
    const uint64_t n = chunks_of(c);
    const uint64_t hidden = (n - 1) * host_link_cycles(cfg_, c * item_bytes);
    const uint64_t extra = weight_memory_cycles(cfg_, weights * (n - chunks_of(chunk)));
    if (c < chunk && extra >= hidden) break;
    chunk_bufs_ = true;
    chunk_items_ = c;
    if (!fits(g, rep, in_name, gin, gout, first_layer, c, false)) return c;
    chunk_bufs_ = false;
    if (c == 1) break;
  }
  return chunk;
}

bool clean_cut(const LayerGroup& g, size_t i) {
  std::vector<std::string> after;
  for (size_t j = i - 1; j < g.layers.size(); ++j) after.push_back(g.layers[j].name);
  auto known = [&](const std::string& n) {
    return std::find(after.begin(), after.end(), n) != after.end();
  };
  for (size_t j = i; j < g.layers.size(); ++j) {
    for (const auto& n : g.layers[j].inputs)
      if (!known(n)) return false;
    for (const auto& t : g.layers[j].terms)
      if (!known(t.input)) return false;
  }
  return true;
}

namespace {

// Layers [s, e) of `g` as a group of their own, reading the tensor before s.
LayerGroup phase_group(const LayerGroup& g, size_t s, size_t e) {
  LayerGroup p;
  p.name = g.name;
  p.repeat = g.repeat;
  p.items = g.items;
  p.layers.assign(g.layers.begin() + std::ptrdiff_t(s), g.layers.begin() + std::ptrdiff_t(e));
  p.in_rows_per_item = s == 0 ? g.in_rows_per_item : g.layers[s - 1].rows_per_item;
  p.in_features = s == 0 ? g.in_features : g.layers[s - 1].out_features;
  return p;
}

}  // namespace

bool Lowerer::lower_phases(const LayerGroup& g, uint64_t rep, const Tensor& gin, const Tensor& gout,
                           uint32_t first_layer) {
  // Phases: runs of layers between clean cuts (only one tensor live across), each with the
  // largest item chunk that fits it, so that a layer's weights are read once per chunk of its
  // own phase, not of the whole group's smallest chunk (issue 20: CNN1's late layers read their
  // weights 14x when the first level's 8192-row images set the chunk). The tensor between two
  // phases holds every item; it stays in the UB when both phases still fit beside it, else it
  // goes through host memory (one whm + one rhm, paid at the host link's bandwidth).
  const size_t n = g.layers.size();
  std::vector<size_t> cuts = {0};
  for (size_t i = 1; i < n; ++i)
    if (clean_cut(g, i)) cuts.push_back(i);
  cuts.push_back(n);
  if (cuts.size() <= 2) return false;
  auto name_in = [&](size_t s) { return s == 0 ? std::string("@in") : g.layers[s - 1].name; };
  auto host_between = [&](size_t s) {  // a host tensor holding layer s - 1's output (dry runs)
    Tensor t;
    t.host = true;
    t.rows = g.items * g.layers[s - 1].rows_per_item;
    t.stride = t.rows;
    t.features = g.layers[s - 1].out_features;
    return t;
  };
  struct Phase {
    size_t s, e;
    uint64_t chunk;
  };
  std::vector<Phase> ph;
  pinned_.clear();
  for (size_t u = 0; u + 1 < cuts.size(); ++u) {
    const size_t s = cuts[u], e = cuts[u + 1];
    const LayerGroup p = phase_group(g, s, e);
    const uint64_t c = largest_chunk(p, rep, name_in(s), s == 0 ? gin : host_between(s),
                                     e == n ? gout : host_between(e), first_layer + uint32_t(s));
    if (c == 0) return false;  // one item does not fit: the whole group is host-staged
    if (!ph.empty() && ph.back().chunk == c)
      ph.back().e = e;
    else
      ph.push_back({s, e, c});
  }
  if (ph.size() == 1) return false;
  // The tensor after each phase but the last: pinned in the UB (alternately at its top and
  // bottom, so a phase's input and output never overlap) when both phases still fit beside it.
  const uint64_t ub = cfg_.ub_vectors();
  auto group_of = [&](const Phase& p) { return phase_group(g, p.s, p.e); };
  // Reserves the UB regions of a phase's input and output that live outside it.
  auto pin = [&](const Tensor& in, const Tensor& out) {
    pinned_.clear();
    for (const Tensor* t : {&in, &out})
      if (!t->host) pinned_.push_back({t->base, t->rows * t->blocks(W_)});
  };
  auto fits_phase = [&](const Phase& p, const Tensor& in, const Tensor& out) {
    pin(in, out);
    const bool ok =
        !fits(group_of(p), rep, name_in(p.s), in, out, first_layer + uint32_t(p.s), p.chunk, false);
    pinned_.clear();
    return ok;
  };
  auto plan_pins = [&](std::vector<Tensor>& between) {
    between.assign(ph.size() - 1, Tensor{});
    for (size_t k = 0; k + 1 < ph.size(); ++k) {
      Tensor t = host_between(ph[k].e);
      const uint64_t vecs = t.rows * t.blocks(W_);
      if (vecs <= ub) {
        Tensor u = t;
        u.host = false;
        u.base = k % 2 == 0 ? ub - vecs : 0;
        const Tensor& in = k == 0 ? gin : between[k - 1];
        const Tensor next_out = ph[k + 1].e == n ? gout : host_between(ph[k + 1].e);
        if (fits_phase(ph[k], in, u) && fits_phase(ph[k + 1], u, next_out)) t = u;
      }
      between[k] = t;
    }
  };
  std::vector<Tensor> between;
  plan_pins(between);
  // A tensor through host memory costs a whm and an rhm of every item; keep the split only where
  // the weight reads it saves (the larger-chunk phase's weights, read once per chunk) take longer
  // at the weight memory's bandwidth than that round trip at the host link's.
  auto weights = [&](const Phase& p) {
    uint64_t w = 0;
    for (size_t i = p.s; i < p.e; ++i) w += g.layers[i].weight_bytes();
    return w;
  };
  auto chunks_of = [&](uint64_t c) { return (g.items + c - 1) / c; };
  // When the round trip does not pay, the cut moves by one unit into the larger-chunk phase (a
  // later cut may leave a tensor small enough to pin), or the two phases merge.
  for (size_t k = 0; k + 1 < ph.size();) {
    if (!between[k].host) {
      ++k;
      continue;
    }
    const Phase a = ph[k], b = ph[k + 1];
    const uint64_t lo = std::min(a.chunk, b.chunk);
    const uint64_t t_weights =
        weight_memory_cycles(cfg_, (a.chunk > b.chunk ? weights(a) : weights(b)) *
                                       (chunks_of(lo) - chunks_of(std::max(a.chunk, b.chunk))));
    const uint64_t t_host =
        2 * host_link_cycles(cfg_, between[k].rows * between[k].blocks(W_) * W_);  // whm + rhm
    if (t_weights >= t_host) {
      ++k;
      continue;
    }
    const Tensor& in = k == 0 ? gin : between[k - 1];
    const Tensor out = b.e == n ? gout : between[k + 1];
    // The unit next to the cut on the larger-chunk side.
    const bool forward = a.chunk < b.chunk;
    const size_t cut = *std::upper_bound(cuts.begin(), cuts.end(), b.s);  // b's first unit ends
    const size_t prev_cut = *(std::lower_bound(cuts.begin(), cuts.end(), a.e) - 1);  // a's last
    bool changed = false;
    if (forward && cut < b.e) {
      const Phase a2{a.s, cut, a.chunk};
      if (fits_phase(a2, in, host_between(cut))) {
        ph[k] = a2;
        ph[k + 1].s = cut;
        changed = true;
      }
    } else if (!forward && prev_cut > a.s) {
      const Phase b2{prev_cut, b.e, b.chunk};
      if (fits_phase(b2, host_between(prev_cut), out)) {
        ph[k].e = prev_cut;
        ph[k + 1] = b2;
        changed = true;
      }
    }
    if (!changed) {
      const Phase merged{a.s, b.e, lo};
      if (fits_phase(merged, in, out)) {
        ph[k] = merged;
        ph.erase(ph.begin() + std::ptrdiff_t(k) + 1);
        if (ph.size() == 1) return false;
        changed = true;
      }
    }
    if (changed) {
      plan_pins(between);
      k = 0;
    } else {
      ++k;
    }
  }
  pinned_.clear();
  // Emit: every chunk of a phase, then the next phase.
  for (size_t k = 0; k < ph.size(); ++k) {
    const Phase& p = ph[k];
    const LayerGroup sub = phase_group(g, p.s, p.e);
    const Tensor& in = k == 0 ? gin : between[k - 1];
    Tensor out = k + 1 == ph.size() ? gout : between[k];
    if (out.host && k + 1 < ph.size()) out.base = host_alloc(out.rows * out.blocks(W_));
    if (k + 1 < ph.size()) between[k] = out;
    pin(in, out);
    const uint32_t first = first_layer + uint32_t(p.s);
    // The plan's steps check the phases they build, not always the neighbour they shrink or the
    // units they join: a phase that does not fit as emitted (cnn1 at batch 768 on tpu-v1 escaped
    // as UbFull) takes the largest smaller chunk that does.
    // (A dry run moves the host staging and accumulator-half parities; restored, so that a phase
    // that fits is emitted exactly as without the check.)
    const int parity_in = stage_in_next_, parity_out = stage_out_next_;
    const auto parity_acc = acc_toggle_;
    uint64_t fit = p.chunk;
    while (fits(sub, rep, name_in(p.s), in, out, first, fit, false)) {
      if (fit == 1)
        throw InputError(
            fmt::format("lowering {}: group '{}' layers '{}'..'{}' do not fit the UB "
                        "at one item between phases",
                        wl_.name, g.name, sub.layers.front().name, sub.layers.back().name));
      fit = (fit + 1) / 2;
    }
    stage_in_next_ = parity_in;
    stage_out_next_ = parity_out;
    acc_toggle_ = parity_acc;
    const uint64_t chunk = plan_chunk_bufs(sub, rep, name_in(p.s), in, out, first, fit);
    reset_ub(false);
    spill_ = false;
    spilled_ = false;
    const uint64_t chunks = (g.items + chunk - 1) / chunk;
    for (uint64_t c = 0; c < chunks; ++c)
      lower_group_chunk(sub, rep, c * chunk, std::min(g.items, (c + 1) * chunk), in, out, first,
                        name_in(p.s));
    chunk_bufs_ = false;
    for (size_t i = p.s; i < p.e; ++i) {
      (*layers_)[first_layer + i].chunks = chunks;
      (*layers_)[first_layer + i].chunk_items = chunk;
      (*layers_)[first_layer + i].spilled = false;
    }
  }
  pinned_.clear();
  return true;
}

Tensor Lowerer::host_io(const HostTensor& h) {
  Tensor t;
  t.host = true;
  t.base = h.base;
  t.stride = h.rows;
  t.rows = h.rows;
  t.features = h.features;
  return t;
}

void Lowerer::read_pieces(uint64_t upto) {
  Pieces& p = in_pieces_;
  while (p.piece && p.next < upto && p.next * p.piece < p.dst.rows) {
    const uint64_t r0 = p.next * p.piece, n = std::min(p.piece, p.dst.rows - r0);
    for (uint64_t b = 0; b < p.dst.blocks(W_); ++b) em_->rhm(p.src.vec(r0, b), p.dst.vec(r0, b), n);
    ++p.next;
  }
  if (p.piece && p.next * p.piece >= p.dst.rows) p.piece = 0;  // all read
  if (!p.piece) {                                              // then the read-ahead, if any
    for (const auto& [src, dst, n] : p.after)
      for (uint64_t b = 0; b < dst.blocks(W_); ++b) em_->rhm(src.vec(0, b), dst.vec(0, b), n);
    p.after.clear();
  }
}

void Lowerer::read_after_pieces(const Tensor& src, const Tensor& dst, uint64_t rows) {
  in_pieces_.after.push_back({src, dst, rows});
  if (!in_pieces_.piece) read_pieces(0);
}

HostTensor Lowerer::write_back(const Tensor& t, uint32_t layer) {
  HostTensor h;
  h.rows = t.rows;
  h.features = t.features;
  h.base = host_alloc(t.rows * t.blocks(W_));
  cur_layer_ = layer;
  em_->layer = layer;
  for (uint64_t b = 0; b < t.blocks(W_); ++b) em_->whm(h.base + b * h.rows, t.vec(0, b), t.rows);
  return h;
}

void Lowerer::read_into(const HostTensor& h, const Tensor& t, uint32_t layer) {
  cur_layer_ = layer;
  em_->layer = layer;
  for (uint64_t b = 0; b < t.blocks(W_); ++b) em_->rhm(h.base + b * h.rows, t.vec(0, b), t.rows);
}

Tensor Lowerer::ub_io(uint64_t rows, uint64_t features, bool top) const {
  Tensor t;
  t.rows = rows;
  t.stride = rows;
  t.features = features;
  const uint64_t n = rows * t.blocks(W_), ub = cfg_.ub_vectors();
  t.base = top && n <= ub ? ub - n : 0;
  return t;
}

std::vector<std::pair<uint64_t, uint64_t>> Lowerer::io_pins(const Tensor& in,
                                                            const Tensor& out) const {
  std::vector<std::pair<uint64_t, uint64_t>> p;
  for (const Tensor* t : {&in, &out}) {
    if (t->host || t->features == 0) continue;
    const std::pair<uint64_t, uint64_t> r{t->base, t->stride * t->blocks(W_)};
    if (p.empty() || p.back() != r) p.push_back(r);  // a group written in place: one region
  }
  return p;
}

bool Lowerer::fits_whole(const LayerGroup& g, uint64_t rep, const Tensor& in, const Tensor& out,
                         uint32_t first_layer) {
  const auto pins = pinned_;
  const int acc = acc_toggle_, si = stage_in_next_, so = stage_out_next_;
  const bool cb = chunk_bufs_, sb = stream_bufs_, sp = spill_, sd = spilled_;
  const uint32_t layer = cur_layer_, em_layer = em_->layer;
  pinned_ = io_pins(in, out);
  chunk_bufs_ = stream_bufs_ = false;
  const bool ok = !fits(g, rep, "@in", in, out, first_layer, g.items, false);
  pinned_ = pins;
  acc_toggle_ = acc;
  stage_in_next_ = si;
  stage_out_next_ = so;
  chunk_bufs_ = cb;
  stream_bufs_ = sb;
  spill_ = sp;
  spilled_ = sd;
  cur_layer_ = layer;
  em_->layer = em_layer;
  return ok;
}

void Lowerer::lower_group(const LayerGroup& g, uint64_t rep, const HostTensor& in,
                          const HostTensor& out, uint32_t first_layer) {
  lower_group(g, rep, host_io(in), host_io(out), first_layer);
}

void Lowerer::lower_group(const LayerGroup& g, uint64_t rep, const Tensor& gin, const Tensor& gout,
                          uint32_t first_layer) {
  pinned_ = io_pins(gin, gout);
  const bool kept = !pinned_.empty();
  chunk_bufs_ = false;

  // A stream's double buffers, when the whole batch fits beside them (one chunk, no staging).
  stream_bufs_ = false;
  if (batches_ > 1 && g.in_features > 0) {
    stream_bufs_ = true;
    if (fits(g, rep, "@in", gin, gout, first_layer, g.items, false)) stream_bufs_ = false;
  }
  uint64_t chunk = g.items;
  bool spill = false;
  std::optional<UbFull> err =
      stream_bufs_ ? std::nullopt : fits(g, rep, "@in", gin, gout, first_layer, chunk, false);
  if (err && kept)
    throw std::logic_error(
        fmt::format("lowering {}: group '{}' keeps its input or output in the "
                    "UB but does not fit it whole ({})",
                    wl_.name, g.name, err->what));
  if (err && lower_phases(g, rep, gin, gout, first_layer)) return;
  // Find the largest item chunk whose tensors fit the UB (a dry run of the allocations).
  while (err && chunk > 1) {
    chunk = (chunk + 1) / 2;
    err = fits(g, rep, "@in", gin, gout, first_layer, chunk, false);
  }
  if (err) {
    spill = true;
    chunk = g.items;
    if (auto e2 = fits(g, rep, "@in", gin, gout, first_layer, chunk, true))
      throw InputError(
          fmt::format("lowering {}: group '{}' layer '{}' needs {} UB vectors even with host "
                      "staging; {} has {} "
                      "free ({} short)",
                      wl_.name, g.name, e2->what, e2->needed, cfg_.name, e2->largest,
                      e2->needed - e2->largest));
  }
  if (!spill) chunk = plan_chunk_bufs(g, rep, "@in", gin, gout, first_layer, chunk);
  reset_ub(spill, stream_bufs_ ? &g : nullptr);
  spill_ = spill;
  spilled_ = false;
  const uint64_t chunks = (g.items + chunk - 1) / chunk;
  for (uint64_t c = 0; c < chunks; ++c)
    lower_group_chunk(g, rep, c * chunk, std::min(g.items, (c + 1) * chunk), gin, gout,
                      first_layer);
  chunk_bufs_ = false;
  for (size_t i = 0; i < g.layers.size(); ++i) {
    (*layers_)[first_layer + i].chunks = chunks;
    (*layers_)[first_layer + i].chunk_items = chunk;
    (*layers_)[first_layer + i].spilled = spilled_;
  }
}

}  // namespace tpusim
