// Atoms and message types of cross-database transactions (core/transaction.hpp):
// between a sync group's actor (the coordinator) and database actors
// (participants). In-process only.
#pragma once

#include "actors/messages.hpp"
#include "core/transaction.hpp"

#include <map>
#include <string>
#include <vector>

namespace blaze {

using prepare_atom = caf::atom_constant<caf::atom("prepare")>;
using decide_atom = caf::atom_constant<caf::atom("decide")>;
using txn_check_atom = caf::atom_constant<caf::atom("txncheck")>;
using transact_atom = caf::atom_constant<caf::atom("transact")>;
using release_txn_atom = caf::atom_constant<caf::atom("releasetxn")>;
/// Conflict resolution (database actor), grouped here with this branch's atoms.
using resolve_atom = caf::atom_constant<caf::atom("resolve")>;

/// A transaction's writes, by database name.
using txn_writes = std::map<std::string, writes>;

/// A committed transaction: its id and its parts (database, operations).
struct txn_outcome {
  txn_id id;
  std::vector<txn_part> parts;
};

} // namespace blaze

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(blaze::txn_writes)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(blaze::txn_outcome)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(blaze::txn_tag)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(blaze::value)
