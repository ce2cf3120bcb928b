// Cross-database transactions (DESIGN §9, docs/transactions.md): the pure,
// sans-I/O parts of two-phase commit among the databases of one node — the
// coordinator's state machine, a participant's recovery rule, and the
// encoding of a participant's durable prepare record.
//
// The protocol (presumed abort):
//   1. the coordinator asks each participant in turn (sorted by database
//      name, so concurrent transactions never wait on each other in a cycle)
//      to prepare its writes: the participant builds the operations, persists
//      them durably (fsync) without applying them, and votes yes; any error
//      is a no;
//   2. all yes: the coordinator logs "commit" durably (fsync) — the decision;
//      any no or timeout: abort, nothing logged;
//   3. the coordinator tells every participant the decision; a committing
//      participant applies its prepared operations and drops the prepare
//      record in one WriteBatch (fsync).
// After a crash a participant that finds a prepare record commits it if the
// decision log holds "commit" for it, and aborts it otherwise (no decision
// was ever made, or the decision was abort).
#pragma once

#include "core/ids.hpp"
#include "core/operation.hpp"
#include "core/status.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace blaze {

/// A transaction's identity: 128 random bits.
using txn_id = id128;

/// txn_part and txn_tag (the tag operations carry) are in core/operation.hpp.

/// The steps at which a fault hook may run (tests inject crashes there).
enum class txn_point : uint8_t {
  before_prepare,  // about to ask `database` to prepare
  after_prepare,   // `database` voted yes (its prepare record is durable)
  after_decision,  // the commit decision is logged durably (database empty)
  after_commit,    // `database` committed
};
const char* to_string(txn_point p);
/// Parses the names to_string gives; nullopt otherwise.
std::optional<txn_point> txn_point_of(std::string_view s);

/// The coordinator of one transaction: fed votes, the decision log's answer
/// and commit acknowledgements, it says what to do next. Pure: the caller
/// performs the actions (actors/sync_group_actor.cpp).
class txn_coordinator {
public:
  struct action {
    enum class kind : uint8_t {
      prepare,     // ask `database` to prepare
      log_commit,  // log the commit decision durably, then call on_logged
      commit,      // tell `database` to commit
      abort,       // tell `database` to abort (also sent to one that may not have prepared)
      finish,      // the transaction is over: reply to the caller with `result`
    };
    kind k = kind::prepare;
    std::string database;
    status result;  // finish: ok when committed, the reason of the abort otherwise
  };

  /// `participants`: the databases written, in any order (sorted here, duplicates dropped).
  txn_coordinator(txn_id id, std::vector<std::string> participants);

  /// The first action: prepare the first participant (or finish at once
  /// when there is none).
  std::vector<action> start();
  /// `database`'s vote: its operation count, or the reason of its no
  /// (validation, timeout, closed). Votes out of turn are ignored.
  std::vector<action> on_vote(const std::string& database, result<uint32_t> vote);
  /// The decision log's answer to log_commit. A failed log aborts.
  std::vector<action> on_logged(const status& st);
  /// A participant acknowledged commit (ok) or could not be told (it finds
  /// the logged decision itself: docs/transactions.md "Recovery").
  std::vector<action> on_committed(const std::string& database, const status& st);

  enum class phase : uint8_t { idle, preparing, logging, committing, done };
  phase state() const { return phase_; }
  bool committed() const { return committed_; }
  const txn_id& id() const { return id_; }
  const std::vector<std::string>& participants() const { return dbs_; }
  /// The parts (database, ops) of the votes so far.
  const std::vector<txn_part>& parts() const { return parts_; }

private:
  std::vector<action> abort_all(status why);

  txn_id id_;
  std::vector<std::string> dbs_;
  std::vector<txn_part> parts_;
  size_t next_ = 0;       // participants asked to prepare so far
  size_t acked_ = 0;      // commit acknowledgements
  phase phase_ = phase::idle;
  bool committed_ = false;
};

/// What a participant does with a prepare record it finds (at open, or when
/// no decision arrived in time).
enum class txn_resolution : uint8_t { commit, abort, wait };
/// `logged_commit`: the decision log holds commit for it; `in_flight`: its
/// coordinator is still running in this process (it will decide, and tell
/// the participant: wait, even when the commit is logged already). With no
/// coordinator: commit when logged, else abort.
txn_resolution resolve_prepared(bool logged_commit, bool in_flight);

/// Checks a transaction tag received from elsewhere: 1 to 256 parts, each
/// naming a database (1-128 bytes, no '/') once, with 1 or more operations.
status validate(const txn_tag& tag);

/// A participant's durable prepare record: the transaction's operations in
/// this database, encoded (codec.hpp), in sequence order.
std::string encode_prepared(const std::vector<std::string>& encoded_ops);
result<std::vector<std::string>> decode_prepared(std::string_view bytes);

/// The decision log's record of a committed transaction: the participants
/// that have not yet confirmed their commit.
std::string encode_decision(const std::vector<std::string>& remaining);
result<std::vector<std::string>> decode_decision(std::string_view bytes);

} // namespace blaze
