// The invariant over real processes (issue 5, item 7): a hub process serves
// a bank (accounts across `east` and `west`) on loopback TCP; writer
// processes sync their group with it and stream random transfers, each a
// cross-database transaction; this process is a replica syncing its group
// with the hub and reading it with group reads (sync_group::read) in a loop
// while the transfers stream in and are released from holds. Every read must
// show all accounts and the opening total; at the end the replica shows
// exactly the opening balances plus every writer's own increments.
//
// BLAZE_TXN_STREAM_WRITERS (default 2) and BLAZE_TXN_STREAM_TRANSFERS
// (per writer, default 150) size it; the `long` variant uses more.
#define BOOST_TEST_MODULE groups_stream
#include "../common/test_support.hpp"
#include "runtime/node.hpp"
#include "runtime/sync_group.hpp"
#include "storage/store.hpp"

#include <boost/test/unit_test.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <thread>

extern char** environ;

using namespace blaze;
using namespace blaze::test;

namespace {

using clock_type = std::chrono::steady_clock;

const char* home(int i) { return i % 2 == 0 ? "east" : "west"; }
record_id account(int i) { return {0xacc0, static_cast<uint64_t>(i)}; }

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::atoi(v) : fallback;
}

// A child process of txn_stream_node with pipes on its stdin and stdout.
class child {
public:
  explicit child(std::vector<std::string> args) {
    int out[2], in[2];
    BOOST_REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
    BOOST_REQUIRE(::pipe2(in, O_CLOEXEC) == 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    args.insert(args.begin(), TXN_STREAM_NODE);
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    int rc = posix_spawn(&pid_, argv[0], &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    ::close(out[1]);
    ::close(in[0]);
    out_ = out[0];
    in_ = in[1];
    BOOST_REQUIRE_MESSAGE(rc == 0, "cannot start " << argv[0] << ": " << std::strerror(rc));
  }
  ~child() {
    close_stdin();
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      wait();
    }
    if (out_ >= 0)
      ::close(out_);
  }
  /// The next line of its output, or nullopt at the end or past `until`.
  std::optional<std::string> line(clock_type::time_point until) {
    for (;;) {
      if (auto nl = buf_.find('\n'); nl != std::string::npos) {
        auto l = buf_.substr(0, nl);
        buf_.erase(0, nl + 1);
        return l;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - clock_type::now()).count();
      if (left <= 0)
        return std::nullopt;
      pollfd p{out_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left)) <= 0)
        continue;
      char chunk[4096];
      ssize_t n = ::read(out_, chunk, sizeof(chunk));
      if (n == 0 || (n < 0 && errno != EINTR))
        return std::nullopt;
      if (n > 0)
        buf_.append(chunk, static_cast<size_t>(n));
    }
  }
  void close_stdin() {
    if (in_ >= 0)
      ::close(in_);
    in_ = -1;
  }
  /// Its exit code (-1: killed by a signal); kills it past `until`.
  int wait(std::optional<clock_type::time_point> until = std::nullopt) {
    if (pid_ <= 0)
      return code_;
    int wst = 0;
    for (;;) {
      pid_t r = ::waitpid(pid_, &wst, WNOHANG);
      if (r == pid_)
        break;
      if (r < 0 && errno != EINTR)
        return -1;
      if (until && clock_type::now() > *until) {
        ::kill(pid_, SIGKILL);
        until.reset();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    pid_ = -1;
    code_ = WIFEXITED(wst) ? WEXITSTATUS(wst) : -1;
    return code_;
  }

private:
  pid_t pid_ = -1;
  int out_ = -1, in_ = -1, code_ = -1;
  std::string buf_;
};

// The balances at one group read; nullopt for an account not there.
std::vector<std::optional<int64_t>> balances(const group_view& v, int accounts) {
  std::vector<std::optional<int64_t>> out;
  for (int i = 0; i < accounts; ++i) {
    auto doc = v.get(home(i), "accounts", account(i));
    std::optional<int64_t> b;
    if (doc)
      if (auto it = doc->find("balance"); it != doc->end() && std::holds_alternative<int64_t>(it->second.v))
        b = std::get<int64_t>(it->second.v);
    out.push_back(b);
  }
  return out;
}

} // namespace

