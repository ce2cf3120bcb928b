// Consistent group reads (sync_group::read / snapshot, runtime/group_view.hpp)
// and the node's visibility gate (storage/visibility_gate.hpp): a reader of
// several databases never sees part of a transaction, neither of one
// committed here nor of a remote one released from holds; and a database
// this node hosts but has not open does not keep a remote transaction held.
#include "../actors/actor_test_util.hpp"
#include "../common/sharing.hpp"
#include "runtime/sync_group.hpp"
#include "storage/txn_log.hpp"
#include "storage/visibility_gate.hpp"

#include <atomic>
#include <random>
#include <set>
#include <thread>

using namespace blaze;
using namespace blaze::test;

namespace {

// A bank: account `a` in east, `b` in west, 1000 each, and a ledger record
// in both databases counting the transfers (every transfer increments both).
struct bank {
  record_id a, b, ledger;
};
const bank remote_bank{{0xa, 1}, {0xb, 1}, {0x1ed, 1}};  // the origin node's
const bank local_bank{{0xc, 1}, {0xd, 1}, {0x1ee, 1}};   // the replica's own

template <class T> status st_of(const result<T>& r) { return r ? status{} : r.error(); }

// What each of the origin's databases holds before its first transaction:
// the access list written at creation and the grant of origin_group, as
// operations (seqs 1..ops, in no transaction) and records (in `_access`).
struct list_size {
  uint64_t ops = 0;
  uint64_t records = 0;
};

// The origin's group: its databases east and west (its own, sealed), shared
// with `member` before anything else is written.
std::shared_ptr<sync_group> origin_group(node& origin, const node& member, list_size& list) {
  auto g = must(origin.sync_group({"east", "west"}));
  for (auto* name : {"east", "west"}) {
    auto db = must(g->db(name));
    share(db, member);
    auto st = info(db);
    list = {st.versions.total(), st.records};  // the same in both
  }
  return g;
}

sync_group_options joining() {
  sync_group_options o;
  o.as = new_database::join;  // the origin's databases
  return o;
}

status open_bank(sync_group& g, const bank& k) {
  return st_of(g.transact([&](txn& t) {
    t.put("east", "ledger", k.ledger, {});
    t.put("west", "ledger", k.ledger, {});
    t.put("east", "accounts", k.a, {});
    t.increment("east", "accounts", k.a, "balance", 1000);
    t.put("west", "accounts", k.b, {});
    t.increment("west", "accounts", k.b, "balance", 1000);
    return status{};
  }));
}

status transfer(sync_group& g, const bank& k, int64_t amount) {
  return st_of(g.transact([&](txn& t) {
    t.increment("east", "accounts", k.a, "balance", -amount);
    t.increment("west", "accounts", k.b, "balance", amount);
    t.increment("east", "ledger", k.ledger, "n", 1);
    t.increment("west", "ledger", k.ledger, "n", 1);
    return status{};
  }));
}

// A counter field of a record at the view: nullopt when the record is not
// there, 0 when the field is not.
std::optional<int64_t> counter(const group_view& v, const std::string& db, const std::string& collection,
                               const record_id& id, const std::string& field) {
  auto doc = v.get(db, collection, id);
  if (!doc)
    return std::nullopt;
  auto it = doc->find(field);
  if (it == doc->end())
    return int64_t{0};
  return std::get<int64_t>(it->second.v);
}

// Checks one bank in a view: a whole number of transactions. Sets `n` to
// the transfers visible (-1: the bank is not there yet); returns what is
// wrong, or "".
std::string check(const group_view& v, const bank& k, int64_t& n) {
  auto ne = counter(v, "east", "ledger", k.ledger, "n");
  auto nw = counter(v, "west", "ledger", k.ledger, "n");
  auto a = counter(v, "east", "accounts", k.a, "balance");
  auto b = counter(v, "west", "accounts", k.b, "balance");
  n = -1;
  if (!ne && !nw && !a && !b)
    return "";
  if (!ne || !nw || !a || !b)
    return "half of the opening transaction is visible";
  if (*ne != *nw)
    return "east shows " + std::to_string(*ne) + " transfers, west " + std::to_string(*nw);
  if (*a + *b != 2000)
    return "the total is " + std::to_string(*a + *b) + " after " + std::to_string(*ne) + " transfers";
  n = *ne;
  return "";
}

} // namespace

