// actors/runtime: blaze::node — databases in a data directory, the data
// directory lock, node identity, closing and reopening databases.
#define BOOST_TEST_MODULE actors
#include "actor_test_util.hpp"
#include "../common/sharing.hpp"

#include <caf/event_based_actor.hpp>

#include <sys/stat.h>

#include <atomic>
#include <future>
#include <map>
#include <optional>
#include <thread>

using namespace blaze;
using namespace blaze::test;

BOOST_AUTO_TEST_CASE(node_opens_creates_and_lists_databases) {
  temp_dir tmp;
  auto n = open_node(tmp / "data");
  BOOST_TEST(must(n->databases()).empty());
  auto alpha = open_db(*n, "alpha");
  BOOST_TEST(alpha.name() == "alpha");
  auto beta = open_db(*n, "beta.v2-x_y", true);
  BOOST_TEST(must(n->databases()) == (std::vector<std::string>{"alpha", "beta.v2-x_y"}));
  BOOST_TEST(std::filesystem::is_directory(tmp / "data" / "alpha"));

  // an existing database opens without create; opening twice shares the actors
  auto again = open_db(*n, "alpha", false);
  BOOST_TEST((again.handles().db == alpha.handles().db));
  auto id = must(alpha.insert("c", {{"x", 1}}));
  BOOST_TEST(must(again.get("c", id)) == (value_map{{"x", 1}}));

  auto missing = n->open_database("missing", false);
  BOOST_REQUIRE(!missing.ok());
  BOOST_TEST(missing.error().code == errc::unknown_database);
  BOOST_TEST(missing.error().message.find("missing") != std::string::npos, missing.error().message);
  BOOST_TEST(!std::filesystem::exists(tmp / "data" / "missing"));
  BOOST_TEST(must(n->databases()).size() == 2u);
}

BOOST_AUTO_TEST_CASE(each_database_keeps_its_durability) {
  temp_dir tmp;
  auto dir = tmp / "data";
  {
    auto n = open_node(dir);  // node default: buffered
    auto a = must(n->open_database("a", true, durability::sync));
    auto b = open_db(*n, "b");
    BOOST_TEST(must(a.status_info()).durability == "sync");
    BOOST_TEST(must(b.status_info()).durability == "buffered");
    BOOST_TEST(b.set_durability(durability::sync).ok());
    BOOST_TEST(must(b.status_info()).durability == "sync");
    BOOST_TEST(a.set_durability(durability::buffered).ok());
  }
  auto n = open_node(dir);
  BOOST_TEST(must(open_db(*n, "a", false).status_info()).durability == "buffered");
  BOOST_TEST(must(open_db(*n, "b", false).status_info()).durability == "sync");
}

BOOST_AUTO_TEST_CASE(invalid_database_names_are_refused) {
  temp_dir tmp;
  auto n = open_node(tmp / "data");
  for (std::string bad : {std::string(), std::string(".hidden"), std::string(".."), std::string("a/b"),
                          std::string("../escape"), std::string("a b"), std::string("tab\t"),
                          std::string("n\xc3\xa9"), std::string(129, 'a'), std::string("x\0y", 3)}) {
    auto db = n->open_database(bad, true);
    BOOST_REQUIRE_MESSAGE(!db.ok(), "'" << bad << "' was accepted");
    BOOST_TEST(db.error().code == errc::invalid_argument, "'" << bad << "'");
    BOOST_TEST(!db.error().message.empty());
  }
  BOOST_TEST(must(n->databases()).empty());
  BOOST_TEST(!std::filesystem::exists(tmp / "escape"));
  BOOST_TEST(n->open_database(std::string(128, 'a'), true).ok());
}

BOOST_AUTO_TEST_CASE(a_data_directory_is_locked_by_its_node) {
  temp_dir tmp;
  auto dir = tmp / "data";
  auto n = open_node(dir);
  auto second = node::open(options_for(dir));
  BOOST_REQUIRE(!second.ok());
  BOOST_TEST(second.error().code == errc::locked);
  BOOST_TEST(second.error().message.find(dir.string()) != std::string::npos, second.error().message);
  // the first node still works
  auto db = open_db(*n, "db");
  must(db.insert("c", {{"x", 1}}));
  n.reset();
  auto third = node::open(options_for(dir));
  BOOST_TEST(third.ok());
}

