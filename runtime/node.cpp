#include "runtime/node.hpp"

#include "runtime/authenticator.hpp"

#include "actors/errors.hpp"
#include "runtime/net/caf_transport.hpp"
#include "runtime/unpin_logger.hpp"
#include "storage/txn_log.hpp"

#include <caf/io/middleman.hpp>
#include <caf/openssl/manager.hpp>

#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <unordered_map>

namespace blaze {

namespace {

// Holds `<data>/LOCK` with flock for the node's lifetime (released by the
// kernel if the process dies).
result<int> lock_data_dir(const std::filesystem::path& dir) {
  auto path = dir / "LOCK";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    return status{errc::io_error, "cannot open " + path.string() + ": " + std::strerror(errno)};
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    char buf[32] = {};
    ssize_t n = ::pread(fd, buf, sizeof(buf) - 1, 0);
    ::close(fd);
    std::string owner = n > 0 ? " (pid " + std::string(buf, static_cast<size_t>(n)) + ")" : "";
    if (err == EWOULDBLOCK)
      return status{errc::locked, "data directory " + dir.string() + " is in use by another process" + owner};
    return status{errc::io_error, "cannot lock " + path.string() + ": " + std::strerror(err)};
  }
  auto pid = std::to_string(::getpid());
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) < 0) {
    // The lock itself is what matters; the pid is informational.
  }
  return fd;
}

std::string render_error(uint8_t code, caf::atom_value, const caf::message& ctx) {
  std::string out = to_string(static_cast<errc>(code));
  if (ctx.match_elements<std::string>())
    out += ": " + ctx.get_as<std::string>(0);
  return out;
}

} // namespace

// Every sync link actor of the node; a link removes itself when it stops.
struct node::link_set {
  std::mutex m;
  bool closing = false;
  std::unordered_map<caf::actor_id, caf::actor> alive;

  /// Spawns through `spawn` unless the node is closing (then nullptr).
  template <class F> caf::actor add(F&& spawn) {
    std::lock_guard<std::mutex> g(m);
    if (closing)
      return nullptr;
    caf::actor a = spawn();
    alive.emplace(a.id(), a);
    return a;
  }
  static void track_exit(const std::shared_ptr<link_set>& set, caf::actor& a,
                         std::function<void()> also = nullptr) {
    std::weak_ptr<link_set> w = set;
    a->attach_functor([w, id = a.id(), also] {
      if (also)
        also();
      if (auto s = w.lock()) {
        std::lock_guard<std::mutex> g(s->m);
        s->alive.erase(id);
      }
    });
  }
  void stop_all() {
    std::vector<caf::actor> all;
    {
      std::lock_guard<std::mutex> g(m);
      closing = true;
      for (auto& [id, a] : alive)
        all.push_back(a);
    }
    for (auto& a : all)
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  }
};

namespace {

// A caf:// endpoint: the published acceptor actor.
class caf_listener final : public net::listener {
public:
  caf_listener(caf::actor_system& sys, caf::actor acceptor, net::endpoint e)
    : sys_(sys), acceptor_(std::move(acceptor)), e_(std::move(e)) {}
  ~caf_listener() override { close(); }
  const net::endpoint& where() const override { return e_; }
  void close() override {
    if (!acceptor_)
      return;
    sys_.middleman().unpublish(acceptor_, e_.port);
    caf::anon_send_exit(acceptor_, caf::exit_reason::user_shutdown);
    acceptor_ = nullptr;
  }

private:
  caf::actor_system& sys_;
  caf::actor acceptor_;
  net::endpoint e_;
};

} // namespace

struct sync_server::shared {
  std::atomic<size_t> sessions{0};
  mutable std::mutex m;
  std::unordered_map<caf::actor_id, std::shared_ptr<link_monitor>> monitors;
};

std::vector<link_status> sync_server::session_status() const {
  std::vector<link_status> out;
  std::lock_guard<std::mutex> g(shared_->m);
  for (auto& [id, m] : shared_->monitors)
    out.push_back(m->get());
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.database < b.database; });
  return out;
}

