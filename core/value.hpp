// The document value model (the seed's BlazeDocumentField) and its total order.
#pragma once

#include "core/ids.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

namespace blaze {

struct value;
using value_array = std::vector<value>;
using value_map = std::map<std::string, value>;

/// Raw bytes, distinct from text.
struct bytes {
  std::string data;
  auto operator<=>(const bytes&) const = default;
};

/// Microseconds since the Unix epoch (a point in time, not an HLC timestamp).
struct time_point {
  int64_t micros = 0;
  auto operator<=>(const time_point&) const = default;
};

/// A uuid value (128 bits).
struct uuid {
  id128 id;
  auto operator<=>(const uuid&) const = default;
};

/// A document value. Values are ordered totally (used for queries, indexes
/// and deterministic tie-breaks): by kind rank null < bool < number < string <
/// bytes < time < uuid < array < map; int64 and double compare numerically.
struct value {
  using variant_type = std::variant<std::monostate, bool, int64_t, double, std::string, bytes,
                                    time_point, uuid, value_array, value_map>;
  enum class kind : uint8_t { null, boolean, integer, real, string, bytes, time, uuid, array, map };

  variant_type v;

  value() = default;
  value(std::nullptr_t) {}
  value(bool b) : v(b) {}
  value(int i) : v(int64_t{i}) {}
  value(int64_t i) : v(i) {}
  value(double d) : v(d) {}
  value(const char* s) : v(std::string(s)) {}
  value(std::string s) : v(std::move(s)) {}
  value(bytes b) : v(std::move(b)) {}
  value(time_point t) : v(t) {}
  value(uuid u) : v(u) {}
  value(value_array a) : v(std::move(a)) {}
  value(value_map m) : v(std::move(m)) {}

  kind type() const { return static_cast<kind>(v.index()); }
  bool is_null() const { return v.index() == 0; }
  template <class T> bool is() const { return std::holds_alternative<T>(v); }
  template <class T> const T& as() const { return std::get<T>(v); }
  template <class T> const T* get_if() const { return std::get_if<T>(&v); }

  /// Approximate encoded size in bytes (for size limits).
  size_t byte_size() const;
};

/// Total order described on `value`. Returns <0, 0, >0.
int compare(const value& a, const value& b);
inline bool operator==(const value& a, const value& b) { return compare(a, b) == 0; }
inline bool operator<(const value& a, const value& b) { return compare(a, b) < 0; }

/// A name for a kind, for messages: "null", "bool", "int", ...
const char* kind_name(value::kind k);

} // namespace blaze
