#include "core/invite_token.hpp"

#include "core/crypto/member_key.hpp"
#include "core/crypto/sha256.hpp"
#include "core/crypto/wire.hpp"

namespace blaze {

namespace {

constexpr std::string_view checksum_tag = "blazedb/invite-token/v1";

std::string checksum(std::string_view body) {
  std::string in;
  crypto::wire::put_tag(in, checksum_tag);
  in.append(body);
  auto d = crypto::sha256(in);
  return std::string(reinterpret_cast<const char*>(d.data()), 4);
}

bool base64url_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

bool url_char(char c) { return c > ' ' && c < 0x7f; }

// Characters of the text form of a decoded token of `bytes` bytes.
size_t text_size_of(size_t bytes) { return invite_token::prefix.size() + (bytes * 4 + 2) / 3; }

status bad(const std::string& why) { return {errc::invalid_argument, "not a valid invitation token: " + why}; }

} // namespace

bool valid_database_name(std::string_view name) {
  if (name.empty() || name.size() > invite_token::max_database || name[0] == '.')
    return false;
  for (char c : name)
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
          c == '.'))
      return false;
  return true;
}

node_id invite_token::owner_id() const { return crypto::node_id_of(owner); }

status invite_token::validate() const {
  if (!valid_database_name(database))
    return {errc::invalid_argument,
            "database name '" + database + "': 1 to 128 of A-Z a-z 0-9 _ - ., not starting with '.'"};
  if (rights == access_rights::none || rights > access_rights::admin)
    return {errc::invalid_argument, "rights must be relay, r, rw or admin"};
  if (url.size() > max_url)
    return {errc::invalid_argument, "URL of " + std::to_string(url.size()) + " bytes, over the maximum of 255"};
  for (char c : url)
    if (!url_char(c))
      return {errc::invalid_argument, "URL '" + url + "' has a space or a character that is not printable ASCII"};
  return {};
}

result<std::string> invite_token::to_string() const {
  if (auto v = validate(); !v)
    return v;
  std::string raw;
  raw.append(owner.view());
  unsigned char m[16];
  member.to_bytes(m);
  raw.append(reinterpret_cast<const char*>(m), 16);
  crypto::wire::put_u8(raw, static_cast<uint8_t>(rights));
  crypto::wire::put_u8(raw, sealed ? 1 : 0);
  crypto::wire::put_u8(raw, static_cast<uint8_t>(database.size()));
  raw.append(database);
  crypto::wire::put_u8(raw, static_cast<uint8_t>(url.size()));
  raw.append(url);
  raw += checksum(raw);
  return std::string(prefix) + crypto::base64url_encode(raw);
}

result<invite_token> invite_token::parse(std::string_view text) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!text.empty() && space(text.front()))
    text.remove_prefix(1);
  while (!text.empty() && space(text.back()))
    text.remove_suffix(1);
  if (text.empty())
    return bad("empty");
  if (text.substr(0, prefix.size()) != prefix) {
    if (text.substr(0, crypto::member_key::prefix.size()) == crypto::member_key::prefix)
      return bad("this is a member key (\"bm1...\", what `blazedb id` prints), not the token `blazedb invite` prints");
    return bad("it does not start with \"" + std::string(prefix) + "\" (a token is what `blazedb invite` prints)");
  }
  auto body = text.substr(prefix.size());
  for (size_t i = 0; i < body.size(); ++i)
    if (!base64url_char(body[i]))
      return bad("character " + std::to_string(prefix.size() + i + 1) + " is not base64url (A-Z a-z 0-9 - _)");
  if (text.size() < min_text_size)
    return bad(std::to_string(text.size()) + " characters, too short: at least " + std::to_string(min_text_size) +
               " (cut when pasted?)");
  if (text.size() > max_text_size)
    return bad(std::to_string(text.size()) + " characters, too long: at most " + std::to_string(max_text_size) +
               " (joined with something when pasted?)");
  if (body.size() % 4 == 1)
    return bad(std::to_string(text.size()) + " characters is not a possible length (cut or joined when pasted?)");
  auto raw = crypto::base64url_decode(body);
  if (!raw)
    return bad("its last character is not a possible ending (mistyped?)");
  std::string_view r = *raw;
  // The lengths the token states must account for every byte.
  constexpr size_t db_len_at = 32 + 16 + 1 + 1;
  size_t db_len = static_cast<uint8_t>(r[db_len_at]);
  size_t url_len_at = db_len_at + 1 + db_len;
  size_t stated = 0;
  if (url_len_at < r.size())
    stated = url_len_at + 1 + static_cast<uint8_t>(r[url_len_at]) + 4;
  if (stated != r.size()) {
    std::string expect = stated ? "it states " + std::to_string(text_size_of(stated)) : "its lengths do not fit";
    return bad(std::to_string(text.size()) + " characters, but " + expect + " (cut or joined when pasted?)");
  }
  auto payload = r.substr(0, r.size() - 4);
  if (checksum(payload) != r.substr(r.size() - 4))
    return bad("the checksum does not match (a typo?)");
  invite_token t;
  t.owner = *crypto::ed25519_public_key::from_bytes(r.substr(0, 32));
  t.member = id128::from_bytes(reinterpret_cast<const unsigned char*>(r.data() + 32));
  uint8_t rights = static_cast<uint8_t>(r[48]);
  uint8_t flags = static_cast<uint8_t>(r[49]);
  if (rights < static_cast<uint8_t>(access_rights::relay) || rights > static_cast<uint8_t>(access_rights::admin))
    return bad("unknown rights " + std::to_string(rights) + " (made by a newer blazedb?)");
  t.rights = static_cast<access_rights>(rights);
  if (flags & ~1u)
    return bad("unknown flags " + std::to_string(flags) + " (made by a newer blazedb?)");
  t.sealed = (flags & 1) != 0;
  t.database = std::string(r.substr(db_len_at + 1, db_len));
  t.url = std::string(r.substr(url_len_at + 1, static_cast<uint8_t>(r[url_len_at])));
  if (auto v = t.validate(); !v)
    return bad(v.message);
  return t;
}

} // namespace blaze
