// X25519 key wrapping and key rotation: only the recipient unwraps, and a
// removed member holding only the old epoch cannot open what is sealed after
// the rotation.
#include "util.hpp"

#include "core/crypto/aead.hpp"
#include "core/crypto/key_wrap.hpp"

#include <type_traits>

using namespace blaze;
using namespace blaze::crypto;
using namespace blaze::crypto::test;

static_assert(!std::is_copy_constructible_v<x25519_key> && std::is_nothrow_move_constructible_v<x25519_key>);

namespace {

const std::string db = "db:notes@owner";

x25519_key x_from_hex(const char* h) { return ok(x25519_key::from_raw(ok(secret_bytes<32>::from(unhex(h))))); }

} // namespace

BOOST_AUTO_TEST_SUITE(key_wrap)

BOOST_AUTO_TEST_CASE(rfc7748_x25519) {
  // RFC 7748 §6.1.
  auto alice = x_from_hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
  auto bob = x_from_hex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
  BOOST_TEST(hex(alice.public_key().view()) == "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
  BOOST_TEST(hex(bob.public_key().view()) == "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
  const char* shared = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";
  BOOST_TEST(hex(ok(alice.agree(bob.public_key())).view()) == shared);
  BOOST_TEST(hex(ok(bob.agree(alice.public_key())).view()) == shared);
  // Raw export round trip.
  auto again = ok(x25519_key::from_raw(alice.raw()));
  BOOST_TEST(again.public_key() == alice.public_key());
  // A small-order peer key (all zeros) gives an all-zero secret: refused.
  BOOST_TEST(alice.agree(x25519_public_key{}).error().code == errc::corrupt);
}

BOOST_AUTO_TEST_CASE(round_trip_and_wrong_recipient) {
  auto member = ok(x25519_key::generate());
  auto stranger = ok(x25519_key::generate());
  auto key = ok(content_key::generate(3));
  auto wrapped = ok(wrap(key, member.public_key(), db));
  BOOST_TEST(wrapped.size() == wrapped_size);
  BOOST_TEST(wrapped.find(key.key().view()) == std::string::npos);
  auto got = ok(unwrap(wrapped, member, db));
  BOOST_TEST(got.epoch() == 3u);
  BOOST_TEST(got.key().equals(key.key()));
  // Fresh ephemeral key per wrap.
  BOOST_TEST(ok(wrap(key, member.public_key(), db)) != wrapped);

  auto wrong = unwrap(wrapped, stranger, db);
  BOOST_REQUIRE(!wrong.ok());
  BOOST_TEST(wrong.error().code == errc::corrupt);
  BOOST_TEST(!unwrap(wrapped, member, "db:other").ok());  // another database
}

BOOST_AUTO_TEST_CASE(every_bit_flip_and_truncation_fails) {
  auto member = ok(x25519_key::generate());
  auto key = ok(content_key::generate());
  auto wrapped = ok(wrap(key, member.public_key(), db));
  for (size_t i = 0; i < wrapped.size(); ++i)
    for (int b = 0; b < 8; ++b) {
      auto r = unwrap(flip(wrapped, i, b), member, db);
      BOOST_REQUIRE_MESSAGE(!r.ok(), "a flip of bit " << b << " of byte " << i << " unwrapped");
      BOOST_TEST(r.error().code == errc::corrupt);
    }
  for (size_t n = 0; n < wrapped.size(); ++n)
    BOOST_TEST(!unwrap(std::string_view(wrapped).substr(0, n), member, db).ok());
  BOOST_TEST(!unwrap(wrapped + "x", member, db).ok());
}

BOOST_AUTO_TEST_CASE(rotation_locks_out_a_removed_member) {
  auto owner = ok(x25519_key::generate());
  auto removed = ok(x25519_key::generate());
  auto epoch1 = ok(content_key::generate());
  BOOST_TEST(epoch1.epoch() == 1u);

  // Epoch 1: both members get the key; an operation is sealed.
  auto ad_old = op_associated_data(db, "notes", {node_id{0, 1}, 1});
  auto old_payload = ok(seal(epoch1, "canary-old", ad_old));
  auto removed_key = ok(unwrap(ok(wrap(epoch1, removed.public_key(), db)), removed, db));
  BOOST_TEST(ok(open(removed_key, old_payload, ad_old)) == "canary-old");

  // The member is removed: rotate, wrap the new key for the owner only.
  auto epoch2 = ok(epoch1.rotate());
  BOOST_TEST(epoch2.epoch() == 2u);
  BOOST_TEST(!epoch2.key().equals(epoch1.key()));
  auto wrapped_for_owner = ok(wrap(epoch2, owner.public_key(), db));
  auto ad_new = op_associated_data(db, "notes", {node_id{0, 1}, 2});
  auto new_payload = ok(seal(epoch2, "canary-new", ad_new));
  BOOST_TEST(ok(sealed_epoch(new_payload)) == 2u);

  // The owner opens both epochs.
  auto owner_new = ok(unwrap(wrapped_for_owner, owner, db));
  BOOST_TEST(ok(open(owner_new, new_payload, ad_new)) == "canary-new");
  BOOST_TEST(ok(open(epoch1, old_payload, ad_old)) == "canary-old");

  // The removed member: no new key from the owner's wrap, and its old key
  // opens nothing new, even relabelled as epoch 2.
  BOOST_TEST(!unwrap(wrapped_for_owner, removed, db).ok());
  BOOST_TEST(!open(removed_key, new_payload, ad_new).ok());
  content_key relabelled(ok(secret_bytes<32>::from(removed_key.key().view())), 2);
  auto r = open(relabelled, new_payload, ad_new);
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().code == errc::corrupt);
  // ... while its old payloads still open with the old key.
  BOOST_TEST(ok(open(removed_key, old_payload, ad_old)) == "canary-old");

  // The last epoch cannot rotate.
  content_key last(ok(random_secret<32>()), 0xffffffffu);
  BOOST_TEST(last.rotate().error().code == errc::invalid_argument);
}

BOOST_AUTO_TEST_SUITE_END()
