// blaze::database: the embedding API of one database. Cheap to copy (a pair
// of actor handles); every call goes through the database actor. Blocking
// calls wait up to the node's timeout; `*_async` calls return at once and
// call back on a CAF worker thread.
#pragma once

#include "actors/database_actor.hpp"
#include "actors/oplog_actor.hpp"
#include "actors/registry_actor.hpp"
#include "runtime/query_builder.hpp"
#include "runtime/requester_pool.hpp"

#include <caf/actor_system.hpp>

#include <chrono>
#include <functional>
#include <memory>

namespace blaze {

/// A live change subscription; the callback stops when this is destroyed
/// or `cancel()`ed.
class subscription {
public:
  subscription() = default;
  subscription(caf::actor_system* sys, database_actor db, caf::actor listener);
  subscription(subscription&&) noexcept = default;
  subscription& operator=(subscription&&) noexcept;
  ~subscription();
  void cancel();

private:
  caf::actor_system* sys_ = nullptr;
  database_actor db_;
  caf::actor listener_;
};

class database {
public:
  /// Made by node::open_database. A database must not outlive its node.
  database(caf::actor_system& sys, requester_pool& pool, database_handles h, std::chrono::milliseconds timeout);

  const std::string& name() const { return h_.name; }

  // ---- writes (blocking) -------------------------------------------------
  /// Inserts a record with a new random id and returns it.
  result<record_id> insert(const std::string& collection, value_map fields);
  /// Inserts (or, if it exists, updates) the record with id `id`.
  result<record_id> put(const std::string& collection, const record_id& id, value_map fields);
  status update(const std::string& collection, const record_id& id, value_map fields);
  status set(const std::string& collection, const record_id& id, std::string field, value v);
  status increment(const std::string& collection, const record_id& id, std::string field, int64_t delta);
  status add(const std::string& collection, const record_id& id, std::string field, value element);
  status remove(const std::string& collection, const record_id& id, std::string field, value element);
  /// Deletes a record (a tombstone; a later write resurrects it).
  status erase(const std::string& collection, const record_id& id);
  status create_index(const std::string& collection, std::string field);
  status drop_index(const std::string& collection, std::string field);
  /// Many writes committed together (one WriteBatch); one outcome each.
  result<write_outcomes> write(writes ws);

  // ---- reads (blocking) --------------------------------------------------
  result<value_map> get(const std::string& collection, const record_id& id) const;
  query_builder query(std::string collection) const { return query_builder(*this, std::move(collection)); }
  result<std::vector<row>> run(const blaze::query& q, query_stats* stats = nullptr) const;
  result<conflicts> list_conflicts() const;
  /// The database's access list (its `_access` records; docs/security.md
  /// §4.3): empty for an open database. Change it with the writes of
  /// access::create / grant / revoke (core/access.hpp) through write().
  result<access_list> access() const;

  // ---- sharing (docs/security.md §4) ------------------------------------------
  /// Gives `member` (the key `blazedb id` prints on its node) `rights`:
  /// relay (store and forward, no key), read, read_write or admin. A reader
  /// of a sealed database gets every content key this node holds wrapped
  /// for it. Needs admin rights; the grant replicates like any write.
  /// errc::invalid_argument without an access list, for the owner, or for
  /// a reader lowered to relay (revoke); errc::forbidden when not admin.
  status share(const crypto::member_key& member, access_rights rights);
  /// Takes every right from `member`. When it could read a sealed
  /// database, a new content key (epoch) is made for the remaining readers:
  /// it cannot read what is written from then on. Needs admin rights.
  status revoke(const node_id& member);
  /// A new content key (epoch) for every reader, removing no one: after
  /// access_list::needs_rotation() (two admins revoked at once on
  /// different nodes), or after many writes under one key.
  /// errc::invalid_argument for a plaintext database.
  status rotate();
  /// Commits the writes `build` (access::grant, revoke, rotate, or the
  /// like) makes of the access list and this node's keyring as the database
  /// actor holds them at its turn, after every write queued before: changes
  /// made at once (two threads revoking two members) build on each other,
  /// never on one list. The first refusal is the result.
  status change_access(access_builder build);

  /// Forgets recorded conflicts of one record, or of a whole collection
  /// (id null), or of the database (collection empty).
  status clear_conflicts(const std::string& collection = {}, const record_id* id = nullptr);
  /// Resolves the recorded conflicts of one field: sets it to `chosen` (for
  /// example the loser's value, or the winner's to confirm it) as a new
  /// write, which replicates and is newer than both sides, then forgets the
  /// field's recorded conflicts. Returns how many were forgotten.
  result<uint64_t> resolve_conflict(const std::string& collection, const record_id& id, const std::string& field,
                                    value chosen);
  result<database_status> status_info() const;
  /// Changes this database's durability; it is stored with the database.
  status set_durability(durability mode);
  /// Operations this database has and `after` lacks (at most `max`).
  result<operations> operations_after(const version_vector& after, uint64_t max) const;
  /// Applies operations from another replica, by hand (no signed chain
  /// heads travel with them): this replica then holds those origins'
  /// operations without a verified chain position, so sync refuses later
  /// signed ranges of the same origins ("holds no verified chain position").
  /// For tests and tools; replicas that sync get operations through sync.
  result<apply_report> apply(operations ops);

  // ---- compaction ------------------------------------------------------------
  /// Folds the operation log into the records up to what every known peer
  /// (every node this database synced with) acknowledged holding, and
  /// deletes those operations from the log. Records, queries and version
  /// vectors do not change; a sync peer that lacks compacted operations (one
  /// never seen before, or one behind) catches up from a snapshot. With no
  /// known peer the whole log is compacted. `forget`: peers (node ids) that
  /// will not sync again, which then stop holding compaction back.
  /// operations_after() no longer returns compacted operations. See
  /// docs/protocol.md §5a.
  result<compact_report> compact(std::vector<node_id> forget = {});

  // ---- asynchronous forms --------------------------------------------------
  void write_async(writes ws, std::function<void(result<write_outcomes>)> done);
  void get_async(std::string collection, record_id id, std::function<void(result<value_map>)> done) const;
  void run_async(blaze::query q, std::function<void(result<std::vector<row>>)> done) const;

  /// Calls `fn` for every committed change in `collection` (empty: all), on
  /// a CAF worker thread, in commit order, until the subscription ends.
  subscription subscribe(std::string collection, std::function<void(const change&)> fn);

  const database_handles& handles() const { return h_; }

private:
  status single(blaze::write w);
  caf::actor_system* sys_;
  requester_pool* pool_;
  database_handles h_;
  std::chrono::milliseconds timeout_;
};

/// A random record id (128 bits from OpenSSL's DRBG).
record_id new_record_id();

/// An insert of a new record with a fresh random id, for database::write()
/// batches; the store skips looking the id up.
write make_insert(std::string collection, value_map fields);

} // namespace blaze
