// Sealed operations (core/sealed_op.hpp): round trips of every kind, a bit
// flip at every bit of sample encodings, moving a box elsewhere, wrong keys,
// inner parts that contradict the outer, and the size of a one-field update.
#include <boost/test/unit_test.hpp>

#include "tests/core/test_util.hpp"

#include "core/codec.hpp"
#include "core/crypto/content_key.hpp"
#include "core/crypto/wire.hpp"
#include "core/sealed_op.hpp"
#include "core/write.hpp"

#include <limits>
#include <random>

using namespace blaze;
using namespace blaze::test;

namespace {

const std::string db = "photos@0123456789abcdef0123456789abcdef";

crypto::content_key key_of(char fill, uint32_t epoch) {
  return crypto::content_key(std::move(*crypto::secret_bytes<32>::from(std::string(32, fill))), epoch);
}

crypto::aes256gcm::nonce fixed_iv() {
  crypto::aes256gcm::nonce iv{};
  for (size_t i = 0; i < iv.size(); ++i)
    iv[i] = static_cast<uint8_t>(0x51 + 7 * i);
  return iv;
}

// A node id as a real one looks (16 random-looking bytes).
node_id real_node(uint64_t n) { return {0x9e3779b97f4a7c15ull * (n + 1), 0xc2b2ae3d27d4eb4full * (n + 3)}; }

std::vector<operation> sample_operations() {
  std::vector<operation> ops;
  const uint64_t hlc = (uint64_t{1'700'000'000'000} << 16) | 5;
  auto up = upsert(real_node(1), 3, hlc, rec(42), "people");
  with_set(up, "name", value{"ann"}, timestamp{99, real_node(2)});
  with_set(up, "blob", value{bytes{std::string("\0\x01\xff", 3)}});
  with_set(up, "nested", value{value_map{{"k", value{value_array{value{1}, value{2.5}}}}}});
  with_increment(up, "n", std::numeric_limits<int64_t>::min());
  with_add(up, "tags", value{"t"});
  with_remove(up, "tags", value{"u"}, {dot{real_node(1), 1}, dot{real_node(2), 99}});
  ops.push_back(up);
  ops.push_back(upsert(real_node(1), 1, hlc + 1, rec(7), "people"));  // empty upsert
  ops.push_back(remove_record(real_node(2), 5, hlc + 2, {{"n", real_node(7), 10, 3}}));
  ops.push_back(remove_record(real_node(2), 6, hlc + 3));
  auto ci = upsert(real_node(3), 1, hlc + 4, {}, "people");
  ci.k = operation::kind::create_index;
  ci.index_field = "age";
  ops.push_back(ci);
  auto di = ci;
  di.id.seq = 2;
  di.k = operation::kind::drop_index;
  ops.push_back(di);
  return ops;
}

// A one-field update as an application makes it: 16-byte random record id,
// a boolean set over a base written by another node.
operation one_field_update() {
  const uint64_t hlc = (uint64_t{1'764'000'000'000} << 16) | 3;
  auto op = upsert(real_node(11), 1234, hlc, record_id{0x1f2e3d4c5b6a7988ull, 0x0123456789abcdefull}, "todos");
  with_set(op, "done", value{true}, timestamp{hlc - 70000, real_node(12)});
  return op;
}

std::string raw(std::initializer_list<int> b) {
  std::string s;
  for (int c : b)
    s.push_back(static_cast<char>(c));
  return s;
}

operation sealed_of(const operation& plain, const crypto::content_key& key, const std::string& database = db) {
  auto s = seal_operation(plain, key, database, fixed_iv());
  BOOST_REQUIRE(s.ok());
  return *s;
}

} // namespace

BOOST_AUTO_TEST_SUITE(sealed_operations)

BOOST_AUTO_TEST_CASE(codec_round_trips_the_sealed_arm) {
  operation op;
  op.id = {real_node(1), 9};
  op.counter = 77;
  op.collection = "c";
  op.k = operation::kind::sealed;
  op.sealed_box = std::string("\x01\x00\x00\x00\x01 any bytes \0 \xff", 19);
  auto back = decode_operation(encode(op));
  BOOST_REQUIRE(back.ok());
  BOOST_TEST(back->k == operation::kind::sealed);
  BOOST_TEST(back->sealed_box == op.sealed_box);
  BOOST_TEST(back->id == op.id);
  BOOST_TEST(back->counter == op.counter);
  BOOST_TEST(back->collection == op.collection);
  BOOST_TEST(encode(*back) == encode(op));
  // Decode limits hold for the sealed arm too: a box far larger than the
  // traversal limit is refused.
  op.sealed_box.assign(100000, 'x');
  decode_limits tight;
  tight.traversal_words = 1000;
  BOOST_TEST(!decode_operation(encode(op), tight).ok());
  BOOST_TEST(decode_operation(encode(op)).ok());
}

