// Per-origin hash chains: one Ed25519 signature covers a whole batch of an
// origin's operations (DESIGN §8, issue 4 item 2).
//
// ## The chain
//
// Every origin's operations form one chain per database, in seq order
// (1, 2, 3, ... without gaps, DESIGN §3):
//
//   link_0 = SHA-256("blazedb/chain-genesis/v1" 0x00 || u32 len(db) || db || origin)
//   link_k = SHA-256("blazedb/chain-link/v1" 0x00 || link_{k-1} || origin || u64 k || SHA-256(op_k))
//
// (`||` concatenation, integers big-endian, origin the 16-byte node id, db
// the database identity, op_k the operation's canonical bytes; docs/security.md
// has the byte layouts). The origin signs a *head*:
//
//   head(seq, link) = Ed25519(origin key, "blazedb/chain-head/v1" 0x00 || u32 len(db) || db || origin || u64 seq || link)
//
// A valid head at seq n vouches, through the collision resistance of
// SHA-256, for the exact bytes and order of operations 1..n: changing,
// dropping, inserting or reordering any of them changes link_n.
//
// ## What a receiver keeps, per (database, origin): a `chain_state`
//
// The seq and link of the last operation it verified (seq 0 and link_0
// before the first), stored atomically with the operations it applied (the
// store's version vector entry for that origin says the same seq). Nothing
// else: the link at seq n summarises the whole history 1..n.
//
// ## What the sender sends, per origin in a batch
//
// Operations first_seq..last, contiguous, and a `chain_head` at `last`
// (seq, link and signature: 104 bytes per origin per batch, nothing per
// operation: the receiver recomputes every link). Heads are made only by the
// origin (only it has the key) and are forwarded unchanged by every other
// replica or relay; a sender therefore ends each origin's range at a seq for
// which it holds a head signed by that origin.
//
// ## Why forged, reordered, replayed and misplaced operations are refused
//
// `verify_batch` checks, in this order, and refuses the whole batch on the
// first failure (the error names the seq and the reason, `chain_fault`):
// - origin_mismatch: the key is not the origin's (key_owns_origin: the
//   origin is neither the key's node id nor that node's replica of the
//   database), so a key cannot sign for another node's dots;
// - replay: first_seq <= the verified seq: these dots were already verified
//   (a replayed batch has no second effect; see equivocation below for one
//   that differs);
// - seq_gap: first_seq > verified seq + 1 (operations in between are
//   missing), or the operations do not reach the head's seq exactly
//   (dropped operations, or operations the head does not cover);
// - bad_signature: the head's signature does not verify for this key,
//   database and origin (a forged head, another key, another database: the
//   database identity is in every head and in link_0, so a chain cannot be
//   replayed into another database);
// - broken_chain: the signature is good but the operations, chained from the
//   verified link, do not give the signed link: an operation was altered,
//   swapped or replaced, or the batch does not continue the verified
//   history. Which operation cannot be told (the chain only vouches for the
//   whole range); the error names the head's seq and the range.
// On success the receiver may apply every operation of the batch and store
// the returned state. The caller must also check that each decoded operation's
// dot is (origin, first_seq + i): the chain binds bytes to positions, the
// decoder reads the dot from the bytes.
//
// ## Equivocation
//
// An origin that signs two different operations under one dot (a restored
// copy of its data directory, say) is caught when the second one arrives for
// a dot the receiver already holds (it is refused by verify_batch as a
// replay before it could be applied): compare `op_hash` of the held and the
// arriving bytes. Equal: a harmless duplicate; different: equivocation, and
// `check_equivocation` returns both byte strings as evidence.
#pragma once

#include "core/crypto/ed25519.hpp"
#include "core/crypto/sha256.hpp"
#include "core/ids.hpp"
#include "core/status.hpp"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>

