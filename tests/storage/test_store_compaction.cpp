// storage: log compaction, known peers' acknowledgements and the compaction
// point, snapshot read points, staging and joining received snapshots (DESIGN
// §5, docs/protocol.md §5a) — on real RocksDB directories.
#include "store_test_util.hpp"

#include "core/keys.hpp"

#include <algorithm>

using namespace blaze;
using namespace blaze::test;

namespace {

const node_id na = node(0xa);
const node_id nb = node(0xb);
const node_id nc = node(0xc);

/// Reads a whole snapshot of `s` in chunks of about `max_bytes`.
struct read_snapshot {
  version_vector versions;
  std::vector<index_decl> indexes;
  std::vector<std::vector<snapshot_entry>> chunks;
};
read_snapshot read_all(const store& s, size_t max_bytes, const std::vector<std::string>& collections = {}) {
  read_snapshot out;
  auto h = s.open_snapshot(collections);
  BOOST_REQUIRE_MESSAGE(h.ok(), (h ? "" : h.error().to_string()));
  out.versions = (*h)->versions();
  out.indexes = (*h)->indexes();
  for (bool last = false; !last;) {
    auto c = s.snapshot_next(**h, max_bytes, last);
    BOOST_REQUIRE_MESSAGE(c.ok(), (c ? "" : c.error().to_string()));
    out.chunks.push_back(std::move(*c));
    BOOST_REQUIRE(out.chunks.size() < 100000u);
  }
  return out;
}

/// Stages and joins `snap` (as received from `from`) into `to`.
snapshot_report receive(store& to, const node_id& from, const read_snapshot& snap,
                        const std::vector<std::string>& collections = {}, std::vector<change>* changes = nullptr) {
  for (size_t i = 0; i < snap.chunks.size(); ++i) {
    auto s = to.stage_snapshot(from, snap.versions, snap.chunks[i],
                               i == 0 ? snap.indexes : std::vector<index_decl>{});
    BOOST_REQUIRE_MESSAGE(s.ok(), s.to_string());
  }
  auto r = to.merge_snapshot(from, snap.versions, now_ms(), collections, changes);
  BOOST_REQUIRE_MESSAGE(r.ok(), (r ? "" : r.error().to_string()));
  return *r;
}

size_t log_size(const store& s, const node_id& origin) {
  size_t n = 0;
  version_vector none;
  auto ops = s.oplog_after(none, std::numeric_limits<size_t>::max());
  BOOST_REQUIRE(ops.ok());
  for (auto& l : *ops)
    n += l.id.origin == origin;
  return n;
}

} // namespace

BOOST_AUTO_TEST_CASE(compaction_deletes_the_log_up_to_the_point_and_nothing_else) {
  temp_dir tmp;
  std::vector<operation> history;
  {
    auto a = open_store(tmp / "a", na);
    std::mt19937_64 rng(3);
    random_writes(*a, rng, 200, 12);
    history = all_ops(*a);
    auto d = must_digest(*a);
    auto vv = a->versions();
    const uint64_t n = vv.get(na);  // writes to unknown records consume no seq
    BOOST_REQUIRE(n > 120u);
    version_vector upto;
    upto.set(na, 120);
    upto.set(nc, 50);  // an origin the store does not hold: nothing to do
    auto rep = a->compact(upto);
    BOOST_REQUIRE(rep.ok());
    BOOST_TEST(rep->removed == 120u);
    BOOST_TEST(rep->bytes > 0u);
    BOOST_TEST(rep->kept == n - 120);
    BOOST_TEST(rep->base_before.get(na) == 0u);
    BOOST_TEST(rep->base_after.get(na) == 120u);
    BOOST_TEST(rep->point.get(nc) == 0u);
    BOOST_TEST(a->base().get(na) == 120u);
    BOOST_TEST(a->versions() == vv);  // records and versions unchanged
    BOOST_TEST(must_digest(*a) == d);
    BOOST_TEST(log_size(*a, na) == n - 120);
    // the log read reports the compaction point at its read point
    version_vector base, from;
    from.set(na, 100);
    auto l = a->oplog_after(from, 1 << 20, &base);
    BOOST_REQUIRE(l.ok());
    BOOST_TEST(base.get(na) == 120u);
    BOOST_TEST(l->front().id.seq == 121u);
    // never past what the store holds, and idempotent
    version_vector all;
    all.set(na, 1000);
    rep = a->compact(all);
    BOOST_REQUIRE(rep.ok());
    BOOST_TEST(rep->removed == n - 120);
    BOOST_TEST(a->base().get(na) == n);
    rep = a->compact(all);
    BOOST_TEST(rep->removed == 0u);
    BOOST_TEST(log_size(*a, na) == 0u);
    // writes continue after the base
    must(*a, w_insert("c", rec(1), {{"after", 1}}));
    BOOST_TEST(a->versions().get(na) == n + 1);
    BOOST_TEST(log_size(*a, na) == 1u);
  }
  // the base survives a restart
  auto a = open_store(tmp / "a", na);
  BOOST_TEST(a->base().get(na) + 1 == a->versions().get(na));
  BOOST_TEST(history.size() + 1 == a->versions().get(na));
  replica r;
  for (auto& op : history)
    r.apply(op);
  r.apply(all_ops(*a).back());
  BOOST_TEST(must_digest(*a) == r.digest());
}

