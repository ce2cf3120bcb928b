// The `sync` suite: sync over TCP loopback — initial sync of a fresh
// replica, live propagation through a relay, bytes per update on the wire
// (nodes in this process), many concurrent sessions on one relay (a
// `blazedb serve` process) — and the plain loopback TCP socket it all runs
// on, measured in the same run.
#include "bench/suite.hpp"

#include "core/codec.hpp"
#include "core/sync_codec.hpp"
#include "examples/devices/child_process.hpp"
#include "runtime/identity.hpp"
#include "runtime/node.hpp"

#include <nlohmann/json.hpp>

#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>

namespace blaze::bench {

namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

uint64_t wall_ms() {
  using namespace std::chrono;
  return static_cast<uint64_t>(duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count());
}

/// Open file descriptors of process `pid` ("self": this one).
size_t open_fds(const std::string& pid = "self") {
  std::error_code ec;
  size_t n = 0;
  for (auto it = fs::directory_iterator("/proc/" + pid + "/fd", ec); !ec && it != fs::directory_iterator();
       it.increment(ec))
    ++n;
  return n;
}

size_t fd_soft_limit() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0)
    return 1024;
  return rl.rlim_cur == RLIM_INFINITY ? SIZE_MAX : static_cast<size_t>(rl.rlim_cur);
}

size_t rss_mib(const std::string& pid = "self") {
  std::ifstream in("/proc/" + pid + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0)
      return std::stoul(line.substr(6)) / 1024;
  return 0;
}

/// Disk blocks in use under `dir` (what `du` counts: preallocated space too).
size_t disk_mib(const fs::path& dir) {
  std::error_code ec;
  uint64_t bytes = 0;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    struct stat st {};
    if (::lstat(it->path().c_str(), &st) == 0)
      bytes += static_cast<uint64_t>(st.st_blocks) * 512;
  }
  return static_cast<size_t>(bytes >> 20);
}

/// Free space on the file system holding `dir`.
size_t free_mib(const fs::path& dir) {
  struct statvfs v {};
  if (::statvfs(dir.c_str(), &v) != 0)
    return 0;
  return static_cast<size_t>((static_cast<uint64_t>(v.f_bavail) * v.f_frsize) >> 20);
}

const std::string collection = "items";

/// The 3-field record of the local suite.
value_map small_record(uint64_t i) {
  return {{"title", "item-" + std::to_string(i)}, {"priority", static_cast<int64_t>(i % 5)}, {"done", i % 2 == 0}};
}

std::unique_ptr<node> open_node(const fs::path& dir) {
  node_options o;
  o.data_dir = dir;
  o.mode = durability::buffered;
  return checked(node::open(o), "cannot open a node in " + dir.string());
}

std::string url_of(const sync_server& s) { return s.endpoints().at(0).to_string(); }

std::shared_ptr<sync_server> serve_tcp(node& n) {
  serve_options so;
  so.listen = {"tcp://127.0.0.1:0"};
  return checked(n.serve(so), "serve");
}

// ---- sharing (docs/security.md §4) ------------------------------------------------
// Security is on as in any deployment: a database a node creates is owned by
// it and sealed; every other node is invited (share) and joins.

/// The member key of the node of data directory `dir` (its identity is made
/// on first use): how an owner invites a node it does not hold open, such
/// as a relay process.
crypto::member_key member_key_at(const fs::path& dir) {
  fs::create_directories(dir);
  return member_key_of(checked(load_or_create_identity(dir), "identity of " + dir.string()));
}

void share(database& db, const crypto::member_key& member, access_rights rights) {
  if (auto s = db.share(member, rights); !s)
    throw std::runtime_error("sharing " + db.name() + ": " + s.to_string());
}

/// Opens `name` on `n` as another node's database (its list arrives through sync).
database join(node& n, const std::string& name) {
  database_options o;
  o.as = new_database::join;
  return checked(n.open_database(name, o), "open_database " + name + " to join");
}

sync_options only(std::vector<std::string> dbs) {
  sync_options o;
  o.databases = std::move(dbs);
  return o;
}

std::shared_ptr<store> store_of(const database& db) {
  auto st = db.handles().st.lock();
  expect(static_cast<bool>(st), "the store of " + db.name() + " is closed");
  return st;
}

/// Inserts `count` small records through database::write in batches of 1,000.
std::vector<record_id> seed(database& db, size_t count, uint64_t first = 0) {
  std::vector<record_id> ids;
  ids.reserve(count);
  for (size_t done = 0; done < count;) {
    size_t n = std::min<size_t>(1'000, count - done);
    writes ws;
    ws.reserve(n);
    for (size_t i = 0; i < n; ++i)
      ws.push_back(make_insert(collection, small_record(first + done + i)));
    auto out = checked(db.write(std::move(ws)), "write");
    for (auto& o : out) {
      expect(o.st.ok(), "seed write failed: " + o.st.to_string());
      ids.push_back(o.record);
    }
    done += n;
  }
  return ids;
}

/// A message with its variable parts (numbers, hex ids, paths) masked, to
/// group repeats.
std::string mask(const std::string& in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size();) {
    char c = in[i];
    if (c == '/') {  // a path: up to the next space or quote
      size_t j = i;
      while (j < in.size() && in[j] != ' ' && in[j] != '\'' && in[j] != ':')
        ++j;
      out += "<path>";
      i = j;
    } else if (std::isxdigit(static_cast<unsigned char>(c))) {
      size_t j = i;
      while (j < in.size() && std::isxdigit(static_cast<unsigned char>(in[j])))
        ++j;
      bool digits = std::any_of(in.begin() + static_cast<long>(i), in.begin() + static_cast<long>(j),
                                [](char x) { return x >= '0' && x <= '9'; });
      if (digits && j - i >= 8) {  // an id
        out += '#';
      } else {  // numbers inside a word ("s0042", "000018.log")
        for (size_t k = i; k < j; ++k)
          if (in[k] < '0' || in[k] > '9')
            out += in[k];
          else if (out.empty() || out.back() != '#')
            out += '#';
      }
      i = j;
    } else {
      out += c;
      ++i;
    }
  }
  return out;
}

/// Why links are not synced: counts of their states and of their last
/// errors (grouped with mask(), the 6 most frequent).
std::string link_summary(const std::vector<link_status>& all) {
  size_t connected = 0, open = 0, synced = 0;
  std::map<std::string, size_t> errors;
  for (auto& s : all) {
    connected += s.connected;
    open += s.open;
    synced += s.synced;
    if (!s.synced && !s.last_error.empty())
      ++errors[mask(s.last_error)];
  }
  std::string out = std::to_string(all.size()) + " links: " + std::to_string(connected) + " connected, " +
                    std::to_string(open) + " open, " + std::to_string(synced) + " synced";
  std::vector<std::pair<size_t, std::string>> by_count;
  for (auto& [e, n] : errors)
    by_count.emplace_back(n, e);
  std::sort(by_count.rbegin(), by_count.rend());
  for (size_t i = 0; i < by_count.size() && i < 6; ++i)
    out += "; " + std::to_string(by_count[i].first) + "x '" + by_count[i].second + "'";
  if (by_count.size() > 6)
    out += "; " + std::to_string(by_count.size() - 6) + " other kinds of error";
  return out;
}

// ---- loopback TCP reference ----------------------------------------------------

