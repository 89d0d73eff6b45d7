// Lowerer: the walk of a workload's groups that the lowering (lowering.cpp) drives and the layer
// kinds (kind_*.cpp) use. It owns the unified-buffer allocation, the weight-tile placement, the
// accumulator double-buffering and the host staging of a group; the primitives below (gemm,
// identity_pass, host_fill, act_out) emit through the Emitter. Internal to sim/compiler.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "models/config.h"
#include "sim/compiler/emitter.h"
#include "sim/compiler/lowering.h"
#include "sim/compiler/ub_allocator.h"
#include "sim/compiler/workload.h"
#include "sim/isa/timing.h"

namespace tpusim {

// Deterministic values (lowering.cpp "Value keys"): a per-tensor key from the seed and the key's
// hash, then one element.
inline uint64_t splitmix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}
inline uint64_t value_key(uint64_t seed, uint64_t key_h) { return splitmix(seed ^ key_h); }
inline int8_t value_keyed(uint64_t key, uint64_t a, uint64_t b) {
  return int8_t(uint8_t(splitmix(key ^ splitmix(a * 0x9e3779b97f4a7c15ull + b)) >> 56));
}

// Thrown while sizing a chunk when a tensor does not fit the UB (caught by lower_group).
struct UbFull {
  uint64_t needed = 0, largest = 0;
  std::string what;
};

// A tensor in the UB or in host memory; vector (row, b) = base + b * stride + row_off + row.
struct Tensor {
  bool host = false;
  bool owned = false;  // UB space to release after the last use
  uint64_t base = 0, stride = 0, row_off = 0, rows = 0, features = 0;
  uint64_t blocks(uint64_t w) const { return (features + w - 1) / w; }
  uint64_t vec(uint64_t row, uint64_t b) const { return base + b * stride + row_off + row; }
};

// Weight tile addresses of one matrix placement, 4 bytes per tile (a whole LLM layer on a 16x16
// array has millions of tiles): tile (kb, nt) of the placement's [kb0, kb0 + kbs) x
// [nt0, nt0 + nts) grid; 0 = not placed yet (tile 0 holds the identity, never a model tile).
// Pages are allocated on first touch, so memory follows the tiles actually used, never the
// declared size of a matrix (an absurd layer is refused by the instruction limit first).
class TileGrid {
 public:
  uint64_t key_h = 0, kb0 = 0, nt0 = 0, kbs = 0, nts = 0;
  void init(uint64_t kbs_, uint64_t nts_) {
    kbs = kbs_;
    nts = nts_;
    page_ = std::min<uint64_t>(kPage, kbs * nts);
    pages_.resize((kbs * nts + page_ - 1) / page_);
  }
  uint32_t& at(uint64_t kb, uint64_t nt) {
    const uint64_t i = (nt - nt0) * kbs + (kb - kb0);  // kb fastest: the GEMM's inner loop
    auto& p = pages_[i / page_];
    if (!p) p = std::make_unique<uint32_t[]>(page_);  // zeroed
    return p[i % page_];
  }

 private:
  static constexpr uint64_t kPage = 4096;
  uint64_t page_ = 1;
  std::vector<std::unique_ptr<uint32_t[]>> pages_;
};

// A resolved dense term for the GEMM primitive.
struct Term {
  const Tensor* in = nullptr;
  uint64_t f0 = 0, k = 0, n0 = 0, n = 0;
  uint64_t row_lo = 0, row_hi = 0;  // chunk-local rows it applies to
  std::string key;                  // weight matrix key
  bool kv = false;
  // > 0: the matrix's rows are blocks of sub_k rows, block j keyed "key#j" (an im2col conv's
  // kernel positions: the same values as the per-position matrices of the unpacked mapping).
  uint64_t sub_k = 0;
  // > 1: G images packed in the lanes: the matrix is block-diagonal, G copies of one image's
  // (k / G) x (n / G) weights (Layer::images_packed).
  uint64_t packed = 1;
  mutable TileGrid* grid = nullptr;  // its placement's tiles, looked up on first use
};

