// `blazedb serve`, `blazedb sync` and the peers file `status` reads
// (docs/cli.md). A process that syncs writes `<data>/peers.json` every second:
// the data directory is locked while it runs, so `status` from another
// process shows the peers from that file.
#include "examples/cli_sync.hpp"

#include <algorithm>
#include <mutex>
#include <cstring>

#include "examples/signal_waiter.hpp"
#include "runtime/node.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

namespace blaze::cli {

namespace {

using ojson = nlohmann::ordered_json;
using namespace std::chrono_literals;

net::tls_options tls_of(const tls_args& t) {
  net::tls_options o;
  o.cert = t.cert;
  o.key = t.key;
  o.ca = t.ca;
  o.verify_peer = !t.insecure;
  return o;
}

ojson link_json(const link_status& s) {
  ojson o;
  o["database"] = s.database;
  o["address"] = s.address;
  o["peer"] = s.open || s.peer != node_id{} ? ojson(s.peer.to_hex()) : ojson(nullptr);
  o["connected"] = s.connected;
  o["synced"] = s.synced;
  o["paused"] = s.paused;
  o["behind"] = s.behind;
  o["unacked"] = s.unacked;
  o["received"] = s.received;
  o["sent"] = s.sent;
  o["connects"] = s.connects;
  o["last_error"] = s.last_error;
  return o;
}

size_t open_count(const node& n) {
  auto names = n.open_databases();
  return names ? names->size() : 0;
}

// Writes <data>/peers.json atomically (rename).
void write_peers(const std::string& data_dir, const std::string& role, const std::vector<std::string>& listening,
                 const std::string& url, const std::vector<link_status>& links, size_t sessions,
                 size_t open_databases) {
  ojson o;
  o["pid"] = ::getpid();
  o["role"] = role;
  o["updated"] = static_cast<int64_t>(std::time(nullptr));
  o["listening"] = listening;
  o["sessions"] = sessions;
  o["open_databases"] = open_databases;
  if (!url.empty())
    o["peer_url"] = url;
  auto arr = ojson::array();
  for (auto& l : links)
    arr.push_back(link_json(l));
  o["links"] = std::move(arr);
  auto path = std::filesystem::path(data_dir) / "peers.json";
  auto tmp = path;
  tmp += ".tmp";
  {
    std::ofstream f(tmp);
    f << o.dump(2) << '\n';
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
}

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty())
      out.push_back(item);
  return out;
}

// One progress line per database on a terminal (stderr), redrawn in place.
class progress_bar {
public:
  explicit progress_bar(bool enabled) : on_(enabled) {}
  void show(const std::vector<link_status>& links, const std::vector<sync_progress>& prog) {
    if (!on_)
      return;
    std::ostringstream out;
    for (size_t i = 0; i < links.size(); ++i) {
      auto& l = links[i];
      uint64_t got = i < prog.size() ? prog[i].received : 0;
      uint64_t want = i < prog.size() ? prog[i].expected : 0;
      double frac = l.synced ? 1.0 : want ? std::min(1.0, double(got) / double(want)) : 0.0;
      int filled = static_cast<int>(frac * 30);
      out << "\r" << l.database << " [" << std::string(filled, '#') << std::string(30 - filled, ' ') << "] " << got
          << "/" << want << " ops" << (l.synced ? "  synced" : l.connected ? "  syncing" : "  connecting")
          << "\x1b[K";
      if (i + 1 < links.size())
        out << "\n";
    }
    if (lines_ > 1)
      std::cerr << "\x1b[" << (lines_ - 1) << "A";
    std::cerr << out.str() << std::flush;
    lines_ = links.size();
  }
  void done() {
    if (on_ && lines_)
      std::cerr << "\n";
  }

private:
  bool on_;
  size_t lines_ = 0;
};

} // namespace

int cmd_serve(const global_options& g, const serve_args& a) {
  if (a.listen.empty() && a.ws.empty())
    usage("serve needs --listen HOST:PORT and/or --ws HOST:PORT");
  bool tls = !a.tls.cert.empty() || !a.tls.key.empty();
  if (tls && (a.tls.cert.empty() || a.tls.key.empty()))
    usage("--tls-cert and --tls-key go together");
  serve_options so;
  for (auto& hp : a.listen) {
    auto ep = net::parse_host_port(hp, tls ? net::scheme::tls : net::scheme::tcp);
    if (!ep)
      usage(ep.error().message);
    so.listen.push_back(ep->to_string());
  }
  for (auto& hp : a.ws) {
    auto ep = net::parse_host_port(hp, tls ? net::scheme::wss : net::scheme::ws);
    if (!ep)
      usage(ep.error().message);
    so.listen.push_back(ep->to_string());
  }
  so.tls = tls_of(a.tls);
  signal_waiter signals;
  node_options no;
  no.idle_database_close = std::chrono::milliseconds(static_cast<int64_t>(a.idle_close_s * 1000));
  no.compact_interval = std::chrono::milliseconds(static_cast<int64_t>(a.compact_every_s * 1000));
  auto n = open_node(g, no);
  auto srv = n->serve(so);
  if (!srv)
    fail(srv.error());
  std::vector<std::string> where;
  for (auto& e : (*srv)->endpoints()) {
    where.push_back(e.to_string());
    std::cout << "listening on " << e.to_string() << '\n';
  }
  std::cout << "node " << n->id().to_hex() << " serving " << g.data_dir << " (Ctrl-C to stop)" << std::endl;
  int sig = 0;
  while ((sig = signals.wait(1000ms)) == 0)
    write_peers(g.data_dir, "serve", where, "", (*srv)->session_status(), (*srv)->sessions(),
                open_count(*n));
  std::cout << "stopping (" << strsignal(sig) << ")" << std::endl;
  (*srv)->stop();
  srv->reset();
  std::error_code ec;
  std::filesystem::remove(std::filesystem::path(g.data_dir) / "peers.json", ec);
  n.reset();  // closes every session and database cleanly
  return exit_ok;
}

