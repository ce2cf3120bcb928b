#include "examples/cli_commands.hpp"
#include "examples/cli_sync.hpp"

#include "actors/registry_actor.hpp"
#include "core/invite_token.hpp"
#include "core/json.hpp"
#include "runtime/identity.hpp"
#include "runtime/net/url.hpp"
#include "runtime/node.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <memory>

namespace blaze::cli {

namespace {

using ojson = nlohmann::ordered_json;

// ---- errors -------------------------------------------------------------------

int exit_code_of(errc e) {
  switch (e) {
    case errc::unknown_record:
    case errc::unknown_database:
    case errc::unknown_collection: return exit_not_found;
    case errc::locked: return exit_locked;
    default: return exit_error;
  }
}

// One line, whatever the library put in the message.
std::string one_line(std::string s) {
  for (auto& c : s)
    if (c == '\n' || c == '\r')
      c = ' ';
  return s;
}

// ---- output -------------------------------------------------------------------

// Compact JSON on one line; invalid UTF-8 in stored strings is replaced
// rather than thrown on.
template <class Json> void print_line(const Json& j) {
  std::cout << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
}

// "2024-05-01T12:00:00.123Z" for milliseconds since the epoch.
std::string iso_millis(uint64_t ms) {
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[48];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  char out[64];
  std::snprintf(out, sizeof(out), "%s.%03uZ", buf, static_cast<unsigned>(ms % 1000));
  return out;
}

ojson ts_json(const timestamp& t) {
  ojson o;
  o["counter"] = t.counter;
  o["node"] = t.node.to_hex();
  return o;
}

// A record as the CLI prints it: "_id" first, then the fields. A field that
// is itself named "_id" is shadowed by the record id.
ojson record_json(const record_id& id, const value_map& doc) {
  ojson o;
  o["_id"] = id.to_hex();
  for (auto& [k, v] : doc)
    if (k != "_id")
      o[k] = ojson(to_json(v));
  return o;
}

const char* field_op_name(field_op::kind k) {
  switch (k) {
    case field_op::kind::set: return "set";
    case field_op::kind::increment: return "increment";
    case field_op::kind::add: return "add";
    case field_op::kind::remove: return "remove";
  }
  return "?";
}

ojson operation_json(const operation& op) {
  ojson o;
  o["dot"] = ojson{{"origin", op.id.origin.to_hex()}, {"seq", op.id.seq}};
  o["timestamp"] = op.counter;
  o["time"] = iso_millis(op.time().millis());
  o["kind"] = kind_name(op.k);
  o["collection"] = op.collection;
  switch (op.k) {
    case operation::kind::upsert: {
      o["record"] = op.record.to_hex();
      auto fields = ojson::array();
      for (auto& fo : op.fields) {
        ojson f;
        f["field"] = fo.field;
        f["op"] = field_op_name(fo.k);
        if (fo.k == field_op::kind::increment)
          f["delta"] = fo.delta;
        else
          f["value"] = ojson(to_json(fo.val));
        if (fo.k == field_op::kind::set && !fo.base.is_zero())
          f["base"] = ts_json(fo.base);
        if (fo.k == field_op::kind::remove)
          f["observed"] = fo.observed.size();
        fields.push_back(std::move(f));
      }
      o["fields"] = std::move(fields);
      break;
    }
    case operation::kind::remove_record: o["record"] = op.record.to_hex(); break;
    case operation::kind::create_index:
    case operation::kind::drop_index: o["field"] = op.index_field; break;
    case operation::kind::sealed: o["sealed_bytes"] = op.sealed_box.size(); break;
  }
  return o;
}

// ---- argument parsing -----------------------------------------------------------

record_id parse_id(const std::string& text) {
  auto id = record_id::from_hex(text);
  if (!id)
    usage("bad record id '" + text + "': expected 32 hex digits");
  return *id;
}

// A JSON literal when the text parses as one, else a string (parse_cli_value).
// Text that is JSON but no BlazeDB value (a bad {"$bytes": ...} tag, an
// integer over 64 bits) is refused rather than silently kept as a string.
value parse_value(const std::string& text, const std::string& what) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_discarded())
    if (auto v = from_json(j); !v)
      usage("bad value for " + what + ": " + v.error().message);
  return parse_cli_value(text);
}

