#include "sim/studies/serve/kv_cache.h"

#include <algorithm>
#include <iterator>

#include <fmt/format.h>

#include "models/errors.h"

namespace tpusim::serve {

KvCache::KvCache(uint64_t capacity_tokens, const std::string& reserve, uint32_t max_context,
                 size_t requests)
    : capacity_(capacity_tokens),
      reserve_(reserve),
      max_context_(max_context),
      alloc_(requests, 0),
      used_by_(requests, 0),
      start_(requests, 0),
      fill_to_by_(requests, 0) {
  if (reserve_ != "max" && reserve_ != "pow2" && reserve_ != "oracle")
    throw InputError(fmt::format("reserve {}: one of max, pow2, oracle", reserve_));
  if (capacity_ > 0) holes_.emplace(0, capacity_);
}

uint64_t KvCache::reservation(uint32_t prompt_len, uint32_t output_len, uint32_t width) const {
  const uint64_t need = uint64_t(prompt_len) + output_len;
  uint64_t one = std::max<uint64_t>(max_context_, need);
  if (reserve_ == "oracle") {
    one = need;
  } else if (reserve_ == "pow2") {
    uint64_t p = 1;
    while (p < need) p *= 2;
    one = std::min<uint64_t>(p, one);
  }
  return one * width;
}

bool KvCache::grow(size_t r, uint32_t prompt_len, uint32_t output_len, uint64_t tokens,
                   uint32_t width) {
  if (alloc_[r] == 0) {
    const uint64_t want = reservation(prompt_len, output_len, width);
    if (tokens > want) return false;
    auto it = std::find_if(holes_.begin(), holes_.end(),
                           [want](const auto& h) { return h.second >= want; });
    if (it == holes_.end()) return false;
    const uint64_t start = it->first, len = it->second;
    holes_.erase(it);
    if (len > want) holes_.emplace(start + want, len - want);
    start_[r] = start;
    alloc_[r] = want;
    allocated_ += want;
    fill_to_by_[r] = std::min<uint64_t>(want, (uint64_t(prompt_len) + output_len) * width);
    fill_to_ += fill_to_by_[r];
  }
  if (tokens > alloc_[r]) return false;
  used_ = used_ - used_by_[r] + tokens;
  used_by_[r] = tokens;
  return true;
}

void KvCache::release(size_t r) {
  if (alloc_[r] == 0) return;
  uint64_t start = start_[r], len = alloc_[r];
  auto next = holes_.lower_bound(start);
  if (next != holes_.end() && next->first == start + len) {
    len += next->second;
    next = holes_.erase(next);
  }
  if (next != holes_.begin()) {
    auto prev = std::prev(next);
    if (prev->first + prev->second == start) {
      start = prev->first;
      len += prev->second;
      holes_.erase(prev);
    }
  }
  holes_.emplace(start, len);
  allocated_ -= alloc_[r];
  used_ -= used_by_[r];
  fill_to_ -= fill_to_by_[r];
  alloc_[r] = used_by_[r] = fill_to_by_[r] = 0;
}

uint64_t KvCache::largest_hole() const {
  uint64_t m = 0;
  for (const auto& h : holes_) m = std::max(m, h.second);
  return m;
}

uint64_t KvCache::free_in_holes_below(uint64_t size) const {
  uint64_t n = 0;
  for (const auto& h : holes_)
    if (h.second < size) n += h.second;
  return n;
}

}  // namespace tpusim::serve