sync_server::~sync_server() { stop(); }

std::vector<net::endpoint> sync_server::endpoints() const {
  std::vector<net::endpoint> out;
  for (auto& l : listeners_)
    out.push_back(l->where());
  return out;
}

size_t sync_server::sessions() const { return shared_->sessions.load(); }

void sync_server::stop() {
  for (auto& l : listeners_)
    l->close();
}

sync_handle::~sync_handle() { stop(); }

void sync_handle::sync_now() {
  for (auto& l : links_)
    caf::anon_send(l, sync_now_atom::value);
}

void sync_handle::pause() {
  for (auto& l : links_)
    caf::anon_send(l, pause_atom::value);
}

void sync_handle::resume() {
  for (auto& l : links_)
    caf::anon_send(l, resume_atom::value);
}

std::vector<link_status> sync_handle::status() const {
  std::vector<link_status> out;
  for (auto& m : monitors_)
    out.push_back(m->get());
  return out;
}

bool sync_handle::wait_synced(std::chrono::milliseconds timeout) const {
  auto until = std::chrono::steady_clock::now() + timeout;
  // Synced, and past every operation each database held when the wait
  // began (a status may still be from before a commit just made).
  std::vector<version_vector> targets;
  for (auto& m : monitors_)
    targets.push_back(m->local_versions());
  for (size_t i = 0; i < monitors_.size(); ++i) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
    const auto& target = targets[i];
    if (left.count() < 0 ||
        !monitors_[i]->wait([&](const link_status& s) { return s.synced && s.peer_holds.dominates(target); }, left))
      return false;
  }
  return true;
}

void sync_handle::stop() {
  for (auto& l : links_)
    caf::anon_send_exit(l, caf::exit_reason::user_shutdown);
  links_.clear();
}

node::node(node_options opts, int lock_fd, identity ident)
  : opts_(std::move(opts)), lock_fd_(lock_fd), ident_(std::move(ident)), links_(std::make_shared<link_set>()) {}

namespace {

// A node serving many databases and sessions needs many descriptors: raise
// the soft limit to the hard limit (what servers do at start).
void raise_fd_limit() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &rl);
  }
}

// CAF remote actors have no authentication of their own: caf:// runs only
// through caf::openssl, with certificates verified both ways.
status check_caf_tls(const node_options& opts) {
  if (!opts.caf_remote)
    return {};
  auto& t = opts.caf_tls;
  if (t.cert.empty() || t.key.empty() || t.ca.empty())
    return {errc::invalid_argument, "caf:// needs certificates: set node_options::caf_tls cert, key and ca (CAF "
                                    "remote actors are never used without authentication)"};
  for (auto* f : {&t.cert, &t.key, &t.ca})
    if (std::error_code ec; !std::filesystem::exists(*f, ec))
      return {errc::invalid_argument, "caf:// certificate file " + f->string() + " does not exist"};
  return {};
}

} // namespace

