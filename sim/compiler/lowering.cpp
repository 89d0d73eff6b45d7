#include "sim/compiler/lowering.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <unordered_map>

#include <fmt/format.h>

#include "models/errors.h"

// Value keys (weight_value / host_value):
//   dense term t of layer L in group G, repetition r:  "G/r/L/t"  (k x n, the term's matrix)
//   conv layer:                                       "G/r/L"    (row (ky*kw + kx)*C + c, col)
//   attention K^T of sequence s, kv head g:           "G/r/L/k/s/g"  (d_head x kv_len)
//   attention V:                                      "G/r/L/v/s/g"  (kv_len x d_head)
//   host-read layer output (embedding, host op):      "G/r/L"    (global row, feature)
//   first group input:                                "input"    (global row, feature)
// r is 0 unless the program is unrolled.

namespace tpusim {

namespace {

uint64_t splitmix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}
// value_from split in two: the per-tensor key (seed and key hash) once, then one element.
uint64_t value_key(uint64_t seed, uint64_t key_h) { return splitmix(seed ^ key_h); }
inline int8_t value_keyed(uint64_t key, uint64_t a, uint64_t b) {
  return int8_t(uint8_t(splitmix(key ^ splitmix(a * 0x9e3779b97f4a7c15ull + b)) >> 56));
}

constexpr int kUnits = 4;
constexpr int kHostU = 0, kWeightsU = 1, kMxuU = 2, kActU = 3;

// Disjoint, non-touching half-open intervals, sorted (a vector: the sets stay small, and the
// lowering queries them for every instruction).
class IntervalSet {
 public:
  void add(uint64_t lo, uint64_t hi) {
    if (lo >= hi) return;
    size_t first = size_t(std::upper_bound(v_.begin(), v_.end(), lo, by_start) - v_.begin());
    size_t end = first;
    if (first > 0 && v_[first - 1].second >= lo) {
      --first;
      lo = v_[first].first;
      hi = std::max(hi, v_[first].second);
    }
    while (end < v_.size() && v_[end].first <= hi) {
      hi = std::max(hi, v_[end].second);
      ++end;
    }
    if (first == end) {
      v_.insert(v_.begin() + std::ptrdiff_t(first), {lo, hi});
    } else {
      v_[first] = {lo, hi};
      v_.erase(v_.begin() + std::ptrdiff_t(first + 1), v_.begin() + std::ptrdiff_t(end));
    }
  }
  bool overlaps(uint64_t lo, uint64_t hi) const {
    if (lo >= hi || v_.empty()) return false;
    // The last interval starting before hi.
    auto it = std::lower_bound(v_.begin(), v_.end(), hi, [](const Span& s, uint64_t x) { return s.first < x; });
    if (it == v_.begin()) return false;
    --it;
    return it->second > lo;
  }
  bool covers(uint64_t lo, uint64_t hi) const {
    auto it = std::upper_bound(v_.begin(), v_.end(), lo, by_start);
    if (it == v_.begin()) return false;
    --it;
    return it->first <= lo && it->second >= hi;
  }
  void clear() { v_.clear(); }

 private:
  using Span = std::pair<uint64_t, uint64_t>;
  static bool by_start(uint64_t x, const Span& s) { return x < s.first; }
  std::vector<Span> v_;
};

struct Range {
  uint64_t lo = 0, hi = 0;
};
struct Access {
  Range ub_r, ub_w, acc_r, acc_w;
};

struct UbFull {
  uint64_t needed = 0, largest = 0;
  std::string what;
};

[[noreturn]] void operand_too_wide(uint64_t v) {
  throw InputError(fmt::format("lowering: operand {} exceeds 32 bits", v));
}
inline uint32_t u32(uint64_t v) {
  if (v > 0xffffffffull) operand_too_wide(v);
  return uint32_t(v);
}

// Where the Emitter's instructions go. ProgramSink stores the program (lower()); CountingSink
// keeps only its counts (lower_stats(), and lower()'s size check before storing anything big).
// Both see the very same calls, so the counts are those of the stored program.
class Sink {
 public:
  virtual ~Sink() = default;
  // The next instruction in program order, rw excluded; `layer` indexes the layer table.
  virtual void instruction(const Instruction& in, uint32_t layer) = 0;
  // The weight tile the next `mmc switch` consumes (the rw stream, in switch order).
  virtual void weight_tile(uint64_t addr, uint32_t layer) = 0;
};

// Thrown by a sink whose instruction budget is spent (caught inside lower()).
struct OverBudget {
  uint32_t layer = 0;  // index of the layer being emitted
};

// Bytes one instruction takes while lower() stores it: 16 + a 4-byte layer index while emitting,
// then 16 + 4 + a 4-byte source line in the finished program.
constexpr uint64_t kStoredInstructionBytes = 44;

class ProgramSink final : public Sink {
 public:
  // `total`: instructions stored so far in all segments; OverBudget past `budget` (0: none),
  // checked before anything is stored.
  ProgramSink(uint64_t& total, uint64_t budget) : total_(total), budget_(budget) {}
  void instruction(const Instruction& in, uint32_t layer) override {
    spend(layer);
    code_.push_back(in);
    code_layer_.push_back(layer);
  }
  void weight_tile(uint64_t addr, uint32_t layer) override {
    spend(layer);
    tiles_.push_back(addr);
    tile_layer_.push_back(layer);
  }
  // Inserts the rw stream (each tile requested `ahead` switches early) and the final halt.
  void finish(uint64_t ahead, Program& prog, std::vector<uint32_t>& layer_of) {
    spend(code_layer_.empty() ? 0 : code_layer_.back());  // the halt
    prog.code.clear();
    layer_of.clear();
    prog.code.reserve(code_.size() + tiles_.size() + 1);
    layer_of.reserve(code_.size() + tiles_.size() + 1);
    size_t next = 0;
    auto request = [&](size_t upto) {
      while (next < tiles_.size() && next < upto) {
        prog.code.push_back(Instruction{Opcode::kReadWeights, 0, 0, u32(tiles_[next]), 0, 1});
        layer_of.push_back(tile_layer_[next]);
        ++next;
      }
    };
    request(ahead);
    size_t switches = 0;
    for (size_t i = 0; i < code_.size(); ++i) {
      prog.code.push_back(code_[i]);
      layer_of.push_back(code_layer_[i]);
      if (code_[i].op == Opcode::kMatmul && (code_[i].flags & kFlagSwitch)) {
        ++switches;
        request(switches + ahead);
      }
    }
    prog.code.push_back(Instruction{Opcode::kHalt, 0, 0, 0, 0, 0});
    layer_of.push_back(layer_of.empty() ? 0 : layer_of.back());
    prog.source_lines.assign(prog.code.size(), 0);
    std::vector<Instruction>().swap(code_);
    std::vector<uint32_t>().swap(code_layer_);
    std::vector<uint64_t>().swap(tiles_);
    std::vector<uint32_t>().swap(tile_layer_);
  }

