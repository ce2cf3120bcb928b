// actors/runtime: blaze::database through the database actor — the write
// API, queries, async forms, subscriptions, group commit under concurrency,
// applying another replica's operations, conflicts, errors as statuses.
#include "actor_test_util.hpp"
#include "../common/sharing.hpp"

#include <atomic>
#include <future>
#include <set>
#include <thread>

using namespace blaze;
using namespace blaze::test;

namespace {

struct node_fixture {
  temp_dir tmp;
  std::unique_ptr<node> n = open_node(tmp / "data");
  database db = open_db(*n, "db");
};

blaze::write make(blaze::write::kind k, std::string c, record_id id) {
  blaze::write w;
  w.k = k;
  w.collection = std::move(c);
  w.record = id;
  return w;
}

} // namespace

BOOST_FIXTURE_TEST_CASE(the_full_write_api, node_fixture) {
  auto id = must(db.insert("bugs", {{"title", "crash"}, {"prio", 2}}));
  BOOST_TEST(must(db.get("bugs", id)) == (value_map{{"title", "crash"}, {"prio", 2}}));
  auto id2 = must(db.insert("bugs", {{"title", "other"}}));
  BOOST_TEST(id2 != id);

  // put: insert under a chosen id, then upsert
  BOOST_TEST(must(db.put("bugs", rec(1), {{"title", "chosen"}})) == rec(1));
  must(db.put("bugs", rec(1), {{"prio", 9}}));
  BOOST_TEST(must(db.get("bugs", rec(1))) == (value_map{{"title", "chosen"}, {"prio", 9}}));

  must(db.update("bugs", id, {{"title", "hang"}, {"owner", "ann"}}));
  must(db.set("bugs", id, "prio", 1));
  must(db.set("bugs", id, "due", time_point{1'700'000'000'000'000}));
  must(db.increment("bugs", id, "votes", 5));
  must(db.increment("bugs", id, "votes", -1));
  must(db.add("bugs", id, "tags", "ui"));
  must(db.add("bugs", id, "tags", "crash"));
  must(db.remove("bugs", id, "tags", "ui"));
  BOOST_TEST(must(db.get("bugs", id)) == (value_map{{"title", "hang"},
                                                    {"prio", 1},
                                                    {"owner", "ann"},
                                                    {"due", time_point{1'700'000'000'000'000}},
                                                    {"votes", int64_t{4}},
                                                    {"tags", value_array{"crash"}}}));

  must(db.erase("bugs", id2));
  auto gone = db.get("bugs", id2);
  BOOST_REQUIRE(!gone.ok());
  BOOST_TEST(gone.error().code == errc::unknown_record);
  must(db.put("bugs", id2, {{"title", "back"}}));  // resurrection
  BOOST_TEST(must(db.get("bugs", id2)) == (value_map{{"title", "back"}}));

  must(db.create_index("bugs", "prio"));
  auto st = info(db);
  BOOST_TEST(st.indexes.size() == 1u);
  BOOST_TEST(st.indexes[0].first == "bugs");
  BOOST_TEST(st.indexes[0].second == "prio");
  must(db.drop_index("bugs", "prio"));
  BOOST_TEST(info(db).indexes.empty());

  // a batch: one outcome per write, failures do not stop the others
  writes ws;
  auto w1 = make(blaze::write::kind::insert, "bugs", rec(10));
  w1.fields = {{"title", "batch-1"}};
  ws.push_back(w1);
  auto w2 = make(blaze::write::kind::set, "bugs", rec(404));
  w2.field = "title";
  w2.val = "nope";
  ws.push_back(w2);
  auto w3 = make(blaze::write::kind::increment, "bugs", rec(10));
  w3.field = "votes";
  w3.delta = 7;
  ws.push_back(w3);
  auto seq_before = info(db).versions.total();
  auto out = must(db.write(ws));
  BOOST_REQUIRE_EQUAL(out.size(), 3u);
  BOOST_TEST(out[0].st.ok());
  BOOST_TEST(out[0].record == rec(10));
  BOOST_TEST(out[1].st.code == errc::unknown_record);
  BOOST_TEST(out[1].st.message.find(rec(404).to_hex()) != std::string::npos);
  BOOST_TEST(out[1].record == rec(404));
  BOOST_TEST(out[2].st.ok());
  BOOST_TEST(out[2].id.origin == out[0].id.origin);
  BOOST_TEST(out[2].id.seq == out[0].id.seq + 1);  // the failure consumed no seq
  BOOST_TEST(out[0].id.seq == seq_before + 1);
  BOOST_TEST(must(db.get("bugs", rec(10))) == (value_map{{"title", "batch-1"}, {"votes", int64_t{7}}}));
  BOOST_TEST(info(db).versions.total() == seq_before + 2);

  st = info(db);
  BOOST_TEST(st.name == "db");
  BOOST_TEST(st.records == 4u + access_ops);  // the access list's two records count
  BOOST_TEST(st.collections == (std::vector<std::string>{"_access", "bugs"}));
  BOOST_TEST(st.durability == "buffered");
  BOOST_TEST(st.conflicts == 0u);
  BOOST_TEST(st.operations == st.versions.total());
}

BOOST_FIXTURE_TEST_CASE(errors_come_back_as_statuses, node_fixture) {
  auto g = db.get("c", rec(77));
  BOOST_REQUIRE(!g.ok());
  BOOST_TEST(g.error().code == errc::unknown_record);
  BOOST_TEST(g.error().message.find(rec(77).to_hex()) != std::string::npos, g.error().message);
  BOOST_TEST(g.error().message.find("'c'") != std::string::npos, g.error().message);

  for (auto s : {db.update("c", rec(77), {{"a", 1}}), db.set("c", rec(77), "a", 1), db.increment("c", rec(77), "a", 1),
                 db.add("c", rec(77), "a", 1), db.remove("c", rec(77), "a", 1), db.erase("c", rec(77))}) {
    BOOST_TEST(s.code == errc::unknown_record);
    BOOST_TEST(s.message.find(rec(77).to_hex()) != std::string::npos, s.message);
  }
  auto bad = db.insert("c", {{"", 1}});
  BOOST_REQUIRE(!bad.ok());
  BOOST_TEST(bad.error().code == errc::invalid_argument);
  BOOST_TEST(bad.error().message == "field name is empty");
  BOOST_TEST(db.insert("", {{"a", 1}}).error().code == errc::invalid_argument);
  BOOST_TEST(db.create_index("c", "").code == errc::invalid_argument);
  BOOST_TEST(db.insert("c", {{std::string(300, 'f'), 1}}).error().code == errc::too_large);

  auto q = db.query("c").where("a", cmp::in, 1).run();
  BOOST_REQUIRE(!q.ok());
  BOOST_TEST(q.error().code == errc::invalid_argument);
  BOOST_TEST(q.error().message.find("'in' needs an array") != std::string::npos);
  BOOST_TEST(db.query("").run().error().code == errc::invalid_argument);

  BOOST_TEST(db.clear_conflicts("c", nullptr).ok());
  BOOST_TEST(info(db).versions.total() == access_ops);  // nothing of it was written (only the access list)
}

BOOST_FIXTURE_TEST_CASE(queries_through_the_builder, node_fixture) {
  for (int i = 0; i < 60; ++i)
    must(db.put("people", rec(uint64_t(i)), {{"age", i % 30}, {"name", "p" + std::to_string(i)}, {"team", i % 3}}));
  must(db.put("other", rec(1000), {{"age", 5}}));
  query_stats qs;
  auto rows = must(db.query("people").where("age", cmp::lt, 3).run(&qs));
  BOOST_TEST(!qs.used_index);
  BOOST_TEST(qs.examined == 60u);
  BOOST_TEST(rows.size() == 6u);
  std::vector<record_id> scanned;
  for (auto& r : rows)
    scanned.push_back(r.id);

  must(db.create_index("people", "age"));
  rows = must(db.query("people").where("age", cmp::lt, 3).run(&qs));
  BOOST_TEST(qs.used_index);
  BOOST_TEST(qs.index_field == "age");
  BOOST_TEST(qs.examined < 60u);  // the candidates of the index range only (bounds are inclusive)
  std::vector<record_id> indexed;
  for (auto& r : rows)
    indexed.push_back(r.id);
  BOOST_TEST(indexed == scanned);

  rows = must(db.query("people").where("team", cmp::eq, 1).where("age", cmp::ge, 20).order_by("age", true).limit(4).run(&qs));
  BOOST_TEST(qs.used_index);
  BOOST_REQUIRE_EQUAL(rows.size(), 4u);
  for (auto& r : rows) {
    BOOST_TEST(r.doc.at("team") == value(1));
    BOOST_TEST(compare(r.doc.at("age"), value(20)) >= 0);
  }
  for (size_t i = 1; i < rows.size(); ++i)
    BOOST_TEST(compare(rows[i - 1].doc.at("age"), rows[i].doc.at("age")) >= 0);
  BOOST_TEST(rows[0].doc.at("age") == value(28));

  auto q = db.query("people").where("name", cmp::in, value_array{"p1", "p2", "nobody"}).order_by("name");
  BOOST_TEST(q.get().collection == "people");
  rows = must(q.run());
  BOOST_REQUIRE_EQUAL(rows.size(), 2u);
  BOOST_TEST(rows[0].doc.at("name") == value("p1"));
  BOOST_TEST(rows[1].doc.at("name") == value("p2"));

  must(db.drop_index("people", "age"));
  rows = must(db.query("people").where("age", cmp::lt, 3).run(&qs));
  BOOST_TEST(!qs.used_index);
  BOOST_TEST(rows.size() == 6u);
}

BOOST_FIXTURE_TEST_CASE(async_forms, node_fixture) {
  std::promise<result<write_outcomes>> wp;
  writes ws;
  auto w = make(blaze::write::kind::insert, "c", rec(1));
  w.fields = {{"x", 1}};
  ws.push_back(w);
  db.write_async(ws, [&](result<write_outcomes> r) { wp.set_value(std::move(r)); });
  auto wf = wp.get_future();
  BOOST_REQUIRE(wf.wait_for(std::chrono::seconds(20)) == std::future_status::ready);
  auto outs = must(wf.get());
  BOOST_REQUIRE_EQUAL(outs.size(), 1u);
  BOOST_TEST(outs[0].st.ok());
  BOOST_TEST(outs[0].id.seq == access_ops + 1);  // the first write after the access list

  std::promise<result<value_map>> gp;
  db.get_async("c", rec(1), [&](result<value_map> r) { gp.set_value(std::move(r)); });
  auto gf = gp.get_future();
  BOOST_REQUIRE(gf.wait_for(std::chrono::seconds(20)) == std::future_status::ready);
  BOOST_TEST(must(gf.get()) == (value_map{{"x", 1}}));

  std::promise<result<value_map>> mp;
  db.get_async("c", rec(2), [&](result<value_map> r) { mp.set_value(std::move(r)); });
  auto missing = mp.get_future().get();
  BOOST_REQUIRE(!missing.ok());
  BOOST_TEST(missing.error().code == errc::unknown_record);
  BOOST_TEST(missing.error().message.find(rec(2).to_hex()) != std::string::npos);

  std::promise<result<std::vector<row>>> qp;
  query q;
  q.collection = "c";
  q.where.push_back({"x", cmp::eq, 1});
  db.run_async(q, [&](result<std::vector<row>> r) { qp.set_value(std::move(r)); });
  auto rows = must(qp.get_future().get());
  BOOST_REQUIRE_EQUAL(rows.size(), 1u);
  BOOST_TEST(rows[0].id == rec(1));

  std::promise<result<std::vector<row>>> bp;
  q.where[0].op = cmp::in;  // not an array: refused
  db.run_async(q, [&](result<std::vector<row>> r) { bp.set_value(std::move(r)); });
  auto bad = bp.get_future().get();
  BOOST_REQUIRE(!bad.ok());
  BOOST_TEST(bad.error().code == errc::invalid_argument);
}

BOOST_FIXTURE_TEST_CASE(subscriptions_deliver_in_commit_order_and_stop, node_fixture) {
  std::mutex m;
  std::condition_variable cv;
  std::vector<change> seen_a, seen_all;
  auto sub_a = db.subscribe("a", [&](const change& c) {
    std::lock_guard<std::mutex> g(m);
    seen_a.push_back(c);
    cv.notify_all();
  });
  auto sub_all = std::make_unique<subscription>(db.subscribe("", [&](const change& c) {
    std::lock_guard<std::mutex> g(m);
    seen_all.push_back(c);
    cv.notify_all();
  }));
  must(db.put("a", rec(1), {{"n", 0}}));
  for (int i = 1; i <= 50; ++i) {
    must(db.set("a", rec(1), "n", i));
    must(db.put("b", rec(uint64_t(i)), {{"i", i}}));
  }
  // concurrent asynchronous writes are delivered in the order they committed
  std::atomic<int> acked{0};
  for (int i = 0; i < 100; ++i) {
    writes ws;
    auto w = make(blaze::write::kind::increment, "a", rec(1));
    w.field = "hits";
    w.delta = 1;
    ws.push_back(w);
    db.write_async(ws, [&](result<write_outcomes>) { ++acked; });
  }
  for (int i = 0; i < 2000 && acked.load() < 100; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  BOOST_REQUIRE_EQUAL(acked.load(), 100);
  must(db.erase("a", rec(1)));
  BOOST_REQUIRE(wait_for(m, cv, [&] { return seen_a.size() == 152u && seen_all.size() == 202u; }));
  {
    std::lock_guard<std::mutex> g(m);
    for (auto& c : seen_a)
      BOOST_TEST(c.collection == "a");
    for (size_t i = 1; i < seen_a.size(); ++i)
      BOOST_TEST(seen_a[i - 1].by.seq < seen_a[i].by.seq, "commit order at " << i);
    for (size_t i = 1; i < seen_all.size(); ++i)
      BOOST_TEST(seen_all[i - 1].by.seq < seen_all[i].by.seq, "commit order at " << i);
    BOOST_TEST(seen_a[0].doc == (value_map{{"n", 0}}));
    BOOST_TEST(seen_a[50].doc.at("n") == value(50));
    BOOST_TEST(seen_a[151].deleted);
    BOOST_TEST(seen_a[151].id == rec(1));
    BOOST_TEST(seen_a[150].doc.at("hits") == value(int64_t{100}));
    size_t b = 0;
    for (auto& c : seen_all)
      b += c.collection == "b";
    BOOST_TEST(b == 50u);
  }

  // after cancel (and destruction) nothing more arrives
  sub_a.cancel();
  sub_all.reset();
  must(db.put("a", rec(2), {{"n", 1}}));
  must(db.put("b", rec(2), {{"n", 1}}));
  auto fresh_count = std::make_shared<std::atomic<int>>(0);
  {
    auto probe = db.subscribe("a", [fresh_count](const change&) { ++*fresh_count; });
    must(db.set("a", rec(2), "n", 2));
    for (int i = 0; i < 200 && fresh_count->load() == 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    BOOST_TEST(fresh_count->load() == 1);  // the feed itself still works
  }
  must(db.set("a", rec(2), "n", 3));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  std::lock_guard<std::mutex> g(m);
  BOOST_TEST(seen_a.size() == 152u);
  BOOST_TEST(seen_all.size() == 202u);
  BOOST_TEST(fresh_count->load() == 1);
}

BOOST_FIXTURE_TEST_CASE(group_commit_under_concurrent_async_writes, node_fixture) {
  constexpr int threads = 4;
  constexpr int per_thread = 500;
  std::mutex m;
  std::condition_variable cv;
  std::vector<write_outcome> outcomes;
  std::vector<status> failures;
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t)
    ts.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        writes ws;
        auto w = make(blaze::write::kind::insert, "load", rec(uint64_t(t * per_thread + i)));
        w.fields = {{"t", t}, {"i", i}};
        ws.push_back(w);
        db.write_async(ws, [&](result<write_outcomes> r) {
          std::lock_guard<std::mutex> g(m);
          if (!r)
            failures.push_back(r.error());
          else
            outcomes.insert(outcomes.end(), r->begin(), r->end());
          cv.notify_all();
        });
      }
    });
  for (auto& t : ts)
    t.join();
  BOOST_REQUIRE(wait_for(m, cv, [&] { return outcomes.size() + failures.size() == size_t(threads * per_thread); },
                         std::chrono::seconds(60)));
  std::lock_guard<std::mutex> g(m);
  BOOST_TEST(failures.empty());
  std::set<dot> dots;
  std::set<uint64_t> seqs;
  std::set<record_id> records;
  for (auto& o : outcomes) {
    BOOST_TEST(o.st.ok());
    dots.insert(o.id);
    seqs.insert(o.id.seq);
    records.insert(o.record);
  }
  BOOST_TEST(dots.size() == size_t(threads * per_thread));  // distinct dots
  BOOST_TEST(records.size() == size_t(threads * per_thread));
  BOOST_TEST(seqs.size() == size_t(threads * per_thread));
  // contiguous: after the access list's seqs, access_ops + 1 .. access_ops + count
  BOOST_TEST(*seqs.begin() == access_ops + 1);
  BOOST_TEST(*seqs.rbegin() == access_ops + uint64_t(threads * per_thread));
  auto st = info(db);
  BOOST_TEST(st.versions.total() == access_ops + uint64_t(threads * per_thread));
  BOOST_TEST(st.versions.entries().size() == 1u);
  BOOST_TEST(st.versions.get(outcomes[0].id.origin) == access_ops + uint64_t(threads * per_thread));
  BOOST_TEST(st.records == access_ops + uint64_t(threads * per_thread));  // with the access list's records
  BOOST_TEST(must(db.get("load", rec(3 * per_thread + 7))) == (value_map{{"t", 3}, {"i", 7}}));
}

// "b" joins "a" (new_database::join): both databases are this node's, but
// each replica is its own origin and "b" takes a's access list (whose owner
// is this very node) with the first exchange. "a" is plaintext: a sealed
// database's content keys are wrapped for its name (access::keyring unwraps
// with the list's database id), so "b" could not open a's sealed operations;
// what is tested is the by-hand exchange.
BOOST_AUTO_TEST_CASE(two_databases_on_one_node_sync_by_hand) {
  temp_dir tmp;
  auto n = open_node(tmp / "data");
  auto a = open_plaintext(*n, "a");
  auto b = join(*n, "b");
  BOOST_TEST(info(b).access == "joining");
  std::vector<record_id> ids;
  for (int i = 0; i < 20; ++i)
    ids.push_back(must(a.insert("c", {{"i", i}, {"s", std::string(1, char('a' + i % 5))}})));
  must(a.increment("c", ids[0], "votes", 4));
  must(a.add("c", ids[1], "tags", "x"));
  must(a.erase("c", ids[2]));
  must(a.create_index("c", "i"));
  auto rep = exchange(a, b);
  BOOST_TEST(rep.applied == access_ops + 24u);
  auto sa = info(a);
  auto sb = info(b);
  BOOST_TEST(sb.access == "plaintext");
  BOOST_TEST(sa.versions == sb.versions);
  BOOST_TEST(sb.records == access_ops + 19u);  // with the access list's records
  BOOST_TEST((sb.indexes == sa.indexes));
  for (auto& id : ids) {
    auto ga = a.get("c", id);
    auto gb = b.get("c", id);
    BOOST_TEST(ga.ok() == gb.ok());
    if (ga && gb)
      BOOST_TEST(*ga == *gb);
  }
  query_stats qs;
  auto rows = must(b.query("c").where("i", cmp::ge, 10).run(&qs));
  BOOST_TEST(qs.used_index);
  BOOST_TEST(rows.size() == 10u);
  // a second pass has nothing to send; sending it anyway is a no-op
  BOOST_TEST(must(a.operations_after(sb.versions, 1000)).empty());
  auto again = must(b.apply(must(a.operations_after({}, 1000))));
  BOOST_TEST(again.applied == 0u);
  BOOST_TEST(again.duplicates == access_ops + 24u);
  // operations_after respects its maximum
  BOOST_TEST(must(a.operations_after({}, 5)).size() == 5u);
}

BOOST_AUTO_TEST_CASE(replicas_on_two_nodes_converge_and_record_conflicts) {
  temp_dir tmp;
  auto n1 = open_node(tmp / "one");
  auto n2 = open_node(tmp / "two");
  BOOST_REQUIRE(n1->id() != n2->id());
  // n1 owns "shared" and admits n2, which joins: its writes wait for the
  // list, which the first exchange brings
  auto a = open_db(*n1, "shared");
  share(a, *n2);
  auto b = join(*n2, "shared");
  must(a.put("c", rec(1), {{"title", "start"}, {"n", 0}}));
  must(a.put("c", rec(2), {{"title", "two"}}));
  must(a.put("c", rec(3), {{"title", "three"}}));
  BOOST_TEST(b.put("c", rec(9), {{"early", true}}).error().code == errc::forbidden);  // no list yet
  exchange(a, b);
  BOOST_TEST(info(b).access == "sealed");

  // concurrent edits
  must(a.set("c", rec(1), "title", "from-a"));
  must(b.set("c", rec(1), "title", "from-b"));
  must(a.set("c", rec(3), "title", "a3"));
  must(b.set("c", rec(3), "title", "b3"));
  must(a.increment("c", rec(1), "votes", 2));
  must(b.increment("c", rec(1), "votes", 5));
  must(a.add("c", rec(2), "tags", "a"));
  must(b.add("c", rec(2), "tags", "b"));
  must(b.erase("c", rec(2)));
  exchange(a, b);
  exchange(b, a);
  auto sa = info(a);
  auto sb = info(b);
  BOOST_TEST(sa.versions == sb.versions);
  BOOST_TEST(sa.versions.entries().size() == 2u);
  for (uint64_t i = 1; i <= 3; ++i) {
    auto ga = a.get("c", rec(i));
    auto gb = b.get("c", rec(i));
    BOOST_TEST(ga.ok() == gb.ok());
    if (ga && gb)
      BOOST_TEST(*ga == *gb);
  }
  BOOST_TEST(must(a.get("c", rec(1))).at("votes") == value(int64_t{7}));
  BOOST_TEST(must(a.get("c", rec(1))).at("n") == value(0));

  // the concurrent sets were recorded as conflicts
  auto ca = must(a.list_conflicts());
  auto cb = must(b.list_conflicts());
  BOOST_TEST(ca.size() + cb.size() >= 2u);
  BOOST_TEST(sa.conflicts == ca.size());
  for (auto* cs : {&ca, &cb})
    for (auto& c : *cs) {
      BOOST_TEST(c.collection == "c");
      BOOST_TEST(c.field == "title");
      BOOST_TEST(c.winner == must(a.get("c", c.record)).at("title"));
    }
  // clear one record's, then the rest
  auto r1 = rec(1);
  must(a.clear_conflicts("c", &r1));
  for (auto& c : must(a.list_conflicts()))
    BOOST_TEST(c.record != rec(1));
  must(a.clear_conflicts());
  must(b.clear_conflicts("c"));
  BOOST_TEST(must(a.list_conflicts()).empty());
  BOOST_TEST(must(b.list_conflicts()).empty());
  BOOST_TEST(info(a).conflicts == 0u);
  BOOST_TEST(info(a).versions == sa.versions);  // clearing conflicts writes no operation
}
