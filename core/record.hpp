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

/// State joins (snapshots, DESIGN §5): `merge(into, other)` makes `into` the
/// state of the union of the operations behind both. Commutative,
/// associative and idempotent; exact when, per origin, each side applied a
/// prefix of that origin's operations (what replicas hold: version vectors
/// are per-origin prefixes). Conflicts are not recorded (they are local
/// observations).
///
/// With `into_has`/`other_has` (the version vectors of the two sides) a
/// PN-counter's per-origin totals are taken from the side holding the longer
/// prefix; without them the larger total is taken, which differs only when
/// a total wrapped around 2^64 (increments of ±2^63 do that).
void merge(field_state& into, const field_state& other, const version_vector* into_has = nullptr,
           const version_vector* other_has = nullptr);
void merge(record_state& into, const record_state& other, const version_vector* into_has = nullptr,
           const version_vector* other_has = nullptr);

/// The highest HLC counter in a state (a replica's clock must move past it
/// when it takes the state from a snapshot).
uint64_t highest_counter(const record_state& r);

/// Applies `op` (an upsert or a record delete on this record) to `state`.
/// Concurrent LWW writes that lose are appended to `conflicts` if non-null.
void apply(record_state& state, const operation& op, std::vector<conflict>* conflicts = nullptr);

} // namespace blaze
