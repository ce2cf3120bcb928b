// Operations: the unit of replication (schema/operation.capnp in memory).
#pragma once

#include "core/ids.hpp"
#include "core/timestamp.hpp"
#include "core/value.hpp"

#include <string>
#include <vector>

namespace blaze {

/// One field mutation inside an upsert.
struct field_op {
  enum class kind : uint8_t { set, increment, add, remove };
  std::string field;
  kind k = kind::set;
  value val;                 // set: the value; add/remove: the element
  int64_t delta = 0;         // increment
  timestamp base;            // set: the timestamp of the value it overwrote
  std::vector<dot> observed; // remove: the tags it observed
};

/// A delete's observation of one counter field's totals from one origin.
struct counter_observation {
  std::string field;
  node_id origin;
  uint64_t positive = 0;
  uint64_t negative = 0;
};

/// One database's share of a cross-database transaction: its name and the
/// number of operations the transaction wrote there.
struct txn_part {
  std::string database;
  uint32_t ops = 0;
  auto operator<=>(const txn_part&) const = default;
};

/// The transaction an operation belongs to (core/transaction.hpp): its id
/// (zero: none) and all of its parts.
struct txn_tag {
  id128 id;
  std::vector<txn_part> parts;
  bool empty() const { return id.is_zero(); }
  auto operator<=>(const txn_tag&) const = default;
};

struct operation {
  enum class kind : uint8_t { upsert, remove_record, create_index, drop_index,
                              sealed };  // sealed: E2E payload, core/sealed_op.hpp
  dot id;
  uint64_t counter = 0;  // HLC counter; the timestamp's node is id.origin
  std::string collection;
  record_id record;
  kind k = kind::upsert;
  std::vector<field_op> fields;                // upsert
  std::vector<counter_observation> observed;   // remove_record
  std::string index_field;                     // create_index / drop_index
  std::string sealed_box{};                    // sealed: crypto::seal output (opaque
                                               // here; core/sealed_op.hpp opens it)
  txn_tag txn;                                 // cross-database transaction (empty: none)

  timestamp time() const { return {counter, id.origin}; }
};

const char* kind_name(operation::kind k);

} // namespace blaze
