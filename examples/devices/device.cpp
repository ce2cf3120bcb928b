#include "examples/devices/device.hpp"

#include "core/json.hpp"
#include "runtime/node.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <time.h>

#include <algorithm>
#include <iostream>
#include <mutex>
#include <thread>

namespace blaze::demo {

namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

// CLOCK_MONOTONIC is one clock for every process of the machine, so a probe
// stamped by one device can be timed by another.
int64_t mono_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

record_id key_id(const std::string& key) {
  uint64_t h1 = 1469598103934665603ull, h2 = 1099511628211ull ^ 0x9e3779b97f4a7c15ull;
  for (unsigned char c : key) {
    h1 = (h1 ^ c) * 1099511628211ull;
    h2 = (h2 ^ c) * 0x100000001b3ull + 0x632be59bd9b4e019ull;
  }
  return {h1, h2};
}

value to_value(const json& j) {
  auto v = from_json(j);
  if (!v)
    throw std::runtime_error(v.error().message);
  return std::move(*v);
}

json ok(json extra = json::object()) {
  extra["ok"] = true;
  return extra;
}

void check(const status& s) {
  if (!s)
    throw std::runtime_error(s.to_string());
}

template <class T> T check(result<T> r) {
  if (!r)
    throw std::runtime_error(r.error().to_string());
  return std::move(*r);
}

json status_json(const link_status& s) {
  return {{"database", s.database}, {"connected", s.connected}, {"open", s.open},  {"synced", s.synced},
          {"behind", s.behind},     {"unacked", s.unacked},     {"received", s.received}, {"sent", s.sent},
          {"connects", s.connects}, {"last_error", s.last_error}};
}

struct probes {
  std::mutex m;
  std::vector<int64_t> latencies_ns;
};

} // namespace