/// A connected TCP pair on 127.0.0.1 (TCP_NODELAY on both ends).
struct tcp_pair {
  int a = -1, b = -1;
  tcp_pair() {
    int l = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    expect(l >= 0, std::string("socket: ") + std::strerror(errno));
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = 0;
    socklen_t len = sizeof(sa);
    expect(::bind(l, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) == 0 && ::listen(l, 1) == 0 &&
             ::getsockname(l, reinterpret_cast<sockaddr*>(&sa), &len) == 0,
           std::string("listen on loopback: ") + std::strerror(errno));
    a = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    expect(a >= 0 && ::connect(a, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) == 0,
           std::string("connect on loopback: ") + std::strerror(errno));
    b = ::accept4(l, nullptr, nullptr, SOCK_CLOEXEC);
    ::close(l);
    expect(b >= 0, std::string("accept on loopback: ") + std::strerror(errno));
    int one = 1;
    ::setsockopt(a, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    ::setsockopt(b, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  }
  ~tcp_pair() {
    ::close(a);
    ::close(b);
  }
};

/// Pushes `bytes` through a loopback TCP connection (a writer thread, the
/// reader here, 64 KiB calls); returns MiB/s.
double loopback_bandwidth(size_t bytes) {
  tcp_pair p;
  std::vector<char> out(64 << 10, 'x');
  std::vector<char> in(64 << 10);
  auto t0 = steady::now();
  std::thread writer([&] {
    size_t sent = 0;
    while (sent < bytes) {
      ssize_t n = ::send(p.a, out.data(), std::min(out.size(), bytes - sent), MSG_NOSIGNAL);
      if (n <= 0)
        return;
      sent += static_cast<size_t>(n);
    }
  });
  size_t got = 0;
  while (got < bytes) {
    ssize_t n = ::recv(p.b, in.data(), in.size(), 0);
    if (n <= 0)
      break;
    got += static_cast<size_t>(n);
  }
  double secs = seconds_since(t0);
  writer.join();
  expect(got == bytes, "loopback transfer ended early");
  return static_cast<double>(bytes) / (1 << 20) / secs;
}

/// Round trips of one byte between two threads over loopback TCP; returns the p50 in us.
double loopback_rtt(size_t count) {
  tcp_pair p;
  std::thread echo([&] {
    char c;
    for (size_t i = 0; i < count; ++i) {
      if (::recv(p.b, &c, 1, 0) != 1 || ::send(p.b, &c, 1, MSG_NOSIGNAL) != 1)
        return;
    }
  });
  std::vector<double> us;
  us.reserve(count);
  char c = 'x';
  for (size_t i = 0; i < count; ++i) {
    auto t0 = steady::now();
    if (::send(p.a, &c, 1, MSG_NOSIGNAL) != 1 || ::recv(p.a, &c, 1, 0) != 1)
      break;
    us.push_back(seconds_since(t0) * 1e6);
  }
  echo.join();
  expect(us.size() == count, "loopback ping-pong ended early");
  std::sort(us.begin(), us.end());
  return quantile(us, 0.5);
}

// ---- initial sync ----------------------------------------------------------------

/// A node holding `count` records in database "items", serving on TCP.
struct seeded_server {
  std::unique_ptr<node> n;
  std::optional<database> db;
  std::shared_ptr<sync_server> srv;
  std::string url;
  version_vector versions;
  size_t count = 0;
  double seed_secs = 0;

  seeded_server(const fs::path& dir, size_t records) : count(records) {
    n = open_node(dir);
    db.emplace(checked(n->open_database("items"), "open_database"));
    auto t0 = steady::now();
    seed(*db, records);
    seed_secs = seconds_since(t0);
    versions = store_of(*db)->versions();
    srv = serve_tcp(*n);
    url = url_of(*srv);
  }
  ~seeded_server() {
    srv.reset();
    db.reset();
    n.reset();
  }
};

struct initial_result {
  bool complete = false;
  double secs = 0;       // sync_with until wait_synced returned (or the limit)
  double first_ms = -1;  // sync_with until the first operations were applied
  double open_ms = -1;   // sync_with until the handshake completed (database created, connected)
  double create_ms = 0;  // creating another fresh database on the same node afterwards
  uint64_t received = 0;
  std::string why;       // when not complete
};

/// A fresh node, invited (read-write) by `server`, syncs database "items"
/// from it: the time from sync_with until wait_synced returns.
initial_result initial_run(seeded_server& server, const fs::path& dir, std::chrono::milliseconds limit) {
  struct progress_state {
    std::atomic<int64_t> first_ns{-1};
  };
  auto ps = std::make_shared<progress_state>();
  initial_result r;
  {
    auto client = open_node(dir);
    share(*server.db, member_key_of(client->ident()), access_rights::read_write);  // before the clock starts
    server.versions = store_of(*server.db)->versions();
    auto so = only({"items"});
    so.on_progress = [ps](const sync_progress& p) {
      int64_t none = -1;
      if (p.received > 0)
        ps->first_ns.compare_exchange_strong(none, now_ns());
    };
    int64_t start_ns = now_ns();
    auto t0 = steady::now();
    auto h = checked(client->sync_with(server.url, so), "sync_with");
    // When the handshake completed (polled every 0.2 ms: the link's status
    // has no callback for it).
    std::atomic<bool> done{false};
    std::atomic<int64_t> open_ns{-1};
    std::thread poll([&] {
      while (!done.load()) {
        if (h->status().at(0).open) {
          open_ns = now_ns();
          return;
        }
        std::this_thread::sleep_for(200us);
      }
    });
    r.complete = h->wait_synced(limit);
    r.secs = seconds_since(t0);
    done = true;
    poll.join();
    auto st = h->status().at(0);
    r.received = st.received;
    if (ps->first_ns.load() >= 0)
      r.first_ms = static_cast<double>(ps->first_ns.load() - start_ns) / 1e6;
    if (open_ns.load() >= 0)
      r.open_ms = static_cast<double>(open_ns.load() - start_ns) / 1e6;
    if (r.complete) {
      auto db = checked(client->open_database("items", false), "open_database");
      auto vv = store_of(db)->versions();
      if (!vv.dominates(server.versions)) {
        r.complete = false;
        r.why = "synced, but the replica holds " + std::to_string(vv.total()) + " of " +
                std::to_string(server.versions.total()) + " operations";
      }
      // What creating a database costs on this node (the sync created "items").
      auto tc = steady::now();
      checked(client->open_database("probe"), "open_database");
      r.create_ms = seconds_since(tc) * 1e3;
    } else {
      r.why = "not synced after " + num(r.secs, 1) + " s: " + link_summary(h->status()) + ", " +
              std::to_string(st.received) + " operations received";
    }
    h->stop();
  }
  fs::remove_all(dir);
  return r;
}

/// Where initial-sync time goes without actors or sockets: the serving side
/// reading the oplog in 256 KiB chunks and encoding OpBatch envelopes as the
/// link does (compressed), and the receiving side decoding them and applying
/// the operations to a fresh store (one store::apply_remote per batch).
struct breakdown {
  double read_encode_ops_per_s = 0;
  double decode_apply_ops_per_s = 0;
  double apply_ops_per_s = 0;  // store::apply_remote alone
  double wire_bytes_per_op = 0;
  size_t ops = 0;
};

breakdown initial_breakdown(const seeded_server& server, const fs::path& dir, size_t max_ops) {
  breakdown b;
  auto src = store_of(*server.db);
  std::vector<std::string> frames;
  version_vector cursor;
  size_t wire = 0;
  auto t0 = steady::now();
  while (b.ops < max_ops) {
    auto logged = checked(src->oplog_after(cursor, 256 << 10), "oplog_after");
    if (logged.empty())
      break;
    sync::op_batch batch;
    batch.database = "items";
    std::map<node_id, sync::op_range> ranges;
    for (auto& l : logged) {
      auto [it, fresh] = ranges.try_emplace(l.id.origin, sync::op_range{l.id.origin, cursor.get(l.id.origin), 0});
      it->second.through = l.id.seq;
      batch.ops.push_back(std::move(l.bytes));
    }
    for (auto& [o, r] : ranges) {
      batch.ranges.push_back(r);
      cursor.set(o, r.through);
    }
    b.ops += batch.ops.size();
    frames.push_back(sync::encode(sync::envelope{sync::protocol_version, std::move(batch)}, true));
    wire += frames.back().size() + 4;
  }
  b.read_encode_ops_per_s = static_cast<double>(b.ops) / seconds_since(t0);
  b.wire_bytes_per_op = static_cast<double>(wire) / static_cast<double>(b.ops);

  store_options so;
  so.mode = durability::buffered;
  auto dst = checked(store::open(dir, new_record_id(), so, std::make_shared<storage_environment>()), "store::open");
  size_t applied = 0;
  double decode_secs = 0, apply_secs = 0;
  for (auto& f : frames) {
    auto t1 = steady::now();
    auto env = checked(sync::decode_envelope(f), "decode_envelope");
    auto* batch = std::get_if<sync::op_batch>(&env.msg);
    expect(batch != nullptr, "not an OpBatch");
    std::vector<operation> ops;
    ops.reserve(batch->ops.size());
    for (auto& bytes : batch->ops)
      ops.push_back(checked(decode_operation(bytes), "decode_operation"));
    auto t2 = steady::now();
    auto rep = dst->apply_remote(std::move(ops), wall_ms());
    apply_secs += seconds_since(t2);
    decode_secs += std::chrono::duration<double>(t2 - t1).count();
    expect(rep.refused.empty(), "apply_remote refused operations");
    applied += rep.applied;
  }
  b.decode_apply_ops_per_s = static_cast<double>(applied) / (decode_secs + apply_secs);
  b.apply_ops_per_s = static_cast<double>(applied) / apply_secs;
  expect(applied == b.ops, "apply_remote applied " + std::to_string(applied) + " of " + std::to_string(b.ops));
  dst.reset();
  fs::remove_all(dir);
  return b;
}

// ---- arrivals on a change feed ---------------------------------------------------

/// Propagation latencies seen by change-feed callbacks (on CAF workers of
/// the receiving node): each record carries its send time (steady clock,
/// ns) in "sent_ns" and its phase in "phase"; only the current phase is kept.
struct arrivals {
  std::mutex m;
  std::condition_variable cv;
  std::vector<double> us;
  size_t count = 0;
  int64_t phase = 1;
  int64_t last_ns = 0;

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
    last_ns = std::max(last_ns, t);
    ++count;
    cv.notify_all();
  }
  void start(int64_t ph) {
    std::lock_guard<std::mutex> g(m);
    phase = ph;
    us.clear();
    count = 0;
    last_ns = 0;
  }
  bool wait(size_t n, std::chrono::milliseconds limit) {
    std::unique_lock<std::mutex> g(m);
    return cv.wait_for(g, limit, [&] { return count >= n; });
  }
  size_t got() {
    std::lock_guard<std::mutex> g(m);
    return count;
  }
  std::vector<double> sorted() {
    std::lock_guard<std::mutex> g(m);
    auto v = us;
    std::sort(v.begin(), v.end());
    return v;
  }
};

value_map stamped(int64_t phase, uint64_t i) {
  return {{"title", "event-" + std::to_string(i)}, {"seq", static_cast<int64_t>(i)}, {"phase", phase},
          {"sent_ns", now_ns()}};
}

// ---- propagation A -> relay -> B ----------------------------------------------------

struct propagation_result {
  double p50_us = 0, p99_us = 0, max_us = 0;
  double hop1_p50_us = 0, hop1_p99_us = 0;  // A -> relay only
  size_t sent = 0, got = 0;
  double achieved_rate = 0;
};

propagation_result propagation_run(const fs::path& dir, double rate, double seconds) {
  auto at_relay = std::make_shared<arrivals>();
  auto at_b = std::make_shared<arrivals>();
  propagation_result out;
  {
    auto relay = open_node(dir / "relay");
    auto a = open_node(dir / "a");
    auto b = open_node(dir / "b");
    // A owns "feed" (sealed) and invites B (rw) and the relay; the relay
    // reads (it opens each operation, a cost a relay-rights relay does not
    // have) so that its subscription can time the first hop.
    auto adb = checked(a->open_database("feed"), "open_database");
    share(adb, member_key_of(b->ident()), access_rights::read_write);
    share(adb, member_key_of(relay->ident()), access_rights::read);
    auto rdb = join(*relay, "feed");
    auto bdb = join(*b, "feed");
    auto srv = serve_tcp(*relay);
    auto la = checked(a->sync_with(url_of(*srv), only({"feed"})), "sync_with");
    auto lb = checked(b->sync_with(url_of(*srv), only({"feed"})), "sync_with");
    expect(la->wait_synced(30s) && lb->wait_synced(30s), "devices did not sync with the relay: " +
                                                           link_summary(la->status()) + " / " +
                                                           link_summary(lb->status()));
    auto sr = rdb.subscribe(collection, [at_relay](const change& c) { at_relay->on_change(c); });
    auto sb = bdb.subscribe(collection, [at_b](const change& c) { at_b->on_change(c); });

    // Warm-up (not kept): 200 records at the same pace.
    const auto period = std::chrono::nanoseconds(static_cast<int64_t>(1e9 / rate));
    auto paced = [&](int64_t phase, size_t n) {
      auto t0 = steady::now();
      for (size_t i = 0; i < n; ++i) {
        std::this_thread::sleep_until(t0 + period * static_cast<int64_t>(i));
        checked(adb.insert(collection, stamped(phase, i)), "insert");
      }
      return seconds_since(t0);
    };
    at_relay->start(1);
    at_b->start(1);
    paced(1, 200);
    expect(at_b->wait(200, 30s), "warm-up records did not arrive at B");

    const auto n = static_cast<size_t>(rate * seconds);
    at_relay->start(2);
    at_b->start(2);
    double secs = paced(2, n);
    out.sent = n;
    out.achieved_rate = static_cast<double>(n) / secs;
    at_b->wait(n, 30s);
    at_relay->wait(n, 5s);
    out.got = at_b->got();
    auto v = at_b->sorted();
    auto h = at_relay->sorted();
    expect(out.got == n, "only " + std::to_string(out.got) + " of " + std::to_string(n) + " records arrived at B");
    out.p50_us = quantile(v, 0.5);
    out.p99_us = quantile(v, 0.99);
    out.max_us = v.empty() ? 0 : v.back();
    out.hop1_p50_us = quantile(h, 0.5);
    out.hop1_p99_us = quantile(h, 0.99);
    sr.cancel();
    sb.cancel();
    la->stop();
    lb->stop();
  }
  fs::remove_all(dir);
  return out;
}

// ---- bytes on the wire per update -------------------------------------------------

struct wire_result {
  double plain = 0, compressed = 0;  // bytes per op, a batch of `count` ops, framed
  double single = 0;                 // bytes per op, one op per OpBatch (a live push of one write)
  double ack = 0;                    // bytes of the Ack answering a batch
  double op = 0;                     // encode(operation) alone, average
};

/// `count` database::set of an int field on existing records; their operations
/// as the oplog holds them, encoded as OpBatch envelopes.
wire_result wire_run(node& n, const std::string& name, size_t count) {
  auto db = checked(n.open_database(name), "open_database");
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
  wire_result w;
  sync::op_batch batch;
  batch.database = name;
  batch.ranges = {{self, before.get(self), after.get(self)}};
  size_t op_bytes = 0, single = 0;
  for (auto& l : logged) {
    op_bytes += l.bytes.size();
    sync::op_batch one;
    one.database = name;
    one.ranges = {{self, l.id.seq - 1, l.id.seq}};
    one.ops = {l.bytes};
    single += sync::encode(sync::envelope{sync::protocol_version, one}, true).size() + 4;
    batch.ops.push_back(l.bytes);
  }
  sync::envelope env{sync::protocol_version, batch};
  auto c = static_cast<double>(count);
  w.plain = static_cast<double>(sync::encode(env, false).size() + 4) / c;
  w.compressed = static_cast<double>(sync::encode(env, true).size() + 4) / c;
  w.single = static_cast<double>(single) / c;
  version_vector two = after;
  two.set(new_record_id(), 12345);  // the receiver's vector names itself and the sender
  w.ack = static_cast<double>(sync::encode(sync::envelope{sync::protocol_version, sync::ack{name, two}}).size() + 4);
  w.op = static_cast<double>(op_bytes) / c;
  n.close_database(name);
  return w;
}

// ---- many sessions on one relay ------------------------------------------------------

/// The `blazedb` executable for child processes: $BLAZEDB_BIN, this process
/// when it is `blazedb` (`blazedb bench sync`), else the build tree's
/// examples/blazedb next to bench/.
std::string blazedb_executable() {
  if (auto* e = std::getenv("BLAZEDB_BIN"))
    return e;
  std::error_code ec;
  auto self = fs::read_symlink("/proc/self/exe", ec);
  if (!ec && self.filename() == "blazedb")
    return self.string();
  auto sibling = self.parent_path().parent_path() / "examples" / "blazedb";
  expect(!ec && fs::exists(sibling), "cannot find the blazedb executable to run the relay (looked for " +
                                         sibling.string() + "); set BLAZEDB_BIN");
  return sibling.string();
}

/// A relay as its own process: `blazedb --data DIR serve --listen
/// 127.0.0.1:0`, logging to `log`. Its session count comes from the
/// `<data>/peers.json` it rewrites every second (docs/cli.md).
class relay_process {
public:
  relay_process(const fs::path& data, const fs::path& log, const std::vector<std::string>& extra = {})
      : data_(data), log_(log), proc_(argv(data, extra), log.string()) {
    for (;;) {
      auto line = proc_.read_line(30s);
      expect(line.has_value(), "the relay process did not start listening; its log: " + log_tail(5));
      if (line->rfind("listening on ", 0) == 0) {
        url_ = line->substr(13);
        break;
      }
    }
    // peers.json appears with the first status write; until then: 0 sessions
  }
  ~relay_process() { stop(); }

