// Unit tests: Cap'n Proto encodings round trip, and decoders survive bad bytes.
#include <boost/test/unit_test.hpp>

#include "test_util.hpp"

#include "core/codec.hpp"
#include "core/record.hpp"
#include "core/write.hpp"

#include <capnp/serialize-packed.h>
#include <kj/io.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>

using namespace blaze;
using namespace blaze::test;

namespace {

std::vector<value> sample_values() {
  const double nan_v = std::numeric_limits<double>::quiet_NaN();
  const double inf_v = std::numeric_limits<double>::infinity();
  return {
    value{},
    value{false},
    value{true},
    value{0},
    value{std::numeric_limits<int64_t>::min()},
    value{std::numeric_limits<int64_t>::max()},
    value{-1},
    value{0.0},
    value{-0.0},
    value{1.5},
    value{nan_v},
    value{inf_v},
    value{-inf_v},
    value{std::numeric_limits<double>::denorm_min()},
    value{""},
    value{"hello"},
    value{std::string("nul\0inside", 10)},
    value{"h\xc3\xa9llo \xe2\x9c\x93"},
    value{std::string(5000, 'z')},
    value{bytes{""}},
    value{bytes{std::string("\0\x01\xff", 3)}},
    value{time_point{0}},
    value{time_point{std::numeric_limits<int64_t>::min()}},
    value{time_point{1'700'000'000'000'000}},
    value{uuid{{0x0123456789abcdefull, 0xfedcba9876543210ull}}},
    value{value_array{}},
    value{value_array{value{1}, value{"two"}, value{value_array{value{}, value{3.0}}}}},
    value{value_map{}},
    value{value_map{{"a", value{1}},
                    {"", value{"empty key"}},
                    {"nested", value{value_map{{"x", value{value_array{value{true}}}}}}}}},
  };
}

/// Exact equality, including the sign of zero and NaN payload class.
bool same(const value& a, const value& b) {
  if (a.type() != b.type())
    return false;
  if (a.is<double>()) {
    double x = a.as<double>(), y = b.as<double>();
    if (std::isnan(x) || std::isnan(y))
      return std::isnan(x) && std::isnan(y);
    return x == y && std::signbit(x) == std::signbit(y);
  }
  return compare(a, b) == 0;
}

std::vector<operation> sample_operations() {
  std::vector<operation> ops;
  auto up = upsert(node(7), 3, (uint64_t{1'700'000'000'000} << 16) | 5, rec(42), "people");
  with_set(up, "name", value{"ann"}, timestamp{99, node(8)});
  with_set(up, "nested", value{value_map{{"k", value{value_array{value{1}, value{2.5}}}}}});
  with_increment(up, "n", std::numeric_limits<int64_t>::min());
  with_increment(up, "m", 17);
  with_add(up, "tags", value{"t"});
  with_remove(up, "tags", value{"u"}, {dot{node(1), 1}, dot{node(2), 99}});
  with_remove(up, "tags", value{"v"}, {});
  ops.push_back(up);
  ops.push_back(upsert(node(1), 1, 1));  // empty upsert
  ops.push_back(remove_record(node(2), 5, 77, {{"n", node(7), 10, 3}, {"m", node(8), 0, 1}}));
  ops.push_back(remove_record(node(2), 6, 78));
  auto ci = upsert(node(3), 1, 10, {}, "people");
  ci.k = operation::kind::create_index;
  ci.index_field = "age";
  ops.push_back(ci);
  auto di = ci;
  di.id.seq = 2;
  di.k = operation::kind::drop_index;
  ops.push_back(di);
  return ops;
}

void check_same_operation(const operation& a, const operation& b) {
  BOOST_TEST(a.id == b.id);
  BOOST_TEST(a.counter == b.counter);
  BOOST_TEST(a.collection == b.collection);
  BOOST_TEST(a.record == b.record);
  BOOST_TEST(a.k == b.k);
  BOOST_TEST(a.index_field == b.index_field);
  BOOST_REQUIRE(a.fields.size() == b.fields.size());
  for (size_t i = 0; i < a.fields.size(); ++i) {
    auto& x = a.fields[i];
    auto& y = b.fields[i];
    BOOST_TEST(x.field == y.field);
    BOOST_TEST((x.k == y.k));
    BOOST_TEST(same(x.val, y.val));
    BOOST_TEST(x.delta == y.delta);
    BOOST_TEST(x.base == y.base);
    BOOST_TEST((x.observed == y.observed));
  }
  BOOST_REQUIRE(a.observed.size() == b.observed.size());
  for (size_t i = 0; i < a.observed.size(); ++i) {
    BOOST_TEST(a.observed[i].field == b.observed[i].field);
    BOOST_TEST(a.observed[i].origin == b.observed[i].origin);
    BOOST_TEST(a.observed[i].positive == b.observed[i].positive);
    BOOST_TEST(a.observed[i].negative == b.observed[i].negative);
  }
}

std::vector<record_state> sample_records() {
  std::vector<record_state> out;
  out.emplace_back();  // never written
  record_state s;
  auto ops = sample_operations();
  apply(s, ops[0]);
  out.push_back(s);  // alive, every kind of field
  apply(s, ops[2]);
  out.push_back(s);  // deleted, with cancellations
  auto later = upsert(node(9), 1, uint64_t{1} << 62);
  with_set(later, "name", value{"bob"}, timestamp{99, node(8)});
  with_add(later, "tags", value{value_map{{"x", value{1}}}});
  apply(s, later);
  out.push_back(s);  // resurrected
  return out;
}

/// Decoding must give a value or a `corrupt` status; never throw or crash.
template <class Decode> void expect_ok_or_corrupt(Decode&& decode, std::string_view bytes) {
  auto r = decode(bytes);
  if (!r.ok()) {
    BOOST_TEST(r.error().code == errc::corrupt);
    BOOST_TEST(!r.error().message.empty());
  }
}

template <class Decode> void expect_corrupt(Decode&& decode, std::string_view bytes) {
  auto r = decode(bytes);
  BOOST_TEST(!r.ok(), "decoded " << bytes.size() << " bad bytes");
  if (!r.ok())
    BOOST_TEST(r.error().code == errc::corrupt);
}

auto dec_op = [](std::string_view b) { return decode_operation(b); };
auto dec_rec = [](std::string_view b) { return decode_record(b); };
auto dec_val = [](std::string_view b) { return decode_value(b); };
auto dec_conf = [](std::string_view b) { return decode_conflict(b); };

/// Flips every bit of every byte (one at a time) and every whole byte.
template <class Decode, class Reencode>
void flip_everything(const std::string& good, Decode&& decode, Reencode&& reencode) {
  for (size_t i = 0; i < good.size(); ++i) {
    for (int m : {0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0xff}) {
      std::string b = good;
      b[i] = static_cast<char>(b[i] ^ m);
      auto r = decode(b);
      if (r.ok())
        reencode(*r);  // whatever decoded must be usable
      else if (r.error().code != errc::corrupt)
        BOOST_ERROR("byte " << i << " mask " << m << ": " << r.error().to_string());
    }
  }
}

} // namespace

BOOST_AUTO_TEST_SUITE(codec)

BOOST_AUTO_TEST_CASE(values_round_trip) {
  for (auto& v : sample_values()) {
    auto b = encode(v);
    auto r = decode_value(b);
    BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? std::string() : r.error().message));
    BOOST_TEST(same(*r, v), to_json(v).dump());
    BOOST_TEST(encode(*r) == b);
  }
}

