// Cap'n Proto encodings of values, operations and record states
// (schema/*.capnp). Decoders never trust their input: malformed bytes give a
// `corrupt` status, never a crash. Record encodings are canonical.
#pragma once

#include "core/operation.hpp"
#include "core/record.hpp"
#include "core/status.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace blaze {

/// Limits for decoding untrusted or stored bytes.
struct decode_limits {
  uint64_t traversal_words = 64 << 20;  // Cap'n Proto traversal limit (8-byte words);
                                        // also capped at 4x the input's words + 64
  int nesting = 32;                     // Cap'n Proto nesting limit (< the default 64)
};

std::string encode(const operation& op);
result<operation> decode_operation(std::string_view bytes, const decode_limits& lim = {});

std::string encode(const record_state& r);
result<record_state> decode_record(std::string_view bytes, const decode_limits& lim = {});

std::string encode(const value& v);
result<value> decode_value(std::string_view bytes, const decode_limits& lim = {});

std::string encode(const conflict& c);
result<conflict> decode_conflict(std::string_view bytes, const decode_limits& lim = {});

/// Cap'n Proto packing of flat message words (the encodings above are
/// packed), and its inverse (nullopt when malformed or over `max_words`).
std::string pack_words(std::string_view flat);
std::optional<std::string> unpack_words(std::string_view packed, uint64_t max_words = 1 << 20);

/// 64-bit FNV-1a of the bytes; used for state digests in tests and `status`.
uint64_t fnv1a(std::string_view bytes, uint64_t seed = 14695981039346656037ull);

} // namespace blaze
