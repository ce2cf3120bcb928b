// Member keys (core/crypto/member_key.hpp): the text form round trips, and
// every kind of bad paste is refused with a message that says what is wrong.
#include <boost/test/unit_test.hpp>

#include "core/crypto/member_key.hpp"

#include <random>

using namespace blaze;
using namespace blaze::crypto;

namespace {

member_key sample() {
  auto sk = signing_key::from_seed(std::move(*secret_bytes<32>::from(std::string(32, '\x11'))));
  auto xk = x25519_key::from_raw(std::move(*secret_bytes<32>::from(std::string(32, '\x22'))));
  BOOST_REQUIRE(sk.ok());
  BOOST_REQUIRE(xk.ok());
  return {sk->public_key(), xk->public_key()};
}

void refused(std::string_view text, const std::string& why) {
  auto r = member_key::parse(text);
  BOOST_TEST(!r.ok(), "accepted: " << text);
  if (!r.ok()) {
    BOOST_TEST((r.error().code == errc::invalid_argument));
    BOOST_TEST(r.error().message.find(why) != std::string::npos, r.error().message);
  }
}

} // namespace

BOOST_AUTO_TEST_SUITE(member_keys)

BOOST_AUTO_TEST_CASE(base64url_round_trips_and_is_strict) {
  std::mt19937 rng(7);
  for (size_t n = 0; n < 70; ++n) {
    std::string b;
    for (size_t i = 0; i < n; ++i)
      b.push_back(static_cast<char>(rng()));
    auto t = base64url_encode(b);
    BOOST_TEST(t.find('=') == std::string::npos);
    BOOST_TEST(t.size() == (n * 4 + 2) / 3);
    auto back = base64url_decode(t);
    BOOST_REQUIRE(back.has_value());
    BOOST_TEST(*back == b);
  }
  BOOST_TEST(base64url_encode("\xfb\xff") == "-_8");
  BOOST_TEST(!base64url_decode("A").has_value());      // impossible length
  BOOST_TEST(!base64url_decode("AB=").has_value());    // padding is not accepted
  BOOST_TEST(!base64url_decode("AB+/").has_value());   // standard base64's alphabet
  BOOST_TEST(!base64url_decode("AF").has_value());     // unused bits set
  BOOST_TEST(base64url_decode("AA").has_value());
}

BOOST_AUTO_TEST_CASE(text_form_round_trips) {
  auto k = sample();
  auto text = k.to_string();
  BOOST_TEST_MESSAGE("member key: " << text);
  BOOST_TEST(text.size() == member_key::text_size);
  BOOST_TEST(text.substr(0, 3) == "bm1");
  auto back = member_key::parse(text);
  BOOST_REQUIRE(back.ok());
  BOOST_TEST((*back == k));
  BOOST_TEST((back->id() == node_id_of(k.signing)));
  BOOST_TEST(member_key::parse("  " + text + "\n").ok());  // a pasted line
}

BOOST_AUTO_TEST_CASE(bad_pastes_are_refused_with_a_reason) {
  auto text = sample().to_string();
  refused("", "empty");
  refused(node_id_of(sample().signing).to_hex(), "does not start with");
  refused(std::string(64, 'a'), "does not start with");
  refused(text.substr(0, text.size() - 1), "characters, expected 94");
  refused(text + "A", "characters, expected 94");
  refused(text + text, "characters, expected 94");
  auto bad_char = text;
  bad_char[40] = '+';
  refused(bad_char, "character 41 is not base64url");
  // Every single-character typo in the body is caught.
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  size_t caught = 0, tried = 0;
  for (size_t i = 3; i < text.size(); ++i) {
    auto typo = text;
    typo[i] = alphabet[(alphabet.find(text[i]) + 1 + i % 63) % 64];  // never the same character
    ++tried;
    if (!member_key::parse(typo).ok())
      ++caught;
  }
  BOOST_TEST(caught == tried);
  auto swapped = text;
  std::swap(swapped[10], swapped[11]);
  if (swapped != text)
    refused(swapped, "checksum");
}

BOOST_AUTO_TEST_SUITE_END()
