// Sealed operations: end-to-end encryption of an operation under the
// database's content key (DESIGN §8, issue 4 item 5, docs/security.md
// "Sealed operations"). Pure: no I/O, no state.
//
// A sealed operation is an ordinary `operation` of kind `sealed`:
//
//   outer (clear, routing metadata)     dot, timestamp (counter), collection;
//                                       record = 0; no fields
//   outer.sealed_box                    crypto::seal(key, inner, ad)
//   inner                               encode(plain) with dot = 0,
//                                       counter = 0 and collection = "" (what
//                                       the outer carries is not repeated)
//   ad                                  sealed_op_associated_data(db, outer)
//                                       = op_associated_data(db, collection, dot)
//                                         || u64 counter (big-endian)
//
// So a relay without the key can store, forward, order (dot, timestamp) and
// verify chains over (the encoding of the outer operation is what is chained
// and signed) a sealed operation, and learns nothing of the record id, the
// kind, the field names or the values beyond their total size. Moving the box
// to another database, collection, dot or timestamp, another key or epoch, or
// altering any byte makes `open_operation` fail.
#pragma once

#include "core/codec.hpp"
#include "core/crypto/aead.hpp"
#include "core/crypto/content_key.hpp"
#include "core/operation.hpp"
#include "core/status.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace blaze {

/// The GCM associated data of a sealed operation: what binds the box to the
/// outer operation's clear part:
///   op_associated_data(database_id, outer.collection, outer.id) || u64 outer.counter
std::string sealed_op_associated_data(std::string_view database_id, const operation& outer);

/// Seals `plain` (any kind but `sealed`) under `key` for `database_id`.
/// Contract: the result has plain's dot, counter and collection, a zero
/// record, kind `sealed` and no other field; its box is
/// 33 + size(inner encoding) bytes. `fixed_nonce` is for deterministic test
/// vectors and fuzz seeds only (never reuse a nonce with a key).
/// Fails with errc::invalid_argument for an already sealed operation, or as
/// crypto::seal does (errc::too_large over 1 GiB, errc::io_error).
result<operation> seal_operation(const operation& plain, const crypto::content_key& key, std::string_view database_id,
                                 const std::optional<crypto::aes256gcm::nonce>& fixed_nonce = std::nullopt);

/// The content-key epoch a sealed operation names (to pick the key from a
/// keyring). Not authenticated until open_operation succeeds.
/// errc::invalid_argument if `sealed` is not of kind sealed; errc::corrupt
/// if the box is too short or of an unknown version.
result<uint32_t> sealed_op_epoch(const operation& sealed);

/// The plaintext operation inside `sealed` (dot, counter and collection from
/// the outer part, the rest from the box), decoded within `lim`.
/// errc::invalid_argument if `sealed` is not of kind sealed; errc::corrupt,
/// naming the dot and the reason, when the outer part carries a record or
/// fields, the box does not authenticate (another key or epoch, database,
/// collection, dot or timestamp, or altered bytes), or the inner part does not
/// decode or contradicts the outer (carries a dot, timestamp or collection of
/// its own, or is itself sealed). Does not check names and sizes: call
/// validate(op, limits) on the result as for any received operation.
result<operation> open_operation(const operation& sealed, const crypto::content_key& key,
                                 std::string_view database_id, const decode_limits& lim = {});

} // namespace blaze
