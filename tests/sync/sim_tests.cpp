// Deterministic simulation of sync (DESIGN §10): 3–7 devices, each linked to
// a relay (an ordinary replica) by a pair of sync sessions, under a seeded
// scheduler that delays messages, breaks links (a dropped message on a
// stream breaks the connection: both sides get on_disconnect and reconnect
// later), partitions links for a while, delivers stale copies of messages
// from earlier connections late (duplicated and reordered across
// reconnects), and crash-restarts replicas (session state lost, store kept),
// while every replica keeps writing random operations (as in
// tests/core/property_tests.cpp). After the faults stop the system runs to
// quiescence; every replica must then hold every operation and have the
// digest of a reference replica that applied them all. In a third of the
// seeds one device syncs collection "d" only (partial sync): it must hold
// exactly the "d" operations, with every other operation covered.
//
// Compaction: replicas fold random prefixes of their logs into the records
// (the relay more often); a peer behind the compaction point catches up from
// a snapshot and then the log. In half of the seeds the last device joins
// late (it writes offline first), typically after the relay compacted.
//
// Every message goes through the wire codec (encode/decode_envelope).
//
// Environment:
//   BLAZE_SIM_SEEDS=N   run seeds 1..N (default 1000)
//   BLAZE_SIM_SEED=S    run only seed S (printed on failure)
#define BOOST_TEST_MODULE sync_sim_tests
#include <boost/test/unit_test.hpp>

#include "../core/test_util.hpp"
#include "mem_store.hpp"

#include "core/sync_session.hpp"
#include "core/write.hpp"

#include <chrono>
#include <cstdlib>
#include <deque>
#include <limits>
#include <memory>
#include <optional>
#include <random>
#include <sstream>

using namespace blaze;
using namespace blaze::sync;
using blaze::test::mem_store;

