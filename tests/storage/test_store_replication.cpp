// storage: applying operations from other replicas — idempotence,
// equivocation, gaps, clock skew, agreement with the core reference model,
// and convergence of stores that exchange their operations.
#include "store_test_util.hpp"

#include <algorithm>

using namespace blaze;
using namespace blaze::test;

namespace {

const node_id na = node(0xa);
const node_id nb = node(0xb);
const node_id nc = node(0xc);

std::vector<record_id> all_records(const store& s, const std::string& c) {
  query q;
  q.collection = c;
  return ids_of(*s.run(q));
}

// Every visible document of `c` in both stores is equal.
void same_documents(const store& x, const store& y, const std::string& c) {
  query q;
  q.collection = c;
  auto rx = *x.run(q);
  auto ry = *y.run(q);
  BOOST_REQUIRE_EQUAL(rx.size(), ry.size());
  for (size_t i = 0; i < rx.size(); ++i) {
    BOOST_TEST(rx[i].id == ry[i].id);
    BOOST_TEST(rx[i].doc == ry[i].doc);
  }
}

} // namespace

BOOST_AUTO_TEST_CASE(reapplying_known_operations_is_a_no_op) {
  temp_dir tmp;
  auto a = open_store(tmp / "a", na);
  auto b = open_store(tmp / "b", nb);
  std::mt19937_64 rng(7);
  random_writes(*a, rng, 300, 20);
  auto ops = all_ops(*a);
  BOOST_REQUIRE(!ops.empty());

  // to itself
  auto d = must_digest(*a);
  auto vv = a->versions();
  auto clk = a->clock();
  std::vector<change> cs;
  auto rep = a->apply_remote(ops, now_ms(), &cs);
  BOOST_TEST(rep.applied == 0u);
  BOOST_TEST(rep.duplicates == ops.size());
  BOOST_TEST(rep.refused.empty());
  BOOST_TEST(cs.empty());
  BOOST_TEST(must_digest(*a) == d);
  BOOST_TEST(a->versions() == vv);
  BOOST_TEST(a->clock() == clk);

  // to a peer, twice, and with every operation doubled in one batch
  rep = b->apply_remote(ops, now_ms());
  BOOST_TEST(rep.applied == ops.size());
  BOOST_TEST(rep.refused.empty());
  BOOST_TEST(must_digest(*b) == d);
  rep = b->apply_remote(ops, now_ms());
  BOOST_TEST(rep.applied == 0u);
  BOOST_TEST(rep.duplicates == ops.size());
  BOOST_TEST(must_digest(*b) == d);

  auto c = open_store(tmp / "c", nc);
  auto doubled = ops;
  doubled.insert(doubled.end(), ops.begin(), ops.end());
  std::shuffle(doubled.begin(), doubled.end(), rng);
  rep = c->apply_remote(doubled, now_ms());
  BOOST_TEST(rep.applied == ops.size());
  BOOST_TEST(rep.duplicates == ops.size());
  BOOST_TEST(rep.refused.empty());
  BOOST_TEST(must_digest(*c) == d);
  BOOST_TEST(c->versions() == vv);

  // overlapping batches: half known, half new
  auto e = open_store(tmp / "e", node(0xe));
  std::vector<operation> first(ops.begin(), ops.begin() + long(ops.size() / 2));
  BOOST_TEST(e->apply_remote(first, now_ms()).applied == first.size());
  rep = e->apply_remote(ops, now_ms());
  BOOST_TEST(rep.applied == ops.size() - first.size());
  BOOST_TEST(rep.duplicates == first.size());
  BOOST_TEST(must_digest(*e) == d);
}

