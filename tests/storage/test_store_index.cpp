// storage: secondary indexes. A query through an index must return exactly
// the rows an unindexed full scan returns, for every comparison and every
// kind of value, while records are updated, deleted and resurrected.
#include "store_test_util.hpp"

using namespace blaze;
using namespace blaze::test;

namespace {

const node_id me = node(1);

/// The unindexed answer: every live record of the collection (a full scan),
/// filtered and ordered by the core query evaluator.
std::vector<row> reference(const store& s, const query& q) {
  query all;
  all.collection = q.collection;
  query_stats st;
  auto rows = s.run(all, &st);
  BOOST_REQUIRE(rows.ok());
  BOOST_REQUIRE(!st.used_index);
  std::vector<row> out;
  for (auto& r : *rows)
    if (matches(q, r.doc))
      out.push_back(r);
  order_and_limit(q, out);
  return out;
}

std::string describe(const query& q) {
  std::string out = q.collection + ":";
  for (auto& p : q.where)
    out += " " + p.field + " " + to_string(p.op) + " " + to_json(p.operand).dump();
  if (!q.order_by.empty())
    out += " order by " + q.order_by + (q.descending ? " desc" : "");
  if (q.limit)
    out += " limit " + std::to_string(q.limit);
  return out;
}

/// Runs `q` and checks it against the reference; returns the stats.
query_stats check(const store& s, const query& q) {
  query_stats st;
  auto got = s.run(q, &st);
  BOOST_REQUIRE_MESSAGE(got.ok(), describe(q) << ": " << (got ? std::string() : got.error().to_string()));
  auto want = reference(s, q);
  BOOST_TEST_CONTEXT(describe(q)) {
    BOOST_TEST(ids_of(*got) == ids_of(want));
    if (got->size() == want.size())
      for (size_t i = 0; i < want.size(); ++i)
        BOOST_TEST((*got)[i].doc == want[i].doc);
  }
  return st;
}

query random_query(std::mt19937_64& rng, const std::string& field) {
  query q;
  q.collection = "c";
  predicate p;
  p.field = field;
  p.op = static_cast<cmp>(rng() % 6);
  if (p.op == cmp::in) {
    value_array a;
    for (size_t i = 0, n = rng() % 5; i < n; ++i)
      a.push_back(random_value(rng));
    p.operand = a;
  } else {
    p.operand = random_value(rng);
  }
  q.where.push_back(p);
  if (rng() % 4 == 0)
    q.where.push_back({"w", rng() % 2 ? cmp::lt : cmp::ge, int64_t(rng() % 10)});
  if (rng() % 3 == 0) {
    q.order_by = rng() % 2 ? "w" : field;
    q.descending = rng() % 2;
  }
  if (rng() % 3 == 0)
    q.limit = 1 + rng() % 10;
  return q;
}

bool can_match_a_missing_field(const query& q) {
  // A record without the field reads it as null; the index has no entry for it.
  return q.where[0].test(value_map{});
}

} // namespace

