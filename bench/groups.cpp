// The `groups` suite (docs/transactions.md): cross-database transactions per
// second against single-database writes in the same run, and the time from a
// transaction's commit to its visibility on a replica.
#include "bench/suite.hpp"

#include "runtime/node.hpp"
#include "runtime/sync_group.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace blaze::bench {

namespace {

const record_id acct_a{0xa, 1};
const record_id acct_b{0xb, 1};

std::unique_ptr<node> open_at(const std::filesystem::path& dir) {
  node_options o;
  o.data_dir = dir;
  o.worker_threads = 2;
  auto n = node::open(o);
  if (!n)
    throw std::runtime_error(n.error().to_string());
  return std::move(*n);
}

void must(const status& s, const char* what) {
  if (!s)
    throw std::runtime_error(std::string(what) + ": " + s.to_string());
}

template <class T> T must(result<T> r, const char* what) {
  if (!r)
    throw std::runtime_error(std::string(what) + ": " + r.error().to_string());
  return std::move(*r);
}

std::shared_ptr<sync_group> accounts(node& n) {
  auto g = must(n.sync_group({"east", "west"}), "sync_group");
  must(g->transact([](txn& t) {
         t.put("east", "accounts", acct_a, {});
         t.put("west", "accounts", acct_b, {});
         return status{};
       }),
       "open accounts");
  return g;
}

status transfer(sync_group& g) {
  auto r = g.transact([](txn& t) {
    t.increment("east", "accounts", acct_a, "balance", -1);
    t.increment("west", "accounts", acct_b, "balance", 1);
    return status{};
  });
  return r ? status{} : r.error();
}

} // namespace