BOOST_AUTO_TEST_CASE(a_replica_reading_its_group_never_sees_a_broken_total_while_processes_stream_transfers) {
  const int accounts = 8;
  const int writers = std::max(1, env_int("BLAZE_TXN_STREAM_WRITERS", 2));
  const int transfers = std::max(1, env_int("BLAZE_TXN_STREAM_TRANSFERS", 150));
  const int64_t expected = 1000 * accounts;
  const auto deadline = clock_type::now() + std::chrono::seconds(std::max(25, transfers * writers / 20));
  temp_dir tmp;

  // The hub owns the bank's databases: the writers and this process's
  // replica (the checker) join them, so the hub admits each by its member
  // key. A writer's key is read by opening its data directory once here (its
  // identity is made then, and its process later takes the same one).
  node_options o;
  o.data_dir = tmp / "checker";
  o.worker_threads = 2;
  auto n = node::open(o);
  BOOST_REQUIRE(n.ok());
  std::vector<std::string> hub_args{"hub", (tmp / "hub").string(), std::to_string(accounts),
                                    "r:" + member_key_of((*n)->ident()).to_string()};
  auto writer_dir = [&](int w) { return tmp / ("writer-" + std::to_string(w)); };
  for (int w = 0; w < writers; ++w) {
    node_options wo;
    wo.data_dir = writer_dir(w);
    wo.worker_threads = 1;
    auto wn = node::open(wo);
    BOOST_REQUIRE_MESSAGE(wn.ok(), "writer " << w << ": " << (wn ? "" : wn.error().to_string()));
    hub_args.push_back("rw:" + member_key_of((*wn)->ident()).to_string());
  }
  child hub(hub_args);
  std::string port;
  while (auto l = hub.line(deadline)) {
    if (l->rfind("port ", 0) == 0)
      port = l->substr(5);
    if (*l == "ready")
      break;
  }
  BOOST_REQUIRE_MESSAGE(!port.empty(), "the hub did not start");
  const std::string url = "tcp://127.0.0.1:" + port;

  // The checker: a replica in this process (a reader of the hub's databases).
  sync_group_options joining;
  joining.as = new_database::join;
  auto g = (*n)->sync_group({"east", "west"}, joining);
  BOOST_REQUIRE(g.ok());
  BOOST_REQUIRE((*g)->start(url).ok());
  // The accounts first (the writers only transfer once they have them).
  bool opened = false;
  while (!opened && clock_type::now() < deadline) {
    BOOST_REQUIRE((*g)->read([&](const group_view& v) {
      auto b = balances(v, accounts);
      opened = std::all_of(b.begin(), b.end(), [](auto& x) { return x.has_value(); });
      return status{};
    }).ok());
    if (!opened)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  BOOST_REQUIRE_MESSAGE(opened, "the accounts did not reach the checker");

  std::atomic<bool> stop{false};
  std::atomic<int> reads{0}, broken{0};
  std::string first_broken;
  std::set<std::vector<std::optional<int64_t>>> states;  // distinct states seen (bounded)
  std::thread checker([&] {
    while (!stop.load() && clock_type::now() < deadline) {
      auto s = (*g)->read([&](const group_view& v) {
        auto b = balances(v, accounts);
        int64_t sum = 0;
        bool all = true;
        for (auto& x : b) {
          all = all && x.has_value();
          sum += x.value_or(0);
        }
        if (!all || sum != expected) {
          if (broken++ == 0)
            first_broken = all ? "total " + std::to_string(sum) : "an account is missing";
        } else if (states.size() < 100'000) {
          states.insert(std::move(b));
        }
        return status{};
      });
      if (!s && broken++ == 0)
        first_broken = "read failed: " + s.to_string();
      ++reads;
    }
  });

  std::vector<std::unique_ptr<child>> ws;
  for (int w = 0; w < writers; ++w)
    ws.push_back(std::make_unique<child>(std::vector<std::string>{
      "writer", writer_dir(w).string(), url, std::to_string(accounts),
      std::to_string(transfers), std::to_string(1000 + w)}));
  std::map<int, int64_t> delta;
  int synced = 0;
  for (auto& w : ws) {
    while (auto l = w->line(deadline)) {
      int i = 0;
      long long d = 0;
      if (std::sscanf(l->c_str(), "delta %d %lld", &i, &d) == 2)
        delta[i] += d;
      if (*l == "synced")
        ++synced;
    }
    BOOST_TEST(w->wait(deadline) == 0);
  }
  BOOST_REQUIRE(synced == writers);
  // The hub has every transfer: the checker catches up.
  std::vector<std::optional<int64_t>> want;
  for (int i = 0; i < accounts; ++i)
    want.push_back(1000 + delta[i]);
  bool caught_up = false;
  while (!caught_up && clock_type::now() < deadline) {
    BOOST_REQUIRE((*g)->read([&](const group_view& v) {
      caught_up = balances(v, accounts) == want;
      return status{};
    }).ok());
    if (!caught_up)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (!caught_up) {  // what the checker has: for the report
    for (auto& l : (*g)->sync_status())
      BOOST_TEST_MESSAGE("link " << l.database << ": open " << l.open << " synced " << l.synced << " behind "
                                 << l.behind << " unacked " << l.unacked << " received " << l.received
                                 << " error '" << l.last_error << "'");
    for (auto name : {"east", "west"}) {
      auto db = (*g)->db(name);
      if (auto st = db->handles().st.lock()) {
        auto held = st->held_txns();
        BOOST_TEST_MESSAGE(name << ": " << st->versions().total() << " operations, "
                                << (held ? held->size() : 0) << " transactions held");
        if (held)
          for (auto& [tag, count] : *held) {
            std::string parts;
            for (auto& p : tag.parts)
              parts += " " + p.database + ":" + std::to_string(p.ops);
            BOOST_TEST_MESSAGE("  held " << tag.id.to_hex() << " " << count << " of" << parts);
          }
      }
    }
  }
  stop = true;
  checker.join();
  (*g)->stop();
  hub.close_stdin();
  BOOST_TEST(hub.wait(clock_type::now() + std::chrono::seconds(10)) == 0);

  BOOST_TEST_MESSAGE("group reads " << reads.load() << ", distinct states " << states.size() << ", writers "
                                    << writers << " x " << transfers << " transfers");
  BOOST_TEST(caught_up, "the checker did not reach the writers' final balances");
  BOOST_TEST(broken.load() == 0, "a group read saw a broken invariant: " << first_broken << " (" << broken.load()
                                                                          << " of " << reads.load() << " reads)");
  BOOST_TEST(reads.load() > 50);
  // the reads interleaved with the stream: many states between first and last
  BOOST_TEST(states.size() > 10u);
}