  const std::string& url() const { return url_; }
  std::string pid() const { return std::to_string(proc_.pid()); }

  /// Sessions and open databases the relay reported last (at most a
  /// second old).
  size_t sessions() const { return reported("sessions"); }
  size_t open_databases() const { return reported("open_databases"); }

  /// Stops it with SIGTERM (a clean shutdown); true when it exited 0.
  bool stop() {
    if (stopped_)
      return clean_;
    stopped_ = true;
    int st = proc_.stop(SIGTERM);
    clean_ = WIFEXITED(st) && WEXITSTATUS(st) == 0;
    return clean_;
  }

  /// Lines of its log containing `needle`.
  size_t log_count(const std::string& needle) const {
    std::ifstream in(log_);
    size_t n = 0;
    for (std::string line; std::getline(in, line);)
      n += line.find(needle) != std::string::npos;
    return n;
  }

  std::string log_tail(size_t lines) const {
    std::ifstream in(log_);
    std::vector<std::string> all;
    for (std::string line; std::getline(in, line);)
      all.push_back(line);
    std::string out;
    for (size_t i = all.size() > lines ? all.size() - lines : 0; i < all.size(); ++i)
      out += (out.empty() ? "" : " | ") + all[i];
    return out.empty() ? "(empty)" : out;
  }

private:
  static std::vector<std::string> argv(const fs::path& data, const std::vector<std::string>& extra) {
    std::vector<std::string> a{blazedb_executable(), "--data", data.string(), "serve", "--listen", "127.0.0.1:0"};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }
  size_t reported(const char* key) const {
    std::ifstream in(data_ / "peers.json");
    auto j = nlohmann::json::parse(in, nullptr, false);
    return j.is_object() && j.contains(key) ? j[key].get<size_t>() : 0;
  }

