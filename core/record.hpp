// The materialized CRDT state of one record and the pure merge of operations
// into it (DESIGN §4). The state is a deterministic function of the set of
// operations applied, whatever their order, given each is applied once.
#pragma once

#include "core/lww_register.hpp"
#include "core/operation.hpp"
#include "core/or_set.hpp"
#include "core/pn_counter.hpp"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace blaze {

/// The CRDT kind a field has: chosen by the earliest operation on it.
enum class field_kind : uint8_t { none, lww, counter, elements };
const char* kind_name(field_kind k);

/// A concurrent LWW write that lost: recorded for the inspection API.
struct conflict {
  std::string collection;
  record_id record;
  std::string field;
  value winner;
  timestamp winner_ts;
  value loser;
  timestamp loser_ts;
};

struct field_state {
  // Earliest timestamp per kind (zero: none). The kind with the earliest
  // first operation wins (ties: lww < counter < elements); operations of the
  // other kinds are kept, but ignored when reading.
  timestamp first_set, first_counter, first_elements;
  // Latest counter / element operation, for visibility after a delete.
  timestamp last_counter, last_elements;
  lww_register lww;
  or_set set;
  pn_counter counter;

  field_kind kind() const;
};

struct record_state {
  timestamp last_write;  // highest upsert timestamp
  timestamp deleted_at;  // highest delete timestamp
  std::map<std::string, field_state> fields;

  /// A record exists when a write is newer than its latest delete.
  bool alive() const { return last_write > deleted_at; }

  /// The document a reader sees: every visible field's value. Fields whose
  /// last write is not newer than the latest delete stay deleted.
  value_map view() const;
  /// One visible field, or nullopt.
  std::optional<value> field(const std::string& name) const;
};

/// Applies `op` (an upsert or a record delete on this record) to `state`.
/// Concurrent LWW writes that lose are appended to `conflicts` if non-null.
void apply(record_state& state, const operation& op, std::vector<conflict>* conflicts = nullptr);

} // namespace blaze
