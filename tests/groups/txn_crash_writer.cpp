// A child process for groups_crash_tests: opens a node (durability::sync)
// with the sync group {east, west} and runs transfers as cross-database
// transactions: transfer k moves 1 from account A (east) to account B
// (west) and counts itself in a ledger record of each database. It prints
// "ready" once the accounts exist and "committed K" after each
// acknowledged transfer (one write(2) per line).
//
//   txn_crash_writer DATA_DIR POINT DATABASE AT COUNT
//
// POINT/DATABASE: a step of two-phase commit (txn_point names; DATABASE "-"
// for after_decision) at which transfer AT SIGKILLs this process; POINT
// "none" runs COUNT transfers (the parent kills it at a random moment).
#include "runtime/node.hpp"
#include "runtime/sync_group.hpp"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <string>

using namespace blaze;

namespace {

const record_id account_a{0xa, 1};
const record_id account_b{0xb, 1};
const record_id ledger{0x1ed, 1};

void say(const std::string& line) {
  std::string l = line + "\n";
  if (::write(1, l.data(), l.size()) < 0) {
  }
}

} // namespace

int main(int argc, char** argv) {
  if (argc != 6) {
    std::fprintf(stderr, "usage: txn_crash_writer DATA_DIR POINT DATABASE AT COUNT\n");
    return 2;
  }
  std::string point_s = argv[2], db_s = argv[3] == std::string("-") ? "" : argv[3];
  uint64_t at = std::stoull(argv[4]), count = std::stoull(argv[5]);
  auto point = txn_point_of(point_s);
  if (!point && point_s != "none") {
    std::fprintf(stderr, "unknown point %s\n", argv[2]);
    return 2;
  }
  node_options o;
  o.data_dir = argv[1];
  o.mode = durability::sync;
  o.worker_threads = 2;
  auto n = node::open(o);
  if (!n) {
    std::fprintf(stderr, "%s\n", n.error().to_string().c_str());
    return 1;
  }
  std::atomic<uint64_t> current{0};
  sync_group_options go;
  go.fault = [&](txn_point p, const std::string& db) {
    if (point && p == *point && db == db_s && current.load() == at)
      ::kill(::getpid(), SIGKILL);
  };
  auto g = (*n)->sync_group({"east", "west"}, go);
  if (!g) {
    std::fprintf(stderr, "%s\n", g.error().to_string().c_str());
    return 1;
  }
  auto east = (*g)->db("east");
  if (!east->get("ledger", ledger)) {
    auto r = (*g)->transact([](txn& t) {
      t.put("east", "ledger", ledger, {});
      t.put("west", "ledger", ledger, {});
      t.put("east", "accounts", account_a, {});
      t.increment("east", "accounts", account_a, "balance", 1000);
      t.put("west", "accounts", account_b, {});
      t.increment("west", "accounts", account_b, "balance", 1000);
      return status{};
    });
    if (!r) {
      std::fprintf(stderr, "setup: %s\n", r.error().to_string().c_str());
      return 1;
    }
  }
  say("ready");
  for (uint64_t k = 1; k <= count; ++k) {
    current = k;
    auto r = (*g)->transact([](txn& t) {
      t.increment("east", "accounts", account_a, "balance", -1);
      t.increment("west", "accounts", account_b, "balance", 1);
      t.increment("east", "ledger", ledger, "n", 1);
      t.increment("west", "ledger", ledger, "n", 1);
      return status{};
    });
    if (!r) {
      std::fprintf(stderr, "transfer %llu: %s\n", static_cast<unsigned long long>(k), r.error().to_string().c_str());
      return 1;
    }
    say("committed " + std::to_string(k));
  }
  return 0;
}
