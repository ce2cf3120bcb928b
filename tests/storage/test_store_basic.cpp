// storage: open/create, every local write kind and what get() reads back,
// persistence across reopen, group atomicity, bad input, corrupt records,
// double open, shared environments.
#define BOOST_TEST_MODULE storage
#include "store_test_util.hpp"

#include "core/keys.hpp"

#include <rocksdb/db.h>
#include <fstream>
#include <rocksdb/options.h>

using namespace blaze;
using namespace blaze::test;

namespace {

const node_id me = node(1);
const node_id peer = node(2);

} // namespace

BOOST_AUTO_TEST_CASE(open_creates_an_empty_store_and_reopens_it) {
  temp_dir tmp;
  auto dir = tmp / "db";
  {
    auto s = open_store(dir, me);
    BOOST_TEST(std::filesystem::exists(dir / "CURRENT"));
    BOOST_TEST(s->versions().entries().empty());
    BOOST_TEST(s->clock() == 0u);
    BOOST_TEST(s->indexes().empty());
    BOOST_TEST(s->collections()->empty());
    BOOST_TEST(*s->count_records() == 0u);
    BOOST_TEST(s->conflicts()->empty());
    BOOST_TEST(s->self() == me);
    BOOST_TEST(s->path() == dir);
    BOOST_TEST(must_digest(*s) == replica{}.digest());
    auto g = s->get("c", rec(1));
    BOOST_TEST(g.error().code == errc::unknown_record);
    BOOST_TEST(!s->state("c", rec(1))->has_value());
  }
  auto s = open_store(dir, me);
  BOOST_TEST(s->versions().entries().empty());
}