// FIELD=VALUE, split at the first '='.
std::pair<std::string, value> parse_assignment(const std::string& text, const char* where) {
  auto eq = text.find('=');
  if (eq == std::string::npos)
    usage(std::string("expected FIELD=VALUE ") + where + ", got '" + text + "'");
  auto field = text.substr(0, eq);
  return {field, parse_value(text.substr(eq + 1), "field '" + field + "'")};
}

int64_t parse_delta(const std::string& text) {
  std::string_view s = text;
  if (!s.empty() && s[0] == '+')
    s.remove_prefix(1);
  int64_t n = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (s.empty() || ec != std::errc{} || end != s.data() + s.size())
    usage("bad delta '" + text + "': expected a 64-bit integer");
  return n;
}

// ---- the node ---------------------------------------------------------------------

enum class access { read, write };

// A node opened on the data directory for one command. Reads never create
// anything: not the data directory, not a database.
class session {
public:
  session(const global_options& g, access mode) : g_(g) {
    if (auto s = validate_database_name(g.db); !s)
      fail(s);
    if (mode == access::read) {
      std::error_code ec;
      if (!std::filesystem::is_directory(g.data_dir, ec))
        fail({errc::unknown_database, "no database '" + g.db + "' in " + g.data_dir +
                                        " (the data directory does not exist)"});
    }
    open_node();
  }
  // Only for `status`: the data directory must exist; no database is named.
  explicit session(const global_options& g) : g_(g) {
    std::error_code ec;
    if (!std::filesystem::is_directory(g.data_dir, ec))
      fail({errc::unknown_database, "no data directory " + g.data_dir});
    open_node();
  }
  ~session() {
    db_.reset();  // actor handles go before the actor system
    node_.reset();
  }
  session(const session&) = delete;
  session& operator=(const session&) = delete;

  /// The database named by --db: created when `create` (owned by this
  /// node: sealed, or plaintext with --plaintext), else it must exist.
  database& db(bool create) {
    if (!db_) {
      if (create) {
        auto names = node_->databases();
        if (!names)
          fail(names.error());
        created_ = std::find(names->begin(), names->end(), g_.db) == names->end();
      }
      database_options o;
      o.create = create;
      o.as = creating_as(g_);
      if (create)
        o.mode = g_.mode;
      auto d = node_->open_database(g_.db, o);
      if (!d)
        fail(d.error());
      db_.emplace(std::move(*d));
      if (create && g_.plaintext && !created_)
        refuse_unsealing(*db_);
    }
    return *db_;
  }
  /// Whether db(true) created the database.
  bool created() const { return created_; }
  node& n() { return *node_; }

private:
  void open_node() { node_ = cli::open_node(g_); }

  const global_options& g_;
  std::unique_ptr<node> node_;
  std::optional<database> db_;
  bool created_ = false;
};

void check(const status& s) {
  if (!s)
    fail(s);
}

} // namespace

void fail(const status& s) {
  throw cli_error(exit_code_of(s.code), one_line(s.to_string()));
}

void usage(const std::string& message) { throw cli_error(exit_usage, one_line(message)); }

new_database creating_as(const global_options& g) { return g.plaintext ? new_database::plaintext : new_database::sealed; }

void refuse_unsealing(const database& db) {
  auto list = db.access();
  if (!list)
    fail(list.error());
  if (list->is_sealed())
    fail({errc::invalid_argument, "--plaintext: database " + db.name() +
                                    " is sealed (end-to-end encrypted) since it was created, and a database cannot "
                                    "be unsealed (leave --plaintext out, or use a new database)"});
}

std::unique_ptr<node> open_node(const global_options& g, node_options o) {
  o.data_dir = g.data_dir;
  if (g.mode)
    o.mode = *g.mode;
  auto n = node::open(o);
  if (!n)
    fail(n.error());
  return std::move(*n);
}

// ---- writes ---------------------------------------------------------------------

