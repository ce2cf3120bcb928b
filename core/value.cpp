#include "core/value.hpp"

#include <cmath>

namespace blaze {

namespace {

int rank(const value& x) {
  switch (x.type()) {
    case value::kind::null: return 0;
    case value::kind::boolean: return 1;
    case value::kind::integer:
    case value::kind::real: return 2;
    case value::kind::string: return 3;
    case value::kind::bytes: return 4;
    case value::kind::time: return 5;
    case value::kind::uuid: return 6;
    case value::kind::array: return 7;
    case value::kind::map: return 8;
  }
  return 9;
}

template <class T> int cmp3(const T& a, const T& b) {
  return a < b ? -1 : (b < a ? 1 : 0);
}

// Numeric comparison of int64 and double without precision loss; NaN sorts
// above every number and equal to itself, so the order stays total.
int compare_numbers(const value& a, const value& b) {
  auto ai = a.get_if<int64_t>();
  auto bi = b.get_if<int64_t>();
  if (ai && bi)
    return cmp3(*ai, *bi);
  if (!ai && !bi) {
    double x = a.as<double>(), y = b.as<double>();
    bool xn = std::isnan(x), yn = std::isnan(y);
    if (xn || yn)
      return xn == yn ? 0 : (xn ? 1 : -1);
    if (x == y)  // also +0 == -0; break the tie by sign bit for a strict total order
      return cmp3(std::signbit(y), std::signbit(x));
    return x < y ? -1 : 1;
  }
  // Mixed: int i vs double d.
  int64_t i = ai ? *ai : *bi;
  double d = ai ? b.as<double>() : a.as<double>();
  int sign = ai ? 1 : -1;  // result is for (int, double); flip when (double, int)
  int r;
  if (std::isnan(d))
    r = -1;
  else if (d >= 9223372036854775808.0)
    r = -1;
  else if (d < -9223372036854775808.0)
    r = 1;
  else {
    double t = std::trunc(d);
    auto di = static_cast<int64_t>(t);
    if (i != di)
      r = i < di ? -1 : 1;
    else if (d > t)
      r = -1;
    else if (d < t)
      r = 1;
    else
      r = -1;  // equal magnitude: ints sort before doubles (total order, 1 != 1.0)
  }
  return sign * r;
}

} // namespace

int compare(const value& a, const value& b) {
  int ra = rank(a), rb = rank(b);
  if (ra != rb)
    return ra < rb ? -1 : 1;
  switch (a.type()) {
    case value::kind::null: return 0;
    case value::kind::boolean: return cmp3(a.as<bool>(), b.as<bool>());
    case value::kind::integer:
    case value::kind::real: return compare_numbers(a, b);
    case value::kind::string: return cmp3(a.as<std::string>(), b.as<std::string>());
    case value::kind::bytes: return cmp3(a.as<bytes>().data, b.as<bytes>().data);
    case value::kind::time: return cmp3(a.as<time_point>(), b.as<time_point>());
    case value::kind::uuid: return cmp3(a.as<uuid>().id, b.as<uuid>().id);
    case value::kind::array: {
      auto& x = a.as<value_array>();
      auto& y = b.as<value_array>();
      for (size_t i = 0; i < x.size() && i < y.size(); ++i)
        if (int c = compare(x[i], y[i]))
          return c;
      return cmp3(x.size(), y.size());
    }
    case value::kind::map: {
      auto& x = a.as<value_map>();
      auto& y = b.as<value_map>();
      auto i = x.begin();
      auto j = y.begin();
      for (; i != x.end() && j != y.end(); ++i, ++j) {
        if (int c = cmp3(i->first, j->first))
          return c;
        if (int c = compare(i->second, j->second))
          return c;
      }
      return cmp3(x.size(), y.size());
    }
  }
  return 0;
}

size_t value::byte_size() const {
  switch (type()) {
    case kind::string: return 8 + as<std::string>().size();
    case kind::bytes: return 8 + as<bytes>().data.size();
    case kind::uuid: return 16;
    case kind::array: {
      size_t n = 8;
      for (auto& e : as<value_array>())
        n += e.byte_size();
      return n;
    }
    case kind::map: {
      size_t n = 8;
      for (auto& [k, e] : as<value_map>())
        n += 8 + k.size() + e.byte_size();
      return n;
    }
    default: return 8;
  }
}

const char* kind_name(value::kind k) {
  static constexpr const char* names[] = {"null",  "bool", "int",  "double", "string",
                                          "bytes", "time", "uuid", "array",  "map"};
  return names[static_cast<int>(k)];
}

} // namespace blaze