BOOST_AUTO_TEST_CASE(indexed_queries_match_full_scans_on_random_values) {
  temp_dir tmp;
  auto s = open_store(tmp / "db", me);
  std::mt19937_64 rng(2024);
  std::vector<blaze::write> ws;
  for (uint64_t i = 0; i < 400; ++i) {
    value_map doc{{"w", int64_t(rng() % 10)}};
    if (rng() % 10 != 0)
      doc["v"] = random_value(rng);
    ws.push_back(w_insert("c", rec(i), doc));
  }
  ws.push_back(w_insert("other", rec(1), {{"v", 1}}));  // another collection, never returned
  for (auto& r : s->write_local(ws, now_ms()))
    BOOST_REQUIRE(r.ok());

  // before the index: full scans
  std::vector<query> before_qs;
  std::vector<std::vector<record_id>> before_rows;
  for (int i = 0; i < 50; ++i) {
    auto q = random_query(rng, "v");
    auto st = check(*s, q);
    BOOST_TEST(!st.used_index);
    BOOST_TEST(st.examined == 400u);
    before_qs.push_back(q);
    before_rows.push_back(ids_of(*s->run(q)));
  }

  // an index created over existing records answers the same
  must(*s, w_index("c", "v"));
  size_t used = 0;
  for (size_t i = 0; i < before_qs.size(); ++i) {
    query_stats st;
    auto rows = s->run(before_qs[i], &st);
    BOOST_REQUIRE(rows.ok());
    BOOST_TEST(ids_of(*rows) == before_rows[i], describe(before_qs[i]));
    if (!can_match_a_missing_field(before_qs[i])) {
      BOOST_TEST(st.used_index, describe(before_qs[i]));
      BOOST_TEST(st.index_field == "v");
    }
    used += st.used_index;
  }
  BOOST_TEST(used > 0u);
  for (int i = 0; i < 300; ++i) {
    auto q = random_query(rng, "v");
    auto st = check(*s, q);
    if (!can_match_a_missing_field(q))
      BOOST_TEST(st.used_index, describe(q));
  }

  // maintained under updates, deletes, resurrections, kind clashes
  for (int round = 0; round < 15; ++round) {
    std::vector<blaze::write> mut;
    for (int k = 0; k < 40; ++k) {
      auto id = rec(rng() % 420);
      switch (rng() % 8) {
        case 0: mut.push_back(w_set("c", id, "v", random_value(rng))); break;
        case 1: mut.push_back(w_update("c", id, {{"v", random_value(rng)}, {"w", int64_t(rng() % 10)}})); break;
        case 2: mut.push_back(w_erase("c", id)); break;
        case 3: mut.push_back(w_insert("c", id, {{"v", random_value(rng)}})); break;  // new or resurrected
        case 4: mut.push_back(w_insert("c", id, {{"w", int64_t(rng() % 10)}})); break;  // resurrected without v
        case 5: mut.push_back(w_inc("c", id, "v", 1)); break;
        case 6: mut.push_back(w_add("c", id, "v", int64_t(rng() % 3))); break;
        default: mut.push_back(w_set("c", id, "w", random_value(rng, false))); break;
      }
    }
    s->write_local(mut, now_ms());
    for (int i = 0; i < 40; ++i) {
      auto q = random_query(rng, "v");
      auto st = check(*s, q);
      if (!can_match_a_missing_field(q))
        BOOST_TEST(st.used_index, describe(q));
    }
  }

  // dropped: full scans again, same answers
  must(*s, w_index("c", "v", false));
  for (int i = 0; i < 50; ++i) {
    auto q = random_query(rng, "v");
    auto st = check(*s, q);
    BOOST_TEST(!st.used_index);
  }
  BOOST_TEST(must_digest(*s) == replica_of(*s).digest());
}

