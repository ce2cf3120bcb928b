// Access control (DESIGN §8, issue 4 items 4, 5, 7; docs/security.md §4):
// who may read, write, administer or merely store a database, and the
// content keys wrapped for its readers. Pure: no I/O, no state but what the
// caller passes in.
//
// The access list is ordinary replicated data: the records of the reserved
// collection `_access`, written with normal `write`s (so they are signed
// through the origin's hash chain and sync like any data) and never sealed
// (relays must read it to enforce it). Layout:
//
//   database record, id 0 (access::database_record)
//     owner    bytes(32)  the owner's Ed25519 public key; set once
//     sealed   bool       end-to-end encryption on; set once
//     epoch    integer    the current content-key epoch (0 when not sealed)
//     check    bytes(16)  key_check of the current epoch's key (sealed only):
//                         written with `epoch`, so concurrent rotations by two
//                         admins are detected (keyring::sealing_key)
//   member record, id = node_id_of(member's Ed25519 key)
//     ed25519  bytes(32)  the member's Ed25519 public key
//     x25519   bytes(32)  the member's X25519 public key
//     rights   string     "none" | "relay" | "r" | "rw" | "admin"
//     key.<N>  bytes(85)  content key of epoch N wrapped for this member
//                         (crypto::wrap; N in decimal, no leading zeros)
//
// A database's identity is bound to its owner's key: its id is
// `<name>@<owner node id, 32 hex>` (bound_database_id), and the only
// operation accepted on an empty list is the owner's creation of the
// database record, from the origin that id names, naming a key that hashes
// to it. No one else can create (take over) that id anywhere, and a relay
// that already holds it refuses every later attempt. A plain name without
// `@owner` is first-come on each replica (documented, not recommended).
#pragma once

#include "core/crypto/content_key.hpp"
#include "core/crypto/key_wrap.hpp"
#include "core/crypto/member_key.hpp"
#include "core/ids.hpp"
#include "core/operation.hpp"
#include "core/status.hpp"
#include "core/value.hpp"
#include "core/write.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace blaze {

/// A member's rights, from least to most. Only `relay` and up may hold
/// (store, forward, serve) the database; `r` and up receive content keys.
enum class access_rights : uint8_t { none, relay, read, read_write, admin };

/// "none", "relay", "r", "rw", "admin" (the `rights` field's strings).
const char* to_string(access_rights r);
/// The inverse of to_string; nullopt for anything else.
std::optional<access_rights> parse_rights(std::string_view text);

inline bool can_read(access_rights r) { return r >= access_rights::read; }
inline bool can_write(access_rights r) { return r >= access_rights::read_write; }
inline bool is_admin(access_rights r) { return r == access_rights::admin; }
inline bool may_store(access_rights r) { return r >= access_rights::relay; }

namespace access {

/// The reserved collection holding the access list.
inline constexpr std::string_view collection = "_access";
/// The id of the database record in `_access`.
inline constexpr record_id database_record{0, 0};

/// A content key's check value: SHA-256("blazedb/content-key-check/v1" 0x00
/// || u32 len(db) || db || u32 epoch || key)[0..16). Says which key of an
/// epoch is the current one without revealing it.
std::string key_check(std::string_view database_id, const crypto::content_key& key);

/// "<name>@<owner node id hex>": a database id bound to its owner's key.
std::string bound_database_id(std::string_view name, const node_id& owner);
/// The owner a database id names (the 32 hex digits after its last '@'),
/// nullopt for a plain name.
std::optional<node_id> bound_owner(std::string_view database_id);

} // namespace access

/// One member record as read from `_access`.
struct access_member {
  node_id id;                                          // the record id
  std::optional<crypto::ed25519_public_key> signing{};  // `ed25519`, when valid
  std::optional<crypto::x25519_public_key> exchange{};  // `x25519`, when valid
  access_rights rights = access_rights::none;          // `rights` (none when unknown)
  std::map<uint32_t, std::string> wrapped{};           // `key.<N>`: epoch -> 85-byte wrapped key
};

/// The access list of one database: a read-only view of its `_access`
/// records. Build it by `put`ting every record's visible document (from the
/// store, or after each applied `_access` operation). Malformed fields
/// (wrong type or size) are ignored as if absent: check_operation keeps
/// them out, so they only appear in a store written without it.
class access_list {
public:
  explicit access_list(std::string database_id) : database_id_(std::move(database_id)) {}

  /// Sets what is known of the `_access` record `id` to its visible
  /// document; an empty document (a deleted record) forgets it.
  void put(const record_id& id, const value_map& doc);

  const std::string& database_id() const { return database_id_; }
  /// True until the database record names an owner: nothing is allowed but
  /// the owner's creation (check_operation).
  bool empty() const { return !owner_.has_value(); }
  const std::optional<crypto::ed25519_public_key>& owner() const { return owner_; }
  /// node_id_of(owner), zero when empty.
  node_id owner_id() const;
  /// End-to-end encryption: operations outside `_access` must be sealed.
  bool is_sealed() const { return sealed_; }
  /// The current content-key epoch (what new operations are sealed with);
  /// 0 for a plaintext or empty list.
  uint32_t epoch() const { return epoch_; }
  /// The current epoch's key_check (16 bytes), empty when not recorded.
  const std::string& epoch_check() const { return check_; }

