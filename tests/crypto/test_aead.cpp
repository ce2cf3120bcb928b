// Sealed payloads: round trip, format, and clean refusals of every bit flip,
// every truncation and every wrong context.
#include "util.hpp"

#include "core/crypto/aead.hpp"

#include <vector>

using namespace blaze;
using namespace blaze::crypto;
using namespace blaze::crypto::test;

namespace {

const node_id alice{0x0123456789abcdefULL, 0x1122334455667788ULL};
const node_id bob{0x0123456789abcdefULL, 0x1122334455667789ULL};

content_key fixed_key(uint32_t epoch = 1, char fill = '\x07') {
  return content_key(ok(secret_bytes<32>::from(std::string(32, fill))), epoch);
}

std::vector<std::string> sample_plaintexts() {
  std::string op140(140, 'p');
  for (size_t i = 0; i < op140.size(); ++i)
    op140[i] = static_cast<char>(i * 31 + 7);
  return {"", "x", "canary: the quick brown fox", op140, std::string(1000, '\0')};
}

} // namespace

BOOST_AUTO_TEST_SUITE(aead)

BOOST_AUTO_TEST_CASE(round_trip_and_format) {
  auto key = fixed_key(7);
  auto ad = op_associated_data("db1", "notes", {alice, 42});
  for (auto& pt : sample_plaintexts()) {
    auto sealed = ok(seal(key, pt, ad));
    BOOST_TEST(sealed.size() == pt.size() + sealed_overhead);
    BOOST_TEST(static_cast<uint8_t>(sealed[0]) == sealed_version);
    BOOST_TEST(ok(sealed_epoch(sealed)) == 7u);
    BOOST_TEST(ok(open(key, sealed, ad)) == pt);
    if (pt.size() >= 8)
      BOOST_TEST(sealed.find(pt) == std::string::npos);  // not in the clear
    // Random nonces: sealing twice gives different bytes.
    auto again = ok(seal(key, pt, ad));
    BOOST_TEST(again.substr(5, 12) != sealed.substr(5, 12));
  }
  BOOST_TEST(sealed_overhead == 33u);
}

BOOST_AUTO_TEST_CASE(bit_flip_at_every_byte_fails) {
  auto key = fixed_key();
  auto ad = op_associated_data("db1", "notes", {alice, 42});
  size_t tried = 0;
  for (auto& pt : sample_plaintexts()) {
    auto sealed = ok(seal(key, pt, ad));
    for (size_t i = 0; i < sealed.size(); ++i)
      for (int b = 0; b < 8; ++b) {
        auto r = open(key, flip(sealed, i, b), ad);
        ++tried;
        BOOST_REQUIRE_MESSAGE(!r.ok(), "a flip of bit " << b << " of byte " << i << " of a " << pt.size()
                                                         << "-byte payload opened");
        BOOST_TEST(r.error().code == errc::corrupt);
        BOOST_TEST(!r.error().message.empty());
      }
    // Flips of the associated data too.
    for (size_t i = 0; i < ad.size(); ++i)
      BOOST_TEST(!open(key, sealed, flip(ad, i, static_cast<int>(i % 8))).ok());
  }
  BOOST_TEST(tried == 8 * (0 + 1 + 27 + 140 + 1000 + 5 * sealed_overhead));
}

BOOST_AUTO_TEST_CASE(truncated_and_extended_inputs_fail) {
  auto key = fixed_key();
  auto ad = op_associated_data("db1", "notes", {alice, 42});
  for (auto& pt : sample_plaintexts()) {
    auto sealed = ok(seal(key, pt, ad));
    for (size_t n = 0; n < sealed.size(); ++n) {
      auto r = open(key, std::string_view(sealed).substr(0, n), ad);
      BOOST_REQUIRE_MESSAGE(!r.ok(), "a " << n << "-byte prefix opened");
      BOOST_TEST(r.error().code == errc::corrupt);
      // Cut from the front as well.
      BOOST_TEST(!open(key, std::string_view(sealed).substr(sealed.size() - n), ad).ok());
    }
    BOOST_TEST(!open(key, sealed + '\0', ad).ok());
  }
  BOOST_TEST(!sealed_epoch("").ok());
}

BOOST_AUTO_TEST_CASE(wrong_context_fails) {
  auto key = fixed_key();
  std::string pt = "set title = hello";
  auto sealed = ok(seal(key, pt, op_associated_data("db1", "notes", {alice, 42})));
  BOOST_TEST(ok(open(key, sealed, op_associated_data("db1", "notes", {alice, 42}))) == pt);
  BOOST_TEST(!open(key, sealed, op_associated_data("db2", "notes", {alice, 42})).ok());   // other database
  BOOST_TEST(!open(key, sealed, op_associated_data("db1", "tasks", {alice, 42})).ok());   // other collection
  BOOST_TEST(!open(key, sealed, op_associated_data("db1", "notes", {bob, 42})).ok());     // other origin
  BOOST_TEST(!open(key, sealed, op_associated_data("db1", "notes", {alice, 43})).ok());   // other seq
  BOOST_TEST(!open(key, sealed, "").ok());
  // Length prefixes: moving a byte between database and collection changes the data.
  BOOST_TEST(op_associated_data("db1n", "otes", {alice, 42}) != op_associated_data("db1", "notes", {alice, 42}));
  BOOST_TEST(!open(key, sealed, op_associated_data("db1n", "otes", {alice, 42})).ok());
  // Another key of the same epoch; the same key under another epoch number.
  BOOST_TEST(!open(fixed_key(1, '\x08'), sealed, op_associated_data("db1", "notes", {alice, 42})).ok());
  auto e2 = open(fixed_key(2), sealed, op_associated_data("db1", "notes", {alice, 42}));
  BOOST_REQUIRE(!e2.ok());
  BOOST_TEST(e2.error().message.find("epoch 1") != std::string::npos);
  // Another version byte.
  auto v2 = sealed;
  v2[0] = 2;
  BOOST_TEST(open(key, v2, op_associated_data("db1", "notes", {alice, 42})).error().message.find("version") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(raw_gcm_refuses_short_input) {
  auto key = fixed_key();
  aes256gcm::nonce iv{};
  for (size_t n = 0; n < aes256gcm::tag_size; ++n)
    BOOST_TEST(aes256gcm::decrypt(key.key(), iv, std::string(n, 'x'), "").error().code == errc::corrupt);
}

BOOST_AUTO_TEST_SUITE_END()
