// Sealed operations: end-to-end encryption of an operation under the
// database's content key (DESIGN §8, issue 4 item 5, docs/security.md
// "Sealed operations"). Pure: no I/O, no state.
//
// A sealed operation is an ordinary `operation` of kind `sealed`:
//
//   outer (clear, routing metadata)     dot, timestamp (counter), collection,
//                                       transaction tag (txn: id and parts);
//                                       record = 0; no fields
//   outer.sealed_box                    crypto::seal(key, inner, ad): 33 bytes
//                                       more than inner (aead.hpp)
//   ad                                  sealed_op_associated_data(db, outer)
//                                       = op_associated_data(db, collection, dot)
//                                         || u64 counter (big-endian)
//   inner                               encode_sealed_inner(plain): the rest of
//                                       the operation, compact (below)
//
// So a relay without the key can store, forward, order (dot, timestamp) and
// verify chains over (the encoding of the outer operation is what is chained
// and signed) a sealed operation, and learns nothing of the record id, the
// kind, the field names or the values beyond their total size. Moving the box
// to another database, collection, dot or timestamp, another key or epoch, or
// altering any byte makes `open_operation` fail.
//
// ## Inner format (version 1)
//
// Not Cap'n Proto: its pointers cost ~5 bytes each even packed, and an
// inner one-field update would be 101 bytes instead of 45. Integers are
// LEB128 varints in their shortest form (`v`), signed ones zigzag-coded
// (`z`); `str` = v length || bytes; `id` = 16 bytes big-endian.
//
//   inner   = u8 format (1) || u8 kind || body
//   kind 0 upsert   id record || v n || field*n
//     field = str name || u8 flags || [base] || payload
//       flags: bits 0-1 op (0 set, 1 increment, 2 add, 3 remove);
//              0x04 has base (set only); 0x08 base counter absolute (else
//              it is counter - base.counter); 0x10 base node = dot.origin
//       base  = v counter-or-delta || [id node unless 0x10]
//       set/add: value; increment: z delta;
//       remove: value || v m || (id origin || v seq)*m
//   kind 1 delete   id record || v n || (str field || id origin || v positive || v negative)*n
//   kind 2 create_index, 3 drop_index: str field
//   value   = u8 tag || payload: 0 null, 1 false, 2 true, 3 int (z),
//             4 double (u64 big-endian IEEE bits), 5 string (str), 6 bytes (str),
//             7 time (z micros), 8 uuid (id), 9 array (v n || value*n),
//             10 map (v n || (str key || value)*n, keys unique)
//
// Anything else (unknown format, kind, tag or flags, a count larger than
// the rest of the input could hold, nesting deeper than the decode limit,
// trailing bytes, non-shortest varints) is refused.
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

/// The inner encoding of `op` (any kind but sealed; format above). Its dot,
/// counter and collection are not encoded (the outer part carries them).
std::string encode_sealed_inner(const operation& op);

/// The operation of an inner encoding, given the outer dot and counter (the
/// collection is left empty for the caller to fill); errc::corrupt naming
/// the byte and the reason when malformed. `nesting` bounds value nesting.
/// Exposed for tests and fuzzing; open_operation is the normal way in.
result<operation> decode_sealed_inner(std::string_view inner, const dot& id, uint64_t counter, int nesting = 32);

/// The GCM associated data of a sealed operation: what binds the box to the
/// outer operation's clear part:
///   op_associated_data(database_id, outer.collection, outer.id) || u64 outer.counter
std::string sealed_op_associated_data(std::string_view database_id, const operation& outer);

/// Seals `plain` (any kind but `sealed`) under `key` for `database_id`.
/// Contract: the result has plain's dot, counter, collection and txn tag, a zero
/// record, kind `sealed` and no other field; its box is
/// 33 + encode_sealed_inner(plain).size() bytes. `fixed_nonce` is for deterministic test
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

/// The plaintext operation inside `sealed` (dot, counter, collection and txn from
/// the outer part, the rest from the box), decoded within `lim`.
/// errc::invalid_argument if `sealed` is not of kind sealed; errc::corrupt,
/// naming the dot and the reason, when the outer part carries a record or
/// fields, the box does not authenticate (another key or epoch, database,
/// collection, dot or timestamp, or altered bytes), or the inner part does not
/// decode (decode_sealed_inner, nesting bounded by lim.nesting). The inner
/// format has no room for a dot, timestamp, collection or a nested sealed
/// operation, so it cannot contradict the outer. Does not check names and sizes: call
/// validate(op, limits) on the result as for any received operation.
result<operation> open_operation(const operation& sealed, const crypto::content_key& key,
                                 std::string_view database_id, const decode_limits& lim = {});

} // namespace blaze