BOOST_AUTO_TEST_CASE(the_compaction_point_is_what_every_known_peer_acknowledged) {
  temp_dir tmp;
  {
    auto a = open_store(tmp / "a", na);
    for (int i = 0; i < 10; ++i)
      must(*a, w_insert("c", rec(i), {{"i", i}}));
    // no known peer: nothing holds compaction back
    BOOST_TEST(a->compaction_point() == a->versions());
    version_vector p1, p2;
    p1.set(na, 7);
    p2.set(na, 4);
    p2.set(nb, 3);
    BOOST_TEST(a->record_ack(nb, p1).ok());
    BOOST_TEST(a->record_ack(nc, p2).ok());
    BOOST_TEST(a->compaction_point().get(na) == 4u);
    p2.set(na, 9);  // acks only grow
    BOOST_TEST(a->record_ack(nc, p2).ok());
    version_vector lower;
    lower.set(na, 1);
    BOOST_TEST(a->record_ack(nc, lower).ok());
    BOOST_TEST(a->peer_acks().at(nc).get(na) == 9u);
    BOOST_TEST(a->compaction_point().get(na) == 7u);
  }
  auto a = open_store(tmp / "a", na);
  BOOST_TEST(a->peer_acks().size() == 2u);
  BOOST_TEST(a->compaction_point().get(na) == 7u);
  auto rep = a->compact_known();
  BOOST_REQUIRE(rep.ok());
  BOOST_TEST(rep->peers.size() == 2u);
  BOOST_TEST(rep->removed == 7u);
  BOOST_TEST(a->base().get(na) == 7u);
  // a peer that will not come back stops holding compaction back
  BOOST_TEST(a->forget_peer(nb).ok());
  BOOST_TEST(a->compaction_point().get(na) == 9u);
  a.reset();
  a = open_store(tmp / "a", na);
  BOOST_TEST(a->peer_acks().size() == 1u);
  BOOST_TEST(a->compact_known()->removed == 2u);
}

BOOST_AUTO_TEST_CASE(a_snapshot_reads_one_consistent_point_in_chunks) {
  temp_dir tmp;
  auto a = open_store(tmp / "a", na);
  for (int i = 0; i < 40; ++i)
    must(*a, w_insert(i % 4 == 0 ? "d" : "c", rec(i), {{"i", i}, {"pad", std::string(50, 'x')}}));
  must(*a, w_index("c", "i"));
  must(*a, w_index("d", "i"));
  auto h = a->open_snapshot({});
  BOOST_REQUIRE(h.ok());
  auto at = a->versions();
  // writes after the point do not show
  must(*a, w_insert("c", rec(100), {{"late", true}}));
  must(*a, w_set("c", rec(1), "i", 1000));
  must(*a, w_index("e", "late"));
  BOOST_TEST((*h)->versions() == at);
  BOOST_TEST((*h)->indexes().size() == 2u);
  std::vector<snapshot_entry> all;
  size_t chunks = 0;
  for (bool last = false; !last; ++chunks) {
    auto c = a->snapshot_next(**h, 300, last);
    BOOST_REQUIRE(c.ok());
    BOOST_REQUIRE(!c->empty());
    all.insert(all.end(), c->begin(), c->end());
  }
  BOOST_TEST(chunks > 5u);
  BOOST_TEST(all.size() == 40u);
  for (auto& e : all) {
    BOOST_TEST(e.record != rec(100));
    auto st = decode_record(e.state);
    BOOST_REQUIRE(st.ok());
    if (e.record == rec(1))
      BOOST_TEST(*st->field("i") == value(1));
  }
  BOOST_TEST(std::is_sorted(all.begin(), all.end(), [](auto& x, auto& y) {
    return keys::record(x.collection, x.record) < keys::record(y.collection, y.record);
  }));
  // a collection filter: its records and declarations only
  auto d = read_all(*a, 1 << 20, {"d", "nothing"});
  BOOST_REQUIRE_EQUAL(d.chunks.size(), 1u);
  BOOST_TEST(d.chunks[0].size() == 10u);
  for (auto& e : d.chunks[0])
    BOOST_TEST(e.collection == "d");
  BOOST_REQUIRE_EQUAL(d.indexes.size(), 1u);
  BOOST_TEST(d.indexes[0].collection == "d");
  // an empty database: one empty, last chunk
  auto e = open_store(tmp / "e", nc);
  auto empty = read_all(*e, 100);
  BOOST_REQUIRE_EQUAL(empty.chunks.size(), 1u);
  BOOST_TEST(empty.chunks[0].empty());
}

