// blaze::group_view: a consistent read of the databases of a sync group
// (sync_group::read and sync_group::snapshot, docs/transactions.md
// "Consistent group reads"). It reads every member at one read point (a
// RocksDB snapshot each, taken while no transaction was being applied to
// several databases: storage/visibility_gate.hpp), so every cross-database
// transaction — committed here or released from a remote replica's holds —
// is in it wholly or not at all, in every member.
//
// Any thread; reads go straight to the stores (no actor round trip). The
// view is immutable: later writes are not seen. While it lives, the members'
// RocksDB instances stay open and keep the versions it sees, so drop it
// soon; it must not outlive its node.
#pragma once

#include "core/query.hpp"
#include "core/status.hpp"
#include "storage/store.hpp"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace blaze {

class group_view {
public:
  group_view(const group_view&) = delete;
  group_view& operator=(const group_view&) = delete;

  /// The member databases, sorted.
  std::vector<std::string> databases() const;
  /// The visible document of a live record of member `db` at the read point;
  /// unknown_record when none, unknown_database when `db` is not a member.
  result<value_map> get(const std::string& db, const std::string& collection, const record_id& id) const;
  /// A query on member `db` at the read point (build one with
  /// database::query(...).where(...).get()).
  result<std::vector<row>> run(const std::string& db, const query& q, query_stats* stats = nullptr) const;

private:
  friend class sync_group;
  group_view() = default;
  struct member {
    std::shared_ptr<store> st;                    // declared first: outlives its read point
    std::shared_ptr<const store::read_point> at;  // null until the read point is taken
  };
  result<const member*> find(const std::string& db) const;
  std::map<std::string, member> members_;
};

} // namespace blaze