BOOST_AUTO_TEST_CASE(the_gate_queues_writers_behind_a_waiting_reader_and_lets_it_read_between_them) {
  visibility_gate g;
  auto t1 = g.make_ticket();
  BOOST_TEST(g.enter(t1, [] {}));  // no reader: admitted at once
  int took = 0;
  BOOST_TEST(!g.read(std::chrono::milliseconds(30), [&] { ++took; }));  // t1 applies: no read point
  BOOST_TEST(took == 0);

  std::atomic<bool> read_done{false};
  std::thread reader([&] {
    read_done = g.read(std::chrono::seconds(20), [&] { ++took; });
  });
  for (int i = 0; i < 2000 && g.readers_waiting() == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  BOOST_REQUIRE(g.readers_waiting() == 1u);
  std::atomic<int> went{0};
  auto t2 = g.make_ticket();
  auto t3 = g.make_ticket();
  BOOST_TEST(!g.enter(t2, [&] { ++went; }));  // a reader waits: queued
  BOOST_TEST(!g.enter(t3, [&] { went += 10; }));
  g.leave(t3);  // withdrawn while queued: never goes
  BOOST_TEST(!read_done.load());
  BOOST_TEST(went.load() == 0);
  g.leave(t1);  // the reader takes its point, then admits t2
  reader.join();
  BOOST_TEST(read_done.load());
  BOOST_TEST(took == 1);
  BOOST_TEST(went.load() == 1);
  BOOST_TEST(g.writers() == 1u);
  g.leave(t2);
  g.leave(t2);  // twice: no-op
  BOOST_TEST(g.writers() == 0u);
  BOOST_TEST(g.read(std::chrono::milliseconds(30), [&] { ++took; }));
  BOOST_TEST(took == 2);
}

// Local 2PC commits (a writer thread on the replica's own group) and remote
// transactions (the origin's, applied to the replica in random batches one
// database at a time, held and released) stream while a reader thread reads
// the replica's group in a loop: every read must show both banks whole.
// Without the gate it fails (checked by making visibility_gate::read not
// wait: ~3000 of ~16000 reads broken; by skipping the gate in the
// coordinator only: the local bank breaks; in txn_log::report only: the
// remote bank breaks).
BOOST_AUTO_TEST_CASE(group_reads_never_see_part_of_a_transaction_while_commits_and_releases_stream) {
  constexpr int remote_transfers = 80;
  constexpr int local_transfers = 80;
  temp_dir tmp;
  auto origin = open_node(tmp / "origin");
  auto replica = open_node(tmp / "replica");
  list_size list;
  auto og = origin_group(*origin, *replica, list);
  must(open_bank(*og, remote_bank), "open the remote bank");
  std::mt19937 rng(7);
  for (int i = 0; i < remote_transfers; ++i)
    must(transfer(*og, remote_bank, 1 + rng() % 5), "remote transfer");
  auto oeast = must(og->db("east"));
  auto owest = must(og->db("west"));

  auto rg = must(replica->sync_group({"east", "west"}, joining()));
  auto reast = must(rg->db("east"));
  auto rwest = must(rg->db("west"));
  // The access lists first: the replica writes its own bank once it is a
  // member (the remote bank's transactions stream below).
  must(reast.apply(must(oeast.operations_after({}, list.ops))));
  must(rwest.apply(must(owest.operations_after({}, list.ops))));
  BOOST_REQUIRE(info(reast).access == "sealed");
  BOOST_REQUIRE(info(rwest).access == "sealed");
  must(open_bank(*rg, local_bank), "open the local bank");

  std::atomic<bool> done{false};
  std::atomic<int> reads{0}, bad{0};
  std::string first_bad;
  std::set<int64_t> remote_seen, local_seen;  // transfers visible, per bank, over the reads
  std::thread reader([&] {
    // Bounded: stops with the writers, or after 20 s whatever happens.
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!done.load() && std::chrono::steady_clock::now() < until) {
      auto s = rg->read([&](const group_view& v) {
        int64_t rn = 0, ln = 0;
        auto why = check(v, remote_bank, rn);
        if (!why.empty())
          why = "remote transaction: " + why;
        else if (why = check(v, local_bank, ln); !why.empty())
          why = "local transaction: " + why;
        if (!why.empty()) {
          if (bad++ == 0)
            first_bad = why;
          return status{};
        }
        remote_seen.insert(rn);
        local_seen.insert(ln);
        return status{};
      });
      if (!s && bad++ == 0)
        first_bad = "read failed: " + s.to_string();
      ++reads;
    }
  });
  std::atomic<int> local_failed{0};
  std::thread local_writer([&] {
    std::mt19937 r(11);
    for (int i = 0; i < local_transfers; ++i)
      if (!transfer(*rg, local_bank, 1 + r() % 5))
        ++local_failed;
  });
  // The origin's operations, in random batches, one database at a time.
  int batches = 0;
  for (;;) {
    // what the origin has and the replica lacks (the replica's own are not at the origin)
    auto east_ops = must(oeast.operations_after(info(reast).versions, 1 + rng() % 6), "operations_after");
    auto west_ops = must(owest.operations_after(info(rwest).versions, 1 + rng() % 6), "operations_after");
    if (east_ops.empty() && west_ops.empty())
      break;
    bool pick_east = !east_ops.empty() && (west_ops.empty() || rng() % 2 == 0);
    auto rep = must((pick_east ? reast : rwest).apply(pick_east ? std::move(east_ops) : std::move(west_ops)));
    BOOST_TEST(rep.refused.empty());
    ++batches;
  }
  local_writer.join();
  // Let the last release finish, then stop the reader.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  done = true;
  reader.join();

  BOOST_TEST(local_failed.load() == 0);
  BOOST_TEST(batches > 20);
  BOOST_TEST_MESSAGE("group reads: " << reads.load() << ", remote states seen: " << remote_seen.size()
                                     << ", local states seen: " << local_seen.size());
  BOOST_TEST(bad.load() == 0, "a read saw part of a transaction: " << first_bad << " (" << bad.load() << " of "
                                                                    << reads.load() << " reads)");
  BOOST_TEST(reads.load() > 100);
  // the reads interleaved with both streams (not all before or after them)
  BOOST_TEST(remote_seen.size() > 5u);
  BOOST_TEST(local_seen.size() > 5u);
  // and the end state is whole
  int64_t rn = 0, ln = 0;
  must(rg->read([&](const group_view& v) {
    BOOST_TEST(check(v, remote_bank, rn) == "");
    BOOST_TEST(check(v, local_bank, ln) == "");
    return status{};
  }));
  BOOST_TEST(rn == remote_transfers);
  BOOST_TEST(ln == local_transfers);
}

