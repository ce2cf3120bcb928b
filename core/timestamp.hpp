// Hybrid-logical timestamps and the clock that issues them.
#pragma once

#include "core/ids.hpp"

#include <cstdint>

namespace blaze {

/// A timestamp ordered like the seed's Lamport timestamp: (counter, node).
/// counter = physical milliseconds << 16 | logical count. Zero means "none".
struct timestamp {
  uint64_t counter = 0;
  node_id node;
  auto operator<=>(const timestamp&) const = default;
  bool is_zero() const { return counter == 0 && node.is_zero(); }
  /// Wall-clock milliseconds encoded in the counter.
  uint64_t millis() const { return counter >> 16; }
};

/// A hybrid logical clock. Not thread-safe: owned by one database actor.
/// Invariant: every timestamp it issues is greater than every timestamp it
/// issued or observed before.
class hybrid_clock {
public:
  static constexpr int logical_bits = 16;

  explicit hybrid_clock(node_id self, uint64_t last_counter = 0)
    : self_(self), last_(last_counter) {}

  /// The next timestamp at wall time `now_ms`.
  timestamp tick(uint64_t now_ms) {
    uint64_t phys = now_ms << logical_bits;
    last_ = phys > last_ ? phys : last_ + 1;
    return {last_, self_};
  }

  /// Moves the clock past a counter seen in a remote operation. The caller
  /// bounds far-future counters first (see `too_far_ahead`).
  void observe(uint64_t counter) {
    if (counter > last_)
      last_ = counter;
  }

  /// True when `counter` is more than `max_skew_ms` ahead of `now_ms`:
  /// such operations are refused so one bad clock cannot pin everyone's
  /// last-writer-wins decisions far in the future.
  static bool too_far_ahead(uint64_t counter, uint64_t now_ms, uint64_t max_skew_ms) {
    return (counter >> logical_bits) > now_ms + max_skew_ms;
  }

  uint64_t last() const { return last_; }
  node_id self() const { return self_; }

private:
  node_id self_;
  uint64_t last_;
};

} // namespace blaze
