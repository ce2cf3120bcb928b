// runtime: sync groups and cross-database transactions on real data
// directories — commit across databases, aborts that leave nothing visible,
// serialization and timeouts, concurrent transfers, recovery at open.
#include "../actors/actor_test_util.hpp"
#include "../common/sharing.hpp"
#include "actors/registry_actor.hpp"
#include "core/transaction.hpp"
#include "runtime/sync_group.hpp"
#include "storage/store.hpp"
#include "storage/txn_log.hpp"

#include <atomic>
#include <future>
#include <random>
#include <thread>

using namespace blaze;
using namespace blaze::test;

namespace {

const record_id alice{0xacc, 1};
const record_id bob{0xacc, 2};

template <class T> status st_of(const result<T>& r) { return r ? status{} : r.error(); }

int64_t balance(const database& db, const record_id& id) {
  auto doc = db.get("accounts", id);
  if (!doc)
    return -1;
  auto it = doc->find("balance");
  if (it == doc->end() || !std::holds_alternative<int64_t>(it->second.v))
    return -1;
  return std::get<int64_t>(it->second.v);
}

std::shared_ptr<sync_group> group_of(node& n, std::vector<std::string> dbs, sync_group_options o = {}) {
  auto g = n.sync_group(std::move(dbs), std::move(o));
  BOOST_REQUIRE_MESSAGE(g.ok(), "sync_group: " << (g ? "" : g.error().to_string()));
  return *g;
}

// Alice (east) and Bob (west) with 100 each, in one transaction. A balance
// is a counter (increments), never set: a set would make increments of the
// field ignored (docs/data-model.md, kind clash).
void open_accounts(sync_group& g) {
  must(st_of(g.transact([](txn& t) {
         t.put("east", "accounts", alice, {{"owner", value(std::string("alice"))}});
         t.increment("east", "accounts", alice, "balance", 100);
         t.put("west", "accounts", bob, {{"owner", value(std::string("bob"))}});
         t.increment("west", "accounts", bob, "balance", 100);
         return status{};
       })),
       "open accounts");
}

status transfer(sync_group& g, int64_t amount) {
  return st_of(g.transact([&](txn& t) {
    t.increment("east", "accounts", alice, "balance", -amount);
    t.increment("west", "accounts", bob, "balance", amount);
    return status{};
  }));
}

// Every operation the database holds: its access list's (access_ops, written
// at creation) and the transactions' and writes'.
uint64_t ops_of(const database& db) { return info(db).versions.total(); }

// The options a node opens its store `name` with: its keys (the database is
// its own and sealed) and the database's identity. For stores opened directly
// while the node is closed.
store_options keyed_store(const identity& me, const std::string& name) {
  store_options o;
  o.database_id = name;
  o.signer = me.key;
  o.exchange = me.exchange;
  return o;
}

} // namespace

BOOST_AUTO_TEST_CASE(transaction_commits_in_every_database) {
  temp_dir tmp;
  auto n = open_node(tmp / "data");
  auto g = group_of(*n, {"west", "east"});
  BOOST_TEST(g->databases() == (std::vector<std::string>{"east", "west"}));
  auto r = g->transact([](txn& t) {
    t.put("east", "accounts", alice, {});
    t.increment("east", "accounts", alice, "balance", 100);  // sees the put before it
    t.put("west", "accounts", bob, {});
    t.increment("west", "accounts", bob, "balance", 100);
    t.set("west", "accounts", bob, "owner", value(std::string("bob")));
    return status{};
  });
  BOOST_REQUIRE_MESSAGE(r.ok(), (r ? "" : r.error().to_string()));
  BOOST_TEST((r->parts == std::vector<txn_part>{{"east", 2}, {"west", 3}}));
  BOOST_TEST(!r->id.is_zero());
  auto east = must(g->db("east"));
  auto west = must(g->db("west"));
  BOOST_TEST(balance(east, alice) == 100);
  BOOST_TEST(balance(west, bob) == 100);
  BOOST_TEST(must(west.get("accounts", bob)).at("owner") == value(std::string("bob")));
  must(transfer(*g, 30));
  BOOST_TEST(balance(east, alice) == 70);
  BOOST_TEST(balance(west, bob) == 130);
  // ordinary writes go on after transactions, with gap-free sequence numbers
  must(east.set("accounts", alice, "note", value(std::string("x"))));
  BOOST_TEST(ops_of(east) == access_ops + 4u);
  BOOST_TEST(ops_of(west) == access_ops + 4u);
  BOOST_TEST(!g->db("north").ok());
  // the node's decision log is not a database
  BOOST_TEST(must(n->databases()) == (std::vector<std::string>{"east", "west"}));
}

