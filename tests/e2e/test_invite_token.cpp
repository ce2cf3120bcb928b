// Invitation tokens (core/invite_token.hpp): the text form round trips, and
// every kind of bad paste is refused with a message that says what is
// wrong; random input never crashes the parser.
#include <boost/test/unit_test.hpp>

#include "core/crypto/member_key.hpp"
#include "core/crypto/sha256.hpp"
#include "core/invite_token.hpp"

#include <random>

using namespace blaze;
using namespace blaze::crypto;

namespace {

invite_token sample(std::string database = "club", std::string url = "tcp://relay.example:7000") {
  auto sk = signing_key::from_seed(std::move(*secret_bytes<32>::from(std::string(32, '\x11'))));
  BOOST_REQUIRE(sk.ok());
  invite_token t;
  t.database = std::move(database);
  t.owner = sk->public_key();
  t.member = *node_id::from_hex("0123456789abcdef0123456789abcdef");
  t.rights = access_rights::read_write;
  t.sealed = true;
  t.url = std::move(url);
  return t;
}

std::string text_of(const invite_token& t) {
  auto s = t.to_string();
  BOOST_REQUIRE(s.ok());
  return *s;
}

void refused(std::string_view text, const std::string& why) {
  auto r = invite_token::parse(text);
  BOOST_TEST(!r.ok(), "accepted: " << text);
  if (!r.ok()) {
    BOOST_TEST((r.error().code == errc::invalid_argument));
    BOOST_TEST(r.error().message.find(why) != std::string::npos, r.error().message);
    BOOST_TEST(r.error().message.find("not a valid invitation token") != std::string::npos, r.error().message);
  }
}

const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

} // namespace

BOOST_AUTO_TEST_SUITE(invite_tokens)

BOOST_AUTO_TEST_CASE(text_form_round_trips) {
  for (auto& t : {sample(), sample("c", ""), sample(std::string(128, 'x'), std::string(255, '~')),
                  sample("my.db-1_2", "wss://[::1]:443")}) {
    auto text = text_of(t);
    BOOST_TEST_MESSAGE("token: " << text << " (" << text.size() << " characters)");
    BOOST_TEST(text.substr(0, 3) == "bt1");
    BOOST_TEST(text.size() >= invite_token::min_text_size);
    BOOST_TEST(text.size() <= invite_token::max_text_size);
    auto back = invite_token::parse(text);
    BOOST_REQUIRE_MESSAGE(back.ok(), (back.ok() ? std::string() : back.error().message));
    BOOST_TEST((*back == t));
    BOOST_TEST((back->owner_id() == node_id_of(t.owner)));
    BOOST_TEST(invite_token::parse("  " + text + "\n").ok());  // a pasted line
  }
  BOOST_TEST(text_of(sample("c", "")).size() == invite_token::min_text_size);
  BOOST_TEST(text_of(sample(std::string(128, 'x'), std::string(255, '~'))).size() == invite_token::max_text_size);
  // every rights value and both sealed states survive
  for (auto r : {access_rights::relay, access_rights::read, access_rights::read_write, access_rights::admin})
    for (bool sealed : {false, true}) {
      auto t = sample();
      t.rights = r;
      t.sealed = sealed;
      auto back = invite_token::parse(text_of(t));
      BOOST_REQUIRE(back.ok());
      BOOST_TEST((back->rights == r));
      BOOST_TEST(back->sealed == sealed);
    }
}

BOOST_AUTO_TEST_CASE(fields_that_cannot_be_encoded_are_refused) {
  auto t = sample();
  t.rights = access_rights::none;
  BOOST_TEST(!t.to_string().ok());
  for (auto name : {std::string(), std::string(".hidden"), std::string("a@b"), std::string("sp ace"),
                    std::string(129, 'x')}) {
    auto u = sample(name);
    BOOST_TEST(!u.to_string().ok(), name);
  }
  BOOST_TEST(!sample("club", "tcp://a b").to_string().ok());
  BOOST_TEST(!sample("club", std::string(256, 'u')).to_string().ok());
  BOOST_TEST(!sample("club", "tcp://\x01").to_string().ok());
}

