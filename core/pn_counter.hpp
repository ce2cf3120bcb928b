// PN-counter: per-origin positive and negative totals; the value is their
// difference. Record deletes cancel the totals they observed.
#pragma once

#include "core/ids.hpp"
#include "core/version_vector.hpp"

#include <algorithm>
#include <cstdint>
#include <map>

namespace blaze {

struct pn_counter {
  struct entry {
    uint64_t positive = 0;
    uint64_t negative = 0;
    uint64_t cancelled_positive = 0;  // max over deletes of the totals they saw
    uint64_t cancelled_negative = 0;
    bool operator==(const entry&) const = default;
  };
  std::map<node_id, entry> entries;

  /// Applies one increment operation from `origin`. Callers deliver each
  /// operation once (deduplication is by dot, one level up).
  void add(const node_id& origin, int64_t delta) {
    auto& e = entries[origin];
    if (delta >= 0)
      e.positive += static_cast<uint64_t>(delta);
    else
      e.negative += static_cast<uint64_t>(-(delta + 1)) + 1;  // no overflow at INT64_MIN
  }

  /// A delete that had seen `positive`/`negative` from `origin` cancels them.
  void cancel(const node_id& origin, uint64_t positive, uint64_t negative) {
    auto& e = entries[origin];
    e.cancelled_positive = std::max(e.cancelled_positive, positive);
    e.cancelled_negative = std::max(e.cancelled_negative, negative);
  }

  /// Join with another replica's counter of the same field. Cancellations
  /// join by max (a delete cancels the largest totals it saw). The totals of
  /// an origin come from the replica that holds the longer prefix of that
  /// origin's operations: `mine`/`theirs` give, per origin, the prefix each
  /// side holds (version vectors). Without them the larger total is taken,
  /// which is the same unless a total wrapped around 2^64.
  void merge(const pn_counter& other, const version_vector* mine = nullptr,
             const version_vector* theirs = nullptr) {
    for (auto& [o, t] : other.entries) {
      auto& e = entries[o];
      bool take = mine && theirs ? theirs->get(o) > mine->get(o) : false;
      if (mine && theirs) {
        if (take) {
          e.positive = t.positive;
          e.negative = t.negative;
        }
      } else {
        e.positive = std::max(e.positive, t.positive);
        e.negative = std::max(e.negative, t.negative);
      }
      e.cancelled_positive = std::max(e.cancelled_positive, t.cancelled_positive);
      e.cancelled_negative = std::max(e.cancelled_negative, t.cancelled_negative);
    }
    if (mine && theirs)  // an origin the other side holds further that has no entry there: no increments
      for (auto& [o, e] : entries)
        if (!other.entries.count(o) && theirs->get(o) > mine->get(o))
          e.positive = e.negative = 0;
  }

  /// Sum of the live (uncancelled) contributions, wrapping like int64.
  int64_t value() const {
    uint64_t v = 0;
    for (auto& [o, e] : entries) {
      v += e.positive - std::min(e.cancelled_positive, e.positive);
      v -= e.negative - std::min(e.cancelled_negative, e.negative);
    }
    return static_cast<int64_t>(v);
  }
};

} // namespace blaze
