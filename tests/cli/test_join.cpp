// The key exchange end to end with real processes on loopback (docs/cli.md
// `invite`/`join`, docs/security.md §5): an owner node invites a relay and a
// member, a relay (`blazedb serve`) sits in between, and the member runs
// `blazedb join URL TOKEN`. Plaintext and sealed access lists; refusals: a
// malformed token, a token naming another owner (a valid token for another
// database of the same name), a token for another member key, a member that
// was never granted, a relay that holds no access list.
#define BOOST_TEST_MODULE cli_join
#include <boost/test/results_collector.hpp>
#include <boost/test/unit_test.hpp>

#include "core/invite_token.hpp"
#include "examples/devices/child_process.hpp"

#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace std::chrono_literals;

namespace {

struct outcome {
  int code = -1;
  std::string out;
  std::string err;
  json first_json() const {
    auto line = out.substr(0, out.find('\n'));
    return json::parse(line);  // throws (and fails the case) when it is not JSON
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
    std::string tmpl = (fs::temp_directory_path() / "blazedb-join-XXXXXX").string();
    BOOST_REQUIRE(::mkdtemp(tmpl.data()));
    path = tmpl;
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

// Runs the CLI with `args`; stdout and stderr go to files (no pipe deadlock).
outcome run(const std::vector<std::string>& args) {
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

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// A data directory: one node.
struct node_dir {
  fs::path data;
  json ident;  // `id --json`

  outcome cli(std::vector<std::string> args) const {
    args.insert(args.begin(), {"--data", data.string()});
    return run(args);
  }
  outcome ok(std::vector<std::string> args) const {
    auto o = cli(args);
    BOOST_REQUIRE_MESSAGE(o.code == 0, "blazedb " << args.front() << " (" << data.filename().string()
                                                  << ") failed with " << o.code << ": " << o.err);
    return o;
  }
  std::string key() const { return ident.at("member_key").get<std::string>(); }
  std::string id() const { return ident.at("node").get<std::string>(); }
  blaze::crypto::member_key member_key() const { return *blaze::crypto::member_key::parse(key()); }
  bool has_database(const std::string& name) const { return fs::exists(data / name); }
};

// A relay: `blazedb serve` on a free loopback port.
struct relay_proc {
  std::unique_ptr<blaze::demo::child_process> p;
  std::string url;
};

struct fixture {
  temp_dir dir;

  node_dir make(const std::string& name) {
    node_dir n{dir.path / name, {}};
    n.ident = n.ok({"id", "--json"}).first_json();
    return n;
  }

  relay_proc serve(const node_dir& n) {
    relay_proc r;
    r.p = std::make_unique<blaze::demo::child_process>(std::vector<std::string>{
      BLAZEDB_CLI, "--data", n.data.string(), "serve", "--listen", "127.0.0.1:0"});
    auto line = r.p->read_line(20s);
    BOOST_REQUIRE_MESSAGE(line && line->rfind("listening on ", 0) == 0, "relay did not start: " << line.value_or("-"));
    r.url = line->substr(13);
    return r;
  }
};

// A token that parses and checks out, built by hand: what a relay or anyone
// could hand a member (another owner, another member).
std::string forged_token(const std::string& database, const node_dir& owner, const node_dir& member,
                         blaze::access_rights rights, bool sealed) {
  blaze::invite_token t;
  t.database = database;
  t.owner = owner.member_key().signing;
  t.member = member.member_key().id();
  t.rights = rights;
  t.sealed = sealed;
  auto text = t.to_string();
  BOOST_REQUIRE(text.ok());
  return *text;
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(join, fixture)

BOOST_AUTO_TEST_CASE(plaintext_invite_then_join_through_a_relay) {
  auto owner = make("owner"), relay_node = make("relay"), member = make("member"), other = make("other"),
       stranger = make("stranger");
  auto relay = serve(relay_node);

  // The owner makes the list (plaintext), invites the relay and the member.
  auto r1 = owner.ok({"--db", "club", "invite", relay_node.key(), "--rights", "relay", "--plaintext", "--json"})
              .first_json();
  BOOST_TEST(r1.at("created_access_list").get<bool>());
  BOOST_TEST(!r1.at("sealed").get<bool>());
  BOOST_TEST(r1.at("owner").get<std::string>() == owner.id());
  auto first = owner.ok({"--db", "club", "put", "notes", "title=hello"}).out.substr(0, 32);
  auto second = owner.ok({"--db", "club", "put", "notes", "title=world"}).out.substr(0, 32);
  auto inv = owner.ok({"--db", "club", "invite", member.key(), "--rights", "rw", "--url", relay.url, "--json"})
               .first_json();
  BOOST_TEST(!inv.at("created_access_list").get<bool>());
  BOOST_TEST(!inv.at("sealed").get<bool>());
  auto token = inv.at("token").get<std::string>();
  auto parsed = blaze::invite_token::parse(token);
  BOOST_REQUIRE(parsed.ok());
  BOOST_TEST(parsed->database == "club");
  BOOST_TEST(parsed->member.to_hex() == member.id());
  BOOST_TEST(parsed->owner_id().to_hex() == owner.id());
  BOOST_TEST(parsed->url == relay.url);
  BOOST_TEST((parsed->rights == blaze::access_rights::read_write));
  // --plaintext on a plaintext list is fine; the text form prints the token too
  auto text = owner.ok({"--db", "club", "invite", other.key(), "--rights", "r", "--plaintext"});
  BOOST_TEST(contains(text.out, "invitation token"));
  BOOST_TEST(contains(text.out, "blazedb join"));
  owner.ok({"--db", "club", "sync", relay.url, "--timeout", "30"});

  // Refusals first, while the member has no database 'club'.
  // A malformed token: exit 2 with the reason, nothing written.
  auto bad = member.cli({"join", relay.url, "bt1" + token.substr(3, 40)});
  BOOST_TEST(bad.code == 2, bad.err);
  BOOST_TEST(contains(bad.err, "not a valid invitation token"), bad.err);
  auto typo = token;
  typo[20] = typo[20] == 'A' ? 'B' : 'A';
  auto bad2 = member.cli({"join", relay.url, typo});
  BOOST_TEST(bad2.code == 2, bad2.err);
  BOOST_TEST(contains(bad2.err, "checksum"), bad2.err);
  auto bad3 = member.cli({"join", relay.url, member.key()});
  BOOST_TEST(bad3.code == 2, bad3.err);
  BOOST_TEST(contains(bad3.err, "member key"), bad3.err);
  BOOST_TEST(!member.has_database("club"));

  // A valid token naming another owner for 'club': the relay serves the real
  // owner's 'club', the member fetches it, sees the owner differ, refuses and
  // keeps nothing.
  auto tampered = forged_token("club", stranger, member, blaze::access_rights::read_write, false);
  auto sub = member.cli({"join", relay.url, tampered});
  BOOST_TEST(sub.code == 1, sub.err);
  BOOST_TEST(contains(sub.err, "is owned by node " + owner.id()), sub.err);
  BOOST_TEST(contains(sub.err, "token names owner " + stranger.id()), sub.err);
  BOOST_TEST(contains(sub.err, "nothing was kept"), sub.err);
  BOOST_TEST(!member.has_database("club"));
  BOOST_TEST(member.cli({"--db", "club", "status"}).code == 3);

  // The token of another member (`other`'s) pasted on the member's node.
  auto others = owner.ok({"--db", "club", "invite", other.key(), "--rights", "r", "--json"}).first_json();
  auto wrong = member.cli({"join", relay.url, others.at("token").get<std::string>()});
  BOOST_TEST(wrong.code == 1, wrong.err);
  BOOST_TEST(contains(wrong.err, "this token invites node " + other.id()), wrong.err);
  BOOST_TEST(!member.has_database("club"));

  // A node that was never granted, with a token naming it (forged): the relay
  // refuses it as a non-member; nothing is kept.
  auto ungranted = forged_token("club", owner, stranger, blaze::access_rights::read_write, false);
  auto nope = stranger.cli({"join", relay.url, ungranted, "--timeout", "30"});
  BOOST_TEST(nope.code == 1, nope.err);
  BOOST_TEST(contains(nope.err, "not a member"), nope.err);
  BOOST_TEST(contains(nope.err, "nothing was kept"), nope.err);
  BOOST_TEST(!stranger.has_database("club"));

  // A database the relay holds no access list for (the owner never synced
  // it): the relay makes it empty on demand; the join refuses and keeps nothing.
  auto nolist = forged_token("elsewhere", owner, member, blaze::access_rights::read, false);
  auto empty = member.cli({"join", relay.url, nolist, "--timeout", "30"});
  BOOST_TEST(empty.code == 1, empty.err);
  BOOST_TEST(contains(empty.err, "holds no access list"), empty.err);
  BOOST_TEST(!member.has_database("elsewhere"));

  // The join: URL from the token's hint.
  auto joined = member.ok({"join", token, "--json", "--timeout", "30"});
  auto j = joined.first_json();
  BOOST_TEST(j.at("database").get<std::string>() == "club");
  BOOST_TEST(j.at("owner").get<std::string>() == owner.id());
  BOOST_TEST(j.at("member").get<std::string>() == member.id());
  BOOST_TEST(j.at("rights").get<std::string>() == "rw");
  BOOST_TEST(!j.at("sealed").get<bool>());
  BOOST_TEST(j.at("records").get<uint64_t>() == 2u);
  BOOST_TEST(contains(j.at("keep_syncing").get<std::string>(), "sync " + relay.url));
  // the member reads the owner's records
  auto got = json::parse(member.ok({"--db", "club", "get", "notes", first}).out);
  BOOST_TEST(got.at("title").get<std::string>() == "hello");
  got = json::parse(member.ok({"--db", "club", "get", "notes", second}).out);
  BOOST_TEST(got.at("title").get<std::string>() == "world");
  auto st = member.ok({"--db", "club", "status", "--json"}).first_json();
  BOOST_TEST(st.at("databases").at(0).at("name").get<std::string>() == "club");
  // joining again (text form, URL given) is fine: same owner, same rights
  auto again = member.ok({"join", relay.url, token});
  BOOST_TEST(contains(again.out, "joined club"), again.out);
  BOOST_TEST(contains(again.out, "2 visible"), again.out);

  // Now the member has 'club': a token naming another owner is refused
  // before any network, and the member's database stays as it was.
  auto sub2 = member.cli({"join", relay.url, tampered});
  BOOST_TEST(sub2.code == 1, sub2.err);
  BOOST_TEST(contains(sub2.err, "here is owned by node " + owner.id()), sub2.err);
  BOOST_TEST(member.has_database("club"));
  BOOST_TEST((json::parse(member.ok({"--db", "club", "get", "notes", first}).out).at("title") == "hello"));

  // rw: the member's write reaches the owner through the relay
  auto mine = member.ok({"--db", "club", "put", "notes", "title=from-member"}).out.substr(0, 32);
  member.ok({"--db", "club", "sync", relay.url, "--timeout", "30"});
  owner.ok({"--db", "club", "sync", relay.url, "--timeout", "30"});
  BOOST_TEST((json::parse(owner.ok({"--db", "club", "get", "notes", mine}).out).at("title") == "from-member"));
}

BOOST_AUTO_TEST_CASE(sealed_invite_then_join_through_a_relay, *boost::unit_test::label("sealed")) {
  auto owner = make("owner"), relay_node = make("relay"), member = make("member");
  auto relay = serve(relay_node);

  // Sealed by default: the relay gets relay rights (no key), the member r
  // (the content key of epoch 1 wrapped for its X25519 key).
  auto r1 = owner.ok({"--db", "vault", "invite", relay_node.key(), "--rights", "relay", "--json"}).first_json();
  BOOST_TEST(r1.at("created_access_list").get<bool>());
  BOOST_TEST(r1.at("sealed").get<bool>());
  auto inv = owner.ok({"--db", "vault", "invite", member.key(), "--rights", "r", "--json"}).first_json();
  BOOST_TEST(inv.at("sealed").get<bool>());
  auto token = inv.at("token").get<std::string>();
  BOOST_TEST(blaze::invite_token::parse(token)->sealed);
  // --plaintext contradicts the sealed list: refused, exit 1
  auto contra = owner.cli({"--db", "vault", "invite", member.key(), "--rights", "r", "--plaintext"});
  BOOST_TEST(contra.code == 1, contra.err);
  BOOST_TEST(contains(contra.err, "is sealed"), contra.err);
  // the member record holds a wrapped key; the relay's does not
  auto rows = owner.ok({"--db", "vault", "query", "_access"}).out;
  size_t member_keys = 0, relay_keys = 0;
  std::istringstream lines(rows);
  for (std::string l; std::getline(lines, l);) {
    auto r = json::parse(l);
    if (r.at("_id") == member.id())
      member_keys = r.contains("key.1");
    if (r.at("_id") == relay_node.id())
      relay_keys = r.contains("key.1");
  }
  BOOST_TEST(member_keys == 1u);
  BOOST_TEST(relay_keys == 0u);

  // The list reaches the relay; the member joins and unlocks epoch 1.
  owner.ok({"--db", "vault", "sync", relay.url, "--timeout", "30"});
  auto j = member.ok({"join", relay.url, token, "--json", "--timeout", "30"}).first_json();
  BOOST_TEST(j.at("owner").get<std::string>() == owner.id());
  BOOST_TEST(j.at("rights").get<std::string>() == "r");
  BOOST_TEST(j.at("sealed").get<bool>());
  BOOST_TEST(j.at("epoch").get<uint32_t>() == 1u);
  BOOST_TEST((j.at("keys") == json::array({1})));

  // Data sealed by the owner, relayed as ciphertext, read by the member.
  // This needs the store wiring (sealing local writes of a sealed database,
  // opening sealed operations on apply with the node's keyring). Whether the
  // store has it is told by the owner's write: sealed in its log, or
  // accepted by the relay (which refuses plaintext operations in a sealed
  // database).
  auto put = owner.cli({"--db", "vault", "put", "notes", "title=secret"});
  bool sealed_in_log = false;
  if (put.code == 0) {
    auto log = owner.ok({"--db", "vault", "log", "--collection", "notes"}).out;
    sealed_in_log = contains(log, "\"kind\":\"sealed\"");
  }
  auto push = owner.cli({"--db", "vault", "sync", relay.url, "--timeout", "10"});
  bool store_seals_writes = put.code == 0 && (sealed_in_log || push.code == 0);
  if (!store_seals_writes) {
    // CTest reports cli_join_sealed_tests as skipped on this line (tests/cli/CMakeLists.txt),
    // so it is printed only when everything before it passed.
    auto& so_far = boost::unit_test::results_collector.results(boost::unit_test::framework::current_test_case().p_id);
    if (so_far.p_assertions_failed == 0)
      std::cout << "SKIPPED sealed_read_through_relay: the store does not seal writes of sealed databases yet"
                << std::endl;
    BOOST_WARN_MESSAGE(false, "SKIPPED sealed_read_through_relay: the store does not seal writes of a sealed database "
                              "yet (put exit "
                                << put.code << ", sealed in log " << sealed_in_log << ", sync to the relay exit "
                                << push.code << ": " << push.err << ")");
    BOOST_TEST_MESSAGE("sealed_read_through_relay: SKIPPED (store wiring for sealed writes not present)");
    return;
  }
  BOOST_TEST_MESSAGE("sealed_read_through_relay: RUN (the store seals writes)");
  BOOST_TEST(push.code == 0, push.err);
  auto id = put.out.substr(0, 32);
  member.ok({"--db", "vault", "sync", relay.url, "--timeout", "30"});
  auto got = json::parse(member.ok({"--db", "vault", "get", "notes", id}).out);
  BOOST_TEST(got.at("title").get<std::string>() == "secret");
  // and a second join reports it as visible
  auto again = member.ok({"join", relay.url, token, "--json", "--timeout", "30"}).first_json();
  BOOST_TEST(again.at("records").get<uint64_t>() == 1u);
  // the relay stored it and cannot read it
  relay.p->stop();
  auto at_relay = relay_node.cli({"--db", "vault", "get", "notes", id});
  BOOST_TEST(at_relay.code != 0, at_relay.out);
  auto rst = relay_node.ok({"--db", "vault", "status", "--json"}).first_json().at("databases").at(0);
  BOOST_TEST(rst.at("unopened").get<uint64_t>() >= 1u, rst.dump());
  BOOST_TEST(rst.at("key_epochs").empty(), rst.dump());
}

// No relay: the member joins from the owner's own `blazedb serve`.
BOOST_AUTO_TEST_CASE(join_directly_from_the_owner) {
  auto owner = make("owner"), member = make("member");
  auto inv = owner.ok({"--db", "desk", "invite", member.key(), "--rights", "rw", "--plaintext", "--json"})
               .first_json();
  BOOST_TEST(inv.at("created_access_list").get<bool>());
  auto id = owner.ok({"--db", "desk", "put", "notes", "title=direct"}).out.substr(0, 32);
  auto server = serve(owner);
  auto j = member.ok({"join", server.url, inv.at("token").get<std::string>(), "--json", "--timeout", "30"})
             .first_json();
  BOOST_TEST(j.at("owner").get<std::string>() == owner.id());
  BOOST_TEST(j.at("records").get<uint64_t>() == 1u);
  BOOST_TEST((json::parse(member.ok({"--db", "desk", "get", "notes", id}).out).at("title") == "direct"));
}

// `sync --once` of a database the peer refuses this node (forbidden) fails
// at once, with the reason, instead of retrying until --timeout. A member's
// `sync` of a database missing here creates it to join: the owner's list
// arrives and the member can write.
BOOST_AUTO_TEST_CASE(sync_once_fails_fast_when_refused) {
  auto owner = make("owner"), member = make("member"), stranger = make("stranger");
  owner.ok({"--db", "desk", "put", "notes", "title=mine"});  // created by the owner: sealed
  owner.ok({"--db", "desk", "invite", member.key(), "--rights", "rw"});
  auto server = serve(owner);

  // a stranger: missing here (so created to join), refused by the owner
  auto started = std::chrono::steady_clock::now();
  auto refused = stranger.cli({"--db", "desk", "sync", server.url, "--once", "--timeout", "120", "-q"});
  auto took = std::chrono::steady_clock::now() - started;
  BOOST_TEST(refused.code == 1, refused.err);
  BOOST_TEST(contains(refused.err, "refused desk: forbidden"), refused.err);
  BOOST_TEST(contains(refused.err, "is this node a member?"), refused.err);
  BOOST_TEST((took < 60s), "sync --once took " << std::chrono::duration_cast<std::chrono::seconds>(took).count()
                                               << " s to give up");
  auto st = stranger.ok({"--db", "desk", "status", "--json"}).first_json().at("databases").at(0);
  BOOST_TEST(st.at("access").get<std::string>() == "joining");  // nothing of the owner's arrived
  BOOST_TEST(st.at("operations").get<uint64_t>() == 0u);
  BOOST_TEST(stranger.cli({"--db", "desk", "put", "notes", "title=x"}).code == 1);  // no list: no writes

  // a node that made its own `desk` (another owner's list): refused too
  auto other = make("other");
  other.ok({"--db", "desk", "put", "notes", "title=other"});
  auto clash = other.cli({"--db", "desk", "sync", server.url, "--once", "--timeout", "120", "-q"});
  BOOST_TEST(clash.code == 1, clash.err);
  BOOST_TEST(contains(clash.err, "forbidden"), clash.err);

  // the invited member: `sync` creates `desk` to join, the list arrives, writes go through
  member.ok({"--db", "desk", "sync", server.url, "--once", "--timeout", "60", "-q"});
  auto mst = member.ok({"--db", "desk", "status", "--json"}).first_json().at("databases").at(0);
  BOOST_TEST(mst.at("access").get<std::string>() == "sealed");
  BOOST_TEST((mst.at("key_epochs") == json::array({1})));
  auto mine = member.ok({"--db", "desk", "put", "notes", "title=from-member"}).out.substr(0, 32);
  member.ok({"--db", "desk", "sync", server.url, "--once", "--timeout", "60", "-q"});
  server.p->stop();
  BOOST_TEST((json::parse(owner.ok({"--db", "desk", "get", "notes", mine}).out).at("title") == "from-member"));
}

BOOST_AUTO_TEST_SUITE_END()