BOOST_AUTO_TEST_CASE(a_database_outside_the_group_aborts_with_nothing_visible) {
  temp_dir tmp;
  auto n = open_node(tmp / "data");
  auto g = group_of(*n, {"east", "west"});
  open_accounts(*g);
  auto r = g->transact([](txn& t) {
    t.increment("east", "accounts", alice, "balance", -5);
    t.increment("north", "accounts", bob, "balance", 5);
    return status{};
  });
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().code == errc::invalid_argument);
  BOOST_TEST(r.error().message.find("'north' is not in this sync group") != std::string::npos);
  BOOST_TEST(balance(must(g->db("east")), alice) == 100);
  BOOST_TEST(!n->open_database("north", false).ok());  // never created
}

BOOST_AUTO_TEST_CASE(a_failing_write_aborts_the_whole_transaction) {
  temp_dir tmp;
  auto n = open_node(tmp / "data");
  auto g = group_of(*n, {"east", "west"});
  open_accounts(*g);
  auto east = must(g->db("east"));
  auto west = must(g->db("west"));
  // east prepares first (name order) and is then aborted: west's update of
  // a record that does not exist votes no
  auto r = g->transact([](txn& t) {
    t.increment("east", "accounts", alice, "balance", -5);
    t.update("west", "accounts", record_id{0xdead, 1}, {{"balance", 5}});
    return status{};
  });
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().code == errc::unknown_record);
  BOOST_TEST(r.error().message.find("'west'") != std::string::npos);
  // validation: an empty collection name in east
  auto v = g->transact([](txn& t) {
    t.increment("west", "accounts", bob, "balance", 5);
    t.put("east", "", alice, {{"balance", 0}});
    return status{};
  });
  BOOST_REQUIRE(!v.ok());
  BOOST_TEST(v.error().code == errc::invalid_argument);
  // the function's own error aborts before anything is sent
  auto f = g->transact([](txn& t) {
    t.increment("east", "accounts", alice, "balance", -5);
    return status{errc::invalid_argument, "insufficient funds"};
  });
  BOOST_REQUIRE(!f.ok());
  BOOST_TEST(f.error().message == "insufficient funds");
  BOOST_TEST(balance(east, alice) == 100);
  BOOST_TEST(balance(west, bob) == 100);
  BOOST_TEST(ops_of(east) == access_ops + 2u);  // aborted prepares consumed no sequence number
  BOOST_TEST(ops_of(west) == access_ops + 2u);
  must(transfer(*g, 1));
  BOOST_TEST(balance(east, alice) == 99);
  BOOST_TEST(ops_of(east) == access_ops + 3u);
}

BOOST_AUTO_TEST_CASE(a_participant_held_by_another_transaction_times_out_and_aborts) {
  temp_dir tmp;
  auto n = open_node(tmp / "data");
  // g1 stops after east prepared (its actor sleeps in the hook) and so holds
  // east; g2's transaction waits for east past its timeout and aborts.
  std::promise<void> held;
  std::atomic<bool> armed{false};
  sync_group_options slow;
  slow.fault = [&](txn_point p, const std::string& db) {
    if (armed && p == txn_point::after_prepare && db == "east") {
      armed = false;
      held.set_value();
      std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    }
  };
  auto g1 = group_of(*n, {"east", "west"}, slow);
  sync_group_options quick;
  quick.txn_timeout = std::chrono::milliseconds(300);
  auto g2 = group_of(*n, {"east", "west"}, quick);
  open_accounts(*g1);
  auto east = must(g1->db("east"));
  auto west = must(g1->db("west"));
  armed = true;
  auto first = std::async(std::launch::async, [&] { return transfer(*g1, 10); });
  held.get_future().wait();
  // a plain write to east waits for the held transaction (serialized), in the background
  auto plain = std::async(std::launch::async, [&] { return east.set("accounts", alice, "note", value(1)); });
  auto t0 = std::chrono::steady_clock::now();
  auto second = transfer(*g2, 1000);
  auto waited = std::chrono::steady_clock::now() - t0;
  BOOST_TEST(second.code == errc::timeout);
  BOOST_TEST(waited < std::chrono::milliseconds(1400));  // gave up, did not wait for g1
  must(first.get(), "held transfer");
  must(plain.get(), "plain write");
  BOOST_TEST(balance(east, alice) == 90);  // g1's transfer, not g2's
  BOOST_TEST(balance(west, bob) == 110);
  BOOST_TEST(ops_of(east) == access_ops + 4u);
  BOOST_TEST(ops_of(west) == access_ops + 3u);
  // and both groups work afterwards
  must(transfer(*g2, 1));
  must(transfer(*g1, 1));
  BOOST_TEST(balance(east, alice) + balance(west, bob) == 200);
}

