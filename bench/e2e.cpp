// The `e2e` suite (issue 4 item 9, docs/security.md §3 and §4): what
// end-to-end encryption costs, each figure next to its reference measured in
// the same run (the machine is shared and noisy):
//
//   rates        per core: Ed25519 sign/verify; seal_operation / open_operation
//                of a one-field update with its encoding, next to the plaintext
//                encode/decode of the same operation and SHA-256 of 140 bytes
//   sync         initial sync over TCP loopback from a writer (the owner) to
//                an invited member for a database created plaintext (signed,
//                not encrypted) and one created sealed (signed and
//                encrypted), runs interleaved; ops/s of each and sealed /
//                plaintext per run
//   propagation  live single writes writer -> member over TCP, p50/p99, plaintext
//                list vs sealed list
//   wire         bytes per one-field update in an OpBatch as sync sends it
//                (signed head included), plaintext vs sealed, uncompressed and
//                compressed, and where a sealed operation's bytes go
#include "bench/suite.hpp"

#include "core/access.hpp"
#include "core/codec.hpp"
#include "core/crypto/aead.hpp"
#include "core/crypto/content_key.hpp"
#include "core/crypto/ed25519.hpp"
#include "core/crypto/sha256.hpp"
#include "core/sealed_op.hpp"
#include "core/sync_codec.hpp"
#include "runtime/database.hpp"
#include "runtime/identity.hpp"
#include "runtime/node.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <map>
#include <cstdio>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>