  fs::path data_, log_;
  demo::child_process proc_;
  std::string url_;
  bool stopped_ = false, clean_ = false;
};

struct relay_result {
  bool ok = false;
  std::string why;              // when not ok: what broke
  size_t sessions = 0;          // links asked for
  size_t max_connected = 0;     // sync_server::sessions(), the largest value seen
  size_t synced_links = 0;      // links synced at the same time (the most seen while connecting)
  size_t fds_per_db = 0;        // file descriptors per open device database, x100
  double open_secs = 0;         // opening the client databases (not timed in figures)
  double sync_secs = 0;         // first sync_with until every link synced and every pair converged
  double paced_p50_us = 0, paced_p99_us = 0;
  size_t paced_ops = 0;
  double burst_ops_per_s = 0;
  double burst_p99_us = 0;
  size_t burst_ops = 0;
  size_t fds = 0;         // of this process (the client nodes)
  size_t rss = 0;
  size_t relay_fds = 0;   // of the relay process
  size_t relay_rss = 0;
  size_t disk = 0;
  bool relay_clean_exit = false;
};

/// `sessions` links through one relay process: sessions/2 databases on the
/// relay, each shared by two devices (side A and side B), the device
/// databases spread over `client_nodes` nodes in this process (A sides on
/// the first half, B sides on the second), one link per device database.
relay_result relay_run(const fs::path& dir, size_t sessions, size_t client_nodes, size_t pre, double rate,
                       double paced_secs, size_t burst_per_db, std::chrono::milliseconds limit) {
  relay_result r;
  r.sessions = sessions;
  const size_t pairs = sessions / 2;
  const size_t half = client_nodes / 2;
  struct feed {
    arrivals lat;
    std::unique_ptr<std::atomic<uint32_t>[]> remote;  // per device database: remote records seen
    explicit feed(size_t n) : remote(new std::atomic<uint32_t>[n]) {
      for (size_t i = 0; i < n; ++i)
        remote[i] = 0;
    }
  };
  auto fd = std::make_shared<feed>(sessions);
  std::atomic<bool> watching{true};
  std::atomic<size_t> max_sessions{0};
  {
    fs::create_directories(dir);
    relay_process relay(dir / "relay", dir / "relay.log");
    auto url = relay.url();
    std::vector<std::unique_ptr<node>> clients;
    for (size_t k = 0; k < client_nodes; ++k)
      clients.push_back(open_node(dir / ("client" + std::to_string(k))));
    // Device database d (0..sessions-1): pair d % pairs, side A when d < pairs.
    auto db_name = [](size_t pair) {
      auto digits = std::to_string(pair);
      return "s" + std::string(digits.size() < 4 ? 4 - digits.size() : 0, '0') + digits;
    };
    auto node_of = [&](size_t d) -> size_t {
      size_t side = d < pairs ? 0 : 1;
      return side * half + (d % pairs) % half;
    };
    std::vector<std::optional<database>> dbs(sessions);
    std::vector<std::vector<std::string>> names(client_nodes);
    const size_t fds_before = open_fds();
    {
      auto t0 = steady::now();
      // body(k) on every client node at once.
      auto on_every_node = [&](const std::function<void(size_t)>& body) {
        std::vector<std::thread> openers;
        std::mutex err_m;
        std::string err;
        for (size_t k = 0; k < client_nodes; ++k)
          openers.emplace_back([&, k] {
            try {
              body(k);
            } catch (const std::exception& e) {
              std::lock_guard<std::mutex> g(err_m);
              err = e.what();
            }
          });
        for (auto& t : openers)
          t.join();
        expect(err.empty(), err);
      };
      // The A side owns its pair's database (sealed) and invites the B
      // side's node (rw) and the relay (relay rights: it stores ciphertext).
      const auto relay_key = member_key_at(dir / "relay");
      on_every_node([&](size_t k) {
        for (size_t d = 0; d < pairs; ++d)
          if (node_of(d) == k) {
            auto name = db_name(d);
            dbs[d].emplace(checked(clients[k]->open_database(name), "open_database " + name));
            share(*dbs[d], member_key_of(clients[node_of(d + pairs)]->ident()), access_rights::read_write);
            share(*dbs[d], relay_key, access_rights::relay);
          }
      });
      // The B side joins, and gets the access list by one sync with its A
      // side's node (B node half + j pairs with A node j) so that it, too,
      // writes its records before connecting to the relay: setup, not timed
      // apart (it is in open_secs).
      std::vector<std::vector<std::string>> joined(client_nodes);
      on_every_node([&](size_t k) {
        for (size_t d = pairs; d < sessions; ++d)
          if (node_of(d) == k) {
            dbs[d].emplace(join(*clients[k], db_name(d % pairs)));
            joined[k].push_back(db_name(d % pairs));
          }
      });
      {
        std::vector<std::shared_ptr<sync_server>> servers;
        std::vector<std::shared_ptr<sync_handle>> links;
        for (size_t j = 0; j < half; ++j)
          servers.push_back(serve_tcp(*clients[j]));
        for (size_t k = half; k < client_nodes; ++k)
          if (!joined[k].empty())
            links.push_back(checked(clients[k]->sync_with(url_of(*servers[k - half]), only(joined[k])), "sync_with"));
        for (auto& l : links)
          expect(l->wait_synced(120s), "B sides did not get their access lists: " + link_summary(l->status()));
        for (auto& l : links)
          l->stop();
        for (auto& s : servers)
          s->stop();
      }
      on_every_node([&](size_t k) {
        for (size_t d = 0; d < sessions; ++d)
          if (node_of(d) == k) {
            for (size_t i = 0; i < pre; ++i)
              checked(dbs[d]->insert(collection, stamped(0, i)), "insert");
            names[k].push_back(db_name(d % pairs));
          }
      });
      r.open_secs = seconds_since(t0);
      r.fds_per_db = (open_fds() - fds_before) * 100 / sessions;
    }
    progress("relay: " + std::to_string(sessions) + " device databases on " + std::to_string(client_nodes) +
             " nodes opened and seeded in " + num(r.open_secs, 1) + " s; " + std::to_string(open_fds()) +
             " fds open, RSS " + std::to_string(rss_mib()) + " MiB, " + std::to_string(disk_mib(dir)) +
             " MiB on disk (" + std::to_string(free_mib(dir)) + " MiB free)");
    std::vector<subscription> subs;
    subs.reserve(sessions);
    for (size_t d = 0; d < sessions; ++d)
      subs.push_back(dbs[d]->subscribe(collection, [fd, d, pairs](const change& c) {
        // A device database's own writes are on its feed too: phase 0 (the
        // records written before connecting) counts only remote arrivals
        // (subscribed after those writes); later phases are written by A
        // sides only, so only B sides (d >= pairs) record arrivals.
        auto p = c.doc.find("phase");
        if (p != c.doc.end() && p->second.get_if<int64_t>() && *p->second.get_if<int64_t>() == 0)
          ++fd->remote[d];
        else if (d >= pairs)
          fd->lat.on_change(c);
      }));
    std::thread watcher([&] {
      while (watching.load()) {
        size_t s = relay.sessions();
        if (s > max_sessions.load())
          max_sessions.store(s);
        std::this_thread::sleep_for(100ms);
      }
    });
    struct stop_watcher {
      std::atomic<bool>& w;
      std::thread& t;
      ~stop_watcher() {
        w.store(false);
        if (t.joinable())
          t.join();
      }
    } stop{watching, watcher};

    // Connect every device database and wait until every link is synced and
    // every pair converged; give up early when the process runs out of file
    // descriptors (nothing recovers from that within the limit).
    std::vector<std::shared_ptr<sync_handle>> handles;
    auto t0 = steady::now();
    for (size_t k = 0; k < client_nodes; ++k)
      handles.push_back(checked(clients[k]->sync_with(url, only(names[k])), "sync_with"));
    auto deadline = t0 + limit;
    const size_t fd_limit = fd_soft_limit();
    bool all = false;
    std::string emfile;
    std::vector<link_status> st;
    for (;;) {
      st.clear();
      for (auto& h : handles)
        for (auto& x : h->status())
          st.push_back(x);
      size_t synced = 0;
      for (auto& x : st) {
        synced += x.synced;
        if (emfile.empty() && x.last_error.find("Too many open files") != std::string::npos)
          emfile = x.last_error;
      }
      r.synced_links = std::max(r.synced_links, synced);
      bool converged = synced == sessions;
      for (size_t d = 0; d < sessions && converged; ++d)
        converged = fd->remote[d].load() >= pre;
      if (converged) {
        all = true;
        break;
      }
      size_t fds_now = open_fds();
      if (emfile.empty() && fds_now + 16 >= fd_limit)
        emfile = std::to_string(fds_now) + " of " + std::to_string(fd_limit) + " file descriptors in use";
      if (!emfile.empty()) {
        std::this_thread::sleep_for(2s);  // let the failure show in the links' status
        break;
      }
      if (steady::now() > deadline)
        break;
      std::this_thread::sleep_for(20ms);
    }
    r.sync_secs = seconds_since(t0);
    r.fds = open_fds();
    r.rss = rss_mib();
    r.relay_fds = open_fds(relay.pid());
    r.relay_rss = rss_mib(relay.pid());
    r.max_connected = max_sessions.load();
    if (!all) {
      st.clear();
      for (auto& h : handles)
        for (auto& x : h->status())
          st.push_back(x);
      size_t converged = 0;
      for (size_t d = 0; d < sessions; ++d)
        converged += fd->remote[d].load() >= pre;
      r.why = (emfile.empty() ? "timed out" : "out of file descriptors (first sign: " + emfile + ")") + " after " +
              num(r.sync_secs, 1) + " s: " + link_summary(st) + "; relay sessions now " +
              std::to_string(relay.sessions()) + " (max seen " + std::to_string(r.max_connected) + "); " +
              std::to_string(converged) + " of " + std::to_string(sessions) + " device databases had their " +
              "partner's records; " +
              (r.fds > 0 ? std::to_string(r.fds) + " fds open (limit " + std::to_string(fd_limit) + "), RSS " +
                             std::to_string(r.rss) + " MiB"
                         : "no descriptor left even to count them (limit " + std::to_string(fd_limit) + ")") +
              "; the relay process: " + std::to_string(r.relay_fds) + " fds, RSS " + std::to_string(r.relay_rss) +
              " MiB, " + std::to_string(relay.log_count("accept on")) + " accept errors logged, last log lines: " +
              relay.log_tail(3);
    } else {
      r.disk = disk_mib(dir);
      progress("relay: " + std::to_string(sessions) + " links synced and converged in " + num(r.sync_secs, 2) +
               " s; relay sessions " + std::to_string(relay.sessions()) + "; client nodes: " +
               std::to_string(r.fds) + " fds open, RSS " + std::to_string(r.rss) + " MiB; relay process: " +
               std::to_string(r.relay_fds) + " fds, RSS " + std::to_string(r.relay_rss) + " MiB; " +
               std::to_string(r.disk) + " MiB on disk (" + std::to_string(free_mib(dir)) + " MiB free)");

      // Paced load: `rate` records/s round-robin over the A sides.
      const auto period = std::chrono::nanoseconds(static_cast<int64_t>(1e9 / rate));
      const auto n = static_cast<size_t>(rate * paced_secs);
      fd->lat.start(1);
      auto p0 = steady::now();
      for (size_t i = 0; i < n; ++i) {
        std::this_thread::sleep_until(p0 + period * static_cast<int64_t>(i));
        checked(dbs[i % pairs]->insert(collection, stamped(1, i)), "insert");
      }
      bool paced_ok = fd->lat.wait(n, 60s);
      auto v = fd->lat.sorted();
      r.paced_ops = v.size();
      r.paced_p50_us = quantile(v, 0.5);
      r.paced_p99_us = quantile(v, 0.99);
      progress("relay: paced " + std::to_string(n) + " records at " + num(rate, 0) + "/s: p50 " +
               num(r.paced_p50_us) + " us, p99 " + num(r.paced_p99_us) + " us" +
               (paced_ok ? "" : " (only " + std::to_string(v.size()) + " arrived)"));

      // Burst: every A side writes burst_per_db records at once (write_async).
      struct pending {
        std::atomic<size_t> failed{0};
      };
      auto pend = std::make_shared<pending>();
      fd->lat.start(2);
      const size_t total = pairs * burst_per_db;
      int64_t b0 = now_ns();
      for (size_t j = 0; j < burst_per_db; ++j)
        for (size_t p = 0; p < pairs; ++p) {
          writes ws;
          ws.push_back(make_insert(collection, stamped(2, j * pairs + p)));
          dbs[p]->write_async(std::move(ws), [pend](result<write_outcomes> w) {
            if (!w || w->empty() || !(*w)[0].st.ok())
              ++pend->failed;
          });
        }
      bool burst_ok = fd->lat.wait(total, 120s);
      auto bv = fd->lat.sorted();
      int64_t last = 0;
      {
        std::lock_guard<std::mutex> g(fd->lat.m);
        last = fd->lat.last_ns;
      }
      r.burst_ops = bv.size();
      if (last > b0)
        r.burst_ops_per_s = static_cast<double>(bv.size()) / (static_cast<double>(last - b0) / 1e9);
      r.burst_p99_us = quantile(bv, 0.99);
      progress("relay: burst of " + std::to_string(total) + " records (" + std::to_string(burst_per_db) +
               " per A side): " + num(r.burst_ops_per_s, 0) + " records/s A->relay->B, p99 " +
               num(r.burst_p99_us / 1e3, 1) + " ms" +
               (burst_ok ? "" : " (only " + std::to_string(bv.size()) + " arrived)") +
               (pend->failed ? ", " + std::to_string(pend->failed.load()) + " writes failed" : ""));
      r.max_connected = max_sessions.load();
      r.ok = paced_ok && burst_ok && pend->failed.load() == 0;
      if (!r.ok)
        r.why = "the load phases did not complete: paced " + std::to_string(v.size()) + "/" + std::to_string(n) +
                ", burst " + std::to_string(bv.size()) + "/" + std::to_string(total);
    }
    // Quiesce before closing anything: every link synced (nothing in flight)
    // and a moment for the last Acks. Closing a connection while its peer
    // wrote corrupted the heap before eb040d7 (runtime/net/transport.cpp,
    // connection_base::wrote after finish; see README), and a quiet
    // teardown is quicker anyway.
    if (all) {  // (links that never synced would only make this wait its full time)
      for (auto& h : handles)
        h->wait_synced(10s);
      std::this_thread::sleep_for(100ms);
    }
    auto td = steady::now();
    watching.store(false);
    if (watcher.joinable())
      watcher.join();
    subs.clear();
    for (auto& h : handles)
      h->stop();
    handles.clear();
    dbs.clear();
    clients.clear();
    r.relay_clean_exit = relay.stop();  // SIGTERM: closes every session and database
    if (!r.relay_clean_exit) {
      r.ok = false;
      r.why += (r.why.empty() ? "" : "; ") + std::string("the relay process did not exit cleanly on SIGTERM: ") +
               relay.log_tail(3);
    }
    progress("relay: teardown took " + num(seconds_since(td), 1) + " s" +
             (r.relay_clean_exit ? " (the relay exited cleanly on SIGTERM)" : ""));
  }
  fs::remove_all(dir);
  return r;
}

// ---- thousands of databases on one relay --------------------------------------------

struct hosting_result {
  size_t hosted = 0;            // databases in the relay's data directory at the end
  size_t max_open = 0;          // the relay's open databases, the most seen
  size_t max_relay_fds = 0;     // the relay's descriptors, the most seen
  size_t idle_open = 0;         // open databases once every session had ended and the idle time passed
  size_t idle_fds = 0;          // the relay's descriptors then
  std::vector<double> wave_secs;  // per wave: create, seed, sync and close `wave` databases
  double late_secs = 0;         // a new device syncing `late` databases the relay had closed
  size_t late = 0;
  size_t relay_rss = 0;
  bool relay_clean_exit = false;
};

/// A relay process (idle databases closed after 1 s) receives `total`
/// databases in waves of `wave` from a device node in this process: each
/// wave creates its databases, writes 2 records in each, syncs them with the
/// relay, then stops syncing and closes them. Then a new device syncs `late`
/// of them, spread over every wave (closed on the relay by then), and checks
/// their records.
hosting_result hosting_run(const fs::path& dir, size_t total, size_t wave, size_t late) {
  hosting_result r;
  fs::create_directories(dir);
  relay_process relay(dir / "relay", dir / "relay.log", {"--idle-close", "1"});
  auto watch = [&] {
    r.max_open = std::max(r.max_open, relay.open_databases());
    r.max_relay_fds = std::max(r.max_relay_fds, open_fds(relay.pid()));
  };
  auto name_of = [](size_t i) {
    auto digits = std::to_string(i);
    return "h" + std::string(digits.size() < 5 ? 5 - digits.size() : 0, '0') + digits;
  };
  // The device owns every database (sealed) and invites the relay (relay
  // rights: it stores ciphertext) and the late device (read).
  const auto relay_key = member_key_at(dir / "relay");
  const auto late_key = member_key_at(dir / "late");
  {
    auto device = open_node(dir / "device");
    for (size_t first = 0; first < total; first += wave) {
      auto t0 = steady::now();
      size_t count = std::min(wave, total - first);
      std::vector<std::string> names;
      std::vector<std::thread> openers;
      std::mutex m;
      std::string err;
      for (size_t k = 0; k < 4; ++k)
        openers.emplace_back([&, k] {
          try {
            for (size_t i = k; i < count; i += 4) {
              auto name = name_of(first + i);
              auto db = checked(device->open_database(name), "open_database " + name);
              share(db, relay_key, access_rights::relay);
              share(db, late_key, access_rights::read);
              for (int j = 0; j < 2; ++j)
                checked(db.insert(collection, {{"db", name}, {"j", static_cast<int64_t>(j)}}), "insert");
              std::lock_guard<std::mutex> g(m);
              names.push_back(name);
            }
          } catch (const std::exception& e) {
            std::lock_guard<std::mutex> g(m);
            err = e.what();
          }
        });
      for (auto& t : openers)
        t.join();
      expect(err.empty(), err);
      auto h = checked(device->sync_with(relay.url(), only(names)), "sync_with");
      auto deadline = steady::now() + 120s;
      while (!h->wait_synced(200ms)) {
        watch();
        expect(steady::now() < deadline, "wave at " + std::to_string(first) + " did not sync in 120 s: " +
                                             link_summary(h->status()) + "; relay log: " + relay.log_tail(3));
      }
      watch();
      h->stop();
      for (auto& name : names)
        checked(device->close_database(name), "close_database");
      r.wave_secs.push_back(seconds_since(t0));
      progress("hosting: wave of " + std::to_string(count) + " databases (" + std::to_string(first + count) +
               " so far) created, synced with the relay and closed in " + num(r.wave_secs.back(), 1) +
               " s; relay: " + std::to_string(relay.open_databases()) + " open, " +
               std::to_string(open_fds(relay.pid())) + " fds");
    }
  }
  // Every session has ended: after the idle time (1 s) and a status write
  // (every second) the relay reports what it still holds open.
  auto until = steady::now() + 30s;
  do {
    std::this_thread::sleep_for(500ms);
    watch();
    r.idle_open = relay.open_databases();
  } while (r.idle_open > 0 && steady::now() < until);
  r.idle_fds = open_fds(relay.pid());
  r.hosted = 0;
  std::error_code ec;
  for (auto it = fs::directory_iterator(dir / "relay", ec); !ec && it != fs::directory_iterator(); it.increment(ec))
    r.hosted += fs::exists(it->path() / "CURRENT");
  progress("hosting: " + std::to_string(r.hosted) + " databases on the relay, " + std::to_string(r.idle_open) +
           " open once idle, " + std::to_string(r.idle_fds) + " fds");

  // A new device fetches `late` of them (reopened on demand by the relay).
  {
    auto device = open_node(dir / "late");
    std::vector<std::string> names;
    for (size_t i = 0; i < late; ++i)
      names.push_back(name_of(i * total / late));
    auto t0 = steady::now();
    auto h = checked(device->sync_with(relay.url(), only(names)), "sync_with");
    expect(h->wait_synced(120s), "the late device did not sync: " + link_summary(h->status()));
    r.late_secs = seconds_since(t0);
    r.late = late;
    watch();
    h->stop();
    for (auto& name : names) {
      auto db = checked(device->open_database(name, false), "open_database " + name);
      auto rows = checked(db.query(collection).run(), "query");
      expect(rows.size() == 2, name + " has " + std::to_string(rows.size()) + " records on the late device, not 2");
      for (auto& row : rows)
        expect(row.doc.at("db") == value(name), name + " holds a record of another database");
    }
  }
  r.relay_rss = rss_mib(relay.pid());
  r.relay_clean_exit = relay.stop();
  expect(r.relay_clean_exit, "the relay did not exit cleanly on SIGTERM: " + relay.log_tail(3));
  fs::remove_all(dir, ec);
  return r;
}

std::string rlimit_note;

/// Raises the soft limit of open files to the hard limit; returns a note.
std::string raise_fd_limit() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0)
    return "getrlimit failed";
  auto before = rl.rlim_cur;
  if (rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &rl);
    ::getrlimit(RLIMIT_NOFILE, &rl);
  }
  return "open files limit " + std::to_string(rl.rlim_cur) + " (soft was " + std::to_string(before) +
         ", hard " + std::to_string(rl.rlim_max) + ")";
}

} // namespace

