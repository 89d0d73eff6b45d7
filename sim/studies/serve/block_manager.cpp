#include "sim/studies/serve/block_manager.h"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <unordered_map>

namespace tpusim::serve {

BlockManager::BlockManager(uint64_t gpu_blocks, uint64_t cpu_blocks, uint32_t block_size)
    : gpu_blocks_(gpu_blocks),
      cpu_blocks_(cpu_blocks),
      block_size_(block_size),
      ref_(gpu_blocks + cpu_blocks, 0),
      filled_(gpu_blocks + cpu_blocks, 0) {
  if (block_size_ == 0) throw std::logic_error("BlockManager: block_size must be >= 1");
  // Free lists as stacks, lowest id on top (deterministic reuse order).
  free_gpu_.reserve(gpu_blocks);
  for (uint64_t b = gpu_blocks; b-- > 0;) free_gpu_.push_back(b);
  free_cpu_.reserve(cpu_blocks);
  for (uint64_t b = gpu_blocks + cpu_blocks; b-- > gpu_blocks;) free_cpu_.push_back(b);
}

BlockManager::Seq& BlockManager::seq(SeqId s) {
  auto it = seqs_.find(s);
  if (it == seqs_.end()) throw std::logic_error("BlockManager: no sequence " + std::to_string(s));
  return it->second;
}

const BlockManager::Seq& BlockManager::seq(SeqId s) const {
  auto it = seqs_.find(s);
  if (it == seqs_.end()) throw std::logic_error("BlockManager: no sequence " + std::to_string(s));
  return it->second;
}

bool BlockManager::on_gpu(SeqId s) const { return seq(s).gpu; }
uint64_t BlockManager::tokens(SeqId s) const { return seq(s).tokens; }
const std::vector<uint64_t>& BlockManager::table(SeqId s) const { return seq(s).table; }

uint64_t BlockManager::logical_gpu_blocks() const {
  uint64_t n = 0;
  for (const auto& [id, q] : seqs_)
    if (q.gpu) n += q.table.size();
  return n;
}

uint64_t BlockManager::take(bool gpu) {
  std::vector<uint64_t>& fl = gpu ? free_gpu_ : free_cpu_;
  if (fl.empty()) throw std::logic_error("BlockManager: take from an empty free list");
  const uint64_t b = fl.back();
  fl.pop_back();
  if (ref_[b] != 0) throw std::logic_error("BlockManager: a free block was referenced");
  ref_[b] = 1;
  filled_[b] = 0;
  return b;
}

void BlockManager::drop(uint64_t b) {
  if (ref_[b] == 0) throw std::logic_error("BlockManager: double free of a block");
  if (--ref_[b] > 0) return;
  if (is_gpu(b)) {
    used_gpu_slots_ -= filled_[b];
    free_gpu_.push_back(b);
  } else {
    free_cpu_.push_back(b);
  }
  filled_[b] = 0;
}

bool BlockManager::allocate(SeqId s, uint64_t tokens, const SeqId* share_from,
                            uint64_t shared_tokens) {
  if (has(s)) throw std::logic_error("BlockManager: sequence allocated twice");
  uint64_t shared_blocks = 0;
  const Seq* src = nullptr;
  if (share_from) {
    src = &seq(*share_from);
    if (!src->gpu) throw std::logic_error("BlockManager: prefix source is swapped out");
    if (shared_tokens > tokens || shared_tokens > src->tokens)
      throw std::logic_error("BlockManager: shared prefix longer than a sequence");
    shared_blocks = shared_tokens / block_size_;
  }
  const uint64_t total = blocks_for(tokens);
  if (total - shared_blocks > free_gpu_.size()) return false;
  Seq q;
  q.tokens = tokens;
  q.table.reserve(total);
  for (uint64_t i = 0; i < shared_blocks; ++i) {
    const uint64_t b = src->table[i];
    ++ref_[b];
    q.table.push_back(b);
  }
  for (uint64_t i = shared_blocks; i < total; ++i) {
    const uint64_t b = take(true);
    const uint64_t fill = std::min<uint64_t>(block_size_, tokens - i * block_size_);
    filled_[b] = uint32_t(fill);
    used_gpu_slots_ += fill;
    q.table.push_back(b);
  }
  seqs_.emplace(s, std::move(q));
  return true;
}

void BlockManager::fork(SeqId parent, SeqId child) {
  if (has(child)) throw std::logic_error("BlockManager: fork onto an existing sequence");
  Seq q = seq(parent);
  if (!q.gpu) throw std::logic_error("BlockManager: fork of a swapped-out sequence");
  for (uint64_t b : q.table) ++ref_[b];
  seqs_.emplace(child, std::move(q));
}

BlockManager::Append BlockManager::append_slot(SeqId s) {
  Seq& q = seq(s);
  if (!q.gpu) throw std::logic_error("BlockManager: append to a swapped-out sequence");
  const bool last_full = q.tokens % block_size_ == 0;
  if (last_full || q.table.empty()) {
    if (free_gpu_.empty()) return Append::kNoMemory;
    const uint64_t b = take(true);
    filled_[b] = 1;
    ++used_gpu_slots_;
    q.table.push_back(b);
    ++q.tokens;
    return Append::kNewBlock;
  }
  uint64_t& last = q.table.back();
  if (ref_[last] == 1) {
    ++filled_[last];
    ++used_gpu_slots_;
    ++q.tokens;
    return Append::kInPlace;
  }
  // Copy-on-write: the shared block stays with the other sharers.
  if (free_gpu_.empty()) return Append::kNoMemory;
  const uint64_t b = take(true);
  filled_[b] = filled_[last] + 1;
  used_gpu_slots_ += filled_[b];
  --ref_[last];  // still >= 1: another sequence holds it
  last = b;
  ++q.tokens;
  ++cow_;
  return Append::kCopyOnWrite;
}

void BlockManager::free(SeqId s) {
  auto it = seqs_.find(s);
  if (it == seqs_.end()) throw std::logic_error("BlockManager: free of an unknown sequence");
  for (uint64_t b : it->second.table) drop(b);
  seqs_.erase(it);
}

uint64_t BlockManager::distinct_blocks(const std::vector<SeqId>& group) const {
  std::vector<uint64_t> all;
  for (SeqId s : group) {
    const Seq& q = seq(s);
    all.insert(all.end(), q.table.begin(), q.table.end());
  }
  std::sort(all.begin(), all.end());
  return uint64_t(std::unique(all.begin(), all.end()) - all.begin());
}

int64_t BlockManager::move(const std::vector<SeqId>& group, bool to_gpu, uint64_t reserve) {
  for (SeqId s : group)
    if (seq(s).gpu == to_gpu)
      throw std::logic_error("BlockManager: swap of a sequence already in place");
  const uint64_t need = distinct_blocks(group);
  const uint64_t avail = to_gpu ? free_gpu_.size() : free_cpu_.size();
  if (need + reserve > avail) return -1;
  std::unordered_map<uint64_t, uint64_t> mapping;  // source block -> destination block
  for (SeqId s : group) {
    Seq& q = seq(s);
    for (uint64_t& b : q.table) {
      auto it = mapping.find(b);
      uint64_t d = 0;
      if (it == mapping.end()) {
        d = take(to_gpu);
        filled_[d] = filled_[b];
        if (to_gpu) used_gpu_slots_ += filled_[d];
        mapping.emplace(b, d);
      } else {
        d = it->second;
        ++ref_[d];
      }
      drop(b);
      b = d;
    }
    q.gpu = to_gpu;
  }
  return int64_t(mapping.size());
}

int64_t BlockManager::swap_out(const std::vector<SeqId>& group) { return move(group, false, 0); }

int64_t BlockManager::swap_in(const std::vector<SeqId>& group, uint64_t reserve) {
  return move(group, true, reserve);
}

void BlockManager::check() const {
  const uint64_t n = gpu_blocks_ + cpu_blocks_;
  std::vector<uint32_t> refs(n, 0);
  std::vector<int64_t> fill(n, -1);
  uint64_t slots = 0;
  for (const auto& [id, q] : seqs_) {
    if (q.table.size() != blocks_for(q.tokens))
      throw std::logic_error("BlockManager: table length != ceil(tokens / block_size) for " +
                             std::to_string(id));
    for (size_t i = 0; i < q.table.size(); ++i) {
      const uint64_t b = q.table[i];
      if (b >= n) throw std::logic_error("BlockManager: block id out of range");
      if (is_gpu(b) != q.gpu)
        throw std::logic_error("BlockManager: sequence " + std::to_string(id) +
                               " has blocks in both places");
      ++refs[b];
      const int64_t want = int64_t(std::min<uint64_t>(block_size_, q.tokens - i * block_size_));
      if (fill[b] >= 0 && fill[b] != want)
        throw std::logic_error("BlockManager: sharers disagree on a block's filled slots");
      fill[b] = want;
    }
  }
  std::vector<char> is_free(n, 0);
  auto mark = [&](const std::vector<uint64_t>& fl, bool gpu) {
    for (uint64_t b : fl) {
      if (b >= n || is_gpu(b) != gpu) throw std::logic_error("BlockManager: free list mix-up");
      if (is_free[b]) throw std::logic_error("BlockManager: block on a free list twice");
      is_free[b] = 1;
    }
  };
  mark(free_gpu_, true);
  mark(free_cpu_, false);
  for (uint64_t b = 0; b < n; ++b) {
    if (refs[b] != ref_[b])
      throw std::logic_error("BlockManager: block " + std::to_string(b) + " ref count " +
                             std::to_string(ref_[b]) + " but " + std::to_string(refs[b]) +
                             " table entries");
    if ((refs[b] == 0) != bool(is_free[b]))
      throw std::logic_error(
          "BlockManager: block " + std::to_string(b) +
          (refs[b] ? " referenced and free" : " leaked (unreferenced, not free)"));
    if (refs[b] && int64_t(filled_[b]) != fill[b])
      throw std::logic_error("BlockManager: filled-slot count of a block is stale");
    if (refs[b] && is_gpu(b)) slots += filled_[b];
  }
  if (slots != used_gpu_slots_) throw std::logic_error("BlockManager: used-slot total is stale");
}

}  // namespace tpusim::serve