BOOST_AUTO_TEST_CASE(deeply_nested_values) {
  // nesting within the decode limit round trips; beyond it is refused, not a crash
  auto nest = [](int depth) {
    value v{1};
    for (int i = 0; i < depth; ++i)
      v = value{value_array{v}};
    return v;
  };
  auto shallow = nest(10);
  auto r = decode_value(encode(shallow));
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(*r == shallow);
  auto deep = decode_value(encode(nest(200)));
  BOOST_REQUIRE(!deep.ok());
  BOOST_TEST(deep.error().code == errc::corrupt);
}

BOOST_AUTO_TEST_CASE(everything_validation_accepts_decodes) {
  // Values as deep as limits::max_depth round trip in every encoding that
  // carries them: value, operation (set/add/remove), record, conflict.
  limits lim;
  std::vector<value> deepest;
  for (int shape = 0; shape < 3; ++shape) {
    value v{1};
    for (size_t i = 0; i < lim.max_depth; ++i) {
      bool map = shape == 1 || (shape == 2 && i % 2 == 1);
      v = map ? value{value_map{{"k", v}}} : value{value_array{v}};
    }
    deepest.push_back(v);
  }
  for (auto& v : deepest) {
    BOOST_TEST_CONTEXT(to_json(v).dump()) {
      auto dv = decode_value(encode(v));
      BOOST_TEST_REQUIRE(dv.ok());
      BOOST_TEST(*dv == v);
      auto op = upsert(node(1), 1, 10);
      with_set(op, "s", v);
      with_add(op, "e", v);
      with_remove(op, "r", v, {dot{node(2), 1}});
      auto dop = decode_operation(encode(op));
      BOOST_TEST_REQUIRE(dop.ok());
      check_same_operation(*dop, op);
      record_state st;
      apply(st, op);
      auto drec = decode_record(encode(st));
      BOOST_TEST_REQUIRE(drec.ok());
      BOOST_TEST(encode(*drec) == encode(st));
      conflict c{"c", rec(1), "s", v, timestamp{2, node(1)}, v, timestamp{1, node(2)}};
      auto dc = decode_conflict(encode(c));
      BOOST_TEST_REQUIRE(dc.ok());
      BOOST_TEST(dc->winner == v);
    }
  }
}

