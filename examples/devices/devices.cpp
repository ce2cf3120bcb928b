// `devices`: the multi-device demo of `make demo` (DESIGN §7, the seed's
// scenario) across real processes: a relay (`blazedb serve`) and three device
// processes (phone, tablet, laptop), each a node with its own data directory.
//
//   devices demo [--transport tcp|tls|ws|wss] [--blazedb PATH] [--keep]
//   devices device --data DIR --url URL [--db NAME] [--ca FILE] [--paused] [--join]
#include "examples/devices/child_process.hpp"
#include "examples/devices/dev_certs.hpp"
#include "examples/devices/device.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iterator>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <thread>

namespace {

using json = nlohmann::json;
using namespace blaze::demo;
using namespace std::chrono_literals;

std::filesystem::path self_exe() { return std::filesystem::read_symlink("/proc/self/exe"); }

struct device_proc {
  std::string name;
  std::unique_ptr<child_process> p;

  json call(const json& cmd, std::chrono::milliseconds timeout = 60s) {
    p->write_line(cmd.dump());
    auto line = p->read_line(timeout);
    if (!line)
      throw std::runtime_error(name + ": no answer to " + cmd.dump());
    auto r = json::parse(*line);
    if (!r.value("ok", false))
      throw std::runtime_error(name + ": " + cmd.dump() + " failed: " + r.value("error", std::string("?")));
    return r;
  }
};

std::string cell(const json& doc, const std::string& field) {
  if (doc.is_null())
    return "(deleted)";
  if (!doc.contains(field))
    return "-";
  auto& v = doc[field];
  return v.is_string() ? v.get<std::string>() : v.dump();
}

// Whether any file under `dir` holds any 8 bytes in a row of `text` (packed
// Cap'n Proto keeps each 8-byte word of a text whole).
bool files_contain(const std::filesystem::path& dir, const std::string& text) {
  for (auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file())
      continue;
    std::ifstream in(e.path(), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    for (size_t at = 0; at + 8 <= text.size(); ++at)
      if (bytes.find(text.substr(at, 8)) != std::string::npos)
        return true;
  }
  return false;
}

int demo(const std::string& transport, std::string blazedb, bool keep) {
  char tmpl[] = "/tmp/blazedb-devices.XXXXXX";
  if (!::mkdtemp(tmpl))
    throw std::runtime_error("mkdtemp failed");
  std::filesystem::path dir = tmpl;
  struct cleanup {
    std::filesystem::path d;
    bool keep;
    ~cleanup() {
      if (!keep) {
        std::error_code ec;
        std::filesystem::remove_all(d, ec);
      }
    }
  } clean{dir, keep};
  if (blazedb.empty())
    blazedb = (self_exe().parent_path().parent_path() / "blazedb").string();

  // ---- the relay (its member key first: the devices invite it as a relay)
  std::string relay_key;
  {
    child_process id({blazedb, "--data", (dir / "relay").string(), "id", "--json"});
    auto line = id.read_line(20s);
    if (!line)
      throw std::runtime_error("blazedb id printed nothing");
    relay_key = json::parse(*line).at("member_key").get<std::string>();
  }
  std::vector<std::string> relay_argv{blazedb, "--data", (dir / "relay").string(), "serve"};
  std::string ca;
  bool secure = transport == "tls" || transport == "wss";
  if (secure) {
    auto certs = make_dev_certs(dir / "certs");
    relay_argv.insert(relay_argv.end(), {"--tls-cert", certs.cert.string(), "--tls-key", certs.key.string()});
    ca = certs.ca.string();
  }
  relay_argv.insert(relay_argv.end(), {transport == "ws" || transport == "wss" ? "--ws" : "--listen", "127.0.0.1:0"});
  auto relay = std::make_unique<child_process>(relay_argv);
  auto first = relay->read_line(20s);
  if (!first || first->find("listening on ") != 0)
    throw std::runtime_error("the relay did not start: " + first.value_or("(no output)"));
  std::string url = first->substr(std::string("listening on ").size());
  std::cout << "relay   " << url << "  (blazedb serve, pid " << relay->pid() << ")\n";

  // ---- three devices: the phone creates `bugs` (owned by it, sealed); the
  // tablet and the laptop open it to join (new_database::join): they take
  // writes once the phone shared it with them and its access list arrived.
  std::vector<device_proc> devs;
  for (std::string name : {"phone", "tablet", "laptop"}) {
    std::vector<std::string> argv{self_exe().string(), "device", "--data", (dir / name).string(), "--url", url};
    if (!ca.empty())
      argv.insert(argv.end(), {"--ca", ca});
    if (name != "phone")
      argv.push_back("--join");
    devs.push_back({name, std::make_unique<child_process>(argv)});
    auto ready = devs.back().p->read_line(30s);
    if (!ready)
      throw std::runtime_error(name + " did not start");
    std::cout << std::left << std::setw(8) << name << "node " << json::parse(*ready)["node"].get<std::string>()
              << "  (pid " << devs.back().p->pid() << ")\n";
  }
  auto& phone = devs[0];
  auto& tablet = devs[1];
  auto& laptop = devs[2];
  auto all_wait = [&] {
    for (auto& d : devs)
      d.call({"wait", 20});
  };
  // Until every device has every edit (a device can be caught up with the
  // relay before the relay has the others' edits).
  auto converge = [&] {
    for (int round = 0; round < 200; ++round) {
      all_wait();
      std::set<std::string> digests;
      for (auto& d : devs)
        digests.insert(d.call({"digest"})["digest"].get<std::string>());
      if (digests.size() == 1)
        return *digests.begin();
      std::this_thread::sleep_for(20ms);
    }
    throw std::runtime_error("the devices did not converge");
  };

  std::cout << "\n0. the phone owns `bugs`, end-to-end encrypted, and shares it: the tablet and the laptop\n"
               "   as members (rw; they joined it), the relay as a relay (it stores and forwards, and cannot read)\n";
  phone.call({"share", relay_key, "relay"});
  for (auto* d : {&tablet, &laptop})
    phone.call({"share", d->call({"member_key"})["member_key"], "rw"});

  std::cout << "1. online: the phone files two bugs; everyone syncs\n";
  phone.call({"put", "bugs", "login", {{"title", "Login fails"}, {"status", "open"}}});
  phone.call({"put", "bugs", "cart", {{"title", "Crash on empty cart"}, {"status", "open"}}});
  converge();
  laptop.call({"add", "bugs", "cart", "tags", "ui"});
  converge();

  std::cout << "2. all three go offline and edit\n";
  for (auto& d : devs)
    d.call({"pause"});
  phone.call({"set", "bugs", "login", "title", "Login fails on Safari"});      // the same field,
  tablet.call({"set", "bugs", "login", "title", "Login fails after update"});  // concurrently
  laptop.call({"set", "bugs", "login", "status", "in-progress"});
  phone.call({"inc", "bugs", "login", "votes", 2});
  tablet.call({"inc", "bugs", "login", "votes", 3});
  laptop.call({"inc", "bugs", "login", "votes", 1});
  phone.call({"add", "bugs", "login", "tags", "auth"});
  tablet.call({"add", "bugs", "login", "tags", "safari"});
  laptop.call({"rm", "bugs", "cart", "tags", "ui"});
  tablet.call({"add", "bugs", "cart", "tags", "checkout"});
  phone.call({"del", "bugs", "cart"});                       // a delete racing
  tablet.call({"set", "bugs", "cart", "priority", 1});  // an update

  std::cout << "3. back online: reconnect and converge\n";
  auto t0 = std::chrono::steady_clock::now();
  for (auto& d : devs)
    d.call({"resume"});
  auto digest = converge();
  auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();

  // ---- side by side
  std::map<std::string, json> docs;  // device -> records
  for (auto& d : devs)
    docs[d.name] = d.call({"dump", "bugs"})["records"];
  std::set<std::string> ids;
  for (auto& [n, recs] : docs)
    for (auto& [id, doc] : recs.items())
      ids.insert(id);
  std::map<std::string, std::string> key_of;
  for (auto k : {"login", "cart"})
    key_of[phone.call({"key", k})["id"].get<std::string>()] = k;
  std::cout << "\nfinal records, side by side:\n";
  for (auto& id : ids) {
    std::set<std::string> fields;
    for (auto& [n, recs] : docs)
      if (recs.contains(id))
        for (auto& [f, v] : recs[id].items())
          fields.insert(f);
    std::cout << "  bugs/" << (key_of.count(id) ? key_of[id] : id) << "\n";
    std::cout << "    " << std::left << std::setw(10) << "field";
    for (auto& d : devs)
      std::cout << std::setw(28) << d.name;
    std::cout << "\n";
    for (auto& f : fields) {
      std::cout << "    " << std::setw(10) << f;
      for (auto& d : devs)
        std::cout << std::setw(28) << cell(docs[d.name].contains(id) ? docs[d.name][id] : json(), f);
      std::cout << "\n";
    }
  }
  if (!docs["phone"].contains(phone.call({"key", "cart"})["id"].get<std::string>()))
    std::cout << "  bugs/cart: deleted on every device (the delete came after the update)\n";
  else
    std::cout << "  (bugs/cart: the tablet's update came after the phone's delete, so the record lives on\n"
                 "   with only what was written after the delete)\n";

  std::cout << "\nconflicts recorded (concurrent writes resolved automatically):\n";
  for (auto& d : devs) {
    auto cs = d.call({"conflicts"})["conflicts"];
    for (auto& c : cs)
      std::cout << "  " << std::setw(8) << d.name << key_of[c["record"].get<std::string>()] << "." << c["field"].get<std::string>()
                << ": kept " << c["winner"].dump() << " over " << c["loser"].dump() << "\n";
    if (cs.empty())
      std::cout << "  " << std::setw(8) << d.name << "(none seen locally)\n";
  }

  // ---- propagation latency: phone -> relay -> laptop, live
  const int probes = 200;
  phone.call({"probe", probes, 5});
  auto lat = laptop.call({"latency", probes, 30});
  std::cout << "\npropagation phone -> relay -> laptop over " << transport << " (" << lat["count"] << " writes, 5 ms apart):"
            << "  p50 " << std::fixed << std::setprecision(0) << lat["p50_us"].get<double>() << " us, p99 "
            << lat["p99_us"].get<double>() << " us\n";
  std::cout << "reconnect to convergence: " << std::setprecision(1) << ms << " ms\n";
  digest = converge();

  std::cout << "\nall replicas identical: state digest " << digest << " on phone, tablet, laptop\n";
  auto sec = laptop.call({"security"});
  for (auto& d : devs)
    d.call({"quit"});
  devs.clear();
  relay->stop(SIGTERM);

  // ---- what the relay holds
  child_process st({blazedb, "--data", (dir / "relay").string(), "--db", "bugs", "status", "--json"});
  auto line = st.read_line(20s);
  if (!line)
    throw std::runtime_error("blazedb status printed nothing");
  auto info = json::parse(*line).at("databases").at(0);
  const std::vector<std::string> titles = {"Login fails on Safari", "Login fails after update", "Crash on empty cart"};
  bool leaked = false;
  for (auto& t : titles)
    leaked = leaked || files_contain(dir / "relay", t);
  std::cout << "end-to-end encrypted (" << sec["access"].get<std::string>() << ", key epochs "
            << sec["key_epochs"].dump() << " on the laptop): the relay holds " << info["operations"]
            << " operations and opened none (" << info["unopened"] << " sealed, " << info["records"]
            << " records: the access list only);\nits files (WAL, SST) "
            << (leaked ? "CONTAIN plaintext bug titles" : "contain none of the bug titles") << "\n";
  if (leaked || info["access"] != "sealed")
    throw std::runtime_error("the relay can read the database");
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  spdlog::set_level(spdlog::level::warn);
  std::vector<std::string> args(argv + 1, argv + argc);
  try {
    if (!args.empty() && args[0] == "device") {
      device_args a;
      for (size_t i = 1; i < args.size(); ++i) {
        auto next = [&] {
          if (i + 1 >= args.size())
            throw std::runtime_error(args[i] + " needs a value");
          return args[++i];
        };
        if (args[i] == "--data")
          a.data_dir = next();
        else if (args[i] == "--url")
          a.url = next();
        else if (args[i] == "--db")
          a.db = next();
        else if (args[i] == "--ca")
          a.ca = next();
        else if (args[i] == "--collections") {
          std::string list = next();
          for (size_t p = 0; p <= list.size();) {
            auto c = list.find(',', p);
            if (c == std::string::npos)
              c = list.size();
            if (c > p)
              a.collections.push_back(list.substr(p, c - p));
            p = c + 1;
          }
        } else if (args[i] == "--paused")
          a.start_paused = true;
        else if (args[i] == "--join")
          a.join = true;
        else
          throw std::runtime_error("unknown option " + args[i]);
      }
      if (a.data_dir.empty() || a.url.empty())
        throw std::runtime_error("device needs --data and --url");
      return run_device(a);
    }
    std::string transport = "tcp", blazedb;
    bool keep = false;
    for (size_t i = (args.empty() || args[0] != "demo") ? 0 : 1; i < args.size(); ++i) {
      if (args[i] == "--transport" && i + 1 < args.size())
        transport = args[++i];
      else if (args[i] == "--blazedb" && i + 1 < args.size())
        blazedb = args[++i];
      else if (args[i] == "--keep")
        keep = true;
      else
        throw std::runtime_error("usage: devices [demo] [--transport tcp|tls|ws|wss] [--blazedb PATH] [--keep]");
    }
    if (transport != "tcp" && transport != "tls" && transport != "ws" && transport != "wss")
      throw std::runtime_error("--transport is tcp, tls, ws or wss");
    return demo(transport, blazedb, keep);
  } catch (const std::exception& e) {
    std::cerr << "devices: " << e.what() << "\n";
    return 1;
  }
}