BOOST_AUTO_TEST_CASE(node_identity_is_stable_private_and_not_copied) {
  temp_dir tmp;
  auto dir = tmp / "data";
  node_id first;
  record_id rid;
  {
    auto n = open_node(dir);
    first = n->id();
    BOOST_TEST(!first.is_zero());
    BOOST_TEST(n->ident().fresh);
    BOOST_TEST(n->ident().public_key.size() == 32u);
    // plaintext: exchange.key is replaced below, and a sealed database's
    // owner with a new exchange key could no longer unwrap its content key
    // (to grant it to the copy); what is tested here is the identity
    auto db = open_plaintext(*n, "db");
    rid = must(db.insert("c", {{"x", 1}}));
  }
  struct stat sb {};
  BOOST_REQUIRE(::stat((dir / "identity.key").c_str(), &sb) == 0);
  BOOST_TEST((sb.st_mode & 0777) == 0600u);
  // the X25519 key-agreement key lives next to it, 0600 as well
  BOOST_REQUIRE(::stat((dir / "exchange.key").c_str(), &sb) == 0);
  BOOST_TEST((sb.st_mode & 0777) == 0600u);
  std::string member;
  {
    auto n = open_node(dir);
    BOOST_TEST(n->id() == first);
    BOOST_TEST(!n->ident().fresh);
    BOOST_REQUIRE(n->ident().exchange != nullptr);
    member = member_key_of(n->ident()).to_string();
    auto parsed = crypto::member_key::parse(member);
    BOOST_REQUIRE(parsed.ok());
    BOOST_TEST(parsed->id() == first);
  }
  {
    // stable across restarts; a directory without exchange.key (made before
    // member keys) gets one and keeps its identity
    auto n = open_node(dir);
    BOOST_TEST(member_key_of(n->ident()).to_string() == member);
  }
  std::filesystem::remove(dir / "exchange.key");
  {
    auto n = open_node(dir);
    BOOST_TEST(n->id() == first);
    BOOST_TEST(!n->ident().fresh);
    BOOST_TEST(member_key_of(n->ident()).to_string() != member);
    member = member_key_of(n->ident()).to_string();
    BOOST_TEST(std::filesystem::exists(dir / "exchange.key"));
  }
  // a copy of the (closed) data directory elsewhere takes a fresh identity
  auto copy = tmp / "copy";
  std::filesystem::copy(dir, copy, std::filesystem::copy_options::recursive);
  {
    auto n = open_node(copy);
    BOOST_TEST(n->id() != first);
    BOOST_TEST(n->ident().fresh);
    BOOST_TEST(!n->ident().reason.empty());
    BOOST_TEST(std::filesystem::exists(copy / "identity.key.previous"));
    BOOST_TEST(std::filesystem::exists(copy / "exchange.key.previous"));
    BOOST_TEST(member_key_of(n->ident()).to_string() != member);  // both keys replaced
    struct stat xb {};
    BOOST_REQUIRE(::stat((copy / "exchange.key").c_str(), &xb) == 0);
    BOOST_TEST((xb.st_mode & 0777) == 0600u);
    struct stat cb {};
    BOOST_REQUIRE(::stat((copy / "identity.key").c_str(), &cb) == 0);
    BOOST_TEST((cb.st_mode & 0777) == 0600u);
    // the data came along and is readable; new writes use the new identity,
    // once the database's owner (the original identity: "db" is its
    // database) admitted it, as it would any other node
    auto db = open_db(*n, "db", false);
    BOOST_TEST(must(db.get("c", rid)) == (value_map{{"x", 1}}));
    {
      auto owner = open_node(dir);
      BOOST_TEST(owner->id() == first);
      auto owned = open_db(*owner, "db", false);
      share(owned, *n);
      exchange(owned, db);
    }
    auto before = info(db).versions;
    must(db.set("c", rid, "x", 2));
    auto after = info(db).versions;
    BOOST_TEST(after.total() == before.total() + 1);
    for (auto& [origin, seq] : before.entries())
      BOOST_TEST(after.get(origin) == seq);  // the copied origin did not advance
    auto copied_id = n->id();
    n.reset();
    auto again = open_node(copy);
    BOOST_TEST(again->id() == copied_id);  // stable at its new place
  }
  auto n = open_node(dir);
  BOOST_TEST(n->id() == first);  // the original keeps its identity
}