BOOST_AUTO_TEST_CASE(bad_pastes_are_refused_with_a_reason) {
  auto text = text_of(sample());
  refused("", "empty");
  refused("   \n", "empty");
  refused(sample().member.to_hex(), "does not start with \"bt1\"");
  // a member key pasted instead of the token
  refused("bm1nAlDCP21EtO2e5ETj-xlL3vxBFIaaYBZ9faEM7RfUjH7yhWIbhQDCSgljpr_qC64q-ilka1r5-86-B9TIGRPJHmfW9A",
          "this is a member key");
  refused("BT1" + text.substr(3), "does not start with");
  auto bad_char = text;
  bad_char[40] = '+';
  refused(bad_char, "character 41 is not base64url");
  auto inner_space = text;
  inner_space[20] = ' ';
  refused(inner_space, "character 21 is not base64url");
  refused(text.substr(0, 20), "too short");
  refused(text + std::string(600, 'A'), "too long");
  BOOST_TEST(!invite_token::parse(text + text).ok());
  // every truncation is refused, never accepted as a shorter token
  for (size_t n = 0; n < text.size(); ++n)
    BOOST_TEST(!invite_token::parse(text.substr(0, n)).ok(), n);
  refused(text.substr(0, text.size() - 4), "(cut or joined when pasted?)");
  // and every extension by 1..8 characters
  for (size_t n = 1; n <= 8; ++n)
    BOOST_TEST(!invite_token::parse(text + std::string(n, 'A')).ok(), n);
  auto swapped = text;
  std::swap(swapped[10], swapped[11]);
  BOOST_REQUIRE(swapped != text);
  refused(swapped, "checksum");
}

BOOST_AUTO_TEST_CASE(every_single_character_change_is_caught) {
  for (auto& t : {sample(), sample("c", "")}) {
    auto text = text_of(t);
    size_t caught = 0, tried = 0;
    for (size_t i = 3; i < text.size(); ++i)
      for (char c : alphabet) {
        if (c == text[i])
          continue;
        auto typo = text;
        typo[i] = c;
        ++tried;
        if (!invite_token::parse(typo).ok())
          ++caught;
      }
    BOOST_TEST(tried == (text.size() - 3) * 63);
    BOOST_TEST(caught == tried);
  }
}

// A token with a valid checksum but a field no version-1 token holds (what
// a newer writer, or someone crafting bytes, would make) is refused too.
BOOST_AUTO_TEST_CASE(unknown_fields_with_a_valid_checksum_are_refused) {
  auto craft = [](uint8_t rights, uint8_t flags, std::string db) {
    std::string raw(32, '\x11');
    raw.append(16, '\x22');
    raw.push_back(static_cast<char>(rights));
    raw.push_back(static_cast<char>(flags));
    raw.push_back(static_cast<char>(db.size()));
    raw += db;
    raw.push_back(0);
    std::string in = std::string("blazedb/invite-token/v1") + '\0' + raw;
    auto d = sha256(in);
    raw.append(reinterpret_cast<const char*>(d.data()), 4);
    return "bt1" + base64url_encode(raw);
  };
  BOOST_TEST(invite_token::parse(craft(3, 0, "club")).ok());  // the crafting itself is right
  refused(craft(0, 0, "club"), "unknown rights 0");
  refused(craft(5, 0, "club"), "unknown rights 5");
  refused(craft(3, 2, "club"), "unknown flags 2");
  refused(craft(3, 0, ".club"), "database name");
  refused(craft(3, 0, "cl/b"), "database name");
}

BOOST_AUTO_TEST_CASE(random_input_never_crashes) {
  std::mt19937 rng(20240501);
  auto text = text_of(sample());
  size_t accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string s;
    switch (i % 4) {
      case 0: {  // random bytes after the prefix
        s = "bt1";
        size_t n = rng() % 700;
        for (size_t k = 0; k < n; ++k)
          s.push_back(static_cast<char>(rng()));
        break;
      }
      case 1: {  // random base64url of a plausible length
        s = "bt1";
        size_t n = invite_token::min_text_size - 3 + rng() % 200;
        for (size_t k = 0; k < n; ++k)
          s.push_back(alphabet[rng() % 64]);
        break;
      }
      case 2: {  // the real token with a few random changes
        s = text;
        for (int k = 0, n = 1 + static_cast<int>(rng() % 4); k < n; ++k)
          s[3 + rng() % (s.size() - 3)] = alphabet[rng() % 64];
        break;
      }
      default: {  // the real token cut and re-joined
        size_t a = rng() % text.size(), b = rng() % text.size();
        s = text.substr(0, a) + text.substr(b);
        break;
      }
    }
    auto r = invite_token::parse(s);
    if (r.ok()) {
      ++accepted;
      BOOST_TEST(s == text);  // only the unchanged token gets through
    }
  }
  BOOST_TEST_MESSAGE("random inputs accepted (the unchanged token among them): " << accepted);
}

BOOST_AUTO_TEST_SUITE_END()
