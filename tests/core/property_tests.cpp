// Property tests of the merge laws (DESIGN §4, §10): the replicated state is
// a function of the *set* of operations applied — any order, any duplication,
// any grouping gives the same digest and the same visible documents.
//
// Each case is generated from a seed: 2–4 generator replicas issue random
// writes through make_operation() against their own current state on a few
// record ids and field names (so kinds, deletes and concurrent writes clash
// often), and exchange operations in per-origin order (as storage does).
// The union of all operations is then applied to fresh replicas in random
// permutations with random duplicates. State joins (record.hpp merge(), used
// by snapshots) are checked against applying the union of per-origin
// prefixes.
//
// Environment:
//   BLAZE_PROPERTY_CASES=N   number of seeded cases (default 10000)
//   BLAZE_PROPERTY_SEED=S    run only the case with seed S (printed on failure)
#define BOOST_TEST_MODULE core_property_tests
#include <boost/test/unit_test.hpp>

#include "test_util.hpp"

#include "core/codec.hpp"
#include "core/replica.hpp"
#include "core/write.hpp"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <limits>
#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

using namespace blaze;

namespace {

// ---- configuration ----------------------------------------------------------

struct config {
  uint64_t cases = 10000;
  std::optional<uint64_t> only_seed;
};

config read_config() {
  config c;
  if (const char* s = std::getenv("BLAZE_PROPERTY_CASES"); s && *s)
    c.cases = std::strtoull(s, nullptr, 10);
  if (const char* s = std::getenv("BLAZE_PROPERTY_SEED"); s && *s)
    c.only_seed = std::strtoull(s, nullptr, 10);
  return c;
}

/// Seeds of the configured cases: 1..cases, or the single requested seed.
std::vector<uint64_t> seeds() {
  auto c = read_config();
  std::vector<uint64_t> out;
  if (c.only_seed) {
    out.push_back(*c.only_seed);
  } else {
    out.reserve(c.cases);
    for (uint64_t s = 1; s <= c.cases; ++s)
      out.push_back(s);
  }
  return out;
}

// ---- failure reporting ------------------------------------------------------

/// Collects the first failure of a case; the test reports it with the seed.
struct verdict {
  bool ok = true;
  std::string what;
  void fail(const std::string& w) {
    if (ok) {
      ok = false;
      what = w;
    }
  }
};

constexpr int max_reported_failures = 10;

/// Runs `check(seed, verdict&)` for every configured seed; reports failing
/// seeds (at most a few, then a count).
template <class Check> void for_each_seed(const char* law, Check&& check) {
  auto all = seeds();
  int failures = 0;
  auto start = std::chrono::steady_clock::now();
  for (uint64_t seed : all) {
    verdict v;
    check(seed, v);
    if (!v.ok) {
      ++failures;
      if (failures <= max_reported_failures)
        BOOST_ERROR(law << " fails for seed " << seed << " (rerun with BLAZE_PROPERTY_SEED=" << seed
                        << "): " << v.what);
    }
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  BOOST_TEST(failures == 0, law << ": " << failures << " of " << all.size() << " seeds fail");
  BOOST_TEST_MESSAGE(law << ": " << all.size() << " seeded cases in " << secs << " s");
}

// ---- generation -------------------------------------------------------------

const std::vector<std::string> collections = {"c", "c", "c", "d"};
const std::vector<std::string> field_names = {"a", "b", "n"};
constexpr uint64_t record_count = 3;

value random_value(std::mt19937_64& rng) {
  switch (rng() % 14) {
    case 0: return value{};
    case 1: return value{rng() % 2 == 0};
    case 2: return value{static_cast<int64_t>(rng() % 5) - 2};
    case 3: return value{1};
    case 4: return value{1.0};
    case 5: return value{-0.0};
    case 6: return value{0.0};
    case 7: return value{2.5};
    case 8: return value{std::string(1, static_cast<char>('x' + rng() % 3))};
    case 9: return value{bytes{std::string(1, static_cast<char>(rng() % 2))}};
    case 10: return value{time_point{static_cast<int64_t>(rng() % 3)}};
    case 11: return value{uuid{{0, rng() % 2}}};
    case 12: return value{value_array{value{1}, value{"x"}}};
    default: return value{value_map{{"k", value{static_cast<int64_t>(rng() % 2)}}}};
  }
}

int64_t random_delta(std::mt19937_64& rng) {
  switch (rng() % 10) {
    case 0: return std::numeric_limits<int64_t>::min();
    case 1: return std::numeric_limits<int64_t>::max();
    case 2: return 0;
    default: return static_cast<int64_t>(rng() % 11) - 5;
  }
}

struct generator {
  node_id id;
  replica r;
  hybrid_clock clock;
  uint64_t seq = 0;
  int64_t skew_ms = 0;                     // this device's wall-clock error
  std::map<node_id, size_t> received;      // per origin: length of the applied prefix
  generator(node_id n, int64_t skew) : id(n), clock(n), skew_ms(skew) {}
};

struct scenario {
  std::vector<generator> gens;
  std::map<node_id, std::vector<operation>> log;  // per origin, in seq order
  std::vector<operation> all;                     // union of every op
  size_t refused = 0;                             // writes make_operation refused
};

blaze::write random_write(std::mt19937_64& rng, const replica& r) {
  blaze::write w;
  w.collection = collections[rng() % collections.size()];
  w.record = test::rec(1 + rng() % record_count);
  auto field = [&] { return field_names[rng() % field_names.size()]; };
  auto fields = [&] {
    value_map m;
    size_t n = 1 + rng() % 2;
    for (size_t i = 0; i < n; ++i)
      m[field()] = random_value(rng);
    return m;
  };
  unsigned pick = rng() % 100;
  if (pick < 12) {
    w.k = blaze::write::kind::insert;
    w.fields = fields();
    if (rng() % 8 == 0)
      w.fields.clear();
    return w;
  }
  if (pick >= 95) {
    w.k = rng() % 2 ? blaze::write::kind::create_index : blaze::write::kind::drop_index;
    w.field = field();
    return w;
  }
  // The rest need a live record: usually pick one this replica sees alive
  // (sometimes a random id, which make_operation may refuse).
  std::vector<record_id> alive;
  for (auto& [k, st] : r.records())
    if (k.first == w.collection && st.alive())
      alive.push_back(k.second);
  if (!alive.empty() && rng() % 8 != 0) {
    w.record = alive[rng() % alive.size()];
  } else if (alive.empty() && rng() % 4 != 0) {
    w.k = blaze::write::kind::insert;  // nothing to change: create something
    w.fields = fields();
    return w;
  }
  if (pick < 24) {
    w.k = blaze::write::kind::update;
    w.fields = fields();
  } else if (pick < 38) {
    w.k = blaze::write::kind::set;
    w.field = field();
    w.val = random_value(rng);
  } else if (pick < 54) {
    w.k = blaze::write::kind::increment;
    w.field = field();
    w.delta = random_delta(rng);
  } else if (pick < 70) {
    w.k = blaze::write::kind::add;
    w.field = field();
    w.val = random_value(rng);
  } else if (pick < 86) {
    w.k = blaze::write::kind::remove;
    w.field = field();
    w.val = random_value(rng);
    // usually remove an element that is there (in any field)
    if (auto* cur = r.find(w.collection, w.record); cur && rng() % 5 != 0) {
      std::vector<std::pair<std::string, value>> present;
      for (auto& [name, f] : cur->fields)
        for (auto& [e, tags] : f.set.elements)
          present.emplace_back(name, e);
      if (!present.empty()) {
        auto& [name, e] = present[rng() % present.size()];
        w.field = name;
        w.val = e;
      }
    }
  } else {
    w.k = blaze::write::kind::remove_record;
  }
  return w;
}

/// Delivers up to `n` of `origin`'s operations that `g` lacks, in seq order.
void deliver(generator& g, const scenario& sc, const node_id& origin, size_t n) {
  auto it = sc.log.find(origin);
  if (it == sc.log.end())
    return;
  auto& have = g.received[origin];
  for (; have < it->second.size() && n > 0; ++have, --n) {
    auto& op = it->second[have];
    g.clock.observe(op.counter);
    g.r.apply(op);
  }
}

/// Simulates the generator replicas; `v` records a broken invariant of
/// generation itself (a write failing validation, an own op refused).
scenario generate(std::mt19937_64& rng, verdict& v) {
  scenario sc;
  size_t n = 2 + rng() % 3;
  for (size_t i = 0; i < n; ++i)
    sc.gens.emplace_back(test::node(0x100 + i), static_cast<int64_t>(rng() % 11) - 5);
  uint64_t now = 1'000'000 + rng() % 1000;
  size_t steps = 4 + rng() % 50;
  const limits lim;
  for (size_t step = 0; step < steps; ++step) {
    now += rng() % 3;  // often several operations in one millisecond
    auto& g = sc.gens[rng() % n];
    if (rng() % 100 < 65) {
      auto w = random_write(rng, g.r);
      if (auto s = validate(w, lim); !s) {
        v.fail("generated write fails validation: " + s.to_string());
        return sc;
      }
      uint64_t wall = static_cast<uint64_t>(static_cast<int64_t>(now) + g.skew_ms);
      auto ts = g.clock.tick(wall);
      auto op = make_operation(w, g.r.find(w.collection, w.record), dot{g.id, g.seq + 1}, ts.counter);
      if (!op) {
        if (op.error().code != errc::unknown_record) {
          v.fail("make_operation: " + op.error().to_string());
          return sc;
        }
        ++sc.refused;
        continue;
      }
      if (auto s = validate(*op, lim); !s) {
        v.fail("generated operation fails validation: " + s.to_string());
        return sc;
      }
      ++g.seq;
      if (!g.r.apply(*op)) {
        v.fail("own operation refused");
        return sc;
      }
      sc.log[g.id].push_back(*op);
      g.received[g.id] = g.seq;
    } else {
      // pull some operations of another origin, in that origin's order
      auto& other = sc.gens[rng() % n];
      if (&other == &g)
        continue;
      deliver(g, sc, other.id, 1 + rng() % 6);
      // sometimes a relay: forward what `other` had from a third origin
      if (rng() % 3 == 0) {
        auto& third = sc.gens[rng() % n];
        if (&third != &g)
          deliver(g, sc, third.id, other.received[third.id] > g.received[third.id]
                                       ? other.received[third.id] - g.received[third.id]
                                       : 0);
      }
    }
  }
  for (auto& [origin, ops] : sc.log)
    sc.all.insert(sc.all.end(), ops.begin(), ops.end());
  return sc;
}

// ---- comparison -------------------------------------------------------------

std::string describe(const replica::record_key& k) {
  return k.first + "/" + k.second.to_hex();
}

/// Compares two replicas: digest, every record's canonical encoding and
/// visible view, every index declaration. Records the first difference.
void same_state(const replica& want, const replica& got, const std::string& label, verdict& v) {
  if (!v.ok)
    return;
  if (want.records().size() != got.records().size()) {
    v.fail(label + ": " + std::to_string(got.records().size()) + " records instead of " +
           std::to_string(want.records().size()));
    return;
  }
  for (auto& [k, r] : want.records()) {
    auto* other = got.find(k.first, k.second);
    if (!other) {
      v.fail(label + ": missing record " + describe(k));
      return;
    }
    if (encode(r) != encode(*other))
      v.fail(label + ": record " + describe(k) + " state differs");
    if (r.alive() != other->alive())
      v.fail(label + ": record " + describe(k) + " alive differs");
    auto a = r.view(), b = other->view();
    if (compare(value{a}, value{b}) != 0)
      v.fail(label + ": record " + describe(k) + " view " + to_json(b).dump() + " instead of " +
             to_json(a).dump());
  }
  if (want.indexes().size() != got.indexes().size()) {
    v.fail(label + ": index declarations differ");
    return;
  }
  for (auto& [k, s] : want.indexes()) {
    auto it = got.indexes().find(k);
    if (it == got.indexes().end() || it->second.active() != s.active() ||
        it->second.created != s.created || it->second.dropped != s.dropped)
      v.fail(label + ": index " + k.first + "." + k.second + " differs");
  }
  // last, so that a more specific difference above is the one reported
  if (want.digest() != got.digest())
    v.fail(label + ": digests differ");
}

/// Applies `ops` (which may repeat) to `r`, checking that apply() returns
/// true exactly for the first delivery of each dot.
void apply_checked(replica& r, const std::vector<const operation*>& ops, const std::string& label,
                   verdict& v) {
  for (auto* op : ops) {
    bool fresh = !r.has(op->id);
    bool applied = r.apply(*op);
    if (applied != fresh) {
      std::ostringstream m;
      m << label << ": apply returned " << applied << " for " << (fresh ? "a new" : "a repeated")
        << " dot " << op->id.origin.to_hex() << ":" << op->id.seq;
      v.fail(m.str());
      return;
    }
  }
}

replica reference_of(const scenario& sc) {
  replica ref;
  for (auto& op : sc.all)
    ref.apply(op);
  return ref;
}

// ---- the laws -----------------------------------------------------------------

/// Every permutation (with duplicates) of the union gives one state; the
/// generators converge to it too once they have every operation.
void convergence_case(uint64_t seed, verdict& v) {
  std::mt19937_64 rng(seed);
  auto sc = generate(rng, v);
  if (!v.ok)
    return;
  auto ref = reference_of(sc);

  const int permutations = 3;
  for (int p = 0; p < permutations && v.ok; ++p) {
    std::vector<const operation*> order;
    for (auto& op : sc.all)
      order.push_back(&op);
    std::shuffle(order.begin(), order.end(), rng);
    // random duplicates at random places (re-delivery after a reconnect)
    size_t dups = sc.all.empty() ? 0 : rng() % (1 + sc.all.size() / 2);
    for (size_t i = 0; i < dups; ++i) {
      auto* op = &sc.all[rng() % sc.all.size()];
      order.insert(order.begin() + static_cast<long>(rng() % (order.size() + 1)), op);
    }
    replica r;
    std::string label = "permutation " + std::to_string(p);
    apply_checked(r, order, label, v);
    same_state(ref, r, label, v);
  }

  // The generators finish syncing (per-origin order, random interleaving).
  for (auto& g : sc.gens) {
    if (!v.ok)
      break;
    std::vector<node_id> origins;
    for (auto& [o, ops] : sc.log)
      origins.push_back(o);
    while (!origins.empty()) {
      size_t i = rng() % origins.size();
      deliver(g, sc, origins[i], 1 + rng() % 3);
      if (g.received[origins[i]] >= sc.log[origins[i]].size())
        origins.erase(origins.begin() + static_cast<long>(i));
    }
    same_state(ref, g.r, "generator " + g.id.to_hex() + " after full sync", v);
  }
}

/// Commutativity on pairs and triples of operations (often on one record),
/// from a random starting state; associativity as grouping independence:
/// (s·a·b) joined with c equals (s·b·c) joined with a, by exchanging ops.
void commutativity_case(uint64_t seed, verdict& v) {
  std::mt19937_64 rng(seed ^ 0xC0FFEEull);
  auto sc = generate(rng, v);
  if (!v.ok || sc.all.size() < 3)
    return;
  std::vector<size_t> idx(sc.all.size());
  for (size_t i = 0; i < idx.size(); ++i)
    idx[i] = i;
  std::shuffle(idx.begin(), idx.end(), rng);
  // pick a, b, c, preferring operations on one record
  size_t ia = idx[0];
  auto same_record = [&](size_t j) {
    return sc.all[j].collection == sc.all[ia].collection && sc.all[j].record == sc.all[ia].record;
  };
  std::vector<size_t> rest(idx.begin() + 1, idx.end());
  std::stable_partition(rest.begin(), rest.end(), same_record);
  size_t ib = rest[0], ic = rest[1];
  const operation *a = &sc.all[ia], *b = &sc.all[ib], *c = &sc.all[ic];

  // starting state: a random subset of the other operations
  replica base;
  for (size_t k = 2; k < rest.size(); ++k)
    if (rng() % 2)
      base.apply(sc.all[rest[k]]);

  auto run = [&](std::vector<const operation*> ops) {
    replica r = base;
    for (auto* op : ops)
      r.apply(*op);
    return r;
  };
  // pairs
  same_state(run({a, b}), run({b, a}), "pair a,b", v);
  same_state(run({a, c}), run({c, a}), "pair a,c", v);
  // triples: all six orders
  auto want = run({a, b, c});
  same_state(want, run({a, c, b}), "triple acb", v);
  same_state(want, run({b, a, c}), "triple bac", v);
  same_state(want, run({b, c, a}), "triple bca", v);
  same_state(want, run({c, a, b}), "triple cab", v);
  same_state(want, run({c, b, a}), "triple cba", v);
  // grouping: two replicas hold overlapping groups, then exchange everything
  replica left = run({a, b}), right = run({c, b});
  for (auto* op : {c, b})
    left.apply(*op);
  for (auto* op : {a, b})
    right.apply(*op);
  same_state(want, left, "(a b) c", v);
  same_state(want, right, "a (b c)", v);

  // record level: the pure merge commutes without the replica's dedup
  if (a->k != operation::kind::create_index && a->k != operation::kind::drop_index &&
      b->k != operation::kind::create_index && b->k != operation::kind::drop_index &&
      a->collection == b->collection && a->record == b->record) {
    record_state s1, s2;
    apply(s1, *a);
    apply(s1, *b);
    apply(s2, *b);
    apply(s2, *a);
    if (encode(s1) != encode(s2))
      v.fail("record-level apply does not commute");
  }
}

/// Applying an operation twice equals applying it once; replica::apply
/// returns false the second time. Without increments, the pure record merge
/// is idempotent by itself.
void idempotence_case(uint64_t seed, verdict& v) {
  std::mt19937_64 rng(seed ^ 0x1DE4ull);
  auto sc = generate(rng, v);
  if (!v.ok || sc.all.empty())
    return;
  auto ref = reference_of(sc);
  auto before = ref.digest();
  replica twice;
  for (auto& op : sc.all) {
    if (!twice.apply(op))
      v.fail("first apply returned false");
    if (twice.apply(op))
      v.fail("second apply returned true");
  }
  for (size_t i = 0; i < sc.all.size(); i += 1 + rng() % 3)
    if (ref.apply(sc.all[i]))
      v.fail("re-applying an applied operation returned true");
  if (ref.digest() != before)
    v.fail("re-applying changed the digest");
  same_state(reference_of(sc), twice, "apply twice", v);

  for (auto& op : sc.all) {
    if (op.k == operation::kind::create_index || op.k == operation::kind::drop_index)
      continue;
    bool has_increment = std::any_of(op.fields.begin(), op.fields.end(), [](const field_op& f) {
      return f.k == field_op::kind::increment;
    });
    if (has_increment)
      continue;  // counters rely on the replica's dedup by dot (pn_counter.hpp)
    const record_state* cur = ref.find(op.collection, op.record);
    record_state once = cur ? *cur : record_state{};
    record_state again = once;
    apply(again, op);
    if (encode(again) != encode(once)) {
      v.fail("record-level re-apply of a " + std::string(kind_name(op.k)) + " changed the state");
      break;
    }
  }
}

/// Operations survive the wire: decode(encode(op)) re-encodes identically and
/// applies to the same state.
void codec_case(uint64_t seed, verdict& v) {
  std::mt19937_64 rng(seed ^ 0xC0DEull);
  auto sc = generate(rng, v);
  if (!v.ok)
    return;
  replica direct, wire;
  for (auto& op : sc.all) {
    auto bytes = encode(op);
    auto back = decode_operation(bytes);
    if (!back) {
      v.fail("decode of an encoded operation failed: " + back.error().to_string());
      return;
    }
    if (encode(*back) != bytes)
      v.fail("operation re-encodes differently");
    direct.apply(op);
    wire.apply(*back);
  }
  same_state(direct, wire, "after the wire", v);
  for (auto& [k, r] : direct.records()) {
    auto bytes = encode(r);
    auto back = decode_record(bytes);
    if (!back || encode(*back) != bytes)
      v.fail("record " + describe(k) + " does not round trip");
  }
}

// ---- state joins (snapshots) --------------------------------------------------

/// Materialized states without dedup bookkeeping: what a snapshot carries.
struct states {
  std::map<replica::record_key, record_state> records;
  std::map<replica::index_key, index_state> indexes;
};

/// Per origin, how many of its operations (a prefix) a replica holds.
using cut = std::map<node_id, size_t>;

version_vector vv_of(const cut& c) {
  version_vector vv;
  for (auto& [o, n] : c)
    vv.set(o, n);  // seqs are 1..n
  return vv;
}

/// A replica's states and the prefixes behind them.
struct held {
  states s;
  cut has;
};

held held_of(const replica& r, const cut& c) { return {{r.records(), r.indexes()}, c}; }

cut union_of(cut a, const cut& b) {
  for (auto& [o, n] : b)
    a[o] = std::max(a[o], n);
  return a;
}

/// The join a snapshot receiver does: counters by the longer prefix. With
/// `plain`, the version-vector-free join (max of counter totals).
void join(held& into, const held& other, bool plain = false) {
  auto mine = vv_of(into.has), theirs = vv_of(other.has);
  for (auto& [k, r] : other.s.records)
    merge(into.s.records[k], r, plain ? nullptr : &mine, plain ? nullptr : &theirs);
  for (auto& [k, s] : other.s.indexes)
    into.s.indexes[k].merge(s);
  into.has = union_of(into.has, other.has);
}

/// Applies one operation to joined states (the log after a snapshot).
void apply_to(states& s, const operation& op) {
  if (op.k == operation::kind::create_index || op.k == operation::kind::drop_index)
    s.indexes[{op.collection, op.index_field}].apply(op);
  else
    apply(s.records[{op.collection, op.record}], op);
}

uint64_t digest_of(const states& s) {
  const uint64_t seed = fnv1a("blaze");
  uint64_t h = seed;
  for (auto& [k, r] : s.records)
    h += digest_record(seed, k.first, k.second, r);
  for (auto& [k, i] : s.indexes)
    h += digest_index(seed, k.first, k.second, i);
  return h;
}

void same_states(const states& want, const states& got, const std::string& label, verdict& v) {
  if (!v.ok)
    return;
  if (want.records.size() != got.records.size() || want.indexes.size() != got.indexes.size()) {
    v.fail(label + ": " + std::to_string(got.records.size()) + " records / " +
           std::to_string(got.indexes.size()) + " indexes instead of " + std::to_string(want.records.size()) +
           " / " + std::to_string(want.indexes.size()));
    return;
  }
  for (auto& [k, r] : want.records) {
    auto it = got.records.find(k);
    if (it == got.records.end()) {
      v.fail(label + ": missing record " + describe(k));
      return;
    }
    if (encode(r) != encode(it->second)) {
      v.fail(label + ": record " + describe(k) + " state differs (view " + to_json(value{it->second.view()}).dump() +
             " instead of " + to_json(value{r.view()}).dump() + ")");
      return;
    }
  }
  for (auto& [k, s] : want.indexes) {
    auto it = got.indexes.find(k);
    if (it == got.indexes.end() || it->second.created != s.created || it->second.dropped != s.dropped) {
      v.fail(label + ": index " + k.first + "." + k.second + " differs");
      return;
    }
  }
  if (digest_of(want) != digest_of(got))
    v.fail(label + ": digests differ");
}

cut random_cut(std::mt19937_64& rng, const scenario& sc) {
  cut c;
  for (auto& [o, ops] : sc.log)
    c[o] = rng() % 4 == 0 ? ops.size() : rng() % (ops.size() + 1);
  return c;
}

replica apply_cut(const scenario& sc, const cut& c) {
  replica r;
  for (auto& [o, n] : c)
    for (size_t i = 0; i < n; ++i)
      r.apply(sc.log.at(o)[i]);
  return r;
}

held held_cut(const scenario& sc, const cut& c) { return held_of(apply_cut(sc, c), c); }

/// Whether any increment of the scenario makes a counter total wrap (a
/// delta of ±2^63): the version-vector-free join is exact only without.
bool totals_may_wrap(const scenario& sc) {
  for (auto& op : sc.all)
    for (auto& f : op.fields)
      if (f.k == field_op::kind::increment &&
          (f.delta == std::numeric_limits<int64_t>::min() || f.delta == std::numeric_limits<int64_t>::max()))
        return true;
  return false;
}

/// apply(A) ⊔ apply(B) == apply(A ∪ B) for per-origin prefixes A and B (random
/// cuts, and the generator replicas' own states); the join commutes,
/// associates and is idempotent; applying the rest of the log after a join
/// gives the full state (a replica catching up from a snapshot).
void join_case(uint64_t seed, verdict& v) {
  std::mt19937_64 rng(seed ^ 0x5A4Bull);
  auto sc = generate(rng, v);
  if (!v.ok)
    return;
  cut ca = random_cut(rng, sc), cb = random_cut(rng, sc), cc = random_cut(rng, sc);
  auto a = held_cut(sc, ca), b = held_cut(sc, cb), c = held_cut(sc, cc);

  held ab = a;
  join(ab, b);
  same_states(held_cut(sc, union_of(ca, cb)).s, ab.s, "A join B vs apply(A u B)", v);
  held ba = b;
  join(ba, a);
  same_states(ab.s, ba.s, "A join B vs B join A", v);
  held ab_c = ab, a_bc = a, bc = b;
  join(ab_c, c);
  join(bc, c);
  join(a_bc, bc);
  same_states(ab_c.s, a_bc.s, "(A join B) join C vs A join (B join C)", v);
  same_states(held_cut(sc, union_of(union_of(ca, cb), cc)).s, ab_c.s, "A join B join C", v);
  held aa = a;
  join(aa, a);
  same_states(a.s, aa.s, "A join A", v);
  held empty;
  join(empty, a);
  same_states(a.s, empty.s, "{} join A", v);
  if (!totals_may_wrap(sc)) {
    held plain = a;
    join(plain, b, true);
    same_states(ab.s, plain.s, "A join B without version vectors", v);
  }

  // the log after the join: every operation beyond the union's prefix
  auto full = reference_of(sc);
  states caught = ab.s;
  for (auto& [o, ops] : sc.log)
    for (size_t i = ab.has[o]; i < ops.size(); ++i)
      apply_to(caught, ops[i]);
  same_states(states{full.records(), full.indexes()}, caught, "A join B, then the rest of the log", v);

  // the generators' own replicas hold per-origin prefixes too
  held all_gens;
  for (auto& g : sc.gens) {
    cut gc;
    for (auto& [o, n] : g.received)
      gc[o] = n;
    join(all_gens, held_of(g.r, gc));
  }
  same_states(held_cut(sc, all_gens.has).s, all_gens.s, "join of the generators", v);
}

} // namespace

BOOST_AUTO_TEST_CASE(generation_is_deterministic_and_busy) {
  // The same seed generates the same operations; cases are not trivial.
  size_t total_ops = 0, deletes = 0, increments = 0, removes = 0, refused = 0;
  for (uint64_t seed = 1; seed <= 200; ++seed) {
    verdict v1, v2;
    std::mt19937_64 r1(seed), r2(seed);
    auto a = generate(r1, v1);
    auto b = generate(r2, v2);
    BOOST_REQUIRE(v1.ok);
    BOOST_REQUIRE(a.all.size() == b.all.size());
    for (size_t i = 0; i < a.all.size(); ++i)
      BOOST_REQUIRE(encode(a.all[i]) == encode(b.all[i]));
    total_ops += a.all.size();
    refused += a.refused;
    for (auto& op : a.all) {
      deletes += op.k == operation::kind::remove_record;
      for (auto& f : op.fields) {
        increments += f.k == field_op::kind::increment;
        removes += f.k == field_op::kind::remove && !f.observed.empty();
      }
    }
  }
  BOOST_TEST_MESSAGE("200 cases: " << total_ops << " ops, " << deletes << " deletes, " << increments
                                   << " increments, " << removes << " observed removes, " << refused
                                   << " refused writes");
  BOOST_TEST(total_ops > 2000u);
  BOOST_TEST(deletes > 100u);
  BOOST_TEST(increments > 300u);
  BOOST_TEST(removes > 50u);
}

BOOST_AUTO_TEST_CASE(convergence_under_permutation_and_duplication) {
  for_each_seed("convergence", convergence_case);
}

BOOST_AUTO_TEST_CASE(commutativity_and_associativity) {
  for_each_seed("commutativity", commutativity_case);
}

BOOST_AUTO_TEST_CASE(idempotence) {
  for_each_seed("idempotence", idempotence_case);
}

BOOST_AUTO_TEST_CASE(wire_round_trip) {
  for_each_seed("wire round trip", codec_case);
}

BOOST_AUTO_TEST_CASE(state_join_equals_the_union_of_operations) {
  for_each_seed("state join", join_case);
}