 private:
  void spend(uint32_t layer) {
    if (budget_ && ++total_ > budget_) throw OverBudget{layer};
  }
  uint64_t& total_;
  uint64_t budget_ = 0;
  std::vector<Instruction> code_;
  std::vector<uint32_t> code_layer_;
  std::vector<uint64_t> tiles_;
  std::vector<uint32_t> tile_layer_;
};

class CountingSink final : public Sink {
 public:
  // `total`: instructions counted so far in all segments; OverBudget past `budget` (0: none).
  CountingSink(SegmentStats& stats, uint64_t& total, uint64_t budget)
      : stats_(stats), total_(total), budget_(budget) {}
  void instruction(const Instruction& in, uint32_t layer) override {
    stats_.add(in);
    spend(layer);
    last_layer_ = layer;
  }
  void weight_tile(uint64_t addr, uint32_t layer) override {
    stats_.add(Instruction{Opcode::kReadWeights, 0, 0, u32(addr), 0, 1});
    spend(layer);
  }
  void finish() {
    stats_.add(Instruction{Opcode::kHalt, 0, 0, 0, 0, 0});
    spend(last_layer_);
  }

 private:
  void spend(uint32_t layer) {
    ++total_;
    if (budget_ && total_ > budget_) throw OverBudget{layer};
  }
  uint32_t last_layer_ = 0;
  SegmentStats& stats_;
  uint64_t& total_;
  uint64_t budget_ = 0;
};

// Emits instructions into a sink, inserting syncs for cross-unit hazards, and the weight stream.
class Emitter {
 public:
  explicit Emitter(Sink& sink) : sink_(sink) {}
  bool dry = false;
  uint32_t layer = 0;

  void rhm(uint64_t host, uint64_t ub, uint64_t n) {
    if (dry) return;
    Access a;
    a.ub_w = {ub, ub + n};
    push(kHostU, a, Instruction{Opcode::kReadHost, 0, 0, u32(host), u32(ub), u32(n)});
  }
  void whm(uint64_t host, uint64_t ub, uint64_t n) {
    if (dry) return;
    Access a;
    a.ub_r = {ub, ub + n};
    push(kHostU, a, Instruction{Opcode::kWriteHost, 0, 0, u32(host), u32(ub), u32(n)});
  }
  // `tile` set: switch in that weight tile (address) first; `key` identifies it for reuse.
  void mmc(uint64_t ub, uint64_t acc, uint64_t b, bool accumulate, std::optional<uint64_t> tile,
           uint64_t key) {
    if (dry) return;
    Access a;
    a.ub_r = {ub, ub + b};
    a.acc_w = {acc, acc + b};
    if (accumulate) a.acc_r = a.acc_w;
    uint8_t flags = accumulate ? kFlagAccumulate : 0;
    if (tile) {
      flags |= kFlagSwitch;
      sink_.weight_tile(*tile, layer);
      active_key_ = key;
    }
    push(kMxuU, a, Instruction{Opcode::kMatmul, flags, 0, u32(ub), u32(acc), u32(b)});
  }
  void act(uint64_t acc, uint64_t ub, uint64_t n, ActFunction f, PoolKind pool, uint32_t log2p,
           const Requant& rq) {
    if (dry) return;
    if (!have_rq_ || !(rq_ == rq)) {
      push_plain(Instruction{Opcode::kSetConfig, 0, 0, uint32_t(ConfigReg::kMult), uint32_t(rq.mult), 0});
      push_plain(Instruction{Opcode::kSetConfig, 0, 0, uint32_t(ConfigReg::kShift), rq.shift, 0});
      push_plain(Instruction{Opcode::kSetConfig, 0, 0, uint32_t(ConfigReg::kRound), rq.round, 0});
      rq_ = rq;
      have_rq_ = true;
    }
    Access a;
    a.acc_r = {acc, acc + n};
    a.ub_w = {ub, ub + (n >> log2p)};
    const uint8_t flags = uint8_t(uint8_t(f) | (uint8_t(pool) << 2));
    push(kActU, a, Instruction{Opcode::kActivate, flags, uint16_t(log2p), u32(acc), u32(ub), u32(n)});
  }
  uint64_t active_key() const { return active_key_; }

