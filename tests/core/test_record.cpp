// Unit tests: record merge (deletes, resurrection, kind clash, counter
// cancellation), conflict detection, index declarations and the replica.
#include <boost/test/unit_test.hpp>

#include "test_util.hpp"

#include "core/codec.hpp"
#include "core/index_state.hpp"
#include "core/record.hpp"
#include "core/replica.hpp"

#include <algorithm>
#include <numeric>

using namespace blaze;
using namespace blaze::test;

namespace {

const node_id A = node(1), B = node(2), C = node(3);

record_state run(const std::vector<operation>& ops, std::vector<conflict>* conflicts = nullptr) {
  record_state s;
  for (auto& op : ops)
    apply(s, op, conflicts);
  return s;
}

/// Applies `ops` in every order; checks every order reaches the same state
/// (canonical encoding and visible document) and returns it.
record_state run_all_orders(std::vector<operation> ops) {
  std::vector<size_t> idx(ops.size());
  std::iota(idx.begin(), idx.end(), 0);
  record_state first;
  bool have = false;
  do {
    record_state s;
    for (size_t i : idx)
      apply(s, ops[i]);
    if (!have) {
      first = s;
      have = true;
    } else {
      BOOST_TEST(encode(s) == encode(first));
      BOOST_TEST(s.view() == first.view());
      BOOST_TEST(s.alive() == first.alive());
    }
  } while (std::next_permutation(idx.begin(), idx.end()));
  return first;
}

operation set_op(node_id o, uint64_t seq, uint64_t counter, std::string f, value v, timestamp base = {}) {
  auto op = upsert(o, seq, counter);
  with_set(op, std::move(f), std::move(v), base);
  return op;
}

operation inc_op(node_id o, uint64_t seq, uint64_t counter, std::string f, int64_t delta) {
  auto op = upsert(o, seq, counter);
  with_increment(op, std::move(f), delta);
  return op;
}

} // namespace

BOOST_AUTO_TEST_SUITE(record_merge)

BOOST_AUTO_TEST_CASE(fresh_and_written) {
  record_state s;
  BOOST_TEST(!s.alive());
  BOOST_TEST(s.view().empty());
  auto op = upsert(A, 1, 10);
  with_set(op, "name", value{"ann"});
  with_set(op, "age", value{30});
  apply(s, op);
  BOOST_TEST(s.alive());
  BOOST_TEST(s.last_write == (timestamp{10, A}));
  BOOST_TEST(s.view() == (value_map{{"name", value{"ann"}}, {"age", value{30}}}));
  BOOST_TEST(*s.field("age") == value{30});
  BOOST_TEST(!s.field("missing").has_value());
  BOOST_TEST(s.fields.at("name").kind() == field_kind::lww);
  // an empty upsert still creates a (live, empty) record
  record_state e;
  apply(e, upsert(A, 1, 10));
  BOOST_TEST(e.alive());
  BOOST_TEST(e.view().empty());
}

BOOST_AUTO_TEST_CASE(later_set_wins_in_any_order) {
  auto s = run_all_orders({set_op(A, 1, 10, "x", value{1}), set_op(B, 1, 20, "x", value{2}),
                           set_op(C, 1, 15, "x", value{3})});
  BOOST_TEST(*s.field("x") == value{2});
}

BOOST_AUTO_TEST_CASE(delete_tombstones) {
  auto s = run_all_orders({set_op(A, 1, 10, "x", value{1}), remove_record(A, 2, 20)});
  BOOST_TEST(!s.alive());
  BOOST_TEST(s.view().empty());
  BOOST_TEST(!s.field("x").has_value());
  BOOST_TEST(s.deleted_at == (timestamp{20, A}));
  // a delete that is older than the write does not delete it
  auto t = run_all_orders({set_op(A, 1, 30, "x", value{1}), remove_record(B, 1, 20)});
  BOOST_TEST(t.alive());
  BOOST_TEST(*t.field("x") == value{1});
}

