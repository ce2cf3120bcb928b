// Secret bytes: fixed-size key material that is wiped (OPENSSL_cleanse) when
// it is destroyed or moved from, and is never copied implicitly.
#pragma once

#include "core/status.hpp"

#include <openssl/crypto.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace blaze::crypto {

/// N bytes of key material. Contract:
/// - move-only; the moved-from object holds zeros;
/// - the destructor overwrites the bytes with OPENSSL_cleanse (the compiler
///   cannot elide it), so a key does not linger in freed memory;
/// - `view()` lends the bytes out; whoever copies them owns the copy.
/// A default-constructed secret holds N zero bytes.
template <size_t N> class secret_bytes {
public:
  static constexpr size_t size() { return N; }

  secret_bytes() = default;
  ~secret_bytes() { wipe(); }
  secret_bytes(const secret_bytes&) = delete;
  secret_bytes& operator=(const secret_bytes&) = delete;
  secret_bytes(secret_bytes&& o) noexcept : b_(o.b_) { o.wipe(); }
  secret_bytes& operator=(secret_bytes&& o) noexcept {
    if (this != &o) {
      b_ = o.b_;
      o.wipe();
    }
    return *this;
  }

  /// Exactly N bytes from `raw`; nullopt-like failure as invalid_argument.
  static result<secret_bytes> from(std::string_view raw) {
    if (raw.size() != N)
      return status{errc::invalid_argument,
                    "key material must be " + std::to_string(N) + " bytes, got " + std::to_string(raw.size())};
    secret_bytes s;
    for (size_t i = 0; i < N; ++i)
      s.b_[i] = static_cast<uint8_t>(raw[i]);
    return s;
  }

  uint8_t* data() { return b_.data(); }
  const uint8_t* data() const { return b_.data(); }
  std::string_view view() const { return {reinterpret_cast<const char*>(b_.data()), N}; }

  /// Constant-time comparison (CRYPTO_memcmp).
  bool equals(const secret_bytes& o) const { return CRYPTO_memcmp(b_.data(), o.b_.data(), N) == 0; }

private:
  void wipe() { OPENSSL_cleanse(b_.data(), N); }
  std::array<uint8_t, N> b_{};
};

/// Fills `out` with `n` bytes from OpenSSL's CSPRNG (RAND_bytes). Fails
/// (errc::io_error, "random generator ...") only when OpenSSL's generator
/// cannot be seeded.
status random_fill(uint8_t* out, size_t n);

/// A fresh random secret.
template <size_t N> result<secret_bytes<N>> random_secret() {
  secret_bytes<N> s;
  if (auto st = random_fill(s.data(), N); !st)
    return st;
  return s;
}

} // namespace blaze::crypto