BOOST_AUTO_TEST_CASE(databases_close_and_reopen) {
  temp_dir tmp;
  auto n = open_node(tmp / "data");
  auto db = open_db(*n, "db");
  auto id = must(db.insert("c", {{"n", 0}}));
  must(db.create_index("c", "n"));
  for (int round = 1; round <= 20; ++round) {
    must(n->close_database("db"), "close_database");
    // the old handle now reports a closed database
    auto stale = db.get("c", id);
    BOOST_REQUIRE(!stale.ok());
    BOOST_TEST(stale.error().code == errc::closed, stale.error().to_string());
    db = open_db(*n, "db", false);
    BOOST_TEST(must(db.get("c", id))["n"] == value(round - 1));
    must(db.set("c", id, "n", round));
  }
  auto st = info(db);
  BOOST_TEST(st.versions.total() == access_ops + 22u);
  BOOST_TEST(st.indexes.size() == 1u);
  // closing a database that is not open is not an error
  must(n->close_database("db"));
  must(n->close_database("db"));
  must(n->close_database("never-opened"));
  BOOST_TEST(must(n->databases()) == std::vector<std::string>{"db"});
}

// The registry opens databases on opener threads, several at once: callers
// racing for one new name share one instance, and closes and reopens racing
// with those opens leave every database usable with its data.
BOOST_AUTO_TEST_CASE(concurrent_opens_share_one_instance_and_race_safely_with_closes) {
  temp_dir tmp;
  auto n = open_node(tmp / "data");
  constexpr int names = 12, callers = 36;
  std::vector<std::future<database>> opened;
  for (int i = 0; i < callers; ++i)
    opened.push_back(std::async(std::launch::async, [&n, i] { return open_db(*n, "db" + std::to_string(i % names)); }));
  std::map<std::string, database_actor> actor_of;
  for (auto& f : opened) {
    auto db = f.get();
    auto [it, fresh] = actor_of.emplace(db.name(), db.handles().db);
    BOOST_TEST((it->second == db.handles().db), db.name() << " was opened twice");
    if (fresh)
      must(db.insert("c", {{"name", db.name()}}));
  }
  BOOST_TEST(actor_of.size() == size_t(names));
  BOOST_TEST(must(n->databases()).size() == size_t(names));

  // closes and reopens of the same names, from many threads at once
  for (int round = 0; round < 3; ++round) {
    std::vector<std::future<void>> work;
    for (int i = 0; i < callers; ++i)
      work.push_back(std::async(std::launch::async, [&n, i] {
        auto name = "db" + std::to_string(i % names);
        if (i % 3 == 0)
          must(n->close_database(name), "close_database");
        else
          BOOST_TEST(open_db(*n, name, false).name() == name);
      }));
    for (auto& w : work)
      w.get();
  }
  for (int i = 0; i < names; ++i) {
    auto db = open_db(*n, "db" + std::to_string(i), false);
    auto rows = must(db.query("c").run());
    BOOST_REQUIRE(rows.size() == 1u);
    BOOST_TEST(rows[0].doc.at("name") == value(db.name()));
  }
}

