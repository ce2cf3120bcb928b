// The commands of the `blazedb` CLI (docs/cli.md), separate from the
// argument parsing in blazedb.cpp. Each command prints its result on stdout
// and reports failure by throwing cli_error, which main turns into one line
// `blazedb: <message>` on stderr and the error's exit code.
#pragma once

#include "core/status.hpp"
#include "runtime/options.hpp"
#include "storage/store.hpp"

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace blaze {
class node;
class database;
} // namespace blaze

namespace blaze::cli {

/// Exit codes (documented in docs/cli.md).
enum exit_code : int {
  exit_ok = 0,
  exit_error = 1,      // anything else: invalid data, I/O, timeouts
  exit_usage = 2,      // malformed command line
  exit_not_found = 3,  // unknown record or database
  exit_locked = 4,     // data directory held by another process
};

/// A failure to report: one line of text and an exit code.
struct cli_error : std::runtime_error {
  int code;
  cli_error(int c, const std::string& message) : std::runtime_error(message), code(c) {}
};

/// Throws the cli_error a library status maps to.
[[noreturn]] void fail(const status& s);
/// Throws a usage error (exit 2).
[[noreturn]] void usage(const std::string& message);

/// Options that apply to every command.
struct global_options {
  std::string data_dir = "./blazedb-data";
  std::string db = "default";
  bool db_given = false;               // --db was on the command line
  std::optional<durability> mode;      // --sync / --buffered
  bool verbose = false;
  // --plaintext (on the commands that may create a database): a database
  // this command creates is owned by this node and access-controlled but not
  // end-to-end encrypted (a server that must read or query it). Without it
  // a new database is sealed. An existing sealed database cannot be unsealed:
  // the command fails.
  bool plaintext = false;
};

/// What a database the command creates starts with: plaintext with
/// --plaintext, else sealed (new_database, storage/store.hpp).
new_database creating_as(const global_options& g);
/// --plaintext named `db`, which exists: fails (before anything is written)
/// when it is sealed, since a database cannot be unsealed. A plaintext one,
/// or one joined here whose list has not arrived, passes.
void refuse_unsealing(const database& db);

/// A node on the data directory (and durability) of `g`, with `o`'s other
/// options; fails (cli_error) when it cannot be opened.
std::unique_ptr<node> open_node(const global_options& g, node_options o = {});

struct put_args {
  std::string collection;
  std::string id;  // empty: a new record
  std::vector<std::string> fields;
};

/// set / add / rm: COLLECTION ID FIELD VALUE. inc: VALUE is the delta.
struct field_args {
  std::string collection;
  std::string id;
  std::string field;
  std::string value;
};

struct record_args {
  std::string collection;
  std::string id;
};

struct query_args {
  std::string collection;
  std::vector<std::string> where;     // FIELD=VALUE
  std::vector<std::string> where_op;  // FIELD:OP:VALUE
  std::string order;
  bool desc = false;
  size_t limit = 0;
  bool explain = false;
};

struct index_args {
  std::string collection;
  std::string field;
  bool drop = false;
};

struct log_args {
  std::string collection;  // empty: every collection
  size_t limit = 0;        // 0: every operation
};

struct conflicts_args {
  std::string collection;  // empty: every collection
  bool clear = false;
  std::string resolve;     // a record id: resolve the conflicts of its field --field
  std::string field;
  std::string value;       // the chosen value (a CLI VALUE)
};

struct status_args {
  bool json = false;
};

struct invite_args {
  std::string member;        // a member key (blazedb id)
  std::string rights = "rw"; // relay, r, rw, admin
  std::string url;           // a URL hint carried by the token (where the member should sync)
  bool json = false;
};

struct revoke_args {
  std::string member;  // a member key (blazedb id) or a node id (32 hex digits)
  bool json = false;
};

struct compact_args {
  bool json = false;
  std::vector<std::string> forget;  // peer node ids
};

int cmd_put(const global_options& g, const put_args& a);
int cmd_set(const global_options& g, const field_args& a);
int cmd_inc(const global_options& g, const field_args& a);
int cmd_add(const global_options& g, const field_args& a);
int cmd_rm(const global_options& g, const field_args& a);
int cmd_del(const global_options& g, const record_args& a);
int cmd_get(const global_options& g, const record_args& a);
int cmd_query(const global_options& g, const query_args& a);
int cmd_index(const global_options& g, const index_args& a);
int cmd_log(const global_options& g, const log_args& a);
int cmd_conflicts(const global_options& g, const conflicts_args& a);
int cmd_status(const global_options& g, const status_args& a);
int cmd_compact(const global_options& g, const compact_args& a);
/// Prints the node id and Ed25519 public key of the data directory (made on
/// first use); works while another process holds the directory.
int cmd_id(const global_options& g, const status_args& a);
/// Grants a member key rights on --db (database::share) and prints the
/// invitation token the member joins with (docs/security.md §5). A missing
/// database is created first, owned by this node (sealed unless
/// --plaintext); --plaintext on an existing sealed database fails.
int cmd_invite(const global_options& g, const invite_args& a);
/// Takes every right on --db from a member (database::revoke); for a sealed
/// database a reader's removal makes a new content key (epoch), printed.
int cmd_revoke(const global_options& g, const revoke_args& a);

} // namespace blaze::cli