BOOST_AUTO_TEST_CASE(index_follows_updates_deletes_and_resurrection) {
  temp_dir tmp;
  auto s = open_store(tmp / "db", me);
  for (uint64_t i = 0; i < 100; ++i)
    must(*s, w_insert("c", rec(i), {{"v", int64_t(i)}, {"s", "n" + std::to_string(i % 10)}}));
  must(*s, w_index("c", "v"));
  auto eq = [&](value v) {
    query q;
    q.collection = "c";
    q.where = {{"v", cmp::eq, std::move(v)}};
    query_stats st;
    auto rows = *s->run(q, &st);
    BOOST_TEST(st.used_index);
    BOOST_TEST(st.examined == rows.size());  // the index leads to exactly the matches
    return ids_of(rows);
  };
  using ids = std::vector<record_id>;
  BOOST_TEST(eq(7) == ids{rec(7)});
  BOOST_TEST(eq(7.0) == ids{rec(7)});  // 7 and 7.0 are equal in queries
  must(*s, w_set("c", rec(7), "v", 1000));
  BOOST_TEST(eq(7).empty());
  BOOST_TEST(eq(1000) == ids{rec(7)});
  must(*s, w_update("c", rec(8), {{"v", 1000}}));
  BOOST_TEST(eq(1000) == (ids{rec(7), rec(8)}));
  must(*s, w_erase("c", rec(7)));
  BOOST_TEST(eq(1000) == ids{rec(8)});
  must(*s, w_insert("c", rec(7), {{"other", 1}}));  // resurrected: v stays deleted
  BOOST_TEST(eq(1000) == ids{rec(8)});
  BOOST_TEST(must_get(*s, "c", rec(7)) == (value_map{{"other", 1}}));
  must(*s, w_set("c", rec(7), "v", 1000));
  BOOST_TEST(eq(1000) == (ids{rec(7), rec(8)}));
  must(*s, w_set("c", rec(9), "v", nullptr));  // null is a value, and indexed
  BOOST_TEST(eq(9).empty());
  // new records after the index exists
  must(*s, w_insert("c", rec(500), {{"v", 1000}}));
  BOOST_TEST(eq(1000) == (ids{rec(7), rec(8), rec(500)}));
  // several changes to one record inside one group
  std::vector<blaze::write> g = {w_set("c", rec(10), "v", 2000), w_set("c", rec(10), "v", 3000), w_erase("c", rec(11)),
                          w_insert("c", rec(11), {{"v", 3000}})};
  for (auto& r : s->write_local(g, now_ms()))
    BOOST_REQUIRE(r.ok());
  BOOST_TEST(eq(2000).empty());
  BOOST_TEST(eq(3000) == (ids{rec(10), rec(11)}));
  BOOST_TEST(eq(10).empty());
  BOOST_TEST(eq(11).empty());

  // ranges
  query q;
  q.collection = "c";
  q.where = {{"v", cmp::lt, 5}};
  auto st = check(*s, q);
  BOOST_TEST(st.used_index);
  BOOST_TEST(ids_of(*s->run(q)) == (ids{rec(0), rec(1), rec(2), rec(3), rec(4)}));
  q.where = {{"v", cmp::ge, 99}, {"s", cmp::eq, "n9"}};
  st = check(*s, q);
  BOOST_TEST(st.used_index);
  BOOST_TEST(ids_of(*s->run(q)) == ids{rec(99)});
  q.where = {{"s", cmp::eq, "n3"}, {"v", cmp::in, value_array{3, 13, 14, "x"}}};  // index on the second predicate
  st = check(*s, q);
  BOOST_TEST(st.used_index);
  BOOST_TEST(st.index_field == "v");
  BOOST_TEST(ids_of(*s->run(q)) == (ids{rec(3), rec(13)}));

  // an index created and dropped in one group, then created again
  std::vector<blaze::write> cd = {w_index("c", "s"), w_set("c", rec(3), "s", "moved"), w_index("c", "s", false)};
  for (auto& r : s->write_local(cd, now_ms()))
    BOOST_REQUIRE(r.ok());
  BOOST_TEST(!s->indexes().at({"c", "s"}).active());
  must(*s, w_set("c", rec(4), "s", "moved"));
  must(*s, w_index("c", "s"));
  q.where = {{"s", cmp::eq, "moved"}};
  st = check(*s, q);
  BOOST_TEST(st.used_index);
  BOOST_TEST(st.index_field == "s");
  BOOST_TEST(ids_of(*s->run(q)) == (ids{rec(3), rec(4)}));
  q.where = {{"s", cmp::eq, "n3"}};
  st = check(*s, q);
  BOOST_TEST(ids_of(*s->run(q)).size() == 9u);  // 13, 23, ..., 93 (3 moved)
  BOOST_TEST(st.examined == 9u);                // no stale entry leads to 3
  q.where = {{"s", cmp::eq, "n4"}};
  st = check(*s, q);
  BOOST_TEST(ids_of(*s->run(q)).size() == 9u);
  BOOST_TEST(st.examined == 9u);  // 4 moved while no index existed

  // changes and a drop in one group (as group commit gathers them from
  // different callers): no entry of the dropped index survives
  std::vector<blaze::write> gd = {w_set("c", rec(20), "v", 5000), w_index("c", "v", false)};
  for (auto& r : s->write_local(gd, now_ms()))
    BOOST_REQUIRE(r.ok());
  must(*s, w_set("c", rec(20), "v", 6000));  // while no index exists
  must(*s, w_index("c", "v"));
  BOOST_TEST(eq(5000).empty());
  BOOST_TEST(eq(6000) == ids{rec(20)});
  BOOST_TEST(eq(20).empty());
}

