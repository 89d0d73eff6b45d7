// vLLM's block manager (Kwon et al., "Efficient Memory Management for Large Language Model
// Serving with PagedAttention", SOSP 2023, Sections 4.2-4.5; vllm/core/block_manager.py of v0.1):
// the K/V memory of a chip cut into `gpu_blocks` physical blocks of `block_size` token slots, plus
// `cpu_blocks` blocks of bounded host swap space.
//
// - Every sequence has a block table: its logical blocks in order, each naming a physical block.
// - Physical blocks carry reference counts: fork() makes a new sequence that shares every block
//   of its parent (parallel sampling after the prompt, beam search candidates, a shared prefix),
//   and free() returns a block to its free list only when its last reference goes.
// - append_slot() adds one token: a fresh block when the last one is full, and copy-on-write when
//   the last block is shared (ref > 1): the sharer gets a fresh block holding a copy of the
//   filled slots, the others keep the original.
// - swap_out() moves a group of sequences' GPU blocks to host blocks (a block shared within the
//   group moves once and keeps its sharing), swap_in() moves them back; both refuse, changing
//   nothing, when the destination lacks free blocks, so the host bound is never exceeded.
// Block ids: 0 .. gpu_blocks - 1 are GPU (chip) blocks, gpu_blocks .. + cpu_blocks - 1 host ones.
// Library code: it never prints; a violated precondition throws std::logic_error.
#pragma once

#include <cstdint>
#include <unordered_map>
#include <vector>

namespace tpusim::serve {

class BlockManager {
 public:
  using SeqId = uint64_t;
  enum class Append { kInPlace, kNewBlock, kCopyOnWrite, kNoMemory };

  BlockManager(uint64_t gpu_blocks, uint64_t cpu_blocks, uint32_t block_size);

  uint32_t block_size() const { return block_size_; }
  uint64_t gpu_blocks() const { return gpu_blocks_; }
  uint64_t cpu_blocks() const { return cpu_blocks_; }
  uint64_t free_gpu_blocks() const { return free_gpu_.size(); }
  uint64_t free_cpu_blocks() const { return free_cpu_.size(); }
  uint64_t used_gpu_blocks() const { return gpu_blocks_ - free_gpu_.size(); }
  uint64_t used_cpu_blocks() const { return cpu_blocks_ - free_cpu_.size(); }
  // Filled token slots over the GPU's allocated blocks (a shared block counts once).
  uint64_t used_gpu_slots() const { return used_gpu_slots_; }
  // Logical blocks of every GPU-resident sequence: what the sequences would take unshared.
  uint64_t logical_gpu_blocks() const;
  uint64_t copy_on_writes() const { return cow_; }

  bool has(SeqId s) const { return seqs_.count(s) != 0; }
  bool on_gpu(SeqId s) const;
  uint64_t tokens(SeqId s) const;
  const std::vector<uint64_t>& table(SeqId s) const;
  uint32_t ref_count(uint64_t block) const { return ref_[block]; }

  // Blocks a new sequence of `tokens` tokens takes.
  uint64_t blocks_for(uint64_t tokens) const { return (tokens + block_size_ - 1) / block_size_; }
  // A new sequence `s` of `tokens` tokens on the GPU. If `share_from` (a GPU-resident sequence)
  // is given, its first floor(shared_tokens / block_size) full blocks are shared (prefix
  // sharing; shared_tokens <= both sequences' tokens) and only the rest is allocated. False,
  // changing nothing, if the GPU lacks the free blocks.
  bool allocate(SeqId s, uint64_t tokens, const SeqId* share_from = nullptr,
                uint64_t shared_tokens = 0);
  // A new sequence `child` sharing every block of `parent` (on the GPU); nothing allocated.
  void fork(SeqId parent, SeqId child);
  // One more token in `s` (on the GPU); see the header comment.
  Append append_slot(SeqId s);
  // Frees `s` (GPU or host): every block's reference drops, a block with none left is free.
  void free(SeqId s);

  // Swap a group of sequences out (all on the GPU) or in (all on the host). Returns the blocks
  // copied over the host link, or -1, changing nothing, if the destination lacks free blocks
  // (swap_in also keeps `reserve` GPU blocks free for the group's next appends, as vLLM's
  // can_swap_in does).
  int64_t swap_out(const std::vector<SeqId>& group);
  int64_t swap_in(const std::vector<SeqId>& group, uint64_t reserve = 0);
  // Distinct blocks of the group in the given place (GPU or host).
  uint64_t distinct_blocks(const std::vector<SeqId>& group) const;

  // Throws std::logic_error naming the first broken invariant: every reference count equals the
  // number of table entries naming the block, free lists hold exactly the unreferenced blocks
  // (no duplicates), a sequence's blocks all lie in one place, tables match token counts, the
  // filled-slot total matches the tables.
  void check() const;

 private:
  struct Seq {
    std::vector<uint64_t> table;
    uint64_t tokens = 0;
    bool gpu = true;
  };
  Seq& seq(SeqId s);
  const Seq& seq(SeqId s) const;
  uint64_t take(bool gpu);
  void drop(uint64_t block);
  bool is_gpu(uint64_t block) const { return block < gpu_blocks_; }
  int64_t move(const std::vector<SeqId>& group, bool to_gpu, uint64_t reserve);

  uint64_t gpu_blocks_, cpu_blocks_;
  uint32_t block_size_;
  std::vector<uint32_t> ref_;     // per physical block
  std::vector<uint32_t> filled_;  // filled slots per physical block
  std::vector<uint64_t> free_gpu_, free_cpu_;
  std::unordered_map<SeqId, Seq> seqs_;
  uint64_t used_gpu_slots_ = 0;
  uint64_t cow_ = 0;
};

}  // namespace tpusim::serve