BOOST_AUTO_TEST_CASE(concurrent_transfers_from_several_groups_conserve_the_total) {
  temp_dir tmp;
  auto n = open_node(tmp / "data");
  auto g1 = group_of(*n, {"east", "west"});
  auto g2 = group_of(*n, {"west", "east"});
  open_accounts(*g1);
  std::atomic<int> ok{0}, failed{0};
  std::atomic<int64_t> moved{0};
  std::vector<std::thread> ts;
  for (int i = 0; i < 4; ++i)
    ts.emplace_back([&, i] {
      std::mt19937 rng(i);
      auto& g = i % 2 ? *g1 : *g2;
      for (int k = 0; k < 40; ++k) {
        int64_t amount = int64_t(rng() % 21) - 10;  // either way
        auto s = transfer(g, amount);
        if (s) {
          ++ok;
          moved += amount;
        } else {
          ++failed;
        }
      }
    });
  for (auto& t : ts)
    t.join();
  BOOST_TEST(ok.load() == 160);  // nothing times out under the default limit
  BOOST_TEST(failed.load() == 0);
  auto east = must(g1->db("east"));
  auto west = must(g1->db("west"));
  BOOST_TEST(balance(east, alice) == 100 - moved.load());
  BOOST_TEST(balance(west, bob) == 100 + moved.load());
  BOOST_TEST(ops_of(east) == access_ops + 162u);
}

BOOST_AUTO_TEST_CASE(recovery_at_open_commits_logged_and_aborts_unlogged_prepares) {
  temp_dir tmp;
  auto data = tmp / "data";
  node_id self;
  identity me;  // the node's keys: east and west are its own, sealed
  {
    auto n = open_node(data);
    self = n->id();
    me = n->ident();
    auto g = group_of(*n, {"east", "west"});
    open_accounts(*g);
  }
  // A crash after the decision of t1 (prepared in both, logged) and after
  // the prepare of t2 (east only, never decided), made by hand.
  txn_id t1{7, 1}, t2{7, 2};
  {
    auto east = store::open(data / "east", replica_id(self, "east"), keyed_store(me, "east"), nullptr);
    auto west = store::open(data / "west", replica_id(self, "west"), keyed_store(me, "west"), nullptr);
    BOOST_REQUIRE(east.ok());
    BOOST_REQUIRE(west.ok());
    auto inc = [](const record_id& id, int64_t d) {
      blaze::write w;
      w.k = blaze::write::kind::increment;
      w.collection = "accounts";
      w.record = id;
      w.field = "balance";
      w.delta = d;
      return std::vector<blaze::write>{w};
    };
    BOOST_REQUIRE((*east)->prepare_txn(t1, inc(alice, -10), 1).ok());
    BOOST_REQUIRE((*west)->prepare_txn(t1, inc(bob, 10), 1).ok());
    auto log = must(txn_log::open(data / ".txnlog"));
    must(log->log_commit(t1, {"east", "west"}));
    // prepared but not applied: nothing visible yet
    BOOST_TEST(std::get<int64_t>(must((*east)->get("accounts", alice)).at("balance").v) == 100);
    BOOST_TEST(must((*east)->prepared_txns()).size() == 1u);
    // t1 committed in east before the crash: t2 then prepared there
    BOOST_TEST(must((*east)->commit_txn(t1)));
    must(log->finish(t1, "east"));
    BOOST_REQUIRE((*east)->prepare_txn(t2, inc(alice, -50), 1).ok());
  }
  {
    auto n = open_node(data);
    auto g = group_of(*n, {"east", "west"});
    auto east = must(g->db("east"));
    auto west = must(g->db("west"));
    BOOST_TEST(balance(east, alice) == 90);   // t1 committed, t2 aborted
    BOOST_TEST(balance(west, bob) == 110);  // t1 finished by recovery
    must(transfer(*g, 5));  // t2's reserved sequence number is reused, no gap
    BOOST_TEST(balance(east, alice) == 85);
    BOOST_TEST(ops_of(east) == access_ops + 4u);
  }
  auto log = must(txn_log::open(data / ".txnlog"));
  BOOST_TEST(must(log->pending()).empty());  // every participant confirmed t1
  auto east = store::open(data / "east", replica_id(self, "east"), keyed_store(me, "east"), nullptr);
  BOOST_REQUIRE(east.ok());
  BOOST_TEST(must((*east)->prepared_txns()).empty());
}

