// The `sync_group` actor (DESIGN §6, §9): coordinates cross-database
// transactions among the database actors of a group of databases on one node
// (two-phase commit, core/transaction.hpp drives it). Several transactions
// may run at once; each database serializes the ones that reach it. The
// commit phase of a transaction over two or more databases — from telling
// the first to commit until the last confirmed (or failed) — is a writer of
// the node's visibility gate (storage/visibility_gate.hpp), so a group read
// never sees some of its parts without the others.
#pragma once

#include "actors/database_actor.hpp"
#include "actors/txn_messages.hpp"

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>

namespace blaze {

class txn_log;

// clang-format off
using sync_group_actor = caf::typed_actor<
  // Commits the writes (by database) atomically: every database of the
  // transaction applies its writes, or none does. Fails, with nothing
  // visible, when a database is not in the group, a write fails (its
  // database votes no) or a database does not answer in time.
  caf::replies_to<transact_atom, txn_writes>::with<txn_outcome>,
  // Internal: the node's visibility gate admitted the commit phase of
  // transaction `txn` (it had been queued behind a group read).
  caf::reacts_to<decide_atom, txn_id>>;
// clang-format on

struct sync_group_config {
  /// The member databases' actors, by name.
  std::map<std::string, database_actor> members;
  /// The node's decision log.
  std::shared_ptr<txn_log> log;
  /// How long one participant may take to prepare (queued behind other
  /// transactions included) or to commit: past it the transaction aborts.
  std::chrono::milliseconds timeout{5'000};
  /// Tests: called at each step of two-phase commit, on the actor's thread
  /// (the database is empty for after_decision).
  std::function<void(txn_point, const std::string&)> fault;
};

sync_group_actor spawn_sync_group(caf::actor_system& sys, sync_group_config cfg);

} // namespace blaze