BOOST_AUTO_TEST_CASE(resurrection_keeps_fields_written_before_the_delete_deleted) {
  auto insert = upsert(A, 1, 10);
  with_set(insert, "x", value{1});
  with_set(insert, "y", value{2});
  auto inc = inc_op(A, 2, 11, "n", 5);
  auto add = upsert(A, 3, 12);
  with_add(add, "tags", value{"t"});
  auto del = remove_record(B, 1, 20, {{"n", A, 5, 0}});
  auto later = set_op(C, 1, 30, "y", value{22});
  auto s = run_all_orders({insert, inc, add, del, later});
  BOOST_TEST(s.alive());
  // only y was written after the delete
  BOOST_TEST(s.view() == (value_map{{"y", value{22}}}));
  BOOST_TEST(!s.field("x").has_value());
  BOOST_TEST(!s.field("n").has_value());
  BOOST_TEST(!s.field("tags").has_value());
  // writing a field again after the delete brings only the new write back
  auto add2 = upsert(C, 2, 31);
  with_add(add2, "tags", value{"u"});
  auto inc2 = inc_op(C, 3, 32, "n", 2);
  auto t = run_all_orders({insert, inc, add, del, later, add2, inc2});
  BOOST_TEST(t.view() == (value_map{{"y", value{22}},
                                    {"tags", value{value_array{value{"u"}}}},
                                    {"n", value{2}}}));
}

BOOST_AUTO_TEST_CASE(delete_racing_a_concurrent_update) {
  auto insert = upsert(A, 1, 10);
  with_set(insert, "x", value{1});
  with_set(insert, "y", value{2});
  // B updates x without having seen the delete; C deletes having seen the insert.
  // The update is older than the delete: the record stays deleted.
  {
    auto update = set_op(B, 1, 20, "x", value{11}, timestamp{10, A});
    auto del = remove_record(C, 1, 25);
    auto s = run_all_orders({insert, update, del});
    BOOST_TEST(!s.alive());
    BOOST_TEST(s.view().empty());
  }
  // The update is newer than the delete: the record comes back with only x.
  {
    auto update = set_op(B, 1, 30, "x", value{11}, timestamp{10, A});
    auto del = remove_record(C, 1, 25);
    auto s = run_all_orders({insert, update, del});
    BOOST_TEST(s.alive());
    BOOST_TEST(s.view() == (value_map{{"x", value{11}}}));
  }
  // Both orders of arrival explicitly, on replicas.
  auto update = set_op(B, 1, 30, "x", value{11}, timestamp{10, A});
  auto del = remove_record(C, 1, 25);
  replica r1, r2;
  r1.apply(insert);
  r2.apply(insert);
  r1.apply(update);
  r1.apply(del);
  r2.apply(del);
  r2.apply(update);
  BOOST_TEST(r1.digest() == r2.digest());
  BOOST_TEST(r1.find("c", rec(1))->view() == r2.find("c", rec(1))->view());
}

BOOST_AUTO_TEST_CASE(deletes_keep_the_latest_tombstone) {
  auto s = run_all_orders({set_op(A, 1, 10, "x", value{1}), remove_record(B, 1, 20),
                           remove_record(C, 1, 40), set_op(A, 2, 30, "x", value{2})});
  BOOST_TEST(s.deleted_at == (timestamp{40, C}));
  BOOST_TEST(!s.alive());
}

BOOST_AUTO_TEST_CASE(kind_clash_earliest_kind_wins) {
  auto set = set_op(A, 1, 10, "f", value{"text"});
  auto inc = inc_op(B, 1, 20, "f", 5);
  auto add = upsert(C, 1, 30);
  with_add(add, "f", value{"e"});
  {
    auto s = run_all_orders({set, inc, add});
    BOOST_TEST(s.fields.at("f").kind() == field_kind::lww);
    BOOST_TEST(*s.field("f") == value{"text"});
    // the other kinds' operations are kept, but ignored when reading
    BOOST_TEST(s.fields.at("f").counter.value() == 5);
    BOOST_TEST(s.fields.at("f").set.live({}).size() == 1u);
  }
  {
    auto early_inc = inc_op(B, 1, 5, "f", 5);
    auto s = run_all_orders({set, early_inc, add});
    BOOST_TEST(s.fields.at("f").kind() == field_kind::counter);
    BOOST_TEST(*s.field("f") == value{5});
  }
  {
    auto early_add = upsert(C, 1, 1);
    with_add(early_add, "f", value{"e"});
    auto s = run_all_orders({set, inc, early_add});
    BOOST_TEST(s.fields.at("f").kind() == field_kind::elements);
    BOOST_TEST(*s.field("f") == value{value_array{value{"e"}}});
  }
  // A late-arriving earlier operation of another kind takes the field over.
  record_state s;
  apply(s, inc);
  BOOST_TEST(*s.field("f") == value{5});
  apply(s, set);
  BOOST_TEST(*s.field("f") == value{"text"});
  // A remove also claims the elements kind (earliest operation decides).
  auto early_remove = upsert(C, 2, 2);
  with_remove(early_remove, "f", value{"zzz"}, {});
  apply(s, early_remove);
  BOOST_TEST(s.fields.at("f").kind() == field_kind::elements);
  BOOST_TEST(*s.field("f") == value{value_array{}});
}

