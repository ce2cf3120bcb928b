// Unit tests: identifiers and the total order of values.
#define BOOST_TEST_MODULE core_tests
#include <boost/test/unit_test.hpp>

#include "test_util.hpp"

#include "core/ids.hpp"
#include "core/value.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>

using namespace blaze;

namespace {

int sign(int x) { return (x > 0) - (x < 0); }

const double nan_v = std::numeric_limits<double>::quiet_NaN();
const double inf_v = std::numeric_limits<double>::infinity();

} // namespace

BOOST_AUTO_TEST_SUITE(ids)

BOOST_AUTO_TEST_CASE(hex_round_trip) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 1000; ++i) {
    id128 x{rng(), rng()};
    if (i == 0)
      x = {};
    if (i == 1)
      x = {~uint64_t{0}, ~uint64_t{0}};
    auto h = x.to_hex();
    BOOST_TEST(h.size() == 32u);
    BOOST_TEST(h.find_first_not_of("0123456789abcdef") == std::string::npos);
    auto back = id128::from_hex(h);
    BOOST_REQUIRE(back.has_value());
    BOOST_TEST(*back == x);
  }
  BOOST_TEST(id128{}.to_hex() == std::string(32, '0'));
  BOOST_TEST((id128{0x0123456789abcdefull, 0xfedcba9876543210ull}.to_hex() ==
              "0123456789abcdeffedcba9876543210"));
}

BOOST_AUTO_TEST_CASE(hex_accepts_upper_case) {
  auto x = id128::from_hex("0123456789ABCDEFFEDCBA9876543210");
  BOOST_REQUIRE(x.has_value());
  BOOST_TEST(x->hi == 0x0123456789abcdefull);
  BOOST_TEST(x->lo == 0xfedcba9876543210ull);
}

BOOST_AUTO_TEST_CASE(hex_rejects) {
  std::string good(32, 'a');
  BOOST_TEST(id128::from_hex(good).has_value());
  BOOST_TEST(!id128::from_hex("").has_value());
  BOOST_TEST(!id128::from_hex(std::string(31, 'a')).has_value());
  BOOST_TEST(!id128::from_hex(std::string(33, 'a')).has_value());
  BOOST_TEST(!id128::from_hex(std::string(64, 'a')).has_value());
  BOOST_TEST(!id128::from_hex("0x" + std::string(30, 'a')).has_value());
  BOOST_TEST(!id128::from_hex(" " + std::string(31, 'a')).has_value());
  for (char bad : {'g', 'G', 'z', '-', ' ', '\0', '/', ':', '@', '`', '\xff'}) {
    for (size_t pos : {size_t{0}, size_t{15}, size_t{16}, size_t{31}}) {
      std::string s = good;
      s[pos] = bad;
      BOOST_TEST(!id128::from_hex(s).has_value(), "char " << int(bad) << " at " << pos);
    }
  }
}

BOOST_AUTO_TEST_CASE(bytes_round_trip_big_endian) {
  id128 x{0x0102030405060708ull, 0x090a0b0c0d0e0f10ull};
  unsigned char buf[16];
  x.to_bytes(buf);
  for (int i = 0; i < 16; ++i)
    BOOST_TEST(int(buf[i]) == i + 1);
  BOOST_TEST(id128::from_bytes(buf) == x);
}