BOOST_AUTO_TEST_CASE(a_group_syncs_all_its_databases_with_a_peer_as_one_unit) {
  temp_dir tmp;
  auto relay = open_node(tmp / "relay");
  auto phone = open_node(tmp / "phone");
  serve_options so;
  so.listen = {"inproc://groups-sync-test"};
  auto srv = must(relay->serve(so), "serve");
  // the phone owns east and west; the peer it syncs with (whose balances
  // are read below) is admitted as a reader, its copies made to join
  auto g = group_of(*phone, {"east", "west"});
  for (auto* name : {"east", "west"}) {
    auto db = must(g->db(name));
    share(db, *relay, access_rights::read);
  }
  BOOST_TEST(!g->start("nope://x").ok());
  must(g->start("inproc://groups-sync-test"), "start");
  open_accounts(*g);
  must(transfer(*g, 7));
  BOOST_REQUIRE(g->wait_synced(std::chrono::seconds(20)));
  auto st = g->sync_status();
  BOOST_REQUIRE(st.size() == 2u);  // one link per member
  BOOST_TEST(st[0].database == "east");
  BOOST_TEST(st[1].database == "west");
  auto reast = open_db(*relay, "east", false);
  auto rwest = open_db(*relay, "west", false);
  BOOST_TEST(balance(reast, alice) == 93);
  BOOST_TEST(balance(rwest, bob) == 107);

  // paused: every member disconnects, and nothing flows until resumed
  g->pause();
  bool all_paused = false;
  for (int i = 0; i < 200 && !all_paused; ++i) {
    auto s = g->sync_status();
    all_paused = std::all_of(s.begin(), s.end(), [](auto& l) { return l.paused && !l.connected; });
    if (!all_paused)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  BOOST_TEST(all_paused);
  must(transfer(*g, 3));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  BOOST_TEST(balance(reast, alice) == 93);
  BOOST_TEST(balance(rwest, bob) == 107);
  g->resume();
  g->sync_now();
  BOOST_REQUIRE(g->wait_synced(std::chrono::seconds(20)));
  bool arrived = false;
  for (int i = 0; i < 400 && !arrived; ++i) {
    arrived = balance(reast, alice) == 90 && balance(rwest, bob) == 110;
    if (!arrived)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  BOOST_TEST(arrived);
  g->stop();
  BOOST_TEST(g->sync_status().empty());
}

BOOST_AUTO_TEST_CASE(resolving_a_field_conflict_writes_the_choice_and_forgets_only_that_field) {
  temp_dir tmp;
  auto n1 = open_node(tmp / "one");
  auto n2 = open_node(tmp / "two");
  auto a = open_db(*n1, "shared");  // n1's; n2 joins
  share(a, *n2);
  auto b = join(*n2, "shared");
  const record_id r{0xc0, 1};
  must(a.put("c", r, {{"title", "start"}, {"titlex", "start"}}));
  exchange(a, b);
  must(a.set("c", r, "title", value(std::string("from-a"))));
  must(b.set("c", r, "title", value(std::string("from-b"))));
  must(a.set("c", r, "titlex", value(std::string("xa"))));  // shares the prefix "title"
  must(b.set("c", r, "titlex", value(std::string("xb"))));
  exchange(a, b);
  exchange(b, a);
  // the replica that recorded the conflicts resolves them
  auto& db = must(a.list_conflicts()).empty() ? b : a;
  auto& other = &db == &a ? b : a;
  auto cs = must(db.list_conflicts());
  std::optional<conflict> title;
  for (auto& c : cs)
    if (c.field == "title")
      title = c;
  BOOST_REQUIRE(title.has_value());
  auto n = must(db.resolve_conflict("c", r, "title", title->loser));  // keep the losing value
  BOOST_TEST(n >= 1u);
  for (auto& c : must(db.list_conflicts()))
    BOOST_TEST(c.field == "titlex");  // only title's were forgotten
  BOOST_TEST(!must(db.list_conflicts()).empty());
  BOOST_TEST(must(db.get("c", r)).at("title") == title->loser);
  // the choice is an ordinary write: it replicates and wins everywhere
  exchange(db, other);
  BOOST_TEST(must(other.get("c", r)).at("title") == title->loser);
  BOOST_TEST(!db.resolve_conflict("", r, "title", value(1)).ok());  // a bad write fails
}

// End-to-end encrypted members (docs/security.md §3): a transaction prepares
// its operations sealed and commits them opened; a replica that can read
// holds the sealed parts and releases them whole; a relay that cannot read
// stores them and opens nothing.
BOOST_AUTO_TEST_CASE(sealed_databases_take_transactions_and_readers_see_them_whole) {
  temp_dir tmp;
  auto relay = open_node(tmp / "relay");
  auto phone = open_node(tmp / "phone");
  auto laptop = open_node(tmp / "laptop");
  serve_options so;
  so.listen = {"inproc://groups-sealed-test"};
  auto srv = must(relay->serve(so), "serve");
  // the phone's databases are sealed from their creation; it admits the
  // relay (no key) and the laptop (reads and writes)
  for (auto* name : {"east", "west"}) {
    auto db = open_db(*phone, name);
    BOOST_TEST(info(db).access == "sealed");
    share(db, *relay, access_rights::relay);
    share(db, *laptop);
  }
  auto g = group_of(*phone, {"east", "west"});
  must(g->start("inproc://groups-sealed-test"), "start");
  open_accounts(*g);
  for (int i = 0; i < 5; ++i)
    must(transfer(*g, 7));
  auto peast = open_db(*phone, "east");
  BOOST_TEST(balance(peast, alice) == 65);
  BOOST_REQUIRE(g->wait_synced(std::chrono::seconds(20)));

  // the relay holds every operation and reads none
  auto reast = open_db(*relay, "east", false);
  BOOST_TEST(balance(reast, alice) == -1);
  BOOST_TEST(must(reast.status_info()).unopened > 0u);

  // the laptop opens them, and every group read shows whole transactions
  sync_group_options joining;
  joining.as = new_database::join;  // the phone's databases
  auto lg = group_of(*laptop, {"east", "west"}, joining);
  must(lg->start("inproc://groups-sealed-test"), "start");
  auto total = [&](int64_t& a, int64_t& b) {
    must(lg->read([&](const group_view& v) {
      auto ea = v.get("east", "accounts", alice);
      auto wb = v.get("west", "accounts", bob);
      auto bal = [](const result<value_map>& doc) -> int64_t {
        if (!doc)
          return 0;
        auto it = doc->find("balance");
        return it != doc->end() && std::holds_alternative<int64_t>(it->second.v) ? std::get<int64_t>(it->second.v) : 0;
      };
      a = bal(ea);
      b = bal(wb);
      return status{};
    }));
  };
  bool arrived = false;
  for (int i = 0; i < 1000 && !arrived; ++i) {
    int64_t a = 0, b = 0;
    total(a, b);
    BOOST_REQUIRE_MESSAGE(a + b == 0 || a + b == 200, "a read saw half a transaction: " << a << " + " << b);
    arrived = a == 65 && b == 135;
    if (!arrived)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  BOOST_TEST(arrived);
  BOOST_TEST(must(open_db(*laptop, "east", false).status_info()).unopened == 0u);
  // and its own transactions are sealed with its key and reach the phone
  must(transfer(*lg, -15));
  auto pwest = open_db(*phone, "west");
  bool back = false;
  for (int i = 0; i < 400 && !back; ++i) {
    back = balance(peast, alice) == 80 && balance(pwest, bob) == 120;
    if (!back)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  BOOST_TEST(back);
  lg->stop();
  g->stop();
}