BOOST_AUTO_TEST_CASE(kind_clash_tie_inside_one_operation) {
  // One operation touching one field with several kinds: lww < counter < elements.
  auto op = upsert(A, 1, 10);
  with_increment(op, "f", 3);
  with_add(op, "f", value{"e"});
  auto s = run({op});
  BOOST_TEST(s.fields.at("f").kind() == field_kind::counter);
  auto op2 = upsert(A, 1, 10);
  with_add(op2, "g", value{"e"});
  with_increment(op2, "g", 3);
  with_set(op2, "g", value{"v"});
  auto t = run({op2});
  BOOST_TEST(t.fields.at("g").kind() == field_kind::lww);
  BOOST_TEST(*t.field("g") == value{"v"});
}

BOOST_AUTO_TEST_CASE(counter_delete_cancels_observed_increments_only) {
  auto insert = set_op(A, 1, 10, "name", value{"x"});
  auto a5 = inc_op(A, 2, 11, "n", 5);
  auto b3 = inc_op(B, 1, 12, "n", 3);
  auto bneg = inc_op(B, 2, 13, "n", -1);
  // C deletes having seen everything above
  auto del = remove_record(C, 1, 20, {{"n", A, 5, 0}, {"n", B, 3, 1}});
  // B concurrently increments again (not observed by the delete), after it in time
  auto b7 = inc_op(B, 3, 21, "n", 7);
  auto s = run_all_orders({insert, a5, b3, bneg, del, b7});
  BOOST_TEST(s.alive());
  BOOST_TEST(s.view() == (value_map{{"n", value{7}}}));
  // an increment from the deleter's own later write counts in full
  auto a2 = inc_op(A, 3, 22, "n", -2);
  auto t = run_all_orders({insert, a5, b3, del, bneg, b7, a2});
  BOOST_TEST(*t.field("n") == value{5});
}

BOOST_AUTO_TEST_CASE(counter_concurrent_increment_before_the_delete_in_time) {
  // B's increment is concurrent with the delete but has a smaller timestamp:
  // it is not cancelled (the delete did not observe it) but the field stays
  // hidden until it is written after the delete.
  auto a5 = inc_op(A, 1, 10, "n", 5);
  auto b4 = inc_op(B, 1, 15, "n", 4);
  auto del = remove_record(C, 1, 20, {{"n", A, 5, 0}});
  auto s = run_all_orders({a5, b4, del});
  BOOST_TEST(!s.alive());
  auto a1 = inc_op(A, 2, 30, "n", 1);
  auto t = run_all_orders({a5, b4, del, a1});
  BOOST_TEST(*t.field("n") == value{5});  // B's 4 + A's new 1
}

BOOST_AUTO_TEST_CASE(delete_observations_create_counter_entries_deterministically) {
  auto del = remove_record(C, 1, 20, {{"n", A, 5, 0}});
  auto s = run({del});
  BOOST_TEST(!s.alive());
  BOOST_TEST(s.fields.count("n") == 1u);
  BOOST_TEST(s.fields.at("n").kind() == field_kind::none);
  BOOST_TEST(!s.field("n").has_value());
}

