// Bank transfers as cross-database transactions (docs/transactions.md):
// accounts split across two databases, `east` and `west`, on several nodes of
// one process. Node 0 is the hub the others sync their group {east, west}
// with (inproc transport). Node 0 owns both databases (created sealed, end-
// to-end encrypted) and shares them with every other node (read-write); the
// others open them to join, and take transfers once the lists arrived. Every node makes random transfers between an
// account in one database and an account in the other, each a transaction
// of two increments. With --verify the total balance must be conserved on
// every node after each node's own transfers (local) and once every replica
// has caught up (all nodes, both databases). A data directory left by an
// earlier run (even one killed with SIGKILL) is continued: the total must
// still be the opening balances'.
//
//   transfer [--data DIR] [--nodes N] [--accounts K] [--transfers T] [--seed S] [--verify]
#include "runtime/node.hpp"
#include "runtime/sync_group.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <random>
#include <string>
#include <thread>
#include <vector>

using namespace blaze;

namespace {

constexpr int64_t opening_balance = 1000;

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "transfer: %s\n", what.c_str());
  std::exit(1);
}

template <class T> T check(result<T> r, const std::string& what) {
  if (!r)
    die(what + ": " + r.error().to_string());
  return std::move(*r);
}

// Account i lives in east when i is even, west when odd.
const char* home(int i) { return i % 2 == 0 ? "east" : "west"; }
record_id account(int i) { return {0xacc0, static_cast<uint64_t>(i)}; }

// The sum of every account's balance as the group shows it: one consistent
// group read of both databases (sync_group::read), so a transaction is in
// it wholly or not at all.
int64_t total(sync_group& g, int accounts, int* missing = nullptr) {
  int64_t sum = 0;
  auto s = g.read([&](const group_view& v) {
    for (int i = 0; i < accounts; ++i) {
      auto doc = v.get(home(i), "accounts", account(i));
      if (!doc) {
        if (missing)
          ++*missing;
        continue;
      }
      auto it = doc->find("balance");
      if (it != doc->end() && std::holds_alternative<int64_t>(it->second.v))
        sum += std::get<int64_t>(it->second.v);
    }
    return status{};
  });
  if (!s)
    die("group read: " + s.to_string());
  return sum;
}

} // namespace

