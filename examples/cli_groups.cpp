#include "examples/cli_groups.hpp"

#include "core/json.hpp"
#include "runtime/node.hpp"
#include "runtime/sync_group.hpp"

#include <nlohmann/json.hpp>

#include <pthread.h>
#include <signal.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

namespace blaze::cli {

namespace {

using ojson = nlohmann::ordered_json;

// Groups are kept in <data>/.groups.json: {"NAME": ["db", ...], ...}.
std::filesystem::path groups_file(const global_options& g) { return std::filesystem::path(g.data_dir) / ".groups.json"; }

std::map<std::string, std::vector<std::string>> read_groups(const global_options& g) {
  std::map<std::string, std::vector<std::string>> out;
  std::ifstream in(groups_file(g));
  if (!in)
    return out;
  auto j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    fail({errc::corrupt, groups_file(g).string() + " is not a JSON object"});
  for (auto& [name, dbs] : j.items()) {
    if (!dbs.is_array())
      fail({errc::corrupt, groups_file(g).string() + ": group '" + name + "' is not a list"});
    for (auto& d : dbs)
      out[name].push_back(d.get<std::string>());
  }
  return out;
}

void write_groups(const global_options& g, const std::map<std::string, std::vector<std::string>>& groups) {
  nlohmann::json j = nlohmann::json::object();
  for (auto& [name, dbs] : groups)
    j[name] = dbs;
  auto tmp = groups_file(g);
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << j.dump(2) << '\n';
    if (!out)
      fail({errc::io_error, "cannot write " + tmp.string()});
  }
  std::error_code ec;
  std::filesystem::rename(tmp, groups_file(g), ec);
  if (ec)
    fail({errc::io_error, "cannot write " + groups_file(g).string() + ": " + ec.message()});
}

std::vector<std::string> members_of(const global_options& g, const std::string& name) {
  auto groups = read_groups(g);
  auto it = groups.find(name);
  if (it == groups.end())
    fail({errc::unknown_database, "no group '" + name + "' in " + g.data_dir + " (see blazedb group create)"});
  return it->second;
}

std::string str_of(const nlohmann::json& w, const char* key, size_t i, bool required = true) {
  auto it = w.find(key);
  if (it == w.end() || !it->is_string()) {
    if (required)
      usage("write " + std::to_string(i + 1) + ": \"" + key + "\" must be a string");
    return {};
  }
  return it->get<std::string>();
}

value value_of(const nlohmann::json& j, size_t i) {
  auto v = from_json(j);
  if (!v)
    usage("write " + std::to_string(i + 1) + ": " + v.error().message);
  return std::move(*v);
}

// One JSON write → (database, write). See docs/cli.md "txn".
std::pair<std::string, write> parse_write(const nlohmann::json& w, size_t i, std::vector<record_id>& new_ids) {
  if (!w.is_object())
    usage("write " + std::to_string(i + 1) + " is not a JSON object");
  auto db = str_of(w, "db", i);
  auto op = str_of(w, "op", i);
  write out;
  out.collection = str_of(w, "collection", i);
  auto id_text = str_of(w, "id", i, false);
  if (!id_text.empty()) {
    auto id = record_id::from_hex(id_text);
    if (!id)
      usage("write " + std::to_string(i + 1) + ": bad record id '" + id_text + "'");
    out.record = *id;
  } else if (op != "put") {
    usage("write " + std::to_string(i + 1) + ": \"" + op + "\" needs an \"id\"");
  }
  auto fields = [&] {
    value_map m;
    if (auto f = w.find("fields"); f != w.end()) {
      if (!f->is_object())
        usage("write " + std::to_string(i + 1) + ": \"fields\" must be an object");
      for (auto& [k, v] : f->items())
        m.emplace(k, value_of(v, i));
    }
    return m;
  };
  auto field_and = [&](write::kind k) {
    out.k = k;
    out.field = str_of(w, "field", i);
  };
  if (op == "put") {
    out.k = write::kind::insert;
    out.fields = fields();
    if (id_text.empty()) {
      out.record = new_record_id();
      out.fresh_id = true;
      new_ids.push_back(out.record);
    }
  } else if (op == "update") {
    out.k = write::kind::update;
    out.fields = fields();
  } else if (op == "set" || op == "add" || op == "rm") {
    field_and(op == "set" ? write::kind::set : op == "add" ? write::kind::add : write::kind::remove);
    if (!w.contains("value"))
      usage("write " + std::to_string(i + 1) + ": \"" + op + "\" needs a \"value\"");
    out.val = value_of(w["value"], i);
  } else if (op == "inc") {
    field_and(write::kind::increment);
    if (!w.contains("delta") || !w["delta"].is_number_integer())
      usage("write " + std::to_string(i + 1) + ": \"inc\" needs an integer \"delta\"");
    out.delta = w["delta"].get<int64_t>();
  } else if (op == "del") {
    out.k = write::kind::remove_record;
  } else {
    usage("write " + std::to_string(i + 1) + ": unknown op '" + op + "' (put, update, set, inc, add, rm, del)");
  }
  return {db, std::move(out)};
}

} // namespace