int run_device(const device_args& a) {
  node_options o;
  o.data_dir = a.data_dir;
  auto n = node::open(o);
  if (!n) {
    std::cerr << "device: " << n.error().to_string() << "\n";
    return 1;
  }
  auto& nd = **n;
  database_options dbo;
  dbo.as = a.join ? new_database::join : new_database::sealed;
  auto db = check(nd.open_database(a.db, dbo));
  auto got = std::make_shared<probes>();
  auto self_origin = replica_id(nd.id(), a.db);
  auto sub = db.subscribe("probes", [got, self_origin](const change& c) {
    auto i = c.doc.find("sent_ns");
    if (i == c.doc.end() || c.by.origin == self_origin)
      return;  // only probes from other devices
    if (auto* t = std::get_if<int64_t>(&i->second.v)) {
      std::lock_guard<std::mutex> g(got->m);
      got->latencies_ns.push_back(mono_ns() - *t);
    }
  });
  sync_options so;
  so.databases = {a.db};
  so.collections = a.collections;
  so.tls.ca = a.ca;
  so.min_backoff = 50ms;
  so.max_backoff = 1s;
  auto link = check(nd.sync_with(a.url, so));
  if (a.start_paused)
    link->pause();
  std::cout << json{{"ready", true}, {"node", nd.id().to_hex()}}.dump() << std::endl;

  std::string line;
  while (std::getline(std::cin, line)) {
    json reply;
    try {
      auto cmd = json::parse(line);
      if (!cmd.is_array() || cmd.empty() || !cmd[0].is_string())
        throw std::runtime_error("a command is a JSON array starting with its name");
      auto name = cmd[0].get<std::string>();
      auto arg = [&](size_t i) -> const json& {
        if (i >= cmd.size())
          throw std::runtime_error(name + ": missing argument " + std::to_string(i));
        return cmd[i];
      };
      auto str = [&](size_t i) { return arg(i).get<std::string>(); };
      if (name == "put") {
        value_map fields;
        for (auto& [k, v] : arg(3).items())
          fields[k] = to_value(v);
        check(db.put(str(1), key_id(str(2)), std::move(fields)));
        reply = ok();
      } else if (name == "set") {
        check(db.set(str(1), key_id(str(2)), str(3), to_value(arg(4))));
        reply = ok();
      } else if (name == "inc") {
        check(db.increment(str(1), key_id(str(2)), str(3), arg(4).get<int64_t>()));
        reply = ok();
      } else if (name == "add") {
        check(db.add(str(1), key_id(str(2)), str(3), to_value(arg(4))));
        reply = ok();
      } else if (name == "rm") {
        check(db.remove(str(1), key_id(str(2)), str(3), to_value(arg(4))));
        reply = ok();
      } else if (name == "del") {
        check(db.erase(str(1), key_id(str(2))));
        reply = ok();
      } else if (name == "member_key") {
        reply = ok({{"member_key", member_key_of(nd.ident()).to_string()}});
      } else if (name == "share") {
        // ["share", MEMBER_KEY, RIGHTS]: grants a member rights on the
        // database (database::share; docs/security.md §4): this device
        // must own it (or be an admin). A reader of a sealed database gets
        // its content keys; a relay none.
        auto member = crypto::member_key::parse(str(1));
        if (!member)
          throw std::runtime_error("share: " + member.error().message);
        auto rights = parse_rights(str(2));
        if (!rights)
          throw std::runtime_error("share: unknown rights " + str(2));
        if (auto s = db.share(*member, *rights); !s)
          throw std::runtime_error("share: " + s.to_string());
        reply = ok({{"sealed", check(db.access()).is_sealed()}});
      } else if (name == "security") {
        auto st = check(db.status_info());
        reply = ok({{"access", st.access}, {"key_epochs", st.key_epochs}, {"unopened", st.unopened}});
      } else if (name == "pause") {
        link->pause();
        reply = ok();
      } else if (name == "resume") {
        link->resume();
        reply = ok();
      } else if (name == "wait") {
        bool synced = link->wait_synced(std::chrono::milliseconds(int64_t(arg(1).get<double>() * 1000)));
        reply = ok({{"synced", synced}, {"status", status_json(link->status().at(0))}});
      } else if (name == "status") {
        reply = ok({{"status", status_json(link->status().at(0))}});
      } else if (name == "dump") {
        auto rows = check(db.query(str(1)).run());
        json recs = json::object();
        for (auto& r : rows)
          recs[r.id.to_hex()] = to_json(r.doc);
        reply = ok({{"records", recs}});
      } else if (name == "key") {
        reply = ok({{"id", key_id(str(1)).to_hex()}});
      } else if (name == "digest") {
        auto st = db.handles().st.lock();
        if (!st)
          throw std::runtime_error("the database is closed");
        reply = ok({{"digest", std::to_string(check(st->digest()))}, {"records", check(st->count_records())}});
      } else if (name == "conflicts") {
        json list = json::array();
        for (auto& c : check(db.list_conflicts()))
          list.push_back({{"collection", c.collection}, {"record", c.record.to_hex()}, {"field", c.field},
                          {"winner", to_json(c.winner)}, {"loser", to_json(c.loser)}});
        reply = ok({{"conflicts", list}});
      } else if (name == "probe") {
        int count = arg(1).get<int>();
        auto gap = std::chrono::milliseconds(arg(2).get<int>());
        for (int i = 0; i < count; ++i) {
          check(db.insert("probes", {{"i", int64_t(i)}, {"sent_ns", mono_ns()}}));
          std::this_thread::sleep_for(gap);
        }
        reply = ok();
      } else if (name == "latency") {
        size_t want = arg(1).get<size_t>();
        auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(int64_t(arg(2).get<double>() * 1000));
        std::vector<int64_t> l;
        for (;;) {
          {
            std::lock_guard<std::mutex> g(got->m);
            l = got->latencies_ns;
          }
          if (l.size() >= want || std::chrono::steady_clock::now() > until)
            break;
          std::this_thread::sleep_for(10ms);
        }
        std::sort(l.begin(), l.end());
        auto pct = [&](double p) { return l.empty() ? 0.0 : double(l[size_t(p * double(l.size() - 1))]) / 1000.0; };
        reply = ok({{"count", l.size()}, {"p50_us", pct(0.5)}, {"p99_us", pct(0.99)}, {"max_us", pct(1.0)}});
      } else if (name == "quit") {
        std::cout << ok().dump() << std::endl;
        break;
      } else {
        throw std::runtime_error("unknown command '" + name + "'");
      }
    } catch (const std::exception& e) {
      reply = {{"ok", false}, {"error", e.what()}};
    }
    std::cout << reply.dump() << std::endl;
  }
  sub.cancel();
  link->stop();
  return 0;
}

} // namespace blaze::demo