// One layer of one chunk of items, as its kind's lowering (LayerKindOps::lower) sees it.
struct LayerTask {
  const Layer& layer;
  const std::map<std::string, Tensor>& tensors;  // by layer name; "@in": the group's input
  const Tensor& out;                             // the layer's output (allocated)
  uint64_t i0, i1;                               // the chunk's items
  uint64_t rows;                                 // its output rows: (i1 - i0) x rows_per_item
  const std::string& key;                        // "group/rep/layer": prefix of its weight keys
};

// The window of a pool over an H x W image (kh x kw, strides sh x sw, padding p on every side)
// that computes its outputs [oy0, oy1) x [ox0, ox1): the input rectangle it reads starts at
// (y0, x0); g's H x W is that rectangle and g's pads what is left around it.
struct PoolTile {
  Pool2d g;
  uint64_t y0 = 0, x0 = 0;
};
PoolTile pool_tile(uint64_t H, uint64_t W, uint32_t kh, uint32_t kw, uint32_t sh, uint32_t sw,
                   uint32_t p, uint64_t oy0, uint64_t oy1, uint64_t ox0, uint64_t ox1);

// Whether only layer i - 1's output (of layers 1 <= i <= n of `g`) is read by layers i.. : a cut
// where one tensor is live (lowering phases, the prefix of packed images).
bool clean_cut(const LayerGroup& g, size_t i);

// Cycles the cost models of the lowering charge for moving `bytes` over the host link and out of
// weight memory: the engines' own transfer time (sim/isa/timing.h), without per-transfer latency.
inline uint64_t host_link_cycles(const TpuConfig& cfg, uint64_t bytes) {
  return timing::transfer_cycles(bytes, cfg.clock_mhz, cfg.host_link.bandwidth_mb_s);
}
inline uint64_t weight_memory_cycles(const TpuConfig& cfg, uint64_t bytes) {
  return timing::transfer_cycles(bytes, cfg.clock_mhz, cfg.weight_memory.bandwidth_mb_s);
}

// The cycles per image conv `l` saves fed im2col rows by the host (Layer::im2col) instead of
// reading its input as it is, counting MXU rows and host-link transfers (kind_conv2d.cpp);
// negative: it costs; infinite: the only mapping.
double conv_host_packing_saving(const TpuConfig& cfg, const Layer& l);

class Lowerer {
 public:
  Lowerer(const TpuConfig& cfg, const Workload& wl, const LowerOptions& opt)
      : cfg_(cfg), wl_(wl), opt_(opt), W_(cfg.array.rows), half_(cfg.accumulator_entries / 2) {}

  // ---- driven by lowering.cpp ------------------------------------------------------------------
  void set_layers(std::vector<LayerInfo>* l) { layers_ = l; }
  // Starts a program (a segment): its emitter and where its memory images go (values only).
  void begin_program(Emitter* em, Program* prog);
  // A tensor in host memory in block layout, element (row, feature) = value(vk, row, feature)
  // with vk the key of `key` (values built only with LowerOptions::values and a key).
  HostTensor host_tensor(
      uint64_t rows, uint64_t features, const std::string& key,
      const std::function<int8_t(uint64_t vk, uint64_t row, uint64_t feature)>& value);
  // A tensor in host memory (its values keyed by `key`; "" = no values).
  HostTensor new_host_tensor(uint64_t rows, uint64_t features, const std::string& key);
  // The input of group `g`, whose first layer is a conv the host feeds packed (Layer::im2col):
  // rows of `items` images x out_h x out_w, features kernel_h x kernel_w x in_c, the values of
  // the unpacked input keyed by `key` at their window positions (0 over the padding).
  HostTensor new_host_im2col(const LayerGroup& g, const std::string& key);
  // The input of group `g` whose first layers take G images packed in the lanes
  // (Layer::images_packed): item s's row r holds images sG..sG+G-1's row r side by side, the
  // values of the unpacked input keyed by `key`.
  HostTensor new_host_packed(const LayerGroup& g, uint64_t packed, const std::string& key);
  // Lowers repetition `rep` of group `g` from host tensor `in` to `out`, its layers at
  // first_layer.. of the layer table: split into the largest item chunks whose tensors fit the
  // UB, else staged through host memory.
  void lower_group(const LayerGroup& g, uint64_t rep, const HostTensor& in, const HostTensor& out,
                   uint32_t first_layer);
  // The same with the group's input and output where they are: host memory, or UB regions kept
  // between groups (ub_io; issue 20 item 4). A group with either in the UB must fit it whole
  // (fits_whole).
  void lower_group(const LayerGroup& g, uint64_t rep, const Tensor& in, const Tensor& out,
                   uint32_t first_layer);
  // Between groups (lowering.cpp drive), emitted as layer `layer`'s: UB tensor `t` written to a
  // new host tensor (returned), and host tensor `h` read into UB tensor `t`.
  HostTensor write_back(const Tensor& t, uint32_t layer);
  void read_into(const HostTensor& h, const Tensor& t, uint32_t layer);
  // A host tensor as a group input or output.
  static Tensor host_io(const HostTensor& h);
  // rows x features kept in the UB between groups, at its bottom (vector 0) or its top.
  Tensor ub_io(uint64_t rows, uint64_t features, bool top) const;
  // Whether every item of `g` fits the UB in one chunk with `in` and `out` where they are (a dry
  // run of the allocations; the lowering's state is left as it was).
  bool fits_whole(const LayerGroup& g, uint64_t rep, const Tensor& in, const Tensor& out,
                  uint32_t first_layer);
  bool wrapped() const { return wrapped_; }
  // The next lower_group() is batch `batch` of a stream of `batches` (LowerOptions::batches);
  // `next_in`: the next batch's input in host memory, read while this batch computes.
  void set_stream(uint64_t batch, uint64_t batches, const HostTensor& next_in) {
    batch_ = batch;
    batches_ = batches;
    next_in_ = next_in;
  }
  bool double_buffered() const { return stream_bufs_; }