BOOST_AUTO_TEST_CASE(every_write_kind_and_what_get_reads) {
  temp_dir tmp;
  auto s = open_store(tmp / "db", me);
  std::vector<change> feed;
  auto one = [&](blaze::write w) {
    std::vector<blaze::write> ws{std::move(w)};
    auto r = s->write_local(ws, now_ms(), &feed);
    BOOST_REQUIRE(r[0].ok());
    return *r[0];
  };

  auto op = one(w_insert("bugs", rec(1), {{"title", "crash"}, {"priority", 2}, {"ratio", 0.5}}));
  BOOST_TEST(op.id == (dot{me, 1}));
  BOOST_TEST(op.collection == "bugs");
  BOOST_TEST(op.record == rec(1));
  BOOST_TEST(op.counter > 0u);
  BOOST_TEST(must_get(*s, "bugs", rec(1)) == (value_map{{"title", "crash"}, {"priority", 2}, {"ratio", 0.5}}));
  BOOST_REQUIRE_EQUAL(feed.size(), 1u);
  BOOST_TEST(feed[0].collection == "bugs");
  BOOST_TEST(feed[0].id == rec(1));
  BOOST_TEST(!feed[0].deleted);
  BOOST_TEST(feed[0].by == op.id);
  BOOST_TEST(feed[0].doc == must_get(*s, "bugs", rec(1)));

  // update changes the named fields only
  one(w_update("bugs", rec(1), {{"title", "hang"}, {"owner", "ann"}}));
  BOOST_TEST(must_get(*s, "bugs", rec(1)) ==
             (value_map{{"title", "hang"}, {"priority", 2}, {"ratio", 0.5}, {"owner", "ann"}}));

  // set of every value kind
  value_map all_kinds{{"null", nullptr},
                      {"bool", true},
                      {"int", int64_t{-7}},
                      {"double", 2.25},
                      {"string", "héllo"},
                      {"bytes", bytes{std::string("\0\1\2", 3)}},
                      {"time", time_point{1'700'000'000'000'000}},
                      {"uuid", uuid{{1, 2}}},
                      {"array", value_array{1, "two", 3.0}},
                      {"map", value_map{{"k", "v"}, {"n", 1}}}};
  for (auto& [f, v] : all_kinds)
    one(w_set("bugs", rec(1), f, v));
  auto doc = must_get(*s, "bugs", rec(1));
  for (auto& [f, v] : all_kinds) {
    BOOST_REQUIRE(doc.count(f));
    BOOST_TEST(doc[f] == v);
    BOOST_TEST(doc[f].type() == v.type());
  }

  // counters
  one(w_inc("bugs", rec(1), "votes", 5));
  one(w_inc("bugs", rec(1), "votes", -2));
  one(w_inc("bugs", rec(1), "votes", 10));
  BOOST_TEST(must_get(*s, "bugs", rec(1))["votes"] == value(int64_t{13}));

  // observed-remove set
  one(w_add("bugs", rec(1), "tags", "ui"));
  one(w_add("bugs", rec(1), "tags", "crash"));
  one(w_add("bugs", rec(1), "tags", "ui"));  // a second tag for the same element
  BOOST_TEST(must_get(*s, "bugs", rec(1))["tags"] == value(value_array{"crash", "ui"}));
  one(w_remove("bugs", rec(1), "tags", "ui"));  // removes every observed tag
  BOOST_TEST(must_get(*s, "bugs", rec(1))["tags"] == value(value_array{"crash"}));
  one(w_remove("bugs", rec(1), "tags", "absent"));
  BOOST_TEST(must_get(*s, "bugs", rec(1))["tags"] == value(value_array{"crash"}));

  // writes that need a live record
  for (auto w : {w_update("bugs", rec(9), {{"a", 1}}), w_set("bugs", rec(9), "a", 1), w_inc("bugs", rec(9), "a", 1),
                 w_add("bugs", rec(9), "a", 1), w_remove("bugs", rec(9), "a", 1), w_erase("bugs", rec(9))}) {
    auto st = must_fail(*s, w);
    BOOST_TEST(st.code == errc::unknown_record);
    BOOST_TEST(st.message.find(rec(9).to_hex()) != std::string::npos);
    BOOST_TEST(st.message.find("bugs") != std::string::npos);
  }
  auto seq_before = s->versions().get(me);

  // delete: a tombstone
  feed.clear();
  auto del = one(w_erase("bugs", rec(1)));
  BOOST_TEST(del.id.seq == seq_before + 1);
  BOOST_TEST(s->get("bugs", rec(1)).error().code == errc::unknown_record);
  BOOST_TEST(s->state("bugs", rec(1))->has_value());
  BOOST_TEST(*s->count_records() == 0u);
  BOOST_TEST(*s->count_records(false) == 1u);
  BOOST_REQUIRE_EQUAL(feed.size(), 1u);
  BOOST_TEST(feed[0].deleted);
  BOOST_TEST(feed[0].doc.empty());
  BOOST_TEST(s->get("bugs", rec(1)).error().message.find(rec(1).to_hex()) != std::string::npos);

  // resurrection: the new write is visible, fields written before the delete stay deleted
  one(w_insert("bugs", rec(1), {{"title", "again"}}));
  BOOST_TEST(must_get(*s, "bugs", rec(1)) == (value_map{{"title", "again"}}));
  one(w_inc("bugs", rec(1), "votes", 1));
  BOOST_TEST(must_get(*s, "bugs", rec(1))["votes"] == value(int64_t{1}));  // the delete cancelled 13

  // index declarations
  one(w_index("bugs", "title"));
  BOOST_TEST(s->indexes().at({"bugs", "title"}).active());
  one(w_index("bugs", "title", false));
  BOOST_TEST(!s->indexes().at({"bugs", "title"}).active());

  // the version vector counts exactly the successful writes; the clock moved
  auto ops = all_ops(*s);
  BOOST_TEST(s->versions().get(me) == ops.size());
  for (size_t i = 0; i < ops.size(); ++i)
    BOOST_TEST(ops[i].id == (dot{me, i + 1}));
  BOOST_TEST(s->clock() == ops.back().counter);
  BOOST_TEST(*s->collections() == std::vector<std::string>{"bugs"});
  BOOST_TEST(must_digest(*s) == replica_of(*s).digest());
  for (auto& o : ops) {
    auto b = s->operation_bytes(o.id);
    BOOST_REQUIRE(b.ok() && b->has_value());
    BOOST_TEST(**b == encode(o));
  }
  BOOST_TEST(!s->operation_bytes({me, ops.size() + 1})->has_value());
}

BOOST_AUTO_TEST_CASE(local_clock_is_monotonic_even_when_wall_time_goes_back) {
  temp_dir tmp;
  auto s = open_store(tmp / "db", me);
  auto a = must(*s, w_insert("c", rec(1), {{"x", 1}}), 2'000'000);
  auto b = must(*s, w_set("c", rec(1), "x", 2), 1'000'000);  // wall clock went back
  auto c = must(*s, w_set("c", rec(1), "x", 3), 1'000'000);
  BOOST_TEST(b.counter > a.counter);
  BOOST_TEST(c.counter > b.counter);
  BOOST_TEST(must_get(*s, "c", rec(1))["x"] == value(3));
}

BOOST_AUTO_TEST_CASE(group_with_failing_writes_commits_the_others_without_gaps) {
  temp_dir tmp;
  auto s = open_store(tmp / "db", me);
  must(*s, w_insert("c", rec(1), {{"n", 1}}));
  auto digest_before = must_digest(*s);
  std::vector<blaze::write> ws = {
    w_insert("c", rec(2), {{"n", 2}}),          // ok
    w_insert("c", rec(3), {{"", 3}}),            // empty field name
    w_set("c", rec(404), "n", 1),                // unknown record
    w_update("c", rec(1), {}),                   // update with no fields
    w_set("c", rec(2), "n", 22),                 // ok, sees the insert earlier in the group
    w_inc("", rec(1), "n", 1),                   // empty collection name
    w_erase("c", rec(1)),                        // ok
    w_set("c", rec(1), "n", 5),                  // deleted earlier in the group
    w_insert("c", rec(4), {{"n", 4}}),           // ok
  };
  auto r = s->write_local(ws, now_ms());
  BOOST_REQUIRE_EQUAL(r.size(), ws.size());
  std::vector<bool> ok;
  for (auto& x : r)
    ok.push_back(x.ok());
  BOOST_TEST(ok == (std::vector<bool>{true, false, false, false, true, false, true, false, true}));
  BOOST_TEST(r[1].error().code == errc::invalid_argument);
  BOOST_TEST(r[2].error().code == errc::unknown_record);
  BOOST_TEST(r[3].error().code == errc::invalid_argument);
  BOOST_TEST(r[5].error().code == errc::invalid_argument);
  BOOST_TEST(r[7].error().code == errc::unknown_record);
  // failed writes consume no sequence number: 2, 3, 4, 5 are contiguous
  BOOST_TEST(r[0]->id.seq == 2u);
  BOOST_TEST(r[4]->id.seq == 3u);
  BOOST_TEST(r[6]->id.seq == 4u);
  BOOST_TEST(r[8]->id.seq == 5u);
  BOOST_TEST(r[0]->counter < r[4]->counter);
  BOOST_TEST(r[6]->counter < r[8]->counter);
  BOOST_TEST(s->versions().get(me) == 5u);  // 1 before + 4 successes
  BOOST_TEST(must_digest(*s) != digest_before);
  BOOST_TEST(must_get(*s, "c", rec(2)) == (value_map{{"n", 22}}));
  BOOST_TEST(must_get(*s, "c", rec(4)) == (value_map{{"n", 4}}));
  BOOST_TEST(s->get("c", rec(1)).error().code == errc::unknown_record);
  BOOST_TEST(s->get("c", rec(3)).error().code == errc::unknown_record);
  BOOST_TEST(must_digest(*s) == replica_of(*s).digest());

  // a group of only failures changes nothing at all
  auto d = must_digest(*s);
  auto clk = s->clock();
  std::vector<blaze::write> bad = {w_set("c", rec(404), "n", 1), w_insert("c", rec(5), {{"", 1}})};
  auto rb = s->write_local(bad, now_ms());
  BOOST_TEST(!rb[0].ok());
  BOOST_TEST(!rb[1].ok());
  BOOST_TEST(s->versions().get(me) == 5u);
  BOOST_TEST(s->clock() == clk);
  BOOST_TEST(must_digest(*s) == d);

  // a large group: the version vector advances by exactly the successful count
  std::vector<blaze::write> big;
  size_t expected_ok = 0;
  for (uint64_t i = 0; i < 500; ++i) {
    if (i % 7 == 3) {
      big.push_back(w_set("c", rec(100000 + i), "n", 1));  // unknown
    } else if (i % 11 == 5) {
      big.push_back(w_insert("c", rec(100 + i), {{std::string(300, 'x'), 1}}));  // name too long
    } else {
      big.push_back(w_insert("c", rec(100 + i), {{"n", int64_t(i)}}));
      ++expected_ok;
    }
  }
  auto rbig = s->write_local(big, now_ms());
  size_t n_ok = 0;
  uint64_t next = 6;
  for (auto& x : rbig)
    if (x) {
      ++n_ok;
      BOOST_TEST(x->id.seq == next++);
    }
  BOOST_TEST(n_ok == expected_ok);
  BOOST_TEST(s->versions().get(me) == 5u + expected_ok);
  BOOST_TEST(all_ops(*s).size() == 5u + expected_ok);
}

BOOST_AUTO_TEST_CASE(everything_survives_close_and_reopen) {
  temp_dir tmp;
  auto dir = tmp / "db";
  version_vector vv;
  uint64_t clock = 0, digest = 0;
  std::map<std::pair<std::string, std::string>, index_state> indexes;
  std::vector<conflict> conflicts;
  std::vector<row> indexed_rows;
  {
    auto a = open_store(dir, me);
    auto b = open_store(tmp / "peer", peer);
    must(*a, w_insert("bugs", rec(1), {{"title", "t"}, {"prio", 1}}));
    must(*a, w_insert("bugs", rec(2), {{"title", "u"}, {"prio", 2}}));
    must(*a, w_inc("bugs", rec(1), "votes", 3));
    must(*a, w_add("bugs", rec(1), "tags", "x"));
    must(*a, w_index("bugs", "prio"));
    must(*a, w_index("bugs", "title"));
    must(*a, w_index("bugs", "title", false));
    must(*a, w_insert("users", rec(3), {{"name", "ann"}}));
    must(*a, w_erase("users", rec(3)));
    sync(*a, *b);
    // concurrent sets of one field: a conflict
    must(*a, w_set("bugs", rec(2), "title", "from-a"));
    must(*b, w_set("bugs", rec(2), "title", "from-b"));
    sync(*b, *a);
    sync(*a, *b);
    BOOST_REQUIRE(!a->conflicts()->empty());
    vv = a->versions();
    clock = a->clock();
    digest = must_digest(*a);
    indexes = a->indexes();
    conflicts = *a->conflicts();
    query q;
    q.collection = "bugs";
    q.where.push_back({"prio", cmp::ge, 1});
    query_stats qs;
    indexed_rows = *a->run(q, &qs);
    BOOST_TEST(qs.used_index);
    BOOST_TEST(vv.get(me) == 10u);
    BOOST_TEST(vv.get(peer) == 1u);
  }
  auto a = open_store(dir, me);
  BOOST_TEST(a->versions() == vv);
  BOOST_TEST(a->clock() == clock);
  BOOST_TEST(must_digest(*a) == digest);
  BOOST_TEST(a->indexes().size() == indexes.size());
  for (auto& [k, is] : indexes) {
    BOOST_REQUIRE(a->indexes().count(k));
    BOOST_TEST(a->indexes().at(k).created == is.created);
    BOOST_TEST(a->indexes().at(k).dropped == is.dropped);
  }
  auto cs = *a->conflicts();
  BOOST_REQUIRE_EQUAL(cs.size(), conflicts.size());
  for (size_t i = 0; i < cs.size(); ++i) {
    BOOST_TEST(cs[i].field == conflicts[i].field);
    BOOST_TEST(cs[i].winner == conflicts[i].winner);
    BOOST_TEST(cs[i].loser == conflicts[i].loser);
    BOOST_TEST(cs[i].winner_ts == conflicts[i].winner_ts);
  }
  BOOST_TEST(must_get(*a, "bugs", rec(1)) ==
             (value_map{{"title", "t"}, {"prio", 1}, {"votes", int64_t{3}}, {"tags", value_array{"x"}}}));
  BOOST_TEST(a->get("users", rec(3)).error().code == errc::unknown_record);
  BOOST_TEST(must_digest(*a) == replica_of(*a).digest());
  query q;
  q.collection = "bugs";
  q.where.push_back({"prio", cmp::ge, 1});
  query_stats qs;
  auto rows = *a->run(q, &qs);
  BOOST_TEST(qs.used_index);
  BOOST_TEST(ids_of(rows) == ids_of(indexed_rows));
  // numbering and the clock continue where they stopped, even with an old wall clock
  auto op = must(*a, w_set("bugs", rec(1), "prio", 5), 1);
  BOOST_TEST(op.id.seq == vv.get(me) + 1);
  BOOST_TEST(op.counter > clock);
  // the index is maintained after reopen
  q.where = {{"prio", cmp::eq, 5}};
  rows = *a->run(q, &qs);
  BOOST_TEST(qs.used_index);
  BOOST_TEST(ids_of(rows) == std::vector<record_id>{rec(1)});
}

BOOST_AUTO_TEST_CASE(clear_conflicts_by_record_and_by_collection) {
  temp_dir tmp;
  auto a = open_store(tmp / "a", me);
  auto b = open_store(tmp / "b", peer);
  for (uint64_t i = 1; i <= 3; ++i)
    must(*a, w_insert("c", rec(i), {{"f", 0}}));
  must(*a, w_insert("d", rec(1), {{"f", 0}}));
  sync(*a, *b);
  for (uint64_t i = 1; i <= 3; ++i) {
    must(*a, w_set("c", rec(i), "f", 1));
    must(*b, w_set("c", rec(i), "f", 2));
  }
  must(*a, w_set("d", rec(1), "f", 1));
  must(*b, w_set("d", rec(1), "f", 2));
  sync(*b, *a);
  BOOST_REQUIRE_EQUAL(a->conflicts()->size(), 4u);
  auto d = must_digest(*a);
  auto r1 = rec(1);
  BOOST_TEST(a->clear_conflicts("c", &r1).ok());
  BOOST_TEST(a->conflicts()->size() == 3u);
  BOOST_TEST(a->clear_conflicts("c", nullptr).ok());
  auto left = *a->conflicts();
  BOOST_REQUIRE_EQUAL(left.size(), 1u);
  BOOST_TEST(left[0].collection == "d");
  BOOST_TEST(must_digest(*a) == d);  // conflicts are not replicated state
}

BOOST_AUTO_TEST_CASE(durability_is_stored_with_the_database) {
  temp_dir tmp;
  store_options o;
  o.mode = durability::sync;
  {
    auto s = open_store(tmp / "db", me, o);
    BOOST_TEST((s->mode() == durability::sync));
    must(*s, w_insert("c", rec(1), {{"a", 1}}));
  }
  {
    // Reopened with another default: the stored mode wins.
    auto s = open_store(tmp / "db", me, store_options{});
    BOOST_TEST((s->mode() == durability::sync));
    BOOST_TEST(s->set_durability(durability::buffered).ok());
    BOOST_TEST((s->mode() == durability::buffered));
    must(*s, w_insert("c", rec(2), {{"a", 2}}));
  }
  auto s = open_store(tmp / "db", me, o);
  BOOST_TEST((s->mode() == durability::buffered));
  BOOST_TEST(must_get(*s, "c", rec(2)) == (value_map{{"a", 2}}));
}

BOOST_AUTO_TEST_CASE(writes_cannot_grow_a_record_past_the_record_limit) {
  temp_dir tmp;
  store_options o;
  o.lim.max_record = 128;
  auto s = open_store(tmp / "db", me, o);
  must(*s, w_insert("c", rec(1), {{"a", 1}}));                    // 9 bytes
  must(*s, w_set("c", rec(1), "b", std::string(50, 'x')));        // 68
  must(*s, w_set("c", rec(1), "c", std::string(50, 'y')));        // 127
  auto d = must_digest(*s);
  auto vv = s->versions();
  auto st = must_fail(*s, w_set("c", rec(1), "d", std::string(50, 'z')));  // would be 186
  BOOST_TEST(st.code == errc::too_large);
  BOOST_TEST(st.message.find("over the maximum of 128") != std::string::npos, st.message);
  st = must_fail(*s, w_update("c", rec(1), {{"e", std::string(50, 'z')}}));
  BOOST_TEST(st.code == errc::too_large);
  BOOST_TEST(must_digest(*s) == d);
  BOOST_TEST(s->versions() == vv);
  // Replacing a value by a smaller one is fine.
  must(*s, w_set("c", rec(1), "b", "short"));
}

BOOST_AUTO_TEST_CASE(bad_input_gives_clear_statuses_and_changes_nothing) {
  temp_dir tmp;
  store_options o;
  o.lim.max_field_name = 8;
  o.lim.max_collection_name = 8;
  o.lim.max_value = 64;
  o.lim.max_record = 128;
  auto s = open_store(tmp / "db", me, o);
  must(*s, w_insert("c", rec(1), {{"a", 1}}));
  auto d = must_digest(*s);
  auto vv = s->versions();
  auto clk = s->clock();

  struct bad_case {
    blaze::write w;
    errc code;
    std::string mentions;
  };
  std::string big(100, 'x');
  value_map many;
  for (int i = 0; i < 6; ++i)
    many["f" + std::to_string(i)] = std::string(20, 'y');  // each value fits, the record does not
  std::vector<bad_case> cases = {
    {w_insert("c", rec(2), {{"", 1}}), errc::invalid_argument, "field name is empty"},
    {w_insert("c", rec(2), {{"toolongname", 1}}), errc::too_large, "field name is 11 bytes"},
    {w_insert("", rec(2), {{"a", 1}}), errc::invalid_argument, "collection name is empty"},
    {w_insert("toolongcoll", rec(2), {{"a", 1}}), errc::too_large, "collection name"},
    {w_insert("c", rec(2), {{"a", big}}), errc::too_large, "value of field 'a'"},
    {w_insert("c", rec(2), many), errc::too_large, "record is"},
    {w_update("c", rec(1), {{"b", big}}), errc::too_large, "value of field 'b'"},
    {w_set("c", rec(1), "", 1), errc::invalid_argument, "field name is empty"},
    {w_set("c", rec(1), "a", big), errc::too_large, "maximum of 64"},
    {w_set("c", rec(1), "a", value_array{big}), errc::too_large, "value of field 'a'"},
    {w_add("c", rec(1), "t", big), errc::too_large, "value of field 't'"},
    {w_remove("c", rec(1), "t", big), errc::too_large, "value of field 't'"},
    {w_inc("c", rec(1), "toolongname", 1), errc::too_large, "field name"},
    {w_index("c", ""), errc::invalid_argument, "field name is empty"},
    {w_index("c", "toolongname", false), errc::too_large, "field name"},
  };
  for (auto& bc : cases) {
    auto st = must_fail(*s, bc.w);
    BOOST_TEST(st.code == bc.code, "case '" << bc.mentions << "': " << st.to_string());
    BOOST_TEST(st.message.find(bc.mentions) != std::string::npos, "message: " << st.message);
  }
  BOOST_TEST(must_digest(*s) == d);
  BOOST_TEST(s->versions() == vv);
  BOOST_TEST(s->clock() == clk);
  BOOST_TEST(must_get(*s, "c", rec(1)) == (value_map{{"a", 1}}));

  // the same limits hold for operations from elsewhere
  auto src = open_store(tmp / "src", peer);  // default limits
  must(*src, w_insert("c", rec(7), {{"a", big}}));
  must(*src, w_insert("c", rec(8), {{"toolongname", 1}}));
  auto rep = s->apply_remote(all_ops(*src), now_ms());
  BOOST_TEST(rep.applied == 0u);
  BOOST_REQUIRE_EQUAL(rep.refused.size(), 2u);
  BOOST_TEST(rep.refused[0].second.code == errc::too_large);
  BOOST_TEST(rep.refused[0].first == (dot{peer, 1}));
  // the second is refused too (too large, or out of order behind the first)
  BOOST_TEST(rep.refused[1].first == (dot{peer, 2}));
  BOOST_TEST(must_digest(*s) == d);
  BOOST_TEST(s->versions() == vv);

  // operations without a dot or timestamp
  operation op;
  op.collection = "c";
  op.record = rec(1);
  rep = s->apply_remote({op}, now_ms());
  BOOST_REQUIRE_EQUAL(rep.refused.size(), 1u);
  BOOST_TEST(rep.refused[0].second.code == errc::invalid_argument);
  op.id = {peer, 1};
  rep = s->apply_remote({op}, now_ms());
  BOOST_REQUIRE_EQUAL(rep.refused.size(), 1u);
  BOOST_TEST(rep.refused[0].second.code == errc::invalid_argument);
  BOOST_TEST(must_digest(*s) == d);

  // bad queries
  query q;
  BOOST_TEST(s->run(q).error().code == errc::invalid_argument);
  q.collection = "c";
  q.where.push_back({"", cmp::eq, 1});
  BOOST_TEST(s->run(q).error().code == errc::invalid_argument);
  q.where = {{"a", cmp::in, 1}};
  auto qr = s->run(q);
  BOOST_TEST(qr.error().code == errc::invalid_argument);
  BOOST_TEST(qr.error().message.find("'in' needs an array") != std::string::npos);
}

namespace {

// Overwrites the stored bytes of one existing record (the store must be closed).
void corrupt_record(const std::filesystem::path& dir, const std::string& collection, const record_id& id,
                    const std::string& garbage) {
  with_raw_records(dir, [&](rocksdb::DB& db, rocksdb::ColumnFamilyHandle* records) {
    std::string old;
    BOOST_REQUIRE(db.Get(rocksdb::ReadOptions(), records, keys::record(collection, id), &old).ok());
    BOOST_REQUIRE(db.Put(rocksdb::WriteOptions(), records, keys::record(collection, id), garbage).ok());
  });
}

} // namespace

BOOST_AUTO_TEST_CASE(corrupt_record_bytes_give_corrupt_never_a_crash) {
  std::vector<std::string> garbages = {
    std::string("garbage!"),
    std::string(3, '\xff'),
    std::string(),
    std::string("\x00\x00\x00\x00\x10\x00\x00\x00", 8) + std::string(64, '\xab'),  // a lying segment table
    std::string("\x05\x00\x00\x00", 4) + std::string(40, '\x01'),                  // too many segments
  };
  for (auto& garbage : garbages) {
    temp_dir tmp;
    auto dir = tmp / "db";
    {
      auto s = open_store(dir, me);
      must(*s, w_insert("c", rec(1), {{"v", 1}}));
      must(*s, w_insert("c", rec(2), {{"v", 2}}));
      must(*s, w_index("c", "v"));
    }
    corrupt_record(dir, "c", rec(1), garbage);
    auto s = open_store(dir, me);
    auto g = s->get("c", rec(1));
    BOOST_REQUIRE(!g.ok());
    BOOST_TEST(g.error().code == errc::corrupt);
    BOOST_TEST(g.error().message.find(rec(1).to_hex()) != std::string::npos, g.error().message);
    BOOST_TEST(must_get(*s, "c", rec(2)) == (value_map{{"v", 2}}));  // the others still read
    BOOST_TEST(s->state("c", rec(1)).error().code == errc::corrupt);

    query q;
    q.collection = "c";
    query_stats qs;
    BOOST_TEST(s->run(q, &qs).error().code == errc::corrupt);  // full scan
    BOOST_TEST(!qs.used_index);
    q.where = {{"v", cmp::eq, 1}};
    BOOST_TEST(s->run(q, &qs).error().code == errc::corrupt);  // through the index
    BOOST_TEST(qs.used_index);
    q.where = {{"v", cmp::eq, 2}};
    BOOST_TEST(s->run(q).ok());  // the index never leads to the bad record

    BOOST_TEST(s->digest().error().code == errc::corrupt);
    BOOST_TEST(s->count_records().error().code == errc::corrupt);
    auto vv = s->versions();
    auto r = s->write_local(std::vector<blaze::write>{w_set("c", rec(1), "v", 3)}, now_ms());
    BOOST_TEST(r[0].error().code == errc::corrupt);
    BOOST_TEST(s->versions() == vv);
    // a remote operation on the corrupt record is refused, and the batch with it
    auto src = open_store(tmp / "src", peer);
    must(*src, w_insert("c", rec(1), {{"v", 9}}));
    auto rep = s->apply_remote(all_ops(*src), now_ms());
    BOOST_TEST(rep.applied == 0u);
    BOOST_REQUIRE_EQUAL(rep.refused.size(), 1u);
    BOOST_TEST(rep.refused[0].second.code == errc::corrupt);
    BOOST_TEST(s->versions() == vv);
  }
}

BOOST_AUTO_TEST_CASE(an_interrupted_creation_is_created_again) {
  // A creation leaves the marker BLAZE-CREATING until everything it wrote is
  // durable; a database created completely has none.
  temp_dir tmp;
  auto dir = tmp / "db";
  {
    auto s = open_store(dir, me);
    BOOST_TEST(!std::filesystem::exists(dir / "BLAZE-CREATING"));
    must(*s, w_insert("c", rec(1), {{"v", 1}}));
  }
  {
    auto s = open_store(dir, me);  // an existing database is opened, not created
    BOOST_TEST(must_get(*s, "c", rec(1)) == (value_map{{"v", 1}}));
  }
  // A crash during creation, before the syncs: the marker and whatever
  // RocksDB's files look like (here a CURRENT naming a missing MANIFEST).
  auto broken = tmp / "broken";
  std::filesystem::create_directories(broken);
  { std::ofstream(broken / "BLAZE-CREATING"); }
  { std::ofstream(broken / "CURRENT") << "MANIFEST-000099\n"; }
  { std::ofstream(broken / "IDENTITY") << "x"; }
  { std::ofstream(broken / "not-rocksdb.txt") << "kept"; }
  {
    auto s = open_store(broken, me);
    BOOST_TEST(!std::filesystem::exists(broken / "BLAZE-CREATING"));
    BOOST_TEST(std::filesystem::exists(broken / "not-rocksdb.txt"));
    BOOST_TEST(s->versions().entries().empty());
    must(*s, w_insert("c", rec(2), {{"v", 2}}));
  }
  auto s = open_store(broken, me);
  BOOST_TEST(must_get(*s, "c", rec(2)) == (value_map{{"v", 2}}));
}

BOOST_AUTO_TEST_CASE(opening_one_directory_twice_is_refused_clearly) {
  temp_dir tmp;
  auto dir = tmp / "db";
  auto s = open_store(dir, me);
  must(*s, w_insert("c", rec(1), {{"v", 1}}));
  auto again = store::open(dir, me, {}, nullptr);
  BOOST_REQUIRE(!again.ok());
  auto code = again.error().code;
  BOOST_TEST((code == errc::locked || code == errc::io_error), to_string(code));
  BOOST_TEST(again.error().message.find(dir.string()) != std::string::npos, again.error().message);
  BOOST_TEST(again.error().message.find("already open in this process") != std::string::npos, again.error().message);
  // the first handle is unaffected
  BOOST_TEST(must_get(*s, "c", rec(1)) == (value_map{{"v", 1}}));
  s.reset();
  auto third = store::open(dir, me, {}, nullptr);
  BOOST_TEST(third.ok());
}

BOOST_AUTO_TEST_CASE(a_file_where_the_directory_should_be_is_an_io_error) {
  temp_dir tmp;
  auto f = tmp / "file";
  { std::ofstream(f) << "x"; }
  auto s = store::open(f / "db", me, {}, nullptr);
  BOOST_REQUIRE(!s.ok());
  BOOST_TEST(s.error().code == errc::io_error);
  BOOST_TEST(!s.error().message.empty());
}

BOOST_AUTO_TEST_CASE(stores_sharing_one_environment_both_work) {
  temp_dir tmp;
  environment_options eo;
  eo.block_cache_bytes = 8 << 20;
  eo.write_buffer_bytes = 8 << 20;
  auto env = std::make_shared<storage_environment>(eo);
  auto a = open_store(tmp / "a", me, {}, env);
  auto b = open_store(tmp / "b", me, {}, env);
  for (uint64_t i = 0; i < 2000; ++i) {
    std::vector<blaze::write> ws{w_insert("c", rec(i), {{"i", int64_t(i)}, {"pad", std::string(200, 'p')}})};
    BOOST_REQUIRE(a->write_local(ws, now_ms())[0].ok());
    ws[0].fields["i"] = int64_t(i) * 2;
    BOOST_REQUIRE(b->write_local(ws, now_ms())[0].ok());
  }
  BOOST_TEST(must_get(*a, "c", rec(77))["i"] == value(77));
  BOOST_TEST(must_get(*b, "c", rec(77))["i"] == value(154));
  BOOST_TEST(*a->count_records() == 2000u);
  BOOST_TEST(*b->count_records() == 2000u);
  BOOST_TEST(must_digest(*a) != must_digest(*b));
  BOOST_TEST(env.use_count() >= 3);
  a.reset();  // closing one leaves the other working
  BOOST_TEST(must_get(*b, "c", rec(1999))["i"] == value(int64_t{3998}));
  must(*b, w_set("c", rec(1), "i", 0));
  auto a2 = open_store(tmp / "a", me, {}, env);
  BOOST_TEST(must_get(*a2, "c", rec(1999))["i"] == value(int64_t{1999}));
}
