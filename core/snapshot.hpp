// What a snapshot carries (DESIGN §5, docs/protocol.md §5a): record states
// and index declarations, plain data shared by the sync codec and storage.
#pragma once

#include "core/ids.hpp"
#include "core/timestamp.hpp"

#include <string>

namespace blaze {

/// One record of a snapshot: its complete CRDT state, encode(record_state).
struct snapshot_entry {
  std::string collection;
  record_id record;
  std::string state;
  bool operator==(const snapshot_entry&) const = default;
};

/// One index declaration of a snapshot (index_state: the later wins).
struct index_decl {
  std::string collection;
  std::string field;
  timestamp created;  // zero: never
  timestamp dropped;  // zero: never
  bool operator==(const index_decl&) const = default;
};

} // namespace blaze
