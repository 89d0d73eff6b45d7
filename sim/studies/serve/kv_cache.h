// Contiguous K/V memory of one chip (FasterTransformer / Orca): the weight memory left after the
// model's weights, counted in token slots of ModelInfo::kv_bytes_per_token() bytes, as one address
// range. A request reserves one contiguous region at admission, sized by the reservation policy
// (Orca's variants in vLLM, Kwon et al. SOSP 2023, Section 6.1): `max` = the model's max_context
// (what existing systems do), `pow2` = the next power of two of prompt + output (at most
// max_context), `oracle` = exactly prompt + output. Regions are placed first fit in address order
// and never move, so the free slots can be split into holes too small for the next request:
// external fragmentation. The paged allocator (vLLM) is BlockManager (block_manager.h).
//
// The memory splits as in vLLM's Fig. 2 (counted in slots):
//   used      tokens whose K/V is held;
//   reserved  slots of a region its request will still fill (up to prompt + its true output);
//   internal  slots of a region beyond prompt + its true output (never filled);
//   free      everything else (the caller decides which free slots are external fragmentation:
//             free_in_holes_below()).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace tpusim::serve {

class KvCache {
 public:
  // Throws InputError for an unknown `reserve` policy.
  KvCache(uint64_t capacity_tokens, const std::string& reserve, uint32_t max_context,
          size_t requests);

  uint64_t capacity_tokens() const { return capacity_; }
  // Slots a reservation of this request takes; `width` sequences (parallel samples or beams)
  // each reserve their own copy (no sharing in contiguous systems).
  uint64_t reservation(uint32_t prompt_len, uint32_t output_len, uint32_t width = 1) const;

  // Makes request `r` hold `tokens` tokens (over all its `width` sequences). The first call
  // reserves its region first fit (false, changing nothing, if no hole is large enough); later
  // calls must stay within the region (false if not: a contiguous region cannot grow in place).
  bool grow(size_t r, uint32_t prompt_len, uint32_t output_len, uint64_t tokens,
            uint32_t width = 1);
  void release(size_t r);
  bool holds(size_t r) const { return alloc_[r] > 0; }

  uint64_t allocated_tokens() const { return allocated_; }  // slots in regions
  uint64_t used_tokens() const { return used_; }            // tokens held
  uint64_t free_tokens() const { return capacity_ - allocated_; }
  // Slots of regions that their requests will still fill (see the header comment).
  uint64_t reserved_tokens() const { return fill_to_ - used_; }
  // Slots of regions beyond their requests' true lengths.
  uint64_t internal_tokens() const { return allocated_ - fill_to_; }
  uint64_t largest_hole() const;
  // Free slots in holes smaller than `size` (unusable for a region of that size).
  uint64_t free_in_holes_below(uint64_t size) const;

 private:
  uint64_t capacity_;
  std::string reserve_;
  uint32_t max_context_;
  std::vector<uint64_t> alloc_, used_by_, start_, fill_to_by_;
  std::map<uint64_t, uint64_t> holes_;  // start -> length, disjoint, merged
  uint64_t allocated_ = 0, used_ = 0, fill_to_ = 0;
};

}  // namespace tpusim::serve