BOOST_AUTO_TEST_CASE(a_group_view_is_a_fixed_read_point_and_names_its_members) {
  temp_dir tmp;
  auto n = open_node(tmp / "n");
  auto g = must(n->sync_group({"east", "west"}));
  must(open_bank(*g, local_bank));
  auto v = must(g->snapshot());
  BOOST_TEST((v->databases() == std::vector<std::string>{"east", "west"}));
  must(transfer(*g, local_bank, 7));
  int64_t k = 0;
  BOOST_TEST(check(*v, local_bank, k) == "");
  BOOST_TEST(k == 0);  // the transfer came after the read point
  BOOST_TEST(counter(*v, "east", "accounts", local_bank.a, "balance").value_or(-1) == 1000);
  // queries at the read point, with an index created after it and before it
  auto east = must(g->db("east"));
  must(east.create_index("accounts", "balance"));
  auto q = east.query("accounts").where("balance", cmp::ge, value(int64_t{990})).get();
  auto rows = must(v->run("east", q));
  BOOST_TEST(rows.size() == 1u);
  auto v2 = must(g->snapshot());
  query_stats qs;
  auto rows2 = must(v2->run("east", q, &qs));
  BOOST_TEST(rows2.size() == 1u);
  BOOST_TEST(qs.used_index);
  BOOST_TEST(std::get<int64_t>(rows2[0].doc.at("balance").v) == 993);
  BOOST_TEST(!v->get("north", "accounts", local_bank.a).ok());
  BOOST_TEST((v->get("north", "accounts", local_bank.a).error().code == errc::unknown_database));
  // read() returns what fn returns
  auto s = g->read([](const group_view&) { return status{errc::invalid_argument, "mine"}; });
  BOOST_TEST(s.message == "mine");
}

// A remote transaction with parts in east and west: west's part arrives and
// is held, the node restarts and opens only east; east's part arrives. West
// is hosted but not open: the node opens it, it reports its part, and both
// parts are released (and the release record goes from .txnlog).
BOOST_AUTO_TEST_CASE(a_hosted_database_that_is_not_open_is_opened_to_release_its_part) {
  temp_dir tmp;
  auto origin = open_node(tmp / "origin");
  list_size list;
  std::shared_ptr<sync_group> og;
  {
    auto replica = open_node(tmp / "replica");
    og = origin_group(*origin, *replica, list);
  }
  must(open_bank(*og, remote_bank));
  must(transfer(*og, remote_bank, 5));
  auto east_ops = must(must(og->db("east")).operations_after({}, 1000));
  auto west_ops = must(must(og->db("west")).operations_after({}, 1000));
  BOOST_REQUIRE(!east_ops.empty());
  std::set<id128> txns;
  for (auto& op : east_ops)
    if (!op.txn.empty())  // not the access list's
      txns.insert(op.txn.id);
  BOOST_REQUIRE(txns.size() == 2u);
  {
    auto replica = open_node(tmp / "replica");
    join(*replica, "east");  // hosted, nothing for it yet
    auto rwest = join(*replica, "west");
    must(rwest.apply(west_ops));
    BOOST_TEST(info(rwest).records == list.records);  // held: east's part is missing (the list is there)
  }
  {
    auto replica = open_node(tmp / "replica");
    auto reast = open_db(*replica, "east");  // west is not opened by anyone
    BOOST_TEST((must(replica->open_databases()) == std::vector<std::string>{"east"}));
    must(reast.apply(east_ops));
    bool released = false;
    for (int i = 0; i < 500 && !released; ++i) {
      released = reast.get("accounts", remote_bank.a).ok();
      if (!released)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    BOOST_TEST(released);
    BOOST_TEST((must(replica->open_databases()) == std::vector<std::string>{"east", "west"}));
    auto rwest = open_db(*replica, "west");
    auto g = must(replica->sync_group({"east", "west"}));
    must(g->read([&](const group_view& v) {
      int64_t n = -2;
      BOOST_TEST(check(v, remote_bank, n) == "");
      BOOST_TEST(n == 1);
      return status{};
    }));
    BOOST_TEST(must(rwest.status_info()).records == list.records + 2u);
  }
  // every part released: no release record left in the node's log
  auto log = must(txn_log::open(tmp / "replica" / ".txnlog"));
  for (auto& id : txns)
    BOOST_TEST(!must(log->release_logged(id)));
}
