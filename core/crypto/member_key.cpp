#include "core/crypto/member_key.hpp"

#include "core/crypto/sha256.hpp"
#include "core/crypto/wire.hpp"

namespace blaze::crypto {

namespace {

constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int digit_of(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

std::string checksum(const member_key& k) {
  std::string in;
  wire::put_tag(in, "blazedb/member-key/v1");
  in.append(k.signing.view());
  in.append(k.exchange.view());
  auto d = sha256(in);
  return std::string(reinterpret_cast<const char*>(d.data()), 4);
}

status bad(const std::string& why) { return {errc::invalid_argument, "not a valid member key: " + why}; }

} // namespace

std::string base64url_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() * 4 + 2) / 3);
  size_t i = 0;
  auto b = [&](size_t k) { return static_cast<uint32_t>(static_cast<uint8_t>(bytes[k])); };
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t v = b(i) << 16 | b(i + 1) << 8 | b(i + 2);
    for (int s = 18; s >= 0; s -= 6)
      out.push_back(alphabet[(v >> s) & 63]);
  }
  if (bytes.size() - i == 1) {
    uint32_t v = b(i) << 16;
    out.push_back(alphabet[(v >> 18) & 63]);
    out.push_back(alphabet[(v >> 12) & 63]);
  } else if (bytes.size() - i == 2) {
    uint32_t v = b(i) << 16 | b(i + 1) << 8;
    out.push_back(alphabet[(v >> 18) & 63]);
    out.push_back(alphabet[(v >> 12) & 63]);
    out.push_back(alphabet[(v >> 6) & 63]);
  }
  return out;
}

std::optional<std::string> base64url_decode(std::string_view text) {
  if (text.size() % 4 == 1)
    return std::nullopt;
  std::string out;
  out.reserve(text.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int d = digit_of(c);
    if (d < 0)
      return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(d);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0)
    return std::nullopt;  // non-canonical: unused low bits must be zero
  return out;
}

std::string member_key::to_string() const {
  std::string raw;
  raw.append(signing.view());
  raw.append(exchange.view());
  raw += checksum(*this);
  return std::string(prefix) + base64url_encode(raw);
}

result<member_key> member_key::parse(std::string_view text) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!text.empty() && space(text.front()))
    text.remove_prefix(1);
  while (!text.empty() && space(text.back()))
    text.remove_suffix(1);
  if (text.empty())
    return bad("empty");
  if (text.substr(0, prefix.size()) != prefix)
    return bad("it does not start with \"" + std::string(prefix) +
               "\" (a member key is what `blazedb id` prints as `member key`, not the node id or public key)");
  auto body = text.substr(prefix.size());
  for (size_t i = 0; i < body.size(); ++i)
    if (digit_of(body[i]) < 0)
      return bad("character " + std::to_string(prefix.size() + i + 1) + " is not base64url (A-Z a-z 0-9 - _)");
  if (text.size() != text_size)
    return bad(std::to_string(text.size()) + " characters, expected " + std::to_string(text_size) +
               " (cut or joined when pasted?)");
  auto raw = base64url_decode(body);
  if (!raw || raw->size() != 68)
    return bad("its last character is not a possible ending (mistyped?)");
  member_key k;
  k.signing = *ed25519_public_key::from_bytes(std::string_view(*raw).substr(0, 32));
  k.exchange = *x25519_public_key::from_bytes(std::string_view(*raw).substr(32, 32));
  if (checksum(k) != std::string_view(*raw).substr(64))
    return bad("the checksum does not match (a typo?)");
  return k;
}

} // namespace blaze::crypto
