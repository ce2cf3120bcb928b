// The canonical byte layouts the crypto formats are built from (see
// docs/security.md, "Cryptographic primitives"): big-endian integers,
// u32-length-prefixed strings, 16-byte node ids, and NUL-terminated domain
// tags. Every hashed, signed or authenticated input in core/crypto is a
// concatenation of these, so two different inputs never encode alike.
#pragma once

#include "core/ids.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace blaze::crypto::wire {

/// A domain tag: the ASCII text and a 0 byte. Each kind of input starts with
/// its own tag, so a signature or hash made for one purpose is never valid for
/// another.
inline void put_tag(std::string& out, std::string_view tag) {
  out.append(tag);
  out.push_back('\0');
}
inline void put_u8(std::string& out, uint8_t v) { out.push_back(static_cast<char>(v)); }
inline void put_u32(std::string& out, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8)
    out.push_back(static_cast<char>((v >> s) & 0xff));
}
inline void put_u64(std::string& out, uint64_t v) {
  for (int s = 56; s >= 0; s -= 8)
    out.push_back(static_cast<char>((v >> s) & 0xff));
}
/// u32 big-endian length, then the bytes. Callers bound sizes far below 4 GiB.
inline void put_bytes(std::string& out, std::string_view b) {
  put_u32(out, static_cast<uint32_t>(b.size()));
  out.append(b);
}
/// 16 bytes, big-endian (id128::to_bytes).
inline void put_id(std::string& out, const node_id& id) {
  unsigned char b[16];
  id.to_bytes(b);
  out.append(reinterpret_cast<const char*>(b), 16);
}
template <size_t N> void put_fixed(std::string& out, const std::array<uint8_t, N>& a) {
  out.append(reinterpret_cast<const char*>(a.data()), N);
}

/// Reads a big-endian u32 at `p` (4 bytes must be there).
inline uint32_t get_u32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i)
    v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

template <size_t N> std::array<uint8_t, N> to_array(std::string_view b) {
  std::array<uint8_t, N> a{};
  for (size_t i = 0; i < N && i < b.size(); ++i)
    a[i] = static_cast<uint8_t>(b[i]);
  return a;
}

} // namespace blaze::crypto::wire
