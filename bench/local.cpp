// The `local` suite (DESIGN §11): write latency and throughput through the
// embedding API, raw RocksDB on the same bytes in the same run, and the
// in-memory merge rate of the CRDT core.
#include "bench/suite.hpp"

#include "core/codec.hpp"
#include "core/keys.hpp"
#include "core/record.hpp"
#include "core/write.hpp"
#include "runtime/node.hpp"
#include "storage/rocksdb_options.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <span>
#include <stdexcept>
#include <thread>

namespace blaze::bench {

namespace {

uint64_t wall_ms() {
  using namespace std::chrono;
  return static_cast<uint64_t>(duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count());
}

const std::string collection = "items";

/// The small record every write benchmark inserts: three fields.
value_map small_record(uint64_t i) {
  return {{"title", "item-" + std::to_string(i)}, {"priority", static_cast<int64_t>(i % 5)}, {"done", i % 2 == 0}};
}

blaze::write insert_write(uint64_t i) { return make_insert(collection, small_record(i)); }

std::unique_ptr<node> open_node(const std::filesystem::path& dir, durability mode) {
  node_options o;
  o.data_dir = dir;
  o.mode = mode;
  return checked(node::open(o), "cannot open a node in " + dir.string());
}

// ---- single-write latency ---------------------------------------------------

struct latency {
  double p50_us, p99_us;
};

/// `count` blocking inserts (after `warm` untimed ones) into a fresh database.
latency latency_run(node& n, const std::string& name, size_t warm, size_t count) {
  auto db = checked(n.open_database(name), "cannot open database " + name);
  for (size_t i = 0; i < warm; ++i)
    checked(db.insert(collection, small_record(i)), "insert");
  std::vector<value_map> docs;
  docs.reserve(count);
  for (size_t i = 0; i < count; ++i)
    docs.push_back(small_record(warm + i));
  std::vector<double> us;
  us.reserve(count);
  for (auto& d : docs) {
    auto t0 = steady::now();
    auto r = db.insert(collection, std::move(d));
    us.push_back(seconds_since(t0) * 1e6);
    checked(std::move(r), "insert");
  }
  std::sort(us.begin(), us.end());
  n.close_database(name);
  return {quantile(us, 0.50), quantile(us, 0.99)};
}

// ---- where single-write latency goes ------------------------------------------

/// The API's request pattern without a database: a fresh scoped_actor per
/// call and a request with a timeout to a trivial actor on the node's actor
/// system (`reuse`: one scoped_actor for every call). Returns the p50 in us.
double roundtrip_run(node& n, size_t count, bool reuse) {
  auto& sys = n.system();
  auto echo = sys.spawn([]() -> caf::behavior { return {[](int64_t x) { return x; }}; });
  std::vector<double> us;
  us.reserve(count);
  std::optional<caf::scoped_actor> kept;
  if (reuse)
    kept.emplace(sys);
  bool ok = true;
  for (size_t i = 0; i < count + count / 10; ++i) {
    auto t0 = steady::now();
    {
      std::optional<caf::scoped_actor> fresh;
      if (!reuse)
        fresh.emplace(sys);
      auto& self = reuse ? *kept : *fresh;
      self->request(echo, std::chrono::seconds(30), static_cast<int64_t>(i))
        .receive([](int64_t) {}, [&](caf::error&) { ok = false; });
    }
    if (i >= count / 10)  // the first tenth warms up
      us.push_back(seconds_since(t0) * 1e6);
  }
  kept.reset();
  caf::anon_send_exit(echo, caf::exit_reason::user_shutdown);
  expect(ok, "echo request failed");
  std::sort(us.begin(), us.end());
  return quantile(us, 0.5);
}

/// roundtrip_run's pattern on a separate actor system whose idle workers skip
/// the 50 us sleep-polling phase of CAF's work-stealing scheduler and wait on
/// their condition variable at once (woken by the next enqueue). Evidence for
/// the latency analysis: the library's node does not use this setting.
double tuned_roundtrip_run(size_t count) {
  caf::actor_system_config cfg;
  cfg.set("work-stealing.moderate-poll-attempts", size_t{0});
  cfg.set("logger.verbosity", caf::atom("quiet"));
  caf::actor_system sys{cfg};
  auto echo = sys.spawn([]() -> caf::behavior { return {[](int64_t x) { return x; }}; });
  std::vector<double> us;
  us.reserve(count);
  bool ok = true;
  for (size_t i = 0; i < count + count / 10; ++i) {
    auto t0 = steady::now();
    {
      caf::scoped_actor self{sys};
      self->request(echo, std::chrono::seconds(30), static_cast<int64_t>(i))
        .receive([](int64_t) {}, [&](caf::error&) { ok = false; });
    }
    if (i >= count / 10)
      us.push_back(seconds_since(t0) * 1e6);
  }
  caf::anon_send_exit(echo, caf::exit_reason::user_shutdown);
  expect(ok, "echo request failed");
  std::sort(us.begin(), us.end());
  return quantile(us, 0.5);
}

/// store::write_local of one insert per call, without actors. Returns the p50 in us.
double store_run(const std::filesystem::path& dir, size_t warm, size_t count) {
  store_options so;
  so.mode = durability::buffered;
  auto st = checked(store::open(dir, new_record_id(), so, std::make_shared<storage_environment>()), "store::open");
  std::vector<blaze::write> ws;
  for (size_t i = 0; i < warm + count; ++i)
    ws.push_back(insert_write(i));
  std::vector<double> us;
  us.reserve(count);
  for (size_t i = 0; i < ws.size(); ++i) {
    auto t0 = steady::now();
    auto r = st->write_local(std::span<const blaze::write>(&ws[i], 1), wall_ms());
    double x = seconds_since(t0) * 1e6;
    expect(r.size() == 1 && r[0].ok(), "store write failed");
    if (i >= warm)
      us.push_back(x);
  }
  std::sort(us.begin(), us.end());
  return quantile(us, 0.5);
}

// ---- batched and concurrent throughput ------------------------------------

std::vector<writes> make_batches(size_t batches, size_t batch_size, uint64_t first) {
  std::vector<writes> out(batches);
  for (size_t b = 0; b < batches; ++b) {
    out[b].reserve(batch_size);
    for (size_t i = 0; i < batch_size; ++i)
      out[b].push_back(insert_write(first + b * batch_size + i));
  }
  return out;
}

/// database::write() of prebuilt batches; returns writes per second.
double batched_run(node& n, const std::string& name, std::vector<writes> batches) {
  auto db = checked(n.open_database(name), "cannot open database " + name);
  auto warm = make_batches(1, batches.empty() ? 1 : batches[0].size(), 1u << 30);
  checked(db.write(std::move(warm[0])), "write");
  size_t total = 0;
  auto t0 = steady::now();
  for (auto& b : batches) {
    total += b.size();
    auto r = checked(db.write(std::move(b)), "write");
    expect(r.empty() || r.front().st.ok(), "batched write failed: " + r.front().st.to_string());
  }
  double secs = seconds_since(t0);
  n.close_database(name);
  return static_cast<double>(total) / secs;
}

/// `total` single-insert write_async requests, `window` of them in flight at
/// any time (each completion issues the next); returns writes per second.
double async_run(node& n, const std::string& name, size_t total, size_t window) {
  struct shared_state {
    explicit shared_state(database d) : db(std::move(d)) {}
    database db;
    std::vector<blaze::write> all;
    std::atomic<size_t> next{0}, done{0}, failed{0};
    std::mutex m;
    std::condition_variable cv;
  };
  auto s = std::make_shared<shared_state>(checked(n.open_database(name), "cannot open database " + name));
  s->all.reserve(total);
  for (size_t i = 0; i < total; ++i)
    s->all.push_back(insert_write(i));

  struct issuer {
    static void issue(const std::shared_ptr<shared_state>& s) {
      size_t i = s->next.fetch_add(1);
      if (i >= s->all.size())
        return;
      writes ws;
      ws.push_back(std::move(s->all[i]));
      s->db.write_async(std::move(ws), [s](result<write_outcomes> r) {
        if (!r || r->empty() || !(*r)[0].st.ok())
          s->failed.fetch_add(1);
        issue(s);
        if (s->done.fetch_add(1) + 1 == s->all.size()) {
          std::lock_guard<std::mutex> g(s->m);
          s->cv.notify_all();
        }
      });
    }
  };
  auto t0 = steady::now();
  for (size_t w = 0; w < window; ++w)
    issuer::issue(s);
  {
    std::unique_lock<std::mutex> lk(s->m);
    s->cv.wait(lk, [&] { return s->done.load() == total; });
  }
  double secs = seconds_since(t0);
  expect(s->failed.load() == 0, std::to_string(s->failed.load()) + " async writes failed");
  n.close_database(name);
  return static_cast<double>(total) / secs;
}

// ---- raw RocksDB on the same bytes ------------------------------------------

/// A RocksDB instance opened with the options every store uses
/// (storage/rocksdb_options.hpp).
struct raw_rocksdb {
  std::shared_ptr<storage_environment> env = std::make_shared<storage_environment>();
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;

