#include "core/query.hpp"

#include <algorithm>

namespace blaze {

const char* to_string(cmp c) {
  switch (c) {
    case cmp::eq: return "eq";
    case cmp::lt: return "lt";
    case cmp::le: return "le";
    case cmp::gt: return "gt";
    case cmp::ge: return "ge";
    case cmp::in: return "in";
  }
  return "?";
}

std::optional<cmp> parse_cmp(std::string_view s) {
  for (cmp c : {cmp::eq, cmp::lt, cmp::le, cmp::gt, cmp::ge, cmp::in})
    if (s == to_string(c))
      return c;
  return std::nullopt;
}

namespace {

bool is_number(const value& x) {
  return x.type() == value::kind::integer || x.type() == value::kind::real;
}

// The order predicates use: the value order, except that numbers equal in
// magnitude (1 and 1.0) compare equal.
int query_compare(const value& a, const value& b) {
  if (is_number(a) && is_number(b) && a.type() != b.type()) {
    int64_t i = a.is<int64_t>() ? a.as<int64_t>() : b.as<int64_t>();
    double d = a.is<double>() ? a.as<double>() : b.as<double>();
    if (d >= -9223372036854775808.0 && d < 9223372036854775808.0 &&
        static_cast<double>(static_cast<int64_t>(d)) == d && static_cast<int64_t>(d) == i)
      return 0;
  }
  return compare(a, b);
}

} // namespace

bool predicate::test(const value_map& doc) const {
  static const value null_value;
  auto it = doc.find(field);
  const value& v = it == doc.end() ? null_value : it->second;
  if (op == cmp::in) {
    for (auto& e : operand.as<value_array>())
      if (query_compare(v, e) == 0)
        return true;
    return false;
  }
  // Range comparisons only hold between values of one kind rank (numbers
  // together): `age lt 30` does not match a string or a missing age.
  int c = query_compare(v, operand);
  auto same_rank = [&] {
    return v.type() == operand.type() || (is_number(v) && is_number(operand));
  };
  switch (op) {
    case cmp::eq: return c == 0;
    case cmp::lt: return same_rank() && c < 0;
    case cmp::le: return same_rank() && c <= 0;
    case cmp::gt: return same_rank() && c > 0;
    case cmp::ge: return same_rank() && c >= 0;
    case cmp::in: break;
  }
  return false;
}

status query::validate() const {
  if (collection.empty())
    return {errc::invalid_argument, "query names no collection"};
  for (auto& p : where) {
    if (p.field.empty())
      return {errc::invalid_argument, "query predicate names no field"};
    if (p.op == cmp::in && !p.operand.is<value_array>())
      return {errc::invalid_argument, "'in' needs an array operand for field '" + p.field + "'"};
  }
  return {};
}

bool matches(const query& q, const value_map& doc) {
  for (auto& p : q.where)
    if (!p.test(doc))
      return false;
  return true;
}

void order_and_limit(const query& q, std::vector<row>& rows) {
  static const value null_value;
  auto key = [&](const row& r) -> const value& {
    auto it = r.doc.find(q.order_by);
    return it == r.doc.end() ? null_value : it->second;
  };
  auto less = [&](const row& a, const row& b) {
    if (!q.order_by.empty()) {
      int c = compare(key(a), key(b));
      if (c != 0)
        return q.descending ? c > 0 : c < 0;
    }
    return q.descending ? b.id < a.id : a.id < b.id;
  };
  if (q.limit && q.limit < rows.size()) {
    std::partial_sort(rows.begin(), rows.begin() + static_cast<long>(q.limit), rows.end(), less);
    rows.resize(q.limit);
  } else {
    std::sort(rows.begin(), rows.end(), less);
  }
}

} // namespace blaze