BOOST_AUTO_TEST_CASE(operations_round_trip) {
  for (auto& op : sample_operations()) {
    auto b = encode(op);
    auto r = decode_operation(b);
    BOOST_REQUIRE(r.ok());
    check_same_operation(*r, op);
    BOOST_TEST(encode(*r) == b);
  }
}

BOOST_AUTO_TEST_CASE(records_round_trip) {
  for (auto& s : sample_records()) {
    auto b = encode(s);
    auto r = decode_record(b);
    BOOST_REQUIRE(r.ok());
    BOOST_TEST(encode(*r) == b);
    BOOST_TEST(r->alive() == s.alive());
    BOOST_TEST(r->last_write == s.last_write);
    BOOST_TEST(r->deleted_at == s.deleted_at);
    BOOST_TEST(r->view() == s.view());
    BOOST_REQUIRE(r->fields.size() == s.fields.size());
    for (auto& [name, f] : s.fields) {
      auto& g = r->fields.at(name);
      BOOST_TEST(g.kind() == f.kind());
      BOOST_TEST((g.counter.entries == f.counter.entries));
      BOOST_TEST(g.set.elements.size() == f.set.elements.size());
      BOOST_TEST(g.set.removed.size() == f.set.removed.size());
      BOOST_TEST(g.lww.ts == f.lww.ts);
      BOOST_TEST(g.lww.base == f.lww.base);
      BOOST_TEST(g.lww.val == f.lww.val);
    }
  }
  // records carry their counters' cancellations
  auto deleted = sample_records()[2];
  auto r = decode_record(encode(deleted));
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r->fields.at("n").counter.entries.at(node(7)).cancelled_positive == 10u);
  BOOST_TEST(r->fields.at("n").counter.entries.at(node(7)).cancelled_negative == 3u);
}

BOOST_AUTO_TEST_CASE(record_encoding_is_canonical) {
  // same operations, different orders: byte-identical encodings
  auto ops = sample_operations();
  record_state a, b;
  for (size_t i = 0; i < 4; ++i)
    apply(a, ops[i]);
  for (size_t i = 4; i-- > 0;)
    apply(b, ops[i]);
  BOOST_TEST(encode(a) == encode(b));
}

BOOST_AUTO_TEST_CASE(conflicts_round_trip) {
  conflict c{"people", rec(5), "name", value{"new"}, timestamp{20, node(2)},
             value{value_array{value{1}}}, timestamp{10, node(1)}};
  auto b = encode(c);
  auto r = decode_conflict(b);
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r->collection == c.collection);
  BOOST_TEST(r->record == c.record);
  BOOST_TEST(r->field == c.field);
  BOOST_TEST(r->winner == c.winner);
  BOOST_TEST(r->winner_ts == c.winner_ts);
  BOOST_TEST(r->loser == c.loser);
  BOOST_TEST(r->loser_ts == c.loser_ts);
  BOOST_TEST(encode(*r) == b);
}