BOOST_AUTO_TEST_CASE(every_kind_round_trips) {
  auto key = key_of('k', 1);
  for (auto& plain : sample_operations()) {
    auto sealed = sealed_of(plain, key);
    BOOST_TEST(sealed.k == operation::kind::sealed);
    BOOST_TEST(sealed.id == plain.id);
    BOOST_TEST(sealed.counter == plain.counter);
    BOOST_TEST(sealed.collection == plain.collection);
    BOOST_TEST(sealed.record.is_zero());
    BOOST_TEST(sealed.fields.empty());
    BOOST_TEST(validate(sealed, limits{}).ok());
    // Through the wire encoding and back.
    auto wire = decode_operation(encode(sealed));
    BOOST_REQUIRE(wire.ok());
    auto epoch = sealed_op_epoch(*wire);
    BOOST_REQUIRE(epoch.ok());
    BOOST_TEST(*epoch == 1u);
    auto opened = open_operation(*wire, key, db);
    BOOST_REQUIRE(opened.ok());
    BOOST_TEST(encode(*opened) == encode(plain));
    BOOST_TEST(opened->k == plain.k);
    // A random nonce (the default) round trips too and differs each time.
    auto a = seal_operation(plain, key, db);
    auto b = seal_operation(plain, key, db);
    BOOST_REQUIRE(a.ok());
    BOOST_REQUIRE(b.ok());
    BOOST_TEST(a->sealed_box != b->sealed_box);
    BOOST_TEST(encode(*open_operation(*a, key, db)) == encode(plain));
  }
}

BOOST_AUTO_TEST_CASE(one_field_update_size) {
  auto plain = one_field_update();
  auto key = key_of('k', 1);
  auto sealed = sealed_of(plain, key);
  auto outer = encode(sealed);
  auto inner = encode_sealed_inner(plain);
  BOOST_TEST_MESSAGE("one-field update (16-byte record id, bool set with a base): plaintext encoding "
                     << encode(plain).size() << " B; inner " << inner.size() << " B; box "
                     << sealed.sealed_box.size() << " B (inner + 33); sealed operation encoding " << outer.size()
                     << " B");
  BOOST_TEST(sealed.sealed_box.size() == inner.size() + crypto::sealed_overhead);
  // Guard against regressions of the layout (measured: see the message).
  BOOST_TEST(outer.size() <= 140u);
}

BOOST_AUTO_TEST_CASE(a_bit_flip_anywhere_is_refused_never_a_different_operation) {
  auto key = key_of('k', 1);
  auto samples = sample_operations();
  samples.push_back(one_field_update());
  size_t flips = 0, decoded = 0;
  for (auto& plain : samples) {
    const std::string want = encode(plain);
    const std::string bytes = encode(sealed_of(plain, key));
    for (size_t i = 0; i < bytes.size(); ++i) {
      for (int bit = 0; bit < 8; ++bit) {
        std::string flipped = bytes;
        flipped[i] ^= static_cast<char>(1 << bit);
        ++flips;
        auto op = decode_operation(flipped);
        if (!op.ok())
          continue;
        ++decoded;
        auto opened = open_operation(*op, key, db);
        if (opened.ok()) {
          // Only a flip Cap'n Proto ignores (it decodes to the same message)
          // may open, and then to the very same operation.
          BOOST_TEST(encode(*opened) == want, "byte " << i << " bit " << bit << " opened to another operation");
        } else {
          BOOST_TEST(!opened.error().message.empty());
        }
      }
    }
    // Truncations.
    for (size_t n = 0; n < bytes.size(); ++n) {
      auto op = decode_operation(std::string_view(bytes).substr(0, n));
      if (op.ok())
        BOOST_TEST(!open_operation(*op, key, db).ok(), "truncated to " << n);
    }
  }
  BOOST_TEST_MESSAGE(flips << " flipped encodings, " << decoded << " still decoded, none opened to another operation");
}