 private:
  static bool hit(const IntervalSet& s, const Range& r) { return s.overlaps(r.lo, r.hi); }

  void push_plain(const Instruction& in) { sink_.instruction(in, layer); }
  void push(int unit, const Access& a, const Instruction& in) {
    uint8_t mask = 0;
    for (int v = 0; v < kUnits; ++v) {
      if (v == unit || v == kWeightsU) continue;
      const Pending& p = pend_[v];
      if (hit(p.ub_w, a.ub_r) || hit(p.ub_r, a.ub_w) || hit(p.ub_w, a.ub_w) || hit(p.acc_w, a.acc_r) ||
          hit(p.acc_r, a.acc_w) || hit(p.acc_w, a.acc_w))
        mask |= uint8_t(1u << v);
    }
    if (mask) {
      push_plain(Instruction{Opcode::kSync, mask, 0, 0, 0, 0});
      for (int v = 0; v < kUnits; ++v)
        if (mask & (1u << v)) pend_[v].clear();
    }
    Pending& p = pend_[unit];
    p.ub_r.add(a.ub_r.lo, a.ub_r.hi);
    p.ub_w.add(a.ub_w.lo, a.ub_w.hi);
    p.acc_r.add(a.acc_r.lo, a.acc_r.hi);
    p.acc_w.add(a.acc_w.lo, a.acc_w.hi);
    push_plain(in);
  }

  struct Pending {
    IntervalSet ub_r, ub_w, acc_r, acc_w;
    void clear() {
      ub_r.clear();
      ub_w.clear();
      acc_r.clear();
      acc_w.clear();
    }
  };
  Sink& sink_;
  Pending pend_[kUnits];
  uint64_t active_key_ = ~0ull;
  Requant rq_;
  bool have_rq_ = false;
};

// First-fit allocator over [0, size) vectors.
class UbAllocator {
 public:
  explicit UbAllocator(uint64_t size) : size_(size) { free_[0] = size; }
  std::optional<uint64_t> alloc(uint64_t n) {
    if (n == 0) n = 1;
    for (auto it = free_.begin(); it != free_.end(); ++it) {
      if (it->second >= n) {
        uint64_t base = it->first, len = it->second;
        free_.erase(it);
        if (len > n) free_[base + n] = len - n;
        return base;
      }
    }
    return std::nullopt;
  }
  void release(uint64_t base, uint64_t n) {
    if (n == 0) n = 1;
    auto it = free_.emplace(base, n).first;
    auto nx = std::next(it);
    if (nx != free_.end() && it->first + it->second == nx->first) {
      it->second += nx->second;
      free_.erase(nx);
    }
    if (it != free_.begin()) {
      auto pv = std::prev(it);
      if (pv->first + pv->second == it->first) {
        pv->second += it->second;
        free_.erase(it);
      }
    }
  }
  uint64_t largest() const {
    uint64_t m = 0;
    for (auto& [b, l] : free_) m = std::max(m, l);
    return m;
  }

 private:
  uint64_t size_;
  std::map<uint64_t, uint64_t> free_;
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
  mutable TileGrid* grid = nullptr;  // its placement's tiles, looked up on first use
};

class Lowerer {
 public:
  Lowerer(const TpuConfig& cfg, const Workload& wl, const LowerOptions& opt)
      : cfg_(cfg), wl_(wl), opt_(opt), W_(cfg.array.rows), half_(cfg.accumulator_entries / 2) {}

  LoweredProgram run();

 private:
  // ---- memory ---------------------------------------------------------------------------------
  uint64_t host_alloc(uint64_t vectors) {
    uint64_t b = host_next_;
    host_next_ += std::max<uint64_t>(vectors, 1);
    return b;
  }
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
    if (!t.host) return t.vec(row, b);
    const uint64_t slot = stage_in_[stage_in_next_ ^= 1];
    em_->rhm(t.vec(row, b), slot, n);
    return slot;
  }

