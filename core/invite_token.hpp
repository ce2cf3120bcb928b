// An invitation token: what `blazedb invite` prints for the invited member
// to paste into `blazedb join` (DESIGN §8, issue 4 item 7 "key exchange";
// docs/security.md §5). Pure: no I/O.
//
// The token is not a secret and not a capability: being a member is the
// grant in the database's signed access list, and only the holder of the
// member's private keys can use it. The token tells the joiner *what to
// expect*: which database, owned by which Ed25519 key (so a relay cannot
// hand it another database of the same name), with which rights, for which
// member, sealed or not, and where the inviter said to sync.
//
// ## Text form (version 1)
//
//   "bt1" || base64url-without-padding( body || checksum (4) )
//   body = owner ed25519 public (32) || member node id (16, big-endian)
//          || u8 rights (1 relay, 2 r, 3 rw, 4 admin)
//          || u8 flags (bit 0: the access list is sealed; other bits 0)
//          || u8 len(database) || database (1..128 of A-Z a-z 0-9 _ - ., not starting with '.')
//          || u8 len(url) || url (0..255 of printable ASCII without space: a hint, may be empty)
//   checksum = SHA-256( "blazedb/invite-token/v1" 0x00 || body )[0..4)
//
// 79 characters for a one-letter database name and no URL; at most 589.
// Like member keys (core/crypto/member_key.hpp) the checksum catches a
// mistyped or truncated paste before anything is synced or written.
#pragma once

#include "core/access.hpp"
#include "core/crypto/ed25519.hpp"
#include "core/ids.hpp"
#include "core/status.hpp"

#include <string>
#include <string_view>

namespace blaze {

struct invite_token {
  std::string database{};                    // the database's name (what sync names)
  crypto::ed25519_public_key owner{};        // the access list's owner (its database record's `owner`)
  node_id member{};                          // the invited node (node_id_of its Ed25519 key)
  access_rights rights = access_rights::none;  // granted: relay, r, rw or admin
  bool sealed = false;                       // the access list is sealed (end-to-end encrypted)
  std::string url{};                         // where to sync, as the inviter suggests; may be empty

  static constexpr std::string_view prefix = "bt1";
  static constexpr size_t max_database = 128;
  static constexpr size_t max_url = 255;
  /// Bytes of the decoded form around the two variable fields.
  static constexpr size_t fixed_bytes = 32 + 16 + 1 + 1 + 1 + 1 + 4;
  static constexpr size_t min_text_size = 3 + ((fixed_bytes + 1) * 4 + 2) / 3;
  static constexpr size_t max_text_size = 3 + ((fixed_bytes + max_database + max_url) * 4 + 2) / 3;

  /// node_id_of(owner).
  node_id owner_id() const;

  /// OK when every field can be encoded: a valid database name, rights
  /// relay..admin, a URL of at most 255 printable ASCII characters without
  /// spaces. errc::invalid_argument naming the field otherwise.
  status validate() const;

  /// The text form above; errc::invalid_argument when validate() fails.
  result<std::string> to_string() const;

  /// Parses the text form (surrounding ASCII whitespace ignored).
  /// errc::invalid_argument with a message saying what is wrong: empty, not
  /// a token (another prefix: a member key, say), a character outside
  /// base64url (and where), a length no token has or that disagrees with
  /// the lengths the token states (cut or joined when pasted), a checksum
  /// mismatch (a typo), or a field no version-1 token holds (unknown rights
  /// or flags, a bad database name or URL). Never reads outside `text`.
  static result<invite_token> parse(std::string_view text);

  bool operator==(const invite_token&) const = default;
};

/// The database-name rule of the registry (actors/registry_actor.cpp),
/// here so the pure token can check it: 1..128 of A-Z a-z 0-9 _ - ., not
/// starting with '.'.
bool valid_database_name(std::string_view name);

} // namespace blaze
