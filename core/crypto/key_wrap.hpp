// X25519 member keys and content keys wrapped for them (DESIGN §8, issue 4
// item 5): ephemeral-static X25519 ECDH, HKDF-SHA256, AES-256-GCM.
//
// ## Wrapped key format (version 1), 85 bytes
//
//   offset 0   u8    version = 1
//          1   u32   epoch of the content key (big-endian)
//          5   32 B  ephemeral X25519 public key (fresh per wrap)
//         37   32 B  encrypted content key
//         69   16 B  GCM tag
//
//   shared   = X25519(ephemeral private, recipient public)   (all-zero refused)
//   okm      = HKDF-SHA256(ikm = shared, salt = empty,
//                info = "blazedb/key-wrap/v1" 0x00 || u32 len(db) || db || u32 epoch
//                       || recipient public || ephemeral public, L = 44)
//   key, iv  = okm[0..32), okm[32..44)
//   ct||tag  = AES-256-GCM(key, iv, content key, aad = bytes 0..37 of the format)
//
// The derived key is used once (the ephemeral key is new per wrap), so the
// derived nonce is never reused. Only the holder of the recipient's private
// key can compute `shared`; the info binds the database, the epoch and both
// public keys, so a wrapped key cannot be moved to another database, member
// or epoch: unwrap fails with errc::corrupt.
#pragma once

#include "core/crypto/content_key.hpp"
#include "core/crypto/pkey.hpp"
#include "core/crypto/secret.hpp"
#include "core/status.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace blaze::crypto {

/// A 32-byte X25519 public key (RFC 7748).
using x25519_public_key = fixed_bytes<struct x25519_public_tag, 32>;

/// An X25519 private key: a member's key-agreement key, separate from its
/// Ed25519 identity key. Move-only; OpenSSL wipes the key when freed.
class x25519_key {
public:
  static result<x25519_key> generate();
  /// From the 32 raw private bytes (RFC 7748 scalar, clamped by X25519).
  static result<x25519_key> from_raw(const secret_bytes<32>& raw);

  x25519_key(x25519_key&&) noexcept = default;
  x25519_key& operator=(x25519_key&&) noexcept = default;

  /// The 32 raw private bytes. Secret.
  secret_bytes<32> raw() const;
  const x25519_public_key& public_key() const { return pub_; }

  /// X25519(this, peer). errc::corrupt for a peer key whose shared secret is
  /// all zeros (a small-order point).
  result<secret_bytes<32>> agree(const x25519_public_key& peer) const;

private:
  static result<x25519_key> adopt(result<pkey_handle> key);
  x25519_key(pkey_handle key, const x25519_public_key& pub) : key_(std::move(key)), pub_(pub) {}
  pkey_handle key_;
  x25519_public_key pub_;
};

constexpr uint8_t wrapped_version = 1;
constexpr size_t wrapped_size = 1 + 4 + 32 + 32 + 16;  // 85

/// Wraps `key` (with its epoch) for `recipient` in `database_id`.
result<std::string> wrap(const content_key& key, const x25519_public_key& recipient, std::string_view database_id);

/// The content key (and its epoch) from a wrapped key made for `recipient`'s
/// public key in `database_id`; errc::corrupt when it was made for another
/// member, database or epoch, or any byte was altered or cut.
result<content_key> unwrap(std::string_view wrapped, const x25519_key& recipient, std::string_view database_id);

} // namespace blaze::crypto