/// Library log lines go to stderr while the suite runs (spdlog's default
/// logger writes to stdout, which carries the JSON lines), warnings and
/// errors only, and a message repeated more than 3 times (numbers, ids and
/// paths masked) is counted instead of printed.
class dedup_sink final : public spdlog::sinks::base_sink<std::mutex> {
public:
  /// How often messages containing `part` were logged (printed or not).
  size_t count(const std::string& part) {
    std::lock_guard<std::mutex> g(mutex_);
    size_t n = 0;
    for (auto& [k, v] : seen_)
      if (k.find(part) != std::string::npos)
        n += v;
    return n;
  }
  std::string example(const std::string& part) {
    std::lock_guard<std::mutex> g(mutex_);
    for (auto& [k, v] : seen_)
      if (k.find(part) != std::string::npos)
        return k;
    return {};
  }

protected:
  void sink_it_(const spdlog::details::log_msg& m) override {
    auto key = mask(std::string(m.payload.data(), m.payload.size()));
    if (++seen_[key] <= 3)
      out_->log(m);
  }
  void flush_() override { out_->flush(); }

private:
  std::shared_ptr<spdlog::sinks::sink> out_ = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  std::map<std::string, size_t> seen_;
};

struct quiet_logs {
  std::shared_ptr<spdlog::logger> before = spdlog::default_logger();
  std::shared_ptr<dedup_sink> sink = std::make_shared<dedup_sink>();
  quiet_logs() {
    auto l = std::make_shared<spdlog::logger>("bench", sink);
    l->set_level(std::getenv("BLAZE_BENCH_DEBUG_LOG") ? spdlog::level::debug : spdlog::level::warn);
    spdlog::set_default_logger(l);
  }
  ~quiet_logs() { spdlog::set_default_logger(before); }
  size_t count(const std::string& part) { return sink->count(part); }
  std::string example(const std::string& part) { return sink->example(part); }
};

