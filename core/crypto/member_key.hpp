// A member key: what one node gives another to be invited into a database
// (DESIGN §8, issue 4 item 7): its Ed25519 identity public key (who signs,
// and the node id) and its X25519 key-agreement public key (what content
// keys are wrapped for), as one string a human can paste.
//
// ## Text form (version 1), 94 characters
//
//   "bm1" || base64url-without-padding( ed25519 public (32) || x25519 public (32)
//                                       || checksum (4) )
//   checksum = SHA-256( "blazedb/member-key/v1" 0x00 || ed25519 || x25519 )[0..4)
//
// base64url (RFC 4648 §5: A-Z a-z 0-9 - _) survives shells, URLs and chat;
// the checksum catches a mistyped or truncated paste (a 1 in 2^32 chance to
// miss one) before anything is granted to a key nobody holds.
#pragma once

#include "core/crypto/ed25519.hpp"
#include "core/crypto/key_wrap.hpp"
#include "core/ids.hpp"
#include "core/status.hpp"

#include <string>
#include <string_view>

namespace blaze::crypto {

struct member_key {
  ed25519_public_key signing{};   // identity: node id, signatures
  x25519_public_key exchange{};   // key agreement: wrapped content keys

  static constexpr std::string_view prefix = "bm1";
  static constexpr size_t text_size = 3 + 91;  // prefix + base64url of 68 bytes

  node_id id() const { return node_id_of(signing); }

  /// The text form above.
  std::string to_string() const;

  /// Parses the text form (surrounding ASCII whitespace ignored).
  /// errc::invalid_argument with a message saying what is wrong: not a member
  /// key (another prefix: a node id or a bare public key, say), wrong length,
  /// a character outside base64url (and where), or a checksum that does not
  /// match (a typo). Does not check that the keys are valid curve points:
  /// verify() and wrap() find that out.
  static result<member_key> parse(std::string_view text);

  auto operator<=>(const member_key&) const = default;
};

/// base64url without padding (RFC 4648 §5), and its strict inverse
/// (nullopt for any other character, or a length that no encoding has, or
/// non-zero unused bits in the last character).
std::string base64url_encode(std::string_view bytes);
std::optional<std::string> base64url_decode(std::string_view text);

} // namespace blaze::crypto