BOOST_AUTO_TEST_CASE(a_different_operation_under_a_known_dot_is_refused) {
  temp_dir tmp;
  auto a = open_store(tmp / "a", na);
  auto b = open_store(tmp / "b", nb);
  must(*a, w_insert("c", rec(1), {{"v", 1}}));
  must(*a, w_set("c", rec(1), "v", 2));
  must(*a, w_inc("c", rec(1), "n", 1));
  sync(*a, *b);
  auto ops = all_ops(*a);
  auto d = must_digest(*b);
  auto vv = b->versions();
  auto stored = **b->operation_bytes(ops[1].id);

  std::vector<operation> forgeries;
  {
    auto f = ops[1];
    f.fields[0].val = 666;  // another value
    forgeries.push_back(f);
    f = ops[1];
    f.counter += 1;  // another timestamp
    forgeries.push_back(f);
    f = ops[2];
    f.fields[0].delta = 100;
    forgeries.push_back(f);
    f = ops[0];
    f.record = rec(2);  // another record
    forgeries.push_back(f);
  }
  for (auto& f : forgeries) {
    auto rep = b->apply_remote({f}, now_ms());
    BOOST_TEST(rep.applied == 0u);
    BOOST_TEST(rep.duplicates == 0u);
    BOOST_REQUIRE_EQUAL(rep.refused.size(), 1u);
    BOOST_TEST(rep.refused[0].first == f.id);
    BOOST_TEST(rep.refused[0].second.code == errc::equivocation);
    BOOST_TEST(rep.refused[0].second.message.find(na.to_hex()) != std::string::npos);
  }
  BOOST_TEST(must_digest(*b) == d);
  BOOST_TEST(b->versions() == vv);
  BOOST_TEST(**b->operation_bytes(ops[1].id) == stored);
  BOOST_TEST(!b->get("c", rec(2)).ok());

  // a forgery of the store's own operation
  auto own = must(*b, w_insert("c", rec(5), {{"v", 5}}));
  auto forged = own;
  forged.fields[0].val = "evil";
  d = must_digest(*b);
  auto rep = b->apply_remote({forged}, now_ms());
  BOOST_REQUIRE_EQUAL(rep.refused.size(), 1u);
  BOOST_TEST(rep.refused[0].second.code == errc::equivocation);
  BOOST_TEST(must_digest(*b) == d);
  BOOST_TEST(must_get(*b, "c", rec(5)) == (value_map{{"v", 5}}));

  // two different operations under one new dot in one batch: one wins, one is refused
  auto c = open_store(tmp / "c", nc);
  auto x = ops[0];
  auto y = ops[0];
  y.fields[0].val = 42;
  rep = c->apply_remote({x, y}, now_ms());
  BOOST_TEST(rep.applied == 1u);
  BOOST_REQUIRE_EQUAL(rep.refused.size(), 1u);
  BOOST_TEST(rep.refused[0].second.code == errc::equivocation);
  BOOST_TEST(c->versions().get(na) == 1u);

  // the good operations of a batch with an equivocation still apply
  auto e = open_store(tmp / "e", node(0xe));
  BOOST_TEST(e->apply_remote({ops[0]}, now_ms()).applied == 1u);
  auto bad0 = ops[0];
  bad0.fields[0].val = 0;
  rep = e->apply_remote({bad0, ops[1], ops[2]}, now_ms());
  BOOST_TEST(rep.applied == 2u);
  BOOST_REQUIRE_EQUAL(rep.refused.size(), 1u);
  BOOST_TEST(rep.refused[0].second.code == errc::equivocation);
  BOOST_TEST(must_digest(*e) == must_digest(*a));
}

// The same flat words packed one word at a time (runs never used): bytes
// that differ from encode()'s yet decode to the same operation.
std::string pack_word_by_word(const std::string& packed) {
  auto flat = *unpack_words(packed);
  std::string out;
  for (size_t i = 0; i + 8 <= flat.size(); i += 8) {
    unsigned tag = 0;
    std::string bytes;
    for (unsigned b = 0; b < 8; ++b)
      if (flat[i + b] != 0) {
        tag |= 1u << b;
        bytes += flat[i + b];
      }
    out += static_cast<char>(tag);
    out += bytes;
    if (tag == 0 || tag == 0xff)
      out += '\0';  // a run of no further words
  }
  return out;
}

