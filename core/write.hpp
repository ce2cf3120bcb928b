// A local write intent and its translation into an operation (pure).
#pragma once

#include "core/operation.hpp"
#include "core/record.hpp"
#include "core/status.hpp"

#include <string>

namespace blaze {

/// Size limits applied to local writes (and, from the sync issue on, to
/// remote operations). Defaults suit documents, not blobs.
struct limits {
  size_t max_field_name = 256;       // bytes
  size_t max_collection_name = 256;  // bytes
  size_t max_value = 1 << 20;        // bytes, one value
  size_t max_record = 4 << 20;       // bytes, one record's visible fields
  size_t max_depth = 8;              // arrays/maps nested in one value; every
                                     // decoder (codec.hpp) admits this depth
};

/// What a caller asks for. `insert` creates a record (its id chosen by the
/// caller), `update` changes fields of an existing record, `set`/`increment`/
/// `add`/`remove` change one field, `remove_record` deletes it,
/// `create_index`/`drop_index` declare an index on `field`.
struct write {
  enum class kind : uint8_t { insert, update, set, increment, add, remove, remove_record,
                              create_index, drop_index };
  kind k = kind::insert;
  std::string collection;
  record_id record;
  value_map fields;   // insert / update
  std::string field;  // set / increment / add / remove / index
  value val;          // set / add / remove
  int64_t delta = 0;  // increment
  /// insert only: the caller guarantees `record` is a new random id, so the
  /// store may skip looking up its current state.
  bool fresh_id = false;
};

/// Checks names and sizes; does not look at stored state.
status validate(const write& w, const limits& lim);

/// Checks an operation received from elsewhere: names, sizes, kinds.
status validate(const operation& op, const limits& lim);

/// Builds the operation for `w` against the record's current state
/// (`current` null when the record was never seen). Fails with
/// unknown_record when `w` needs a live record and there is none.
result<operation> make_operation(const write& w, const record_state* current, dot id,
                                 uint64_t counter);

} // namespace blaze
