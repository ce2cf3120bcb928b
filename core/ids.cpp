#include "core/ids.hpp"

namespace blaze {

std::string id128::to_hex() const {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out(32, '0');
  for (int i = 0; i < 16; ++i) {
    out[15 - i] = digits[(hi >> (4 * i)) & 0xf];
    out[31 - i] = digits[(lo >> (4 * i)) & 0xf];
  }
  return out;
}

std::optional<id128> id128::from_hex(std::string_view s) {
  if (s.size() != 32)
    return std::nullopt;
  id128 r;
  for (size_t i = 0; i < 32; ++i) {
    char c = s[i];
    uint64_t v;
    if (c >= '0' && c <= '9')
      v = c - '0';
    else if (c >= 'a' && c <= 'f')
      v = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      v = c - 'A' + 10;
    else
      return std::nullopt;
    uint64_t& half = i < 16 ? r.hi : r.lo;
    half = (half << 4) | v;
  }
  return r;
}

id128 id128::from_bytes(const unsigned char* p) {
  id128 r;
  for (int i = 0; i < 8; ++i) {
    r.hi = (r.hi << 8) | p[i];
    r.lo = (r.lo << 8) | p[8 + i];
  }
  return r;
}

void id128::to_bytes(unsigned char* out) const {
  for (int i = 0; i < 8; ++i) {
    out[i] = static_cast<unsigned char>(hi >> (56 - 8 * i));
    out[8 + i] = static_cast<unsigned char>(lo >> (56 - 8 * i));
  }
}

} // namespace blaze