  explicit raw_rocksdb(const std::filesystem::path& dir) {
    auto dbo = db_options(*env);
    auto cfs = column_families(*env);
    std::filesystem::create_directories(dir);
    rocksdb::DB* raw = nullptr;
    auto st = rocksdb::DB::Open(dbo, dir.string(), cfs, &handles, &raw);
    expect(st.ok(), "cannot open raw RocksDB: " + st.ToString());
    db.reset(raw);
  }
  ~raw_rocksdb() {
    for (auto* h : handles)
      db->DestroyColumnFamilyHandle(h);
    db->Close();
  }
  rocksdb::ColumnFamilyHandle* records() const { return handles[1]; }
  rocksdb::ColumnFamilyHandle* oplog() const { return handles[2]; }
  rocksdb::ColumnFamilyHandle* meta() const { return handles[4]; }
};

std::string u64_bytes(uint64_t x) {
  std::string s;
  keys::append_u64(s, x);
  return s;
}

/// The WriteBatches store::write_local produces for `batches` of inserts into
/// fresh records: per write the oplog entry (key, encoded operation) and the
/// record (key, encoded state); per batch the clock and the version vector.
struct byte_counts {
  size_t batch = 0;      // WriteBatch data, all batches
  size_t operation = 0;  // encoded operations
  size_t record = 0;     // encoded record states
  size_t writes = 0;
};

std::vector<rocksdb::WriteBatch> same_bytes(const raw_rocksdb& raw, const std::vector<writes>& batches,
                                            byte_counts* counts) {
  node_id self = new_record_id();
  hybrid_clock clk(self);
  uint64_t seq = 0;
  std::vector<rocksdb::WriteBatch> out(batches.size());
  for (size_t b = 0; b < batches.size(); ++b) {
    for (auto& w : batches[b]) {
      dot id{self, ++seq};
      auto op = checked(make_operation(w, nullptr, id, clk.tick(wall_ms()).counter), "make_operation");
      record_state st;
      apply(st, op);
      auto op_bytes = encode(op);
      auto rec_bytes = encode(st);
      out[b].Put(raw.oplog(), keys::oplog(id), op_bytes);
      out[b].Put(raw.records(), keys::record(w.collection, w.record), rec_bytes);
      if (counts) {
        counts->operation += op_bytes.size();
        counts->record += rec_bytes.size();
        ++counts->writes;
      }
    }
    out[b].Put(raw.meta(), "clock", u64_bytes(clk.last()));
    std::string vv_key = "vv/";
    keys::append_u64(vv_key, self.hi);
    keys::append_u64(vv_key, self.lo);
    out[b].Put(raw.meta(), vv_key, u64_bytes(seq));
    if (counts)
      counts->batch += out[b].GetDataSize();
  }
  return out;
}

/// Only DB::Write of the prebuilt batches is timed; returns writes per second.
double raw_run(const std::filesystem::path& dir, const std::vector<writes>& batches, byte_counts* counts) {
  raw_rocksdb raw(dir);
  auto prebuilt = same_bytes(raw, batches, counts);
  size_t total = 0;
  for (auto& b : batches)
    total += b.size();
  rocksdb::WriteOptions wo;  // WAL on, no sync: the store's buffered mode
  {
    // Warm-up batch (not timed), like the API run's.
    auto warm = make_batches(1, batches.empty() ? 1 : batches[0].size(), 1u << 30);
    auto wb = same_bytes(raw, warm, nullptr);
    expect(raw.db->Write(wo, &wb[0]).ok(), "raw write");
  }
  auto t0 = steady::now();
  for (auto& b : prebuilt) {
    auto st = raw.db->Write(wo, &b);
    expect(st.ok(), "raw write: " + st.ToString());
  }
  return static_cast<double>(total) / seconds_since(t0);
}

// ---- field merges -------------------------------------------------------------

struct merge_workload {
  std::vector<operation> ops;
  std::vector<uint32_t> target;  // index of the record each op applies to
  size_t records = 0;
  size_t field_ops = 0;
};

/// Upserts from three origins, each with four field operations (set a string,
/// set an int, increment a counter, add a set element), spread over `records`
/// records. Every set names the previous write as its base (no conflicts).
merge_workload build_merges(size_t n_ops, size_t records) {
  merge_workload w;
  w.records = records;
  std::mt19937_64 rng(42);
  std::vector<node_id> origins = {{1, 11}, {2, 22}, {3, 33}};
  std::vector<uint64_t> seq(origins.size(), 0);
  std::vector<record_id> ids(records);
  for (auto& id : ids)
    id = {rng(), rng()};
  std::vector<timestamp> base_title(records), base_score(records);
  uint64_t counter = wall_ms() << hybrid_clock::logical_bits;
  w.ops.reserve(n_ops);
  w.target.reserve(n_ops);
  for (size_t i = 0; i < n_ops; ++i) {
    size_t o = i % origins.size();
    auto rec = static_cast<uint32_t>(rng() % records);
    operation op;
    op.id = {origins[o], ++seq[o]};
    op.counter = ++counter;
    op.collection = collection;
    op.record = ids[rec];
    op.k = operation::kind::upsert;
    field_op title;
    title.field = "title";
    title.k = field_op::kind::set;
    title.val = "title-" + std::to_string(i);
    title.base = base_title[rec];
    base_title[rec] = op.time();
    field_op score;
    score.field = "score";
    score.k = field_op::kind::set;
    score.val = static_cast<int64_t>(i);
    score.base = base_score[rec];
    base_score[rec] = op.time();
    field_op count;
    count.field = "count";
    count.k = field_op::kind::increment;
    count.delta = 1;
    field_op tag;
    tag.field = "tags";
    tag.k = field_op::kind::add;
    tag.val = "tag-" + std::to_string(i % 8);
    op.fields = {std::move(title), std::move(score), std::move(count), std::move(tag)};
    w.field_ops += op.fields.size();
    w.ops.push_back(std::move(op));
    w.target.push_back(rec);
  }
  return w;
}

/// Applies every operation to fresh in-memory record states, `reps` times
/// (only the apply loops are timed); returns field merges per second.
double merge_run(const merge_workload& w, int reps) {
  double secs = 0;
  for (int r = 0; r < reps; ++r) {
    std::vector<record_state> states(w.records);
    std::vector<conflict> found;
    auto t0 = steady::now();
    for (size_t i = 0; i < w.ops.size(); ++i)
      apply(states[w.target[i]], w.ops[i], &found);
    secs += seconds_since(t0);
    expect(found.empty(), "unexpected conflicts in the merge workload");
  }
  return static_cast<double>(w.field_ops) * reps / secs;
}

} // namespace

int run_local(const options& opts) {
  const int runs = opts.runs;
  const bool q = opts.quick;
  temp_dir tmp("blazedb-bench");
  progress("local suite, " + std::to_string(runs) + " runs per figure" + (q ? " (quick)" : "") + ", data in " +
           tmp.path().string() + ", load average " + load_average() + " (" +
           std::to_string(std::thread::hardware_concurrency()) + " cores)");

  // Single-write latency, buffered.
  if (opts.wants("latency")) {
    const size_t warm = q ? 500 : 2'000, count = q ? 3'000 : 20'000;
    figure p50{"write_latency_p50_us", "us", target::below(20), 1, {}, ""};
    figure p99{"write_latency_p99_us", "us", target::below(200), 1, {}, ""};
    p50.note = p99.note = "blocking database::insert of a 3-field record, buffered, " + std::to_string(count) +
                          " writes per run after " + std::to_string(warm) + " untimed";
    auto dir = tmp.path() / "latency";
    auto n = open_node(dir, durability::buffered);
    for (int r = 0; r < runs; ++r) {
      auto l = latency_run(*n, "lat" + std::to_string(r), warm, count);
      progress("latency run " + std::to_string(r + 1) + ": p50 " + std::to_string(l.p50_us) + " us, p99 " +
               std::to_string(l.p99_us) + " us");
      p50.samples.push_back(l.p50_us);
      p99.samples.push_back(l.p99_us);
    }
    // The parts of that latency, measured alone (informational).
    figure rt{"actor_roundtrip_p50_us", "us", target{}, 1, {}, ""};
    rt.note = "fresh scoped_actor + request with timeout to a trivial actor on the node's actor system, as each "
              "blocking API call does; no storage";
    figure rt_reused{"actor_roundtrip_reused_p50_us", "us", target{}, 1, {}, ""};
    rt_reused.note = "as actor_roundtrip_p50_us with one scoped_actor reused for every request";
    figure rt_tuned{"actor_roundtrip_tuned_scheduler_p50_us", "us", target{}, 1, {}, ""};
    rt_tuned.note = "as actor_roundtrip_p50_us on a separate actor system with work-stealing.moderate-poll-attempts=0 "
                    "(idle workers block on a condition variable instead of sleep-polling every 50 us); not the "
                    "library's setting";
    figure sw{"store_write_p50_us", "us", target{}, 1, {}, ""};
    sw.note = "storage::store::write_local of one 3-field insert per call, buffered, no actors";
    const size_t parts = std::min<size_t>(count, 5'000);
    for (int r = 0; r < runs; ++r) {
      rt.samples.push_back(roundtrip_run(*n, parts, false));
      rt_reused.samples.push_back(roundtrip_run(*n, parts, true));
      rt_tuned.samples.push_back(tuned_roundtrip_run(parts));
      auto sdir = tmp.path() / ("store" + std::to_string(r));
      sw.samples.push_back(store_run(sdir, warm, parts));
      std::filesystem::remove_all(sdir);
      progress("latency parts run " + std::to_string(r + 1) + ": actor roundtrip " +
               std::to_string(rt.samples.back()) + " us (reused scoped_actor " +
               std::to_string(rt_reused.samples.back()) + " us, tuned scheduler " +
               std::to_string(rt_tuned.samples.back()) + " us), store write " + std::to_string(sw.samples.back()) +
               " us");
    }
    n.reset();
    std::filesystem::remove_all(dir);
    report(p50);
    report(p99);
    report(rt);
    report(rt_reused);
    report(rt_tuned);
    report(sw);
  }

  // Batched throughput through the API, and raw RocksDB on the same bytes,
  // alternating run by run so both see the same machine.
  if (opts.wants("batched")) {
    const size_t batch = 1'000, batches = q ? 20 : 50;
    figure api{"batched_write_throughput", "writes/s", target::at_least(300'000), 0, {}, ""};
    figure raw{"raw_rocksdb_write_throughput", "writes/s", target{}, 0, {}, ""};
    figure ratio{"batched_vs_raw_rocksdb_ratio", "ratio", target::at_least(0.5), 3, {}, ""};
    api.note = "database::write() of " + std::to_string(batches) + " batches of " + std::to_string(batch) +
               " inserts, buffered";
    byte_counts bytes;
    auto dir = tmp.path() / "batched";
    auto n = open_node(dir, durability::buffered);
    for (int r = 0; r < runs; ++r) {
      auto b = make_batches(batches, batch, 0);
      auto copy = b;
      double a = batched_run(*n, "batch" + std::to_string(r), std::move(b));
      auto raw_dir = tmp.path() / ("raw" + std::to_string(r));
      bytes = {};
      double w = raw_run(raw_dir, copy, &bytes);
      std::filesystem::remove_all(raw_dir);
      progress("batched run " + std::to_string(r + 1) + ": api " + std::to_string(a) + " writes/s, raw " +
               std::to_string(w) + " writes/s");
      api.samples.push_back(a);
      raw.samples.push_back(w);
      ratio.samples.push_back(a / w);
    }
    raw.note = "rocksdb::DB::Write of prebuilt WriteBatches holding the bytes the store writes (oplog entry and "
               "record per write, clock and version vector per batch; " +
               std::to_string(bytes.batch / bytes.writes) + " bytes per write in the batch: operation " +
               std::to_string(bytes.operation / bytes.writes) + ", record state " +
               std::to_string(bytes.record / bytes.writes) + "), same options, WAL on, no sync";
    ratio.note = "median of per-run ratios, API run and raw run alternating";
    n.reset();
    std::filesystem::remove_all(dir);
    report(api);
    report(raw);
    report(ratio);
  }

  // Many concurrent asynchronous writers: group commit.
  if (opts.wants("async")) {
    const size_t total = q ? 10'000 : 30'000, window = 128;
    figure f{"async_write_throughput", "writes/s", target{}, 0, {}, ""};
    f.note = "write_async of single inserts, " + std::to_string(window) + " requests in flight, " +
             std::to_string(total) + " per run, buffered (group commit)";
    auto dir = tmp.path() / "async";
    auto n = open_node(dir, durability::buffered);
    for (int r = 0; r < runs; ++r) {
      double x = async_run(*n, "async" + std::to_string(r), total, window);
      progress("async run " + std::to_string(r + 1) + ": " + std::to_string(x) + " writes/s");
      f.samples.push_back(x);
    }
    n.reset();
    std::filesystem::remove_all(dir);
    report(f);
  }

  // Field merges in memory.
  if (opts.wants("merges")) {
    // A batch the size of a sync round (10,000 upserts over 200 records, 50
    // each), applied to fresh states again and again: the merge cost.
    const size_t n_ops = 10'000;
    const int reps = q ? 5 : 25;
    figure f{"field_merges_per_s", "merges/s", target::at_least(2'000'000), 0, {}, ""};
    auto w = build_merges(n_ops, n_ops / 50);
    f.note = "core apply() of " + std::to_string(n_ops) + " prebuilt upserts (set, set, increment, add) over " +
             std::to_string(w.records) + " fresh record states, " + std::to_string(reps) +
             " times per run; one merge per field_op";
    // The same over 250,000 upserts on 5,000 records: operations and states
    // no longer fit in the caches (informational).
    const size_t big_ops = q ? 50'000 : 250'000;
    figure big{"field_merges_large_working_set_per_s", "merges/s", target{}, 0, {}, ""};
    auto wb = build_merges(big_ops, big_ops / 50);
    big.note = "as field_merges_per_s with " + std::to_string(big_ops) + " upserts over " +
               std::to_string(wb.records) + " records in one pass (cache-missing working set)";
    for (int r = 0; r < runs; ++r) {
      f.samples.push_back(merge_run(w, reps));
      big.samples.push_back(merge_run(wb, 1));
      progress("merge run " + std::to_string(r + 1) + ": " + std::to_string(f.samples.back()) +
               " merges/s, large working set " + std::to_string(big.samples.back()) + " merges/s");
    }
    report(f);
    report(big);
  }

  // Single-write latency with fsync (informational).
  if (opts.wants("sync")) {
    const size_t warm = q ? 10 : 20, count = q ? 100 : 300;
    figure f{"sync_write_latency_p50_us", "us", target{}, 1, {}, ""};
    f.note = "blocking database::insert, durability::sync (fsync per commit), " + std::to_string(count) +
             " writes per run";
    auto dir = tmp.path() / "sync";
    auto n = open_node(dir, durability::sync);
    for (int r = 0; r < runs; ++r) {
      auto l = latency_run(*n, "sync" + std::to_string(r), warm, count);
      progress("sync run " + std::to_string(r + 1) + ": p50 " + std::to_string(l.p50_us) + " us");
      f.samples.push_back(l.p50_us);
    }
    n.reset();
    std::filesystem::remove_all(dir);
    report(f);
  }
  progress("done, load average " + load_average());
  return 0;
}

} // namespace blaze::bench