BOOST_AUTO_TEST_CASE(empty_odd_and_truncated_bytes_are_corrupt) {
  auto good_op = encode(sample_operations()[0]);
  auto good_rec = encode(sample_records()[3]);
  auto good_val = encode(sample_values().back());
  for (std::string_view sv : {std::string_view{}, std::string_view("x"), std::string_view("1234567"),
                              std::string_view("123456789")}) {
    expect_corrupt(dec_op, sv);
    expect_corrupt(dec_rec, sv);
    expect_corrupt(dec_val, sv);
    expect_corrupt(dec_conf, sv);
  }
  // every strict prefix, every odd length
  for (size_t n = 0; n < good_op.size(); ++n)
    expect_corrupt(dec_op, std::string_view(good_op).substr(0, n));
  for (size_t n = 0; n < good_rec.size(); ++n)
    expect_corrupt(dec_rec, std::string_view(good_rec).substr(0, n));
  for (size_t n = 0; n < good_val.size(); ++n)
    expect_corrupt(dec_val, std::string_view(good_val).substr(0, n));
  // trailing bytes after a whole message
  expect_corrupt(dec_op, good_op + std::string(8, '\0'));
  expect_corrupt(dec_op, good_op + "x");
  expect_corrupt(dec_rec, good_rec + std::string(8, '\x01'));
  // unaligned input (RocksDB slices carry no alignment guarantee) still decodes
  std::string shifted = "x" + good_op;
  auto r = decode_operation(std::string_view(shifted).substr(1));
  BOOST_REQUIRE(r.ok());
  check_same_operation(*r, sample_operations()[0]);
}

BOOST_AUTO_TEST_CASE(garbage_is_corrupt_or_harmless) {
  std::mt19937_64 rng(3);
  for (int i = 0; i < 3000; ++i) {
    size_t n = rng() % 200;
    std::string b(n, '\0');
    for (auto& c : b)
      c = static_cast<char>(rng());
    if (i % 2 == 0 && n >= 8) {
      // a plausible header: one segment whose size matches the rest
      uint32_t words = static_cast<uint32_t>((n - 8) / 8);
      b.resize(8 + 8 * words);
      b[0] = b[1] = b[2] = b[3] = 0;
      std::memcpy(&b[4], &words, 4);
    }
    expect_ok_or_corrupt(dec_op, b);
    expect_ok_or_corrupt(dec_rec, b);
    expect_ok_or_corrupt(dec_val, b);
    expect_ok_or_corrupt(dec_conf, b);
    if (b.size() % 8 != 0)
      expect_corrupt(dec_op, b);
  }
  // all-zero and all-ones messages
  for (size_t n : {8u, 16u, 64u}) {
    expect_ok_or_corrupt(dec_op, std::string(n, '\0'));
    expect_ok_or_corrupt(dec_op, std::string(n, '\xff'));
    expect_ok_or_corrupt(dec_rec, std::string(n, '\xff'));
  }
}

BOOST_AUTO_TEST_CASE(flipping_every_byte_of_an_operation) {
  for (auto& op : sample_operations()) {
    flip_everything(encode(op), dec_op, [](const operation& o) { (void)encode(o); });
  }
}

BOOST_AUTO_TEST_CASE(flipping_every_byte_of_records_values_conflicts) {
  for (auto& s : sample_records())
    flip_everything(encode(s), dec_rec, [](const record_state& r) {
      (void)encode(r);
      (void)r.view();
    });
  for (auto& v : sample_values())
    if (v.byte_size() < 1000)
      flip_everything(encode(v), dec_val, [](const value& x) { (void)encode(x); });
  conflict c{"people", rec(5), "name", value{"new"}, timestamp{20, node(2)}, value{1},
             timestamp{10, node(1)}};
  flip_everything(encode(c), dec_conf, [](const conflict& x) { (void)encode(x); });
}

BOOST_AUTO_TEST_CASE(random_multi_byte_mutations) {
  std::mt19937_64 rng(5);
  auto ops = sample_operations();
  for (int i = 0; i < 20000; ++i) {
    std::string b = encode(ops[rng() % ops.size()]);
    int k = 1 + static_cast<int>(rng() % 6);
    for (int j = 0; j < k; ++j)
      b[rng() % b.size()] = static_cast<char>(rng());
    auto r = decode_operation(b);
    if (r.ok())
      (void)encode(*r);
    else
      BOOST_TEST(r.error().code == errc::corrupt);
  }
}

