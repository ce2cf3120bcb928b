// Options of a BlazeDB node (leveldb-style options struct).
#pragma once

#include "core/write.hpp"
#include "runtime/net/transport.hpp"
#include "storage/environment.hpp"
#include "storage/store.hpp"

#include <chrono>
#include <filesystem>

namespace blaze {

/// How node::open_database opens (and maybe creates) one database.
struct database_options {
  /// Create the database when it is missing (else errc::unknown_database).
  bool create = true;
  /// What a database this call creates starts with (docs/security.md §3):
  ///  - sealed: owned by this node, end-to-end encrypted (the default);
  ///  - plaintext: owned by this node, access-controlled, not encrypted
  ///    (a server that must query it);
  ///  - join: another node's database, fetched through sync once its owner
  ///    (or an admin) granted this node rights; local writes are refused
  ///    until its access list arrives.
  /// new_database::open (no access list) is for stores made directly; a
  /// node refuses it. An existing database keeps what it has.
  new_database as = new_database::sealed;
  /// Durability of a new database (else node_options::mode); given for an
  /// existing one, it changes the stored mode.
  std::optional<durability> mode{};
};

struct node_options {
  /// Where databases, the node identity and the lock file live.
  std::filesystem::path data_dir = "blazedb-data";
  /// Durability of databases this node creates (each database stores its
  /// own; see node::open_database and database::set_durability).
  /// sync: fsync before acknowledging; buffered: WAL without fsync.
  durability mode = durability::buffered;
  /// Size limits for values, records and names.
  limits lim;
  /// Remote operations stamped further than this in the future are refused.
  uint64_t max_clock_skew_ms = 60'000;
  /// Sealed operations a content key may seal before the owner's node
  /// rotates it (store_options::seals_per_key; docs/security.md §1).
  uint64_t seals_per_key = uint64_t(1) << 30;
  /// RocksDB resources shared by every database of the node.
  environment_options storage;
  /// A database opened only for sync sessions (a relay's) is closed after
  /// no session has used it for this long, and reopened on demand (0: never).
  /// Databases opened with node::open_database stay open until closed.
  std::chrono::milliseconds idle_database_close{60'000};
  /// Every open database compacts its operation log this often, up to what
  /// every peer it knows acknowledged (database::compact); 0: only when
  /// asked. Peers behind the compaction point catch up from a snapshot.
  std::chrono::milliseconds compact_interval{600'000};
  /// Load CAF's io middleman so this node can serve and sync over caf://
  /// (CAF remote actors, always through caf::openssl). Off by default: it
  /// costs a thread.
  bool caf_remote = false;
  /// Certificates for caf:// — required with caf_remote: this node's
  /// certificate and key, and the CA every peer's certificate must chain to
  /// (both directions verify; CAF remote actors never run anonymously).
  net::tls_options caf_tls;
  /// Every request to an actor gives up after this long.
  std::chrono::milliseconds timeout{30'000};
  /// CAF scheduler threads (0: one per core).
  size_t worker_threads = 0;
};

} // namespace blaze