result<std::unique_ptr<node>> node::open(const node_options& opts) {
  if (auto s = check_caf_tls(opts); !s)
    return s;
  raise_fd_limit();
  detail::unpin_caf_logger unpin;  // the actor system and the registry are made here
  std::error_code ec;
  std::filesystem::create_directories(opts.data_dir, ec);
  if (ec)
    return status{errc::io_error, "cannot create data directory " + opts.data_dir.string() + ": " + ec.message()};
  auto fd = lock_data_dir(opts.data_dir);
  if (!fd)
    return fd.error();
  auto ident = load_or_create_identity(opts.data_dir);
  if (!ident) {
    ::close(*fd);
    return ident.error();
  }
  // The decision log of cross-database transactions, opened before any
  // database: a database resolves its prepared transactions when it opens.
  auto txns = txn_log::open(opts.data_dir / ".txnlog");
  if (!txns) {
    ::close(*fd);
    return txns.error();
  }
  std::unique_ptr<node> n(new node(opts, *fd, std::move(*ident)));
  n->txns_ = std::move(*txns);
  n->cfg_ = std::make_unique<caf::actor_system_config>();
  n->cfg_->add_error_category(error_category, render_error);
  if (opts.worker_threads > 0)
    n->cfg_->set("scheduler.max-threads", opts.worker_threads);
  n->cfg_->set("logger.verbosity", caf::atom("quiet"));
  // Idle workers sleep on a condition variable (woken on enqueue) instead of
  // polling every 50 µs: a blocking request otherwise waits out the poll.
  n->cfg_->set("work-stealing.moderate-poll-attempts", 0);
  if (opts.caf_remote) {
    auto& t = opts.caf_tls;  // checked above
    n->cfg_->openssl_certificate = t.cert.string();
    n->cfg_->openssl_key = t.key.string();
    n->cfg_->openssl_cafile = t.ca.string();
    n->cfg_->load<caf::io::middleman>();
    n->cfg_->load<caf::openssl::manager>();
  }
  n->sys_ = std::make_unique<caf::actor_system>(*n->cfg_);
  n->pool_ = std::make_unique<requester_pool>(*n->sys_);

  registry_config rc;
  rc.data_dir = opts.data_dir;
  rc.self = n->ident_.id;
  rc.store.mode = opts.mode;
  rc.store.lim = opts.lim;
  rc.store.max_clock_skew_ms = opts.max_clock_skew_ms;
  rc.store.seals_per_key = opts.seals_per_key;
  rc.store.signer = n->ident_.key;  // signs this node's chain heads (docs/protocol.md §5b)
  rc.store.exchange = n->ident_.exchange;  // opens and seals end-to-end encrypted databases (docs/security.md §3)
  rc.env = std::make_shared<storage_environment>(opts.storage);
  rc.idle_close = opts.idle_database_close;
  rc.compact_interval = opts.compact_interval;
  rc.txns = n->txns_;
  n->registry_ = spawn_registry(*n->sys_, std::move(rc));
  // A remote transaction with a part held in a database this node hosts but
  // has not open: the registry opens it, so it reports (and releases) its
  // part. Weak: the log must not keep the registry alive.
  n->txns_->set_opener([weak = caf::actor_cast<caf::weak_actor_ptr>(n->registry_)](const std::string& name) {
    if (auto strong = caf::actor_cast<caf::strong_actor_ptr>(weak))
      caf::anon_send(caf::actor_cast<registry_actor>(strong), open_atom::value, name);
  });
  return n;
}

node::~node() {
  if (sys_) {
    {
      detail::unpin_caf_logger unpin;
      pool_.reset();  // its scoped actors would keep the system alive
    }
    links_->stop_all();
    caf::anon_send_exit(registry_, caf::exit_reason::user_shutdown);
    registry_ = nullptr;
    sys_->await_all_actors_done();
    transport_.reset();  // its I/O thread may still post to the (stopped) actors
    sys_.reset();
  }
  if (lock_fd_ >= 0)
    ::close(lock_fd_);
}

result<database> node::open_database(const std::string& name, bool create, std::optional<durability> mode) {
  return open_database(name, database_options{create, new_database::sealed, mode});
}

result<database> node::open_database(const std::string& name, const database_options& o) {
  if (o.as == new_database::open)
    return status{errc::invalid_argument, "a node creates databases sealed, plaintext or to join; not open "
                                          "(without an access list)"};
  const auto mode = o.mode;
  detail::unpin_caf_logger unpin;  // destroyed after `self`
  caf::scoped_actor self{*sys_};
  std::optional<result<database>> out;
  self->request(registry_, opts_.timeout, open_atom::value, name, o.create, o.as)
    .receive([&](database_handles& h) { out.emplace(database(*sys_, *pool_, std::move(h), opts_.timeout)); },
             [&](caf::error& e) { out.emplace(to_status(e)); });
  if (*out && mode)
    if (auto s = (*out)->set_durability(*mode); !s)
      return s;
  return std::move(*out);
}