  // ---- weights --------------------------------------------------------------------------------
  uint64_t tile_for(const Term& t, uint64_t kb, uint64_t nt) {
    if (em_->dry) return 0;
    if (!t.grid) {
      const uint64_t mh = key_hash(t.key);
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
      throw std::logic_error(fmt::format("lowering {}: tile ({}, {}) outside matrix '{}'", wl_.name, kb, nt, t.key));
    uint32_t& slot = g.at(kb, nt);
    if (slot) return slot;
    const uint64_t mh = g.key_h;
    uint64_t addr = next_tile_++;
    if (addr >= cfg_.weight_memory_tiles()) {
      if (opt_.values)
        throw InputError(fmt::format(
            "lowering {}: weights need more than the {} tiles of weight memory ({} B); run timing-only",
            wl_.name, cfg_.weight_memory_tiles(), cfg_.weight_memory.bytes));
      wrapped_ = true;
      addr = 1 + (addr - 1) % std::max<uint64_t>(1, cfg_.weight_memory_tiles() - 1);
    }
    slot = u32(addr);
    if (opt_.values) {
      std::vector<int8_t> img(cfg_.tile_bytes(), 0);
      const uint64_t vk = value_key(opt_.seed, mh);
      for (uint64_t r = 0; r < W_; ++r) {
        const uint64_t f = kb * W_ + r;
        if (f < t.f0 || f >= t.f0 + t.k) continue;
        for (uint64_t c = 0; c < W_; ++c) {
          const uint64_t col = nt * W_ + c;
          if (col < t.n0 || col >= t.n0 + t.n) continue;
          img[r * W_ + c] = value_keyed(vk, f - t.f0, col - t.n0);
        }
      }
      prog_->weight_init[addr] = std::move(img);
    }
    return addr;
  }
  void switch_identity_if_needed(std::optional<uint64_t>& tile) {
    tile.reset();
    if (em_->active_key() != kIdentityKey) {
      tile = 0;
      if (!em_->dry) info().identity_tile_loads++;
    }
  }

  LayerInfo& info() { return (*layers_)[cur_layer_]; }

  void reset_ub(bool spill) {
    ub_ = std::make_unique<UbAllocator>(cfg_.ub_vectors());
    if (spill) {
      for (auto* slot : {&stage_in_[0], &stage_in_[1], &stage_out_[0], &stage_out_[1]}) {
        auto b = ub_->alloc(half_);
        if (!b) throw UbFull{4 * half_, cfg_.ub_vectors(), "host staging buffers"};
        *slot = *b;
      }
    }
  }

 public:
  // Segment bookkeeping used by run().
  void begin_program(Emitter* em, Program* prog) {
    em_ = em;
    prog_ = prog;
    tiles_.clear();
    next_tile_ = 1;
    if (opt_.values) {
      std::vector<int8_t> id(cfg_.tile_bytes(), 0);
      for (uint64_t r = 0; r < W_; ++r) id[r * W_ + r] = 1;
      prog_->weight_init[0] = std::move(id);
    }
  }
  HostTensor new_host_tensor(uint64_t rows, uint64_t features, const std::string& key) {
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
            img[(b * rows + r) * W_ + l] = value_keyed(vk, r, b * W_ + l);
      prog_->host_init[h.base] = std::move(img);
    }
    return h;
  }
  void set_layers(std::vector<LayerInfo>* l) { layers_ = l; }
  void lower_group_public(const LayerGroup& g, uint64_t rep, const HostTensor& in,
                          const HostTensor& out, uint32_t first_layer) {
    lower_group(g, rep, in, out, first_layer);
  }
  bool wrapped() const { return wrapped_; }

 private:

  // ---- primitives -----------------------------------------------------------------------------
  void gemm(const Tensor& out, const std::vector<Term>& terms, ActFunction f, const Requant& rq,
            uint64_t nt_lo, uint64_t nt_hi);
  void conv(const Layer& l, const Tensor& in, const Tensor& out, const std::string& key);
  void identity_pass(const std::vector<const Tensor*>& ins, const Tensor& out, ActFunction f,
                     PoolKind pool, uint32_t window);
  void host_fill(const Tensor& out, const std::string& key, uint64_t global_row0);

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

  void lower_group_chunk(const LayerGroup& g, uint64_t rep, uint64_t i0, uint64_t i1,
                         const Tensor& gin, const Tensor& gout, uint32_t first_layer);
  void lower_group(const LayerGroup& g, uint64_t rep, const HostTensor& in, const HostTensor& out,
                   uint32_t first_layer);

  static constexpr uint64_t kIdentityKey = ~0ull - 1;

  const TpuConfig& cfg_;
  const Workload& wl_;
  const LowerOptions& opt_;
  const uint64_t W_, half_;
  Emitter* em_ = nullptr;
  Program* prog_ = nullptr;
  std::vector<LayerInfo>* layers_ = nullptr;
  uint32_t cur_layer_ = 0;
  std::unique_ptr<UbAllocator> ub_;
  bool spill_ = false, spilled_ = false;
  uint64_t stage_in_[2] = {0, 0}, stage_out_[2] = {0, 0};
  int stage_in_next_ = 0, stage_out_next_ = 0;
  int acc_toggle_ = 0;
  uint64_t host_next_ = 0;
  uint64_t next_tile_ = 1;  // tile 0 holds the identity matrix
  bool wrapped_ = false;
  std::unordered_map<uint64_t, TileGrid> tiles_;  // placement hash -> its tiles
  std::string rep_prefix_;
};