int run_groups(const options& opts) {
  // stdout carries the figures: library log lines go to stderr, warnings only.
  auto before = spdlog::default_logger();
  auto quiet = spdlog::stderr_color_mt("bench-groups");
  quiet->set_level(spdlog::level::warn);
  spdlog::set_default_logger(quiet);
  struct restore {
    std::shared_ptr<spdlog::logger> l;
    ~restore() {
      spdlog::set_default_logger(l);
      spdlog::drop("bench-groups");
    }
  } restore_logger{before};
  const int runs = opts.runs;
  const bool q = opts.quick;
  temp_dir tmp("blazedb-bench-groups");
  progress("groups suite, " + std::to_string(runs) + " runs per figure" + (q ? " (quick)" : "") + ", data in " +
           tmp.path().string() + ", load average " + load_average());

  if (opts.wants("txn")) {
    const int count = q ? 200 : 1'000;
    figure txn{"cross_db_txn_per_s", "txn/s", target{}, 0, {}, ""};
    txn.note = "sync_group::transact of 2 increments in 2 databases (two-phase commit: 2 prepares, the decision "
               "and 2 commits, each fsynced), one caller, " + std::to_string(count) + " per run";
    figure single_sync{"single_db_write_sync_per_s", "writes/s", target{}, 0, {}, ""};
    single_sync.note = "database::increment, one caller, the database in durability sync (one fsync per write), "
                       "same node and run";
    figure single_buf{"single_db_write_buffered_per_s", "writes/s", target{}, 0, {}, ""};
    single_buf.note = "database::increment, one caller, durability buffered (no fsync), same node and run";
    figure ratio{"cross_db_txn_to_sync_write_ratio", "ratio", target{}, 3, {}, ""};
    ratio.note = "cross_db_txn_per_s / single_db_write_sync_per_s of the same run";
    for (int r = 0; r < runs; ++r) {
      auto n = open_at(tmp.path() / ("txn" + std::to_string(r)));
      auto g = accounts(*n);
      auto t0 = steady::now();
      for (int i = 0; i < count; ++i)
        must(transfer(*g), "transfer");
      double t = count / seconds_since(t0);
      auto solo = must(n->open_database("solo", true, durability::sync), "open solo");
      auto id = must(solo.insert("c", {}), "insert");
      t0 = steady::now();
      for (int i = 0; i < count; ++i)
        must(solo.increment("c", id, "n", 1), "increment");
      double ss = count / seconds_since(t0);
      must(solo.set_durability(durability::buffered), "durability");
      const int more = count * 10;
      t0 = steady::now();
      for (int i = 0; i < more; ++i)
        must(solo.increment("c", id, "n", 1), "increment");
      double sb = more / seconds_since(t0);
      txn.samples.push_back(t);
      single_sync.samples.push_back(ss);
      single_buf.samples.push_back(sb);
      ratio.samples.push_back(t / ss);
      progress("txn run " + std::to_string(r + 1) + ": " + std::to_string(static_cast<int>(t)) + " txn/s, " +
               std::to_string(static_cast<int>(ss)) + " sync writes/s, " + std::to_string(static_cast<int>(sb)) +
               " buffered writes/s");
    }
    report(txn);
    report(single_sync);
    report(single_buf);
    report(ratio);
  }

  if (opts.wants("visibility")) {
    const int count = q ? 50 : 200;
    figure p50{"txn_remote_visibility_p50_ms", "ms", target{}, 2, {}, ""};
    figure p99{"txn_remote_visibility_p99_ms", "ms", target{}, 2, {}, ""};
    p50.note = p99.note = "from sync_group::transact returning on the origin to both parts visible on a replica "
                          "(change feeds of both databases), live sync over tcp loopback, one transaction at a "
                          "time, " + std::to_string(count) + " per run";
    for (int r = 0; r < runs; ++r) {
      auto origin = open_at(tmp.path() / ("vis-origin" + std::to_string(r)));
      auto replica = open_at(tmp.path() / ("vis-replica" + std::to_string(r)));
      serve_options so;
      so.listen = {"tcp://127.0.0.1:0"};
      auto srv = must(origin->serve(so), "serve");
      auto g = accounts(*origin);
      // The origin owns both databases (sealed) and invites the replica
      // (rw), which joins them.
      for (const char* name : {"east", "west"}) {
        auto db = must(origin->open_database(name, false), "open");
        must(db.share(member_key_of(replica->ident()), access_rights::read_write), "share");
      }
      sync_group_options join;
      join.as = new_database::join;
      auto rg = must(replica->sync_group({"east", "west"}, join), "replica group");
      must(rg->start(srv->endpoints().at(0).to_string()), "start");
      if (!rg->wait_synced(std::chrono::seconds(30)))
        throw std::runtime_error("the replica did not catch up");
      std::mutex m;
      std::condition_variable cv;
      int64_t east_seen = 0, west_seen = 0;  // the balances the replica shows
      auto watch = [&](int64_t& seen) {
        return [&](const change& c) {
          auto it = c.doc.find("balance");
          if (it == c.doc.end() || !std::holds_alternative<int64_t>(it->second.v))
            return;
          std::lock_guard<std::mutex> lock(m);
          seen = std::get<int64_t>(it->second.v);
          cv.notify_all();
        };
      };
      auto se = must(rg->db("east"), "db").subscribe("accounts", watch(east_seen));
      auto sw = must(rg->db("west"), "db").subscribe("accounts", watch(west_seen));
      std::vector<double> ms;
      for (int i = 1; i <= count; ++i) {
        must(transfer(*g), "transfer");
        auto t0 = steady::now();
        std::unique_lock<std::mutex> lock(m);
        if (!cv.wait_for(lock, std::chrono::seconds(10), [&] { return east_seen == -i && west_seen == i; }))
          throw std::runtime_error("transfer " + std::to_string(i) + " never became visible on the replica");
        ms.push_back(seconds_since(t0) * 1e3);
      }
      std::sort(ms.begin(), ms.end());
      p50.samples.push_back(quantile(ms, 0.5));
      p99.samples.push_back(quantile(ms, 0.99));
      progress("visibility run " + std::to_string(r + 1) + ": p50 " + std::to_string(p50.samples.back()) +
               " ms, p99 " + std::to_string(p99.samples.back()) + " ms");
      rg->stop();
    }
    report(p50);
    report(p99);
  }
  return 0;
}

} // namespace blaze::bench
