// Unit tests: hybrid logical clock, version vectors, and the three field CRDTs.
#include <boost/test/unit_test.hpp>

#include "test_util.hpp"

#include "core/lww_register.hpp"
#include "core/or_set.hpp"
#include "core/pn_counter.hpp"
#include "core/timestamp.hpp"
#include "core/version_vector.hpp"

#include <algorithm>
#include <cstdint>
#include <limits>

using namespace blaze;
using blaze::test::node;

BOOST_AUTO_TEST_SUITE(hlc)

BOOST_AUTO_TEST_CASE(timestamps_order_by_counter_then_node) {
  BOOST_TEST((timestamp{1, node(9)} < timestamp{2, node(1)}));
  BOOST_TEST((timestamp{2, node(1)} < timestamp{2, node(2)}));
  BOOST_TEST(timestamp{}.is_zero());
  BOOST_TEST(!(timestamp{0, node(1)}.is_zero()));
  BOOST_TEST((timestamp{(uint64_t{1234} << 16) | 77, node(1)}.millis() == 1234u));
}

BOOST_AUTO_TEST_CASE(tick_uses_physical_time) {
  hybrid_clock c(node(1));
  auto t = c.tick(1000);
  BOOST_TEST(t.counter == (uint64_t{1000} << 16));
  BOOST_TEST(t.node == node(1));
  BOOST_TEST(t.millis() == 1000u);
  auto u = c.tick(2000);
  BOOST_TEST(u.counter == (uint64_t{2000} << 16));
  BOOST_TEST(c.last() == u.counter);
  BOOST_TEST(c.self() == node(1));
}

BOOST_AUTO_TEST_CASE(tick_is_strictly_monotonic_within_a_millisecond) {
  hybrid_clock c(node(1));
  timestamp prev = c.tick(5);
  for (int i = 1; i < 1000; ++i) {
    auto t = c.tick(5);
    BOOST_TEST(t > prev);
    BOOST_TEST(t.counter == prev.counter + 1);
    prev = t;
  }
  BOOST_TEST(prev.millis() == 5u);  // 1000 < 2^16 logical steps: still millisecond 5
}