void Lowerer::gemm(const Tensor& out, const std::vector<Term>& terms, ActFunction f,
                   const Requant& rq, uint64_t nt_lo, uint64_t nt_hi) {
  const uint64_t rows = out.rows;
  for (uint64_t rb0 = 0; rb0 < rows; rb0 += half_) {
    const uint64_t rb1 = std::min(rows, rb0 + half_);
    for (uint64_t nt = nt_lo; nt < nt_hi; ++nt) {
      const uint64_t acc = next_acc();
      IntervalSet init;
      for (const Term& t : terms) {
        const uint64_t a = std::max(rb0, t.row_lo), b = std::min(rb1, t.row_hi);
        if (a >= b) continue;
        const uint64_t c0 = std::max(nt * W_, t.n0), c1 = std::min(nt * W_ + W_, t.n0 + t.n);
        if (c0 >= c1) continue;
        const uint64_t kb0 = t.f0 / W_, kb1 = (t.f0 + t.k + W_ - 1) / W_;
        if (em_->dry) {
          // A dry run only sizes the UB; what it changes is the host staging parity (one
          // ub_rows per K tile), applied here without walking the tiles of a huge layer.
          if (t.in->host && ((kb1 - kb0) & 1)) stage_in_next_ ^= 1;
          continue;
        }
        for (uint64_t kb = kb0; kb < kb1; ++kb) {
          const uint64_t kvalid = std::min(kb * W_ + W_, t.f0 + t.k) - std::max(kb * W_, t.f0);
          const uint64_t tile = tile_for(t, kb, nt);
          const uint64_t ub = ub_rows(*t.in, kb, a, b - a);
          // Split [a, b) where the accumulators are already initialized or not.
          bool first = true;
          uint64_t s = a;
          while (s < b) {
            const bool cov = init.covers(s, s + 1);
            uint64_t e = s + 1;
            while (e < b && init.covers(e, e + 1) == cov) ++e;
            std::optional<uint64_t> sw;
            if (first) sw = tile;
            em_->mmc(ub + (s - a), acc + (s - rb0), e - s, cov, sw, 0);
            first = false;
            s = e;
          }
          init.add(a, b);
          if (!em_->dry) {
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
        }
      }
      act_out(out, acc, rb0, nt, rb1 - rb0, f, PoolKind::kNone, 0, rq);
    }
  }
}

void Lowerer::conv(const Layer& l, const Tensor& in, const Tensor& out, const std::string& key) {
  const uint64_t H = l.in_h, Wd = l.in_w, Ho = l.out_h(), Wo = l.out_w(), s = l.stride, p = l.pad;
  const uint64_t kh = l.kernel_h, kw = l.kernel_w, C = l.in_c;
  if (2 * p > kh - 1 || 2 * p > kw - 1)
    throw InputError(fmt::format("lowering {}: conv '{}' has pad {} > (kernel - 1) / 2 = {}; the centre "
                                 "kernel position must cover every output",
                                 wl_.name, l.name, p, (std::min(kh, kw) - 1) / 2));
  const uint64_t Wv = s == 1 ? Wo : (Wo - 1) * s + 1;
  if (Wv > half_)
    throw InputError(fmt::format("lowering {}: conv '{}' needs {} accumulator rows per output row; "
                                 "{} has {} per half ({} too few)",
                                 wl_.name, l.name, Wv, cfg_.name, half_, Wv - half_));
  const uint64_t images = out.rows / (Ho * Wo);
  const uint64_t per_block = half_ / Wv;
  const uint64_t KB = (C + W_ - 1) / W_, NT = out.blocks(W_);
  const Requant rq = requant_for_k(kh * kw * C);
  // Kernel positions, the centre first (it initializes every accumulator row).
  std::vector<std::pair<uint64_t, uint64_t>> pos = {{p, p}};
  for (uint64_t r = 0; r < kh; ++r)
    for (uint64_t c = 0; c < kw; ++c)
      if (!(r == p && c == p)) pos.push_back({r, c});
  const uint64_t out_rows_total = images * Ho;  // (image, y) pairs
  for (uint64_t g0 = 0; g0 < out_rows_total; g0 += per_block) {
    const uint64_t g1 = std::min(out_rows_total, g0 + per_block);
    for (uint64_t nt = 0; nt < NT; ++nt) {
      const uint64_t acc = next_acc();
      const uint64_t nvalid = std::min<uint64_t>(W_, l.out_features - nt * W_);
      bool first_pass = true;
      for (uint64_t kb = 0; kb < KB; ++kb) {
        const uint64_t kvalid = std::min<uint64_t>(W_, C - kb * W_);
        for (auto [r, c] : pos) {
          Term t;  // tile rows = channels of block kb at kernel position (r, c)
          t.k = C;
          t.n = l.out_features;
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
            if (!switched && !em_->dry) {
              tile = tile_for(t, kb, nt);
              LayerInfo& li = info();
              li.weight_tile_loads++;
              li.weight_bytes_read += kvalid * nvalid;
            }
            const uint64_t in_row = img * H * Wd + uint64_t(yin) * Wd + (u0 + c - p);
            const uint64_t ub = ub_rows(in, kb, in_row, u1 - u0);
            std::optional<uint64_t> sw;
            if (!switched) sw = tile;
            em_->mmc(ub, acc + (g - g0) * Wv + u0, u1 - u0, !first_pass, sw, 0);
            switched = true;
            if (!em_->dry) {
              uint64_t useful = 0;
              for (uint64_t u = u0; u < u1; ++u) useful += (u % s == 0) ? 1 : 0;
              info().useful_macs += useful * kvalid * nvalid;
              info().mac_slots += (u1 - u0) * W_ * W_;
            }
          }
          if (switched) first_pass = false;
        }
      }
      if (s == 1) {
        act_out(out, acc, g0 * Wo, nt, (g1 - g0) * Wo, l.act, PoolKind::kNone, 0, rq);
      } else {
        for (uint64_t g = g0; g < g1; ++g)
          for (uint64_t x = 0; x < Wo; ++x)
            act_out(out, acc + (g - g0) * Wv + x * s, g * Wo + x, nt, 1, l.act, PoolKind::kNone, 0, rq);
      }
    }
  }
}

