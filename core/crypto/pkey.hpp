// What Ed25519 signing keys and X25519 key-agreement keys share: an owned
// OpenSSL key handle, raw 32-byte public keys typed by algorithm, and the
// raw import/export of keys.
#pragma once

#include "core/crypto/secret.hpp"
#include "core/status.hpp"

#include <openssl/types.h>

#include <algorithm>
#include <array>
#include <compare>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

namespace blaze::crypto {

/// Fixed-size raw bytes of one kind (`Tag` keeps kinds apart: an Ed25519
/// public key is not an X25519 one). Any N bytes can be held.
template <class Tag, size_t N> struct fixed_bytes {
  std::array<uint8_t, N> bytes{};

  /// Exactly N bytes; nullopt otherwise.
  static std::optional<fixed_bytes> from_bytes(std::string_view raw) {
    if (raw.size() != N)
      return std::nullopt;
    fixed_bytes k;
    std::copy(raw.begin(), raw.end(), k.bytes.begin());
    return k;
  }
  std::string_view view() const { return {reinterpret_cast<const char*>(bytes.data()), N}; }
  auto operator<=>(const fixed_bytes&) const = default;
};

struct pkey_deleter {
  void operator()(EVP_PKEY* p) const noexcept;
};
/// An owned OpenSSL key; OpenSSL wipes private key material when it frees it.
using pkey_handle = std::unique_ptr<EVP_PKEY, pkey_deleter>;

/// The key operations of `alg` ("ED25519" or "X25519"): a fresh key pair, a
/// key from its 32 raw private bytes, and its raw bytes back.
namespace raw_key {
result<pkey_handle> generate(const char* alg);
result<pkey_handle> from_private(const char* alg, const secret_bytes<32>& raw);
/// The 32-byte public key; errc::invalid_argument for a key of another size.
result<std::array<uint8_t, 32>> public_bytes(const EVP_PKEY* key);
/// The 32 raw private bytes (zeros for a handle without a private key).
secret_bytes<32> private_bytes(const EVP_PKEY* key);
} // namespace raw_key

} // namespace blaze::crypto