BOOST_AUTO_TEST_CASE(clock_going_backwards_stays_monotonic) {
  hybrid_clock c(node(1));
  auto a = c.tick(10'000);
  auto b = c.tick(9'000);   // wall clock stepped back
  auto d = c.tick(1);
  BOOST_TEST(b > a);
  BOOST_TEST(d > b);
  BOOST_TEST(b.counter == a.counter + 1);
  auto e = c.tick(10'001);  // wall clock catches up
  BOOST_TEST(e.counter == (uint64_t{10'001} << 16));
}

BOOST_AUTO_TEST_CASE(tick_after_observe_exceeds_observed) {
  hybrid_clock c(node(1));
  c.tick(100);
  uint64_t remote = (uint64_t{500} << 16) | 42;
  c.observe(remote);
  BOOST_TEST(c.last() == remote);
  auto t = c.tick(100);
  BOOST_TEST(t.counter > remote);
  BOOST_TEST(t.counter == remote + 1);
  // observing an older counter changes nothing
  c.observe(7);
  BOOST_TEST(c.last() == t.counter);
  auto u = c.tick(100);
  BOOST_TEST(u.counter == t.counter + 1);
  // a clock restored from a persisted counter continues after it
  hybrid_clock restored(node(2), u.counter);
  BOOST_TEST(restored.tick(0).counter == u.counter + 1);
  BOOST_TEST(restored.tick(1'000'000).counter == (uint64_t{1'000'000} << 16));
}

BOOST_AUTO_TEST_CASE(too_far_ahead_bounds_skew) {
  const uint64_t now = 1'000'000, skew = 5'000;
  uint64_t edge = ((now + skew) << 16) | 0xffff;  // last counter of the allowed millisecond
  BOOST_TEST(!hybrid_clock::too_far_ahead(edge, now, skew));
  BOOST_TEST(hybrid_clock::too_far_ahead(edge + 1, now, skew));
  BOOST_TEST(!hybrid_clock::too_far_ahead(0, now, skew));
  BOOST_TEST(!hybrid_clock::too_far_ahead(now << 16, now, 0));
  BOOST_TEST(hybrid_clock::too_far_ahead((now + 1) << 16, now, 0));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(version_vectors)

BOOST_AUTO_TEST_CASE(advance_only_extends_the_contiguous_prefix) {
  version_vector v;
  node_id a = node(1), b = node(2);
  BOOST_TEST(v.get(a) == 0u);
  BOOST_TEST(!v.contains({a, 0}));
  BOOST_TEST(!v.contains({a, 1}));
  BOOST_TEST(!v.advance({a, 0}));
  BOOST_TEST(!v.advance({a, 2}));  // gap
  BOOST_TEST(v.get(a) == 0u);
  BOOST_TEST(v.advance({a, 1}));
  BOOST_TEST(!v.advance({a, 1}));  // duplicate
  BOOST_TEST(!v.advance({a, 3}));
  BOOST_TEST(v.advance({a, 2}));
  BOOST_TEST(v.advance({a, 3}));
  BOOST_TEST(v.get(a) == 3u);
  BOOST_TEST(v.contains({a, 1}));
  BOOST_TEST(v.contains({a, 3}));
  BOOST_TEST(!v.contains({a, 4}));
  BOOST_TEST(!v.contains({a, 0}));
  BOOST_TEST(!v.contains({b, 1}));
  BOOST_TEST(v.total() == 3u);
}

BOOST_AUTO_TEST_CASE(set_ignores_zero) {
  version_vector v;
  v.set(node(1), 0);
  BOOST_TEST(v.entries().empty());
  v.set(node(1), 4);
  BOOST_TEST(v.get(node(1)) == 4u);
  BOOST_TEST((v == v));
}

BOOST_AUTO_TEST_CASE(merge_is_pointwise_max) {
  version_vector x, y;
  x.set(node(1), 5);
  x.set(node(2), 1);
  y.set(node(2), 7);
  y.set(node(3), 2);
  auto xy = x, yx = y;
  xy.merge(y);
  yx.merge(x);
  BOOST_TEST((xy == yx));
  BOOST_TEST(xy.get(node(1)) == 5u);
  BOOST_TEST(xy.get(node(2)) == 7u);
  BOOST_TEST(xy.get(node(3)) == 2u);
  BOOST_TEST(xy.total() == 14u);
  auto again = xy;
  again.merge(x);
  BOOST_TEST((again == xy));  // idempotent
}

BOOST_AUTO_TEST_CASE(dominates) {
  version_vector empty, x, y;
  BOOST_TEST(empty.dominates(empty));
  x.set(node(1), 3);
  BOOST_TEST(x.dominates(empty));
  BOOST_TEST(!empty.dominates(x));
  BOOST_TEST(x.dominates(x));
  y.set(node(1), 2);
  BOOST_TEST(x.dominates(y));
  BOOST_TEST(!y.dominates(x));
  y.set(node(2), 1);  // now concurrent
  BOOST_TEST(!x.dominates(y));
  BOOST_TEST(!y.dominates(x));
  auto m = x;
  m.merge(y);
  BOOST_TEST(m.dominates(x));
  BOOST_TEST(m.dominates(y));
}

BOOST_AUTO_TEST_CASE(missing_from_names_exact_ranges) {
  version_vector mine, theirs;
  mine.set(node(1), 10);
  mine.set(node(2), 3);
  mine.set(node(3), 4);
  theirs.set(node(1), 4);
  theirs.set(node(2), 3);
  theirs.set(node(4), 9);
  auto r = mine.missing_from(theirs);
  BOOST_REQUIRE(r.size() == 2u);
  BOOST_TEST(r[0].origin == node(1));
  BOOST_TEST(r[0].after == 4u);
  BOOST_TEST(r[0].through == 10u);
  BOOST_TEST(r[1].origin == node(3));
  BOOST_TEST(r[1].after == 0u);
  BOOST_TEST(r[1].through == 4u);
  auto back = theirs.missing_from(mine);
  BOOST_REQUIRE(back.size() == 1u);
  BOOST_TEST(back[0].origin == node(4));
  BOOST_TEST(back[0].after == 0u);
  BOOST_TEST(back[0].through == 9u);
  BOOST_TEST(mine.missing_from(mine).empty());
  // after the exchange neither side misses anything
  auto m = mine;
  m.merge(theirs);
  BOOST_TEST(m.missing_from(mine).size() == 1u);
  BOOST_TEST(mine.missing_from(m).empty());
  BOOST_TEST(theirs.missing_from(m).empty());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(lww)

BOOST_AUTO_TEST_CASE(assign_higher_timestamp_wins) {
  lww_register r;
  BOOST_TEST(r.ts.is_zero());
  timestamp t1{10, node(1)}, t2{20, node(1)}, t0{5, node(9)};
  BOOST_TEST(r.assign(t1, {}, value{"one"}));
  BOOST_TEST(r.val == value{"one"});
  BOOST_TEST(r.assign(t2, t1, value{"two"}));
  BOOST_TEST(r.val == value{"two"});
  BOOST_TEST(r.base == t1);
  BOOST_TEST(!r.assign(t0, {}, value{"old"}));
  BOOST_TEST(!r.assign(t2, t1, value{"same ts"}));
  BOOST_TEST(r.val == value{"two"});
  BOOST_TEST(r.ts == t2);
}

BOOST_AUTO_TEST_CASE(node_breaks_counter_ties) {
  lww_register a, b;
  timestamp lo{10, node(1)}, hi{10, node(2)};
  a.assign(lo, {}, value{1});
  a.assign(hi, {}, value{2});
  b.assign(hi, {}, value{2});
  b.assign(lo, {}, value{1});
  BOOST_TEST(a.val == value{2});
  BOOST_TEST(b.val == value{2});
  BOOST_TEST(a.ts == b.ts);
}

BOOST_AUTO_TEST_CASE(concurrent_with) {
  lww_register r;
  timestamp t1{10, node(1)}, t2{20, node(2)}, t3{30, node(1)};
  BOOST_TEST(!r.concurrent_with(t1, {}));  // nothing written yet
  r.assign(t1, {}, value{1});
  // a write that had seen t1 (base t1) is sequential
  BOOST_TEST(!r.concurrent_with(t2, t1));
  // a write that had not seen t1 is concurrent, whichever timestamp is higher
  BOOST_TEST(r.concurrent_with(t2, {}));
  BOOST_TEST(r.concurrent_with(timestamp{5, node(3)}, {}));
  // the same write again is not a conflict with itself
  BOOST_TEST(!r.concurrent_with(t1, {}));
  r.assign(t2, t1, value{2});
  // an older write that the winner overwrote (winner's base) is not concurrent
  BOOST_TEST(!r.concurrent_with(t1, {}));
  // a write based on the current winner is sequential
  BOOST_TEST(!r.concurrent_with(t3, t2));
  // a write based on an older value than the winner's is concurrent
  BOOST_TEST(r.concurrent_with(t3, t1));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(orset)

const dot d1{node(1), 1}, d2{node(2), 1}, d3{node(1), 2};

BOOST_AUTO_TEST_CASE(add_and_remove) {
  or_set s;
  s.add(value{"x"}, d1, 100);
  BOOST_TEST(s.live({}).size() == 1u);
  BOOST_TEST(s.tags_of(value{"x"}).size() == 1u);
  BOOST_TEST(s.tags_of(value{"y"}).empty());
  s.add(value{"x"}, d2, 200);  // second add of the same element: second tag
  BOOST_TEST(s.tags_of(value{"x"}).size() == 2u);
  s.remove(value{"x"}, s.tags_of(value{"x"}));
  BOOST_TEST(s.live({}).empty());
  BOOST_TEST(s.elements.empty());
  BOOST_TEST(s.removed.at(value{"x"}).size() == 2u);
}

BOOST_AUTO_TEST_CASE(remove_with_no_observed_tags_changes_nothing) {
  or_set s;
  s.remove(value{"x"}, {});
  BOOST_TEST(s.removed.empty());
  BOOST_TEST(s.elements.empty());
  s.add(value{"x"}, d1, 1);
  s.remove(value{"x"}, {});
  BOOST_TEST(s.live({}).size() == 1u);
}

BOOST_AUTO_TEST_CASE(remove_before_add_wins) {
  or_set s;
  s.remove(value{"x"}, {d1});  // arrives first
  s.add(value{"x"}, d1, 100);   // the add it removed arrives late
  BOOST_TEST(s.live({}).empty());
  BOOST_TEST(s.tags_of(value{"x"}).empty());
  // a different add of the same element is unaffected
  s.add(value{"x"}, d2, 200);
  BOOST_TEST(s.live({}).size() == 1u);
}

BOOST_AUTO_TEST_CASE(concurrent_add_survives_a_remove) {
  // replica A adds x (d1); B sees it and removes it; C concurrently adds x (d2).
  auto run = [](int order) {
    or_set s;
    auto add1 = [&] { s.add(value{"x"}, d1, 100); };
    auto rem = [&] { s.remove(value{"x"}, {d1}); };
    auto add2 = [&] { s.add(value{"x"}, d2, 150); };
    if (order == 0) { add1(); rem(); add2(); }
    if (order == 1) { add2(); rem(); add1(); }
    if (order == 2) { rem(); add2(); add1(); }
    return s;
  };
  for (int order = 0; order < 3; ++order) {
    auto s = run(order);
    auto live = s.live({});
    BOOST_REQUIRE(live.size() == 1u);
    BOOST_TEST(live[0] == value{"x"});
    auto tags = s.tags_of(value{"x"});
    BOOST_REQUIRE(tags.size() == 1u);
    BOOST_TEST(tags[0] == d2);
  }
}

BOOST_AUTO_TEST_CASE(two_elements_added_under_one_dot) {
  or_set s;
  s.add(value{"a"}, d1, 100);
  s.add(value{"b"}, d1, 100);
  BOOST_TEST(s.live({}).size() == 2u);
  s.remove(value{"a"}, {d1});
  auto live = s.live({});
  BOOST_REQUIRE(live.size() == 1u);
  BOOST_TEST(live[0] == value{"b"});
  // and the other order: the remove of "a" arrives before both adds
  or_set t;
  t.remove(value{"a"}, {d1});
  t.add(value{"a"}, d1, 100);
  t.add(value{"b"}, d1, 100);
  auto live2 = t.live({});
  BOOST_REQUIRE(live2.size() == 1u);
  BOOST_TEST(live2[0] == value{"b"});
}

BOOST_AUTO_TEST_CASE(live_after_a_tombstone_and_sorted) {
  or_set s;
  s.add(value{"c"}, d1, 100);
  s.add(value{"a"}, d2, 300);
  s.add(value{"b"}, d3, 200);
  auto all = s.live({});
  BOOST_REQUIRE(all.size() == 3u);
  BOOST_TEST(all[0] == value{"a"});
  BOOST_TEST(all[1] == value{"b"});
  BOOST_TEST(all[2] == value{"c"});
  auto after = s.live(timestamp{200, node(1)});  // d3 is exactly at the tombstone: gone
  BOOST_REQUIRE(after.size() == 1u);
  BOOST_TEST(after[0] == value{"a"});
  // tie on counter broken by node: (200, node 2) > (200, node 1)
  s.add(value{"d"}, dot{node(2), 7}, 200);
  BOOST_TEST(s.live(timestamp{200, node(1)}).size() == 2u);
}

BOOST_AUTO_TEST_CASE(elements_distinguish_int_and_double) {
  or_set s;
  s.add(value{1}, d1, 1);
  s.add(value{1.0}, d2, 2);
  BOOST_TEST(s.live({}).size() == 2u);
  s.remove(value{1}, {d1});
  auto live = s.live({});
  BOOST_REQUIRE(live.size() == 1u);
  BOOST_TEST((live[0].type() == value::kind::real));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(pncounter)

BOOST_AUTO_TEST_CASE(adds_and_negatives) {
  pn_counter c;
  BOOST_TEST(c.value() == 0);
  c.add(node(1), 5);
  c.add(node(1), -2);
  c.add(node(2), -10);
  c.add(node(2), 0);
  BOOST_TEST(c.value() == -7);
  BOOST_TEST(c.entries.at(node(1)).positive == 5u);
  BOOST_TEST(c.entries.at(node(1)).negative == 2u);
  BOOST_TEST(c.entries.at(node(2)).negative == 10u);
}

BOOST_AUTO_TEST_CASE(int64_extremes) {
  const int64_t mn = std::numeric_limits<int64_t>::min(), mx = std::numeric_limits<int64_t>::max();
  pn_counter c;
  c.add(node(1), mn);
  BOOST_TEST(c.entries.at(node(1)).negative == (uint64_t{1} << 63));
  BOOST_TEST(c.value() == mn);
  c.add(node(1), 1);
  BOOST_TEST(c.value() == mn + 1);
  pn_counter d;
  d.add(node(1), mx);
  d.add(node(2), mn);
  BOOST_TEST(d.value() == -1);
  // wraps like int64 rather than trapping
  pn_counter e;
  e.add(node(1), mx);
  e.add(node(1), 1);
  BOOST_TEST(e.value() == mn);
  // order does not matter, even with wrapping
  pn_counter f;
  f.add(node(1), 1);
  f.add(node(1), mx);
  BOOST_TEST((e.entries == f.entries));
}

BOOST_AUTO_TEST_CASE(cancel_subtracts_observed_totals) {
  pn_counter c;
  c.add(node(1), 5);
  c.add(node(1), -3);
  c.add(node(2), 4);
  c.cancel(node(1), 5, 3);  // a delete saw all of node 1's increments
  BOOST_TEST(c.value() == 4);
  c.add(node(1), 2);  // a later increment from node 1 counts
  BOOST_TEST(c.value() == 6);
  c.cancel(node(1), 2, 1);  // an older delete's observation is dominated (max)
  BOOST_TEST(c.value() == 6);
  c.cancel(node(2), 4, 0);
  BOOST_TEST(c.value() == 2);
}

BOOST_AUTO_TEST_CASE(cancel_before_the_increments_arrive) {
  // The delete arrives first; the increments it had observed arrive later.
  pn_counter c;
  c.cancel(node(1), 7, 2);
  BOOST_TEST(c.value() == 0);
  c.add(node(1), 3);
  c.add(node(1), 4);
  c.add(node(1), -2);
  BOOST_TEST(c.value() == 0);
  c.add(node(1), 10);  // not observed by the delete
  BOOST_TEST(c.value() == 10);
  c.add(node(1), -1);
  BOOST_TEST(c.value() == 9);

  pn_counter d;  // same operations, delete last
  d.add(node(1), 3);
  d.add(node(1), 4);
  d.add(node(1), -2);
  d.add(node(1), 10);
  d.add(node(1), -1);
  d.cancel(node(1), 7, 2);
  BOOST_TEST((d.entries == c.entries));
  BOOST_TEST(d.value() == 9);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(joins)

BOOST_AUTO_TEST_CASE(lww_join_takes_the_later_write_with_its_base) {
  lww_register a, b;
  a.assign({5, node(1)}, {}, value{"a"});
  b.assign({7, node(2)}, {5, node(1)}, value{"b"});
  lww_register ab = a, ba = b;
  ab.merge(b);
  ba.merge(a);
  BOOST_TEST(ab.val == value{"b"});
  BOOST_TEST(ab.base == (timestamp{5, node(1)}));
  BOOST_TEST(ba.val == value{"b"});
  BOOST_TEST((ab.ts == ba.ts));
}

BOOST_AUTO_TEST_CASE(orset_join_keeps_removes_that_arrived_before_their_add) {
  dot t1{node(1), 1}, t2{node(2), 1};
  or_set a, b;
  a.add(value{"x"}, t1, 10);
  b.remove(value{"x"}, {t1});  // b saw the remove of t1, not the add
  b.add(value{"x"}, t2, 11);   // a concurrent add survives
  or_set ab = a, ba = b;
  ab.merge(b);
  ba.merge(a);
  BOOST_TEST(ab.tags_of(value{"x"}) == std::vector<dot>{t2});
  BOOST_TEST(ba.tags_of(value{"x"}) == std::vector<dot>{t2});
  BOOST_TEST(ab.removed == ba.removed);
  or_set again = ab;
  again.merge(ab);
  BOOST_TEST(again.elements == ab.elements);
}

BOOST_AUTO_TEST_CASE(counter_join_takes_totals_from_the_longer_prefix) {
  const int64_t big = std::numeric_limits<int64_t>::max();
  pn_counter shorter, longer;
  for (int i = 0; i < 2; ++i)
    shorter.add(node(1), big);
  for (int i = 0; i < 3; ++i)
    longer.add(node(1), big);  // the third total wraps below the second
  version_vector two, three;
  two.set(node(1), 2);
  three.set(node(1), 3);
  pn_counter a = shorter;
  a.merge(longer, &two, &three);
  BOOST_TEST(a.value() == longer.value());
  pn_counter b = longer;
  b.merge(shorter, &three, &two);
  BOOST_TEST(b.value() == longer.value());
  // without version vectors the larger total wins: exact unless a total wrapped
  pn_counter c, d;
  c.add(node(1), 3);
  d.add(node(1), 3);
  d.add(node(1), -1);
  d.cancel(node(2), 0, 0);
  c.merge(d);
  BOOST_TEST(c.value() == 2);
  BOOST_TEST(c.entries.count(node(2)) == 1u);
}

BOOST_AUTO_TEST_CASE(counter_join_keeps_the_larger_cancellation) {
  pn_counter a, b;
  a.add(node(1), 5);
  b.add(node(1), 5);
  b.cancel(node(1), 5, 0);  // a delete that saw the 5
  a.merge(b);
  BOOST_TEST(a.value() == 0);
}

BOOST_AUTO_TEST_SUITE_END()
