// Whether a secondary index on (collection, field) exists: create and drop
// are replicated operations; the later timestamp wins.
#pragma once

#include "core/operation.hpp"

namespace blaze {

struct index_state {
  timestamp created;
  timestamp dropped;

  bool active() const { return created > dropped; }
  void apply(const operation& op) {
    auto& slot = op.k == operation::kind::create_index ? created : dropped;
    if (op.time() > slot)
      slot = op.time();
  }
  /// Join with another replica's declaration state: the later of each.
  void merge(const index_state& other) {
    if (other.created > created)
      created = other.created;
    if (other.dropped > dropped)
      dropped = other.dropped;
  }
};

} // namespace blaze
