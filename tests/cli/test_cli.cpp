// End-to-end tests of the `blazedb` CLI: every case runs the real binary
// (BLAZEDB_CLI) in a fresh temporary data directory and checks its exit
// code, its stdout (parsed as JSON where the command prints JSON) and its
// stderr.
#define BOOST_TEST_MODULE cli
#include <boost/test/unit_test.hpp>

#include "core/crypto/ed25519.hpp"
#include "core/crypto/member_key.hpp"
#include "runtime/node.hpp"
#include "tests/common/sharing.hpp"

#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

extern char** environ;

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// A database the CLI creates is owned by this node: its access list (the
// database record and the owner's member record, collection `_access`) is
// written at creation, before any write of the command.
constexpr uint64_t access_ops = 2;      // the access list's operations (seqs 1 and 2)
constexpr uint64_t access_records = 2;  // ... and its records

struct outcome {
  int code = -1;
  std::string out;
  std::string err;

  std::vector<std::string> lines() const {
    std::vector<std::string> v;
    std::istringstream in(out);
    for (std::string l; std::getline(in, l);)
      v.push_back(l);
    return v;
  }
  std::vector<json> json_lines() const {
    std::vector<json> v;
    for (auto& l : lines())
      v.push_back(json::parse(l));  // throws (and fails the case) when a line is not JSON
    return v;
  }
  std::string first_line() const { return out.substr(0, out.find('\n')); }
  /// stderr is exactly one line.
  bool one_error_line() const {
    return !err.empty() && err.back() == '\n' && std::count(err.begin(), err.end(), '\n') == 1;
  }
};

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

struct temp_dir {
  fs::path path;
  temp_dir() {
    std::string tmpl = (fs::temp_directory_path() / "blazedb-cli-XXXXXX").string();
    BOOST_REQUIRE(::mkdtemp(tmpl.data()));
    path = tmpl;
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

// Runs the CLI with `args`; stdout and stderr go to files (no pipe deadlock).
// `env` entries ("NAME=value") are added to the environment; BLAZEDB_DATA
// is removed unless given there.
outcome run_env(const std::vector<std::string>& args, const std::vector<std::string>& env) {
  temp_dir io;
  auto out_path = io.path / "out";
  auto err_path = io.path / "err";
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&fa, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);

  std::vector<std::string> all{BLAZEDB_CLI};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all)
    argv.push_back(a.data());
  argv.push_back(nullptr);

  std::vector<std::string> envs;
  for (char** e = environ; *e; ++e)
    if (std::string_view(*e).rfind("BLAZEDB_DATA=", 0) != 0)
      envs.emplace_back(*e);
  envs.insert(envs.end(), env.begin(), env.end());
  std::vector<char*> envp;
  for (auto& e : envs)
    envp.push_back(e.data());
  envp.push_back(nullptr);