result<std::vector<std::string>> node::open_databases() const {
  detail::unpin_caf_logger unpin;  // destroyed after `self`
  caf::scoped_actor self{*sys_};
  std::optional<result<std::vector<std::string>>> out;
  self->request(registry_, opts_.timeout, list_atom::value, open_atom::value)
    .receive([&](std::vector<std::string>& names) { out.emplace(std::move(names)); },
             [&](caf::error& e) { out.emplace(to_status(e)); });
  return std::move(*out);
}

result<std::vector<std::string>> node::databases() const {
  detail::unpin_caf_logger unpin;  // destroyed after `self`
  caf::scoped_actor self{*sys_};
  std::optional<result<std::vector<std::string>>> out;
  self->request(registry_, opts_.timeout, list_atom::value)
    .receive([&](std::vector<std::string>& v) { out.emplace(std::move(v)); },
             [&](caf::error& e) { out.emplace(to_status(e)); });
  return std::move(*out);
}

status node::close_database(const std::string& name) {
  detail::unpin_caf_logger unpin;  // destroyed after `self`
  caf::scoped_actor self{*sys_};
  status out;
  self->request(registry_, opts_.timeout, close_atom::value, name)
    .receive([&](bool) {}, [&](caf::error& e) { out = to_status(e); });
  return out;
}

} // namespace blaze