  // ---- what the layer kinds use ----------------------------------------------------------------
  const TpuConfig& cfg() const { return cfg_; }
  const Workload& wl() const { return wl_; }
  uint64_t W() const { return W_; }        // the (square) array's size
  uint64_t half() const { return half_; }  // accumulator entries of one double-buffer half
  // Rows from one MXU's accumulator block to the next when G MXUs run side by side: a whole number
  // of accumulator banks (acc_bank_rows; 2 x MXUs banks, one per MXU in each half), so that no
  // two MXUs write, or read-modify-write, one bank (the race rule's banks, sim/isa/ISA.md).
  uint64_t mxu_share(uint64_t G) const {
    const uint64_t m = std::max<uint64_t>(1, cfg_.mxus);
    return acc_bank_rows(cfg_.accumulator_entries, m) * std::max<uint64_t>(1, m / G);
  }
  Emitter& em() { return *em_; }
  bool dry() const { return em_->dry; }  // sizing the UB: nothing is emitted or counted
  // The layer being lowered (its counters).
  LayerInfo& info() { return (*layers_)[cur_layer_]; }
  void set_requant(const Requant& rq) {
    if (!dry()) info().requant = rq;
  }

  uint64_t host_alloc(uint64_t vectors) {
    uint64_t b = host_next_;
    host_next_ += std::max<uint64_t>(vectors, 1);
    return b;
  }
  // A UB tensor of rows x features (UbFull when it does not fit; with host staging, the
  // fallback or a host tensor).
  Tensor alloc_tensor(uint64_t rows, uint64_t features, const std::string& what,
                      const Tensor* host_fallback = nullptr) {
    Tensor t;
    t.rows = rows;
    t.stride = rows;
    t.features = features;
    const uint64_t n = rows * t.blocks(W_);
    if (auto b = ub_->alloc(n)) {
      t.base = *b;
      t.owned = true;
      return t;
    }
    if (!spill_) throw UbFull{n, ub_->largest(), what};
    spilled_ = true;
    if (host_fallback) return *host_fallback;
    t.host = true;
    t.base = host_alloc(n);
    spilled_ = true;
    return t;
  }
  void free_tensor(const Tensor& t) {
    if (t.owned && !t.host) ub_->release(t.base, t.rows * t.blocks(W_));
  }
  // UB address holding rows [row, row + n) of block b (staged through the UB when in host).
  uint64_t ub_rows(const Tensor& t, uint64_t b, uint64_t row, uint64_t n) {
    if (!t.host) {
      // The group input read in pieces: up to the piece after the one these rows end in.
      const Pieces& p = in_pieces_;
      if (p.piece && t.base == p.dst.base && t.row_off == p.dst.row_off && n)
        read_pieces((row + n - 1) / p.piece + 2);
      return t.vec(row, b);
    }
    const uint64_t slot = stage_in_[stage_in_next_ ^= 1];
    em_->rhm(t.vec(row, b), slot, n);
    return slot;
  }