BOOST_AUTO_TEST_CASE(ordered_as_unsigned_integer) {
  BOOST_TEST((id128{0, ~uint64_t{0}} < id128{1, 0}));
  BOOST_TEST((id128{1, 0} < id128{1, 1}));
  BOOST_TEST((id128{0x8000000000000000ull, 0} > id128{0x7fffffffffffffffull, ~uint64_t{0}}));
  BOOST_TEST(id128{}.is_zero());
  BOOST_TEST(!(id128{0, 1}.is_zero()));
  // dots order by origin, then seq
  BOOST_TEST((dot{{0, 1}, 5} < dot{{0, 2}, 1}));
  BOOST_TEST((dot{{0, 1}, 5} < dot{{0, 1}, 6}));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(value_order)

BOOST_AUTO_TEST_CASE(kind_ranks) {
  // One value of each kind, in rank order; numbers share a rank.
  std::vector<value> v = {
    value{},
    value{true},
    value{std::numeric_limits<int64_t>::max()},
    value{inf_v},
    value{nan_v},
    value{""},
    value{bytes{""}},
    value{time_point{std::numeric_limits<int64_t>::min()}},
    value{uuid{{0, 0}}},
    value{value_array{}},
    value{value_map{}},
  };
  // The smallest of each rank is greater than the largest of the one below.
  BOOST_TEST(compare(value{}, value{false}) < 0);
  BOOST_TEST(compare(value{true}, value{-inf_v}) < 0);
  BOOST_TEST(compare(value{true}, value{std::numeric_limits<int64_t>::min()}) < 0);
  BOOST_TEST(compare(value{nan_v}, value{""}) < 0);
  BOOST_TEST(compare(value{std::numeric_limits<int64_t>::max()}, value{""}) < 0);
  BOOST_TEST(compare(value{std::string(100, '\xff')}, value{bytes{""}}) < 0);
  BOOST_TEST(compare(value{bytes{std::string(100, '\xff')}}, value{time_point{INT64_MIN}}) < 0);
  BOOST_TEST(compare(value{time_point{INT64_MAX}}, value{uuid{{0, 0}}}) < 0);
  BOOST_TEST(compare(value{uuid{{~0ull, ~0ull}}}, value{value_array{}}) < 0);
  BOOST_TEST(compare(value{value_array{value{value_map{{"z", value{1}}}}}}, value{value_map{}}) < 0);
  for (size_t i = 0; i < v.size(); ++i)
    for (size_t j = 0; j < v.size(); ++j)
      BOOST_TEST(sign(compare(v[i], v[j])) == (i < j ? -1 : (i > j ? 1 : 0)),
                 "i=" << i << " j=" << j);
  for (auto& x : v)
    BOOST_TEST(kind_name(x.type()) != std::string("?"));
  BOOST_TEST(kind_name(value::kind::integer) == std::string("int"));
  BOOST_TEST(kind_name(value::kind::map) == std::string("map"));
}

BOOST_AUTO_TEST_CASE(scalars_within_a_rank) {
  BOOST_TEST(compare(value{false}, value{true}) < 0);
  BOOST_TEST(compare(value{true}, value{true}) == 0);
  BOOST_TEST(compare(value{-5}, value{3}) < 0);
  BOOST_TEST(compare(value{INT64_MIN}, value{INT64_MAX}) < 0);
  BOOST_TEST(compare(value{"a"}, value{"b"}) < 0);
  BOOST_TEST(compare(value{"a"}, value{"ab"}) < 0);
  BOOST_TEST(compare(value{""}, value{"a"}) < 0);
  // strings and bytes compare as unsigned bytes
  BOOST_TEST(compare(value{"\x7f"}, value{"\x80"}) < 0);
  BOOST_TEST(compare(value{std::string("a\0b", 3)}, value{"a\x01"}) < 0);
  BOOST_TEST(compare(value{bytes{"\x01"}}, value{bytes{"\xfe"}}) < 0);
  BOOST_TEST(compare(value{time_point{-1}}, value{time_point{0}}) < 0);
  BOOST_TEST(compare(value{uuid{{0, 5}}}, value{uuid{{1, 0}}}) < 0);
}

BOOST_AUTO_TEST_CASE(int_versus_double) {
  BOOST_TEST(compare(value{1}, value{1.5}) < 0);
  BOOST_TEST(compare(value{1.5}, value{2}) < 0);
  BOOST_TEST(compare(value{2}, value{1.5}) > 0);
  BOOST_TEST(compare(value{-1}, value{-0.5}) < 0);
  BOOST_TEST(compare(value{-1}, value{-1.5}) > 0);
  // Equal magnitude: distinct values, ints first (the order stays total).
  BOOST_TEST(compare(value{1}, value{1.0}) < 0);
  BOOST_TEST(compare(value{1.0}, value{1}) > 0);
  BOOST_TEST(compare(value{1.0}, value{2}) < 0);
  BOOST_TEST(!(value{1} == value{1.0}));
  // Exact comparison beyond 2^53, where doubles cannot hold every integer.
  const int64_t p53 = int64_t{1} << 53;
  BOOST_TEST(compare(value{p53 + 1}, value{static_cast<double>(p53)}) > 0);
  BOOST_TEST(compare(value{p53 + 1}, value{static_cast<double>(p53 + 2)}) < 0);
  BOOST_TEST(compare(value{INT64_MAX}, value{9223372036854775808.0}) < 0);  // 2^63
  BOOST_TEST(compare(value{INT64_MIN}, value{-9223372036854775808.0}) < 0);  // same magnitude
  BOOST_TEST(compare(value{INT64_MIN}, value{-9223372036854777856.0}) > 0);  // next double down
  BOOST_TEST(compare(value{INT64_MAX}, value{9223372036854774784.0}) > 0);   // largest double < 2^63
  BOOST_TEST(compare(value{INT64_MAX}, value{inf_v}) < 0);
  BOOST_TEST(compare(value{INT64_MIN}, value{-inf_v}) > 0);
  BOOST_TEST(compare(value{-inf_v}, value{INT64_MIN}) < 0);
}

BOOST_AUTO_TEST_CASE(nan_and_signed_zero) {
  BOOST_TEST(compare(value{nan_v}, value{nan_v}) == 0);
  BOOST_TEST(compare(value{nan_v}, value{-nan_v}) == 0);
  BOOST_TEST(compare(value{nan_v}, value{inf_v}) > 0);
  BOOST_TEST(compare(value{inf_v}, value{nan_v}) < 0);
  BOOST_TEST(compare(value{nan_v}, value{INT64_MAX}) > 0);
  BOOST_TEST(compare(value{INT64_MAX}, value{nan_v}) < 0);
  BOOST_TEST(compare(value{INT64_MIN}, value{nan_v}) < 0);
  BOOST_TEST(compare(value{nan_v}, value{""}) < 0);
  // -0 and +0: equal numbers, ordered by sign for a strict total order.
  BOOST_TEST(compare(value{-0.0}, value{0.0}) < 0);
  BOOST_TEST(compare(value{0.0}, value{-0.0}) > 0);
  BOOST_TEST(compare(value{-0.0}, value{-0.0}) == 0);
  BOOST_TEST(compare(value{0}, value{-0.0}) < 0);
  BOOST_TEST(compare(value{0}, value{0.0}) < 0);
  BOOST_TEST(compare(value{-1}, value{-0.0}) < 0);
  BOOST_TEST(compare(value{-0.0}, value{1}) < 0);
  BOOST_TEST(compare(value{-1e-300}, value{-0.0}) < 0);
  BOOST_TEST(compare(value{0.0}, value{1e-300}) < 0);
}

BOOST_AUTO_TEST_CASE(arrays_lexicographic) {
  auto arr = [](std::initializer_list<value> l) { return value{value_array(l)}; };
  BOOST_TEST(compare(arr({}), arr({value{}})) < 0);
  BOOST_TEST(compare(arr({1}), arr({1, 0})) < 0);
  BOOST_TEST(compare(arr({1, 2}), arr({2})) < 0);
  BOOST_TEST(compare(arr({1, 2}), arr({1, 2})) == 0);
  BOOST_TEST(compare(arr({1, "x"}), arr({1, 2})) > 0);
  BOOST_TEST(compare(arr({arr({1})}), arr({arr({1, 1})})) < 0);
  BOOST_TEST(compare(arr({1}), arr({1.0})) < 0);
}

BOOST_AUTO_TEST_CASE(maps_by_entries) {
  auto map = [](std::initializer_list<std::pair<const std::string, value>> l) {
    return value{value_map(l)};
  };
  BOOST_TEST(compare(map({}), map({{"a", value{}}})) < 0);
  BOOST_TEST(compare(map({{"a", 1}}), map({{"a", 2}})) < 0);
  BOOST_TEST(compare(map({{"a", 9}}), map({{"b", 0}})) < 0);
  BOOST_TEST(compare(map({{"a", 1}}), map({{"a", 1}, {"b", 0}})) < 0);
  BOOST_TEST(compare(map({{"a", 1}, {"b", 2}}), map({{"a", 1}, {"b", 2}})) == 0);
  BOOST_TEST(compare(map({{"b", 0}}), map({{"a", 1}, {"b", 2}})) > 0);
}

BOOST_AUTO_TEST_CASE(total_order_laws_on_random_values) {
  std::mt19937_64 rng(11);
  std::vector<value> pool = {value{},       value{false},  value{true}, value{0},      value{-0.0},
                             value{0.0},    value{1},      value{1.0},  value{-1},     value{-1.0},
                             value{nan_v},  value{inf_v},  value{-inf_v}, value{INT64_MIN},
                             value{INT64_MAX}, value{9223372036854775808.0},
                             value{-9223372036854775808.0}, value{""}, value{"a"},
                             value{std::string("a\0", 2)}, value{bytes{""}}, value{bytes{"a"}},
                             value{time_point{0}}, value{uuid{{0, 1}}}};
  for (int i = 0; i < 80; ++i) {
    switch (rng() % 6) {
      case 0: pool.push_back(value{static_cast<int64_t>(rng() % 9) - 4}); break;
      case 1: pool.push_back(value{(static_cast<int>(rng() % 17) - 8) / 2.0}); break;
      case 2: pool.push_back(value{std::string(rng() % 3, static_cast<char>('a' + rng() % 2))}); break;
      case 3: pool.push_back(value{value_array{value{static_cast<int64_t>(rng() % 3)}, value{rng() % 2 == 0}}}); break;
      case 4: pool.push_back(value{value_map{{std::string(1, static_cast<char>('a' + rng() % 2)), value{static_cast<int64_t>(rng() % 2)}}}}); break;
      case 5: pool.push_back(value{static_cast<int64_t>(rng())}); break;
    }
  }
  for (auto& a : pool) {
    BOOST_TEST(compare(a, a) == 0);
    for (auto& b : pool) {
      BOOST_TEST(sign(compare(a, b)) == -sign(compare(b, a)));
      for (auto& c : pool) {
        int ab = compare(a, b), bc = compare(b, c), ac = compare(a, c);
        if (ab <= 0 && bc <= 0 && !(ac <= 0))
          BOOST_ERROR("transitivity fails: " << to_json(a).dump() << " " << to_json(b).dump()
                                             << " " << to_json(c).dump());
        if (ab == 0 && sign(bc) != sign(ac))
          BOOST_ERROR("equality not substitutable: " << to_json(a).dump() << " "
                                                      << to_json(b).dump());
      }
    }
  }
  // operator< is a strict weak order usable by std::sort / std::map
  std::sort(pool.begin(), pool.end());
  BOOST_TEST(std::is_sorted(pool.begin(), pool.end()));
}

BOOST_AUTO_TEST_CASE(byte_size) {
  BOOST_TEST(value{}.byte_size() == 8u);
  BOOST_TEST(value{"abc"}.byte_size() == 11u);
  BOOST_TEST(value{bytes{"abcd"}}.byte_size() == 12u);
  BOOST_TEST(value{uuid{}}.byte_size() == 16u);
  BOOST_TEST((value{value_array{value{"ab"}, value{1}}}.byte_size() == 8u + 10u + 8u));
  BOOST_TEST((value{value_map{{"k", value{"ab"}}}}.byte_size() == 8u + 8u + 1u + 10u));
}

BOOST_AUTO_TEST_SUITE_END()
