// blaze::sync_group (DESIGN §9, docs/transactions.md): several databases of
// one node that commit together and sync together.
//
//   auto g = node->sync_group({"east", "west"});
//   auto r = (*g)->transact([&](blaze::txn& t) {
//     t.increment("east", "accounts", alice, "balance", -10);
//     t.increment("west", "accounts", bob, "balance", +10);
//     return blaze::status{};
//   });
//   (*g)->start("tcp://relay:4040");   // every member syncs with the peer
//   (*g)->read([&](const blaze::group_view& v) {   // one consistent state of both
//     auto a = v.get("east", "accounts", alice);
//     auto b = v.get("west", "accounts", bob);
//     return blaze::status{};
//   });
#pragma once

#include "actors/sync_group_actor.hpp"
#include "runtime/database.hpp"
#include "runtime/group_view.hpp"
#include "runtime/sync.hpp"

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace blaze {

class node;

/// The writes of one cross-database transaction, each naming its database.
/// Building one touches nothing; sync_group::commit applies it.
class txn {
public:
  /// Inserts a record with a new random id (returned).
  record_id insert(const std::string& db, const std::string& collection, value_map fields);
  /// Inserts or updates the record with id `id`.
  void put(const std::string& db, const std::string& collection, const record_id& id, value_map fields);
  /// Changes fields of an existing record (the transaction aborts if there is none).
  void update(const std::string& db, const std::string& collection, const record_id& id, value_map fields);
  void set(const std::string& db, const std::string& collection, const record_id& id, std::string field, value v);
  void increment(const std::string& db, const std::string& collection, const record_id& id, std::string field,
                 int64_t delta);
  void add(const std::string& db, const std::string& collection, const record_id& id, std::string field,
           value element);
  void remove(const std::string& db, const std::string& collection, const record_id& id, std::string field,
              value element);
  /// Deletes a record.
  void erase(const std::string& db, const std::string& collection, const record_id& id);
  /// Any write (write.hpp) to database `db`.
  void write(const std::string& db, blaze::write w);

  const txn_writes& writes() const { return ws_; }
  bool empty() const { return ws_.empty(); }
  size_t size() const;

private:
  txn_writes ws_;
};

struct sync_group_options {
  /// What member databases the group creates start with (database_options::as):
  /// owned by this node and sealed unless plaintext, or join (another node's).
  new_database as = new_database::sealed;
  /// One participant's limit to prepare (waiting behind other transactions
  /// included) or to commit; past it the transaction aborts.
  std::chrono::milliseconds txn_timeout{5'000};
  /// Tests: runs at each step of two-phase commit (crash injection).
  std::function<void(txn_point, const std::string&)> fault;
};

/// Made by node::sync_group; must not outlive its node. Thread-safe.
class sync_group {
public:
  ~sync_group();
  sync_group(const sync_group&) = delete;
  sync_group& operator=(const sync_group&) = delete;

  /// The member databases, sorted.
  const std::vector<std::string>& databases() const { return names_; }
  /// A member database (unknown_database otherwise).
  result<database> db(const std::string& name) const;

  // ---- cross-database transactions ------------------------------------------
  /// Calls `fn` to gather the writes, then commits them atomically across
  /// the member databases (two-phase commit): all of them become visible or
  /// none. A non-ok status from `fn` is returned and nothing is written.
  /// Fails with nothing visible when a write names a database outside the
  /// group (invalid_argument), a write fails (its error), or a database does
  /// not answer in time (timeout). Reads inside `fn` see committed state,
  /// without isolation: prefer increments for read-modify-write.
  result<txn_outcome> transact(const std::function<status(txn&)>& fn);
  /// Commits a transaction built beforehand.
  result<txn_outcome> commit(const txn& t);

  // ---- consistent reads across the members -----------------------------------
  // A group read sees all member databases at one read point that holds every
  // cross-database transaction wholly or not at all: those committed here
  // (transact) and remote ones released from holds (docs/transactions.md,
  // "Atomic remote visibility"). Reading the members one by one through
  // db(name) gives no such promise: a transaction's parts are applied to
  // its databases one after the other.
  //
  // Contract: the read point is taken once no multi-database change of this
  // node is being applied (storage/visibility_gate.hpp); changes that start
  // meanwhile wait for it, taking it costs microseconds. Fails with timeout
  // when changes in progress do not finish within the node's timeout, and
  // with closed when a member database was closed. Call from any thread but
  // a CAF actor's (a callback of subscribe or *_async): it may wait for
  // database actors to finish applying.

  /// Calls `fn` with a view of every member at one read point; returns
  /// what `fn` returns (or why no read point could be taken).
  status read(const std::function<status(const group_view&)>& fn) const;
  /// The view itself, for the caller to keep (briefly: see group_view.hpp).
  result<std::shared_ptr<const group_view>> snapshot() const;

  // ---- sync as one unit -----------------------------------------------------
  /// Syncs every member with the peer at `url` (node::sync_with with the
  /// members as `opts.databases`); several peers may be started.
  status start(const std::string& url, sync_options opts = {});
  /// Disconnects every member from every peer until resume().
  void pause();
  void resume();
  /// Reconnects now where disconnected and pushes anything pending.
  void sync_now();
  /// Stops syncing with every peer.
  void stop();
  /// Each member's link to each peer.
  std::vector<link_status> sync_status() const;
  /// Waits until every member is synced with every peer both ways.
  bool wait_synced(std::chrono::milliseconds timeout) const;

private:
  friend class node;
  sync_group() = default;
  node* node_ = nullptr;
  caf::actor_system* sys_ = nullptr;
  std::vector<std::string> names_;
  std::map<std::string, database> dbs_;
  sync_group_actor actor_;
  std::shared_ptr<txn_log> txns_;  // the node's decision log: its visibility gate
  std::chrono::milliseconds request_timeout_{30'000};
  mutable std::mutex m_;
  std::vector<std::shared_ptr<sync_handle>> peers_;
};

} // namespace blaze