namespace {

// ---- random writes (as tests/core/property_tests.cpp) -------------------------

const std::vector<std::string> collections = {"c", "c", "c", "d"};
const std::vector<std::string> field_names = {"a", "b", "n"};
constexpr uint64_t record_count = 4;

value random_value(std::mt19937_64& rng) {
  switch (rng() % 12) {
    case 0: return value{};
    case 1: return value{rng() % 2 == 0};
    case 2: return value{static_cast<int64_t>(rng() % 5) - 2};
    case 3: return value{2.5};
    case 4: return value{-0.0};
    case 5: return value{std::string(1, static_cast<char>('x' + rng() % 3))};
    case 6: return value{bytes{std::string(1, static_cast<char>(rng() % 2))}};
    case 7: return value{time_point{static_cast<int64_t>(rng() % 3)}};
    case 8: return value{uuid{{0, rng() % 2}}};
    case 9: return value{value_array{value{1}, value{"x"}}};
    case 10: return value{std::string(20 + rng() % 200, 'p')};  // bigger ops: several batches
    default: return value{value_map{{"k", value{static_cast<int64_t>(rng() % 2)}}}};
  }
}

int64_t random_delta(std::mt19937_64& rng) {
  switch (rng() % 10) {
    case 0: return std::numeric_limits<int64_t>::min();
    case 1: return std::numeric_limits<int64_t>::max();
    default: return static_cast<int64_t>(rng() % 11) - 5;
  }
}

blaze::write random_write(std::mt19937_64& rng, const test::state_model& r, const std::vector<std::string>& only) {
  blaze::write w;
  w.collection = collections[rng() % collections.size()];
  if (!only.empty())
    w.collection = only[rng() % only.size()];
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
    return w;
  }
  if (pick >= 96) {
    w.k = rng() % 2 ? blaze::write::kind::create_index : blaze::write::kind::drop_index;
    w.field = field();
    return w;
  }
  std::vector<record_id> alive;
  for (auto& [k, st] : r.records())
    if (k.first == w.collection && st.alive())
      alive.push_back(k.second);
  if (!alive.empty() && rng() % 8 != 0) {
    w.record = alive[rng() % alive.size()];
  } else if (alive.empty()) {
    w.k = blaze::write::kind::insert;
    w.fields = fields();
    return w;
  }
  if (pick < 26) {
    w.k = blaze::write::kind::update;
    w.fields = fields();
  } else if (pick < 40) {
    w.k = blaze::write::kind::set;
    w.field = field();
    w.val = random_value(rng);
  } else if (pick < 56) {
    w.k = blaze::write::kind::increment;
    w.field = field();
    w.delta = random_delta(rng);
  } else if (pick < 72) {
    w.k = blaze::write::kind::add;
    w.field = field();
    w.val = random_value(rng);
  } else if (pick < 88) {
    w.k = blaze::write::kind::remove;
    w.field = field();
    w.val = random_value(rng);
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

// ---- the simulated world ------------------------------------------------------

struct sim_node {
  node_id id;
  std::vector<std::string> filter;  // partial sync: the collections it holds (empty: all)
  mem_store store;
  hybrid_clock clock;
  uint64_t seq = 0;
  int64_t skew = 0;
  sim_node(node_id n, std::vector<std::string> f) : id(n), filter(f), store(std::move(f)), clock(n) {}
};

struct msg {
  uint64_t at = 0;
  std::string bytes;
};

/// Device `device` <-> the relay (node 0).
struct sim_link {
  size_t device = 0;
  std::unique_ptr<session> dev, rel;  // the device's and the relay's session
  bool up = false;
  uint64_t down_until = 0;
  std::deque<msg> to_rel, to_dev;     // the live connection, in order
  std::vector<std::string> stale_rel, stale_dev;  // copies from earlier connections
};

struct params {
  size_t devices = 3;
  uint64_t fault_until = 0;  // ms: writes and faults stop here
  unsigned write_per_mille = 0;
  unsigned break_per_mille = 0;
  unsigned crash_per_mille = 0;
  unsigned stale_per_mille = 0;
  unsigned dup_per_mille = 0;
  unsigned compact_per_mille = 0;  // per node and step (the relay: 4x)
  uint64_t late_join = 0;          // ms: the last device's link is down until then (0: no late joiner)
  uint64_t max_delay = 0;
  uint64_t max_partition = 0;
  size_t max_batch = 0;
  size_t window = 0;
};

class world {
public:
  world(uint64_t seed) : rng_(seed) {
    p_.devices = 3 + rng_() % 5;
    p_.fault_until = 2000 + rng_() % 4000;
    p_.write_per_mille = 20 + rng_() % 60;
    p_.break_per_mille = rng_() % 6;
    p_.crash_per_mille = rng_() % 2;
    p_.stale_per_mille = rng_() % 60;
    p_.dup_per_mille = rng_() % 30;
    p_.max_delay = 1 + rng_() % 40;
    p_.max_partition = 10 + rng_() % 1500;
    p_.max_batch = 100 + rng_() % 2000;
    p_.window = p_.max_batch + rng_() % 6000;
    p_.compact_per_mille = rng_() % 4;
    if (rng_() % 2 == 0)
      p_.late_join = p_.fault_until / 2 + rng_() % (p_.fault_until / 2 + 1000);
    // in a third of the seeds device 1 syncs collection "d" only
    bool partial = rng_() % 3 == 0;
    for (size_t i = 0; i <= p_.devices; ++i) {
      std::vector<std::string> filter;
      if (partial && i == 1)
        filter = {"d"};
      nodes_.push_back(std::make_unique<sim_node>(test::node(0x100 + i), filter));
      nodes_.back()->skew = static_cast<int64_t>(rng_() % 11) - 5;
    }
    for (size_t d = 1; d <= p_.devices; ++d) {
      links_.push_back(std::make_unique<sim_link>());
      links_.back()->device = d;
      make_sessions(*links_.back());
    }
    if (p_.late_join)
      links_.back()->down_until = p_.late_join;
  }

  /// Runs the faulty phase, then to quiescence; "" or what went wrong.
  std::string run() {
    uint64_t t = 0;
    while (t < p_.fault_until) {
      t += 1 + rng_() % 5;
      if (auto e = step(t, true); !e.empty())
        return e;
    }
    for (auto& l : links_) {
      l->stale_dev.clear();
      l->stale_rel.clear();
    }
    // quiescence: every link up and open, nothing in flight, for a while
    uint64_t quiet = 0, limit = t + 200'000;
    while (t < limit) {
      t += 1 + rng_() % 5;
      if (auto e = step(t, false); !e.empty())
        return e;
      bool idle = true;
      for (auto& l : links_)
        idle = idle && l->up && l->dev->is_open() && l->rel->is_open() && l->to_dev.empty() &&
               l->to_rel.empty();
      quiet = idle ? quiet + 1 : 0;
      if (quiet >= 20)
        return check();
    }
    return "no quiescence by t=" + std::to_string(t) + " ms";
  }

  std::string describe() const {
    std::ostringstream os;
    os << p_.devices << " devices, faults until " << p_.fault_until << " ms, write/break/crash/stale/dup "
       << p_.write_per_mille << "/" << p_.break_per_mille << "/" << p_.crash_per_mille << "/"
       << p_.stale_per_mille << "/" << p_.dup_per_mille << " per mille, batch " << p_.max_batch
       << " B, window " << p_.window << (nodes_[1]->filter.empty() ? "" : ", device 1 partial (d)")
       << ", compact " << p_.compact_per_mille << " per mille";
    if (p_.late_join)
      os << ", device " << p_.devices << " joins at " << p_.late_join << " ms";
    os << "; " << writes_ << " writes, " << breaks_ << " link breaks, " << crashes_ << " crashes, " << stale_
       << " stale deliveries, " << compactions_ << " compactions (" << compacted_ << " ops), " << snapshots_
       << " snapshots joined";
    return os.str();
  }

  uint64_t writes_ = 0, breaks_ = 0, crashes_ = 0, stale_ = 0, compactions_ = 0, compacted_ = 0, snapshots_ = 0;

private:
  void make_sessions(sim_link& l) {
    auto dev = session_options{};
    dev.database = "db";
    dev.self = nodes_[l.device]->id;
    dev.initiator = true;
    dev.collections = nodes_[l.device]->filter;
    dev.max_batch_bytes = p_.max_batch;
    dev.window_bytes = p_.window;
    dev.ping_interval = 500;
    dev.idle_timeout = 5000;
    auto rel = dev;
    rel.self = nodes_[0]->id;
    rel.initiator = false;
    rel.collections.clear();
    rel.compress = rng_() % 2 == 0;
    if (!l.dev)
      l.dev = std::make_unique<session>(nodes_[l.device]->store, dev);
    if (!l.rel)
      l.rel = std::make_unique<session>(nodes_[0]->store, rel);
  }

  uint64_t delay(std::deque<msg>& q, uint64_t t) {
    uint64_t at = t + rng_() % (p_.max_delay + 1);
    if (!q.empty() && q.back().at > at)
      at = q.back().at;  // a stream delivers in order
    return at;
  }

  void enqueue(sim_link& l, bool to_rel, const std::vector<envelope>& out, uint64_t t) {
    auto& s = to_rel ? *l.dev : *l.rel;
    auto& q = to_rel ? l.to_rel : l.to_dev;
    for (auto& e : out) {
      // resume invariant: nothing the peer acknowledged is sent again
      if (auto* b = std::get_if<op_batch>(&e.msg); b && violation_.empty())
        for (auto& r : b->ranges)
          if (r.after < s.acknowledged().get(r.origin))
            violation_ = "a batch resends operations of " + r.origin.to_hex() + " after " +
                         std::to_string(r.after) + " that the peer acknowledged through " +
                         std::to_string(s.acknowledged().get(r.origin));
      q.push_back({delay(q, t), encode(e, s.compress_to_peer())});
    }
  }

  /// Tells every session of node `n` except `except` that the store changed.
  void notify(size_t n, const session* except, uint64_t t) {
    for (auto& l : links_) {
      if (!l->up)
        continue;
      if (l->device == n && l->dev.get() != except)
        enqueue(*l, true, l->dev->on_local_commit(), t);
      if (n == 0 && l->rel.get() != except)
        enqueue(*l, false, l->rel->on_local_commit(), t);
    }
  }

  void break_link(sim_link& l, bool keep_stale) {
    if (!l.up)
      return;
    ++breaks_;
    if (keep_stale) {
      for (auto& m : l.to_rel)
        if (rng_() % 3 == 0)
          l.stale_rel.push_back(m.bytes);
      for (auto& m : l.to_dev)
        if (rng_() % 3 == 0)
          l.stale_dev.push_back(m.bytes);
    }
    l.to_rel.clear();
    l.to_dev.clear();
    l.dev->on_disconnect();
    l.rel->on_disconnect();
    l.up = false;
  }

  /// Delivers `bytes` to one side of `l`; "" or an error.
  std::string deliver(sim_link& l, bool to_rel, const std::string& bytes, uint64_t t) {
    auto e = decode_envelope(bytes);
    if (!e.ok())
      return "decode of a sent envelope failed: " + e.error().to_string();
    auto& s = to_rel ? *l.rel : *l.dev;
    size_t n = to_rel ? 0 : l.device;
    uint64_t before = s.applied_ops(), snaps = s.applied_snapshots();
    enqueue(l, !to_rel, s.on_message(*e), t);
    snapshots_ += s.applied_snapshots() - snaps;
    if (s.applied_ops() != before || s.applied_snapshots() != snaps)
      notify(n, &s, t);
    return "";
  }

  std::string write(size_t n, uint64_t t) {
    auto& node = *nodes_[n];
    auto w = random_write(rng_, node.store.r, node.filter);
    if (auto s = validate(w, limits{}); !s)
      return "generated write fails validation: " + s.to_string();
    auto ts = node.clock.tick(static_cast<uint64_t>(1'000'000 + static_cast<int64_t>(t) + node.skew));
    auto op = make_operation(w, node.store.r.find(w.collection, w.record), dot{node.id, node.seq + 1},
                             ts.counter);
    if (!op) {
      if (op.error().code != errc::unknown_record)
        return "make_operation: " + op.error().to_string();
      return "";
    }
    ++node.seq;
    ++writes_;
    log_.push_back(*op);
    node.store.commit(*op);
    notify(n, nullptr, t);
    return "";
  }

  /// Folds a random prefix of node n's log (per origin, up to everything it
  /// holds, ignoring what peers acknowledged) into its records.
  void compact(size_t n, uint64_t t) {
    auto& node = *nodes_[n];
    version_vector upto;
    auto held = node.store.versions();
    for (auto& [o, seq] : held.entries())
      upto.set(o, rng_() % 3 == 0 ? seq : rng_() % (seq + 1));
    ++compactions_;
    compacted_ += node.store.compact(upto);
    notify(n, nullptr, t);  // peers behind the new base need a snapshot
  }

  std::string step(uint64_t t, bool faults) {
    if (!violation_.empty())
      return violation_;
    if (faults) {
      for (size_t n = 0; n < nodes_.size(); ++n)
        if (rng_() % 1000 < p_.write_per_mille)
          if (auto e = write(n, t); !e.empty())
            return e;
      for (size_t n = 0; n < nodes_.size(); ++n)
        if (rng_() % 1000 < p_.compact_per_mille * (n == 0 ? 4 : 1))
          compact(n, t);
      for (size_t n = 0; n < nodes_.size(); ++n)
        if (rng_() % 1000 < p_.crash_per_mille) {
          // crash-restart: the node's sessions are lost, its store is kept
          ++crashes_;
          for (auto& l : links_)
            if (n == 0 || l->device == n) {
              break_link(*l, true);
              l->down_until = t + rng_() % 300;
              (n == 0 ? l->rel : l->dev).reset();
              make_sessions(*l);
            }
        }
    }
    for (auto& lp : links_) {
      auto& l = *lp;
      if (!l.up) {
        if (t >= l.down_until) {
          l.up = true;
          enqueue(l, true, l.dev->start(), t);
          enqueue(l, false, l.rel->start(), t);
        }
        continue;
      }
      if (faults && rng_() % 1000 < p_.break_per_mille) {
        break_link(l, true);
        l.down_until = t + rng_() % (p_.max_partition + 1);
        continue;
      }
      // late copies from earlier connections
      if (faults && rng_() % 1000 < p_.stale_per_mille) {
        bool to_rel = rng_() % 2;
        auto& pool = to_rel ? l.stale_rel : l.stale_dev;
        if (!pool.empty()) {
          size_t i = rng_() % pool.size();
          auto bytes = pool[i];
          pool.erase(pool.begin() + static_cast<long>(i));
          ++stale_;
          if (auto e = deliver(l, to_rel, bytes, t); !e.empty())
            return e;
        }
      }
      for (bool to_rel : {true, false}) {
        auto& q = to_rel ? l.to_rel : l.to_dev;
        while (l.up && !q.empty() && q.front().at <= t) {
          auto m = std::move(q.front());
          q.pop_front();
          if (faults && rng_() % 1000 < p_.dup_per_mille)
            (to_rel ? l.stale_rel : l.stale_dev).push_back(m.bytes);
          if (auto e = deliver(l, to_rel, m.bytes, t); !e.empty())
            return e;
        }
      }
      enqueue(l, true, l.dev->on_tick(t), t);
      enqueue(l, false, l.rel->on_tick(t), t);
      // a session that closed (an error sent or received, a timeout): the
      // transport drops the connection
      if (l.dev->is_closed() || l.rel->is_closed()) {
        break_link(l, faults);
        l.down_until = t + 1 + rng_() % 50;
      }
    }
    return "";
  }

  std::string check() const {
    replica reference, reference_d;  // every op; the ops of collection "d"
    version_vector all;
    for (auto& n : nodes_)
      all.set(n->id, n->seq);
    for (auto& op : log_) {
      reference.apply(op);
      if (op.collection == "d")
        reference_d.apply(op);
    }
    for (auto& n : nodes_) {
      auto have = n->store.versions();
      if (!(have == all)) {
        std::ostringstream os;
        os << "replica " << n->id.to_hex() << " lacks operations: has";
        for (auto& [o, s] : have.entries())
          os << " " << o.lo << ":" << s;
        os << ", want";
        for (auto& [o, s] : all.entries())
          os << " " << o.lo << ":" << s;
        return os.str();
      }
      auto& want = n->filter.empty() ? reference : reference_d;
      if (n->store.r.digest() != want.digest())
        return "replica " + n->id.to_hex() + " digest differs from the reference" +
               (n->filter.empty() ? "" : " (of collection d)");
      if (!n->filter.empty() && n->store.r.records().size() != reference_d.records().size())
        return "partial replica holds records outside its collections";
    }
    return "";
  }

  std::mt19937_64 rng_;
  std::string violation_;
  std::vector<operation> log_;  // every operation written, for the reference
  params p_;
  std::vector<std::unique_ptr<sim_node>> nodes_;
  std::vector<std::unique_ptr<sim_link>> links_;
};

std::vector<uint64_t> seeds() {
  uint64_t n = 1000;
  if (const char* s = std::getenv("BLAZE_SIM_SEEDS"); s && *s)
    n = std::strtoull(s, nullptr, 10);
  if (const char* s = std::getenv("BLAZE_SIM_SEED"); s && *s)
    return {std::strtoull(s, nullptr, 10)};
  std::vector<uint64_t> out;
  for (uint64_t i = 1; i <= n; ++i)
    out.push_back(i);
  return out;
}

} // namespace

BOOST_AUTO_TEST_CASE(devices_converge_through_a_relay_under_faults) {
  auto all = seeds();
  int failures = 0;
  uint64_t writes = 0, breaks = 0, crashes = 0, stale = 0, compactions = 0, snapshots = 0;
  auto start = std::chrono::steady_clock::now();
  for (uint64_t seed : all) {
    world w(seed);
    auto what = w.run();
    writes += w.writes_;
    breaks += w.breaks_;
    crashes += w.crashes_;
    stale += w.stale_;
    compactions += w.compactions_;
    snapshots += w.snapshots_;
    if (!what.empty()) {
      ++failures;
      if (failures <= 10)
        BOOST_ERROR("seed " << seed << " fails (rerun with BLAZE_SIM_SEED=" << seed << "): " << what
                            << " [" << w.describe() << "]");
    } else if (all.size() == 1) {
      BOOST_TEST_MESSAGE("seed " << seed << ": " << w.describe());
    }
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  BOOST_TEST(failures == 0, failures << " of " << all.size() << " seeds fail");
  BOOST_TEST(writes > all.size());  // the simulation did write
  if (all.size() >= 100) {
    BOOST_TEST(compactions > all.size() / 2);
    BOOST_TEST(snapshots > all.size() / 4);  // replicas behind a compaction caught up from snapshots
  }
  BOOST_TEST_MESSAGE(all.size() << " seeds in " << secs << " s: " << writes << " writes, " << breaks
                                << " link breaks, " << crashes << " crashes, " << stale
                                << " stale deliveries, " << compactions << " compactions, " << snapshots
                                << " snapshots joined");
}
