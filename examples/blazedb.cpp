// `blazedb`: the command-line tool of BlazeDB (docs/cli.md). It opens a
// node on a data directory for the length of one command.
//
//   blazedb put bugs title=crash priority=2
//   blazedb query bugs --where-op priority:ge:2 --order priority --desc
#include "examples/cli_commands.hpp"
#include "examples/cli_sync.hpp"
#include "examples/cli_groups.hpp"
#include "examples/cli_join.hpp"

#ifdef BLAZE_HAVE_BENCH
#include "bench/bench.hpp"
#endif

#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>

namespace {

using namespace blaze::cli;

int run(int argc, char** argv) {
  CLI::App app{"BlazeDB: an embedded, offline-first CRDT database.\n"
               "Reads and writes the databases of a local data directory.",
               "blazedb"};
  app.require_subcommand(1);
  app.get_formatter()->label("SUBCOMMAND", "COMMAND");
  app.footer("A VALUE is a JSON literal when it parses as one (2, true, null, \"2\", [1,2], {\"a\":1},\n"
             "{\"$time\": micros}, {\"$bytes\": base64}, {\"$uuid\": hex}), else a string.\n"
             "Exit codes: 0 ok, 1 error, 2 usage, 3 not found, 4 data directory in use.\n"
             "Run 'blazedb COMMAND --help' for a command's options; the guide is docs/cli.md.\n");
  app.fallthrough();  // global options may also follow the command

  global_options g;
  app.add_option("--data", g.data_dir, "Data directory")->type_name("DIR")->envname("BLAZEDB_DATA")->capture_default_str();
  auto* db_opt = app.add_option("--db", g.db, "Database name")->type_name("NAME")->capture_default_str();
  bool sync_flag = false, buffered_flag = false;
  auto* sync = app.add_flag("--sync", sync_flag, "fsync every write before it is acknowledged");
  auto* buffered = app.add_flag("--buffered", buffered_flag, "Write-ahead log without fsync (the default)");
  sync->excludes(buffered);
  app.add_flag("-v,--verbose", g.verbose, "Debug logging on stderr");
  // On the commands that may create a database (docs/cli.md "Ownership").
  const char* plaintext_help =
    "A database this command creates: owned by this node but not end-to-end encrypted (the servers it syncs with "
    "can read it); without it new databases are sealed. A sealed database cannot be unsealed";
  auto plaintext_option = [&](CLI::App* c) { c->add_flag("--plaintext", g.plaintext, plaintext_help); };

  // ---- writes
  put_args put;
  auto* c_put = app.add_subcommand("put", "Insert a record, or with --id insert-or-update it; prints its id");
  c_put->add_option("COLLECTION", put.collection, "Collection")->type_name("")->required();
  c_put->add_option("--id", put.id, "Record id (32 hex digits): create or update this record")->type_name("ID");
  c_put->add_option("FIELDS", put.fields, "Fields to write (VALUE: a JSON literal, else a string)")->type_name("FIELD=VALUE");
  plaintext_option(c_put);

  field_args set, inc, add, rm;
  auto field_command = [&](const char* name, const char* help, field_args& a, const char* value_name,
                           const char* value_help) {
    auto* c = app.add_subcommand(name, help);
    c->add_option("COLLECTION", a.collection, "Collection")->type_name("")->required();
    c->add_option("ID", a.id, "Record id (32 hex digits)")->type_name("")->required();
    c->add_option("FIELD", a.field, "Field name")->type_name("")->required();
    c->add_option(value_name, a.value, value_help)->required()->type_name("");
    plaintext_option(c);
    return c;
  };
  auto* c_set = field_command("set", "Set a field (last writer wins)", set, "VALUE",
                              "A JSON literal, else a string");
  auto* c_inc = field_command("inc", "Add DELTA (may be negative) to a counter field", inc, "DELTA",
                              "A 64-bit integer");
  auto* c_add = field_command("add", "Add an element to a set field", add, "VALUE",
                              "A JSON literal, else a string");
  auto* c_rm = field_command("rm", "Remove an element from a set field", rm, "VALUE",
                             "A JSON literal, else a string");

  record_args del, get;
  auto* c_del = app.add_subcommand("del", "Delete a record (a later write resurrects it)");
  c_del->add_option("COLLECTION", del.collection, "Collection")->type_name("")->required();
  c_del->add_option("ID", del.id, "Record id (32 hex digits)")->type_name("")->required();
  plaintext_option(c_del);

  index_args index;
  auto* c_index = app.add_subcommand("index", "Create (or with --drop, drop) an index on a field");
  c_index->add_option("COLLECTION", index.collection, "Collection")->type_name("")->required();
  c_index->add_option("FIELD", index.field, "Field name")->type_name("")->required();
  c_index->add_flag("--drop", index.drop, "Drop the index instead");
  plaintext_option(c_index);

  // ---- reads
  auto* c_get = app.add_subcommand("get", "Print a record as one JSON object");
  c_get->add_option("COLLECTION", get.collection, "Collection")->type_name("")->required();
  c_get->add_option("ID", get.id, "Record id (32 hex digits)")->type_name("")->required();

  // A count: decimal digits only (CLI11 would wrap "-1" into a size_t).
  const CLI::Validator count(
    [](std::string& s) -> std::string {
      if (s.empty() || s.size() > 18 || !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return "expected a count (0 or more), got '" + s + "'";
      return {};
    },
    "N");

  query_args query;
  auto* c_query = app.add_subcommand("query", "Print matching records, one JSON object per line");
  c_query->add_option("COLLECTION", query.collection, "Collection")->type_name("")->required();
  c_query->add_option("--where", query.where, "FIELD=VALUE: the field equals the value (repeatable)")
    ->type_name("FIELD=VALUE")->allow_extra_args(false);
  c_query->add_option("--where-op", query.where_op, "FIELD:OP:VALUE with OP one of eq, lt, le, gt, ge, in (repeatable)")
    ->type_name("FIELD:OP:VALUE")->allow_extra_args(false);
  c_query->add_option("--order", query.order, "Order by this field (default: record id)")->type_name("FIELD");
  c_query->add_flag("--desc", query.desc, "Descending order");
  c_query->add_option("--limit", query.limit, "At most N records (0: no limit)")->check(count)->type_name("N");
  c_query->add_flag("--explain", query.explain, "Tell on stderr whether an index was used");

  log_args log;
  auto* c_log = app.add_subcommand("log", "Print the operation log, one JSON object per line");
  c_log->add_option("--collection", log.collection, "Only operations on this collection")->type_name("NAME");
  c_log->add_option("--limit", log.limit, "At most N operations (0: all)")->check(count)->type_name("N");

  conflicts_args conflicts;
  auto* c_conflicts = app.add_subcommand("conflicts", "Print recorded conflicts, one JSON object per line");
  c_conflicts->add_option("COLLECTION", conflicts.collection, "Only this collection")->type_name("");
  c_conflicts->add_flag("--clear", conflicts.clear, "Forget the recorded conflicts instead");
  c_conflicts->add_option("--resolve", conflicts.resolve,
                          "Resolve the conflicts of record ID's --field: set it to --value (a new write) and forget them")
    ->type_name("ID");
  c_conflicts->add_option("--field", conflicts.field, "With --resolve: the field")->type_name("FIELD");
  c_conflicts->add_option("--value", conflicts.value, "With --resolve: the value to keep")->type_name("VALUE");

  txn_args txn_a;
  auto* c_txn = app.add_subcommand("txn", "Commit writes to several databases atomically (a JSON list; docs/transactions.md)");
  c_txn->add_option("--file", txn_a.file, "The writes: a JSON list, each naming its \"db\" ('-': stdin)")
    ->type_name("WRITES.json")->required();
  c_txn->add_option("--group", txn_a.group, "Only this group's databases may be written")->type_name("NAME");
  plaintext_option(c_txn);

  group_args group_a;
  auto* c_group = app.add_subcommand("group", "Sync groups: create, list, sync");
  c_group->require_subcommand(1);
  auto* c_group_create = c_group->add_subcommand("create", "Create (or redefine) a group of databases");
  c_group_create->add_option("NAME", group_a.name, "Group name")->type_name("")->required();
  c_group_create->add_option("DATABASES", group_a.databases, "Member databases (created when missing)")
    ->type_name("")->required();
  plaintext_option(c_group_create);
  c_group_create
    ->add_flag("--join", group_a.join,
               "The databases are another node's: missing ones are created to join (their access lists arrive "
               "with `group sync`)")
    ->excludes("--plaintext");
  auto* c_group_list = c_group->add_subcommand("list", "Print the groups, one JSON object per line");
  auto* c_group_sync = c_group->add_subcommand("sync", "Sync every database of a group with a peer");
  c_group_sync->add_option("NAME", group_a.name, "Group name")->type_name("")->required();
  c_group_sync->add_option("URL", group_a.url, "tcp://, tls://, ws:// or wss://HOST:PORT")->type_name("")->required();
  c_group_sync->add_flag("--follow", group_a.follow, "Keep syncing live until interrupted");
  c_group_sync->add_option("--timeout", group_a.timeout_s, "Without --follow: give up after this many seconds")
    ->type_name("S")->check(CLI::Range(1, 86400))->capture_default_str();

  status_args status;
  auto* c_status = app.add_subcommand("status", "Print the node and its databases");
  c_status->add_flag("--json", status.json, "One JSON object instead of text");

  status_args id_a;
  auto* c_id = app.add_subcommand("id", "Print this node's id and Ed25519 public key (its identity in sync)");
  c_id->add_flag("--json", id_a.json, "One JSON object instead of text");
  invite_args invite_a;
  auto* c_invite = app.add_subcommand(
    "invite", "Grant a member key rights on --db (a missing database is created first, owned by this node)");
  c_invite->add_option("MEMBER_KEY", invite_a.member, "The member's key, as `blazedb id` prints it")->required();
  c_invite->add_option("--rights", invite_a.rights, "relay, r, rw or admin (default rw)");
  plaintext_option(c_invite);
  c_invite->add_option("--url", invite_a.url, "Where the member should sync (a hint carried by the token)")
    ->type_name("URL");
  c_invite->add_flag("--json", invite_a.json, "One JSON object instead of text");
  revoke_args revoke_a;
  auto* c_revoke = app.add_subcommand(
    "revoke", "Take every right on --db from a member; a sealed database gets a new content key (epoch)");
  c_revoke->add_option("MEMBER", revoke_a.member, "The member's key (as `blazedb id` prints it) or its node id")
    ->type_name("MEMBER_KEY|NODE_ID")->required();
  c_revoke->add_flag("--json", revoke_a.json, "One JSON object instead of text");
  join_args join_a;
  auto* c_join = app.add_subcommand(
    "join", "Join the database an invitation token names: sync it from URL once and check owner, rights and keys");
  c_join->add_option("URL", join_a.url,
                     "The peer: tcp://, tls://, ws:// or wss://HOST:PORT (leave it out when the token carries one)")
    ->type_name("")->required();
  c_join->add_option("TOKEN", join_a.token, "The invitation token `blazedb invite` printed")->type_name("");
  c_join->add_option("--timeout", join_a.timeout_s, "Give up after this many seconds")
    ->type_name("S")->check(CLI::Range(1, 86400))->capture_default_str();
  c_join->add_flag("--json", join_a.json, "One JSON object instead of text");
  c_join->add_flag("--insecure", join_a.tls.insecure, "Do not verify the server's TLS certificate (development only)");

  compact_args compact;
  auto* c_compact = app.add_subcommand(
    "compact", "Fold the operation log into the records up to what every known peer acknowledged");
  c_compact->add_flag("--json", compact.json, "One JSON object instead of text");
  c_compact->add_option("--forget", compact.forget, "Stop waiting for this peer (a node id); repeatable")
    ->type_name("NODE")->allow_extra_args(false);

  // ---- sync
  auto tls_options = [](CLI::App* c, tls_args& t, bool server) {
    c->add_option("--tls-cert", t.cert, server ? "Certificate chain (PEM): serve TLS / wss" : "Client certificate (PEM)")
      ->type_name("FILE")->check(CLI::ExistingFile);
    c->add_option("--tls-key", t.key, "Private key (PEM) of --tls-cert")->type_name("FILE")->check(CLI::ExistingFile);
    c->add_option("--tls-ca", t.ca,
                  server ? "Require client certificates from this CA (PEM)" : "Trust this CA (PEM) instead of the system's")
      ->type_name("FILE")->check(CLI::ExistingFile);
  };
  tls_options(c_join, join_a.tls, false);
  serve_args serve;
  auto* c_serve = app.add_subcommand("serve", "Serve every database of the data directory to peers (a relay)");
  c_serve->add_option("--listen", serve.listen, "TCP endpoint (TLS with --tls-cert); repeatable")->type_name("HOST:PORT");
  c_serve->add_option("--ws", serve.ws, "WebSocket endpoint (wss with --tls-cert); repeatable")->type_name("HOST:PORT");
  tls_options(c_serve, serve.tls, true);
  c_serve
    ->add_option("--idle-close", serve.idle_close_s,
                 "Close a database no session has used for this many seconds; reopen it on demand (0: never)")
    ->check(CLI::NonNegativeNumber)
    ->type_name("SECONDS")
    ->capture_default_str();
  c_serve
    ->add_option("--compact-every", serve.compact_every_s,
                 "Compact every open database's log this often, up to what all its peers acknowledged (0: never)")
    ->check(CLI::NonNegativeNumber)
    ->type_name("SECONDS")
    ->capture_default_str();

  sync_args sync_a;
  auto* c_sync = app.add_subcommand("sync", "Sync databases with a peer (--db: only that one; default: all)");
  c_sync->add_option("URL", sync_a.url, "tcp://, tls://, ws:// or wss://HOST:PORT")->type_name("")->required();
  c_sync->add_option("--collections", sync_a.collections, "Only these collections (a partial replica)")
    ->type_name("A,B");
  c_sync->add_flag("--once", sync_a.once, "Sync until both sides are caught up, then exit (the default)");
  c_sync->add_flag("--follow", sync_a.follow, "Keep syncing live until interrupted");
  c_sync->add_option("--timeout", sync_a.timeout_s, "--once gives up after this many seconds")
    ->type_name("S")->check(CLI::Range(1, 86400))->capture_default_str();
  c_sync->add_flag("-q,--quiet", sync_a.quiet, "No progress on stderr");
  c_sync->add_flag("--insecure", sync_a.tls.insecure, "Do not verify the server's TLS certificate (development only)");
  tls_options(c_sync, sync_a.tls, false);

  auto* c_bench = app.add_subcommand("bench", "Run a benchmark (arguments go to the bench program; try 'bench --help')");
  c_bench->prefix_command();
  c_bench->allow_extras();
  c_bench->set_help_flag();  // --help goes to the bench program
  c_bench->fallthrough(false);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    if (app.get_subcommands().empty() && !app.remaining().empty() && app.remaining().front()[0] != '-')
      throw cli_error(exit_usage, "unknown command '" + app.remaining().front() + "' (see blazedb --help)");
    std::string what = e.what();
    if (what == "A subcommand is required")
      what = "a command is required";
    std::string help = "blazedb --help";
    if (auto subs = app.get_subcommands(); !subs.empty())
      help = "blazedb " + subs.front()->get_name() + " --help";
    throw cli_error(exit_usage, what + " (see " + help + ")");
  }

  g.db_given = db_opt->count() > 0;
  if (sync_flag)
    g.mode = blaze::durability::sync;
  else if (buffered_flag)
    g.mode = blaze::durability::buffered;
  spdlog::set_level(g.verbose ? spdlog::level::debug : spdlog::level::warn);

  if (c_put->parsed())
    return cmd_put(g, put);
  if (c_set->parsed())
    return cmd_set(g, set);
  if (c_inc->parsed())
    return cmd_inc(g, inc);
  if (c_add->parsed())
    return cmd_add(g, add);
  if (c_rm->parsed())
    return cmd_rm(g, rm);
  if (c_del->parsed())
    return cmd_del(g, del);
  if (c_index->parsed())
    return cmd_index(g, index);
  if (c_get->parsed())
    return cmd_get(g, get);
  if (c_query->parsed())
    return cmd_query(g, query);
  if (c_log->parsed())
    return cmd_log(g, log);
  if (c_conflicts->parsed())
    return cmd_conflicts(g, conflicts);
  if (c_txn->parsed())
    return cmd_txn(g, txn_a);
  if (c_group_create->parsed())
    return cmd_group_create(g, group_a);
  if (c_group_list->parsed())
    return cmd_group_list(g);
  if (c_group_sync->parsed())
    return cmd_group_sync(g, group_a);
  if (c_status->parsed())
    return cmd_status(g, status);
  if (c_compact->parsed())
    return cmd_compact(g, compact);
  if (c_id->parsed())
    return cmd_id(g, id_a);
  if (c_invite->parsed())
    return cmd_invite(g, invite_a);
  if (c_revoke->parsed())
    return cmd_revoke(g, revoke_a);
  if (c_join->parsed())
    return cmd_join(g, join_a);
  if (c_serve->parsed())
    return cmd_serve(g, serve);
  if (c_sync->parsed())
    return cmd_sync(g, sync_a);
  if (c_bench->parsed()) {
#ifdef BLAZE_HAVE_BENCH
    return blaze::run_bench(c_bench->remaining());
#else
    throw cli_error(exit_error, "this blazedb was built without bench/");
#endif
  }
  throw cli_error(exit_usage, "a command is required (see blazedb --help)");
}

} // namespace

int main(int argc, char** argv) {
  // Logs go to stderr: stdout carries the command's output (JSON lines).
  spdlog::set_default_logger(spdlog::stderr_color_mt("blazedb"));
  spdlog::set_level(spdlog::level::warn);
  try {
    int rc = run(argc, argv);
    std::cout.flush();
    if (!std::cout)
      throw cli_error(exit_error, "cannot write to stdout");
    return rc;
  } catch (const cli_error& e) {
    std::cerr << "blazedb: " << e.what() << '\n';
    return e.code;
  } catch (const std::exception& e) {
    std::cerr << "blazedb: internal error: " << e.what() << '\n';
    return exit_error;
  } catch (...) {
    std::cerr << "blazedb: internal error\n";
    return exit_error;
  }
}