BOOST_AUTO_TEST_CASE(operations_applied_with_their_encodings_are_logged_as_received) {
  temp_dir tmp;
  auto a = open_store(tmp / "a", na);
  std::mt19937_64 rng(11);
  random_writes(*a, rng, 300, 20);
  auto logged = *a->oplog_after({}, size_t(1) << 30);
  BOOST_REQUIRE(logged.size() > 100u);
  std::vector<std::pair<operation, std::string>> pairs;
  for (auto& l : logged)
    pairs.emplace_back(*decode_operation(l.bytes), l.bytes);
  std::shuffle(pairs.begin(), pairs.end(), rng);
  auto split = [](const std::vector<std::pair<operation, std::string>>& ps) {
    std::pair<std::vector<operation>, std::vector<std::string>> r;
    for (auto& [op, b] : ps) {
      r.first.push_back(op);
      r.second.push_back(b);
    }
    return r;
  };
  auto [ops, bytes] = split(pairs);

  auto b = open_store(tmp / "b", nb);
  auto rep = b->apply_remote(ops, bytes, now_ms());
  BOOST_TEST(rep.applied == ops.size());
  BOOST_TEST(rep.refused.empty());
  BOOST_TEST(must_digest(*b) == must_digest(*a));
  BOOST_TEST(b->versions() == a->versions());
  for (auto& l : logged)
    BOOST_TEST(**b->operation_bytes(l.id) == l.bytes);
  // known dots, with or without encodings: duplicates
  rep = b->apply_remote(ops, now_ms());
  BOOST_TEST(rep.duplicates == ops.size());
  BOOST_TEST(rep.refused.empty());
  rep = b->apply_remote(ops, bytes, now_ms());
  BOOST_TEST(rep.duplicates == ops.size());
  BOOST_TEST(rep.refused.empty());
  // a forgery is still an equivocation
  auto forged = ops[0];
  forged.counter += 1;
  rep = b->apply_remote({forged}, {encode(forged)}, now_ms());
  BOOST_REQUIRE_EQUAL(rep.refused.size(), 1u);
  BOOST_TEST(rep.refused[0].second.code == errc::equivocation);
  // mismatched lists are refused whole
  rep = b->apply_remote(ops, {}, now_ms());
  BOOST_TEST(rep.applied == 0u);
  BOOST_REQUIRE_EQUAL(rep.refused.size(), 1u);
  BOOST_TEST(rep.refused[0].second.code == errc::invalid_argument);

  // Bytes other than encode()'s for the same operations are kept as they
  // came, and the operations re-sent as encode() makes them are duplicates,
  // not equivocations.
  std::vector<std::string> odd;
  size_t differing = 0;
  for (size_t i = 0; i < ops.size(); ++i) {
    odd.push_back(pack_word_by_word(bytes[i]));
    differing += odd.back() != bytes[i];
    BOOST_TEST(encode(*decode_operation(odd.back())) == bytes[i]);
  }
  BOOST_TEST(differing > ops.size() / 2);
  auto c = open_store(tmp / "c", nc);
  rep = c->apply_remote(ops, odd, now_ms());
  BOOST_TEST(rep.applied == ops.size());
  BOOST_TEST(must_digest(*c) == must_digest(*a));
  rep = c->apply_remote(ops, now_ms());
  BOOST_TEST(rep.duplicates == ops.size());
  BOOST_TEST(rep.refused.empty());
  rep = c->apply_remote({forged}, now_ms());
  BOOST_REQUIRE_EQUAL(rep.refused.size(), 1u);
  BOOST_TEST(rep.refused[0].second.code == errc::equivocation);
}

BOOST_AUTO_TEST_CASE(gaps_are_refused_as_out_of_order) {
  temp_dir tmp;
  auto a = open_store(tmp / "a", na);
  auto b = open_store(tmp / "b", nb);
  for (int i = 0; i < 5; ++i)
    must(*a, w_insert("c", rec(uint64_t(i)), {{"v", i}}));
  auto ops = all_ops(*a);
  auto d = must_digest(*b);

  auto rep = b->apply_remote({ops[1], ops[2]}, now_ms());
  BOOST_TEST(rep.applied == 0u);
  BOOST_REQUIRE_EQUAL(rep.refused.size(), 2u);
  for (auto& [dt, why] : rep.refused) {
    BOOST_TEST(why.code == errc::out_of_order);
    BOOST_TEST(why.message.find("before seq 1") != std::string::npos, why.message);
  }
  BOOST_TEST(b->versions().get(na) == 0u);
  BOOST_TEST(must_digest(*b) == d);
  BOOST_TEST(!b->operation_bytes(ops[1].id)->has_value());

  // a hole in the middle: what precedes it applies, what follows is refused
  rep = b->apply_remote({ops[0], ops[1], ops[3], ops[4]}, now_ms());
  BOOST_TEST(rep.applied == 2u);
  BOOST_REQUIRE_EQUAL(rep.refused.size(), 2u);
  BOOST_TEST(rep.refused[0].second.code == errc::out_of_order);
  BOOST_TEST(b->versions().get(na) == 2u);
  BOOST_TEST(b->get("c", rec(3)).error().code == errc::unknown_record);

  // unsorted but complete: sorted and applied
  std::vector<operation> rev(ops.rbegin(), ops.rend());
  rep = b->apply_remote(rev, now_ms());
  BOOST_TEST(rep.applied == 3u);
  BOOST_TEST(rep.duplicates == 2u);
  BOOST_TEST(rep.refused.empty());
  BOOST_TEST(must_digest(*b) == must_digest(*a));
}

