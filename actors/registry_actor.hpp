// The node's registry actor: opens the databases of one data directory on
// request (spawning their database and oplog actors), lists and closes them.
#pragma once

#include "actors/database_actor.hpp"
#include "actors/oplog_actor.hpp"

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace blaze {

/// The actors serving one open database.
struct database_handles {
  std::string name;
  database_actor db;
  oplog_actor log;
  /// The store, for readers on other threads (sync sessions read the oplog
  /// directly); every write goes through `db`. Weak: a closed database's
  /// RocksDB instance is released even while handles to it are kept.
  std::weak_ptr<store> st;
};

/// What the registry needs to open databases.
struct registry_config {
  std::filesystem::path data_dir;
  node_id self;
  store_options store;
  std::shared_ptr<storage_environment> env;
  /// A database opened only for sync sessions closes once none has used it
  /// for this long (0: never). Databases opened with open_atom stay open.
  std::chrono::milliseconds idle_close{60'000};
  /// Databases opened (RocksDB `DB::Open`, ~100 ms for a new one) at the
  /// same time, each on its own thread; further opens queue. The registry
  /// itself never blocks on an open, so a relay meeting hundreds of new
  /// databases at once keeps answering for the open ones.
  size_t parallel_opens = 4;
  /// Every open database compacts its log this often (database_actor's
  /// compact_atom: up to what every known peer acknowledged); 0: never.
  std::chrono::milliseconds compact_interval{600'000};
  /// The node's decision log of cross-database transactions: databases
  /// take part in transactions and resolve prepared ones when they open.
  std::shared_ptr<txn_log> txns;
};

/// Internal: what an opener thread hands back to the registry.
struct opened_store {
  std::shared_ptr<store> db;  // null when the open failed
  status error;
};

// clang-format off
using registry_actor = caf::typed_actor<
  // Opens (or, with create=true, creates) database `name` for a user: it
  // stays open until closed. A database it creates starts as the
  // new_database says (owned by this node, sealed or plaintext, or joining).
  caf::replies_to<open_atom, std::string, bool, new_database>::with<database_handles>,
  // Opens it for a sync session (the sender, which is monitored): its pin
  // ends with release_atom from it or when it ends; a database only
  // sessions use closes after registry_config::idle_close unpinned. One it
  // creates joins (new_database::join).
  caf::replies_to<acquire_atom, std::string, bool>::with<database_handles>,
  // Opens existing database `name` for the node itself (a remote transaction
  // has a part held in it: txn_log::report). Like one only sessions use, it
  // closes once idle for registry_config::idle_close. No reply.
  caf::reacts_to<open_atom, std::string>,
  caf::reacts_to<release_atom, std::string>,
  // Internal: the idle check and compaction timer, and an opener thread's
  // result.
  caf::reacts_to<tick_atom>,
  caf::reacts_to<opened_atom, std::string, std::shared_ptr<opened_store>>,
  // Names of the databases open now, sorted.
  caf::replies_to<list_atom, open_atom>::with<std::vector<std::string>>,
  // Names of every database in the data directory, sorted.
  caf::replies_to<list_atom>::with<std::vector<std::string>>,
  // Stops a database's actors and closes its RocksDB instance.
  caf::replies_to<close_atom, std::string>::with<bool>>;
// clang-format on

/// The origin under which database `database` of node `node` writes:
/// the first 16 bytes of SHA-256("blazedb-replica:" ‖ node id ‖ name). Each
/// database replica is its own origin, so two databases of one node can sync
/// with each other; the id stays self-certifying given the node's key.
node_id replica_id(const node_id& node, const std::string& database);

/// A database name: 1-128 of [A-Za-z0-9_.-], not starting with '.'.
status validate_database_name(const std::string& name);

/// Spawns the registry. Its open databases stop when it stops.
registry_actor spawn_registry(caf::actor_system& sys, registry_config cfg);

} // namespace blaze

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(blaze::database_handles)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(blaze::new_database)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<blaze::opened_store>)
