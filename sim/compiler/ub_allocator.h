// UbAllocator: first-fit allocation of unified-buffer vectors, with reuse after release.
#pragma once

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <map>
#include <optional>

namespace tpusim {

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
  // Takes [base, base + n) out of the free space; false when part of it is already taken.
  bool reserve(uint64_t base, uint64_t n) {
    if (n == 0) n = 1;
    auto it = free_.upper_bound(base);
    if (it == free_.begin()) return false;
    --it;
    const uint64_t b = it->first, len = it->second;
    if (base + n > b + len) return false;
    free_.erase(it);
    if (base > b) free_[b] = base - b;
    if (b + len > base + n) free_[base + n] = b + len - (base + n);
    return true;
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

}  // namespace tpusim
