// The node's decision log for cross-database transactions (core/transaction.hpp):
// a small RocksDB instance at `<data>/.txnlog` holding, per committed
// transaction whose participants have not all confirmed their commit, the
// names of those participants. Presumed abort: an abort is never logged; a
// prepared transaction with no record here and no coordinator running
// (in_flight) was aborted.
//
// Thread-safe: the group actors (coordinators) and the database actors
// (participants resolving prepare records) call it concurrently.
#pragma once

#include "core/ids.hpp"
#include "core/operation.hpp"
#include "core/status.hpp"
#include "storage/visibility_gate.hpp"

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace rocksdb {
class DB;
}

namespace blaze {

class txn_log {
public:
  /// Opens (creating) the log in `dir`.
  static result<std::shared_ptr<txn_log>> open(const std::filesystem::path& dir);
  ~txn_log();
  txn_log(const txn_log&) = delete;
  txn_log& operator=(const txn_log&) = delete;

  /// Logs the commit of `txn` durably (fsync before returning): the decision.
  status log_commit(const id128& txn, const std::vector<std::string>& participants);
  /// Whether the log holds the commit of `txn`.
  result<bool> committed(const id128& txn) const;
  /// `participant` committed `txn`: it is crossed off, and the record goes
  /// when none remains. Not synced: a lost removal only leaves a record
  /// whose participants find nothing prepared.
  status finish(const id128& txn, const std::string& participant);
  /// Committed transactions still awaiting some participant.
  result<std::vector<std::pair<id128, std::vector<std::string>>>> pending() const;

  /// A coordinator of this process runs `txn` (begin) or is done with it
  /// (end): participants wait for its decision instead of presuming abort.
  void begin(const id128& txn);
  void end(const id128& txn);
  bool in_flight(const id128& txn) const;

  // ---- atomic remote visibility (store::held_txns, docs/transactions.md) ----
  //
  // Each database holds aside the operations of remote transactions. When
  // every part of a transaction that this node hosts (a database directory
  // exists for it) has all its operations held, the release is logged
  // durably (so a crash midway still releases every part) and each hosted
  // part's database is told to release it.

  /// A database's way to be told to release a transaction (called on the
  /// reporter's thread; it must only post a message). One per database name.
  using release_fn = std::function<void(const id128& txn)>;
  /// `owner` (the database actor's id) detaches only its own attachment.
  void attach(const std::string& database, uint64_t owner, release_fn fn);
  void detach(const std::string& database, uint64_t owner);
  /// `database` holds `count` operations of `tag`'s transaction. True when
  /// `database` must release it now (the transaction is complete here and
  /// its release logged); the other hosted parts' databases are told. When
  /// two or more open databases release it, the release is a writer of the
  /// gate (visibility_gate): each of them must call released() once done.
  /// If the gate queues the release, every part (`database` included) is
  /// told later through its release_fn and this returns false.
  /// A hosted part whose database is not open is opened (set_opener).
  result<bool> report(const txn_tag& tag, const std::string& database, uint32_t count);
  /// `database` is done releasing `txn` (applied, or failed and left held
  /// for its next open): the gate is left once every part told is done.
  /// Any other call (nothing told) is a no-op.
  void released(const id128& txn, const std::string& database);
  /// How report() opens a database this node hosts but has not open (the
  /// node posts an open to its registry). Called on a reporting database's
  /// thread, without this log's lock held: it must only post a message.
  using open_fn = std::function<void(const std::string& database)>;
  void set_opener(open_fn fn);

  /// The node's gate between multi-database changes and group reads:
  /// coordinators enter it for a commit phase, report() for a release.
  visibility_gate& gate() { return gate_; }
  /// Whether the release of `txn` is logged (a part held at open is then
  /// released at once).
  result<bool> release_logged(const id128& txn) const;
  /// `database` released `txn`: crossed off the logged release (dropped
  /// when none remains).
  status finish_release(const id128& txn, const std::string& database);
  /// Whether this node hosts `database` (its directory exists).
  bool hosts(const std::string& database) const;

private:
  // Whether `key` holds a record; crosses `name` off the list at `key` (the
  // record goes when the list is empty). Decisions and releases share these.
  result<bool> has(const std::string& key) const;
  status cross_off(const std::string& key, const std::string& name);
  txn_log() = default;
  std::filesystem::path data_dir_;
  std::unique_ptr<rocksdb::DB> db_;
  mutable std::mutex m_;  // finish's read-modify-write; the in-flight set; the assembly state
  std::set<id128> in_flight_;
  std::map<std::string, std::pair<uint64_t, release_fn>> attached_;
  std::map<id128, std::map<std::string, uint32_t>> held_;  // per transaction: held operations per database
  // Releases in the gate: per transaction, its ticket and the databases
  // told to release that have not called released() (or detached) yet.
  std::map<id128, std::pair<visibility_gate::ticket, std::set<std::string>>> releasing_;
  open_fn opener_;
  // When each database was last asked to open (at most once a second each).
  std::map<std::string, std::chrono::steady_clock::time_point> open_asked_;
  visibility_gate gate_;
};

} // namespace blaze