void Lowerer::identity_pass(const std::vector<const Tensor*>& ins, const Tensor& out, ActFunction f,
                            PoolKind pool, uint32_t window) {
  const uint32_t log2p = window > 1 ? uint32_t(std::log2(window)) : 0;
  const Requant rq = requant_for_sum(ins.size());
  const uint64_t rows = ins[0]->rows;
  const uint64_t step = window > 1 ? (half_ / window) * window : half_;
  for (uint64_t rb0 = 0; rb0 < rows; rb0 += step) {
    const uint64_t rb1 = std::min(rows, rb0 + step);
    for (uint64_t b = 0; b < out.blocks(W_); ++b) {
      const uint64_t acc = next_acc();
      for (size_t j = 0; j < ins.size(); ++j) {
        const uint64_t ub = ub_rows(*ins[j], b, rb0, rb1 - rb0);
        std::optional<uint64_t> sw;
        switch_identity_if_needed(sw);
        em_->mmc(ub, acc, rb1 - rb0, j > 0, sw, kIdentityKey);
        if (!em_->dry) info().mac_slots += (rb1 - rb0) * W_ * W_;
      }
      act_out(out, acc, rb0 >> log2p, b, rb1 - rb0, f, pool, log2p, rq);
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
                                const Tensor& gin, const Tensor& gout, uint32_t first_layer) {
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

  if (g.in_features) {
    Tensor in_view = gin;
    in_view.row_off = gin.row_off + i0 * g.in_rows_per_item;
    in_view.rows = items * g.in_rows_per_item;
    Tensor t = alloc_tensor(in_view.rows, g.in_features, g.name + " input", &in_view);
    if (!t.host) {
      cur_layer_ = first_layer;
      em_->layer = cur_layer_;
      for (uint64_t b = 0; b < t.blocks(W_); ++b) em_->rhm(in_view.vec(0, b), t.vec(0, b), t.rows);
    }
    tensors["@in"] = t;
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
    Tensor out = alloc_tensor(rows, l.out_features, l.name, last ? &gout_view : nullptr);
    const std::string key = prefix + l.name;
    switch (l.kind) {
      case LayerKind::kFc: {
        std::vector<Term> terms;
        uint64_t k_total = 0;
        for (size_t j = 0; j < l.terms.size(); ++j) {
          const FcTerm& ft = l.terms[j];
          Term t;
          t.in = &tensors.at(ft.input);
          t.f0 = ft.f0;
          t.k = ft.k;
          t.n0 = ft.n0;
          t.n = ft.n;
          const uint64_t lo = ft.item_hi ? std::max(ft.item_lo, i0) : i0;
          const uint64_t hi = ft.item_hi ? std::min(ft.item_hi, i1) : i1;
          if (lo >= hi) continue;
          t.row_lo = (lo - i0) * l.rows_per_item;
          t.row_hi = (hi - i0) * l.rows_per_item;
          t.key = key + "/" + std::to_string(j);
          terms.push_back(t);
          if (j == 0) k_total = ft.k;
        }
        gemm(out, terms, l.act, requant_for_k(k_total), 0, out.blocks(W_));
        if (!em_->dry) info().requant = requant_for_k(k_total);
        break;
      }
      case LayerKind::kConv2d:
        conv(l, tensors.at(l.inputs[0]), out, key);
        if (!em_->dry) info().requant = requant_for_k(uint64_t(l.kernel_h) * l.kernel_w * l.in_c);
        break;
      case LayerKind::kAttention: {
        const Tensor& q = tensors.at(l.inputs[0]);
        const uint64_t dh = l.d_head, group = l.heads / l.kv_heads;
        std::map<uint64_t, Tensor> scores;  // head -> S_h
        const Requant rq_s = requant_for_k(dh), rq_c = requant_for_k(l.kv_len);
        for (uint64_t nt = 0; nt < out.blocks(W_); ++nt) {
          const uint64_t h0 = nt * W_ / dh, h1 = std::min<uint64_t>(l.heads, (nt * W_ + W_ + dh - 1) / dh);
          for (auto it = scores.begin(); it != scores.end();) {
            if (it->first < h0) {
              free_tensor(it->second);
              it = scores.erase(it);
            } else {
              ++it;
            }
          }
          for (uint64_t h = h0; h < h1; ++h) {
            if (scores.count(h)) continue;
            Tensor s = alloc_tensor(rows, l.kv_len, l.name + " scores");
            std::vector<Term> terms;
            for (uint64_t sq = i0 / l.q_len; sq * l.q_len < i1; ++sq) {
              Term t;
              t.in = &q;
              t.f0 = h * dh;
              t.k = dh;
              t.n0 = 0;
              t.n = l.kv_len;
              t.row_lo = std::max(i0, sq * l.q_len) - i0;
              t.row_hi = std::min(i1, (sq + 1) * l.q_len) - i0;
              t.key = fmt::format("{}/k/{}/{}", key, sq, h / group);
              t.kv = true;
              terms.push_back(t);
            }
            scores[h] = s;
            gemm(scores[h], terms, ActFunction::kNone, rq_s, 0, s.blocks(W_));
          }
          std::vector<Term> terms;
          for (uint64_t h = h0; h < h1; ++h) {
            for (uint64_t sq = i0 / l.q_len; sq * l.q_len < i1; ++sq) {
              Term t;
              t.in = &scores.at(h);
              t.f0 = 0;
              t.k = l.kv_len;
              t.n0 = h * dh;
              t.n = dh;
              t.row_lo = std::max(i0, sq * l.q_len) - i0;
              t.row_hi = std::min(i1, (sq + 1) * l.q_len) - i0;
              t.key = fmt::format("{}/v/{}/{}", key, sq, h / group);
              t.kv = true;
              terms.push_back(t);
            }
          }
          gemm(out, terms, l.act, rq_c, nt, nt + 1);
        }
        for (auto& [h, s] : scores) free_tensor(s);
        if (!em_->dry) info().requant = rq_c;
        break;
      }
      case LayerKind::kVector: {
        std::vector<const Tensor*> ins;
        for (const auto& s : l.inputs) ins.push_back(&tensors.at(s));
        identity_pass(ins, out, l.act, PoolKind::kNone, 1);
        if (!em_->dry) info().requant = requant_for_sum(ins.size());
        break;
      }
      case LayerKind::kPool:
        identity_pass({&tensors.at(l.inputs[0])}, out, l.act, l.pool, l.window);
        if (!em_->dry) info().requant = requant_for_sum(1);
        break;
      case LayerKind::kEmbedding:
        host_fill(out, key, i0 * l.rows_per_item);
        break;
      case LayerKind::kHostOp: {
        const Tensor& in = tensors.at(l.inputs[0]);
        if (!in.host) {
          const uint64_t base = em_->dry ? 0 : host_alloc(in.rows * in.blocks(W_));
          for (uint64_t b = 0; b < in.blocks(W_); ++b) em_->whm(base + b * in.rows, in.vec(0, b), in.rows);
        }
        host_fill(out, key, i0 * l.rows_per_item);
        break;
      }
    }
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
    if (last && !out.host) {
      for (uint64_t b = 0; b < out.blocks(W_); ++b) em_->whm(gout_view.vec(0, b), out.vec(0, b), out.rows);
    }
  }
  for (auto& [n, t] : tensors) free_tensor(t);
}

void Lowerer::lower_group(const LayerGroup& g, uint64_t rep, const HostTensor& in,
                          const HostTensor& out, uint32_t first_layer) {
  Tensor gin, gout;
  gin.host = gout.host = true;
  gin.base = in.base;
  gin.stride = in.rows;
  gin.features = in.features;
  gout.base = out.base;
  gout.stride = out.rows;
  gout.features = out.features;

  // Find the largest item chunk whose tensors fit the UB (a dry run of the allocations).
  auto fits = [&](uint64_t chunk, bool spill) -> std::optional<UbFull> {
    const bool was_dry = em_->dry;
    const uint64_t host_saved = host_next_;
    em_->dry = true;
    spill_ = spill;
    std::optional<UbFull> err;
    try {
      reset_ub(spill);
      lower_group_chunk(g, rep, 0, std::min(chunk, g.items), gin, gout, first_layer);
    } catch (const UbFull& e) {
      err = e;
    }
    em_->dry = was_dry;
    host_next_ = host_saved;
    return err;
  };
  uint64_t chunk = g.items;
  bool spill = false;
  std::optional<UbFull> err = fits(chunk, false);
  while (err && chunk > 1) {
    chunk = (chunk + 1) / 2;
    err = fits(chunk, false);
  }
  if (err) {
    spill = true;
    chunk = g.items;
    if (auto e2 = fits(chunk, true))
      throw InputError(fmt::format(
          "lowering {}: group '{}' layer '{}' needs {} UB vectors even with host staging; {} has {} "
          "free ({} short)",
          wl_.name, g.name, e2->what, e2->needed, cfg_.name, e2->largest, e2->needed - e2->largest));
  }
  reset_ub(spill);
  spill_ = spill;
  spilled_ = false;
  const uint64_t chunks = (g.items + chunk - 1) / chunk;
  for (uint64_t c = 0; c < chunks; ++c)
    lower_group_chunk(g, rep, c * chunk, std::min(g.items, (c + 1) * chunk), gin, gout, first_layer);
  for (size_t i = 0; i < g.layers.size(); ++i) {
    (*layers_)[first_layer + i].chunks = chunks;
    (*layers_)[first_layer + i].chunk_items = chunk;
    (*layers_)[first_layer + i].spilled = spilled_;
  }
}

}  // namespace

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
  bool wrapped = false;
  uint32_t layer = 0;  // the layer being lowered (names the place of an OverBudget)
};

