// A node process of the process-level invariant test (test_txn_stream.cpp):
// bank accounts split across the databases `east` (even accounts) and `west`
// (odd ones) of a sync group, opening balance 1000 each.
//
//   txn_stream_node hub DATA ACCOUNTS [RIGHTS:MEMBER_KEY...]
//     owns east and west (sealed, created by its group) and shares them with
//     every MEMBER_KEY (`blazedb id` of that node) with RIGHTS (r, rw, ...:
//     core/access.hpp parse_rights), opens the accounts (one transaction,
//     unless DATA has them), serves tcp://127.0.0.1:0 and prints "port P",
//     then "ready"; exits (0) when its standard input closes.
//   txn_stream_node writer DATA URL ACCOUNTS TRANSFERS SEED
//     joins the hub's east and west (its node must be one of the hub's
//     members): syncs its group with URL, waits until it has the accounts
//     (and so their access lists), makes
//     TRANSFERS random transfers (each a transaction of two increments, one
//     in each database), prints "delta I D" for every account it changed
//     (the sum of its own increments), then "synced" once the hub has
//     acknowledged all its operations. Exit 1 when a transfer fails or something does not happen within
//     60 s.
#include "core/access.hpp"
#include "runtime/node.hpp"
#include "runtime/sync_group.hpp"
#include "storage/store.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

using namespace blaze;

namespace {

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "txn_stream_node: %s\n", what.c_str());
  std::fflush(stderr);
  std::_Exit(1);
}

template <class T> T check(result<T> r, const std::string& what) {
  if (!r)
    die(what + ": " + r.error().to_string());
  return std::move(*r);
}

const char* home(int i) { return i % 2 == 0 ? "east" : "west"; }
record_id account(int i) { return {0xacc0, static_cast<uint64_t>(i)}; }

// How many accounts the group shows (at one consistent read point).
int present(sync_group& g, int accounts) {
  int n = 0;
  auto s = g.read([&](const group_view& v) {
    for (int i = 0; i < accounts; ++i)
      n += v.get(home(i), "accounts", account(i)).ok() ? 1 : 0;
    return status{};
  });
  if (!s)
    die("group read: " + s.to_string());
  return n;
}

std::unique_ptr<node> open(const char* dir) {
  node_options o;
  o.data_dir = dir;
  o.worker_threads = 2;
  return check(node::open(o), std::string("open ") + dir);
}

// "RIGHTS:MEMBER_KEY" (rw:bm1...).
std::pair<access_rights, crypto::member_key> member_of(const std::string& arg) {
  auto colon = arg.find(':');
  if (colon == std::string::npos)
    die("not RIGHTS:MEMBER_KEY: " + arg);
  auto rights = parse_rights(arg.substr(0, colon));
  if (!rights)
    die("unknown rights in " + arg);
  return {*rights, check(crypto::member_key::parse(arg.substr(colon + 1)), "member key " + arg)};
}

int hub(const char* dir, int accounts, const std::vector<std::string>& members) {
  auto n = open(dir);
  auto g = check(n->sync_group({"east", "west"}), "sync_group");
  // Every member is admitted before anything else is written (again on a
  // restart only when its rights are not those yet).
  for (auto name : {"east", "west"}) {
    auto db = check(g->db(name), "db");
    for (auto& m : members) {
      auto [rights, key] = member_of(m);
      if (check(db.access(), "access").rights_of(key.id()) == rights)
        continue;
      if (auto s = db.share(key, rights); !s)
        die(std::string("share ") + name + ": " + s.to_string());
    }
  }
  if (present(*g, accounts) == 0)
    check(g->transact([&](txn& t) {
            for (int i = 0; i < accounts; ++i) {
              t.put(home(i), "accounts", account(i), {{"owner", value("account-" + std::to_string(i))}});
              t.increment(home(i), "accounts", account(i), "balance", 1000);
            }
            return status{};
          }),
          "open accounts");
  serve_options so;
  so.listen = {"tcp://127.0.0.1:0"};
  auto server = check(n->serve(so), "serve");
  auto eps = server->endpoints();
  if (eps.empty())
    die("no endpoint");
  std::printf("port %u\nready\n", static_cast<unsigned>(eps[0].port));
  std::fflush(stdout);
  char buf[64];
  while (::read(0, buf, sizeof(buf)) > 0) {
  }
  server->stop();
  return 0;
}

int writer(const char* dir, const std::string& url, int accounts, int transfers, uint64_t seed) {
  auto n = open(dir);
  sync_group_options go;
  go.as = new_database::join;  // the hub's databases
  auto g = check(n->sync_group({"east", "west"}, go), "sync_group");
  if (auto s = g->start(url); !s)
    die("start: " + s.to_string());
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (present(*g, accounts) < accounts) {
    if (std::chrono::steady_clock::now() > until)
      die("the accounts did not arrive");
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::mt19937_64 rng(seed);
  std::map<int, int64_t> delta;
  for (int k = 0; k < transfers; ++k) {
    int from = static_cast<int>(rng() % accounts);
    int to = static_cast<int>(rng() % accounts);
    if (std::string(home(from)) == home(to))
      to = (to + 1) % accounts;  // always across the two databases
    int64_t amount = 1 + static_cast<int64_t>(rng() % 50);
    auto r = g->transact([&](txn& t) {
      t.increment(home(from), "accounts", account(from), "balance", -amount);
      t.increment(home(to), "accounts", account(to), "balance", amount);
      return status{};
    });
    if (!r)
      die("transfer: " + r.error().to_string());
    delta[from] -= amount;
    delta[to] += amount;
  }
  for (auto& [i, d] : delta)
    std::printf("delta %d %lld\n", i, static_cast<long long>(d));
  std::fflush(stdout);
  // The hub acknowledged every operation of this writer, in both databases.
  // (Not wait_synced: right after a commit a link may still report the
  // synced state from before it.)
  until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (auto name : {"east", "west"}) {
    auto st = check(g->db(name), "db").handles().st.lock();
    if (!st)
      die(std::string("database closed: ") + name);
    auto acked = [&] {
      for (auto& [peer, vv] : st->peer_acks())
        if (vv.get(st->self()) >= st->versions().get(st->self()))
          return true;
      return false;
    };
    while (!acked()) {
      if (std::chrono::steady_clock::now() > until)
        die(std::string("the hub did not acknowledge every operation of ") + name);
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  std::printf("synced\n");
  std::fflush(stdout);
  g->stop();
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  spdlog::set_level(spdlog::level::err);
  std::string role = argc > 1 ? argv[1] : "";
  if (role == "hub" && argc >= 4)
    return hub(argv[2], std::atoi(argv[3]), std::vector<std::string>(argv + 4, argv + argc));
  if (role == "writer" && argc == 7)
    return writer(argv[2], argv[3], std::atoi(argv[4]), std::atoi(argv[5]), std::strtoull(argv[6], nullptr, 10));
  std::fprintf(stderr,
               "usage: txn_stream_node hub DATA ACCOUNTS [RIGHTS:MEMBER_KEY...] | writer DATA URL ACCOUNTS TRANSFERS SEED\n");
  return 2;
}