int cmd_sync(const global_options& g, const sync_args& a) {
  auto ep = net::parse_url(a.url);
  if (!ep)
    usage(ep.error().message);
  if (a.once && a.follow)
    usage("--once and --follow exclude each other");
  signal_waiter signals;
  auto n = open_node(g);
  sync_options so;
  if (g.db_given)
    so.databases = {g.db};
  so.collections = split_list(a.collections);
  so.tls = tls_of(a.tls);
  std::mutex m;
  std::vector<sync_progress> prog;
  so.on_progress = [&](const sync_progress& p) {
    std::lock_guard<std::mutex> guard(m);
    for (auto& q : prog)
      if (q.database == p.database) {
        q = p;
        return;
      }
    prog.push_back(p);
  };
  auto h = n->sync_with(a.url, so);
  if (!h)
    fail(h.error());
  auto& link = **h;
  progress_bar bar(!a.quiet && ::isatty(2));
  auto started = std::chrono::steady_clock::now();
  auto snapshot = [&] {
    auto links = link.status();
    std::vector<sync_progress> p;
    {
      std::lock_guard<std::mutex> guard(m);
      for (auto& l : links) {
        sync_progress x{l.database, 0, 0, false};
        for (auto& q : prog)
          if (q.database == l.database)
            x = q;
        p.push_back(x);
      }
    }
    return std::make_pair(links, p);
  };
  int sig = 0;
  if (!a.follow) {
    bool synced = false;
    while (!synced) {
      if ((sig = signals.wait(100ms)) != 0)
        break;
      auto [links, p] = snapshot();
      bar.show(links, p);
      synced = std::all_of(links.begin(), links.end(), [](auto& l) { return l.synced; });
      // A refusal (forbidden: this node is not a member, or the peer holds
      // another database of that name) is not cured by retrying until the
      // timeout: fail now.
      for (auto& l : links)
        if (!l.synced && fatal_link_error(l.last_error)) {
          bar.done();
          link.stop();
          fail({errc::forbidden,
                "the peer at " + a.url + " refused " + l.database + ": " + l.last_error +
                  (l.last_error.rfind("forbidden:", 0) == 0
                     ? " (is this node a member? the owner invites it with `blazedb invite`, and a database the "
                       "owner shares is opened here with `blazedb join`)"
                     : "")});
        }
      if (!synced && std::chrono::steady_clock::now() - started > std::chrono::seconds(a.timeout_s)) {
        bar.done();
        std::string why;
        for (auto& l : links)
          if (!l.synced)
            why += " " + l.database + ": " + (l.last_error.empty() ? "not synced" : l.last_error) + ";";
        fail({errc::timeout, "not synced after " + std::to_string(a.timeout_s) + " s:" + why});
      }
    }
    bar.done();
    auto [links, p] = snapshot();
    for (auto& l : links) {
      auto o = link_json(l);
      print_json_line(o.dump());
    }
    if (sig)
      fail({errc::closed, std::string("interrupted (") + strsignal(sig) + ")"});
    return exit_ok;
  }
  std::vector<std::string> last_state;
  while ((sig = signals.wait(1000ms)) == 0) {
    auto [links, p] = snapshot();
    write_peers(g.data_dir, "sync", {}, a.url, links, 0, open_count(*n));
    for (size_t i = 0; i < links.size(); ++i) {
      auto& l = links[i];
      std::string state = l.synced ? "synced" : l.connected ? "syncing" : "disconnected";
      if (last_state.size() <= i)
        last_state.resize(i + 1);
      if (state != last_state[i] && !a.quiet) {
        std::cerr << l.database << ": " << state;
        if (state == "disconnected" && !l.last_error.empty())
          std::cerr << " (" << l.last_error << ")";
        std::cerr << std::endl;
      }
      last_state[i] = state;
    }
  }
  std::error_code ec;
  std::filesystem::remove(std::filesystem::path(g.data_dir) / "peers.json", ec);
  return exit_ok;
}

void print_json_line(const std::string& line) { std::cout << line << '\n'; }

bool fatal_link_error(const std::string& e) {
  for (const char* p : {"forbidden:", "unauthenticated:", "corrupt:", "version_mismatch:"})
    if (e.rfind(p, 0) == 0)
      return true;
  return false;
}

std::optional<std::string> read_peers_file(const std::string& data_dir) {
  std::ifstream f(std::filesystem::path(data_dir) / "peers.json");
  if (!f)
    return std::nullopt;
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

} // namespace blaze::cli