BOOST_AUTO_TEST_CASE(a_read_point_outliving_its_store_is_harmless) {
  temp_dir tmp;
  std::shared_ptr<store::snapshot_handle> h;
  {
    auto a = open_store(tmp / "a", na);
    must(*a, w_insert("c", rec(1), {{"x", 1}}));
    h = *a->open_snapshot({});
  }  // closes with the read point still open
  auto a = open_store(tmp / "a", na);  // and reopens (the directory is not locked)
  bool last = false;
  BOOST_TEST(!a->snapshot_next(*h, 100, last).ok());
  h.reset();
  BOOST_TEST(a->get("c", rec(1)).ok());
}

BOOST_AUTO_TEST_CASE(a_joined_snapshot_equals_applying_every_operation_and_keeps_local_writes) {
  temp_dir tmp;
  auto a = open_store(tmp / "a", na);
  auto b = open_store(tmp / "b", nb);
  std::mt19937_64 rng(11);
  random_writes(*a, rng, 300, 15);
  sync(*a, *b);  // b holds a's first operations
  uint64_t b_had = b->versions().get(na);
  random_writes(*a, rng, 200, 15);
  for (int i = 0; i < 10; ++i)
    must(*a, w_insert("c", rec(100 + i), {{"x", i}}));
  must(*a, w_index("c", "x"));
  // b's own offline writes, on the same records too
  random_writes(*b, rng, 100, 15);
  for (int i = 0; i < 10; ++i)
    must(*b, w_insert("c", rec(200 + i), {{"x", i}}));
  replica ref;  // every operation of both
  for (auto& op : all_ops(*a))
    ref.apply(op);
  for (auto& op : all_ops(*b, a->versions()))
    ref.apply(op);
  uint64_t a_ops = a->versions().get(na);
  size_t b_own = log_size(*b, nb);
  BOOST_REQUIRE(b_had > 50u && b_had < a_ops);
  BOOST_REQUIRE(a->compact(a->versions())->removed == a_ops);

  std::vector<change> changes;
  auto snap = read_all(*a, 2000);
  BOOST_REQUIRE(snap.chunks.size() > 3u);
  auto rep = receive(*b, na, snap, {}, &changes);
  BOOST_TEST(rep.records > 0u);
  BOOST_TEST(rep.changed > 0u);
  BOOST_TEST(rep.changed <= rep.records);
  BOOST_TEST(changes.size() == rep.changed);
  BOOST_TEST(must_digest(*b) == ref.digest());
  BOOST_TEST(b->versions().get(na) == a_ops);
  BOOST_TEST(b->versions().get(nb) == b_own);
  // b skipped a's operations after b_had: its base rises there, and a's
  // older entries in its log go too
  BOOST_TEST(b->base().get(na) == a_ops);
  BOOST_TEST(b->base().get(nb) == 0u);
  BOOST_TEST(log_size(*b, na) == 0u);
  BOOST_TEST(log_size(*b, nb) == b_own);  // its unsynced writes stay in its log
  BOOST_TEST(b->clock() >= a->clock());
  // the index the snapshot declared was built, over b's records too
  query q;
  q.collection = "c";
  q.where.push_back({"x", cmp::ge, value(int64_t{0})});
  query_stats how;
  auto rows = b->run(q, &how);
  BOOST_REQUIRE(rows.ok());
  BOOST_TEST(how.used_index);
  BOOST_TEST(rows->size() == 20u);
  // a gets b's writes from b's log and converges too
  auto reb = a->apply_remote(all_ops(*b, a->versions()), now_ms());
  BOOST_TEST(reb.refused.empty());
  BOOST_TEST(must_digest(*a) == must_digest(*b));
  // the staging is gone: joining again needs a new staging
  BOOST_TEST(!b->merge_snapshot(na, snap.versions, now_ms()).ok());
  // and everything survives a restart
  auto d = must_digest(*b);
  auto vv = b->versions();
  b.reset();
  b = open_store(tmp / "b", nb);
  BOOST_TEST(must_digest(*b) == d);
  BOOST_TEST(b->versions() == vv);
  BOOST_TEST(b->base().get(na) == a_ops);
}

