// Identifiers: 128-bit node and record ids, and dots (origin, seq).
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace blaze {

/// A 128-bit identifier. Node ids are the first 16 bytes of SHA-256 of the
/// node's public key; record ids are random. Ordered as an unsigned integer.
struct id128 {
  uint64_t hi = 0;
  uint64_t lo = 0;

  auto operator<=>(const id128&) const = default;
  bool is_zero() const { return hi == 0 && lo == 0; }

  /// 32 lower-case hex digits.
  std::string to_hex() const;
  /// Parses exactly 32 hex digits; nullopt otherwise.
  static std::optional<id128> from_hex(std::string_view s);
  /// From 16 big-endian bytes.
  static id128 from_bytes(const unsigned char* p);
  void to_bytes(unsigned char* out) const;
};

using node_id = id128;
using record_id = id128;

/// An operation's identity: origin node and its gap-free sequence number (1, 2, ...).
struct dot {
  node_id origin;
  uint64_t seq = 0;
  auto operator<=>(const dot&) const = default;
};

struct id128_hash {
  size_t operator()(const id128& x) const noexcept {
    return std::hash<uint64_t>{}(x.hi * 0x9E3779B97F4A7C15ull ^ x.lo);
  }
};

} // namespace blaze
