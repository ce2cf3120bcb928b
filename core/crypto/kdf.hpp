// HKDF-SHA256 (RFC 5869) through OpenSSL's EVP_KDF "HKDF".
#pragma once

#include "core/status.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace blaze::crypto {

/// Extract-then-expand HKDF with SHA-256: writes `length` bytes (at most
/// 255 * 32) of output keying material to `out`. An empty salt means
/// HashLen zero bytes (RFC 5869 §2.2). Fails (errc::invalid_argument) for a
/// length of 0 or over the maximum.
status hkdf_sha256(std::string_view ikm, std::string_view salt, std::string_view info, uint8_t* out, size_t length);

} // namespace blaze::crypto
