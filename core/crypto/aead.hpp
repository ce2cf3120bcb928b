// Sealed payloads: AES-256-GCM under the database's content key
// (DESIGN §8, issue 4 item 5).
//
// ## Sealed payload format (version 1)
//
//   offset 0   u8    version = 1
//          1   u32   epoch of the content key (big-endian)
//          5   12 B  nonce: random (RAND_bytes), new for every seal
//         17   n B   ciphertext (same length as the plaintext)
//       17+n   16 B  GCM tag
//
// 33 bytes of overhead per payload. The GCM associated data is the 5-byte
// header (version and epoch) followed by the caller's associated data, so the
// tag covers every byte of the payload and its context: a bit flip anywhere
// (header, nonce, ciphertext or tag), another key, another epoch, or other
// associated data makes `open` fail with errc::corrupt, never crash or
// return altered plaintext.
//
// For operations the associated data is `op_associated_data(database,
// collection, dot)`, so a sealed operation cannot be moved to another
// database, collection or dot.
//
// Random 96-bit nonces: by the birthday bound, keep fewer than 2^32 seals per
// key (NIST SP 800-38D §8.3); rotate the key long before (an epoch per
// member removal is far below that).
#pragma once

#include "core/crypto/content_key.hpp"
#include "core/crypto/secret.hpp"
#include "core/ids.hpp"
#include "core/status.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace blaze::crypto {

/// The raw AEAD, for formats built on it (sealed payloads, wrapped keys) and
/// for known-answer tests. No framing.
namespace aes256gcm {

constexpr size_t key_size = 32, nonce_size = 12, tag_size = 16;
using nonce = std::array<uint8_t, nonce_size>;

/// ciphertext || tag. A (key, nonce) pair must never encrypt twice.
/// Fails (errc::too_large) for inputs over 1 GiB.
result<std::string> encrypt(const secret_bytes<32>& key, const nonce& iv, std::string_view plaintext,
                            std::string_view aad);
/// The plaintext of ciphertext || tag, or errc::corrupt when the tag does not
/// authenticate (wrong key, nonce, aad, or altered bytes) or the input is
/// shorter than a tag.
result<std::string> decrypt(const secret_bytes<32>& key, const nonce& iv, std::string_view ciphertext_and_tag,
                            std::string_view aad);

} // namespace aes256gcm

constexpr uint8_t sealed_version = 1;
constexpr size_t sealed_header_size = 1 + 4 + aes256gcm::nonce_size;             // 17
constexpr size_t sealed_overhead = sealed_header_size + aes256gcm::tag_size;       // 33

/// The associated data of a sealed operation:
///   "blazedb/op-ad/v1" 0x00 || u32 len(db) || db || u32 len(collection) || collection || origin(16) || u64 seq
std::string op_associated_data(std::string_view database_id, std::string_view collection, const dot& at);

/// Seals `plaintext` under `key` (format above). `fixed_nonce` is for
/// known-answer tests and deterministic fuzz seeds only: reusing a nonce with
/// one key breaks GCM's confidentiality and integrity. Fails only on inputs
/// over 1 GiB (errc::too_large) or an OpenSSL failure.
result<std::string> seal(const content_key& key, std::string_view plaintext, std::string_view associated_data,
                         const std::optional<aes256gcm::nonce>& fixed_nonce = std::nullopt);

/// The epoch a sealed payload names, to pick the key: errc::corrupt if the
/// payload is shorter than the overhead or has another version. Not
/// authenticated until `open` succeeds.
result<uint32_t> sealed_epoch(std::string_view sealed);

/// The plaintext, or errc::corrupt with the reason: truncated, unknown
/// version, an epoch other than the key's, or authentication failure.
result<std::string> open(const content_key& key, std::string_view sealed, std::string_view associated_data);

} // namespace blaze::crypto