  pid_t pid = 0;
  int rc = posix_spawn(&pid, BLAZEDB_CLI, &fa, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  BOOST_REQUIRE_EQUAL(rc, 0);
  int wstatus = 0;
  BOOST_REQUIRE_EQUAL(::waitpid(pid, &wstatus, 0), pid);
  outcome o;
  BOOST_REQUIRE_MESSAGE(WIFEXITED(wstatus), "blazedb died by a signal");
  o.code = WEXITSTATUS(wstatus);
  o.out = slurp(out_path);
  o.err = slurp(err_path);
  return o;
}

outcome run(const std::vector<std::string>& args) { return run_env(args, {}); }

bool is_hex_id(const std::string& s) {
  return s.size() == 32 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// A fresh data directory and shortcuts to run the CLI on it.
struct fixture {
  temp_dir dir;
  std::string data() const { return (dir.path / "data").string(); }

  outcome cli(std::vector<std::string> args) {
    args.insert(args.begin(), {"--data", data()});
    return run(args);
  }
  outcome ok(std::vector<std::string> args) {
    auto o = cli(args);
    BOOST_REQUIRE_MESSAGE(o.code == 0, "blazedb " << args.front() << " failed with " << o.code << ": " << o.err);
    return o;
  }
  std::string put(std::vector<std::string> args) {
    args.insert(args.begin(), "put");
    auto id = ok(args).first_line();
    BOOST_REQUIRE(is_hex_id(id));
    return id;
  }
  json get(const std::string& collection, const std::string& id) {
    auto o = ok({"get", collection, id});
    auto lines = o.json_lines();
    BOOST_REQUIRE_EQUAL(lines.size(), 1u);
    return lines[0];
  }
  std::vector<json> query(std::vector<std::string> args) {
    args.insert(args.begin(), "query");
    return ok(args).json_lines();
  }
  std::vector<std::string> ids_of(const std::vector<json>& rows) {
    std::vector<std::string> v;
    for (auto& r : rows)
      v.push_back(r.at("_id").get<std::string>());
    return v;
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(cli, fixture)

// `id`: the node's identity — stable, private, the node id derived from the
// public key — the same one `status` reports and sync proves.
BOOST_AUTO_TEST_CASE(id_prints_the_node_key) {
  auto first = ok({"id", "--json"}).json_lines();
  BOOST_REQUIRE_EQUAL(first.size(), 1u);
  auto node = first[0].at("node").get<std::string>();
  auto key = first[0].at("public_key").get<std::string>();
  BOOST_TEST(is_hex_id(node));
  BOOST_REQUIRE_EQUAL(key.size(), 64u);
  std::string raw;
  for (size_t i = 0; i < 64; i += 2)
    raw.push_back(static_cast<char>(std::stoi(key.substr(i, 2), nullptr, 16)));
  auto pk = blaze::crypto::ed25519_public_key::from_bytes(raw);
  BOOST_REQUIRE(pk.has_value());
  BOOST_TEST(blaze::crypto::node_id_of(*pk).to_hex() == node);
  // the member key carries the same Ed25519 key (and the X25519 one)
  auto member = first[0].at("member_key").get<std::string>();
  auto mk = blaze::crypto::member_key::parse(member);
  BOOST_REQUIRE(mk.ok());
  BOOST_TEST((mk->signing == *pk));
  BOOST_TEST(mk->id().to_hex() == node);
  auto again = ok({"id", "--json"}).json_lines();
  BOOST_TEST(again[0].at("node").get<std::string>() == node);
  BOOST_TEST(again[0].at("created").get<bool>() == false);
  BOOST_TEST(contains(ok({"id"}).out, "public key " + key));
  BOOST_TEST(contains(ok({"id"}).out, "member key " + member));
  BOOST_TEST(again[0].at("member_key").get<std::string>() == member);
  struct stat st {};
  BOOST_REQUIRE(::stat((dir.path / "data" / "identity.key").c_str(), &st) == 0);
  BOOST_TEST((st.st_mode & 0777) == 0600);
  ok({"put", "bugs", "title=x"});
  BOOST_TEST(contains(ok({"status"}).out, node));
}

BOOST_AUTO_TEST_CASE(put_get_round_trip) {
  auto id = put({"bugs", "title=crash on start", "priority=2", "done=false", "ratio=0.5", "tags=[\"ui\",\"db\"]",
                 "meta={\"os\":\"linux\",\"n\":1}", "expr=a=b", "zip=007", "none=null", "when={\"$time\":1700000000000000}"});
  auto doc = get("bugs", id);
  BOOST_TEST(doc.at("_id") == id);
  BOOST_TEST(doc.at("title") == "crash on start");
  BOOST_TEST(doc.at("priority") == 2);
  BOOST_TEST(doc.at("priority").is_number_integer());
  BOOST_TEST(doc.at("done") == false);
  BOOST_TEST(doc.at("ratio") == 0.5);
  BOOST_TEST(doc.at("tags") == json::parse(R"(["ui","db"])"));
  BOOST_TEST(doc.at("meta") == json::parse(R"({"os":"linux","n":1})"));
  BOOST_TEST(doc.at("expr") == "a=b");   // split at the first '='
  BOOST_TEST(doc.at("zip") == "007");    // not JSON: kept as a string
  BOOST_TEST(doc.at("none").is_null());
  BOOST_TEST(doc.at("when") == json::parse(R"({"$time":1700000000000000})"));
  BOOST_TEST(doc.size() == 11u);

  // A second record gets a different id; both are there.
  auto id2 = put({"bugs", "title=other"});
  BOOST_TEST(id2 != id);
  BOOST_TEST(get("bugs", id2).at("title") == "other");
  BOOST_TEST(query({"bugs"}).size() == 2u);
}

BOOST_AUTO_TEST_CASE(invite_records_grants_in_the_access_list) {
  // the member's key, from its own data directory
  auto member = run({"--data", (dir.path / "member").string(), "id", "--json"}).json_lines().at(0);
  auto key = member.at("member_key").get<std::string>();
  // the first invite creates `club`: owned by this node, sealed
  auto first = ok({"--db", "club", "invite", key, "--rights", "r", "--json"}).json_lines().at(0);
  BOOST_TEST(first.at("created_access_list").get<bool>());
  BOOST_TEST(first.at("sealed").get<bool>());
  BOOST_TEST(first.at("rights").get<std::string>() == "r");
  BOOST_TEST(first.at("member").get<std::string>() == member.at("node").get<std::string>());
  auto second = ok({"--db", "club", "invite", key, "--rights", "rw", "--json"}).json_lines().at(0);
  BOOST_TEST(!second.at("created_access_list").get<bool>());
  // the list: the database record, the owner and the member, with rw now
  auto rows = query({"--db", "club", "_access"});
  BOOST_TEST(rows.size() == 3u);
  bool found = false;
  for (auto& r : rows)
    if (r.contains("rights") && r.at("_id").get<std::string>() == member.at("node").get<std::string>())
      found = r.at("rights").get<std::string>() == "rw";
  BOOST_TEST(found);
  // bad input: a clear error, nothing written
  auto bad = cli({"--db", "club", "invite", key, "--rights", "owner"});
  BOOST_TEST(bad.code == 2);
  BOOST_TEST(contains(bad.err, "--rights must be"), bad.err);
  auto garbled = cli({"--db", "club", "invite", key.substr(0, 50)});
  BOOST_TEST(garbled.code == 2);
  BOOST_TEST(contains(garbled.err, "member key"), garbled.err);
  BOOST_TEST(query({"--db", "club", "_access"}).size() == 3u);
  // --plaintext cannot unseal it: refused before anything is written
  auto unseal = cli({"--db", "club", "invite", key, "--rights", "r", "--plaintext"});
  BOOST_TEST(unseal.code == 1);
  BOOST_TEST(unseal.one_error_line());
  BOOST_TEST(contains(unseal.err, "club is sealed"), unseal.err);
  BOOST_TEST(contains(unseal.err, "cannot be unsealed"), unseal.err);
  BOOST_TEST(query({"--db", "club", "_access"}).size() == 3u);
  // on a missing database --plaintext creates it plaintext (owned, not encrypted)
  auto open = ok({"--db", "board", "invite", key, "--plaintext", "--json"}).json_lines().at(0);
  BOOST_TEST(open.at("created_access_list").get<bool>());
  BOOST_TEST(!open.at("sealed").get<bool>());
  BOOST_TEST(open.at("owner").get<std::string>() == first.at("owner").get<std::string>());
  auto board = json::parse(ok({"--db", "board", "status", "--json"}).out).at("databases").at(0);
  BOOST_TEST(board.at("access") == "plaintext");
  // and the writes that create a database take --plaintext too
  ok({"--db", "notes", "put", "--plaintext", "notes", "title=x"});
  auto notes = json::parse(ok({"--db", "notes", "status", "--json"}).out).at("databases").at(0);
  BOOST_TEST(notes.at("access") == "plaintext");
  BOOST_TEST(cli({"--db", "club", "put", "--plaintext", "notes", "title=x"}).code == 1);
}

// `revoke`: the member's rights go to none; a reader of a sealed database
// takes a new content key (epoch) with it.
BOOST_AUTO_TEST_CASE(revoke_takes_the_rights_and_rotates_the_key) {
  auto reader = run({"--data", (dir.path / "reader").string(), "id", "--json"}).json_lines().at(0);
  auto relay = run({"--data", (dir.path / "relay").string(), "id", "--json"}).json_lines().at(0);
  ok({"--db", "club", "invite", reader.at("member_key").get<std::string>(), "--rights", "r"});
  ok({"--db", "club", "invite", relay.at("member_key").get<std::string>(), "--rights", "relay"});
  auto rights_of = [&](const std::string& node) {
    for (auto& r : query({"--db", "club", "_access"}))
      if (r.at("_id") == node)
        return r.at("rights").get<std::string>();
    return std::string("(no record)");
  };
  BOOST_TEST(rights_of(reader.at("node")) == "r");

  // a relay held no key: the epoch stays (by node id)
  auto r1 = ok({"--db", "club", "revoke", relay.at("node").get<std::string>(), "--json"}).json_lines().at(0);
  BOOST_TEST(r1.at("member") == relay.at("node"));
  BOOST_TEST(r1.at("had") == "relay");
  BOOST_TEST(r1.at("sealed").get<bool>());
  BOOST_TEST(r1.at("epoch") == 1);
  BOOST_TEST(!r1.at("new_epoch").get<bool>());
  BOOST_TEST(rights_of(relay.at("node")) == "none");
  // a reader (by member key): a new content key, epoch 2, printed
  auto text = ok({"--db", "club", "revoke", reader.at("member_key").get<std::string>()}).out;
  BOOST_TEST(contains(text, "revoked node " + reader.at("node").get<std::string>()), text);
  BOOST_TEST(contains(text, "epoch 2"), text);
  BOOST_TEST(rights_of(reader.at("node")) == "none");
  auto st = json::parse(ok({"--db", "club", "status", "--json"}).out).at("databases").at(0);
  BOOST_TEST(st.at("key_epochs") == json::parse("[1,2]"));

  // refusals: a non-member, a garbled key, the owner, a missing database
  auto stranger = cli({"--db", "club", "revoke", std::string(32, 'a')});
  BOOST_TEST(stranger.code == 1);
  BOOST_TEST(contains(stranger.err, "not a member"), stranger.err);
  BOOST_TEST(cli({"--db", "club", "revoke", "nonsense"}).code == 2);
  auto me = ok({"status", "--json"});
  auto owner = cli({"--db", "club", "revoke", json::parse(me.out).at("node").get<std::string>()});
  BOOST_TEST(owner.code == 1);
  BOOST_TEST(contains(owner.err, "owner"), owner.err);
  BOOST_TEST(cli({"--db", "nope", "revoke", std::string(32, 'a')}).code == 3);
  BOOST_TEST(!fs::exists(fs::path(data()) / "nope"));
}

BOOST_AUTO_TEST_CASE(put_with_id_inserts_then_updates) {
  const std::string id = "0123456789abcdef0123456789abcdef";
  auto o = ok({"put", "bugs", "--id", id, "a=1", "b=2"});
  BOOST_TEST(o.first_line() == id);
  BOOST_TEST(get("bugs", id) == json::parse(R"({"_id":"0123456789abcdef0123456789abcdef","a":1,"b":2})"));
  // Upper-case hex is accepted; an update touches only the named fields.
  o = ok({"put", "bugs", "--id", "0123456789ABCDEF0123456789ABCDEF", "b=3", "c=\"x\""});
  BOOST_TEST(o.first_line() == id);
  BOOST_TEST(get("bugs", id) == json::parse(R"({"_id":"0123456789abcdef0123456789abcdef","a":1,"b":3,"c":"x"})"));
  BOOST_TEST(query({"bugs"}).size() == 1u);

  auto bad = cli({"put", "bugs", "--id", "xyz", "a=1"});
  BOOST_TEST(bad.code == 2);
  BOOST_TEST(bad.one_error_line());
  BOOST_TEST(contains(bad.err, "blazedb: bad record id 'xyz'"));
  bad = cli({"put", "bugs", "a=1", "a=2"});
  BOOST_TEST(bad.code == 2);
  BOOST_TEST(contains(bad.err, "given twice"));
  bad = cli({"put", "bugs", "novalue"});
  BOOST_TEST(bad.code == 2);
  BOOST_TEST(contains(bad.err, "FIELD=VALUE"));
  BOOST_TEST(query({"bugs"}).size() == 1u);
}

BOOST_AUTO_TEST_CASE(set_inc_add_rm_del) {
  auto id = put({"bugs", "title=crash"});
  ok({"set", "bugs", id, "title", "fixed crash"});
  ok({"set", "bugs", id, "severity", "3"});
  ok({"inc", "bugs", id, "views", "5"});
  ok({"inc", "bugs", id, "views", "-2"});
  ok({"inc", "bugs", id, "views", "+10"});
  ok({"add", "bugs", id, "tags", "ui"});
  ok({"add", "bugs", id, "tags", "db"});
  ok({"add", "bugs", id, "tags", "7"});
  ok({"rm", "bugs", id, "tags", "ui"});
  auto doc = get("bugs", id);
  BOOST_TEST(doc.at("title") == "fixed crash");
  BOOST_TEST(doc.at("severity") == 3);
  BOOST_TEST(doc.at("views") == 13);
  BOOST_REQUIRE(doc.at("tags").is_array());
  std::multiset<std::string> tags;
  for (auto& t : doc.at("tags"))
    tags.insert(t.dump());
  BOOST_TEST((tags == std::multiset<std::string>{"\"db\"", "7"}));

  ok({"del", "bugs", id});
  auto gone = cli({"get", "bugs", id});
  BOOST_TEST(gone.code == 3);
  BOOST_TEST(gone.out.empty());
  BOOST_TEST(gone.one_error_line());
  BOOST_TEST(gone.err.rfind("blazedb: ", 0) == 0);
  BOOST_TEST(contains(gone.err, id));
  // Writes that need a live record fail the same way.
  for (auto cmd : {"inc", "set", "add", "rm"}) {
    auto o = cli({cmd, "bugs", id, "views", "1"});
    BOOST_TEST(o.code == 3, cmd << " on a deleted record exits " << o.code);
    BOOST_TEST(o.one_error_line());
  }
  BOOST_TEST(cli({"del", "bugs", id}).code == 3);
  BOOST_TEST(query({"bugs"}).empty());
  // A later put with the id resurrects it with only the new fields.
  ok({"put", "bugs", "--id", id, "title=back"});
  BOOST_TEST(get("bugs", id) == json({{"_id", id}, {"title", "back"}}));

  auto bad = cli({"inc", "bugs", id, "views", "abc"});
  BOOST_TEST(bad.code == 2);
  BOOST_TEST(contains(bad.err, "bad delta 'abc'"));
}

BOOST_AUTO_TEST_CASE(query_where_order_limit_and_index) {
  std::vector<std::string> ids;
  for (int p = 1; p <= 6; ++p)
    ids.push_back(put({"bugs", "priority=" + std::to_string(p), std::string("status=") + (p % 2 ? "open" : "closed")}));
  put({"bugs", "title=no priority"});
  put({"users", "name=ann", "priority=9"});

  BOOST_TEST(query({"bugs"}).size() == 7u);
  auto open = query({"bugs", "--where", "status=open"});
  BOOST_TEST(open.size() == 3u);
  for (auto& r : open)
    BOOST_TEST(r.at("status") == "open");

  auto top = query({"bugs", "--where-op", "priority:ge:3", "--order", "priority", "--desc", "--limit", "2"});
  BOOST_REQUIRE_EQUAL(top.size(), 2u);
  BOOST_TEST(top[0].at("priority") == 6);
  BOOST_TEST(top[0].at("_id") == ids[5]);
  BOOST_TEST(top[1].at("priority") == 5);

  auto both = query({"bugs", "--where", "status=open", "--where-op", "priority:gt:1", "--order", "priority"});
  BOOST_REQUIRE_EQUAL(both.size(), 2u);
  BOOST_TEST(both[0].at("priority") == 3);
  BOOST_TEST(both[1].at("priority") == 5);

  auto in = query({"bugs", "--where-op", "priority:in:[2,4,42]", "--order", "priority"});
  BOOST_TEST((ids_of(in) == std::vector<std::string>{ids[1], ids[3]}));

  // No index yet: --explain says so on stderr, stdout unchanged.
  auto plain = cli({"query", "bugs", "--where-op", "priority:ge:3", "--order", "priority", "--explain"});
  BOOST_REQUIRE_EQUAL(plain.code, 0);
  BOOST_TEST(plain.json_lines().size() == 4u);
  BOOST_TEST(contains(plain.err, "no index used"));
  BOOST_TEST(contains(plain.err, "examined 7"));

  ok({"index", "bugs", "priority"});
  auto indexed = cli({"query", "bugs", "--where-op", "priority:ge:3", "--order", "priority", "--explain"});
  BOOST_REQUIRE_EQUAL(indexed.code, 0);
  BOOST_TEST(contains(indexed.err, "index used on bugs.priority"));
  BOOST_TEST(contains(indexed.err, "examined 4"));  // only the candidates
  BOOST_TEST(ids_of(indexed.json_lines()) == ids_of(plain.json_lines()));
  auto eq = cli({"query", "bugs", "--where", "priority=2", "--explain"});
  BOOST_TEST(contains(eq.err, "index used"));
  BOOST_TEST((ids_of(eq.json_lines()) == std::vector<std::string>{ids[1]}));
  // An index on another field is not used.
  auto other = cli({"query", "bugs", "--where", "status=open", "--explain"});
  BOOST_TEST(contains(other.err, "no index used"));

  auto st = json::parse(ok({"status", "--json"}).out);
  BOOST_TEST(st.at("databases").at(0).at("indexes") == json::parse(R"([{"collection":"bugs","field":"priority"}])"));

  ok({"index", "bugs", "priority", "--drop"});
  auto dropped = cli({"query", "bugs", "--where-op", "priority:ge:3", "--explain"});
  BOOST_TEST(contains(dropped.err, "no index used"));
  BOOST_TEST(dropped.json_lines().size() == 4u);
  st = json::parse(ok({"status", "--json"}).out);
  BOOST_TEST(st.at("databases").at(0).at("indexes").empty());

  // Malformed predicates are usage errors.
  auto bad = cli({"query", "bugs", "--where-op", "priority:like:3"});
  BOOST_TEST(bad.code == 2);
  BOOST_TEST(contains(bad.err, "unknown operator 'like'"));
  bad = cli({"query", "bugs", "--where-op", "priority3"});
  BOOST_TEST(bad.code == 2);
  bad = cli({"query", "bugs", "--where", "priority"});
  BOOST_TEST(bad.code == 2);
  bad = cli({"query", "bugs", "--where-op", "priority:in:3"});
  BOOST_TEST(bad.code != 0);
  BOOST_TEST(bad.one_error_line());
}

BOOST_AUTO_TEST_CASE(log_lists_operations) {
  // Plaintext: the log prints operations as stored, and this case checks
  // their fields (a sealed database's are ciphertext: see the end).
  auto id = put({"--plaintext", "bugs", "title=crash", "priority=2"});
  ok({"set", "bugs", id, "title", "fixed"});
  ok({"inc", "bugs", id, "views", "3"});
  ok({"add", "bugs", id, "tags", "ui"});
  ok({"rm", "bugs", id, "tags", "ui"});
  ok({"index", "bugs", "priority"});
  ok({"del", "bugs", id});
  auto all = ok({"log"}).json_lines();
  BOOST_REQUIRE_EQUAL(all.size(), access_ops + 7);
  std::string origin = all[0].at("dot").at("origin");
  BOOST_TEST(is_hex_id(origin));
  uint64_t last_ts = 0;
  for (size_t i = 0; i < all.size(); ++i) {
    BOOST_TEST(all[i].at("dot").at("origin") == origin);
    BOOST_TEST(all[i].at("dot").at("seq") == i + 1);
    BOOST_TEST(all[i].at("collection") == (i < access_ops ? "_access" : "bugs"));
    uint64_t ts = all[i].at("timestamp");
    BOOST_TEST(ts > last_ts);
    last_ts = ts;
  }
  // the access list is never sealed: its records are readable upserts (the database record names the owner)
  BOOST_TEST(all[0].at("kind") == "upsert");
  BOOST_TEST(contains(all[0].at("fields").dump(), R"("field":"owner")"));
  BOOST_TEST(contains(all[0].at("fields").dump(), R"("field":"sealed","op":"set","value":false)"));
  std::vector<json> ops(all.begin() + access_ops, all.end());  // the command's writes
  BOOST_TEST(ops[0].at("kind") == "upsert");
  BOOST_TEST(ops[0].at("record") == id);
  BOOST_TEST(ops[0].at("fields") ==
             json::parse(R"([{"field":"priority","op":"set","value":2},{"field":"title","op":"set","value":"crash"}])"));
  BOOST_TEST(ops[1].at("fields").at(0).at("value") == "fixed");
  BOOST_TEST(ops[1].at("fields").at(0).at("base").at("counter") == ops[0].at("timestamp"));
  BOOST_TEST(ops[2].at("fields") == json::parse(R"([{"field":"views","op":"increment","delta":3}])"));
  BOOST_TEST(ops[3].at("fields").at(0).at("op") == "add");
  BOOST_TEST(ops[4].at("fields").at(0).at("op") == "remove");
  BOOST_TEST(ops[4].at("fields").at(0).at("observed") == 1);
  BOOST_TEST(ops[5].at("kind") == "create_index");
  BOOST_TEST(ops[5].at("field") == "priority");
  BOOST_TEST(ops[6].at("kind") == "delete");
  BOOST_TEST(ops[6].at("record") == id);

  BOOST_TEST(ok({"log", "--limit", "2"}).json_lines().size() == 2u);
  put({"users", "name=ann"});
  BOOST_TEST(ok({"log", "--collection", "users"}).json_lines().size() == 1u);
  BOOST_TEST(ok({"log", "--collection", "bugs"}).json_lines().size() == 7u);
  BOOST_TEST(ok({"log"}).json_lines().size() == access_ops + 8);

  // A sealed database (the default) logs ciphertext: the kind "sealed", the
  // collection, no fields.
  put({"--db", "vault", "bugs", "title=secret"});
  auto sealed = ok({"--db", "vault", "log", "--collection", "bugs"}).json_lines();
  BOOST_REQUIRE_EQUAL(sealed.size(), 1u);
  BOOST_TEST(sealed[0].at("kind") == "sealed");
  BOOST_TEST(sealed[0].at("dot").at("seq") == access_ops + 1);
  BOOST_TEST(!sealed[0].contains("fields"));
  BOOST_TEST(!contains(ok({"--db", "vault", "log"}).out, "secret"));
}

BOOST_AUTO_TEST_CASE(conflicts_empty_for_sequential_writes) {
  auto id = put({"bugs", "title=a"});
  for (int i = 0; i < 5; ++i)
    ok({"set", "bugs", id, "title", "v" + std::to_string(i)});
  ok({"put", "bugs", "--id", id, "title=last"});
  BOOST_TEST(get("bugs", id).at("title") == "last");
  auto o = ok({"conflicts"});
  BOOST_TEST(o.out.empty());
  BOOST_TEST(ok({"conflicts", "--clear"}).out.empty());
  BOOST_TEST(json::parse(ok({"status", "--json"}).out).at("databases").at(0).at("conflicts") == 0);
}

// Two nodes (two data directories) act as two replicas of one database
// that set one field concurrently and then exchange operations: both record
// the conflict, and the CLI lists and clears it. Node a owns `shared` (sealed)
// and shares it with b, which joins: b takes writes once a's access list
// reached it with the first exchange.
BOOST_AUTO_TEST_CASE(conflicts_from_concurrent_writes) {
  const std::string hex = "00000000000000000000000000000abc";
  auto id = *blaze::record_id::from_hex(hex);
  const std::string data_b = (dir.path / "b").string();
  {
    auto open_node = [](const std::string& where) {
      blaze::node_options opts;
      opts.data_dir = where;
      opts.worker_threads = 1;
      auto n = blaze::node::open(opts);
      BOOST_REQUIRE(n.ok());
      return std::move(*n);
    };
    auto na = open_node(data()), nb = open_node(data_b);
    auto a = na->open_database("shared");
    BOOST_REQUIRE(a.ok());
    blaze::test::share(*a, *nb);
    auto b = blaze::test::join(*nb, "shared");
    BOOST_REQUIRE(a->put("bugs", id, {{"status", "open"}}).ok());
    auto sync = [](blaze::database& from, blaze::database& to) {
      auto ops = from.operations_after({}, 1000);
      BOOST_REQUIRE(ops.ok());
      auto rep = to.apply(std::move(*ops));
      BOOST_REQUIRE(rep.ok());
      BOOST_REQUIRE(rep->refused.empty());
    };
    sync(*a, b);
    BOOST_REQUIRE(a->set("bugs", id, "status", "fixed").ok());
    BOOST_REQUIRE(b.set("bugs", id, "status", "wont-fix").ok());
    sync(*a, b);
    sync(b, *a);
  }
  auto on = [&](const std::string& node, std::vector<std::string> args) {
    args.insert(args.begin(), {"--data", node == "a" ? data() : data_b, "--db", "shared"});
    auto o = run(args);
    BOOST_REQUIRE_MESSAGE(o.code == 0, "blazedb " << args.at(4) << " on " << node << " failed: " << o.err);
    return o;
  };
  auto va = json::parse(on("a", {"get", "bugs", hex}).out);
  auto vb = json::parse(on("b", {"get", "bugs", hex}).out);
  BOOST_TEST(va == vb);  // converged
  std::string winner = va.at("status");
  std::string loser = winner == "fixed" ? "wont-fix" : "fixed";

  for (std::string node : {"a", "b"}) {
    auto lines = on(node, {"conflicts"}).json_lines();
    BOOST_REQUIRE_EQUAL(lines.size(), 1u);
    auto& c = lines[0];
    BOOST_TEST(c.at("collection") == "bugs");
    BOOST_TEST(c.at("record") == hex);
    BOOST_TEST(c.at("field") == "status");
    BOOST_TEST(c.at("winner") == winner);
    BOOST_TEST(c.at("loser") == loser);
    BOOST_TEST(c.at("winner_ts").at("counter").get<uint64_t>() > 0);
    BOOST_TEST(is_hex_id(c.at("loser_ts").at("node").get<std::string>()));
    BOOST_TEST(on(node, {"conflicts", "users"}).out.empty());  // other collection
  }
  BOOST_TEST(json::parse(on("a", {"status", "--json"}).out).at("databases").at(0).at("conflicts") == 1);
  BOOST_TEST(on("a", {"conflicts", "--clear"}).out.empty());
  BOOST_TEST(on("a", {"conflicts"}).out.empty());
  BOOST_TEST(json::parse(on("a", {"status", "--json"}).out).at("databases").at(0).at("conflicts") == 0);
  BOOST_TEST(on("b", {"conflicts"}).json_lines().size() == 1u);  // b keeps its own
  BOOST_TEST(json::parse(on("a", {"get", "bugs", hex}).out) == va);  // values untouched
}

BOOST_AUTO_TEST_CASE(status_text_and_json) {
  auto id = put({"bugs", "title=a"});
  put({"bugs", "title=b"});
  ok({"inc", "bugs", id, "n", "1"});
  ok({"--db", "other", "put", "users", "name=ann"});
  ok({"index", "bugs", "title"});

  auto j = json::parse(ok({"status", "--json"}).out);
  std::string node = j.at("node");
  BOOST_TEST(is_hex_id(node));
  BOOST_TEST(fs::equivalent(fs::path(j.at("data_dir").get<std::string>()), fs::path(data())));
  auto& dbs = j.at("databases");
  BOOST_REQUIRE_EQUAL(dbs.size(), 2u);
  auto& d = dbs.at(0);
  BOOST_TEST(d.at("name") == "default");
  // records and operations count the access list's too (collection `_access`)
  BOOST_TEST(d.at("records") == access_records + 2);
  BOOST_TEST(d.at("operations") == access_ops + 4);
  BOOST_TEST(d.at("conflicts") == 0);
  BOOST_TEST(d.at("access") == "sealed");  // created by the CLI: owned by this node, end-to-end encrypted
  BOOST_TEST(d.at("key_epochs") == json::parse("[1]"));
  // Each database writes under its own origin, derived from the node id.
  std::string origin = d.at("origin");
  BOOST_TEST(is_hex_id(origin));
  BOOST_TEST(origin != node);
  BOOST_TEST(d.at("versions") == json({{origin, access_ops + 4}}));
  BOOST_TEST(ok({"log"}).json_lines().at(0).at("dot").at("origin") == origin);
  BOOST_TEST(d.at("clock").get<uint64_t>() > 0);
  BOOST_TEST(d.at("collections") == json::parse(R"(["_access","bugs"])"));
  BOOST_TEST(d.at("indexes") == json::parse(R"([{"collection":"bugs","field":"title"}])"));
  BOOST_TEST(d.at("durability") == "buffered");
  BOOST_TEST(dbs.at(1).at("name") == "other");
  BOOST_TEST(dbs.at(1).at("records") == access_records + 1);
  BOOST_TEST(dbs.at(1).at("origin") != origin);

  // --db narrows to one database. Durability is stored with the database:
  // --sync on a read changes nothing, on a write it sticks.
  auto one = json::parse(ok({"--db", "other", "--sync", "status", "--json"}).out);
  BOOST_REQUIRE_EQUAL(one.at("databases").size(), 1u);
  BOOST_TEST(one.at("databases").at(0).at("name") == "other");
  BOOST_TEST(one.at("databases").at(0).at("durability") == "buffered");
  ok({"--db", "other", "--sync", "put", "users", "name=bob"});
  one = json::parse(ok({"--db", "other", "status", "--json"}).out);
  BOOST_TEST(one.at("databases").at(0).at("durability") == "sync");
  ok({"--db", "other", "put", "users", "name=cy"});  // no flag: keeps sync
  one = json::parse(ok({"--db", "other", "status", "--json"}).out);
  BOOST_TEST(one.at("databases").at(0).at("durability") == "sync");
  ok({"--db", "other", "--buffered", "put", "users", "name=di"});
  one = json::parse(ok({"--db", "other", "status", "--json"}).out);
  BOOST_TEST(one.at("databases").at(0).at("durability") == "buffered");
  BOOST_TEST(one.at("databases").at(0).at("records") == access_records + 4);

  auto text = ok({"status"}).out;
  BOOST_TEST(contains(text, "node        " + node));
  BOOST_TEST(contains(text, "database default"));
  BOOST_TEST(contains(text, "database other"));
  BOOST_TEST(contains(text, "records      " + std::to_string(access_records + 2)));
  BOOST_TEST(contains(text, "access       sealed (end-to-end encrypted; keys held: epochs 1)"));
  BOOST_TEST(contains(text, "indexes      bugs.title"));
  BOOST_TEST(contains(text, "origin       " + origin));
  BOOST_TEST(contains(text, origin + ": " + std::to_string(access_ops + 4)));

  auto missing = cli({"--db", "nope", "status"});
  BOOST_TEST(missing.code == 3);
  BOOST_TEST(contains(missing.err, "no database 'nope'"));
}

BOOST_AUTO_TEST_CASE(bad_input_is_refused_and_changes_nothing) {
  auto id = put({"bugs", "title=a", "n=1"});
  auto before_log = ok({"log"}).out;
  auto before_doc = get("bugs", id);

  auto check_refused = [&](const outcome& o, const std::string& needle) {
    BOOST_TEST(o.code != 0);
    BOOST_TEST(o.out.empty());
    BOOST_TEST(o.one_error_line(), "stderr: " << o.err);
    BOOST_TEST(o.err.rfind("blazedb: ", 0) == 0, "stderr: " << o.err);
    BOOST_TEST(contains(o.err, needle), "stderr: " << o.err << " lacks " << needle);
  };
  check_refused(cli({"put", "bugs", "=5"}), "field name is empty");
  check_refused(cli({"put", "bugs", "--id", id, "=5"}), "field name is empty");
  std::string long_name(300, 'f');
  check_refused(cli({"put", "bugs", long_name + "=1"}), "over the maximum");
  check_refused(cli({"set", "bugs", id, long_name, "1"}), "over the maximum");
  check_refused(cli({"set", "bugs", id, "", "1"}), "field name is empty");
  check_refused(cli({"inc", "bugs", id, "n", "1.5"}), "bad delta");
  check_refused(cli({"inc", "bugs", id, "n", "99999999999999999999"}), "bad delta");
  check_refused(cli({"set", "bugs", id, "blob", R"({"$bytes":5})"}), "bad value for field 'blob'");
  check_refused(cli({"put", "bugs", "--id", id, "n=18446744073709551615"}), "bad value for field 'n'");
  check_refused(cli({"get", "bugs", "1234"}), "bad record id");
  check_refused(cli({"put", std::string(300, 'c'), "a=1"}), "collection name");
  check_refused(cli({"--db", "../escape", "put", "bugs", "a=1"}), "database name");

  BOOST_TEST(ok({"log"}).out == before_log);
  BOOST_TEST(get("bugs", id) == before_doc);
  BOOST_TEST(query({"bugs"}).size() == 1u);
  BOOST_TEST(!fs::exists(fs::path(data()).parent_path() / "escape"));
}

BOOST_AUTO_TEST_CASE(reads_of_a_missing_database_create_nothing) {
  // No data directory at all.
  for (std::vector<std::string> args : {std::vector<std::string>{"get", "bugs", std::string(32, '0')},
                                        {"query", "bugs"}, {"log"}, {"conflicts"}}) {
    auto o = cli(args);
    BOOST_TEST(o.code == 3, args[0] << " exits " << o.code);
    BOOST_TEST(o.one_error_line());
    BOOST_TEST(contains(o.err, "no database 'default'"));
  }
  BOOST_TEST(!fs::exists(data()));
  BOOST_TEST(cli({"status"}).code == 3);
  BOOST_TEST(!fs::exists(data()));

  // A data directory with another database.
  put({"bugs", "a=1"});
  for (std::vector<std::string> args : {std::vector<std::string>{"get", "bugs", std::string(32, '0')},
                                        {"query", "bugs"}, {"log"}, {"conflicts"}, {"conflicts", "--clear"}}) {
    args.insert(args.begin(), {"--db", "x"});
    auto o = cli(args);
    BOOST_TEST(o.code == 3, args[2] << " exits " << o.code);
    BOOST_TEST(o.one_error_line());
    BOOST_TEST(contains(o.err, "no database 'x'"));
  }
  BOOST_TEST(!fs::exists(fs::path(data()) / "x"));
  auto st = json::parse(ok({"status", "--json"}).out);
  BOOST_TEST(st.at("databases").size() == 1u);
  // An unknown record in an existing database is "not found" too.
  auto o = cli({"get", "bugs", std::string(32, '0')});
  BOOST_TEST(o.code == 3);
  BOOST_TEST(contains(o.err, "no record"));
  // A write creates the database.
  ok({"--db", "x", "put", "bugs", "a=1"});
  BOOST_TEST(ok({"--db", "x", "query", "bugs"}).json_lines().size() == 1u);
}

BOOST_AUTO_TEST_CASE(locked_data_directory) {
  auto id = put({"bugs", "a=1"});
  {
    blaze::node_options opts;
    opts.data_dir = data();
    opts.worker_threads = 1;
    auto n = blaze::node::open(opts);
    BOOST_REQUIRE_MESSAGE(n.ok(), "in-process node: " << (n ? std::string() : n.error().to_string()));
    for (std::vector<std::string> args : {std::vector<std::string>{"get", "bugs", id},
                                          {"put", "bugs", "a=2"}, {"status"}}) {
      auto o = cli(args);
      BOOST_TEST(o.code == 4, args[0] << " exits " << o.code);
      BOOST_TEST(o.one_error_line(), "stderr: " << o.err);
      BOOST_TEST(contains(o.err, "in use"), "stderr: " << o.err);
      BOOST_TEST(o.out.empty());
    }
  }
  // Released with the node: the CLI works again and nothing changed.
  BOOST_TEST(get("bugs", id).at("a") == 1);
  BOOST_TEST(query({"bugs"}).size() == 1u);
}

BOOST_AUTO_TEST_CASE(help_usage_and_environment) {
  for (std::vector<std::string> args : {std::vector<std::string>{"--help"}, {"put", "--help"}, {"query", "--help"},
                                        {"status", "--help"}, {"-h"}}) {
    auto o = run(args);
    BOOST_TEST(o.code == 0, args[0] << " exits " << o.code);
    BOOST_TEST(contains(o.out, "Usage"));
  }
  BOOST_TEST(contains(run({"--help"}).out, "conflicts"));
  BOOST_TEST(contains(run({"query", "--help"}).out, "--where-op"));

  auto o = run({"frobnicate"});
  BOOST_TEST(o.code == 2);
  BOOST_TEST(o.one_error_line());
  BOOST_TEST(contains(o.err, "unknown command 'frobnicate'"));
  o = run({});
  BOOST_TEST(o.code == 2);
  BOOST_TEST(o.one_error_line());
  o = run({"get", "bugs"});
  BOOST_TEST(o.code == 2);
  BOOST_TEST(o.one_error_line());
  o = run({"--sync", "--buffered", "status"});
  BOOST_TEST(o.code == 2);
  o = run({"query", "bugs", "--limit", "-1"});
  BOOST_TEST(o.code == 2);

  // BLAZEDB_DATA picks the data directory; --data and --db may follow the command.
  auto env = "BLAZEDB_DATA=" + data();
  auto put = run_env({"put", "bugs", "a=1"}, {env});
  BOOST_REQUIRE_EQUAL(put.code, 0);
  BOOST_TEST(fs::exists(fs::path(data()) / "default"));
  auto id = put.first_line();
  BOOST_TEST(run({"get", "bugs", id, "--data", data()}).code == 0);
  auto other = run_env({"put", "bugs", "b=2", "--db", "second"}, {env});
  BOOST_REQUIRE_EQUAL(other.code, 0);
  BOOST_TEST(fs::exists(fs::path(data()) / "second"));
}

// `group create/list` and `txn`: writes to several databases commit
// together; a database outside the group or a failing write aborts all.
BOOST_AUTO_TEST_CASE(txn_commits_across_databases_or_not_at_all) {
  auto g = ok({"group", "create", "bank", "west", "east"}).json_lines();
  BOOST_TEST(g.at(0).at("databases") == json::parse(R"(["east","west"])"));
  BOOST_TEST(ok({"group", "list"}).json_lines().size() == 1u);
  auto file = (dir.path / "w.json").string();
  std::ofstream(file) << R"([
    {"db":"east","op":"put","collection":"accounts","id":"000000000000000a0000000000000001","fields":{"owner":"alice"}},
    {"db":"east","op":"inc","collection":"accounts","id":"000000000000000a0000000000000001","field":"balance","delta":100},
    {"db":"west","op":"put","collection":"accounts","fields":{"owner":"bob"}}])";
  auto r = ok({"txn", "--file", file, "--group", "bank"}).json_lines();
  BOOST_REQUIRE_EQUAL(r.size(), 1u);
  BOOST_TEST(is_hex_id(r[0].at("txn").get<std::string>()));
  BOOST_TEST(r[0].at("parts") == json::parse(R"([{"database":"east","ops":2},{"database":"west","ops":1}])"));
  auto bob = r[0].at("inserted").at(0).get<std::string>();
  BOOST_TEST(ok({"--db", "west", "get", "accounts", bob}).json_lines().at(0).at("owner") == "bob");

  std::ofstream(file) << R"([
    {"db":"east","op":"inc","collection":"accounts","id":"000000000000000a0000000000000001","field":"balance","delta":-5},
    {"db":"west","op":"update","collection":"accounts","id":"000000000000000b0000000000000009","fields":{"a":1}}])";
  auto bad = cli({"txn", "--file", file});
  BOOST_TEST(bad.code == 3);  // unknown record
  BOOST_TEST(bad.one_error_line());
  BOOST_TEST(contains(bad.err, "transaction aborted"));
  std::ofstream(file) << R"([{"db":"north","op":"put","collection":"x","fields":{}}])";
  auto outside = cli({"txn", "--file", file, "--group", "bank"});
  BOOST_TEST(outside.code == 1);
  BOOST_TEST(contains(outside.err, "'north' is not in this sync group"));
  std::ofstream(file) << R"([{"db":"east","op":"jump","collection":"x"}])";
  BOOST_TEST(cli({"txn", "--file", file}).code == 2);
  auto alice = ok({"--db", "east", "get", "accounts", "000000000000000a0000000000000001"}).json_lines();
  BOOST_TEST(alice.at(0).at("balance") == 100);  // the aborted -5 is nowhere

  // conflicts --resolve: a field with no recorded conflict is set, none forgotten
  auto res = ok({"--db", "east", "conflicts", "accounts", "--resolve", "000000000000000a0000000000000001", "--field",
                 "owner", "--value", "carol"}).json_lines();
  BOOST_TEST(res.at(0).at("resolved") == 0);
  BOOST_TEST(ok({"--db", "east", "get", "accounts", "000000000000000a0000000000000001"}).json_lines().at(0).at("owner") ==
             "carol");
  BOOST_TEST(cli({"--db", "east", "conflicts", "accounts", "--resolve", "000000000000000a0000000000000001"}).code == 2);
}

BOOST_AUTO_TEST_SUITE_END()