  // The weight tile (kb, nt) of term `t`'s matrix, placed in weight memory on first use.
  uint64_t tile_for(const Term& t, uint64_t kb, uint64_t nt);
  // A tile that moves lanes [from, from + n) to lanes [0, n) (ones at (from + c, c)), placed on
  // first use; `tile` is set when it is not the array's active tile (an identity-like load).
  void switch_shift_if_needed(uint64_t from, uint64_t n, std::optional<uint64_t>& tile,
                              uint64_t& key);
  void switch_identity_if_needed(std::optional<uint64_t>& tile, uint32_t mxu = 0) {
    tile.reset();
    if (em_->active_key(mxu) != kIdentityKey) {
      tile = 0;
      if (!em_->dry) info().identity_tile_loads++;
    }
  }

  // The other accumulator half.
  uint64_t next_acc() {
    acc_toggle_ ^= 1;
    return acc_toggle_ ? half_ : 0;
  }
  void act_out(const Tensor& out, uint64_t acc, uint64_t row, uint64_t nt, uint64_t n,
               ActFunction f, PoolKind pool, uint32_t log2p, const Requant& rq) {
    if (!out.host) {
      em_->act(acc, out.vec(row, nt), n, f, pool, log2p, rq);
    } else {
      const uint64_t slot = stage_out_[stage_out_next_ ^= 1];
      em_->act(acc, slot, n, f, pool, log2p, rq);
      em_->whm(out.vec(row, nt), slot, n >> log2p);
    }
  }

  // A 2-D pooling act of the image at `acc` into rows [row, row + p.outputs()) of block nt.
  void act2d_out(const Tensor& out, uint64_t acc, uint64_t row, uint64_t nt, const Pool2d& p,
                 ActFunction f, PoolKind pool, const Requant& rq) {
    if (!out.host) {
      em_->act2d(acc, out.vec(row, nt), p, f, pool, rq);
    } else {
      const uint64_t slot = stage_out_[stage_out_next_ ^= 1];
      em_->act2d(acc, slot, p, f, pool, rq);
      em_->whm(out.vec(row, nt), slot, p.outputs());
    }
  }
  // 2-D pooling of `in` (images of in_h x in_w rows, layer l's window) into `out`: per image and
  // band of output rows whose input rows fit half the accumulators, one identity pass of the
  // band's rows and one 2-D act (sim/isa/ISA.md).
  void pool2d_pass(const Tensor& in, const Tensor& out, const Layer& l);

  // ---- primitives ------------------------------------------------------------------------------
  // Dense terms into output column blocks [nt_lo, nt_hi) of `out`, by accumulator row blocks.
  void gemm(const Tensor& out, const std::vector<Term>& terms, ActFunction f, const Requant& rq,
            uint64_t nt_lo, uint64_t nt_hi);
  // Identity-weight passes of `ins` summed into the accumulators, then one act (pooling `window`
  // consecutive rows when > 1).
  void identity_pass(const std::vector<const Tensor*>& ins, const Tensor& out, ActFunction f,
                     PoolKind pool, uint32_t window);
  // Rows the host prepares, read into `out` (values keyed by `key`, rows from global_row0).
  void host_fill(const Tensor& out, const std::string& key, uint64_t global_row0);

  static constexpr uint64_t kIdentityKey = ~0ull - 1;

