// Atoms and message types shared by BlazeDB's actors. The C++ types in these
// messages stay inside one process (CAF_ALLOW_UNSAFE_MESSAGE_TYPE); what
// crosses a process boundary is Cap'n Proto bytes (schema/).
#pragma once

#include "core/operation.hpp"
#include "core/query.hpp"
#include "core/record.hpp"
#include "core/version_vector.hpp"
#include "core/write.hpp"
#include "storage/store.hpp"

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>

#include <string>
#include <vector>

namespace blaze {

using write_atom = caf::atom_constant<caf::atom("write")>;
using flush_atom = caf::atom_constant<caf::atom("flush")>;
using get_atom = caf::atom_constant<caf::atom("get")>;
using query_atom = caf::atom_constant<caf::atom("query")>;
using apply_atom = caf::atom_constant<caf::atom("apply")>;
using subscribe_atom = caf::atom_constant<caf::atom("subscribe")>;
using unsubscribe_atom = caf::atom_constant<caf::atom("unsubscr")>;
using change_atom = caf::atom_constant<caf::atom("change")>;
using conflicts_atom = caf::atom_constant<caf::atom("conflicts")>;
using clear_atom = caf::atom_constant<caf::atom("clear")>;
using status_atom = caf::atom_constant<caf::atom("status")>;
using ops_atom = caf::atom_constant<caf::atom("ops")>;
using open_atom = caf::atom_constant<caf::atom("open")>;
using list_atom = caf::atom_constant<caf::atom("list")>;
using close_atom = caf::atom_constant<caf::atom("close")>;
using durable_atom = caf::atom_constant<caf::atom("durable")>;
using watch_atom = caf::atom_constant<caf::atom("watch")>;
using committed_atom = caf::atom_constant<caf::atom("committed")>;
using frame_atom = caf::atom_constant<caf::atom("frame")>;
using fault_atom = caf::atom_constant<caf::atom("fault")>;
using linkdown_atom = caf::atom_constant<caf::atom("linkdown")>;
using connected_atom = caf::atom_constant<caf::atom("connected")>;
using tick_atom = caf::atom_constant<caf::atom("tick")>;
using redial_atom = caf::atom_constant<caf::atom("redial")>;
using pause_atom = caf::atom_constant<caf::atom("pause")>;
using resume_atom = caf::atom_constant<caf::atom("resume")>;
using sync_now_atom = caf::atom_constant<caf::atom("syncnow")>;
using merge_atom = caf::atom_constant<caf::atom("merge")>;
using compact_atom = caf::atom_constant<caf::atom("compact")>;
using peer_ack_atom = caf::atom_constant<caf::atom("peerack")>;
using acquire_atom = caf::atom_constant<caf::atom("acquire")>;
using release_atom = caf::atom_constant<caf::atom("release")>;
using opened_atom = caf::atom_constant<caf::atom("opened")>;
using access_atom = caf::atom_constant<caf::atom("access")>;

/// The outcome of one write: its status, and on success the operation's dot
/// and the record it touched.
struct write_outcome {
  status st;
  dot id;
  record_id record;
};
using write_outcomes = std::vector<write_outcome>;
using writes = std::vector<write>;
/// A change of the access list (grant, revoke, rotate), built by the
/// database actor from the list as committed at its turn.
using access_builder = store::access_builder;
using operations = std::vector<operation>;
using changes = std::vector<change>;
using conflicts = std::vector<conflict>;

/// A snapshot chunk a sync link received (docs/protocol.md §5a): staged by
/// the database; with `finish`, every chunk of the peer's snapshot at
/// `point` is staged and the database joins them.
struct snapshot_part {
  node_id peer;
  version_vector point;
  std::vector<snapshot_entry> entries;
  std::vector<index_decl> indexes;
  bool finish = false;
  std::vector<std::string> collections;  // the receiver's filter (empty: all)
  std::vector<signed_head> heads{};      // with finish: the snapshot's verified heads
};
using snapshot_parts = std::vector<snapshot_part>;

struct query_result {
  std::vector<row> rows;
  query_stats stats;
};

/// A database's vital signs, for `status`.
struct database_status {
  std::string name;
  node_id self;
  version_vector versions;
  uint64_t clock = 0;
  uint64_t operations = 0;  // in the oplog
  uint64_t records = 0;     // alive
  uint64_t conflicts = 0;
  std::vector<std::pair<std::string, std::string>> indexes;  // active (collection, field)
  std::vector<std::string> collections;
  std::string durability;
  uint64_t refused_batches = 0;  // signed ranges/snapshots that did not authenticate (store::security)
  uint64_t equivocations = 0;    // operations refused for differing from the one held under their dot
  /// "open" (no access list), "plaintext" (a list, not encrypted),
  /// "sealed" (end-to-end encrypted: docs/security.md §3) or "joining"
  /// (created to join another node's database; its list has not arrived).
  std::string access = "open";
  std::vector<uint32_t> key_epochs{};  // content-key epochs this node holds (sealed)
  uint64_t unopened = 0;               // sealed operations logged that this node cannot open
};

} // namespace blaze

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(blaze::writes)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(blaze::access_builder)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(blaze::write_outcomes)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(blaze::record_id)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(blaze::value_map)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(blaze::query)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(blaze::query_result)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(blaze::operations)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(blaze::apply_report)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(blaze::change)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(blaze::conflicts)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(blaze::database_status)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(blaze::version_vector)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(blaze::coverage_set)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(blaze::snapshot_parts)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(blaze::compact_report)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<blaze::node_id>)
