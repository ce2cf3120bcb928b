// Version vectors: origin -> highest contiguous sequence number applied.
#pragma once

#include "core/ids.hpp"

#include <algorithm>
#include <cstdint>
#include <map>
#include <vector>

namespace blaze {

/// Which operations a replica holds: for each origin, every seq in
/// 1..vv[origin]. Sync exchanges these; the difference names the missing dots.
class version_vector {
public:
  using map_type = std::map<node_id, uint64_t>;

  uint64_t get(const node_id& origin) const {
    auto i = entries_.find(origin);
    return i == entries_.end() ? 0 : i->second;
  }
  bool contains(const dot& d) const { return d.seq != 0 && d.seq <= get(d.origin); }
  /// Sets origin's seq (no-op for 0).
  void set(const node_id& origin, uint64_t seq) {
    if (seq != 0)
      entries_[origin] = seq;
  }
  /// Records `d` when it extends the contiguous prefix; returns whether it did.
  bool advance(const dot& d) {
    if (d.seq != get(d.origin) + 1)
      return false;
    entries_[d.origin] = d.seq;
    return true;
  }
  /// Pointwise maximum.
  void merge(const version_vector& other) {
    for (auto& [k, v] : other.entries_)
      if (v > get(k))
        entries_[k] = v;
  }
  /// True when every operation in `other` is also in this vector.
  bool dominates(const version_vector& other) const {
    for (auto& [k, v] : other.entries_)
      if (get(k) < v)
        return false;
    return true;
  }
  /// Per origin, the seq ranges (from, to] this vector has and `other` lacks.
  struct range {
    node_id origin;
    uint64_t after;
    uint64_t through;
  };
  std::vector<range> missing_from(const version_vector& other) const {
    std::vector<range> out;
    for (auto& [k, v] : entries_)
      if (auto theirs = other.get(k); theirs < v)
        out.push_back({k, theirs, v});
    return out;
  }
  uint64_t total() const {
    uint64_t n = 0;
    for (auto& [k, v] : entries_)
      n += v;
    return n;
  }
  const map_type& entries() const { return entries_; }
  bool operator==(const version_vector&) const = default;

private:
  map_type entries_;
};

/// `ranges` with the origins of `first` moved ahead, in `first`'s order;
/// the others keep their order.
inline std::vector<version_vector::range> ordered_first(std::vector<version_vector::range> ranges,
                                                        const std::vector<node_id>& first) {
  if (first.empty())
    return ranges;
  auto rank = [&](const node_id& o) {
    return static_cast<size_t>(std::find(first.begin(), first.end(), o) - first.begin());
  };
  std::stable_sort(ranges.begin(), ranges.end(),
                   [&](const version_vector::range& a, const version_vector::range& b) {
                     return rank(a.origin) < rank(b.origin);
                   });
  return ranges;
}

} // namespace blaze