int cmd_put(const global_options& g, const put_args& a) {
  value_map fields;
  for (auto& text : a.fields) {
    auto [field, v] = parse_assignment(text, "");
    if (!fields.emplace(field, std::move(v)).second)
      usage("field '" + field + "' is given twice");
  }
  std::optional<record_id> id;
  if (!a.id.empty())
    id = parse_id(a.id);
  session s(g, access::write);
  auto& db = s.db(true);
  // Without --id: insert (a fresh random id); with it: insert-or-update, an
  // insert on a live record setting just the named fields.
  auto r = id ? db.put(a.collection, *id, std::move(fields)) : db.insert(a.collection, std::move(fields));
  if (!r)
    fail(r.error());
  std::cout << r->to_hex() << '\n';
  return exit_ok;
}

int cmd_set(const global_options& g, const field_args& a) {
  auto id = parse_id(a.id);
  auto v = parse_value(a.value, "field '" + a.field + "'");
  session s(g, access::write);
  check(s.db(true).set(a.collection, id, a.field, std::move(v)));
  return exit_ok;
}

int cmd_inc(const global_options& g, const field_args& a) {
  auto id = parse_id(a.id);
  auto delta = parse_delta(a.value);
  session s(g, access::write);
  check(s.db(true).increment(a.collection, id, a.field, delta));
  return exit_ok;
}

int cmd_add(const global_options& g, const field_args& a) {
  auto id = parse_id(a.id);
  auto v = parse_value(a.value, "field '" + a.field + "'");
  session s(g, access::write);
  check(s.db(true).add(a.collection, id, a.field, std::move(v)));
  return exit_ok;
}

int cmd_rm(const global_options& g, const field_args& a) {
  auto id = parse_id(a.id);
  auto v = parse_value(a.value, "field '" + a.field + "'");
  session s(g, access::write);
  check(s.db(true).remove(a.collection, id, a.field, std::move(v)));
  return exit_ok;
}

int cmd_del(const global_options& g, const record_args& a) {
  auto id = parse_id(a.id);
  session s(g, access::write);
  check(s.db(true).erase(a.collection, id));
  return exit_ok;
}

int cmd_index(const global_options& g, const index_args& a) {
  session s(g, access::write);
  auto& db = s.db(true);
  check(a.drop ? db.drop_index(a.collection, a.field) : db.create_index(a.collection, a.field));
  return exit_ok;
}

// ---- reads ------------------------------------------------------------------------

int cmd_get(const global_options& g, const record_args& a) {
  auto id = parse_id(a.id);
  session s(g, access::read);
  auto doc = s.db(false).get(a.collection, id);
  if (!doc)
    fail(doc.error());
  print_line(record_json(id, *doc));
  return exit_ok;
}

int cmd_query(const global_options& g, const query_args& a) {
  query q;
  q.collection = a.collection;
  for (auto& text : a.where) {
    auto [field, v] = parse_assignment(text, "after --where");
    q.where.push_back({field, cmp::eq, std::move(v)});
  }
  for (auto& text : a.where_op) {
    auto c1 = text.find(':');
    auto c2 = c1 == std::string::npos ? c1 : text.find(':', c1 + 1);
    if (c2 == std::string::npos)
      usage("expected FIELD:OP:VALUE after --where-op, got '" + text + "'");
    auto field = text.substr(0, c1);
    auto op_text = text.substr(c1 + 1, c2 - c1 - 1);
    auto op = parse_cmp(op_text);
    if (!op)
      usage("unknown operator '" + op_text + "' in --where-op (use eq, lt, le, gt, ge or in)");
    q.where.push_back({field, *op, parse_value(text.substr(c2 + 1), "field '" + field + "'")});
  }
  q.order_by = a.order;
  q.descending = a.desc;
  q.limit = a.limit;
  check(q.validate());

  session s(g, access::read);
  query_stats stats;
  auto rows = s.db(false).run(q, &stats);
  if (!rows)
    fail(rows.error());
  for (auto& r : *rows)
    print_line(record_json(r.id, r.doc));
  std::cout.flush();
  if (a.explain) {
    if (stats.used_index)
      std::cerr << "explain: index used on " << q.collection << "." << stats.index_field;
    else
      std::cerr << "explain: no index used (full scan of " << q.collection << ")";
    std::cerr << "; examined " << stats.examined << " records, returned " << rows->size() << '\n';
  }
  return exit_ok;
}