namespace {

/// Cap'n Proto words (little-endian, the wire format's byte order), packed
/// as the codec's encodings are.
std::string words(std::initializer_list<uint64_t> ws) {
  std::string out;
  for (uint64_t w : ws)
    for (int i = 0; i < 8; ++i)
      out.push_back(static_cast<char>((w >> (8 * i)) & 0xff));
  return pack_words(out);
}

/// The flat (unpacked) words of an encoding.
std::string flat(const std::string& packed) {
  auto f = unpack_words(packed);
  BOOST_REQUIRE(f.has_value());
  return *f;
}

/// A Value message: an array whose composite list claims `n` elements of
/// zero size (no bytes behind them).
std::string claimed_value_array(uint64_t n) {
  return words({0x0000000500000000ull,   // one segment of 5 words
                0x0001000200000000ull,   // root: struct, 2 data words, 1 pointer
                8, 0,                    // data: discriminant 8 = array
                0x0000000700000001ull,   // list pointer: composite, 0 words
                n << 2});                // tag: n elements of 0 data, 0 pointers
}

/// An Operation message whose upsert list claims `n` zero-sized field ops.
std::string claimed_upsert(uint64_t n) {
  return words({0x0000000800000000ull,   // one segment of 8 words
                0x0004000200000000ull,   // root: struct, 2 data words, 4 pointers
                0, 0,                    // timestamp 0, discriminant 0 = upsert
                0, 0, 0,                 // dot, collection, record: null
                0x0000000700000001ull,   // upsert: composite list, 0 words
                n << 2});                // tag: n elements of 0 data, 0 pointers
}

/// The one byte position where two equally long encodings differ.
size_t single_difference(const std::string& a, const std::string& b) {
  BOOST_REQUIRE(a.size() == b.size());
  std::vector<size_t> diff;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i] != b[i])
      diff.push_back(i);
  BOOST_REQUIRE(diff.size() == 1u);
  return diff[0];
}

} // namespace