void check_mappable(const TpuConfig& cfg, const Workload& wl) {
  if (cfg.array.rows != cfg.array.cols)
    throw InputError(fmt::format("lowering {} for {}: the array must be square ({} x {})", wl.name,
                                 cfg.name, cfg.array.rows, cfg.array.cols));
  if (cfg.accumulator_entries < 2)
    throw InputError(fmt::format("lowering for {}: needs at least 2 accumulator entries", cfg.name));
}

// Runs the tiling, allocation and sync insertion of `wl` into `out`, one segment per group (one in
// all when unrolled). The only code that walks a workload: lower() and lower_stats() differ only
// in `out`.
void drive(const TpuConfig& cfg, const Workload& wl, const LowerOptions& opt, SegmentOut& out, Drive& d) {
  Lowerer low(cfg, wl, opt);
  low.set_layers(&d.layers);
  const uint64_t ahead = std::max<uint32_t>(1, cfg.weight_fifo_tiles);
  std::unique_ptr<Emitter> em;
  auto start = [&](const std::string& group, uint64_t repeat) {
    Sink& sink = out.begin(group, repeat, wl.name + (group.empty() ? "" : "/" + group));
    em = std::make_unique<Emitter>(sink);
    low.begin_program(em.get(), out.images());
  };
  auto finish = [&]() { out.end(ahead); };
  if (opt.unroll) start("", 1);
  HostTensor cur;
  bool have_cur = false;
  for (size_t gi = 0; gi < wl.groups.size(); ++gi) {
    const LayerGroup& g = wl.groups[gi];
    if (!opt.unroll) start(g.name, g.repeat);
    const uint64_t reps = opt.unroll ? g.repeat : 1;
    for (uint64_t rep = 0; rep < reps; ++rep) {
      HostTensor in;
      if (g.in_features) {
        const uint64_t rows = g.items * g.in_rows_per_item;
        if (!have_cur) {
          in = low.new_host_tensor(rows, g.in_features, "input");
          d.input = in;
        } else if (cur.rows != rows || cur.features != g.in_features) {
          // The host gathers (or extends) rows between groups: values restart as host data.
          in = low.new_host_tensor(rows, g.in_features, g.name + "/" + std::to_string(rep) + "/gather");
        } else {
          in = cur;
        }
      }
      const Layer& last = g.layers.back();
      HostTensor gout = low.new_host_tensor(g.items * last.rows_per_item, last.out_features, "");
      const uint32_t first = uint32_t(d.layers.size());
      for (const Layer& l : g.layers) {
        LayerInfo li;
        li.group = g.name;
        li.name = (opt.unroll && g.repeat > 1 ? fmt::format("{}.{}", g.name, rep) : g.name) + "/" + l.name;
        li.kind = l.kind;
        li.repeat = opt.unroll ? 1 : g.repeat;
        li.weight_bytes = l.weight_bytes();
        li.act = l.act;
        d.layers.push_back(li);
      }
      d.layer = first;
      low.lower_group_public(g, rep, in, gout, first);
      cur = gout;
      have_cur = true;
    }
    if (!opt.unroll) finish();
  }
  if (opt.unroll) finish();
  d.output = cur;
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
      reach(ub_vectors_used, in.b, in.c >> in.d);
      break;
    case Opcode::kReadWeights:
      weight_tiles_read += in.c;
      reach(weight_tiles_used, in.a, in.c);
      weight_hash = mix(weight_hash, in.a);
      return;
    default:
      break;
  }
  const uint64_t w0 = uint64_t(in.op) | uint64_t(in.flags) << 8 | uint64_t(in.d) << 16 | uint64_t(in.a) << 32;
  const uint64_t w1 = uint64_t(in.b) | uint64_t(in.c) << 32;
  code_hash = mix(mix(code_hash, w0), w1);
}