int cmd_txn(const global_options& g, const txn_args& a) {
  std::string text;
  if (a.file == "-") {
    std::ostringstream ss;
    ss << std::cin.rdbuf();
    text = ss.str();
  } else {
    std::ifstream in(a.file);
    if (!in)
      fail({errc::invalid_argument, "cannot read " + a.file});
    std::ostringstream ss;
    ss << in.rdbuf();
    text = ss.str();
  }
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_array())
    usage(a.file + ": expected a JSON list of writes");
  txn t;
  std::vector<record_id> new_ids;
  std::vector<std::string> named;
  for (size_t i = 0; i < j.size(); ++i) {
    auto [db, w] = parse_write(j[i], i, new_ids);
    if (auto s = validate_database_name(db); !s)
      fail(s);
    named.push_back(db);
    t.write(db, std::move(w));
  }
  auto n = open_node(g);
  // The group: the named one, or every database the transaction names.
  auto members = a.group.empty() ? named : members_of(g, a.group);
  // A database the transaction creates is owned by this node (sealed, or
  // plaintext with --plaintext).
  sync_group_options go;
  go.as = creating_as(g);
  auto grp = n->sync_group(members, go);
  if (!grp)
    fail(grp.error());
  if (g.plaintext)
    for (auto& m : members)
      if (auto db = n->open_database(m, false); db)
        refuse_unsealing(*db);
  auto r = (*grp)->commit(t);
  if (!r)
    fail(r.error());
  ojson o;
  o["txn"] = r->id.to_hex();
  auto parts = ojson::array();
  for (auto& p : r->parts)
    parts.push_back(ojson{{"database", p.database}, {"ops", p.ops}});
  o["parts"] = std::move(parts);
  auto ids = ojson::array();
  for (auto& id : new_ids)
    ids.push_back(id.to_hex());
  o["inserted"] = std::move(ids);
  std::cout << o.dump() << '\n';
  return exit_ok;
}

int cmd_group_create(const global_options& g, const group_args& a) {
  if (a.name.empty() || a.name.size() > 128)
    usage("a group name is 1 to 128 characters");
  if (a.databases.empty())
    usage("name the group's databases");
  for (auto& d : a.databases)
    if (auto s = validate_database_name(d); !s)
      fail(s);
  auto n = open_node(g);  // creates the data directory
  // Missing databases: owned by this node (sealed, or plaintext with
  // --plaintext), or with --join another node's, whose lists arrive with
  // `group sync`.
  database_options o;
  o.as = a.join ? new_database::join : creating_as(g);
  o.mode = g.mode;
  for (auto& d : a.databases) {
    auto db = n->open_database(d, o);
    if (!db)
      fail(db.error());
    if (g.plaintext)
      refuse_unsealing(*db);
  }
  auto groups = read_groups(g);
  auto dbs = a.databases;
  std::sort(dbs.begin(), dbs.end());
  dbs.erase(std::unique(dbs.begin(), dbs.end()), dbs.end());
  groups[a.name] = dbs;
  write_groups(g, groups);
  std::cout << ojson{{"group", a.name}, {"databases", dbs}}.dump() << '\n';
  return exit_ok;
}

int cmd_group_list(const global_options& g) {
  for (auto& [name, dbs] : read_groups(g))
    std::cout << ojson{{"group", name}, {"databases", dbs}}.dump() << '\n';
  return exit_ok;
}

int cmd_group_sync(const global_options& g, const group_args& a) {
  auto members = members_of(g, a.name);
  // SIGINT/SIGTERM are taken by this thread (blocked before the node's threads start).
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  auto n = open_node(g);
  // A member database missing here is another node's: it joins, as `sync` does.
  sync_group_options o;
  o.as = new_database::join;
  auto grp = n->sync_group(members, o);
  if (!grp)
    fail(grp.error());
  if (auto s = (*grp)->start(a.url); !s)
    fail(s);
  auto print = [&] {
    for (auto& l : (*grp)->sync_status())
      std::cout << ojson{{"group", a.name},
                         {"database", l.database},
                         {"connected", l.connected},
                         {"synced", l.synced},
                         {"received", l.received},
                         {"sent", l.sent},
                         {"last_error", l.last_error}}
                     .dump()
                << '\n';
    std::cout.flush();
  };
  if (!a.follow) {
    bool ok = (*grp)->wait_synced(std::chrono::seconds(a.timeout_s));
    print();
    if (!ok)
      fail({errc::timeout, "group '" + a.name + "' not synced after " + std::to_string(a.timeout_s) + " s"});
    return exit_ok;
  }
  timespec ts{1, 0};
  while (sigtimedwait(&set, nullptr, &ts) <= 0) {
  }
  print();
  return exit_ok;
}

} // namespace blaze::cli