BOOST_AUTO_TEST_CASE(or_set_fields_through_records) {
  auto add_a = upsert(A, 1, 10);
  with_add(add_a, "s", value{"a"});
  with_add(add_a, "s", value{"b"});  // two elements under one dot
  auto rem_a = upsert(B, 1, 20);
  with_remove(rem_a, "s", value{"a"}, {add_a.id});
  auto add_a2 = upsert(C, 1, 15);  // concurrent add of "a"
  with_add(add_a2, "s", value{"a"});
  auto s = run_all_orders({add_a, rem_a, add_a2});
  BOOST_TEST(*s.field("s") == (value{value_array{value{"a"}, value{"b"}}}));
  auto s2 = run_all_orders({add_a, rem_a});
  BOOST_TEST(*s2.field("s") == value{value_array{value{"b"}}});
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(conflicts)

BOOST_AUTO_TEST_CASE(two_concurrent_sets_give_one_conflict_in_either_order) {
  auto insert = set_op(A, 1, 10, "x", value{0});
  auto sa = set_op(A, 2, 20, "x", value{"from A"}, timestamp{10, A});
  auto sb = set_op(B, 1, 25, "x", value{"from B"}, timestamp{10, A});
  for (int order = 0; order < 2; ++order) {
    replica r;
    std::vector<conflict> cs;
    r.apply(insert, &cs);
    r.apply(order == 0 ? sa : sb, &cs);
    r.apply(order == 0 ? sb : sa, &cs);
    BOOST_REQUIRE(cs.size() == 1u);
    auto& c = cs[0];
    BOOST_TEST(c.collection == "c");
    BOOST_TEST(c.record == rec(1));
    BOOST_TEST(c.field == "x");
    BOOST_TEST(c.winner == value{"from B"});
    BOOST_TEST(c.winner_ts == (timestamp{25, B}));
    BOOST_TEST(c.loser == value{"from A"});
    BOOST_TEST(c.loser_ts == (timestamp{20, A}));
    BOOST_TEST(*r.find("c", rec(1))->field("x") == value{"from B"});
  }
  // first writes on a fresh field (both bases zero) are concurrent too
  std::vector<conflict> cs;
  run({set_op(A, 1, 10, "y", value{1}), set_op(B, 1, 11, "y", value{2})}, &cs);
  BOOST_REQUIRE(cs.size() == 1u);
  BOOST_TEST(cs[0].winner == value{2});
  BOOST_TEST(cs[0].loser == value{1});
}

BOOST_AUTO_TEST_CASE(sequential_sets_give_none) {
  auto s1 = set_op(A, 1, 10, "x", value{1});
  auto s2 = set_op(B, 1, 20, "x", value{2}, timestamp{10, A});
  auto s3 = set_op(A, 2, 30, "x", value{3}, timestamp{20, B});
  std::vector<size_t> idx = {0, 1, 2};
  std::vector<operation> ops = {s1, s2, s3};
  do {
    std::vector<conflict> cs;
    record_state s;
    for (size_t i : idx)
      apply(s, ops[i], &cs);
    BOOST_TEST(cs.empty(), "order " << idx[0] << idx[1] << idx[2]);
    BOOST_TEST(*s.field("x") == value{3});
  } while (std::next_permutation(idx.begin(), idx.end()));
}

BOOST_AUTO_TEST_CASE(concurrent_sets_from_a_common_base_give_one_conflict_in_every_order) {
  auto s1 = set_op(A, 1, 10, "x", value{1});
  for (uint64_t t3 : {uint64_t{15}, uint64_t{30}}) {  // the concurrent write loses, then wins
    auto s2 = set_op(B, 1, 20, "x", value{2}, timestamp{10, A});
    auto s3 = set_op(C, 1, t3, "x", value{3}, timestamp{10, A});
    std::vector<operation> ops = {s1, s2, s3};
    std::vector<size_t> idx = {0, 1, 2};
    do {
      std::vector<conflict> cs;
      record_state s;
      for (size_t i : idx)
        apply(s, ops[i], &cs);
      BOOST_REQUIRE_MESSAGE(cs.size() == 1u, "t3=" << t3 << " order " << idx[0] << idx[1] << idx[2]);
      BOOST_TEST(cs[0].winner == (t3 > 20 ? value{3} : value{2}));
      BOOST_TEST(cs[0].loser == (t3 > 20 ? value{2} : value{3}));
    } while (std::next_permutation(idx.begin(), idx.end()));
  }
}

BOOST_AUTO_TEST_CASE(replays_do_not_report_conflicts_again) {
  auto sa = set_op(A, 1, 20, "x", value{1});
  auto sb = set_op(B, 1, 25, "x", value{2});
  replica r;
  std::vector<conflict> cs;
  BOOST_TEST(r.apply(sa, &cs));
  BOOST_TEST(r.apply(sb, &cs));
  BOOST_TEST(!r.apply(sa, &cs));
  BOOST_TEST(!r.apply(sb, &cs));
  BOOST_TEST(cs.size() == 1u);
}

BOOST_AUTO_TEST_CASE(conflict_without_sink_is_fine) {
  record_state s;
  apply(s, set_op(A, 1, 20, "x", value{1}));
  apply(s, set_op(B, 1, 25, "x", value{2}), nullptr);
  BOOST_TEST(*s.field("x") == value{2});
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(indexes_and_replica)

BOOST_AUTO_TEST_CASE(index_state_later_timestamp_wins) {
  auto create = [](uint64_t seq, uint64_t counter) {
    operation op = upsert(A, seq, counter);
    op.k = operation::kind::create_index;
    op.index_field = "age";
    op.record = {};
    return op;
  };
  auto drop = [&](uint64_t seq, uint64_t counter) {
    auto op = create(seq, counter);
    op.k = operation::kind::drop_index;
    return op;
  };
  index_state s;
  BOOST_TEST(!s.active());
  s.apply(create(1, 10));
  BOOST_TEST(s.active());
  s.apply(drop(2, 20));
  BOOST_TEST(!s.active());
  s.apply(create(3, 15));  // older than the drop
  BOOST_TEST(!s.active());
  s.apply(create(4, 30));
  BOOST_TEST(s.active());
  index_state t;  // other order
  t.apply(create(4, 30));
  t.apply(create(3, 15));
  t.apply(drop(2, 20));
  t.apply(create(1, 10));
  BOOST_TEST(t.created == s.created);
  BOOST_TEST(t.dropped == s.dropped);

  replica r;
  r.apply(create(1, 10));
  r.apply(drop(2, 20));
  BOOST_REQUIRE(r.indexes().size() == 1u);
  BOOST_TEST(!r.indexes().begin()->second.active());
  BOOST_TEST(r.records().empty());  // index operations touch no record
}

BOOST_AUTO_TEST_CASE(replica_apply_is_once_per_dot) {
  replica r;
  auto op = set_op(A, 1, 10, "x", value{1});
  BOOST_TEST(!r.has(op.id));
  BOOST_TEST(r.find("c", rec(1)) == nullptr);
  auto d0 = r.digest();
  BOOST_TEST(r.apply(op));
  BOOST_TEST(r.has(op.id));
  auto d1 = r.digest();
  BOOST_TEST(d0 != d1);
  BOOST_TEST(!r.apply(op));
  BOOST_TEST(r.digest() == d1);
  // a different operation reusing the dot is refused too (first one wins)
  auto other = inc_op(A, 1, 11, "n", 1);
  BOOST_TEST(!r.apply(other));
  BOOST_TEST(r.digest() == d1);
  BOOST_REQUIRE(r.find("c", rec(1)) != nullptr);
  BOOST_TEST(r.find("c", rec(1))->view() == (value_map{{"x", value{1}}}));
  BOOST_TEST(r.find("other", rec(1)) == nullptr);
}

BOOST_AUTO_TEST_CASE(digest_depends_on_state_not_order) {
  std::vector<operation> ops = {set_op(A, 1, 10, "x", value{1}), inc_op(B, 1, 11, "n", 2),
                                remove_record(C, 1, 12), set_op(A, 2, 13, "y", value{"y"})};
  ops.push_back(upsert(A, 3, 14, rec(2), "other"));
  with_set(ops.back(), "z", value{true});
  replica fwd, back;
  for (auto& op : ops)
    fwd.apply(op);
  for (auto it = ops.rbegin(); it != ops.rend(); ++it)
    back.apply(*it);
  BOOST_TEST(fwd.digest() == back.digest());
  BOOST_TEST(fwd.records().size() == 2u);
  // different states, different digests
  replica partial;
  for (size_t i = 0; i + 1 < ops.size(); ++i)
    partial.apply(ops[i]);
  BOOST_TEST(partial.digest() != fwd.digest());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(record_join)

BOOST_AUTO_TEST_CASE(join_of_two_replicas_equals_applying_both) {
  using namespace blaze::test;
  auto o1 = upsert(node(1), 1, 100, rec(1));
  with_set(o1, "title", value{"first"});
  with_increment(o1, "votes", 2);
  auto o2 = upsert(node(2), 1, 200, rec(1));
  with_set(o2, "title", value{"second"}, {100, node(1)});
  with_add(o2, "tags", value{"x"});
  auto o3 = remove_record(node(1), 2, 150, {{"votes", node(1), 2, 0}});
  record_state a, b, all;
  apply(a, o1);
  apply(a, o3);
  apply(b, o1);
  apply(b, o2);
  for (auto* op : {&o1, &o2, &o3})
    apply(all, *op);
  record_state ab = a, ba = b;
  merge(ab, b);
  merge(ba, a);
  BOOST_TEST(encode(ab) == encode(all));
  BOOST_TEST(encode(ba) == encode(all));
  record_state twice = ab;
  merge(twice, ab);
  BOOST_TEST(encode(twice) == encode(ab));
  BOOST_TEST(highest_counter(all) == 200u);
}

BOOST_AUTO_TEST_CASE(join_keeps_the_earliest_kind) {
  using namespace blaze::test;
  auto set = upsert(node(1), 1, 300, rec(1));
  with_set(set, "f", value{1});
  auto inc = upsert(node(2), 1, 100, rec(1));
  with_increment(inc, "f", 5);
  record_state a, b;
  apply(a, set);
  apply(b, inc);
  merge(a, b);
  BOOST_TEST(a.fields.at("f").kind() == field_kind::counter);
  BOOST_TEST(*a.field("f") == value{int64_t{5}});
}

BOOST_AUTO_TEST_SUITE_END()