int cmd_log(const global_options& g, const log_args& a) {
  session s(g, access::read);
  auto& db = s.db(false);
  version_vector after;
  size_t printed = 0;
  for (;;) {
    auto ops = db.operations_after(after, 1000);
    if (!ops)
      fail(ops.error());
    if (ops->empty())
      break;
    for (auto& op : *ops) {
      after.set(op.id.origin, op.id.seq);
      if (!a.collection.empty() && op.collection != a.collection)
        continue;
      print_line(operation_json(op));
      if (a.limit && ++printed >= a.limit)
        return exit_ok;
    }
  }
  return exit_ok;
}

int cmd_conflicts(const global_options& g, const conflicts_args& a) {
  if (!a.resolve.empty()) {
    if (a.collection.empty() || a.field.empty() || a.value.empty())
      usage("--resolve ID needs COLLECTION, --field FIELD and --value VALUE");
    if (a.clear)
      usage("--resolve and --clear exclude each other");
    auto id = parse_id(a.resolve);
    auto v = parse_value(a.value, "field '" + a.field + "'");
    session s(g, access::read);
    auto& db = s.db(false);
    auto n = db.resolve_conflict(a.collection, id, a.field, std::move(v));
    if (!n)
      fail(n.error());
    ojson o;
    o["collection"] = a.collection;
    o["record"] = id.to_hex();
    o["field"] = a.field;
    o["resolved"] = *n;
    print_line(o);
    return exit_ok;
  }
  session s(g, access::read);
  auto& db = s.db(false);
  if (a.clear) {
    check(db.clear_conflicts(a.collection));
    return exit_ok;
  }
  auto cs = db.list_conflicts();
  if (!cs)
    fail(cs.error());
  for (auto& c : *cs) {
    if (!a.collection.empty() && c.collection != a.collection)
      continue;
    ojson o;
    o["collection"] = c.collection;
    o["record"] = c.record.to_hex();
    o["field"] = c.field;
    o["winner"] = ojson(to_json(c.winner));
    o["winner_ts"] = ts_json(c.winner_ts);
    o["loser"] = ojson(to_json(c.loser));
    o["loser_ts"] = ts_json(c.loser_ts);
    print_line(o);
  }
  return exit_ok;
}

namespace {

// The status of a node another process is running: its peers file.
int status_of_running_node(const global_options& g, const status_args& a, const cli_error& locked) {
  auto peers = read_peers_file(g.data_dir);
  if (!peers)
    throw locked;
  auto j = ojson::parse(*peers, nullptr, false);
  if (j.is_discarded())
    throw locked;
  if (a.json) {
    ojson out;
    out["running"] = j;
    print_line(out);
    return exit_ok;
  }
  std::cout << "data dir    " << g.data_dir << " (in use by pid " << j.value("pid", 0) << ", blazedb "
            << j.value("role", std::string("?")) << ")\n";
  for (auto& l : j.value("listening", ojson::array()))
    std::cout << "listening   " << l.get<std::string>() << '\n';
  if (j.contains("sessions") && j.value("role", std::string()) == "serve")
    std::cout << "sessions    " << j.value("sessions", 0) << '\n';
  if (j.contains("peer_url"))
    std::cout << "peer        " << j.value("peer_url", std::string()) << '\n';
  for (auto& l : j.value("links", ojson::array())) {
    std::cout << "\ndatabase " << l.value("database", std::string()) << '\n'
              << "  state      "
              << (l.value("synced", false) ? "synced" : l.value("connected", false) ? "syncing" : "disconnected") << '\n'
              << "  address    " << l.value("address", std::string()) << '\n'
              << "  behind     " << l.value("behind", 0) << " ops\n"
              << "  unacked    " << l.value("unacked", 0) << " ops\n"
              << "  received   " << l.value("received", 0) << " ops\n"
              << "  sent       " << l.value("sent", 0) << " ops\n";
    auto err = l.value("last_error", std::string());
    if (!err.empty())
      std::cout << "  last error " << err << '\n';
  }
  return exit_ok;
}

} // namespace