  /// True when a node that cannot read holds the current epoch's wrapped
  /// key: two admins revoked members at once and one revocation wrapped the
  /// new key for a member the other removed. An admin should then
  /// access::rotate.
  bool needs_rotation() const;

  /// The owner is always admin (its record cannot demote it); a node
  /// without a record has none.
  access_rights rights_of(const node_id& node) const;
  bool can_read(const node_id& n) const { return blaze::can_read(rights_of(n)); }
  bool can_write(const node_id& n) const { return blaze::can_write(rights_of(n)); }
  bool is_admin(const node_id& n) const { return blaze::is_admin(rights_of(n)); }
  bool may_store(const node_id& n) const { return blaze::may_store(rights_of(n)); }

  /// The member record of `node`, null when there is none.
  const access_member* find(const node_id& node) const;
  /// The content key of `epoch` wrapped for `member`, null when none.
  const std::string* wrapped_key(const node_id& member, uint32_t epoch) const;
  /// Every member record, by node id (including removed ones: rights none).
  const std::map<node_id, access_member>& members() const { return members_; }

private:
  std::string database_id_;
  std::optional<crypto::ed25519_public_key> owner_;
  bool sealed_ = false;
  uint32_t epoch_ = 0;
  std::string check_;
  std::map<node_id, access_member> members_;
};

/// The content keys one node can read in one database: those wrapped for it
/// in the list, unwrapped with its X25519 key. Move-only (keys are).
class keyring {
public:
  keyring() = default;
  /// Unwraps every `key.<N>` of `self`'s member record. A wrapped key that
  /// does not unwrap (made for another key, altered) is skipped and
  /// described in problems(); it never aborts the rest.
  static keyring unlock(const access_list& list, const node_id& self, const crypto::x25519_key& exchange);

  /// The key of `epoch`, null when not held.
  const crypto::content_key* find(uint32_t epoch) const;
  /// The key of `list.epoch()`: what this node seals new operations with.
  /// errc::forbidden when it does not hold it (not a reader, or not yet
  /// given the current epoch) or holds another key of that epoch than the
  /// list's `check` names (two admins rotated at once and this node got the
  /// losing key: an admin must grant it again), errc::invalid_argument for a
  /// plaintext list.
  result<const crypto::content_key*> sealing_key(const access_list& list) const;
  /// The epochs held, ascending.
  std::vector<uint32_t> epochs() const;
  bool empty() const { return keys_.empty(); }
  /// Adds (or replaces) a key.
  void add(crypto::content_key key);
  const std::vector<std::string>& problems() const { return problems_; }

private:
  std::map<uint32_t, crypto::content_key> keys_;
  std::vector<std::string> problems_;
};

namespace access {

/// The writes that create the access list of `list.database_id()` (which
/// must be empty) owned by `owner`: the database record (owner, sealed,
/// epoch 1 or 0, check), then the owner's member record (admin, and when sealed
/// `key.1`: a fresh epoch-1 content key wrapped for the owner). Apply them in
/// this order, from the owner's node. errc::invalid_argument when the list
/// exists, or the database id is bound to another owner.
result<std::vector<write>> create(const access_list& list, const crypto::member_key& owner, bool sealed);

/// The writes that give `member` `rights` (relay, r, rw or admin): its
/// record (inserted, or updated), and for a reader of a sealed database
/// every epoch `granter` holds wrapped for it (a relay gets no key). Raising
/// rights re-grants keys the member lacks. errc::invalid_argument for an
/// empty list, rights none (use revoke), the owner (always admin), or a
/// reader lowered to relay (use revoke: the key must rotate);
/// errc::forbidden when the granter holds no key of the current epoch for a
/// reader of a sealed database.
result<std::vector<write>> grant(const access_list& list, const crypto::member_key& member, access_rights rights,
                                 const keyring& granter);

/// The writes that remove `member`: rights none and, for a sealed database
/// where it could read, a new epoch: a fresh content key wrapped for every
/// remaining reader (`key.<epoch+1>`) and the database record's epoch
/// raised (with its check). Old epochs stay where they were (readable to those who had them;
/// the removed member keeps what it already had, not what comes next).
/// errc::invalid_argument for an empty list, the owner, a node without a
/// record, or one whose rights are none already.
result<std::vector<write>> revoke(const access_list& list, const node_id& member);

/// The writes of a new epoch without removing anyone: a fresh content key
/// wrapped for every reader, and the database record's epoch and check
/// (after concurrent revocations, needs_rotation(); or after many seals).
/// errc::invalid_argument for an empty or plaintext list.
result<std::vector<write>> rotate(const access_list& list);

} // namespace access

/// The rule a replica applies to an operation from `origin` before
/// accepting it (after its signature is verified), against the access list
/// as it stands. OK, or errc::forbidden with the reason:
///  - `_access`: never sealed; field sets on existing kinds of fields only
///    (no delete, no index, no counters/sets); on an empty list only the
///    owner's creation of the database record (origin = the id's bound owner
///    when the id is bound, owner key hashing to origin); afterwards admins
///    only; `owner` and `sealed` never change; `epoch` is 0..2^32-1 and
///    `check` 16 bytes; a member record's `ed25519`
///    must hash to its id; the owner's rights stay admin; `key.<N>` is an
///    85-byte wrapped key naming epoch N;
///  - other collections: the list must exist; the origin needs rw or admin;
///    a sealed database takes only sealed operations, a plaintext one none.
status check_operation(const access_list& list, const node_id& origin, const operation& op);

} // namespace blaze