namespace blaze::crypto {

using chain_link = digest;

/// A position in an origin's chain: the last verified (or built) seq and its
/// link. What a receiver keeps per (database, origin); see the file comment.
struct chain_state {
  uint64_t seq = 0;
  chain_link link{};
  bool operator==(const chain_state&) const = default;
};

/// The origin under which node `node` writes database `database_id`: the
/// first 16 bytes of SHA-256("blazedb-replica:" ‖ node id ‖ name). Each
/// database replica is its own origin (actors/registry_actor.hpp).
node_id replica_of(const node_id& node, std::string_view database_id);

/// Whether `key` may sign `origin`'s chain of `database_id`: `origin` is the
/// key's node id or that node's replica of the database (replica_of).
bool key_owns_origin(const ed25519_public_key& key, std::string_view database_id, const node_id& origin);

/// link_0 for (database, origin).
chain_link chain_genesis(std::string_view database_id, const node_id& origin);
/// {0, link_0}: the state before an origin's first operation.
chain_state chain_start(std::string_view database_id, const node_id& origin);

/// SHA-256 of an operation's canonical bytes: what the chain commits to, and
/// what equivocation detection compares.
inline digest op_hash(std::string_view op_bytes) { return sha256(op_bytes); }

/// link_seq from link_{seq-1} and the operation's hash.
chain_link chain_next(const chain_link& prev, const node_id& origin, uint64_t seq, const digest& op_hash);

/// The exact bytes a head signature covers.
std::string head_message(std::string_view database_id, const node_id& origin, uint64_t seq, const chain_link& link);

/// A signed head: the origin vouches that its chain is at `link` at `seq`.
struct chain_head {
  uint64_t seq = 0;
  chain_link link{};
  signature sig;
  bool operator==(const chain_head&) const = default;
};

/// The origin's side: append its operations in seq order, sign a head when a
/// batch (or a commit) ends. Resumable from a stored state.
class chain_builder {
public:
  /// From the genesis (no operation yet).
  chain_builder(std::string database_id, node_id origin);
  /// From a stored position (seq n, link_n).
  chain_builder(std::string database_id, node_id origin, chain_state from);

  /// Appends the operation with seq state().seq + 1; returns that seq.
  uint64_t append(std::string_view op_bytes);
  const chain_state& state() const { return state_; }

  /// Signs the head at state(). Fails (errc::invalid_argument) if `key` is
  /// not the origin's key or no operation was appended yet (seq 0).
  result<chain_head> sign_head(const signing_key& key) const;

private:
  std::string db_;
  node_id origin_;
  chain_state state_;
};

/// Why verify_batch refused a batch (see the file comment).
enum class chain_fault : uint8_t { empty_batch, origin_mismatch, replay, seq_gap, bad_signature, broken_chain };
const char* to_string(chain_fault f);

struct chain_error {
  chain_fault fault;
  uint64_t seq;         // the seq the check failed at (see verify_batch)
  std::string message;  // for the log and the peer's Error

  /// As a status: replay and seq_gap are errc::out_of_order, the others
  /// errc::corrupt (bytes that do not authenticate).
  status to_status() const;
};

/// Either the new chain_state (the batch verified) or the chain_error.
class chain_verdict {
public:
  chain_verdict(chain_state s) : v_(s) {}
  chain_verdict(chain_error e) : v_(std::move(e)) {}
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  /// Precondition: ok().
  const chain_state& state() const { return std::get<0>(v_); }
  /// Precondition: !ok().
  const chain_error& error() const { return std::get<1>(v_); }

private:
  std::variant<chain_state, chain_error> v_;
};

/// Verifies the operations first_seq .. first_seq + ops.size() - 1 of
/// `origin` against `head`, continuing from `prev` (what the receiver
/// stored). On success returns {head.seq, head.link}: store it with the
/// applied operations. On failure the error's seq is: first_seq for
/// empty_batch, origin_mismatch and replay; the first missing seq for
/// seq_gap; head.seq for bad_signature and broken_chain. Never throws.
chain_verdict verify_batch(const ed25519_public_key& key, std::string_view database_id, const node_id& origin,
                           const chain_state& prev, uint64_t first_seq, std::span<const std::string_view> ops,
                           const chain_head& head);
chain_verdict verify_batch(const ed25519_public_key& key, std::string_view database_id, const node_id& origin,
                           const chain_state& prev, uint64_t first_seq, std::span<const std::string> ops,
                           const chain_head& head);

/// As verify_batch, given each operation's op_hash instead of its bytes:
/// what a receiver uses when a sender left out operations of collections the
/// receiver does not sync (it sends their hashes; docs/protocol.md §5b).
chain_verdict verify_hashes(const ed25519_public_key& key, std::string_view database_id, const node_id& origin,
                            const chain_state& prev, uint64_t first_seq, std::span<const digest> op_hashes,
                            const chain_head& head);

/// Whether `head` is `origin`'s signature (by `key`, whose node id must be
/// `origin`) of its chain at head.seq in `database_id`. What a snapshot's
/// receiver checks: it adopts {head.seq, head.link} as its chain state.
bool verify_head(const ed25519_public_key& key, std::string_view database_id, const node_id& origin,
                 const chain_head& head);

/// Two different operations under one dot: the evidence is both byte strings.
struct equivocation_evidence {
  dot at;
  std::string held;      // the operation the receiver already had
  std::string incoming;  // the other one
  digest held_hash, incoming_hash;
  /// errc::equivocation, naming the dot and both hashes.
  status to_status() const;
};

/// Detection is a comparison of op hashes: op_hash(held) != op_hash(incoming)
/// means equivocation (evidence returned); equal means the same operation
/// (nullopt: a duplicate, to be ignored).
std::optional<equivocation_evidence> check_equivocation(const dot& at, std::string_view held,
                                                        std::string_view incoming);

} // namespace blaze::crypto
