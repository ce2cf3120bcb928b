// The primitives are the standard ones (known-answer tests), and Ed25519
// signatures fail under any single bit flip of signature, message or key.
#define BOOST_TEST_MODULE crypto_tests
#include "util.hpp"

#include "core/crypto/aead.hpp"
#include "core/crypto/ed25519.hpp"
#include "core/crypto/kdf.hpp"
#include "core/crypto/secret.hpp"
#include "core/crypto/sha256.hpp"

#include <type_traits>

using namespace blaze;
using namespace blaze::crypto;
using namespace blaze::crypto::test;

static_assert(!std::is_copy_constructible_v<signing_key> && std::is_nothrow_move_constructible_v<signing_key>);
static_assert(!std::is_copy_constructible_v<secret_bytes<32>> && !std::is_copy_assignable_v<secret_bytes<32>>);
static_assert(!std::is_copy_constructible_v<content_key> && std::is_move_constructible_v<content_key>);

BOOST_AUTO_TEST_SUITE(sha)

BOOST_AUTO_TEST_CASE(known_answers) {
  // FIPS 180-2 examples.
  BOOST_TEST(hex(as_view(sha256("abc"))) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  BOOST_TEST(hex(as_view(sha256(""))) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  sha256_hasher h;
  h.update("ab").update("c");
  BOOST_TEST(hex(as_view(h.finish())) == hex(as_view(sha256("abc"))));
  BOOST_TEST(hex(as_view(h.reset().update("").finish())) == hex(as_view(sha256(""))));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(ed25519)

// RFC 8032 §7.1, TEST 1 (empty message).
const char* rfc_seed = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
const char* rfc_pub = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
const char* rfc_sig = "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b";

BOOST_AUTO_TEST_CASE(rfc8032_test_1) {
  auto key = ok(signing_key::from_seed(ok(secret_bytes<32>::from(unhex(rfc_seed)))));
  BOOST_TEST(hex(key.public_key().view()) == rfc_pub);
  auto sig = ok(key.sign(""));
  BOOST_TEST(hex(sig.view()) == rfc_sig);
  BOOST_TEST(verify(key.public_key(), "", sig));
  // node id: the first 16 bytes of SHA-256 of the public key (runtime/identity).
  BOOST_TEST(node_id_of(key.public_key()).to_hex() == hex(as_view(sha256(unhex(rfc_pub)))).substr(0, 32));
  BOOST_TEST(key.id() == node_id_of(key.public_key()));
}

BOOST_AUTO_TEST_CASE(round_trip_seed_and_pem) {
  auto key = ok(signing_key::generate());
  auto sig = ok(sign(key, "hello"));
  BOOST_TEST(verify(key.public_key(), "hello", sig));
  BOOST_TEST(!verify(key.public_key(), "hellO", sig));

  auto again = ok(signing_key::from_seed(key.seed()));
  BOOST_TEST(hex(again.public_key().view()) == hex(key.public_key().view()));
  BOOST_TEST(hex(ok(again.sign("hello")).view()) == hex(sig.view()));  // deterministic

  auto pem = ok(key.to_pem());
  BOOST_TEST(pem.find("-----BEGIN PRIVATE KEY-----") == 0u);
  auto loaded = ok(signing_key::from_pem(pem));
  BOOST_TEST(hex(loaded.public_key().view()) == hex(key.public_key().view()));

  BOOST_TEST(!signing_key::from_pem("not a key").ok());
  BOOST_TEST(signing_key::from_pem("not a key").error().code == errc::corrupt);
  BOOST_TEST(!secret_bytes<32>::from(std::string(31, 'x')).ok());
  BOOST_TEST(!ed25519_public_key::from_bytes(std::string(33, 'x')).has_value());
  BOOST_TEST(!signature::from_bytes(std::string(63, 'x')).has_value());
}

BOOST_AUTO_TEST_CASE(every_bit_flip_fails) {
  auto key = key_from_fill('\x42');
  std::string msg = "operation bytes: {dot: 7, set title = hello}";
  auto sig = ok(key.sign(msg));
  BOOST_REQUIRE(verify(key.public_key(), msg, sig));
  std::string s(sig.view()), p(key.public_key().view());
  int failed = 0, tried = 0;
  for (size_t i = 0; i < s.size(); ++i)
    for (int b = 0; b < 8; ++b, ++tried)
      failed += !verify(key.public_key(), msg, *signature::from_bytes(flip(s, i, b)));
  for (size_t i = 0; i < msg.size(); ++i)
    for (int b = 0; b < 8; ++b, ++tried)
      failed += !verify(key.public_key(), flip(msg, i, b), sig);
  for (size_t i = 0; i < p.size(); ++i)
    for (int b = 0; b < 8; ++b, ++tried)
      failed += !verify(*ed25519_public_key::from_bytes(flip(p, i, b)), msg, sig);
  BOOST_TEST(tried == (64 + static_cast<int>(msg.size()) + 32) * 8);
  BOOST_TEST(failed == tried);
  // Another key, an all-zero key, an all-zero signature.
  BOOST_TEST(!verify(key_from_fill('\x43').public_key(), msg, sig));
  BOOST_TEST(!verify(ed25519_public_key{}, msg, sig));
  BOOST_TEST(!verify(key.public_key(), msg, signature{}));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(kdf)

BOOST_AUTO_TEST_CASE(rfc5869_case_1) {
  std::string ikm(22, '\x0b');
  std::string salt = unhex("000102030405060708090a0b0c");
  std::string info = unhex("f0f1f2f3f4f5f6f7f8f9");
  uint8_t okm[42];
  BOOST_REQUIRE(hkdf_sha256(ikm, salt, info, okm, sizeof(okm)).ok());
  BOOST_TEST(hex({reinterpret_cast<const char*>(okm), sizeof(okm)}) ==
             "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
}

BOOST_AUTO_TEST_CASE(rfc5869_case_3_empty_salt_and_info) {
  std::string ikm(22, '\x0b');
  uint8_t okm[42];
  BOOST_REQUIRE(hkdf_sha256(ikm, {}, {}, okm, sizeof(okm)).ok());
  BOOST_TEST(hex({reinterpret_cast<const char*>(okm), sizeof(okm)}) ==
             "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8");
  BOOST_TEST(hkdf_sha256(ikm, {}, {}, okm, 0).code == errc::invalid_argument);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(gcm)

struct gcm_vector {
  const char *key, *iv, *pt, *aad, *ct, *tag;
};

// The GCM specification's AES-256 test cases 13-16 (McGrew and Viega, as in
// NIST's GCM validation vectors).
const gcm_vector vectors[] = {
  {"0000000000000000000000000000000000000000000000000000000000000000", "000000000000000000000000", "", "", "",
   "530f8afbc74536b9a963b4f1c4cb738b"},
  {"0000000000000000000000000000000000000000000000000000000000000000", "000000000000000000000000",
   "00000000000000000000000000000000", "", "cea7403d4d606b6e074ec5d3baf39d18", "d0d1c8a799996bf0265b98b5d48ab919"},
  {"feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888",
   "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de6"
   "57ba637b391aafd255",
   "",
   "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a"
   "0abcc9f662898015ad",
   "b094dac5d93471bdec1a502270e3cc6c"},
  {"feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888",
   "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de6"
   "57ba637b39",
   "feedfacedeadbeeffeedfacedeadbeefabaddad2",
   "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a"
   "0abcc9f662",
   "76fc6ece0f4e1768cddf8853bb2d551b"},
};

BOOST_AUTO_TEST_CASE(known_answers) {
  for (auto& v : vectors) {
    auto key = ok(secret_bytes<32>::from(unhex(v.key)));
    auto iv = iv_of(unhex(v.iv));
    auto out = ok(aes256gcm::encrypt(key, iv, unhex(v.pt), unhex(v.aad)));
    BOOST_TEST(hex(out) == std::string(v.ct) + v.tag);
    BOOST_TEST(hex(ok(aes256gcm::decrypt(key, iv, out, unhex(v.aad)))) == v.pt);
    // The sealed format carries the same ciphertext after its 17-byte header
    // (its GCM associated data is the 5-byte header, then the caller's).
    content_key ck(ok(secret_bytes<32>::from(unhex(v.key))), 9);
    auto sealed = ok(seal(ck, unhex(v.pt), unhex(v.aad), iv));
    BOOST_TEST(sealed.size() == unhex(v.pt).size() + sealed_overhead);
    BOOST_TEST(hex(sealed.substr(0, 17)) == std::string("0100000009") + v.iv);
    BOOST_TEST(hex(sealed.substr(17, unhex(v.pt).size())) == v.ct);  // CTR keystream does not depend on aad
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(secrets)

BOOST_AUTO_TEST_CASE(moved_from_secret_is_wiped) {
  auto a = ok(secret_bytes<32>::from(std::string(32, '\x5a')));
  secret_bytes<32> b = std::move(a);
  BOOST_TEST(b.view() == std::string(32, '\x5a'));
  BOOST_TEST(a.view() == std::string(32, '\0'));  // NOLINT(bugprone-use-after-move): the contract under test
  auto r1 = ok(random_secret<32>()), r2 = ok(random_secret<32>());
  BOOST_TEST(!r1.equals(r2));
}

BOOST_AUTO_TEST_SUITE_END()