namespace blaze {

namespace {

// Every session of a node proves the node's key and checks the peer's.
sync::session_options session_defaults(sync::session_options o, const identity& ident) {
  o.self = ident.id;
  o.auth = std::make_shared<node_authenticator>(ident.key);
  return o;
}

} // namespace

result<std::shared_ptr<sync_server>> node::serve(const serve_options& opts) {
  if (opts.listen.empty())
    return status{errc::invalid_argument, "serve: give at least one endpoint to listen on"};
  {
    std::lock_guard<std::mutex> g(transport_mutex_);
    if (!transport_)
      transport_ = std::make_unique<net::transport>();
  }
  auto srv = std::shared_ptr<sync_server>(new sync_server);
  srv->shared_ = std::make_shared<sync_server::shared>();
  for (auto& url : opts.listen) {
    auto ep = net::parse_url(url);
    if (!ep)
      return ep.error();
    caf::actor_system* sys = sys_.get();
    auto reg = registry_;
    auto self = ident_.id;
    auto proto = session_defaults(opts.session, ident_);
    auto set = links_;
    auto shared = srv->shared_;
    auto on_accept = [sys, reg, self, proto, set, shared, opts](connection_ptr c) {
      sync_link_config cfg;
      cfg.registry = reg;
      cfg.self = self;
      cfg.proto = proto;
      cfg.create_databases = opts.create_databases;
      cfg.accepted = c;
      auto mon = cfg.monitor;
      auto a = set->add([&] { return spawn_sync_link(*sys, std::move(cfg)); });
      if (!a) {
        c->close("the node is shutting down");
        return;
      }
      ++shared->sessions;
      {
        std::lock_guard<std::mutex> g(shared->m);
        shared->monitors.emplace(a.id(), mon);
      }
      link_set::track_exit(set, a, [shared, id = a.id()] {
        --shared->sessions;
        std::lock_guard<std::mutex> g(shared->m);
        shared->monitors.erase(id);
      });
    };
    if (ep->kind == net::scheme::caf) {
      if (!opts_.caf_remote)
        return status{errc::invalid_argument, "caf:// needs node_options::caf_remote"};
      caf::actor acceptor;
      auto port = net::caf_listen(*sys_, ep->host, ep->port, transport_->options().max_frame, on_accept, &acceptor);
      if (!port)
        return port.error();
      auto bound = *ep;
      bound.port = *port;
      srv->listeners_.push_back(std::make_shared<caf_listener>(*sys_, acceptor, bound));
      continue;
    }
    auto l = transport_->listen(*ep, opts.tls, on_accept);
    if (!l)
      return l.error();
    srv->listeners_.push_back(std::move(*l));
  }
  return srv;
}

result<std::shared_ptr<sync_handle>> node::sync_with(const std::string& url, sync_options opts) {
  auto ep = net::parse_url(url);
  if (!ep)
    return ep.error();
  if (ep->kind != net::scheme::inproc && ep->port == 0)
    return status{errc::invalid_argument, "'" + url + "': give the peer's port"};
  if (ep->kind == net::scheme::caf && !opts_.caf_remote)
    return status{errc::invalid_argument, "caf:// needs node_options::caf_remote"};
  if (opts.databases.empty()) {
    auto all = databases();
    if (!all)
      return all.error();
    opts.databases = std::move(*all);
    if (opts.databases.empty())
      return status{errc::invalid_argument, "this node has no databases to sync; name one"};
  }
  for (auto& d : opts.databases)
    if (auto v = validate_database_name(d); !v)
      return v;
  {
    std::lock_guard<std::mutex> g(transport_mutex_);
    if (!transport_)
      transport_ = std::make_unique<net::transport>();
  }
  auto h = std::shared_ptr<sync_handle>(new sync_handle);
  h->url_ = url;
  net::transport* tr = transport_.get();
  for (auto& d : opts.databases) {
    sync_link_config cfg;
    cfg.registry = registry_;
    cfg.self = ident_.id;
    cfg.database = d;
    cfg.collections = opts.collections;
    cfg.proto = session_defaults(opts.session, ident_);
    cfg.min_backoff = opts.min_backoff;
    cfg.max_backoff = opts.max_backoff;
    cfg.request_timeout = opts_.timeout;
    cfg.monitor->on_progress = opts.on_progress;
    caf::actor_system* sys = sys_.get();
    cfg.dial = [tr, sys, to = *ep, tls = opts.tls](std::function<void(result<connection_ptr>)> done) {
      if (to.kind == net::scheme::caf)
        net::caf_dial(*sys, to.host, to.port, tr->options().max_frame, std::move(done));
      else
        tr->dial(to, tls, std::move(done));
    };
    h->monitors_.push_back(cfg.monitor);
    auto a = links_->add([&] { return spawn_sync_link(*sys_, std::move(cfg)); });
    if (!a)
      return status{errc::closed, "the node is shutting down"};
    link_set::track_exit(links_, a);
    h->links_.push_back(a);
  }
  return h;
}

result<std::shared_ptr<blaze::sync_group>> node::sync_group(std::vector<std::string> databases,
                                                             sync_group_options opts) {
  std::sort(databases.begin(), databases.end());
  databases.erase(std::unique(databases.begin(), databases.end()), databases.end());
  if (databases.empty())
    return status{errc::invalid_argument, "a sync group needs at least one database"};
  auto g = std::shared_ptr<blaze::sync_group>(new blaze::sync_group);
  g->node_ = this;
  g->sys_ = sys_.get();
  g->names_ = databases;
  g->request_timeout_ = opts_.timeout;
  g->txns_ = txns_;
  sync_group_config cfg;
  cfg.log = txns_;
  cfg.timeout = opts.txn_timeout;
  cfg.fault = std::move(opts.fault);
  for (auto& name : databases) {
    database_options o;
    o.as = opts.as;
    auto db = open_database(name, o);
    if (!db)
      return db.error();
    cfg.members.emplace(name, db->handles().db);
    g->dbs_.emplace(name, std::move(*db));
  }
  // A group read goes to the stores directly: it must not start before every
  // member has run its recovery (committing, aborting or releasing what a
  // crash left), which happens before the actor answers anything. A read of
  // a record that cannot exist is a cheap round trip.
  for (auto& [name, db] : g->dbs_)
    (void)db.get(".", record_id{});
  detail::unpin_caf_logger unpin;
  sync_group_actor actor;
  auto a = links_->add([&] {
    actor = spawn_sync_group(*sys_, std::move(cfg));
    return caf::actor_cast<caf::actor>(actor);
  });
  if (!a)
    return status{errc::closed, "the node is shutting down"};
  link_set::track_exit(links_, a);
  g->actor_ = std::move(actor);
  return g;
}

} // namespace blaze