 private:
  void reset_ub(bool spill, const LayerGroup* stream = nullptr);
  // Emits the reads of the group input's pieces [next, upto) (lower_group_chunk), and after the
  // last the reads queued by read_after_pieces.
  void read_pieces(uint64_t upto);
  // `rows` of `src` (host) into `dst` once the group input is read (a read-ahead of the next
  // chunk or batch must not delay this one's pieces on the host link).
  void read_after_pieces(const Tensor& src, const Tensor& dst, uint64_t rows);
  // The next weight-memory tile address (folded into weight memory when a timing-only program
  // needs more tiles than it has; an InputError with values).
  uint64_t new_tile_address();
  // Items [i0, i1) of group `g` (or of a phase of it: its input tensor named `in_name`) from `gin`
  // to `gout`, either of which may be host memory or a UB tensor pinned across phases.
  void lower_group_chunk(const LayerGroup& g, uint64_t rep, uint64_t i0, uint64_t i1,
                         const Tensor& gin, const Tensor& gout, uint32_t first_layer,
                         const std::string& in_name = "@in");
  // A dry run of the UB allocations of one chunk (the pinned regions reserved): what did not fit.
  std::optional<UbFull> fits(const LayerGroup& g, uint64_t rep, const std::string& in_name,
                             const Tensor& gin, const Tensor& gout, uint32_t first_layer,
                             uint64_t chunk, bool spill);
  // The largest item chunk (halving from all items) that fits without host staging; 0 if none.
  uint64_t largest_chunk(const LayerGroup& g, uint64_t rep, const std::string& in_name,
                         const Tensor& gin, const Tensor& gout, uint32_t first_layer);
  // Enables the double-buffered chunk inputs (chunk_bufs_) for the chunks of `g` when its input is
  // in host memory and there is more than one chunk; returns the chunk to use (smaller than
  // `chunk` where that makes room for the buffers and pays, lowerer.cpp).
  uint64_t plan_chunk_bufs(const LayerGroup& g, uint64_t rep, const std::string& in_name,
                           const Tensor& gin, const Tensor& gout, uint32_t first_layer,
                           uint64_t chunk);
  // The UB regions of a group's input and output that outlive it (one when they coincide).
  std::vector<std::pair<uint64_t, uint64_t>> io_pins(const Tensor& in, const Tensor& out) const;
  // A group that does not fit the UB whole, split into phases (lowerer.cpp): true when it was.
  bool lower_phases(const LayerGroup& g, uint64_t rep, const Tensor& gin, const Tensor& gout,
                    uint32_t first_layer);

  const TpuConfig& cfg_;
  const Workload& wl_;
  const LowerOptions& opt_;
  const uint64_t W_, half_;
  Emitter* em_ = nullptr;
  Program* prog_ = nullptr;
  std::vector<LayerInfo>* layers_ = nullptr;
  uint32_t cur_layer_ = 0;
  std::unique_ptr<UbAllocator> ub_;
  // UB regions (base, vectors) that outlive a phase: tensors between phases of a group.
  std::vector<std::pair<uint64_t, uint64_t>> pinned_;
  bool spill_ = false, spilled_ = false;
  // Stream of batches: this batch, their number, the next one's input, and whether the input and
  // output have two UB buffers each (allocated first, at the same place for every batch).
  uint64_t batch_ = 0, batches_ = 1;
  HostTensor next_in_;
  bool stream_bufs_ = false;
  Tensor in_buf_[2], out_buf_[2];
  // Chunks of items whose inputs come from host memory: two UB buffers of one chunk's input, the
  // next chunk's read while this one computes (Lowerer::lower_group_chunk); chunk_items_ items
  // per chunk, the group's items_ in all.
  bool chunk_bufs_ = false;
  Tensor chunk_in_[2];
  uint64_t chunk_items_ = 0, chunk_total_ = 0, chunk_in_rows_ = 0, chunk_in_features_ = 0;
  // The chunk's input read from host memory in pieces of `piece` rows (0: all read), the next
  // one to read; dst its UB tensor, src the host rows.
  struct Pieces {
    Tensor dst, src;
    uint64_t piece = 0, next = 0;
    std::vector<std::tuple<Tensor, Tensor, uint64_t>> after;  // (src, dst, rows) to read next
  };
  Pieces in_pieces_;
  uint64_t stage_in_[2] = {0, 0}, stage_out_[2] = {0, 0};
  int stage_in_next_ = 0, stage_out_next_ = 0;
  int acc_toggle_ = 0;
  uint64_t host_next_ = 0;
  uint64_t next_tile_ = 1;  // tile 0 holds the identity matrix
  bool wrapped_ = false;
  std::unordered_map<uint64_t, TileGrid> tiles_;                   // placement hash -> its tiles
  std::map<std::pair<uint64_t, uint64_t>, uint64_t> shift_tiles_;  // (from, n) -> tile address
};

}  // namespace tpusim
