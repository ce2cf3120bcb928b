// Crash durability (DESIGN §10): runs crash_writer (durability::sync) on one
// data directory, SIGKILLs it at a random moment 20-300 ms after it starts,
// reopens the directory in-process and checks that
//   - every acknowledged write is there (items with their payload unless
//     deleted later, the counter's total, the tags), and the one write in
//     flight at the kill is either wholly there or wholly absent;
//   - nothing unacknowledged other than that write appeared;
//   - the stored records equal a replay of the oplog into a fresh replica
//     (digests), and the oplog has no gaps.
// Then the next cycle resumes writing into the same directory.
//
// BLAZE_CRASH_CYCLES (default 20) sets the number of cycles,
// BLAZE_CRASH_SEED the seed (printed on every run).
#define BOOST_TEST_MODULE crash_tests
#include <boost/test/results_collector.hpp>
#include <boost/test/unit_test.hpp>

#include "actors/registry_actor.hpp"  // replica_id
#include "core/replica.hpp"
#include "runtime/node.hpp"
#include "storage/store.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <limits>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <sstream>

extern char** environ;

namespace {

using namespace blaze;

const record_id counter_id{0, 1};
const record_id tags_id{0, 2};

// The error of a failed result, for messages (Boost builds them eagerly).
template <class T> std::string why(const result<T>& r) {
  return r ? std::string("ok") : r.error().to_string();
}

uint64_t env_u64(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::strtoull(v, nullptr, 10) : fallback;
}

// What the acknowledged writes say the database holds.
struct model {
  std::map<record_id, std::optional<int64_t>> items;  // nullopt: deleted
  int64_t counter = 0;
  std::set<std::string> tags;
  uint64_t next_n = 1;
  uint64_t acked = 0;
};

struct parsed {
  std::string verb;
  record_id id;
  int64_t num = 0;
  std::string tag;
};

parsed parse(const std::string& desc) {
  std::istringstream in(desc);
  parsed p;
  in >> p.verb;
  if (p.verb == "ins" || p.verb == "upd" || p.verb == "del") {
    std::string hex;
    in >> hex;
    auto id = record_id::from_hex(hex);
    BOOST_REQUIRE_MESSAGE(id, "bad record id in writer line '" << desc << "'");
    p.id = *id;
    if (p.verb != "del")
      in >> p.num;
  } else if (p.verb == "inc") {
    in >> p.num;
  } else if (p.verb == "tag") {
    in >> p.tag;
  } else {
    BOOST_FAIL("unknown writer line '" << desc << "'");
  }
  return p;
}

void apply_to(model& m, const parsed& p) {
  if (p.verb == "ins" || p.verb == "upd")
    m.items[p.id] = p.num;
  else if (p.verb == "del")
    m.items[p.id] = std::nullopt;
  else if (p.verb == "inc")
    m.counter += p.num;
  else if (p.verb == "tag")
    m.tags.insert(p.tag);
}

// One writer run: spawn, read its lines, kill it after `delay`: counted from
// the spawn, or with `after_ready` from its "ready" line (startup takes
// ~350 ms in the sanitizer build, longer than any `delay`: counted from the
// spawn alone, no cycle there ever got to write).
struct run_result {
  std::vector<std::string> lines;
  bool killed = false;
  int exit_code = -1;
};

run_result run_writer(const std::filesystem::path& dir, uint64_t seed, uint64_t first_n,
                      std::chrono::milliseconds delay, bool after_ready) {
  int fds[2];
  BOOST_REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
  std::string seed_s = std::to_string(seed), n_s = std::to_string(first_n), dir_s = dir.string();
  std::string exe = CRASH_WRITER;
  char* argv[] = {exe.data(), dir_s.data(), seed_s.data(), n_s.data(), nullptr};
  pid_t pid = -1;
  int rc = posix_spawn(&pid, exe.c_str(), &fa, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  ::close(fds[1]);
  BOOST_REQUIRE_MESSAGE(rc == 0, "cannot start " << exe << ": " << std::strerror(rc));

  // Waiting for "ready" is bounded too: a writer that never gets there is
  // killed after 30 s (and the cycle counts as a kill before ready).
  auto deadline = std::chrono::steady_clock::now() + (after_ready ? std::chrono::milliseconds(30'000) : delay);
  bool saw_ready = false;
  std::string buf;
  run_result out;
  bool eof = false;
  auto drain = [&](int timeout_ms) {
    pollfd p{fds[0], POLLIN, 0};
    int r = ::poll(&p, 1, timeout_ms);
    if (r <= 0)
      return;
    char chunk[4096];
    ssize_t n = ::read(fds[0], chunk, sizeof(chunk));
    if (n <= 0) {
      eof = n == 0 || errno != EINTR;
      return;
    }
    buf.append(chunk, static_cast<size_t>(n));
    if (after_ready && !saw_ready && (buf.rfind("ready", 0) == 0 || buf.find("\nready") != std::string::npos)) {
      saw_ready = true;
      deadline = std::chrono::steady_clock::now() + delay;
    }
  };
  while (!eof) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      break;
    drain(static_cast<int>(left.count()) + 1);
  }
  if (!eof)
    ::kill(pid, SIGKILL);
  // Lines written before the kill are still in the pipe.
  while (!eof)
    drain(-1);
  ::close(fds[0]);
  int wst = 0;
  while (::waitpid(pid, &wst, 0) < 0 && errno == EINTR) {
  }
  out.killed = WIFSIGNALED(wst) && WTERMSIG(wst) == SIGKILL;
  out.exit_code = WIFEXITED(wst) ? WEXITSTATUS(wst) : -1;
  // A trailing partial line (none expected: one write(2) per line) is ignored.
  size_t start = 0;
  for (size_t nl; (nl = buf.find('\n', start)) != std::string::npos; start = nl + 1)
    out.lines.push_back(buf.substr(start, nl - start));
  return out;
}

std::optional<value> field_of(const result<value_map>& doc, const std::string& name) {
  if (!doc)
    return std::nullopt;
  auto it = doc->find(name);
  if (it == doc->end())
    return std::nullopt;
  return it->second;
}

int64_t counter_value(const store& s) {
  auto v = field_of(s.get("counters", counter_id), "count");
  return v && v->is<int64_t>() ? v->as<int64_t>() : 0;
}

std::set<std::string> tags_of(const store& s) {
  std::set<std::string> out;
  auto v = field_of(s.get("tags", tags_id), "tags");
  if (v && v->is<value_array>())
    for (auto& e : v->as<value_array>())
      if (e.is<std::string>())
        out.insert(e.as<std::string>());
  return out;
}

// The write that was in flight at the kill: committed or not, never half;
// the model takes whichever happened.
void resolve_in_flight(model& m, const parsed& p, const store& s, uint64_t& applied) {
  bool done = false;
  if (p.verb == "ins" || p.verb == "upd") {
    auto n = field_of(s.get("items", p.id), "n");
    bool had = false;
    int64_t old = 0;
    if (auto it = m.items.find(p.id); it != m.items.end() && it->second) {
      had = true;
      old = *it->second;
    }
    done = n && *n == value(p.num);
    BOOST_CHECK_MESSAGE(done || (!n && !had) || (n && had && *n == value(old)),
                        "in-flight " << p.verb << " " << p.id.to_hex() << ": record holds neither the old nor the new payload");
  } else if (p.verb == "del") {
    done = !s.get("items", p.id);
  } else if (p.verb == "inc") {
    done = counter_value(s) == m.counter + p.num;
  } else if (p.verb == "tag") {
    done = tags_of(s).count(p.tag) != 0;
  }
  if (done) {
    apply_to(m, p);
    ++applied;
  }
}

void check_against_model(const model& m, const store& s) {
  // Items: exactly the acknowledged live ones, with their payloads.
  query q;
  q.collection = "items";
  auto rows = s.run(q);
  BOOST_REQUIRE_MESSAGE(rows, "query items: " << why(rows));
  std::map<record_id, value_map> stored;
  for (auto& r : *rows)
    stored[r.id] = r.doc;
  size_t alive = 0;
  for (auto& [id, n] : m.items) {
    auto it = stored.find(id);
    if (!n) {
      BOOST_CHECK_MESSAGE(it == stored.end(), "deleted item " << id.to_hex() << " is alive");
      continue;
    }
    ++alive;
    if (it == stored.end()) {
      BOOST_ERROR("acknowledged item " << id.to_hex() << " (n=" << *n << ") is lost");
      continue;
    }
    value_map want{{"n", *n}, {"body", "payload-" + std::to_string(*n)}};
    BOOST_CHECK_MESSAGE(it->second == want, "item " << id.to_hex() << " does not hold payload " << *n);
  }
  BOOST_CHECK_EQUAL(stored.size(), alive);
  BOOST_CHECK_EQUAL(counter_value(s), m.counter);
  auto tags = tags_of(s);
  for (auto& t : m.tags)
    BOOST_CHECK_MESSAGE(tags.count(t), "acknowledged tag " << t << " is lost");
  BOOST_CHECK_EQUAL(tags.size(), m.tags.size());
}

// The stored state is the replay of the stored oplog.
void check_oplog_replay(const store& s) {
  auto ops = s.operations_after(version_vector{}, std::numeric_limits<size_t>::max());
  BOOST_REQUIRE_MESSAGE(ops, "operations_after: " << why(ops));
  auto vv = s.versions();
  BOOST_CHECK_EQUAL(ops->size(), vv.total());
  std::map<node_id, uint64_t> last;
  replica r;
  for (auto& op : *ops) {
    BOOST_CHECK_MESSAGE(op.id.seq == last[op.id.origin] + 1, "oplog gap before seq " << op.id.seq);
    last[op.id.origin] = op.id.seq;
    BOOST_CHECK(r.apply(op));
  }
  auto d = s.digest();
  BOOST_REQUIRE_MESSAGE(d, "digest: " << why(d));
  BOOST_CHECK_EQUAL(r.digest(), *d);
}

std::filesystem::path make_temp_dir() {
  std::string tmpl = "/tmp/blazedb-crash-XXXXXX";
  BOOST_REQUIRE(::mkdtemp(tmpl.data()));
  return tmpl;
}

} // namespace

BOOST_AUTO_TEST_CASE(kill_during_sync_writes) {
  const uint64_t cycles = env_u64("BLAZE_CRASH_CYCLES", 20);
  const uint64_t seed = env_u64("BLAZE_CRASH_SEED", std::random_device{}());
  std::cerr << "crash_tests: seed " << seed << ", " << cycles
            << " cycles (BLAZE_CRASH_SEED / BLAZE_CRASH_CYCLES to change)" << std::endl;
  std::mt19937_64 rng(seed);
  auto dir = make_temp_dir();
  std::cerr << "crash_tests: data in " << dir << " (kept if a check fails)" << std::endl;
  auto env = std::make_shared<storage_environment>();
  store_options so;
  so.mode = durability::sync;
  so.database_id = "crash";
  so.create_as = new_database::plaintext;  // as crash_writer creates it

  model m;
  uint64_t in_flight = 0, in_flight_applied = 0, killed_before_ready = 0;
  auto t0 = std::chrono::steady_clock::now();
  for (uint64_t c = 0; c < cycles; ++c) {
    BOOST_TEST_CONTEXT("cycle " << c << " of seed " << seed) {
      std::uniform_int_distribution<int> ms(20, 300);
      auto delay = std::chrono::milliseconds(ms(rng));
      bool after_ready = rng() % 4 != 0;  // one cycle in four may kill during startup
      auto run = run_writer(dir, rng(), m.next_n, delay, after_ready);
      BOOST_REQUIRE_MESSAGE(run.killed, "the writer exited on its own (code " << run.exit_code << ")");

      std::optional<parsed> pending;
      bool ready = false;
      for (auto& l : run.lines) {
        if (l.rfind("ready", 0) == 0) {
          ready = true;
          continue;
        }
        BOOST_REQUIRE_MESSAGE(l.size() > 4, "bad writer line '" << l << "'");
        auto verb = l.substr(0, 4);
        auto p = parse(l.substr(4));
        if (p.verb == "ins" || p.verb == "upd")
          m.next_n = std::max<uint64_t>(m.next_n, static_cast<uint64_t>(p.num) + 1);
        if (verb == "try ") {
          BOOST_REQUIRE_MESSAGE(!pending, "two writes in flight");
          pending = p;
        } else {
          BOOST_REQUIRE_MESSAGE(verb == "ack " && pending, "unexpected writer line '" << l << "'");
          apply_to(m, p);
          ++m.acked;
          pending.reset();
        }
      }
      killed_before_ready += ready ? 0 : 1;

      // Opened as the writer's node opens it (its keys; creating the
      // database plaintext when a kill came before its creation finished),
      // so a kill during creation leaves what the node would finish.
      auto me = load_or_create_identity(dir);
      BOOST_REQUIRE_MESSAGE(me, "identity: " << why(me));
      so.signer = me->key;
      so.exchange = me->exchange;
      auto s = store::open(dir / "crash", replica_id(me->id, "crash"), so, env);
      BOOST_REQUIRE_MESSAGE(s, "reopen after the kill: " << why(s));
      if (pending) {
        ++in_flight;
        resolve_in_flight(m, *pending, **s, in_flight_applied);
      }
      check_against_model(m, **s);
      check_oplog_replay(**s);
    }
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::cerr << "crash_tests: " << cycles << " cycles in " << secs << " s, " << m.acked
            << " acknowledged writes, " << in_flight << " kills with a write in flight (" << in_flight_applied
            << " of those committed), " << killed_before_ready << " kills before the writer was ready" << std::endl;
  BOOST_CHECK_GT(m.acked, 0u);

  // The whole runtime reopens the directory too.
  {
    node_options o;
    o.data_dir = dir;
    o.mode = durability::sync;
    auto n = node::open(o);
    BOOST_REQUIRE_MESSAGE(n, "node::open after the last kill: " << why(n));
    auto db = (*n)->open_database("crash", false);
    BOOST_REQUIRE_MESSAGE(db, "open_database: " << why(db));
    auto doc = db->get("counters", counter_id);
    if (m.counter != 0) {
      BOOST_REQUIRE(doc);
      BOOST_CHECK(doc->at("count") == value(m.counter));
    }
  }
  auto id = boost::unit_test::framework::current_test_case().p_id;
  if (boost::unit_test::results_collector.results(id).p_assertions_failed == 0)
    std::filesystem::remove_all(dir);
  else
    std::cerr << "crash_tests: data directory kept at " << dir << std::endl;
}
