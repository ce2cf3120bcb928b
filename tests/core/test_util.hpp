// Shared helpers for the core test suites: printers so Boost.Test can show
// core types in failure messages, and small constructors for operations.
#pragma once

#include "core/codec.hpp"
#include "core/json.hpp"
#include "core/operation.hpp"
#include "core/record.hpp"
#include "core/timestamp.hpp"
#include "core/value.hpp"

#include <ostream>
#include <string>
#include <vector>

namespace blaze {

// Boost.Test looks these up by ADL when printing operands of BOOST_TEST.
inline std::ostream& boost_test_print_type(std::ostream& os, const value& v) {
  return os << to_json(v).dump();
}
inline std::ostream& boost_test_print_type(std::ostream& os, const value_map& m) {
  return os << to_json(m).dump();
}
inline std::ostream& boost_test_print_type(std::ostream& os, const id128& x) {
  return os << x.to_hex();
}
inline std::ostream& boost_test_print_type(std::ostream& os, const timestamp& t) {
  return os << "(" << t.counter << ", " << t.node.to_hex() << ")";
}
inline std::ostream& boost_test_print_type(std::ostream& os, const dot& d) {
  return os << d.origin.to_hex() << ":" << d.seq;
}
inline std::ostream& boost_test_print_type(std::ostream& os, const errc& e) {
  return os << to_string(e);
}
inline std::ostream& boost_test_print_type(std::ostream& os, const field_kind& k) {
  return os << kind_name(k);
}
inline std::ostream& boost_test_print_type(std::ostream& os, const operation::kind& k) {
  return os << kind_name(k);
}
inline std::ostream& boost_test_print_type(std::ostream& os, const value::kind& k) {
  return os << kind_name(k);
}

} // namespace blaze

namespace blaze::test {

inline node_id node(uint64_t n) { return {0, n}; }
inline record_id rec(uint64_t n) { return {0xabc, n}; }

/// An empty upsert with dot (origin, seq) and HLC counter `counter`.
inline operation upsert(node_id origin, uint64_t seq, uint64_t counter, record_id r = rec(1),
                        std::string collection = "c") {
  operation op;
  op.id = {origin, seq};
  op.counter = counter;
  op.collection = std::move(collection);
  op.record = r;
  op.k = operation::kind::upsert;
  return op;
}

inline operation& with_set(operation& op, std::string field, value v, timestamp base = {}) {
  field_op fo;
  fo.field = std::move(field);
  fo.k = field_op::kind::set;
  fo.val = std::move(v);
  fo.base = base;
  op.fields.push_back(std::move(fo));
  return op;
}

inline operation& with_increment(operation& op, std::string field, int64_t delta) {
  field_op fo;
  fo.field = std::move(field);
  fo.k = field_op::kind::increment;
  fo.delta = delta;
  op.fields.push_back(std::move(fo));
  return op;
}

inline operation& with_add(operation& op, std::string field, value element) {
  field_op fo;
  fo.field = std::move(field);
  fo.k = field_op::kind::add;
  fo.val = std::move(element);
  op.fields.push_back(std::move(fo));
  return op;
}

inline operation& with_remove(operation& op, std::string field, value element,
                              std::vector<dot> observed) {
  field_op fo;
  fo.field = std::move(field);
  fo.k = field_op::kind::remove;
  fo.val = std::move(element);
  fo.observed = std::move(observed);
  op.fields.push_back(std::move(fo));
  return op;
}

inline operation remove_record(node_id origin, uint64_t seq, uint64_t counter,
                               std::vector<counter_observation> observed = {},
                               record_id r = rec(1), std::string collection = "c") {
  operation op = upsert(origin, seq, counter, r, std::move(collection));
  op.k = operation::kind::remove_record;
  op.observed = std::move(observed);
  return op;
}

/// The canonical encoding of a record state: equal encodings, equal states.
inline std::string state_bytes(const record_state& s) { return encode(s); }

} // namespace blaze::test