bool SegmentStats::operator==(const SegmentStats& o) const {
  return group == o.group && repeat == o.repeat && instructions == o.instructions && by_opcode == o.by_opcode &&
         matmul_rows == o.matmul_rows && weight_tiles_read == o.weight_tiles_read &&
         ub_vectors_used == o.ub_vectors_used && acc_entries_used == o.acc_entries_used &&
         weight_tiles_used == o.weight_tiles_used && host_vectors_used == o.host_vectors_used &&
         code_hash == o.code_hash && weight_hash == o.weight_hash;
}

uint64_t LoweredProgram::useful_macs() const { return sum_layers(layers, &LayerInfo::useful_macs); }
uint64_t LoweredProgram::mac_slots() const { return sum_layers(layers, &LayerInfo::mac_slots); }
uint64_t LoweredProgram::weight_bytes_read() const { return sum_layers(layers, &LayerInfo::weight_bytes_read); }
uint64_t LoweredProgram::instructions() const {
  uint64_t n = 0;
  for (const auto& s : segments) n += s.program.code.size();
  return n;
}

uint64_t LoweringStats::useful_macs() const { return sum_layers(layers, &LayerInfo::useful_macs); }
uint64_t LoweringStats::mac_slots() const { return sum_layers(layers, &LayerInfo::mac_slots); }
uint64_t LoweringStats::weight_bytes_read() const { return sum_layers(layers, &LayerInfo::weight_bytes_read); }
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
  st.layers = std::move(d.layers);
  st.input = d.input;
  st.output = d.output;
  st.weight_addresses_wrapped = d.wrapped;
  return st;
}

LoweringStats stats_of(const LoweredProgram& lp) {
  LoweringStats st;
  st.workload = lp.workload;
  st.layers = lp.layers;
  st.input = lp.input;
  st.output = lp.output;
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
    lp.layers = std::move(d.layers);
    lp.input = d.input;
    lp.output = d.output;
    lp.weight_addresses_wrapped = d.wrapped;
    return lp;
  };
  try {
    return store(probe);
  } catch (const OverBudget&) {
  }
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
        "{}: workload '{}' (batch {}) lowers for {} to more than {} instructions (the limit was reached "
        "in layer '{}'); expected at most {} (LowerOptions::max_instructions; storing them takes "
        "~{} MiB): lower a smaller batch or context, use a larger array, or get the program's counts "
        "without storing it with `tpusim lower --stats` (lower_stats())",
        wl.file.empty() ? wl.name : wl.file, wl.name, wl.batch, cfg.name, limit, where, limit,
        (limit * kStoredInstructionBytes) >> 20));
  }
  return store(0);
}

}  // namespace tpusim