// node_options::compact_interval: open databases compact on their own, up to
// what every known peer acknowledged, and lose no record.
BOOST_AUTO_TEST_CASE(open_databases_compact_their_logs_periodically) {
  temp_dir tmp;
  auto o = options_for(tmp / "data");
  o.compact_interval = std::chrono::milliseconds(200);
  auto n = open_node(o);
  // Plaintext: the log of a sealed database is kept whole (compact_report::
  // kept_because); what is tested here is compaction up to the peers' acks.
  auto alone = open_plaintext(*n, "alone");  // no peer: the whole log compacts
  auto shared = open_plaintext(*n, "shared");  // a peer acknowledged 20 of 50 (and the access list)
  // The peer's ack goes first: the compaction timer (200 ms) may fire while
  // the writes below are still going on (they take longer than that under
  // ASan or load), and a database with no known peer then compacts all it
  // has. Sent from this thread before the writes, the ack is in the
  // database actor's mailbox ahead of all of them.
  node_id peer = id128::from_bytes(reinterpret_cast<const unsigned char*>("peer-node-id-16b"));
  version_vector acked;
  acked.set(replica_id(n->id(), "shared"), access_ops + 20);
  caf::anon_send(shared.handles().db, peer_ack_atom::value, peer, acked);
  for (int i = 0; i < 50; ++i) {
    must(alone.insert("c", {{"i", i}}));
    must(shared.insert("c", {{"i", i}}));
    if (i == 24)  // a compaction surely runs halfway through the writes
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }

  auto log_size = [](database& db) { return must(db.operations_after({}, 1000)).size(); };
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while ((log_size(alone) > 0 || log_size(shared) > 30) && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  BOOST_TEST(log_size(alone) == 0u);
  BOOST_TEST(log_size(shared) == 30u);  // what the peer lacks stays in the log
  BOOST_TEST(must(alone.query("c").run()).size() == 50u);
  BOOST_TEST(must(shared.query("c").run()).size() == 50u);
  BOOST_TEST(info(alone).versions.total() == access_ops + 50u);
}

// A database acquired for a sync session stays pinned only while its
// acquirer lives: one that ends before the answer reaches it, or without
// releasing, no longer keeps the database open for good.
BOOST_AUTO_TEST_CASE(an_acquirer_that_ends_releases_its_pin) {
  temp_dir tmp;
  auto o = options_for(tmp / "data");
  o.idle_database_close = std::chrono::milliseconds(200);
  auto n = open_node(o);
  auto reg = n->registry();
  auto& sys = reg->home_system();
  // gone before the answer arrives
  sys.spawn([reg](caf::event_based_actor* self) {
    self->send(reg, acquire_atom::value, std::string("orphan1"), true);
    self->quit();
  });
  // takes the answer and ends without releasing
  sys.spawn([reg](caf::event_based_actor* self) {
    self->request(reg, caf::infinite, acquire_atom::value, std::string("orphan2"), true)
      .then([self](database_handles&) { self->quit(); });
  });
  // one that stays: its database stays open
  auto keeper = sys.spawn([reg](caf::event_based_actor* self) -> caf::behavior {
    self->request(reg, caf::infinite, acquire_atom::value, std::string("kept"), true).then([](database_handles&) {});
    return {[](int) {}};
  });
  auto open_now = [&] { return must(n->open_databases()); };
  auto has = [](const std::vector<std::string>& v, const char* name) {
    return std::find(v.begin(), v.end(), name) != v.end();
  };
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!has(open_now(), "kept") && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  BOOST_REQUIRE(has(open_now(), "kept"));
  BOOST_TEST(std::filesystem::exists(tmp / "data" / "orphan1" / "CURRENT"));
  while ((has(open_now(), "orphan1") || has(open_now(), "orphan2")) && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  auto now = open_now();
  BOOST_TEST(!has(now, "orphan1"));
  BOOST_TEST(!has(now, "orphan2"));
  BOOST_TEST(has(now, "kept"));  // still pinned by a live acquirer, though idle much longer than 200 ms
  caf::anon_send_exit(keeper, caf::exit_reason::user_shutdown);
  while (has(open_now(), "kept") && std::chrono::steady_clock::now() < until + std::chrono::seconds(10))
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  BOOST_TEST(!has(open_now(), "kept"));
}

BOOST_AUTO_TEST_CASE(data_survives_a_node_restart) {
  temp_dir tmp;
  record_id id;
  version_vector vv;
  {
    auto n = open_node(tmp / "data");
    auto db = open_db(*n, "db");
    id = must(db.insert("c", {{"title", "t"}}));
    must(db.increment("c", id, "votes", 3));
    must(db.add("c", id, "tags", "x"));
    vv = info(db).versions;
  }
  auto n = open_node(tmp / "data");
  auto db = open_db(*n, "db", false);
  BOOST_TEST(must(db.get("c", id)) == (value_map{{"title", "t"}, {"votes", int64_t{3}}, {"tags", value_array{"x"}}}));
  BOOST_TEST(info(db).versions == vv);
}

BOOST_AUTO_TEST_CASE(a_closed_database_answers_closed_and_ends_its_subscriptions) {
  temp_dir tmp;
  auto n = open_node(tmp / "data");
  auto db = open_db(*n, "db");
  auto calls = std::make_shared<std::atomic<int>>(0);
  auto sub = db.subscribe("", [calls](const change&) { ++*calls; });
  must(db.put("c", rec(1), {{"x", 1}}));
  for (int i = 0; i < 500 && calls->load() == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  BOOST_TEST(calls->load() == 1);
  must(n->close_database("db"));
  std::promise<result<write_outcomes>> p;
  writes ws(1);
  ws[0].collection = "c";
  ws[0].record = rec(2);
  ws[0].fields = {{"x", 2}};
  db.write_async(ws, [&](result<write_outcomes> r) { p.set_value(std::move(r)); });
  auto f = p.get_future();
  BOOST_REQUIRE(f.wait_for(std::chrono::seconds(20)) == std::future_status::ready);
  auto r = f.get();
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().code == errc::closed);
  auto reopened = open_db(*n, "db", false);
  must(reopened.put("c", rec(3), {{"x", 3}}));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  BOOST_TEST(calls->load() == 1);  // the old subscription ended with its database
}

namespace {

// Destroys the node on a thread of its own; false when that does not finish.
bool destroy_elsewhere(std::unique_ptr<node> n) {
  auto done = std::make_shared<std::promise<void>>();
  auto finished = done->get_future();
  std::thread([done, n = std::move(n)]() mutable {
    n.reset();
    done->set_value();
  }).detach();
  return finished.wait_for(std::chrono::seconds(30)) == std::future_status::ready;
}

} // namespace

BOOST_AUTO_TEST_CASE(a_node_can_be_destroyed_on_another_thread_than_its_callers) {
  temp_dir tmp;
  auto n = open_node(tmp / "data");
  {
    auto db = open_db(*n, "db");
    must(db.put("c", rec(1), {{"x", 1}}));  // blocking calls from this thread ...
    BOOST_TEST(must(db.get("c", rec(1))) == (value_map{{"x", 1}}));
    std::promise<void> p;
    db.get_async("c", rec(1), [&](result<value_map>) { p.set_value(); });  // ... and an async one
    p.get_future().wait();
  }
  // ... while this thread lives on: ~node must not wait for it
  BOOST_REQUIRE_MESSAGE(destroy_elsewhere(std::move(n)), "~node hangs when called on another thread");
}

BOOST_AUTO_TEST_CASE(a_subscription_held_past_its_node_does_not_block_shutdown) {
  temp_dir tmp;
  subscription sub;
  auto n = open_node(tmp / "data");
  {
    auto db = open_db(*n, "db");
    sub = db.subscribe("c", [](const change&) {});
    must(db.put("c", rec(1), {{"x", 1}}));
  }
  // ~node waits for every actor of its system: the listener must end with
  // the database.
  BOOST_REQUIRE_MESSAGE(destroy_elsewhere(std::move(n)), "node shutdown hangs while a subscription is held");
  sub.cancel();  // after the node is gone: harmless
}

namespace {
// The member key of a node that exists only as its keys.
crypto::member_key random_member_key() {
  auto s = crypto::signing_key::generate();
  auto x = crypto::x25519_key::generate();
  BOOST_REQUIRE(s.ok() && x.ok());
  return {s->public_key(), x->public_key()};
}
} // namespace

// Access-list changes made at once (threads sharing and revoking through
// one database handle) are built by the database actor one after another,
// each from the list the previous one left: every revocation of a reader
// makes its own epoch, and the keys never disagree with the database
// record (built on the caller's thread, two revocations both made epoch
// N+1 with different keys: needs_rotation()).
BOOST_AUTO_TEST_CASE(concurrent_access_changes_build_on_each_other) {
  temp_dir tmp;
  auto n = open_node(tmp / "owner");
  auto db = open_db(*n, "club");
  constexpr int readers = 8;
  std::vector<crypto::member_key> keys;
  for (int i = 0; i < readers; ++i)
    keys.push_back(random_member_key());
  std::vector<std::thread> ts;
  std::atomic<int> failed{0};
  for (int i = 0; i < readers; ++i)
    ts.emplace_back([&, i] { failed += !db.share(keys[i], access_rights::read).ok(); });
  for (auto& t : ts)
    t.join();
  BOOST_REQUIRE_EQUAL(failed.load(), 0);
  auto list = must(db.access());
  BOOST_TEST(list.members().size() == 1u + readers);
  BOOST_TEST(list.epoch() == 1u);
  ts.clear();
  for (int i = 0; i < readers; i += 2)  // half of them, at once
    ts.emplace_back([&, i] { failed += !db.revoke(keys[i].id()).ok(); });
  for (auto& t : ts)
    t.join();
  BOOST_REQUIRE_EQUAL(failed.load(), 0);
  list = must(db.access());
  BOOST_TEST(list.epoch() == 1u + readers / 2);  // one epoch per revocation
  BOOST_TEST(!list.needs_rotation());
  auto ring = keyring::unlock(list, n->id(), *n->ident().exchange);
  BOOST_TEST(ring.sealing_key(list).ok());
  for (int i = 0; i < readers; ++i)
    BOOST_TEST(list.can_read(keys[i].id()) == (i % 2 == 1));
  // the owner still writes, sealed under the newest key
  BOOST_TEST(db.insert("notes", {{"after", "revocations"}}).ok());
  // rotate: a new epoch for the remaining readers
  BOOST_REQUIRE(db.rotate().ok());
  BOOST_TEST(must(db.access()).epoch() == 2u + readers / 2);
  BOOST_TEST(db.insert("notes", {{"after", "rotation"}}).ok());
  // a revocation that cannot be built is refused, and nothing changes
  auto before = must(db.access()).epoch();
  BOOST_TEST(!db.revoke(keys[0].id()).ok());  // rights none already
  BOOST_TEST(must(db.access()).epoch() == before);
}

// A content key seals a bounded number of operations (random GCM nonces:
// docs/security.md §1). The owner's node counts them per epoch, across
// restarts, and rotates the key when the budget is spent; readers get the
// new key wrapped as with any rotation, and every write stays readable.
BOOST_AUTO_TEST_CASE(the_owner_rotates_a_content_key_that_sealed_its_budget) {
  temp_dir tmp;
  auto o = options_for(tmp / "owner");
  o.seals_per_key = 10;
  auto n = open_node(o);
  std::optional<database> db(open_db(*n, "club"));
  const crypto::member_key reader = random_member_key();
  BOOST_REQUIRE(db->share(reader, access_rights::read).ok());
  auto epoch = [&] { return must(db->access()).epoch(); };
  auto settled = [&](uint32_t want) {
    for (int i = 0; i < 500 && epoch() != want; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return epoch() == want;
  };
  std::vector<record_id> ids;
  for (int i = 0; i < 9; ++i)
    ids.push_back(must(db->insert("notes", {{"i", i}})));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  BOOST_TEST(epoch() == 1u);  // 9 seals: within the budget
  ids.push_back(must(db->insert("notes", {{"i", 9}})));
  BOOST_TEST(settled(2u), "epoch " << epoch() << " after 10 seals");
  for (int i = 10; i < 20; ++i) {
    ids.push_back(must(db->insert("notes", {{"i", i}})));
    BOOST_REQUIRE(settled(i < 19 ? 2u : 3u));  // (rotations are queued behind the writes)
  }
  // the count is kept across a restart
  for (int i = 20; i < 25; ++i)
    ids.push_back(must(db->insert("notes", {{"i", i}})));
  db.reset();
  n.reset();
  n = open_node(o);
  db.emplace(open_db(*n, "club"));
  BOOST_TEST(epoch() == 3u);
  for (int i = 25; i < 30; ++i)
    ids.push_back(must(db->insert("notes", {{"i", i}})));
  BOOST_TEST(settled(4u), "epoch " << epoch() << " after 10 more seals across a restart");
  auto list = must(db->access());
  BOOST_TEST(!list.needs_rotation());
  for (uint32_t e = 1; e <= 4; ++e)
    BOOST_TEST(list.wrapped_key(reader.id(), e) != nullptr, "the reader lacks the key of epoch " << e);
  for (size_t i = 0; i < ids.size(); ++i)
    BOOST_TEST((must(db->get("notes", ids[i])).at("i") == value(static_cast<int64_t>(i))));
}
