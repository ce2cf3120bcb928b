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
#include "core/status.hpp"

#include <filesystem>
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

private:
  txn_log() = default;
  std::unique_ptr<rocksdb::DB> db_;
  mutable std::mutex m_;  // finish's read-modify-write; the in-flight set
  std::set<id128> in_flight_;
};

} // namespace blaze