int main(int argc, char** argv) {
  std::filesystem::path data = "transfer-data";
  int nodes = 3, accounts = 10, transfers = 200;
  uint64_t seed = std::random_device{}();
  bool verify = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc)
        die("missing value after " + a);
      return argv[++i];
    };
    if (a == "--data")
      data = next();
    else if (a == "--nodes")
      nodes = std::stoi(next());
    else if (a == "--accounts")
      accounts = std::stoi(next());
    else if (a == "--transfers")
      transfers = std::stoi(next());
    else if (a == "--seed")
      seed = std::stoull(next());
    else if (a == "--verify")
      verify = true;
    else if (a == "-h" || a == "--help") {
      std::cout << "usage: transfer [--data DIR] [--nodes N] [--accounts K] [--transfers T] [--seed S] [--verify]\n";
      return 0;
    } else
      die("unknown argument " + a);
  }
  if (nodes < 1 || accounts < 2 || transfers < 0)
    die("need --nodes >= 1, --accounts >= 2, --transfers >= 0");
  spdlog::set_level(spdlog::level::warn);
  std::cout << "transfer: " << nodes << " nodes, " << accounts << " accounts, " << transfers
            << " transfers per node, seed " << seed << "\n";

  std::vector<std::unique_ptr<node>> ns;
  std::vector<std::shared_ptr<sync_group>> groups;
  for (int k = 0; k < nodes; ++k) {
    node_options o;
    o.data_dir = data / ("node-" + std::to_string(k));
    o.worker_threads = 2;
    ns.push_back(check(node::open(o), "open " + o.data_dir.string()));
    // Node 0 creates the databases (owned by it, sealed); the others join.
    sync_group_options go;
    go.as = k == 0 ? new_database::sealed : new_database::join;
    groups.push_back(check(ns.back()->sync_group({"east", "west"}, go), "sync_group"));
  }
  // Node 0 shares both with every other node (once: a second run finds them members).
  for (const char* name : {"east", "west"}) {
    auto db = check(ns[0]->open_database(name, false), std::string("open ") + name);
    auto list = check(db.access(), std::string("access list of ") + name);
    for (int k = 1; k < nodes; ++k)
      if (list.rights_of(ns[k]->id()) != access_rights::read_write)
        if (auto s = db.share(member_key_of(ns[k]->ident()), access_rights::read_write); !s)
          die(std::string("share ") + name + " with node " + std::to_string(k) + ": " + s.to_string());
  }
  const std::string hub = "inproc://transfer-hub-" + std::to_string(seed);
  serve_options so;
  so.listen = {hub};
  auto server = check(ns[0]->serve(so), "serve");

  // Node 0 opens the accounts (once: a second run continues the balances).
  int missing = 0;
  total(*groups[0], accounts, &missing);
  if (missing == accounts) {
    check(groups[0]->transact([&](txn& t) {
            for (int i = 0; i < accounts; ++i) {
              t.put(home(i), "accounts", account(i), {{"owner", value("account-" + std::to_string(i))}});
              t.increment(home(i), "accounts", account(i), "balance", opening_balance);
            }
            return status{};
          }),
          "open accounts");
  } else if (missing != 0) {
    die("node 0 holds only some accounts: " + std::to_string(missing) + " missing");
  }
  // Transfers conserve the total: whatever ran before (a run killed midway
  // included), it is the opening balances'.
  const int64_t expected = opening_balance * accounts;
  for (int k = 1; k < nodes; ++k) {
    if (auto s = groups[k]->start(hub); !s)
      die("start: " + s.to_string());
    if (!groups[k]->wait_synced(std::chrono::seconds(60)))
      die("node " + std::to_string(k) + " did not catch up");
  }

  // Every node transfers at once: from an account in one database to one in the other.
  auto started = std::chrono::steady_clock::now();
  std::vector<int> committed(nodes, 0), aborted(nodes, 0);
  std::vector<std::thread> threads;
  for (int k = 0; k < nodes; ++k)
    threads.emplace_back([&, k] {
      std::mt19937_64 rng(seed + static_cast<uint64_t>(k));
      for (int n = 0; n < transfers; ++n) {
        int from = static_cast<int>(rng() % accounts);
        int to = static_cast<int>(rng() % accounts);
        if (home(from) == home(to))
          to = (to + 1) % accounts;  // always across the two databases
        int64_t amount = 1 + static_cast<int64_t>(rng() % 50);
        auto r = groups[k]->transact([&](txn& t) {
          t.increment(home(from), "accounts", account(from), "balance", -amount);
          t.increment(home(to), "accounts", account(to), "balance", amount);
          return status{};
        });
        ++(r ? committed[k] : aborted[k]);
      }
    });
  for (auto& t : threads)
    t.join();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  int all = 0;
  for (int k = 0; k < nodes; ++k)
    all += committed[k];
  std::printf("transfers: %d committed, %.0f transactions/s over %d nodes\n", all, all / secs, nodes);

  bool ok = true;
  if (verify) {
    // Locally: each node's own view right after its transfers, while other
    // nodes' transfers may still be arriving and being released: a group
    // read shows each transaction wholly or not at all, so the total is
    // exact at once.
    for (int k = 0; k < nodes; ++k) {
      auto t = total(*groups[k], accounts);
      std::printf("node %d local: committed %d aborted %d total %lld\n", k, committed[k], aborted[k],
                  static_cast<long long>(t));
      ok = ok && t == expected;
    }
    // Every replica, once all have exchanged everything.
    for (int round = 0; round < 2; ++round)
      for (int k = 1; k < nodes; ++k) {
        groups[k]->sync_now();
        if (!groups[k]->wait_synced(std::chrono::seconds(60)))
          die("node " + std::to_string(k) + " did not catch up");
      }
    for (int k = 0; k < nodes; ++k) {
      auto t = total(*groups[k], accounts);
      std::printf("node %d synced: total %lld (expected %lld)\n", k, static_cast<long long>(t),
                  static_cast<long long>(expected));
      ok = ok && t == expected;
    }
    std::printf("verify: %s\n", ok ? "total balance conserved on every node" : "TOTAL BALANCE NOT CONSERVED");
  }
  for (auto& g : groups)
    g->stop();
  server->stop();
  groups.clear();
  // Dialing nodes first: their inproc connections run on the hub's I/O
  // loop, which must outlive them (a known limit of the inproc transport).
  while (!ns.empty())
    ns.pop_back();
  return ok ? 0 : 1;
}
