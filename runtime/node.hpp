// blaze::node: one BlazeDB node — an embedded CAF actor system, a data
// directory (locked against other processes) and a node identity.
//
//   auto n = blaze::node::open({.data_dir = "data"});
//   auto db = (*n)->open_database("bugs");
//   auto id = db->insert("bugs", {{"title", "crash"}, {"priority", 2}});
#pragma once

#include "actors/registry_actor.hpp"
#include "runtime/database.hpp"
#include "runtime/identity.hpp"
#include "runtime/options.hpp"
#include "runtime/sync.hpp"
#include "runtime/sync_group.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace blaze {

class node {
public:
  /// Opens the data directory (creating it), takes its lock and identity and
  /// starts the actor system. Fails with errc::locked when another process
  /// has the directory open.
  static result<std::unique_ptr<node>> open(const node_options& opts);
  ~node();
  node(const node&) = delete;
  node& operator=(const node&) = delete;

  /// Opens database `name`, creating it when missing and opts.create is
  /// true: a new database is owned by this node and end-to-end encrypted
  /// unless opts.as says plaintext or join (runtime/options.hpp). Share it
  /// with database::share; open another node's with {.as = join}.
  result<database> open_database(const std::string& name, const database_options& opts);
  /// open_database(name, {create, new_database::sealed, mode}).
  result<database> open_database(const std::string& name, bool create = true,
                                 std::optional<durability> mode = std::nullopt);
  /// Every database in the data directory.
  result<std::vector<std::string>> databases() const;
  /// The databases open now (a relay closes idle ones, see node_options).
  result<std::vector<std::string>> open_databases() const;
  /// Closes a database's actors and RocksDB instance (reopened on next use).
  status close_database(const std::string& name);

  /// Serves this node's databases to peers on the given endpoints.
  result<std::shared_ptr<sync_server>> serve(const serve_options& opts);
  /// Syncs databases with the peer at `url` (tcp://, tls://, ws://, wss://,
  /// inproc://): one link per database, reconnecting with backoff until the
  /// handle is stopped or destroyed. Fails only on a bad URL or options;
  /// connection problems show in the handle's status.
  result<std::shared_ptr<sync_handle>> sync_with(const std::string& url, sync_options opts = {});

  /// A sync group of these databases (opened, created when missing):
  /// cross-database transactions among them, and sync as one unit
  /// (runtime/sync_group.hpp, docs/transactions.md).
  result<std::shared_ptr<blaze::sync_group>> sync_group(std::vector<std::string> databases,
                                                         sync_group_options opts = {});

  node_id id() const { return ident_.id; }
  const identity& ident() const { return ident_; }
  const node_options& options() const { return opts_; }
  caf::actor_system& system() { return *sys_; }
  registry_actor registry() const { return registry_; }

private:
  node(node_options opts, int lock_fd, identity ident);

  node_options opts_;
  int lock_fd_;
  identity ident_;
  std::unique_ptr<caf::actor_system_config> cfg_;
  std::unique_ptr<caf::actor_system> sys_;
  std::unique_ptr<requester_pool> pool_;  // destroyed before sys_
  registry_actor registry_;
  struct link_set;
  std::shared_ptr<link_set> links_;  // every sync link actor alive, stopped with the node
  std::shared_ptr<txn_log> txns_;  // the decision log of cross-database transactions
  std::unique_ptr<net::transport> transport_;  // made on first use; stopped after the actors
  std::mutex transport_mutex_;
};

} // namespace blaze