int cmd_status(const global_options& g, const status_args& a) {
  std::optional<session> opened;
  try {
    opened.emplace(g);
  } catch (const cli_error& e) {
    if (e.code != exit_locked)
      throw;
    return status_of_running_node(g, a, e);
  }
  session& s = *opened;
  std::vector<std::string> names;
  if (g.db_given) {
    names.push_back(g.db);
  } else {
    auto all = s.n().databases();
    if (!all)
      fail(all.error());
    names = std::move(*all);
  }
  std::vector<database_status> infos;
  for (auto& name : names) {
    auto db = s.n().open_database(name, false);
    if (!db)
      fail(db.error());
    auto info = db->status_info();
    if (!info)
      fail(info.error());
    infos.push_back(std::move(*info));
  }
  std::error_code ec;
  auto dir = std::filesystem::weakly_canonical(g.data_dir, ec);
  std::string dir_text = ec ? g.data_dir : dir.string();

  if (a.json) {
    ojson out;
    out["node"] = s.n().id().to_hex();
    out["data_dir"] = dir_text;
    auto dbs = ojson::array();
    for (auto& i : infos) {
      ojson d;
      d["name"] = i.name;
      d["origin"] = i.self.to_hex();
      auto vv = ojson::object();
      for (auto& [origin, seq] : i.versions.entries())
        vv[origin.to_hex()] = seq;
      d["versions"] = std::move(vv);
      d["clock"] = i.clock;
      d["clock_time"] = i.clock ? ojson(iso_millis(i.clock >> hybrid_clock::logical_bits)) : ojson(nullptr);
      d["operations"] = i.operations;
      d["records"] = i.records;
      d["conflicts"] = i.conflicts;
      d["collections"] = i.collections;
      auto idx = ojson::array();
      for (auto& [c, f] : i.indexes)
        idx.push_back(ojson{{"collection", c}, {"field", f}});
      d["indexes"] = std::move(idx);
      d["durability"] = i.durability;
      d["refused_batches"] = i.refused_batches;
      d["equivocations"] = i.equivocations;
      d["access"] = i.access;
      d["key_epochs"] = i.key_epochs;
      d["unopened"] = i.unopened;
      dbs.push_back(std::move(d));
    }
    out["databases"] = std::move(dbs);
    print_line(out);
    return exit_ok;
  }

  std::cout << "node        " << s.n().id().to_hex() << '\n'
            << "data dir    " << dir_text << '\n'
            << "databases   " << infos.size() << '\n';
  for (auto& i : infos) {
    std::cout << "\ndatabase " << i.name << '\n'
              << "  origin       " << i.self.to_hex() << '\n'
              << "  durability   " << i.durability << '\n'
              << "  clock        " << i.clock;
    if (i.clock)
      std::cout << " (" << iso_millis(i.clock >> hybrid_clock::logical_bits) << ")";
    std::cout << '\n'
              << "  operations   " << i.operations << '\n'
              << "  records      " << i.records << '\n'
              << "  conflicts    " << i.conflicts << '\n'
              << "  refused      " << i.refused_batches << " batches failed authentication, "
              << i.equivocations << " equivocations\n"
              << "  access       " << i.access;
    if (i.access == "sealed") {
      std::cout << " (end-to-end encrypted; keys held: ";
      if (i.key_epochs.empty())
        std::cout << "none, this node only relays it";
      for (size_t k = 0; k < i.key_epochs.size(); ++k)
        std::cout << (k ? ", " : "epochs ") << i.key_epochs[k];
      std::cout << ")";
    }
    std::cout << '\n';
    if (i.unopened)
      std::cout << "  unopened     " << i.unopened << " sealed operations this node cannot read\n";
    std::cout << "  collections  ";
    for (size_t k = 0; k < i.collections.size(); ++k)
      std::cout << (k ? ", " : "") << i.collections[k];
    std::cout << (i.collections.empty() ? "-" : "") << '\n' << "  indexes      ";
    for (size_t k = 0; k < i.indexes.size(); ++k)
      std::cout << (k ? ", " : "") << i.indexes[k].first << "." << i.indexes[k].second;
    std::cout << (i.indexes.empty() ? "-" : "") << '\n' << "  versions     ";
    bool first = true;
    for (auto& [origin, seq] : i.versions.entries()) {
      std::cout << (first ? "" : "\n               ") << origin.to_hex() << ": " << seq;
      first = false;
    }
    std::cout << (first ? "-" : "") << '\n';
  }
  return exit_ok;
}

// ---- compaction -------------------------------------------------------------------