BOOST_AUTO_TEST_CASE(moving_a_box_elsewhere_fails) {
  auto key = key_of('k', 1);
  auto sealed = sealed_of(one_field_update(), key);
  BOOST_REQUIRE(open_operation(sealed, key, db).ok());
  auto refused = [&](const operation& op, const std::string& database, const char* what) {
    auto r = open_operation(op, key, database);
    BOOST_TEST(!r.ok(), what);
    if (!r.ok()) {
      BOOST_TEST(r.error().code == errc::corrupt);
      BOOST_TEST(r.error().message.find("sealed operation") != std::string::npos);
    }
  };
  refused(sealed, "photos@ffffffffffffffffffffffffffffffff", "another database");
  auto m = sealed;
  m.collection = "other";
  refused(m, db, "another collection");
  m = sealed;
  m.id.seq += 1;
  refused(m, db, "another seq");
  m = sealed;
  m.id.origin = real_node(99);
  refused(m, db, "another origin");
  m = sealed;
  m.counter += 1;
  refused(m, db, "another timestamp");
  m = sealed;
  m.record = rec(1);
  refused(m, db, "a clear record next to the box");
}

BOOST_AUTO_TEST_CASE(wrong_keys_fail) {
  auto key1 = key_of('k', 1);
  auto sealed = sealed_of(one_field_update(), key1);
  auto other_same_epoch = key_of('j', 1);
  auto r = open_operation(sealed, other_same_epoch, db);
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().code == errc::corrupt);
  auto epoch2 = key_of('k', 2);  // same bytes, another epoch
  r = open_operation(sealed, epoch2, db);
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().code == errc::corrupt);
  BOOST_TEST(r.error().message.find("epoch") != std::string::npos);
  auto sealed2 = sealed_of(one_field_update(), epoch2);
  BOOST_TEST(*sealed_op_epoch(sealed2) == 2u);
  BOOST_TEST(!open_operation(sealed2, key1, db).ok());
  BOOST_TEST(open_operation(sealed2, epoch2, db).ok());
}

BOOST_AUTO_TEST_CASE(refusals_of_bad_input) {
  auto key = key_of('k', 1);
  auto plain = one_field_update();
  // Not sealed: invalid_argument both ways.
  BOOST_TEST(open_operation(plain, key, db).error().code == errc::invalid_argument);
  BOOST_TEST(sealed_op_epoch(plain).error().code == errc::invalid_argument);
  auto sealed = sealed_of(plain, key);
  BOOST_TEST(seal_operation(sealed, key, db).error().code == errc::invalid_argument);
  // validate() on the outer part: no clear record, a box of at least 33 bytes.
  BOOST_TEST(validate(sealed, limits{}).ok());
  auto v = sealed;
  v.record = rec(1);
  BOOST_TEST((validate(v, limits{}).code == errc::invalid_argument));
  v = sealed;
  v.sealed_box.resize(32);
  BOOST_TEST((validate(v, limits{}).code == errc::invalid_argument));
  v = sealed;
  v.sealed_box.resize(limits{}.max_record + 2000);
  BOOST_TEST((validate(v, limits{}).code == errc::too_large));
  // A box too short to name an epoch.
  auto m = sealed;
  m.sealed_box.resize(4);
  BOOST_TEST(sealed_op_epoch(m).error().code == errc::corrupt);
  BOOST_TEST(open_operation(m, key, db).error().code == errc::corrupt);

  // Authenticated inner parts that are malformed (a member holding the key
  // could make them): refused with the reason.
  auto forge = [&](const std::string& inner) {
    operation outer;
    outer.id = plain.id;
    outer.counter = plain.counter;
    outer.collection = plain.collection;
    outer.k = operation::kind::sealed;
    outer.sealed_box = *crypto::seal(key, inner, sealed_op_associated_data(db, outer));
    return outer;
  };
  const std::string good = encode_sealed_inner(plain);
  BOOST_TEST(encode(*open_operation(forge(good), key, db)) == encode(plain));
  auto refused = [&](const std::string& inner, const char* why) {
    auto r = open_operation(forge(inner), key, db);
    BOOST_TEST(!r.ok(), why);
    if (!r.ok()) {
      BOOST_TEST(r.error().code == errc::corrupt);
      BOOST_TEST(r.error().message.find(why) != std::string::npos, r.error().message);
    }
  };
  refused("", "truncated");
  refused(good + "x", "trailing bytes");
  refused(good.substr(0, good.size() - 1), "truncated");
  refused(raw({2}) + good.substr(1), "unknown inner format");
  refused(encode(plain), "unknown inner format");  // a Cap'n Proto operation
  refused(raw({1, 7}), "unknown operation kind");
  const std::string head = raw({1, 0}) + std::string(16, 'r');  // format 1, upsert, record
  std::string many = head + raw({0xff, 0xff, 0xff, 0x0f});
  refused(many, "exceeds the input");
  std::string long_varint = raw({1, 2, 0x81, 0x80, 0x00});
  refused(long_varint, "shortest form");
  // Nesting: arrays 40 deep.
  std::string deep = head + raw({1, 1, 'f', 0});
  for (int i = 0; i < 40; ++i)
    deep += raw({9, 1});
  deep += raw({0});
  refused(deep, "nested too deep");
  // Duplicate map keys, unknown tags and flags.
  std::string dup = head + raw({1, 1, 'f', 0, 10, 2, 1, 'k', 0, 1, 'k', 0});
  refused(dup, "duplicate map key");
  std::string tag = head + raw({1, 1, 'f', 0, 11});
  refused(tag, "unknown value tag");
  std::string flags = head + raw({1, 1, 'f', 0x40, 0});
  refused(flags, "unknown field flags");
  std::string base_on_inc = head + raw({1, 1, 'f', 0x15, 1, 2});
  refused(base_on_inc, "base on a field operation other than set");
}

