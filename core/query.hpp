// Queries: predicates on fields, ordering and limits, evaluated on documents.
#pragma once

#include "core/ids.hpp"
#include "core/status.hpp"
#include "core/value.hpp"

#include <optional>
#include <string>
#include <vector>

namespace blaze {

enum class cmp : uint8_t { eq, lt, le, gt, ge, in };
const char* to_string(cmp c);
/// Parses "eq", "lt", "le", "gt", "ge", "in".
std::optional<cmp> parse_cmp(std::string_view s);

/// `field op operand`. A missing field reads as null. For `in` the operand
/// is an array and the field must equal one of its elements.
struct predicate {
  std::string field;
  cmp op = cmp::eq;
  value operand;

  bool test(const value_map& doc) const;
};

struct query {
  std::string collection;
  std::vector<predicate> where;  // all must hold
  std::string order_by;          // empty: record id order
  bool descending = false;
  size_t limit = 0;              // 0: no limit

  status validate() const;
};

struct row {
  record_id id;
  value_map doc;
};

/// True when `doc` satisfies every predicate of `q`.
bool matches(const query& q, const value_map& doc);

/// Sorts `rows` by q.order_by (then record id) and cuts to q.limit.
void order_and_limit(const query& q, std::vector<row>& rows);

} // namespace blaze