BOOST_AUTO_TEST_CASE(staging_is_per_peer_and_per_point) {
  temp_dir tmp;
  auto a = open_store(tmp / "a", na);
  auto c = open_store(tmp / "c", nc);
  auto b = open_store(tmp / "b", nb);
  for (int i = 0; i < 30; ++i)
    must(*a, w_insert("c", rec(i), {{"a", i}}));
  for (int i = 0; i < 30; ++i)
    must(*c, w_insert("c", rec(i), {{"c", i}}));
  auto old = read_all(*a, 200);
  for (int i = 30; i < 40; ++i)
    must(*a, w_insert("c", rec(i), {{"a", i}}));
  auto cur = read_all(*a, 200);
  auto fromc = read_all(*c, 200);
  // a chunk of the older point, then the newer snapshot: the old staging goes
  BOOST_REQUIRE(b->stage_snapshot(na, old.versions, old.chunks[0], old.indexes).ok());
  BOOST_TEST(!b->merge_snapshot(na, cur.versions, now_ms()).ok());
  // two peers' snapshots staged side by side
  for (size_t i = 0; i < cur.chunks.size(); ++i) {
    BOOST_REQUIRE(b->stage_snapshot(na, cur.versions, cur.chunks[i], {}).ok());
    if (i < fromc.chunks.size())
      BOOST_REQUIRE(b->stage_snapshot(nc, fromc.versions, fromc.chunks[i], {}).ok());
  }
  for (size_t i = cur.chunks.size(); i < fromc.chunks.size(); ++i)
    BOOST_REQUIRE(b->stage_snapshot(nc, fromc.versions, fromc.chunks[i], {}).ok());
  BOOST_REQUIRE(b->stage_snapshot(na, cur.versions, cur.chunks[1], {}).ok());  // a duplicate
  BOOST_REQUIRE(b->merge_snapshot(na, cur.versions, now_ms()).ok());
  BOOST_REQUIRE(b->merge_snapshot(nc, fromc.versions, now_ms()).ok());
  BOOST_TEST(*b->count_records() == 40u);
  BOOST_TEST(must_get(*b, "c", rec(3)) == (value_map{{"a", 3}, {"c", 3}}));
  BOOST_TEST(b->versions().get(na) == 40u);
  BOOST_TEST(b->versions().get(nc) == 30u);
  // garbage is refused and stages nothing
  auto bad = cur.chunks[0];
  bad[0].state = "junk";
  BOOST_TEST(b->stage_snapshot(na, cur.versions, bad, {}).code == errc::corrupt);
}

BOOST_AUTO_TEST_CASE(far_future_states_refuse_the_snapshot) {
  temp_dir tmp;
  auto a = open_store(tmp / "a", na);
  auto b = open_store(tmp / "b", nb);
  uint64_t later = now_ms() + 10 * 60'000;
  must(*a, w_insert("c", rec(1), {{"x", 1}}), later);
  auto snap = read_all(*a, 1000);
  BOOST_REQUIRE(b->stage_snapshot(na, snap.versions, snap.chunks[0], {}).ok());
  auto r = b->merge_snapshot(na, snap.versions, now_ms());
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().code == errc::clock_skew);
  BOOST_TEST(*b->count_records(false) == 0u);
  BOOST_TEST(b->versions().get(na) == 0u);
  // accepted once wall time caught up (the staging was kept, across a restart too)
  must(*b, w_insert("c", rec(2), {{"own", 1}}));
  b.reset();
  b = open_store(tmp / "b", nb);
  BOOST_TEST(b->versions().get(nb) == 1u);
  BOOST_TEST(b->merge_snapshot(na, snap.versions, later).ok());
  BOOST_TEST(b->get("c", rec(1)).ok());
  BOOST_TEST(b->get("c", rec(2)).ok());
}

BOOST_AUTO_TEST_CASE(a_partial_replica_joins_its_collections) {
  temp_dir tmp;
  auto a = open_store(tmp / "a", na);
  auto b = open_store(tmp / "b", nb);
  for (int i = 0; i < 20; ++i)
    must(*a, w_insert(i % 2 ? "c" : "d", rec(i), {{"i", i}}));
  a->compact(a->versions());
  auto snap = read_all(*a, 1 << 20, {"d"});
  receive(*b, na, snap, {"d"});
  BOOST_TEST(b->partial() == std::vector<std::string>{"d"});
  BOOST_TEST(*b->count_records() == 10u);
  BOOST_TEST(b->versions().get(na) == 20u);
}
