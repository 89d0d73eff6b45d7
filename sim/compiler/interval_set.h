// IntervalSet: disjoint half-open intervals (the lowerer's initialized accumulator rows).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace tpusim {

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
    auto it = std::lower_bound(v_.begin(), v_.end(), hi,
                               [](const Span& s, uint64_t x) { return s.first < x; });
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

}  // namespace tpusim
