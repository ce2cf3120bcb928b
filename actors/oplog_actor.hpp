// The `oplog` actor: reads of one database's operation log — operations
// after a version vector (what a peer lacks), and counts.
#pragma once

#include "actors/messages.hpp"

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <memory>

namespace blaze {

// clang-format off
using oplog_actor = caf::typed_actor<
  // At most `max` operations the database has and `after` lacks, in (origin, seq) order.
  caf::replies_to<ops_atom, version_vector, uint64_t>::with<operations>,
  // The version vector of the log (count of operations per origin).
  caf::replies_to<status_atom>::with<version_vector>>;
// clang-format on

/// Spawns the oplog actor. It reads `st` concurrently with the database actor.
oplog_actor spawn_oplog(caf::actor_system& sys, std::shared_ptr<const store> st);

} // namespace blaze