BOOST_AUTO_TEST_CASE(small_messages_cannot_claim_huge_lists) {
  // The crafted messages are well formed: with one element they decode.
  auto one = decode_value(claimed_value_array(1));
  BOOST_REQUIRE(one.ok());
  BOOST_TEST(one->as<value_array>().size() == 1u);
  auto one_op = decode_operation(claimed_upsert(1));
  BOOST_REQUIRE(one_op.ok());
  BOOST_TEST(one_op->fields.size() == 1u);
  // 48 or 72 bytes must not make the decoder build millions of elements
  // (gigabytes of memory): the work is bounded by the input's size.
  for (uint64_t n : {uint64_t{100'000}, uint64_t{10'000'000}}) {
    expect_corrupt(dec_val, claimed_value_array(n));
    expect_corrupt(dec_op, claimed_upsert(n));
  }
}

BOOST_AUTO_TEST_CASE(unknown_kinds_are_corrupt) {
  // Mutations are made on the flat words and packed again.
  // Operation kind: create_index and drop_index differ only in the union tag.
  auto ops = sample_operations();
  auto ci = ops[4], di = ops[4];
  di.k = operation::kind::drop_index;
  auto a = flat(encode(ci));
  size_t pos = single_difference(a, flat(encode(di)));
  for (int tag : {4, 5, 0x7f, 0xff}) {
    std::string b = a;
    b[pos] = static_cast<char>(tag);
    expect_corrupt(dec_op, pack_words(b));
  }
  // Field operation kind: a set and an add of one value differ only in the tag.
  auto set = upsert(node(1), 1, 10);
  with_set(set, "f", value{"v"});
  auto add = upsert(node(1), 1, 10);
  with_add(add, "f", value{"v"});
  auto s = flat(encode(set));
  pos = single_difference(s, flat(encode(add)));
  for (int tag : {4, 9, 0xff}) {
    std::string b = s;
    b[pos] = static_cast<char>(tag);
    expect_corrupt(dec_op, pack_words(b));
  }
  // Value kind: an int and a time of one number differ only in the tag.
  auto v = flat(encode(value{5}));
  pos = single_difference(v, flat(encode(value{time_point{5}})));
  for (int tag : {10, 11, 0xff}) {
    std::string b = v;
    b[pos] = static_cast<char>(tag);
    expect_corrupt(dec_val, pack_words(b));
  }
}

// Cap'n Proto's own packer, one piece: the reference the codec's packer
// must match byte for byte (stored encodings are compared as bytes).
std::string capnp_pack(std::string_view flat) {
  kj::VectorOutputStream out(flat.size() + 16);
  {
    capnp::_::PackedOutputStream packed(out);
    packed.write(flat.data(), flat.size());
  }
  auto b = out.getArray();
  return std::string(reinterpret_cast<const char*>(b.begin()), b.size());
}

BOOST_AUTO_TEST_CASE(packing_matches_capnp_byte_for_byte) {
  std::mt19937_64 rng(7);
  for (int round = 0; round < 3000; ++round) {
    // Words of every kind: zero, full, one or two zero bytes, sparse; in
    // runs long enough to pass the 255-word limit of a run.
    size_t words = rng() % (round < 100 ? 700 : 40);
    std::string flat(words * 8, '\0');
    int mode = 0;
    for (size_t w = 0; w < words; ++w) {
      if (rng() % 16 == 0)
        mode = static_cast<int>(rng() % 5);
      for (size_t i = 0; i < 8; ++i) {
        unsigned char b = 0;
        switch (mode) {
          case 0: b = 0; break;
          case 1: b = static_cast<unsigned char>(1 + rng() % 255); break;
          case 2: b = i == rng() % 8 ? 0 : static_cast<unsigned char>(1 + rng() % 255); break;
          case 3: b = rng() % 4 == 0 ? 0 : static_cast<unsigned char>(1 + rng() % 255); break;
          default: b = rng() % 4 == 0 ? static_cast<unsigned char>(rng()) : 0; break;
        }
        flat[w * 8 + i] = static_cast<char>(b);
      }
    }
    BOOST_REQUIRE_MESSAGE(pack_words(flat) == capnp_pack(flat), "round " << round << ", " << words << " words");
  }
}

BOOST_AUTO_TEST_CASE(encodings_are_capnp_packed_messages) {
  // encode() packs the segment table and each segment as separate pieces, as
  // capnp::writePackedMessage does; a record too large for one segment too.
  std::vector<std::string> encoded;
  for (auto& r : sample_records())
    encoded.push_back(encode(r));
  for (auto& op : sample_operations())
    encoded.push_back(encode(op));
  record_state big;
  for (int i = 0; i < 3000; ++i) {
    operation op;
    op.id = {node(1), static_cast<uint64_t>(i + 1)};
    op.counter = static_cast<uint64_t>(i + 1);
    op.collection = "c";
    op.k = operation::kind::upsert;
    field_op f;
    f.field = "f" + std::to_string(i);
    f.val = value{"some text " + std::to_string(i)};
    op.fields.push_back(f);
    apply(big, op);
  }
  encoded.push_back(encode(big));
  uint32_t most = 0;
  for (auto& e : encoded) {
    auto flat = unpack_words(e, 1 << 24);
    BOOST_REQUIRE(flat.has_value());
    uint32_t count;
    std::memcpy(&count, flat->data(), 4);
    most = std::max(most, count);
    size_t table = ((count + 3) / 2) * 8;  // the count and count+1 sizes (u32), padded to a word
    std::string ref = capnp_pack(flat->substr(0, table));
    size_t at = table;
    for (uint32_t i = 0; i <= count; ++i) {
      uint32_t words;
      std::memcpy(&words, flat->data() + 4 + 4 * i, 4);
      ref += capnp_pack(flat->substr(at, words * 8));
      at += words * 8;
    }
    BOOST_TEST(at == flat->size());
    BOOST_TEST(e == ref);
  }
  BOOST_TEST(most > 0u);  // the big record has several segments
  BOOST_TEST(decode_record(encoded.back())->fields.size() == 3000u);
}

BOOST_AUTO_TEST_CASE(fnv1a_known_values) {
  BOOST_TEST(fnv1a("") == 14695981039346656037ull);
  BOOST_TEST(fnv1a("a") == 0xaf63dc4c8601ec8cull);
  BOOST_TEST(fnv1a("b", fnv1a("a")) == fnv1a("ab"));
}

BOOST_AUTO_TEST_SUITE_END()
