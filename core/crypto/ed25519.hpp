// Ed25519 (RFC 8032, pure, no pre-hash) signing keys, signatures and node ids
// (DESIGN §3, §8). A node's identity key is an Ed25519 key; its node id is
// the first 16 bytes of SHA-256 of the 32-byte public key, so a dot names the
// key that must have signed it.
#pragma once

#include "core/crypto/pkey.hpp"
#include "core/crypto/secret.hpp"
#include "core/ids.hpp"
#include "core/status.hpp"

#include <openssl/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace blaze::crypto {

/// A 32-byte Ed25519 public key (RFC 8032 encoding). Any 32 bytes can be
/// held; whether they are a valid point is found out by `verify`, which
/// returns false for an invalid key.
using ed25519_public_key = fixed_bytes<struct ed25519_public_tag, 32>;

/// A 64-byte Ed25519 signature (R || S).
using signature = fixed_bytes<struct ed25519_signature_tag, 64>;

/// node id = first 16 bytes (big-endian, as id128::from_bytes) of
/// SHA-256(public key). The same derivation as runtime/identity.
node_id node_id_of(const ed25519_public_key& key);

/// An Ed25519 private key. Move-only; OpenSSL keeps the key material and
/// wipes it when the key is freed. The 32-byte seed (RFC 8032 "private key")
/// is what is stored or exported; the rest is derived from it.
class signing_key {
public:
  /// A new key from OpenSSL's CSPRNG.
  static result<signing_key> generate();
  /// The key whose RFC 8032 private key (seed) is these 32 bytes.
  static result<signing_key> from_seed(const secret_bytes<32>& seed);
  /// A PKCS#8 PEM private key ("BEGIN PRIVATE KEY", unencrypted) holding an
  /// Ed25519 key, as runtime/identity keeps it in identity.key.
  static result<signing_key> from_pem(std::string_view pem);

  signing_key(signing_key&&) noexcept = default;
  signing_key& operator=(signing_key&&) noexcept = default;

  /// The 32-byte seed. Secret: keep it in a secret_bytes.
  secret_bytes<32> seed() const;
  /// PKCS#8 PEM, unencrypted: write it only to a 0600 file.
  result<std::string> to_pem() const;
  const ed25519_public_key& public_key() const { return pub_; }
  node_id id() const { return node_id_of(pub_); }

  /// Signs `message` (any length; Ed25519 hashes it with SHA-512 itself).
  /// Deterministic: the same key and message give the same signature.
  /// Fails only if OpenSSL fails (errc::io_error).
  result<signature> sign(std::string_view message) const;

private:
  /// Takes an Ed25519 private key.
  static result<signing_key> adopt(result<pkey_handle> key);
  signing_key(pkey_handle key, const ed25519_public_key& pub) : key_(std::move(key)), pub_(pub) {}
  pkey_handle key_;
  ed25519_public_key pub_;
};

/// Free-function form of signing_key::sign.
inline result<signature> sign(const signing_key& key, std::string_view message) { return key.sign(message); }

/// True iff `sig` is a valid Ed25519 signature of `message` by `key`
/// (RFC 8032 §5.1.7, as OpenSSL checks it: canonical S, valid point
/// encodings). Never throws; false for an invalid key or signature.
bool verify(const ed25519_public_key& key, std::string_view message, const signature& sig);

} // namespace blaze::crypto