int cmd_compact(const global_options& g, const compact_args& a) {
  std::vector<node_id> forget;
  for (auto& text : a.forget) {
    auto id = node_id::from_hex(text);
    if (!id)
      usage("bad peer '" + text + "': expected a node id of 32 hex digits");
    forget.push_back(*id);
  }
  session s(g, access::read);  // never creates a database
  auto r = s.db(false).compact(std::move(forget));
  if (!r)
    fail(r.error());
  auto& rep = *r;
  if (a.json) {
    ojson out;
    out["database"] = g.db;
    out["removed"] = rep.removed;
    out["bytes"] = rep.bytes;
    out["kept"] = rep.kept;
    if (!rep.kept_because.empty())
      out["kept_because"] = rep.kept_because;
    auto peers = ojson::array();
    for (auto& p : rep.peers)
      peers.push_back(p.to_hex());
    out["peers"] = std::move(peers);
    auto base = ojson::object();
    for (auto& [origin, seq] : rep.base_after.entries())
      base[origin.to_hex()] = seq;
    out["base"] = std::move(base);
    print_line(out);
    return exit_ok;
  }
  if (!rep.kept_because.empty()) {
    std::cout << rep.kept_because << " (" << rep.kept << " operations)\n";
    return exit_ok;
  }
  std::cout << "database " << g.db << ": removed " << rep.removed << " operation"
            << (rep.removed == 1 ? "" : "s") << " (" << rep.bytes << " bytes) from the log, " << rep.kept
            << " kept; up to what " << rep.peers.size() << " known peer" << (rep.peers.size() == 1 ? "" : "s")
            << " acknowledged" << (rep.peers.empty() ? " (none: the whole log)" : "") << '\n';
  for (auto& p : rep.peers)
    std::cout << "  peer " << p.to_hex() << '\n';
  for (auto& [origin, seq] : rep.base_after.entries()) {
    std::cout << "  " << origin.to_hex() << ": compacted through " << seq;
    if (rep.base_before.get(origin) != seq)
      std::cout << " (was " << rep.base_before.get(origin) << ")";
    std::cout << '\n';
  }
  return exit_ok;
}

int cmd_id(const global_options& g, const status_args& a) {
  std::error_code ec;
  std::filesystem::create_directories(g.data_dir, ec);
  if (ec)
    fail({errc::io_error, "cannot create " + g.data_dir + ": " + ec.message()});
  auto ident = load_or_create_identity(g.data_dir);
  if (!ident)
    fail(ident.error());
  static const char* digits = "0123456789abcdef";
  std::string key;
  for (unsigned char c : ident->public_key) {
    key.push_back(digits[c >> 4]);
    key.push_back(digits[c & 15]);
  }
  if (a.json) {
    nlohmann::ordered_json o;
    o["node"] = ident->id.to_hex();
    o["public_key"] = key;
    o["member_key"] = member_key_of(*ident).to_string();
    o["created"] = ident->fresh;
    print_json_line(o.dump());
  } else {
    std::cout << "node " << ident->id.to_hex() << "\npublic key " << key << " (Ed25519)\nmember key "
              << member_key_of(*ident).to_string() << " (Ed25519 + X25519: give it to be invited)\n";
    if (ident->fresh)
      std::cout << "(a new identity" << (ident->reason.empty() ? "" : ": " + ident->reason) << ")\n";
  }
  return exit_ok;
}

