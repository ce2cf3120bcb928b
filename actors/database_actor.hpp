// The `database` actor: owns one store (one RocksDB instance); applies local
// writes with group commit, applies remote operations, answers reads and
// queries, and feeds change subscribers.
#pragma once

#include "actors/messages.hpp"
#include "actors/txn_messages.hpp"

#include <caf/typed_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/replies_to.hpp>

#include <memory>

namespace blaze {
class txn_log;
}

namespace blaze {

// clang-format off
using database_actor = caf::typed_actor<
  // Local writes. Writes that arrive together are committed in one WriteBatch.
  caf::replies_to<write_atom, writes>::with<write_outcomes>,
  // A change of the access list, built from the list as committed once the
  // writes queued before it are: two changes never build on one list (two
  // revocations make two epochs, not two different keys for one).
  caf::replies_to<access_atom, access_builder>::with<write_outcomes>,
  // Internal: commits the writes gathered so far (sent by the actor to itself).
  caf::reacts_to<flush_atom>,
  caf::replies_to<get_atom, std::string, record_id>::with<value_map>,
  caf::replies_to<query_atom, query>::with<query_result>,
  // Operations from other replicas.
  caf::replies_to<apply_atom, operations>::with<apply_report>,
  // The same, for a partial replica: also applies the peer's coverage.
  caf::replies_to<apply_atom, operations, coverage_set>::with<apply_report>,
  // The same from a sync link, with each operation's bytes as received
  // (ops[i] decoded from encoded[i]): the log keeps them as they are. An
  // empty coverage set's ranges: the link syncs every collection.
  caf::replies_to<apply_atom, operations, std::vector<std::string>, coverage_set>::with<apply_report>,
  // A received snapshot: stages the chunks; joins a finished snapshot.
  caf::replies_to<merge_atom, snapshot_parts>::with<bool>,
  // What peer `node` acknowledged holding (sync links): the compaction point.
  caf::reacts_to<peer_ack_atom, node_id, version_vector>,
  // Forgets the given known peers, then compacts the log up to what every
  // known peer acknowledged.
  caf::replies_to<compact_atom, std::vector<node_id>>::with<compact_report>,
  // Commit watch: `watcher` receives (committed_atom) after every commit that
  // changed the database (local writes or remote operations), until it
  // unwatches (unsubscribe_atom) or goes down, and once when it registers
  // (covering commits since it last read). Sync sessions use it to push.
  caf::reacts_to<watch_atom, caf::actor>,
  // Change feed: `subscriber` receives (change_atom, change) for the
  // collection (empty: every collection) until it unsubscribes or goes down.
  caf::replies_to<subscribe_atom, caf::actor, std::string>::with<bool>,
  caf::reacts_to<unsubscribe_atom, caf::actor>,
  caf::replies_to<conflicts_atom>::with<conflicts>,
  caf::replies_to<clear_atom, std::string, std::string>::with<bool>,
  // Resolves the conflicts of one field (collection, record id hex, field):
  // sets it to the chosen value (a new write, replicated, newer than both
  // sides) and forgets the field's recorded conflicts; replies how many.
  caf::replies_to<resolve_atom, std::string, record_id, std::string, value>::with<uint64_t>,
  caf::replies_to<status_atom>::with<database_status>,
  // Sets and persists the durability: true = sync, false = buffered.
  caf::replies_to<durable_atom, bool>::with<bool>,
  // Cross-database transactions (core/transaction.hpp), participant side.
  // Prepares `writes` as transaction `txn`: builds the operations (tagged
  // with the transaction's tag) and persists them durably without applying
  // them; replies their number (the vote). One transaction is prepared at a time: further prepares
  // wait their turn, and local writes wait until it is decided.
  caf::replies_to<prepare_atom, txn_id, txn_tag, writes>::with<uint32_t>,
  // The decision for `txn` (true: commit, false: abort); replies whether
  // it was prepared (or waiting to be) here.
  caf::replies_to<decide_atom, txn_id, bool>::with<bool>,
  // Internal: no decision came for a prepared transaction: look it up in
  // the decision log.
  caf::reacts_to<txn_check_atom, txn_id>,
  // Every part of remote transaction `txn` this node hosts has arrived:
  // its held operations become visible (store::release_txn).
  caf::reacts_to<release_txn_atom, txn_id>>;
// clang-format on

/// Spawns the database actor for an opened store. The store is shared with
/// the database's oplog actor (read-only use there).
/// With `txns` (the node's decision log, storage/txn_log.hpp) the database
/// takes part in cross-database transactions; when it starts it resolves
/// the transactions its store holds prepared (commit when logged, abort
/// when no coordinator of this process still runs them, else wait).
database_actor spawn_database(caf::actor_system& sys, std::string name, std::shared_ptr<store> st,
                              std::shared_ptr<txn_log> txns = nullptr);

} // namespace blaze