BOOST_AUTO_TEST_CASE(inner_encoding_round_trips_values_exactly) {
  auto op = upsert(real_node(1), 9, 1000, rec(3), "c");
  with_set(op, "i", value{std::numeric_limits<int64_t>::min()});
  with_set(op, "j", value{std::numeric_limits<int64_t>::max()});
  with_set(op, "neg0", value{-0.0});
  with_set(op, "nan", value{std::numeric_limits<double>::quiet_NaN()});
  with_set(op, "t", value{time_point{-5}});
  with_set(op, "u", value{uuid{{1, 2}}});
  with_set(op, "s", value{std::string("nul\0in", 6)});
  with_set(op, "m", value{value_map{{"", value{}}, {"a", value{value_array{value{true}, value{false}}}}}});
  with_set(op, "own-base", value{1}, timestamp{999, real_node(1)});
  with_set(op, "future-base", value{2}, timestamp{5000, real_node(2)});  // base after the op: absolute
  with_increment(op, "d", -7);
  auto back = decode_sealed_inner(encode_sealed_inner(op), op.id, op.counter);
  BOOST_REQUIRE(back.ok());
  back->collection = op.collection;
  BOOST_TEST(encode(*back) == encode(op));
}

BOOST_AUTO_TEST_CASE(mutated_inner_encodings_never_crash) {
  // A quick in-process cousin of fuzz_sealed_op: random byte edits of the
  // sample inner encodings either are refused or re-encode to themselves.
  std::mt19937_64 rng(20261125);
  size_t accepted = 0, total = 0;
  auto samples = sample_operations();
  samples.push_back(one_field_update());
  for (auto& plain : samples) {
    const std::string base = encode_sealed_inner(plain);
    for (int round = 0; round < 3000; ++round) {
      std::string m = base;
      int edits = 1 + static_cast<int>(rng() % 4);
      for (int e = 0; e < edits; ++e) {
        size_t at = rng() % (m.size() + 1);
        switch (rng() % 3) {
          case 0: if (at < m.size()) m[at] = static_cast<char>(rng()); break;
          case 1: m.insert(m.begin() + static_cast<long>(at), static_cast<char>(rng())); break;
          case 2: if (at < m.size()) m.erase(at, 1 + rng() % 3); break;
        }
      }
      ++total;
      auto r = decode_sealed_inner(m, plain.id, plain.counter);
      if (!r.ok()) {
        BOOST_TEST((r.error().code == errc::corrupt));
        continue;
      }
      ++accepted;
      auto again = decode_sealed_inner(encode_sealed_inner(*r), plain.id, plain.counter);
      BOOST_REQUIRE(again.ok());
      BOOST_TEST(encode(*again) == encode(*r));
    }
  }
  BOOST_TEST_MESSAGE(total << " mutated inner encodings, " << accepted << " accepted (and re-encoded exactly)");
}

BOOST_AUTO_TEST_SUITE_END()
