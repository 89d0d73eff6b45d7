#include "sim/studies/serve/kv_cache.h"

#include <algorithm>

#include <fmt/format.h>

#include "models/errors.h"

namespace tpusim::serve {

KvCache::KvCache(uint64_t capacity_tokens, bool paged, uint32_t block_size,
                 const std::string& reserve, uint32_t max_context, size_t requests)
    : capacity_(capacity_tokens),
      paged_(paged),
      block_(block_size),
      reserve_(reserve),
      max_context_(max_context),
      alloc_(requests, 0),
      used_by_(requests, 0) {
  if (paged_ && block_ == 0) throw InputError("block_size: must be >= 1");
  if (paged_) capacity_ = capacity_ / block_ * block_;
  if (!paged_ && reserve_ != "max" && reserve_ != "pow2" && reserve_ != "oracle")
    throw InputError(fmt::format("reserve {}: one of max, pow2, oracle", reserve_));
}

uint64_t KvCache::reservation(uint32_t prompt_len, uint32_t output_len) const {
  if (paged_) return 0;
  const uint64_t need = uint64_t(prompt_len) + output_len;
  if (reserve_ == "oracle") return need;
  if (reserve_ == "pow2") {
    uint64_t p = 1;
    while (p < need) p *= 2;
    return std::min<uint64_t>(p, std::max<uint64_t>(max_context_, need));
  }
  return std::max<uint64_t>(max_context_, need);
}

bool KvCache::grow(size_t r, uint32_t prompt_len, uint32_t output_len, uint64_t tokens) {
  uint64_t want = alloc_[r];
  if (paged_) {
    want = (tokens + block_ - 1) / block_ * block_;
  } else if (alloc_[r] == 0) {
    want = reservation(prompt_len, output_len);
  }
  if (tokens > want) return false;  // a contiguous region cannot grow in place
  if (want > alloc_[r]) {
    if (want - alloc_[r] > capacity_ - allocated_) return false;
    allocated_ += want - alloc_[r];
    alloc_[r] = want;
  }
  used_ = used_ - used_by_[r] + tokens;
  used_by_[r] = tokens;
  return true;
}

void KvCache::release(size_t r) {
  allocated_ -= alloc_[r];
  used_ -= used_by_[r];
  alloc_[r] = 0;
  used_by_[r] = 0;
}

}  // namespace tpusim::serve
