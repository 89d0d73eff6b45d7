// K/V cache memory of one chip: the weight memory left after the model's weights, counted in
// token slots of ModelInfo::kv_bytes_per_token() bytes.
//
// Two allocators:
// - contiguous (FasterTransformer / Orca): a request reserves one region at admission, sized by
//   the reservation policy: `max` = the model's max_context (what the vLLM paper says existing
//   systems do), `pow2` = the next power of two of prompt + output, `oracle` = exactly prompt +
//   output (Orca's Max / Pow2 / Oracle variants in vLLM Section 6). No external fragmentation is
//   modelled (regions are assumed to pack perfectly), which flatters contiguous allocation.
// - paged (vLLM): fixed-size blocks of `block_size` token slots, allocated on demand as a
//   sequence grows; only the last block of a sequence is partly empty.
// Utilization = tokens held / token slots allocated.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tpusim::serve {

class KvCache {
 public:
  // `paged`: blocks of block_size slots; else contiguous regions with `reserve` policy.
  KvCache(uint64_t capacity_tokens, bool paged, uint32_t block_size, const std::string& reserve,
          uint32_t max_context, size_t requests);

  uint64_t capacity_tokens() const { return capacity_; }
  bool paged() const { return paged_; }
  // Slots a contiguous reservation of this request takes (0 for paged).
  uint64_t reservation(uint32_t prompt_len, uint32_t output_len) const;

  // Makes request `r` able to hold `tokens` tokens (admission or growth). Contiguous: the first
  // call reserves the region (false if it does not fit or is too small); paged: allocates the
  // missing blocks (false, allocating nothing, if not enough are free).
  bool grow(size_t r, uint32_t prompt_len, uint32_t output_len, uint64_t tokens);
  void release(size_t r);
  bool holds(size_t r) const { return alloc_[r] > 0; }

  uint64_t allocated_tokens() const { return allocated_; }  // slots allocated
  uint64_t used_tokens() const { return used_; }            // tokens held
  uint64_t free_tokens() const { return capacity_ - allocated_; }

 private:
  uint64_t capacity_;
  bool paged_;
  uint32_t block_;
  std::string reserve_;
  uint32_t max_context_;
  std::vector<uint64_t> alloc_, used_by_;
  uint64_t allocated_ = 0, used_ = 0;
};

}  // namespace tpusim::serve