int run_sync(const options& opts) {
  quiet_logs logs;
  const int runs = opts.runs;
  const bool q = opts.quick;
  temp_dir tmp("blazedb-bench-sync");
  rlimit_note = raise_fd_limit();
  progress("sync suite, " + std::to_string(runs) + " runs per figure" + (q ? " (quick)" : "") + ", data in " +
           tmp.path().string() + ", load average " + load_average() + " (" +
           std::to_string(std::thread::hardware_concurrency()) + " cores), " + rlimit_note);
  auto suite_t0 = steady::now();

  // Reference: plain loopback TCP.
  if (opts.wants("loopback")) {
    const size_t bytes = size_t{q ? 64u : 256u} << 20;
    figure bw{"loopback_tcp_mib_per_s", "MiB/s", target{}, 0, {}, ""};
    bw.note = "reference: one plain TCP connection on 127.0.0.1 pushing " + std::to_string(bytes >> 20) +
              " MiB (64 KiB send/recv calls, writer and reader threads)";
    figure rtt{"loopback_tcp_rtt_p50_us", "us", target{}, 1, {}, ""};
    rtt.note = "reference: 1-byte ping-pong between two threads over loopback TCP (TCP_NODELAY), 10,000 round trips";
    for (int r = 0; r < runs; ++r) {
      bw.samples.push_back(loopback_bandwidth(bytes));
      rtt.samples.push_back(loopback_rtt(10'000));
      progress("loopback run " + std::to_string(r + 1) + ": " + num(bw.samples.back(), 0) + " MiB/s, rtt p50 " +
               num(rtt.samples.back()) + " us");
    }
    report(bw);
    report(rtt);
  }

  // Initial sync of a fresh replica.
  if (opts.wants("initial")) {
    {
      const size_t n = 10'000;
      seeded_server server(tmp.path() / "seed10k", n);
      progress("initial: " + std::to_string(n) + " records written in " + num(server.seed_secs, 2) + " s");
      figure ms{"initial_sync_10k_ms", "ms", target::below(100), 1, {}, ""};
      figure rate{"initial_sync_10k_records_per_s", "records/s", target{}, 0, {}, ""};
      std::vector<double> first, opened, created;
      for (int r = 0; r < runs; ++r) {
        auto res = initial_run(server, tmp.path() / "client10k", 60s);
        expect(res.complete, "initial sync of 10,000 records failed: " + res.why);
        progress("initial 10k run " + std::to_string(r + 1) + ": " + num(res.secs * 1e3) + " ms (handshake done after " +
                 num(res.open_ms) + " ms, first operations applied after " + num(res.first_ms) +
                 " ms; creating a database on that node takes " + num(res.create_ms) + " ms)");
        ms.samples.push_back(res.secs * 1e3);
        rate.samples.push_back(static_cast<double>(n) / res.secs);
        first.push_back(res.first_ms);
        opened.push_back(res.open_ms);
        created.push_back(res.create_ms);
      }
      ms.note = "fresh node, invited rw by the owner: sync_with(tcp://127.0.0.1) of a sealed (end-to-end encrypted) "
                "database holding 10,000 3-field records (written with database::write in batches of 1,000; the "
                "member opens each operation) until wait_synced returns; includes creating the replica's "
                "database; medians: handshake done after " + num(median(opened)) + " ms, first operations applied "
                "after " + num(median(first)) + " ms; creating another database on that node takes " +
                num(median(created)) + " ms";
      rate.note = "10,000 / initial_sync_10k_ms";
      report(ms);
      report(rate);
    }
    {
      const size_t n = q ? 100'000 : 1'000'000;
      const std::string name = q ? "initial_sync_100k_records_per_s" : "initial_sync_1m_records_per_s";
      // The big figure: fewer runs, each bounded; a run that hits the bound
      // reports what it reached and ends the series.
      const int big_runs = std::min(runs, 3);
      const auto limit = q ? 60s : 240s;
      seeded_server server(tmp.path() / "seedbig", n);
      progress("initial: " + std::to_string(n) + " records written in " + num(server.seed_secs, 1) + " s (" +
               num(static_cast<double>(n) / server.seed_secs, 0) + " writes/s)");
      figure rate{name, "records/s", target::at_least(250'000), 0, {}, ""};
      figure secs{q ? "initial_sync_100k_s" : "initial_sync_1m_s", "s", target{}, 2, {}, ""};
      std::string incomplete;
      for (int r = 0; r < big_runs; ++r) {
        auto res = initial_run(server, tmp.path() / "clientbig", limit);
        double per_s = static_cast<double>(res.complete ? n : res.received) / res.secs;
        progress("initial " + std::to_string(n) + " run " + std::to_string(r + 1) + ": " + num(res.secs, 2) + " s, " +
                 num(per_s, 0) + " records/s" + (res.complete ? "" : " — INCOMPLETE: " + res.why));
        rate.samples.push_back(per_s);
        secs.samples.push_back(res.secs);
        if (!res.complete) {
          incomplete = "; run " + std::to_string(r + 1) + " gave up after " + num(res.secs, 0) + " s having " +
                       std::to_string(res.received) + " of " + std::to_string(n) + " records (" + res.why +
                       "): the value is what was reached";
          break;
        }
      }
      rate.note = "as initial_sync_10k_ms with " + std::to_string(n) + " records: records / (sync_with until "
                  "wait_synced), each run bounded at " + std::to_string(limit.count()) + " s" + incomplete;
      secs.note = "time of the same runs";
      report(rate);
      report(secs);

      // Where that time goes, without actors and sockets (first 200,000 operations).
      figure enc{"initial_sync_serve_read_encode_ops_per_s", "ops/s", target{}, 0, {}, ""};
      figure app{"initial_sync_decode_apply_ops_per_s", "ops/s", target{}, 0, {}, ""};
      figure apply_only{"initial_sync_apply_remote_ops_per_s", "ops/s", target{}, 0, {}, ""};
      figure wire{"initial_sync_wire_bytes_per_record", "bytes", target{}, 1, {}, ""};
      for (int r = 0; r < big_runs; ++r) {
        auto b = initial_breakdown(server, tmp.path() / "breakdown", 200'000);
        enc.samples.push_back(b.read_encode_ops_per_s);
        app.samples.push_back(b.decode_apply_ops_per_s);
        apply_only.samples.push_back(b.apply_ops_per_s);
        wire.samples.push_back(b.wire_bytes_per_op);
        progress("initial breakdown run " + std::to_string(r + 1) + " (" + std::to_string(b.ops) +
                 " ops): read+encode " + num(b.read_encode_ops_per_s, 0) + " ops/s, decode+apply " +
                 num(b.decode_apply_ops_per_s, 0) + " ops/s (apply_remote alone " + num(b.apply_ops_per_s, 0) +
                 " ops/s), " + num(b.wire_bytes_per_op) + " wire bytes/op");
      }
      enc.note = "serving side without actors or sockets: store::oplog_after in 256 KiB chunks + encode(OpBatch, "
                 "compressed), over the first 200,000 operations of the same database";
      app.note = "receiving side without actors or sockets: decode_envelope + decode_operation + "
                 "store::apply_remote per batch into a fresh store, same batches";
      apply_only.note = "the store::apply_remote part of initial_sync_decode_apply_ops_per_s";
      wire.note = "framed, compressed OpBatch bytes per record in those batches";
      report(enc);
      report(app);
      report(apply_only);
      report(wire);
    }
  }

  // Live propagation device A -> relay -> device B.
  if (opts.wants("propagation")) {
    const double rate = 2'000, seconds = q ? 2 : 4;
    figure p50{"propagation_p50_us", "us", target{}, 0, {}, ""};
    figure p99{"propagation_p99_us", "us", target::below(5'000), 0, {}, ""};
    figure hop50{"propagation_first_hop_p50_us", "us", target{}, 0, {}, ""};
    figure hop99{"propagation_first_hop_p99_us", "us", target{}, 0, {}, ""};
    double achieved = 0;
    for (int r = 0; r < runs; ++r) {
      auto res = propagation_run(tmp.path() / ("prop" + std::to_string(r)), rate, seconds);
      progress("propagation run " + std::to_string(r + 1) + ": p50 " + num(res.p50_us) + " us, p99 " +
               num(res.p99_us) + " us, max " + num(res.max_us) + " us; A->relay p50 " + num(res.hop1_p50_us) +
               " us, p99 " + num(res.hop1_p99_us) + " us; " + std::to_string(res.got) + "/" +
               std::to_string(res.sent) + " at " + num(res.achieved_rate, 0) + " records/s");
      p50.samples.push_back(res.p50_us);
      p99.samples.push_back(res.p99_us);
      hop50.samples.push_back(res.hop1_p50_us);
      hop99.samples.push_back(res.hop1_p99_us);
      achieved = res.achieved_rate;
    }
    p50.note = p99.note = "three nodes in this process over TCP loopback, database sealed (A owns it; B is "
                          "invited rw, the relay r so that it can time its arrivals): device A inserts " +
                          num(rate, 0) +
                          " records/s paced for " + num(seconds, 0) + " s (after 200 untimed) with its steady-clock "
                          "send time in a field; device B's change feed (database::subscribe) records arrival; "
                          "from before A's blocking insert to B's callback (last run paced at " +
                          num(achieved, 0) + "/s)";
    hop50.note = hop99.note = "the same records arriving on the relay's own change feed (A -> relay only)";
    report(p50);
    report(p99);
    report(hop50);
    report(hop99);
  }

  // Bytes on the wire per update.
  if (opts.wants("wire")) {
    const size_t count = 1'000;
    figure plain{"wire_bytes_per_update", "bytes", target::at_most(64), 1, {}, ""};
    figure z{"wire_bytes_per_update_compressed", "bytes", target::at_most(64), 1, {}, ""};
    figure single{"wire_bytes_per_update_single_op_batch", "bytes", target{}, 1, {}, ""};
    double ack = 0, op = 0;
    auto n = open_node(tmp.path() / "wire");
    for (int r = 0; r < runs; ++r) {
      auto w = wire_run(*n, "wire" + std::to_string(r % 10), count);
      plain.samples.push_back(w.plain);
      z.samples.push_back(w.compressed);
      single.samples.push_back(w.single);
      ack = w.ack;
      op = w.op;
      progress("wire run " + std::to_string(r + 1) + ": " + num(w.plain) + " bytes/update, compressed " +
               num(w.compressed) + ", one op per batch " + num(w.single) + ", encoded operation " + num(w.op) +
               ", Ack " + num(w.ack, 0));
    }
    n.reset();
    plain.note = "an OpBatch envelope of " + std::to_string(count) + " database::set of an int field on existing "
                 "records, the operations as the oplog holds them (store::oplog_after): (sync::encode(env, false) + "
                 "4-byte frame) / ops; one encoded operation alone is " + num(op) + " bytes";
    z.note = "the same with sync::encode(env, true) (zstd when smaller)";
    single.note = "the same updates sent one per OpBatch envelope (what a live push of a single write carries, "
                  "framed); the receiver answers each batch with an Ack of " + num(ack, 0) +
                  " bytes (two-entry version vector)";
    report(plain);
    report(z);
    report(single);
  }

  // Many concurrent sessions on one relay.
  if (opts.wants("relay")) {
    size_t want = q ? 200 : 1'000;
    if (auto* e = std::getenv("BLAZE_BENCH_RELAY_SESSIONS"))  // for diagnosis: another count
      want = std::max<size_t>(4, std::strtoul(e, nullptr, 10) / 4 * 4);
    const size_t client_nodes = 4;
    const size_t pre = 3, burst = q ? 5 : 10;
    const double rate = 2'000, paced_secs = q ? 1 : 3;
    const int relay_runs = q ? 1 : std::min(runs, 2);
    const auto limit = q ? 60s : 180s;
    const std::string prefix = "relay_sessions_" + std::to_string(want);
    auto shape = [&](size_t count) {
      return std::to_string(count) + " sync links on TCP loopback to one relay (a `blazedb serve` process): " +
             std::to_string(count / 2) + " relay databases, each shared by two device databases (A owns it, "
             "sealed, and invites B rw and the relay with relay rights) on " +
             std::to_string(client_nodes) + " client nodes in this process, one link per device database";
    };
    figure conn{prefix, "sessions", target::at_least(static_cast<double>(want)), 0, {}, ""};
    figure sync_ms{prefix + "_sync_ms", "ms", target{}, 0, {}, ""};
    figure ops{prefix + "_ops_per_s", "records/s", target{}, 0, {}, ""};
    figure p50{prefix + "_propagation_p50_us", "us", target{}, 0, {}, ""};
    figure p99{prefix + "_propagation_p99_us", "us", target::below(5'000), 0, {}, ""};
    figure bp99{prefix + "_burst_p99_ms", "ms", target{}, 1, {}, ""};
    std::string failure;
    relay_result last;
    for (int r = 0; r < relay_runs; ++r) {
      relay_result res;
      try {
        res = relay_run(tmp.path() / ("relay" + std::to_string(r)), want, client_nodes, pre, rate, paced_secs, burst,
                        limit);
      } catch (const std::exception& e) {  // e.g. a write failing for want of file descriptors
        res.ok = false;
        res.why = e.what();
        std::error_code ec;
        fs::remove_all(tmp.path() / ("relay" + std::to_string(r)), ec);
      }
      last = res;
      conn.samples.push_back(static_cast<double>(res.synced_links));
      if (!res.ok) {
        failure = "run " + std::to_string(r + 1) + " failed: " + res.why;
        progress("relay: " + failure);
        break;
      }
      sync_ms.samples.push_back(res.sync_secs * 1e3);
      ops.samples.push_back(res.burst_ops_per_s);
      p50.samples.push_back(res.paced_p50_us);
      p99.samples.push_back(res.paced_p99_us);
      bp99.samples.push_back(res.burst_p99_us / 1e3);
    }
    conn.note = "device links synced at the same time (the relay's session count reached " +
                std::to_string(last.max_connected) + "); " + shape(want) + "; " + rlimit_note + "; " +
                num(last.fds_per_db / 100.0, 1) + " file descriptors per open device database" +
                (failure.empty() ? "" : "; " + failure);
    report(conn);
    auto describe = [&](size_t count, const relay_result& res) {
      sync_ms.note = shape(count) + ": every device database wrote " + std::to_string(pre) +
                     " records, then sync_with on every client node until every link was synced and every device "
                     "database had its partner's records (through the relay); client nodes " +
                     std::to_string(res.fds) + " fds, RSS " + std::to_string(res.rss) + " MiB; relay " +
                     std::to_string(res.relay_fds) + " fds, RSS " + std::to_string(res.relay_rss) + " MiB; " +
                     std::to_string(res.disk) + " MiB on disk at that point";
      ops.note = "burst: every A side issues " + std::to_string(burst) + " single-insert write_async at once (" +
                 std::to_string(count / 2 * burst) + " records); records delivered A -> relay -> B per second, first "
                 "issue to last arrival on B's change feed";
      p50.note = p99.note = "paced load with all " + std::to_string(count) + " links connected: " + num(rate, 0) +
                            " inserts/s round-robin over the A sides for " + num(paced_secs, 0) +
                            " s; send time to arrival on B's change feed";
      bp99.note = "propagation p99 during the burst (queueing included)";
    };
    if (failure.empty()) {
      describe(want, last);
      report(sync_ms);
      report(ops);
      report(p50);
      report(p99);
      report(bp99);
    } else {
      // The largest count that works: first what the file descriptors
      // measured per device database allow in this process (a database
      // and a socket per link, 40 % spare: databases open more files as
      // they flush), then halving.
      std::vector<size_t> tries;
      double per_db = std::max(last.fds_per_db / 100.0, 8.0);
      auto fit = static_cast<size_t>(0.6 * static_cast<double>(fd_soft_limit()) / (per_db + 1.0)) / 4 * 4;
      if (fit >= 8 && fit < want)
        tries.push_back(fit);
      for (size_t c = want / 2; c >= 8; c /= 2)
        if (tries.empty() || c < tries.back())
          tries.push_back(c / 4 * 4);
      for (size_t count : tries) {
        progress("relay: trying " + std::to_string(count) + " sessions");
        relay_result res;
        try {
          res = relay_run(tmp.path() / ("relay-" + std::to_string(count)), count, client_nodes, pre, rate,
                          paced_secs, burst, limit);
        } catch (const std::exception& e) {
          res.ok = false;
          res.why = e.what();
          std::error_code ec;
          fs::remove_all(tmp.path() / ("relay-" + std::to_string(count)), ec);
        }
        if (!res.ok) {
          progress("relay: " + std::to_string(count) + " sessions failed too: " + res.why);
          continue;
        }
        const std::string pre2 = "relay_sessions_largest_working";
        figure works{pre2, "sessions", target{}, 0, {static_cast<double>(res.synced_links)}, ""};
        works.note = "the largest count tried after " + std::to_string(want) + " failed (" +
                     (count == fit ? "what the measured file descriptors per database allow" : "halving") +
                     ") whose links all synced; figures below are from this run (1 run)";
        report(works);
        sync_ms.name = pre2 + "_sync_ms";
        ops.name = pre2 + "_ops_per_s";
        p50.name = pre2 + "_propagation_p50_us";
        p99.name = pre2 + "_propagation_p99_us";
        bp99.name = pre2 + "_burst_p99_ms";
        sync_ms.samples = {res.sync_secs * 1e3};
        ops.samples = {res.burst_ops_per_s};
        p50.samples = {res.paced_p50_us};
        p99.samples = {res.paced_p99_us};
        bp99.samples = {res.burst_p99_us / 1e3};
        describe(count, res);
        report(sync_ms);
        report(ops);
        report(p50);
        report(p99);
        report(bp99);
        break;
      }
    }
  }
  // Thousands of databases on one relay, idle ones closed and reopened.
  if (opts.wants("hosting")) {
    size_t total = q ? 400 : 2'000;
    const size_t wave = q ? 200 : 500, late = q ? 20 : 100;
    if (auto* e = std::getenv("BLAZE_BENCH_HOSTING_DATABASES"))  // for diagnosis: another count
      total = std::max<size_t>(wave, std::strtoul(e, nullptr, 10) / wave * wave);
    hosting_result res;
    std::string failure;
    try {
      res = hosting_run(tmp.path() / "hosting", total, wave, late);
    } catch (const std::exception& e) {
      failure = e.what();
      progress("hosting: FAILED: " + failure);
    }
    const std::string prefix = "relay_databases_hosted";
    figure hosted{prefix, "databases", target::at_least(static_cast<double>(total)), 0, {}, ""};
    if (failure.empty())
      hosted.samples.push_back(static_cast<double>(res.hosted));
    hosted.note = failure.empty()
                    ? "databases in the relay's data directory after " + std::to_string(total / wave) + " waves of " +
                        std::to_string(wave) + " (a device node creates them, writes 2 records in each, syncs them "
                        "with a `blazedb serve --idle-close 1` process, stops and closes them); the relay had at "
                        "most " + std::to_string(res.max_open) + " open at once and " +
                        std::to_string(res.max_relay_fds) + " file descriptors; once idle " +
                        std::to_string(res.idle_open) + " open, " + std::to_string(res.idle_fds) + " fds, RSS " +
                        std::to_string(res.relay_rss) + " MiB at the end; exited cleanly on SIGTERM (1 run)"
                    : "FAILED: " + failure;
    report(hosted);
    if (failure.empty()) {
      figure open_idle{prefix + "_open_when_idle", "databases", target::at_most(0), 0,
                       {static_cast<double>(res.idle_open)}, ""};
      open_idle.note = "the relay's open databases once every session had ended and its idle time (1 s) passed";
      report(open_idle);
      figure waves{prefix + "_wave_s", "s", target{}, 1, res.wave_secs, ""};
      waves.note = "per wave of " + std::to_string(wave) + " databases: create (sealed), invite the relay (relay "
                   "rights) and the late device (r), write 2 records each, sync with "
                   "the relay (which creates its copies, 4 at a time) and close (median of the waves)";
      report(waves);
      figure reopen{prefix + "_late_sync_ms", "ms", target{}, 0, {res.late_secs * 1e3}, ""};
      reopen.note = "a new device syncs " + std::to_string(res.late) + " databases spread over every wave, all closed "
                    "on the relay by then (reopened on demand), and finds each one's 2 records";
      report(reopen);
    }
  }
  progress("done in " + num(seconds_since(suite_t0), 0) + " s, load average " + load_average());
  return 0;
}

} // namespace blaze::bench