BOOST_AUTO_TEST_CASE(indexes_on_counter_and_set_fields) {
  temp_dir tmp;
  auto s = open_store(tmp / "db", me);
  for (uint64_t i = 0; i < 20; ++i) {
    must(*s, w_insert("c", rec(i), {{"title", "t"}}));
    must(*s, w_inc("c", rec(i), "votes", int64_t(i % 5)));
    must(*s, w_add("c", rec(i), "tags", int64_t(i % 3)));
  }
  must(*s, w_index("c", "votes"));
  must(*s, w_index("c", "tags"));
  query q;
  q.collection = "c";
  q.where = {{"votes", cmp::eq, 3}};
  auto st = check(*s, q);
  BOOST_TEST(st.used_index);
  BOOST_TEST(ids_of(*s->run(q)).size() == 4u);
  must(*s, w_inc("c", rec(3), "votes", 1));
  BOOST_TEST(ids_of(*s->run(q)).size() == 3u);
  check(*s, q);
  q.where = {{"tags", cmp::eq, value_array{2}}};
  st = check(*s, q);
  BOOST_TEST(st.used_index);
  BOOST_TEST(ids_of(*s->run(q)).size() == 6u);
  must(*s, w_add("c", rec(2), "tags", 7));
  must(*s, w_remove("c", rec(5), "tags", 2));
  q.where = {{"tags", cmp::gt, value_array{}}};
  check(*s, q);
  q.where = {{"tags", cmp::eq, value_array{2}}};
  BOOST_TEST(ids_of(*s->run(q)).size() == 4u);
  check(*s, q);
}

BOOST_AUTO_TEST_CASE(order_by_and_limit_with_and_without_an_index) {
  temp_dir tmp;
  auto s = open_store(tmp / "db", me);
  std::mt19937_64 rng(5);
  for (uint64_t i = 0; i < 200; ++i)
    must(*s, w_insert("c", rec(i), {{"prio", int64_t(rng() % 5)}, {"age", int64_t(rng() % 100)}}));
  for (bool indexed : {false, true}) {
    if (indexed)
      must(*s, w_index("c", "prio"));
    query q;
    q.collection = "c";
    q.where = {{"prio", cmp::ge, 2}};
    q.order_by = "age";
    q.descending = true;
    q.limit = 7;
    auto st = check(*s, q);
    BOOST_TEST(st.used_index == indexed);
    auto rows = *s->run(q);
    BOOST_REQUIRE_EQUAL(rows.size(), 7u);
    for (size_t i = 1; i < rows.size(); ++i) {
      BOOST_TEST(compare(rows[i - 1].doc["age"], rows[i].doc["age"]) >= 0);
      if (rows[i - 1].doc["age"] == rows[i].doc["age"])
        BOOST_TEST(rows[i].id < rows[i - 1].id);  // ties by id, descending
    }
    for (auto& r : rows)
      BOOST_TEST(compare(r.doc["prio"], value(2)) >= 0);
    q.descending = false;
    q.limit = 1000;
    check(*s, q);
    q.order_by.clear();
    q.limit = 3;
    rows = *s->run(q);
    check(*s, q);
    BOOST_REQUIRE_EQUAL(rows.size(), 3u);
    BOOST_TEST(rows[0].id < rows[1].id);
  }
}

BOOST_AUTO_TEST_CASE(index_operations_replicate) {
  temp_dir tmp;
  auto a = open_store(tmp / "a", node(0xa));
  auto b = open_store(tmp / "b", node(0xb));
  for (uint64_t i = 0; i < 50; ++i)
    must(*a, w_insert("c", rec(i), {{"v", int64_t(i % 7)}}));
  sync(*a, *b);
  must(*a, w_index("c", "v"));
  for (uint64_t i = 50; i < 60; ++i)
    must(*a, w_insert("c", rec(i), {{"v", 3}}));
  sync(*a, *b);  // index creation and later records in one batch
  BOOST_TEST(b->indexes().at({"c", "v"}).active());
  query q;
  q.collection = "c";
  q.where = {{"v", cmp::eq, 3}};
  auto st = check(*b, q);
  BOOST_TEST(st.used_index);
  BOOST_TEST(b->run(q)->size() == 7u + 10u);
  // concurrent drop (a) and re-create (b): the later timestamp wins everywhere
  uint64_t t = now_ms();
  must(*a, w_index("c", "v", false), t + 1);
  must(*b, w_index("c", "v", true), t + 2);
  must(*b, w_set("c", rec(0), "v", 3), t + 2);
  sync(*a, *b);
  sync(*b, *a);
  BOOST_TEST(a->indexes().at({"c", "v"}).active());
  BOOST_TEST(b->indexes().at({"c", "v"}).active());
  BOOST_TEST(must_digest(*a) == must_digest(*b));
  for (auto* x : {a.get(), b.get()}) {
    st = check(*x, q);
    BOOST_TEST(st.used_index);
    BOOST_TEST(x->run(q)->size() == 18u);
  }
}