int cmd_invite(const global_options& g, const invite_args& a) {
  auto member = crypto::member_key::parse(a.member);
  if (!member)
    usage(member.error().message);
  auto rights = parse_rights(a.rights);
  if (!rights || *rights == access_rights::none)
    usage("--rights must be relay, r, rw or admin, not '" + a.rights + "'");
  if (!a.url.empty()) {
    if (auto ep = net::parse_url(a.url); !ep)
      usage("--url: " + ep.error().message);
    invite_token probe;
    probe.database = "x";
    probe.rights = access_rights::relay;
    probe.url = a.url;
    if (auto v = probe.validate(); !v)
      usage("--url: " + v.message);
  }
  session s(g, access::write);
  auto& db = s.db(true);  // a missing database: created here, owned by this node
  const bool created = s.created();
  auto& self = s.n().ident();
  auto list = db.access();
  if (!list)
    fail(list.error());
  if (!list->empty() && !list->is_admin(self.id))
    fail({errc::forbidden, "this node (" + self.id.to_hex() + ") is not an admin of " + db.name() +
                             ": only the owner (" + list->owner_id().to_hex() + ") or an admin can invite"});
  // The member's record; a reader of a sealed database also gets every
  // content key this node holds, wrapped for its X25519 key. A database
  // without a list (one joined here whose list has not arrived) is refused
  // by the library with the reason.
  check(db.share(*member, *rights));
  list = db.access();
  if (!list)
    fail(list.error());
  invite_token token;
  token.database = db.name();
  token.owner = *list->owner();
  token.member = member->id();
  token.rights = *rights;
  token.sealed = list->is_sealed();
  token.url = a.url;
  auto text = token.to_string();
  if (!text)
    fail(text.error());
  if (a.json) {
    nlohmann::ordered_json o;
    o["database"] = db.name();
    o["member"] = member->id().to_hex();
    o["rights"] = to_string(*rights);
    o["created_access_list"] = created;  // this invite created the database, and with it its list
    o["sealed"] = list->is_sealed();
    o["owner"] = list->owner_id().to_hex();
    o["token"] = *text;
    print_json_line(o.dump());
  } else {
    if (created)
      std::cout << "created database " << db.name() << " (owner: this node; "
                << (list->is_sealed() ? "sealed: end-to-end encrypted" : "plaintext: the servers it syncs with can read it")
                << ")\n";
    std::cout << "granted " << to_string(*rights) << " on " << db.name() << " to node " << member->id().to_hex()
              << "\ninvitation token (give it to the member; it is not secret):\n" << *text
              << "\nsync the access list to the relay, then the member runs: blazedb join "
              << (a.url.empty() ? std::string("URL") : a.url) << " " << *text << "\n";
  }
  return exit_ok;
}

int cmd_revoke(const global_options& g, const revoke_args& a) {
  // A member key (what `blazedb id` prints and `invite` took) or a node id.
  node_id who;
  if (auto id = node_id::from_hex(a.member)) {
    who = *id;
  } else if (auto key = crypto::member_key::parse(a.member)) {
    who = key->id();
  } else {
    usage("expected a member key (as `blazedb id` prints it) or a node id (32 hex digits), got '" + a.member + "'");
  }
  session s(g, access::read);  // never creates a database
  auto& db = s.db(false);
  auto& self = s.n().ident();
  auto before = db.access();
  if (!before)
    fail(before.error());
  if (before->empty())
    fail({errc::invalid_argument, "database " + db.name() + " has no access list" +
                                    (db.status_info() && db.status_info()->access == "joining"
                                       ? " yet (joined here; it arrives with sync)"
                                       : "") +
                                    ": nobody to revoke"});
  if (!before->is_admin(self.id))
    fail({errc::forbidden, "this node (" + self.id.to_hex() + ") is not an admin of " + db.name() +
                             ": only the owner (" + before->owner_id().to_hex() + ") or an admin can revoke"});
  const access_rights had = before->rights_of(who);
  check(db.revoke(who));
  auto after = db.access();
  if (!after)
    fail(after.error());
  const bool rotated = after->epoch() != before->epoch();
  if (a.json) {
    nlohmann::ordered_json o;
    o["database"] = db.name();
    o["member"] = who.to_hex();
    o["had"] = to_string(had);
    o["sealed"] = after->is_sealed();
    if (after->is_sealed())
      o["epoch"] = after->epoch();
    else
      o["epoch"] = nullptr;
    o["new_epoch"] = rotated;
    print_json_line(o.dump());
  } else {
    std::cout << "revoked node " << who.to_hex() << " (" << to_string(had) << ") on " << db.name() << '\n';
    if (!after->is_sealed())
      std::cout << "plaintext database: no content key to change; sync so its peers stop serving the node\n";
    else if (rotated)
      std::cout << "new content key: epoch " << after->epoch()
                << " (the node keeps what it could read, not what is written from now on); sync it to the members\n";
    else
      std::cout << "it held no content key: the epoch stays " << after->epoch() << '\n';
  }
  return exit_ok;
}

} // namespace blaze::cli
