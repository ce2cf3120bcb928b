// SHA-256 (FIPS 180-4) through OpenSSL's EVP interface.
#pragma once

#include <openssl/types.h>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace blaze::crypto {

/// A SHA-256 digest.
using digest = std::array<uint8_t, 32>;

/// SHA-256 of `bytes`. Never fails: an OpenSSL without SHA-256 is a broken
/// installation, and the call aborts with a message instead of returning a
/// wrong digest.
digest sha256(std::string_view bytes);

/// Incremental SHA-256 over several pieces; `finish()` once, then discard.
/// Reusable with `reset()`, which keeps the allocated context (the chain
/// verifier hashes one link per operation with one hasher).
class sha256_hasher {
public:
  sha256_hasher();
  ~sha256_hasher();
  sha256_hasher(const sha256_hasher&) = delete;
  sha256_hasher& operator=(const sha256_hasher&) = delete;

  sha256_hasher& reset();
  sha256_hasher& update(std::string_view bytes);
  sha256_hasher& update(const uint8_t* p, size_t n);
  digest finish();

private:
  EVP_MD_CTX* ctx_;
};

/// The bytes of a digest (or any byte array) as a string_view, and as 64
/// lower-case hex digits, for messages.
template <size_t N> std::string_view as_view(const std::array<uint8_t, N>& a) {
  return {reinterpret_cast<const char*>(a.data()), N};
}
std::string to_hex(std::string_view bytes);

} // namespace blaze::crypto
