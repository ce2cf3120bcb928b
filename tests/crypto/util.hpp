// Helpers for the crypto tests: hex, fixed test keys, Boost.Test printers.
#pragma once

#include "core/crypto/aead.hpp"
#include "core/crypto/ed25519.hpp"
#include "core/crypto/hash_chain.hpp"
#include "core/crypto/key_wrap.hpp"
#include "core/crypto/sha256.hpp"
#include "core/crypto/wire.hpp"
#include "core/status.hpp"

#include <boost/test/unit_test.hpp>

#include <ostream>
#include <stdexcept>
#include <string>

namespace blaze::crypto::test {

inline std::string unhex(std::string_view h) {
  if (h.size() % 2)
    throw std::invalid_argument("odd hex length");
  auto nib = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    throw std::invalid_argument("bad hex digit");
  };
  std::string out;
  for (size_t i = 0; i < h.size(); i += 2)
    out.push_back(static_cast<char>(nib(h[i]) * 16 + nib(h[i + 1])));
  return out;
}

inline std::string hex(std::string_view b) { return to_hex(b); }

template <class T> T ok(result<T> r) {
  BOOST_REQUIRE_MESSAGE(r.ok(), "unexpected error: " + (r.ok() ? std::string() : r.error().to_string()));
  return std::move(*r);
}

/// A deterministic signing key (seed: 32 times `fill`).
inline signing_key key_from_fill(char fill) {
  return ok(signing_key::from_seed(ok(secret_bytes<32>::from(std::string(32, fill)))));
}

inline aes256gcm::nonce iv_of(std::string_view s) { return wire::to_array<aes256gcm::nonce_size>(s); }

/// `s` with bit `bit` (0..7) of byte `i` flipped.
inline std::string flip(std::string s, size_t i, int bit) {
  s[i] = static_cast<char>(s[i] ^ (1 << bit));
  return s;
}

} // namespace blaze::crypto::test

namespace blaze::crypto {
inline std::ostream& boost_test_print_type(std::ostream& os, const chain_fault& f) { return os << to_string(f); }
inline std::ostream& boost_test_print_type(std::ostream& os, const digest& d) { return os << to_hex(as_view(d)); }
inline std::ostream& boost_test_print_type(std::ostream& os, const x25519_public_key& k) { return os << to_hex(k.view()); }
} // namespace blaze::crypto
namespace blaze {
inline std::ostream& boost_test_print_type(std::ostream& os, const errc& e) { return os << to_string(e); }
inline std::ostream& boost_test_print_type(std::ostream& os, const id128& x) { return os << x.to_hex(); }
} // namespace blaze