namespace blaze::bench {

namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

/// Calls `once()` until `seconds` have passed (the clock read every `chunk`
/// calls); returns calls per second.
template <class F> double rate(double seconds, size_t chunk, F&& once) {
  once();  // warm
  uint64_t n = 0;
  auto t0 = steady::now();
  double el = 0;
  do {
    for (size_t i = 0; i < chunk; ++i)
      once();
    n += chunk;
    el = seconds_since(t0);
  } while (el < seconds);
  return static_cast<double>(n) / el;
}

const std::string collection = "items";

// ---- the operation measured -------------------------------------------------------

/// A node id as a real one looks (16 random-looking bytes).
node_id real_node(uint64_t n) { return {0x9e3779b97f4a7c15ull * (n + 1), 0xc2b2ae3d27d4eb4full * (n + 3)}; }

/// A one-field update as an application makes it (tests/e2e's sample): a
/// 16-byte record id, a boolean set over a base written by another node.
operation one_field_update() {
  const uint64_t hlc = (uint64_t{1'764'000'000'000} << 16) | 3;
  operation op;
  op.id = {real_node(11), 1234};
  op.counter = hlc;
  op.collection = "todos";
  op.record = record_id{0x1f2e3d4c5b6a7988ull, 0x0123456789abcdefull};
  op.k = operation::kind::upsert;
  field_op f;
  f.field = "done";
  f.k = field_op::kind::set;
  f.val = value{true};
  f.base = timestamp{hlc - 70000, real_node(12)};
  op.fields.push_back(std::move(f));
  return op;
}

// ---- nodes and access lists -----------------------------------------------------

// A node creates no database without an access list (new_database::open is
// for stores made directly), so there is no "open" mode to compare with.
enum class mode { plaintext, sealed };

const char* mode_name(mode m) {
  switch (m) {
    case mode::plaintext: return "plaintext";
    case mode::sealed: return "sealed";
  }
  return "?";
}

std::unique_ptr<node> open_node(const fs::path& dir) {
  node_options o;
  o.data_dir = dir;
  o.mode = durability::buffered;
  return checked(node::open(o), "cannot open a node in " + dir.string());
}

std::shared_ptr<sync_server> serve_tcp(node& n) {
  serve_options so;
  so.listen = {"tcp://127.0.0.1:0"};
  return checked(n.serve(so), "serve");
}

sync_options only(const std::string& db) {
  sync_options o;
  o.databases = {db};
  return o;
}

std::shared_ptr<store> store_of(const database& db) {
  auto st = db.handles().st.lock();
  expect(static_cast<bool>(st), "the store of " + db.name() + " is closed");
  return st;
}

/// Opens (creates) `name` on `owner` as a database of mode `m`, owned by
/// `owner` (new_database::plaintext or ::sealed: the access list is written
/// at creation), and shares it with each of `members` read-write, as an
/// owner invites devices.
database open_shared(node& owner, const std::string& name, mode m, const std::vector<crypto::member_key>& members) {
  database_options o;
  o.as = m == mode::sealed ? new_database::sealed : new_database::plaintext;
  auto db = checked(owner.open_database(name, o), "open_database " + name);
  for (auto& mk : members)
    if (auto s = db.share(mk, access_rights::read_write); !s)
      throw std::runtime_error("sharing " + name + ": " + s.to_string());
  auto st = checked(db.status_info(), "status_info");
  expect(st.access == mode_name(m), std::string("expected a ") + mode_name(m) + " database, got " + st.access);
  return db;
}

/// The 3-field record of the local and sync suites.
value_map small_record(uint64_t i) {
  return {{"title", "item-" + std::to_string(i)}, {"priority", static_cast<int64_t>(i % 5)}, {"done", i % 2 == 0}};
}

/// Inserts `count` small records through database::write in batches of 1,000.
std::vector<record_id> seed(database& db, size_t count) {
  std::vector<record_id> ids;
  ids.reserve(count);
  for (size_t done = 0; done < count;) {
    size_t n = std::min<size_t>(1'000, count - done);
    writes ws;
    ws.reserve(n);
    for (size_t i = 0; i < n; ++i)
      ws.push_back(make_insert(collection, small_record(done + i)));
    auto out = checked(db.write(std::move(ws)), "write");
    for (auto& o : out) {
      expect(o.st.ok(), "seed write failed: " + o.st.to_string());
      ids.push_back(o.record);
    }
    done += n;
  }
  return ids;
}

// ---- initial sync writer -> member ---------------------------------------------------

/// A writer node holding `count` records in database "items" with an access
/// list of mode `m` granting the members (made first, one per run: a member
/// is granted before the data is written, as an invited device is), serving
/// on TCP.
struct writer_side {
  mode m;
  std::unique_ptr<node> n;
  std::optional<database> db;
  std::shared_ptr<sync_server> srv;
  std::string url;
  version_vector versions;
  size_t count = 0;
  double seed_secs = 0;
  std::vector<fs::path> member_dirs;

  writer_side(const fs::path& dir, mode mm, size_t records, int members) : m(mm), count(records) {
    std::vector<crypto::member_key> keys;
    for (int i = 0; i < members; ++i) {
      member_dirs.push_back(dir / ("member" + std::to_string(i)));
      auto mn = open_node(member_dirs.back());
      keys.push_back(member_key_of(mn->ident()));
    }
    n = open_node(dir / "writer");
    db.emplace(open_shared(*n, "items", m, keys));
    auto t0 = steady::now();
    seed(*db, records);
    seed_secs = seconds_since(t0);
    versions = store_of(*db)->versions();
    srv = serve_tcp(*n);
    url = srv->endpoints().at(0).to_string();
  }
  ~writer_side() {
    srv.reset();
    db.reset();
    n.reset();
  }
};

struct sync_result {
  double secs = 0;
  std::string problem;  // empty: complete and every record readable
};

/// Member `which` of `w` (a fresh replica) syncs "items": sync_with until
/// wait_synced; then checks it holds every operation, opened every one and
/// has every record.
sync_result member_sync(const writer_side& w, int which, std::chrono::milliseconds limit) {
  sync_result r;
  auto dir = w.member_dirs.at(static_cast<size_t>(which));
  {
    auto member = open_node(dir);
    auto t0 = steady::now();
    auto h = checked(member->sync_with(w.url, only("items")), "sync_with");
    bool done = h->wait_synced(limit);
    r.secs = seconds_since(t0);
    if (!done) {
      auto st = h->status().at(0);
      r.problem = "not synced after " + num(r.secs, 1) + " s (" + std::to_string(st.received) +
                  " operations received; last error: " + st.last_error + ")";
    } else {
      auto db = checked(member->open_database("items", false), "open_database");
      auto st = checked(db.status_info(), "status_info");
      if (!st.versions.dominates(w.versions))
        r.problem = "synced, but holds " + std::to_string(st.versions.total()) + " of " +
                    std::to_string(w.versions.total()) + " operations";
      else if (st.unopened != 0)
        r.problem = std::to_string(st.unopened) + " operations left unopened";
      else if (st.records < w.count)
        r.problem = "only " + std::to_string(st.records) + " records readable of " + std::to_string(w.count);
    }
    h->stop();
  }
  fs::remove_all(dir);
  return r;
}

// ---- live propagation writer -> member -------------------------------------------

struct arrivals {
  std::mutex m;
  std::condition_variable cv;
  std::vector<double> us;
  int64_t phase = 1;

  void on_change(const change& c) {
    int64_t t = now_ns();
    auto s = c.doc.find("sent_ns");
    auto p = c.doc.find("phase");
    if (s == c.doc.end() || p == c.doc.end())
      return;
    auto* sent = s->second.get_if<int64_t>();
    auto* ph = p->second.get_if<int64_t>();
    if (!sent || !ph)
      return;
    std::lock_guard<std::mutex> g(m);
    if (*ph != phase)
      return;
    us.push_back(static_cast<double>(t - *sent) / 1e3);
    cv.notify_all();
  }
  void start(int64_t ph) {
    std::lock_guard<std::mutex> g(m);
    phase = ph;
    us.clear();
  }
  bool wait(size_t n, std::chrono::milliseconds limit) {
    std::unique_lock<std::mutex> g(m);
    return cv.wait_for(g, limit, [&] { return us.size() >= n; });
  }
  std::vector<double> sorted() {
    std::lock_guard<std::mutex> g(m);
    auto v = us;
    std::sort(v.begin(), v.end());
    return v;
  }
};

struct propagation_result {
  double p50_us = 0, p99_us = 0;
  size_t got = 0, sent = 0;
};

/// A writer and a member (granted rw) of database "feed" with a list of mode
/// `m`, the member linked to the writer over TCP; the writer inserts `rate`
/// records/s for `seconds` (after 200 untimed), each carrying its send time;
/// the member's change feed records arrival.
propagation_result propagation_run(const fs::path& dir, mode m, double rate, double seconds) {
  auto at_member = std::make_shared<arrivals>();
  propagation_result out;
  {
    auto member = open_node(dir / "member");
    auto writer = open_node(dir / "writer");
    auto wdb = open_shared(*writer, "feed", m, {member_key_of(member->ident())});
    auto srv = serve_tcp(*writer);
    auto link = checked(member->sync_with(srv->endpoints().at(0).to_string(), only("feed")), "sync_with");
    expect(link->wait_synced(30s), "the member did not sync");
    auto mdb = checked(member->open_database("feed", false), "open_database");
    auto sub = mdb.subscribe(collection, [at_member](const change& c) { at_member->on_change(c); });
    const auto period = std::chrono::nanoseconds(static_cast<int64_t>(1e9 / rate));
    auto paced = [&](int64_t phase, size_t n) {
      auto t0 = steady::now();
      for (size_t i = 0; i < n; ++i) {
        std::this_thread::sleep_until(t0 + period * static_cast<int64_t>(i));
        checked(wdb.insert(collection, {{"seq", static_cast<int64_t>(i)}, {"phase", phase}, {"sent_ns", now_ns()}}),
                "insert");
      }
    };
    at_member->start(1);
    paced(1, 200);
    expect(at_member->wait(200, 30s), "warm-up records did not arrive at the member");
    const auto n = static_cast<size_t>(rate * seconds);
    at_member->start(2);
    paced(2, n);
    at_member->wait(n, 30s);
    auto v = at_member->sorted();
    out.sent = n;
    out.got = v.size();
    expect(out.got == n, "only " + std::to_string(out.got) + " of " + std::to_string(n) + " arrived at the member");
    out.p50_us = quantile(v, 0.5);
    out.p99_us = quantile(v, 0.99);
    sub.cancel();
    link->stop();
  }
  fs::remove_all(dir);
  return out;
}

// ---- bytes on the wire ---------------------------------------------------------------

struct wire_result {
  double plain = 0, compressed = 0;  // per op, an OpBatch of `count`, signed head, framed
  double plain64 = 0, compressed64 = 0;  // the same for a batch of the first 64 updates
  double single = 0;                 // per op, one op per OpBatch with its signed head, framed
  double op = 0;                     // encode(operation) as logged, average
  double box = 0;                    // sealed: the box, average
  double head = 0;                   // the signed head's bytes (link, signature, key)
};

/// `count` database::set of an int field on existing records of a database
/// with a list of mode `m` (writer = owner); their operations as the oplog
/// holds them, in OpBatch envelopes whose range carries the signed head at
/// `through` (as actors/sync_link.cpp builds them).
wire_result wire_run(node& n, const std::string& name, mode m, size_t count) {
  auto db = open_shared(n, name, m, {});
  auto ids = seed(db, count);
  auto st = store_of(db);
  auto before = st->versions();
  for (size_t i = 0; i < ids.size(); ++i)
    checked(db.set(collection, ids[i], "priority", value(static_cast<int64_t>(1000 + i))), "set");
  auto after = st->versions();
  auto logged = checked(st->oplog_after(before, SIZE_MAX), "oplog_after");
  expect(logged.size() == count, "expected " + std::to_string(count) + " operations, got " +
                                   std::to_string(logged.size()));
  node_id self = st->self();
  auto ranged = [&](uint64_t after_seq, uint64_t through) {
    sync::op_range r{self, after_seq, through};
    auto h = checked(st->head_near(self, after_seq, through), "head_near");
    expect(h.has_value() && h->seq == through && !h->signature.empty(),
           "no signed head at " + std::to_string(through));
    r.link = h->link;
    r.signature = h->signature;
    r.origin_key = h->key;
    return r;
  };
  wire_result w;
  sync::op_batch batch;
  batch.database = name;
  batch.ranges = {ranged(before.get(self), after.get(self))};
  w.head = static_cast<double>(batch.ranges[0].link.size() + batch.ranges[0].signature.size() +
                               batch.ranges[0].origin_key.size());
  size_t op_bytes = 0, box_bytes = 0, single = 0;
  for (auto& l : logged) {
    op_bytes += l.bytes.size();
    auto op = checked(decode_operation(l.bytes), "decode_operation");
    expect((op.k == operation::kind::sealed) == (m == mode::sealed), "an operation of the wrong kind in the log");
    box_bytes += op.sealed_box.size();
    sync::op_batch one;
    one.database = name;
    one.ranges = {ranged(l.id.seq - 1, l.id.seq)};
    one.ops = {l.bytes};
    single += sync::encode(sync::envelope{sync::protocol_version, one}, true).size() + 4;
    batch.ops.push_back(l.bytes);
  }
  if (count >= 64) {
    sync::op_batch b64;
    b64.database = name;
    b64.ranges = {ranged(before.get(self), before.get(self) + 64)};
    b64.ops.assign(batch.ops.begin(), batch.ops.begin() + 64);
    sync::envelope e64{sync::protocol_version, std::move(b64)};
    w.plain64 = static_cast<double>(sync::encode(e64, false).size() + 4) / 64;
    w.compressed64 = static_cast<double>(sync::encode(e64, true).size() + 4) / 64;
  }
  sync::envelope env{sync::protocol_version, batch};
  auto c = static_cast<double>(count);
  w.plain = static_cast<double>(sync::encode(env, false).size() + 4) / c;
  w.compressed = static_cast<double>(sync::encode(env, true).size() + 4) / c;
  w.single = static_cast<double>(single) / c;
  w.op = static_cast<double>(op_bytes) / c;
  w.box = static_cast<double>(box_bytes) / c;
  n.close_database(name);
  return w;
}

/// Where a sealed operation's encoded bytes go: each part's marginal cost,
/// measured by encoding the same sealed operation with that part zeroed or
/// emptied (packed Cap'n Proto codes zero bytes in a tag bit).
std::vector<std::pair<std::string, double>> sealed_breakdown(const operation& sealed) {
  auto size = [](const operation& o) { return static_cast<double>(encode(o).size()); };
  std::vector<std::pair<std::string, double>> parts;
  const double total = size(sealed);
  auto without = [&](const std::string& what, auto&& change) {
    auto o = sealed;
    change(o);
    parts.emplace_back(what, total - size(o));
  };
  without("box", [](operation& o) { o.sealed_box.clear(); });
  without("origin", [](operation& o) { o.id.origin = node_id{}; });
  without("seq", [](operation& o) { o.id.seq = 0; });
  without("timestamp", [](operation& o) { o.counter = 0; });
  without("collection", [](operation& o) { o.collection.clear(); });
  auto bare = sealed;
  bare.sealed_box.clear();
  bare.id = {};
  bare.counter = 0;
  bare.collection.clear();
  parts.emplace_back("framing", size(bare));
  parts.emplace_back("total", total);
  return parts;
}

} // namespace

int run_e2e(const options& opts) {
  const int runs = opts.runs;
  const bool q = opts.quick;
  auto before_logger = spdlog::default_logger();
  {
    // Library log lines to stderr (stdout carries the JSON lines), warnings and up.
    auto l = std::make_shared<spdlog::logger>("bench", std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
    l->set_level(spdlog::level::warn);
    spdlog::set_default_logger(l);
  }
  struct restore {
    std::shared_ptr<spdlog::logger> l;
    ~restore() { spdlog::set_default_logger(l); }
  } restore_logger{before_logger};

  temp_dir tmp("blazedb-bench-e2e");
  progress("e2e suite, " + std::to_string(runs) + " runs per figure" + (q ? " (quick)" : "") + ", data in " +
           tmp.path().string() + ", load average " + load_average() + " (" +
           std::to_string(std::thread::hardware_concurrency()) + " cores)");
  auto suite_t0 = steady::now();

  // ---- rates on one core ----
  if (opts.wants("rates")) {
    const double secs = q ? 0.1 : 0.3;
    const std::string db = access::bound_database_id("todos", real_node(11));
    auto key = checked(crypto::content_key::generate(), "content key");
    auto sk = checked(crypto::signing_key::generate(), "Ed25519 key");
    const auto plain = one_field_update();
    const auto plain_bytes = encode(plain);
    const auto sealed_op = checked(seal_operation(plain, key, db), "seal_operation");
    const auto sealed_bytes = encode(sealed_op);
    std::string msg = plain_bytes;
    msg.resize(140, 'x');
    auto sig = checked(sk.sign(msg), "sign");

    figure sha{"e2e_sha256_140b_per_s", "hashes/s", target{}, 0, {}, "reference: SHA-256 (EVP) of 140 bytes"};
    auto sha_rate = [&] {
      volatile uint8_t sink = 0;
      double x = rate(secs, 1000, [&] { sink = sink ^ crypto::sha256(msg)[0]; });
      sha.samples.push_back(x);
      return x;
    };
    figure sign_f{"e2e_ed25519_sign_per_s", "signatures/s", target{}, 0, {},
                  "signing_key::sign of 140 bytes, one core (as the crypto suite's ed25519_sign_per_s); sync signs "
                  "one chain head per commit, not per operation"};
    figure verify_f{"e2e_ed25519_verify_per_s", "verifications/s", target{}, 0, {},
                    "crypto::verify of 140 bytes, one core; sync verifies one head per range (per batch and origin)"};
    figure enc_f{"e2e_plain_encode_op_per_s", "ops/s", target{}, 0, {},
                 "reference: encode(operation) of the plaintext one-field update (" +
                   std::to_string(plain_bytes.size()) + " bytes), one core"};
    figure dec_f{"e2e_plain_decode_op_per_s", "ops/s", target{}, 0, {},
                 "reference: decode_operation of the same " + std::to_string(plain_bytes.size()) + " bytes"};
    figure seal_f{"e2e_seal_op_per_s", "ops/s", target{}, 0, {},
                  "seal_operation (inner encoding, AES-256-GCM with a random nonce) + encode of the sealed "
                  "operation (" + std::to_string(sealed_bytes.size()) + " bytes): what a sealed local write adds, "
                  "one core"};
    figure open_f{"e2e_open_op_per_s", "ops/s", target{}, 0, {},
                  "decode_operation of the sealed bytes + open_operation (AES-256-GCM, inner decoding): what a "
                  "member does per received sealed operation, one core"};
    figure seal_ratio{"e2e_seal_vs_plain_encode_ratio", "ratio", target{}, 3, {},
                      "e2e_seal_op_per_s / e2e_plain_encode_op_per_s, measured in pairs, median of the pairs"};
    figure open_ratio{"e2e_open_vs_plain_decode_ratio", "ratio", target{}, 3, {},
                      "e2e_open_op_per_s / e2e_plain_decode_op_per_s, measured in pairs, median of the pairs"};
    figure seal_sha{"e2e_seal_vs_sha256_ratio", "ratio", target{}, 3, {},
                    "e2e_seal_op_per_s / e2e_sha256_140b_per_s measured right after it"};
    for (int r = 0; r < runs; ++r) {
      sign_f.samples.push_back(rate(secs, 50, [&] { checked(sk.sign(msg), "sign"); }));
      verify_f.samples.push_back(rate(secs, 50, [&] {
        if (!crypto::verify(sk.public_key(), msg, sig))
          throw std::runtime_error("a good signature did not verify");
      }));
      double e = rate(secs, 200, [&] {
        if (encode(plain).size() != plain_bytes.size())
          throw std::runtime_error("encode changed size");
      });
      double s = rate(secs, 200, [&] {
        // (the size varies by a byte or two: packing codes the random nonce's zero bytes in tag bits)
        if (encode(checked(seal_operation(plain, key, db), "seal_operation")).size() < plain_bytes.size() / 2)
          throw std::runtime_error("sealed operation too short");
      });
      double d = rate(secs, 200, [&] { checked(decode_operation(plain_bytes), "decode_operation"); });
      double o = rate(secs, 200, [&] {
        auto op = checked(decode_operation(sealed_bytes), "decode_operation");
        if (checked(open_operation(op, key, db), "open_operation").fields.size() != 1)
          throw std::runtime_error("opened the wrong operation");
      });
      enc_f.samples.push_back(e);
      seal_f.samples.push_back(s);
      dec_f.samples.push_back(d);
      open_f.samples.push_back(o);
      seal_ratio.samples.push_back(s / e);
      open_ratio.samples.push_back(o / d);
      seal_sha.samples.push_back(s / sha_rate());
      progress("rates run " + std::to_string(r + 1) + ": sign " + num(sign_f.samples.back(), 0) + "/s, verify " +
               num(verify_f.samples.back(), 0) + "/s, seal " + num(s, 0) + "/s (plain encode " + num(e, 0) +
               "/s), open " + num(o, 0) + "/s (plain decode " + num(d, 0) + "/s)");
    }
    for (auto* f : {&sign_f, &verify_f, &seal_f, &open_f, &enc_f, &dec_f, &seal_ratio, &open_ratio, &seal_sha, &sha})
      report(*f);
  }

  // ---- initial sync writer -> member over TCP loopback, open / plaintext / sealed ----
  if (opts.wants("sync")) {
    const size_t n = q ? 20'000 : 100'000;
    const int sync_runs = std::max(3, std::min(runs, 5));
    const auto limit = q ? 60s : 180s;
    const std::string k = q ? "20k" : "100k";
    const std::vector<mode> modes = {mode::plaintext, mode::sealed};
    std::vector<std::unique_ptr<writer_side>> sides;
    for (mode m : modes) {
      sides.push_back(std::make_unique<writer_side>(tmp.path() / (std::string("sync-") + mode_name(m)), m, n,
                                                    sync_runs));
      progress(std::string("sync: ") + mode_name(m) + " writer holds " + std::to_string(n) + " records, written in " +
               num(sides.back()->seed_secs, 2) + " s (" + num(static_cast<double>(n) / sides.back()->seed_secs, 0) +
               " writes/s)");
    }
    std::vector<figure> rates;
    for (auto& s : sides)
      rates.push_back(figure{"e2e_initial_sync_" + k + "_" + mode_name(s->m) + "_records_per_s", "records/s",
                             target{}, 0, {}, ""});
    figure ratio{"e2e_initial_sync_" + k + "_sealed_vs_plaintext_ratio", "ratio", target::at_least(0.70), 3, {}, ""};
    std::string failure;
    for (int r = 0; r < sync_runs && failure.empty(); ++r) {
      std::vector<double> got(sides.size(), 0);
      for (size_t j = 0; j < sides.size(); ++j) {
        size_t i = (j + static_cast<size_t>(r)) % sides.size();  // the order rotates run to run
        auto res = member_sync(*sides[i], r, limit);
        if (!res.problem.empty()) {
          failure = std::string(mode_name(sides[i]->m)) + " run " + std::to_string(r + 1) + ": " + res.problem;
          break;
        }
        got[i] = static_cast<double>(n) / res.secs;
      }
      if (!failure.empty())
        break;
      for (size_t i = 0; i < sides.size(); ++i)
        rates[i].samples.push_back(got[i]);
      ratio.samples.push_back(got[1] / got[0]);
      progress("sync run " + std::to_string(r + 1) + ": plaintext " + num(got[0], 0) + ", sealed " + num(got[1], 0) +
               " records/s; sealed/plaintext " + num(got[1] / got[0], 3));
    }
    for (size_t i = 0; i < sides.size(); ++i) {
      rates[i].note = "a fresh member node: sync_with(tcp://127.0.0.1) of a database holding " + std::to_string(n) +
                      " 3-field records (database::write in batches of 1,000) " +
                      (sides[i]->m == mode::plaintext ? std::string("created plaintext, its access list granting the "
                                                                    "member rw (signed, checked, not encrypted)")
                                                      : std::string("created sealed, its access list granting the "
                                                                    "member rw (signed, checked, every operation "
                                                                    "sealed; the member opens each one)")) +
                      ", until wait_synced; checked afterwards: every operation held and opened, every record "
                      "readable; the writer wrote them at " +
                      num(static_cast<double>(n) / sides[i]->seed_secs, 0) + " writes/s; runs of the two modes "
                      "interleaved, order rotating" + (failure.empty() ? "" : "; FAILED: " + failure);
      report(rates[i]);
    }
    ratio.note = "e2e_initial_sync_" + k + "_sealed_records_per_s / _plaintext_ of the same run, median of the runs "
                 "(issue 4 item 9: E2E costs at most 30 % of sync throughput)";
    report(ratio);
    sides.clear();
  }

  // ---- live propagation writer -> member, plaintext list vs sealed list ----
  if (opts.wants("propagation")) {
    const double rate_hz = 1'000, seconds = q ? 1.5 : 3;
    const int prop_runs = std::min(runs, 3);
    std::map<mode, std::vector<double>> p50, p99;
    for (int r = 0; r < prop_runs; ++r)
      for (mode m : (r % 2 ? std::vector<mode>{mode::sealed, mode::plaintext}
                           : std::vector<mode>{mode::plaintext, mode::sealed})) {
        auto res = propagation_run(tmp.path() / ("prop-" + std::to_string(r) + mode_name(m)), m, rate_hz, seconds);
        p50[m].push_back(res.p50_us);
        p99[m].push_back(res.p99_us);
        progress(std::string("propagation ") + mode_name(m) + " run " + std::to_string(r + 1) + ": p50 " +
                 num(res.p50_us) + " us, p99 " + num(res.p99_us) + " us");
      }
    const std::string shape = "two nodes over TCP loopback: the writer inserts " + num(rate_hz, 0) +
                              " records/s paced for " + num(seconds, 1) + " s (after 200 untimed), each with its "
                              "steady-clock send time; the member's change feed records arrival; ";
    for (mode m : {mode::plaintext, mode::sealed}) {
      figure a{std::string("e2e_propagation_") + mode_name(m) + "_p50_us", "us", target{}, 0, p50[m],
               shape + mode_name(m) + " access list granting the member rw"};
      figure b{std::string("e2e_propagation_") + mode_name(m) + "_p99_us", "us", target::below(5'000), 0, p99[m],
               a.note};
      report(a);
      report(b);
    }
  }

  // ---- bytes per one-field update on the wire ----
  if (opts.wants("wire")) {
    const size_t count = 1'000;
    auto n = open_node(tmp.path() / "wire");
    std::map<mode, std::vector<wire_result>> got;
    for (int r = 0; r < std::min(runs, 3); ++r)
      for (mode m : {mode::plaintext, mode::sealed})
        got[m].push_back(wire_run(*n, std::string("wire-") + mode_name(m) + std::to_string(r), m, count));
    n.reset();
    for (mode m : {mode::plaintext, mode::sealed}) {
      const std::string pre = std::string("e2e_wire_bytes_per_update_") + mode_name(m);
      auto pick = [&](auto field) {
        std::vector<double> v;
        for (auto& w : got[m])
          v.push_back(w.*field);
        return v;
      };
      auto& w0 = got[m].front();
      const auto goal = m == mode::sealed ? target::at_most(96) : target{};
      figure plain{pre, "bytes", goal, 1, pick(&wire_result::plain), ""};
      plain.note = "an OpBatch envelope of " + std::to_string(count) + " database::set of an int field on existing "
                   "records of a database with a " + mode_name(m) + " access list, the operations as the oplog holds "
                   "them, the range with its signed head (" + num(w0.head, 0) + " bytes), (sync::encode(env, false) "
                   "+ 4-byte frame) / ops; one encoded operation alone is " + num(w0.op) + " bytes" +
                   (m == mode::sealed ? ", its box " + num(w0.box) + " bytes" : std::string());
      figure z{pre + "_compressed", "bytes", goal, 1, pick(&wire_result::compressed),
               "the same with sync::encode(env, true) (zstd when smaller)"};
      figure p64{pre + "_batch_64", "bytes", goal, 1, pick(&wire_result::plain64),
                 "the first 64 of those updates as one OpBatch with the signed head at the 64th, uncompressed, framed"};
      figure z64{pre + "_batch_64_compressed", "bytes", goal, 1, pick(&wire_result::compressed64),
                 "the same batch of 64 compressed (zstd when smaller)"};
      figure one{pre + "_single_op_batch", "bytes", target{}, 1, pick(&wire_result::single),
                 "the same updates one per OpBatch with its signed head (a live push of one write), compressed "
                 "when smaller, framed"};
      figure op{std::string("e2e_encoded_op_bytes_") + mode_name(m), "bytes", target{}, 1, pick(&wire_result::op),
                "encode(operation) as the oplog holds it, average over the updates"};
      report(plain);
      report(z);
      report(p64);
      report(z64);
      report(one);
      report(op);
    }
    // Where a sealed one-field update's bytes go (the e2e tests' sample).
    auto key = checked(crypto::content_key::generate(), "content key");
    auto plain = one_field_update();
    auto sealed = checked(seal_operation(plain, key, access::bound_database_id("todos", real_node(11))), "seal");
    std::string parts;
    for (auto& [what, b] : sealed_breakdown(sealed)) {
      figure f{"e2e_sealed_op_bytes_" + what, "bytes", target{}, 0, {b}, ""};
      if (what == "box")
        f.note = "the box's marginal cost in the encoded sealed operation (the box is " +
                 std::to_string(sealed.sealed_box.size()) + " bytes: inner " +
                 std::to_string(encode_sealed_inner(plain).size()) + " + 33 (version 1, epoch 4, nonce 12, tag 16))";
      else if (what == "framing")
        f.note = "the sealed operation encoded with box, origin, seq, timestamp and collection all empty or zero: "
                 "Cap'n Proto segment table, pointers, union tag and packing tags";
      else if (what == "total")
        f.note = "encode(sealed) of the sample one-field update (16-byte record id, bool set over another node's "
                 "base, collection \"todos\"); its plaintext encoding is " + std::to_string(encode(plain).size()) +
                 " bytes";
      else
        f.note = "marginal bytes of the " + what + " (the encoding with it zeroed or emptied, subtracted)";
      report(f);
    }
  }

  progress("done in " + num(seconds_since(suite_t0), 0) + " s, load average " + load_average());
  return 0;
}

} // namespace blaze::bench