BOOST_AUTO_TEST_CASE(far_future_timestamps_are_refused) {
  temp_dir tmp;
  store_options o;
  o.max_clock_skew_ms = 60'000;
  auto b = open_store(tmp / "b", nb, o);
  auto now = now_ms();
  auto make = [&](uint64_t seq, uint64_t ms, record_id r) {
    operation op;
    op.id = {na, seq};
    op.counter = ms << hybrid_clock::logical_bits;
    op.collection = "c";
    op.record = r;
    field_op fo;
    fo.field = "v";
    fo.val = int64_t(seq);
    op.fields.push_back(fo);
    return op;
  };
  auto d = must_digest(*b);
  auto far = make(1, now + 10 * 60'000, rec(1));
  auto rep = b->apply_remote({far}, now);
  BOOST_TEST(rep.applied == 0u);
  BOOST_REQUIRE_EQUAL(rep.refused.size(), 1u);
  BOOST_TEST(rep.refused[0].second.code == errc::clock_skew);
  BOOST_TEST(rep.refused[0].second.message.find("60000 ms in the future") != std::string::npos);
  BOOST_TEST(b->clock() == 0u);  // the clock did not jump
  BOOST_TEST(b->versions().get(na) == 0u);
  BOOST_TEST(must_digest(*b) == d);

  // within the bound: accepted, and the local clock moves past it
  auto near = make(1, now + 30'000, rec(1));
  rep = b->apply_remote({near}, now);
  BOOST_TEST(rep.applied == 1u);
  BOOST_TEST(b->clock() == near.counter);
  auto mine = must(*b, w_set("c", rec(1), "v", 0), now);
  BOOST_TEST(mine.counter > near.counter);
  BOOST_TEST(must_get(*b, "c", rec(1))["v"] == value(0));

  // the same operation is accepted later, when wall time has caught up
  auto later = make(2, now + 10 * 60'000, rec(2));
  BOOST_TEST(b->apply_remote({later}, now).refused.size() == 1u);
  BOOST_TEST(b->apply_remote({later}, now + 10 * 60'000).applied == 1u);
}

BOOST_AUTO_TEST_CASE(store_digest_equals_the_reference_model) {
  for (uint64_t seed : {1, 2, 3, 4}) {
    temp_dir tmp;
    auto a = open_store(tmp / "a", na);
    std::mt19937_64 rng(seed);
    random_writes(*a, rng, 400, 25, "c", 1 + seed * 3);
    random_writes(*a, rng, 100, 5, "d", 4);
    auto r = replica_of(*a);
    BOOST_TEST(must_digest(*a) == r.digest());
    // the same visible documents and index declarations
    for (auto& [k, st] : r.records()) {
      auto mine = a->state(k.first, k.second);
      BOOST_REQUIRE(mine.ok() && mine->has_value());
      BOOST_TEST(encode(**mine) == encode(st));
      auto g = a->get(k.first, k.second);
      BOOST_TEST(g.ok() == st.alive());
      if (g)
        BOOST_TEST(*g == st.view());
    }
    auto ix = a->indexes();
    BOOST_TEST(ix.size() == r.indexes().size());
    for (auto& [k, is] : r.indexes())
      BOOST_TEST(ix.at(k).active() == is.active());
    BOOST_TEST(*a->count_records(false) == r.records().size());
  }
}

BOOST_AUTO_TEST_CASE(two_stores_exchanging_operations_converge) {
  temp_dir tmp;
  auto a = open_store(tmp / "a", na);
  auto b = open_store(tmp / "b", nb);
  uint64_t t = now_ms();
  // common history
  must(*a, w_insert("c", rec(1), {{"title", "start"}}), t);
  must(*a, w_insert("c", rec(2), {{"title", "two"}}), t);
  must(*a, w_insert("c", rec(3), {{"title", "three"}}), t);
  must(*a, w_add("c", rec(3), "tags", "x"), t);
  must(*a, w_add("c", rec(3), "tags", "y"), t);
  must(*a, w_insert("c", rec(4), {{"title", "four"}}), t);
  must(*a, w_inc("c", rec(1), "votes", 1), t);
  sync(*a, *b);
  BOOST_TEST(must_digest(*a) == must_digest(*b));

  // concurrent edits, each side unaware of the other
  auto sa = must(*a, w_set("c", rec(1), "title", "from-a"), t + 1);
  auto sb = must(*b, w_set("c", rec(1), "title", "from-b"), t + 2);
  must(*a, w_inc("c", rec(1), "votes", 2), t + 1);
  must(*b, w_inc("c", rec(1), "votes", 3), t + 2);
  must(*b, w_inc("c", rec(1), "votes", -10), t + 2);
  must(*a, w_add("c", rec(3), "tags", "x"), t + 1);     // a fresh tag for x
  must(*b, w_remove("c", rec(3), "tags", "x"), t + 2);  // removes only the tag b observed
  must(*b, w_remove("c", rec(3), "tags", "y"), t + 2);
  must(*b, w_add("c", rec(3), "tags", "z"), t + 2);
  must(*b, w_set("c", rec(4), "note", "edited before"), t + 2);   // an update ...
  must(*a, w_erase("c", rec(4)), t + 5);                          // ... racing a later delete
  must(*a, w_erase("c", rec(2)), t + 5);                          // a delete ...
  must(*b, w_set("c", rec(2), "note", "edited after"), t + 9);    // ... racing a later update
  must(*a, w_insert("c", rec(5), {{"title", "only-a"}}), t + 1);
  must(*b, w_insert("c", rec(6), {{"title", "only-b"}}), t + 1);

  auto ra = sync(*a, *b);
  auto rb = sync(*b, *a);
  BOOST_TEST(ra.applied == 6u);
  BOOST_TEST(rb.applied == 9u);
  BOOST_TEST(a->versions() == b->versions());
  BOOST_TEST(must_digest(*a) == must_digest(*b));
  same_documents(*a, *b, "c");

  // the agreed values
  auto r1 = must_get(*a, "c", rec(1));
  BOOST_TEST(r1["title"] == value(sb.counter > sa.counter ? "from-b" : "from-a"));
  BOOST_TEST(r1["votes"] == value(int64_t{1 + 2 + 3 - 10}));
  BOOST_TEST(must_get(*a, "c", rec(3))["tags"] == value(value_array{"x", "z"}));  // add wins
  BOOST_TEST(must_get(*a, "c", rec(2)) == (value_map{{"note", "edited after"}}));  // resurrected, old fields gone
  BOOST_TEST(a->get("c", rec(4)).error().code == errc::unknown_record);             // the later delete wins
  BOOST_TEST(must_get(*b, "c", rec(5))["title"] == value("only-a"));
  BOOST_TEST(must_get(*a, "c", rec(6))["title"] == value("only-b"));

  // the concurrent sets were recorded as a conflict (on both sides here)
  auto ca = *a->conflicts();
  auto cb = *b->conflicts();
  BOOST_TEST(ca.size() + cb.size() >= 1u);
  for (auto* cs : {&ca, &cb})
    for (auto& c : *cs) {
      BOOST_TEST(c.record == rec(1));
      BOOST_TEST(c.field == "title");
      BOOST_TEST(c.winner == r1["title"]);
      BOOST_TEST(c.loser != r1["title"]);
    }

  // a third replica receiving the two histories in the other order agrees
  auto c = open_store(tmp / "c", nc);
  auto ob = all_ops(*b, {});
  std::vector<operation> only_b, only_a;
  for (auto& op : ob)
    (op.id.origin == nb ? only_b : only_a).push_back(op);
  BOOST_TEST(c->apply_remote(only_b, now_ms()).applied == only_b.size());
  BOOST_TEST(c->apply_remote(only_a, now_ms()).applied == only_a.size());
  BOOST_TEST(must_digest(*c) == must_digest(*a));
  BOOST_TEST(replica_of(*a).digest() == must_digest(*a));

  // sequential (not concurrent) sets are not conflicts
  a->clear_conflicts("c", nullptr);
  b->clear_conflicts("c", nullptr);
  must(*a, w_set("c", rec(5), "title", "a1"));
  sync(*a, *b);
  must(*b, w_set("c", rec(5), "title", "b1"));
  sync(*b, *a);
  BOOST_TEST(a->conflicts()->empty());
  BOOST_TEST(b->conflicts()->empty());
  BOOST_TEST(must_get(*a, "c", rec(5))["title"] == value("b1"));
}

BOOST_AUTO_TEST_CASE(random_histories_with_partial_syncs_converge) {
  for (uint64_t seed : {11, 12, 13}) {
    temp_dir tmp;
    std::vector<std::unique_ptr<store>> s;
    s.push_back(open_store(tmp / "a", na));
    s.push_back(open_store(tmp / "b", nb));
    s.push_back(open_store(tmp / "c", nc));
    std::mt19937_64 rng(seed);
    for (int round = 0; round < 25; ++round) {
      for (auto& x : s)
        random_writes(*x, rng, rng() % 12, 12, "c", 1 + rng() % 4);
      // a few partial, shuffled, duplicated deliveries
      for (int k = 0; k < 3; ++k) {
        auto& from = *s[rng() % 3];
        auto& to = *s[rng() % 3];
        auto r = from.operations_after(to.versions(), 1 + rng() % 20);
        BOOST_REQUIRE(r.ok());
        auto ops = *r;
        if (!ops.empty() && rng() % 2)
          ops.push_back(ops[rng() % ops.size()]);
        std::shuffle(ops.begin(), ops.end(), rng);
        auto rep = to.apply_remote(ops, now_ms());
        BOOST_TEST(rep.refused.empty());
      }
    }
    // full exchange until quiet
    for (int pass = 0; pass < 2; ++pass)
      for (auto& x : s)
        for (auto& y : s)
          if (x != y)
            sync(*x, *y);
    auto d = must_digest(*s[0]);
    for (auto& x : s) {
      BOOST_TEST(must_digest(*x) == d);
      BOOST_TEST(x->versions() == s[0]->versions());
      BOOST_TEST(must_digest(*x) == replica_of(*x).digest());
      BOOST_TEST(all_records(*x, "c") == all_records(*s[0], "c"));
      same_documents(*x, *s[0], "c");
    }
  }
}

BOOST_AUTO_TEST_CASE(operations_after_returns_exactly_what_is_missing) {
  temp_dir tmp;
  auto a = open_store(tmp / "a", na);
  auto b = open_store(tmp / "b", nb);
  for (int i = 0; i < 10; ++i)
    must(*a, w_insert("c", rec(uint64_t(i)), {{"v", i}}));
  for (int i = 0; i < 4; ++i)
    must(*b, w_insert("c", rec(uint64_t(100 + i)), {{"v", i}}));
  sync(*b, *a);
  version_vector after;
  after.set(na, 7);
  auto ops = all_ops(*a, after);
  BOOST_REQUIRE_EQUAL(ops.size(), 3u + 4u);
  std::vector<dot> got;
  for (auto& op : ops)
    got.push_back(op.id);
  std::vector<dot> want = {{na, 8}, {na, 9}, {na, 10}, {nb, 1}, {nb, 2}, {nb, 3}, {nb, 4}};
  if (nb < na)
    std::rotate(want.begin(), want.begin() + 3, want.end());
  BOOST_TEST(got == want, "dots in (origin, seq) order");
  auto capped = a->operations_after(after, 2);
  BOOST_REQUIRE(capped.ok());
  BOOST_TEST(capped->size() == 2u);
  BOOST_TEST((*capped)[0].id == want[0]);
  BOOST_TEST((*capped)[1].id == want[1]);
  BOOST_TEST(all_ops(*a, a->versions()).empty());
  auto ahead = a->versions();
  ahead.set(na, 50);  // a vector ahead of ours asks for nothing of that origin
  BOOST_TEST(all_ops(*a, ahead).size() == 0u);
}
