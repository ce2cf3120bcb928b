#include "actors/registry_actor.hpp"
#include "core/crypto/hash_chain.hpp"

#include "actors/errors.hpp"

#include <caf/actor_system.hpp>
#include <caf/blocking_actor.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <spdlog/spdlog.h>

#include <openssl/sha.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <map>
#include <set>

namespace blaze {

namespace {

struct registry_state {
  registry_config cfg;
  // Shared with the cleanup functor, which runs after the state is gone.
  std::shared_ptr<std::map<std::string, database_handles>> open =
    std::make_shared<std::map<std::string, database_handles>>();
  // Someone waiting for a database to be opened.
  struct opener {
    bool create;
    bool pin;  // an acquire (a sync session) rather than an open
    caf::typed_response_promise<database_handles> rp;
    caf::strong_actor_ptr who = nullptr;  // the acquirer: its pin ends when it does
    bool transient = false;  // the node's own open: no pin, it closes once idle
    // What a database this open creates starts with: a user's open says;
    // sync sessions join (the database is another node's until its list
    // arrives and says whose).
    new_database as = new_database::join;
  };
  // Databases an opener thread is opening (at most cfg.parallel_opens at
  // once; the rest wait in `queued`). Everyone asking meanwhile waits here;
  // a close asked meanwhile runs once the open is answered.
  struct opening {
    std::vector<opener> waiters;
    std::vector<caf::typed_response_promise<bool>> closers;
  };
  std::map<std::string, opening> opening;
  std::deque<std::string> queued;
  size_t running = 0;
  // Databases being closed: their actors were told to stop, and their store
  // (with its RocksDB lock) is released only once both are down. `close`
  // answers then, and an `open` of such a name waits for it; otherwise a
  // reopen right after a close finds the directory still locked.
  struct closing {
    size_t alive = 2;  // of the database and oplog actors
    std::vector<caf::typed_response_promise<bool>> closers;
    std::vector<opener> openers;
  };
  // Who uses each open database. Databases a user opened stay open until
  // closed; those opened only for sync sessions close once no session has
  // held them for cfg.idle_close (a relay with thousands of databases).
  struct usage {
    bool user = false;
    size_t pins = 0;
    std::chrono::steady_clock::time_point released = std::chrono::steady_clock::now();
  };
  std::map<std::string, usage> users;
  std::map<std::string, closing> closing;
  std::map<caf::actor_addr, std::string> stopping;  // actor being stopped -> its database
  // Acquirers (monitored) and the databases they pin: an acquirer that
  // ends without releasing (a link stopped while its acquire was answered)
  // releases on its down message, so no pin outlives its holder.
  std::map<caf::actor_addr, std::multiset<std::string>> held;
  std::chrono::steady_clock::time_point next_compaction;
  static inline const char* name = "blaze.registry";
};

using registry_pointer = registry_actor::stateful_pointer<registry_state>;

bool is_database_dir(const std::filesystem::path& p) {
  std::error_code ec;
  // Names starting with '.' are the node's own (.txnlog), never databases.
  return p.filename().string().rfind('.', 0) != 0 && std::filesystem::is_directory(p, ec) &&
         std::filesystem::exists(p / "CURRENT", ec);
}

void stop(const database_handles& h) {
  caf::anon_send_exit(h.db, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(h.log, caf::exit_reason::user_shutdown);
}

// Records that a database was handed to a user (pin=false) or a session.
void note_user(registry_pointer self, const std::string& name, bool pin, const caf::strong_actor_ptr& who) {
  auto& u = self->state.users[name];
  if (!pin) {
    u.user = true;
    return;
  }
  ++u.pins;
  if (!who)
    return;
  auto& mine = self->state.held[who->address()];
  if (mine.empty())
    self->monitor(caf::actor_cast<caf::actor>(who));  // a dead actor: the down message comes at once
  mine.insert(name);
}

// Ends one pin of `name`; the database may close once idle.
void unpin(registry_pointer self, const std::string& name) {
  auto u = self->state.users.find(name);
  if (u != self->state.users.end() && u->second.pins > 0) {
    --u->second.pins;
    u->second.released = std::chrono::steady_clock::now();
  }
}

// Opens `name` on a thread of its own (a detached blocking actor, so the
// actor system waits for it at shutdown); the result comes back as
// `opened_atom`. The store is released if the registry is gone by then.
void start_open(registry_pointer self, const std::string& name) {
  auto& cfg = self->state.cfg;
  ++self->state.running;
  auto registry = caf::actor_cast<registry_actor>(self);
  auto opts = cfg.store;
  // A user's open decides what a new database starts with; sessions alone
  // make it joining. (A user's open that comes after a session already
  // created it gets the joining database: an existing one keeps what it has.)
  opts.create_as = new_database::join;
  if (auto o = self->state.opening.find(name); o != self->state.opening.end())
    for (auto& w : o->second.waiters)
      if (!w.pin && w.create) {
        opts.create_as = w.as;
        break;
      }
  self->system().spawn([registry, name, dir = cfg.data_dir / name, id = replica_id(cfg.self, name), opts,
                        env = cfg.env](caf::blocking_actor*) mutable {
    opts.database_id = name;  // the chains' database identity
    auto out = std::make_shared<opened_store>();
    auto st = store::open(dir, id, opts, env);
    if (st)
      out->db = std::shared_ptr<store>(std::move(*st));
    else
      out->error = st.error();
    caf::anon_send(registry, opened_atom::value, name, std::move(out));
  });
}

// Hands `name` to `o` now, or once it is open (or closed, if closing).
void request_open(registry_pointer self, const std::string& name, registry_state::opener o) {
  auto& s = self->state;
  if (auto c = s.closing.find(name); c != s.closing.end()) {
    c->second.openers.push_back(std::move(o));  // reopened once it is closed
    return;
  }
  if (auto it = s.open->find(name); it != s.open->end()) {
    note_user(self, name, o.pin, o.who);
    if (o.transient)
      unpin(self, name);
    o.rp.deliver(it->second);
    return;
  }
  if (auto it = s.opening.find(name); it != s.opening.end()) {
    it->second.waiters.push_back(std::move(o));
    return;
  }
  if (auto v = validate_database_name(name); !v) {
    o.rp.deliver(to_error(v));
    return;
  }
  if (!o.create && !is_database_dir(s.cfg.data_dir / name)) {
    o.rp.deliver(to_error({errc::unknown_database, "no database '" + name + "' in " + s.cfg.data_dir.string()}));
    return;
  }
  s.opening[name].waiters.push_back(std::move(o));
  if (s.running < std::max<size_t>(s.cfg.parallel_opens, 1))
    start_open(self, name);
  else
    s.queued.push_back(name);
}

// Starts closing an open database; false when it is not open.
bool begin_close(registry_pointer self, const std::string& name) {
  auto& s = self->state;
  auto it = s.open->find(name);
  if (it == s.open->end())
    return false;
  auto h = it->second;
  s.open->erase(it);
  s.users.erase(name);
  s.closing[name];
  s.stopping[h.db.address()] = name;
  s.stopping[h.log.address()] = name;
  self->monitor(h.db);
  self->monitor(h.log);
  stop(h);
  return true;
}

// An opener thread finished: start the next queued open, then spawn the
// database's actors and answer everyone who waited.
void on_opened(registry_pointer self, const std::string& name, std::shared_ptr<opened_store> out) {
  auto& s = self->state;
  --s.running;
  while (!s.queued.empty() && s.running < std::max<size_t>(s.cfg.parallel_opens, 1)) {
    auto next = std::move(s.queued.front());
    s.queued.pop_front();
    start_open(self, next);
  }
  auto it = s.opening.find(name);
  if (it == s.opening.end())
    return;  // cannot happen: one open per name at a time
  auto pending = std::move(it->second);
  s.opening.erase(it);
  if (!out->db) {
    for (auto& w : pending.waiters)
      w.rp.deliver(to_error(out->error));
    for (auto& c : pending.closers)
      c.deliver(false);
    return;
  }
  database_handles h{name, spawn_database(self->system(), name, out->db, s.cfg.txns), spawn_oplog(self->system(), out->db),
                     out->db};
  s.open->emplace(name, h);
  spdlog::debug("opened database {}", name);
  for (auto& w : pending.waiters) {
    note_user(self, name, w.pin, w.who);
    if (w.transient)
      unpin(self, name);
    w.rp.deliver(h);
  }
  if (!pending.closers.empty() && begin_close(self, name))
    for (auto& c : pending.closers)
      s.closing[name].closers.push_back(c);
}

// The tick drives the idle check and periodic compaction, at the finer of
// the two cadences (none when both are off).
void schedule_tick(registry_pointer self) {
  auto& cfg = self->state.cfg;
  std::chrono::milliseconds every{0};
  if (cfg.idle_close.count() > 0)
    every = cfg.idle_close / 2;
  if (cfg.compact_interval.count() > 0 && (every.count() == 0 || cfg.compact_interval < every))
    every = cfg.compact_interval;
  if (every.count() > 0)
    self->delayed_send(self, std::max(every, std::chrono::milliseconds(100)), tick_atom::value);
}

// Asks every open database to compact its log; results are logged.
void compact_open_databases(registry_pointer self) {
  for (auto& [name, h] : *self->state.open)
    self->request(h.db, caf::infinite, compact_atom::value, std::vector<node_id>{})
      .then(
        [name = name](const compact_report& r) {
          if (r.removed > 0)
            spdlog::info("database {}: compacted {} operations ({} bytes), {} left in the log", name, r.removed,
                         r.bytes, r.kept);
        },
        [name = name](const caf::error& e) {
          spdlog::warn("database {}: automatic compaction failed: {}", name, caf::to_string(e));
        });
}

registry_actor::behavior_type registry_impl(registry_pointer self, registry_config cfg) {
  self->state.cfg = std::move(cfg);
  self->attach_functor([open = self->state.open] {
    for (auto& [name, h] : *open)
      stop(h);
  });
  // A stopped actor has destroyed its state (and so released the store)
  // before its down message is sent.
  self->set_down_handler([self](const caf::down_msg& dm) {
    auto& s = self->state;
    if (auto h = s.held.find(dm.source); h != s.held.end()) {
      auto names = std::move(h->second);
      s.held.erase(h);
      for (auto& name : names)
        unpin(self, name);
    }
    auto i = s.stopping.find(dm.source);
    if (i == s.stopping.end())
      return;
    auto name = i->second;
    s.stopping.erase(i);
    auto c = s.closing.find(name);
    if (c == s.closing.end() || --c->second.alive > 0)
      return;
    auto done = std::move(c->second);
    s.closing.erase(c);
    spdlog::debug("closed database {}", name);
    for (auto& rp : done.closers)
      rp.deliver(true);
    for (auto& o : done.openers)
      request_open(self, name, std::move(o));
  });
  self->state.next_compaction = std::chrono::steady_clock::now() + self->state.cfg.compact_interval;
  schedule_tick(self);
  return {
    [self](open_atom, const std::string& name, bool create, new_database as) {
      auto rp = self->make_response_promise<database_handles>();
      registry_state::opener o{create, false, rp};
      o.as = as;
      request_open(self, name, std::move(o));
      return rp;
    },
    [self](acquire_atom, const std::string& name, bool create) {
      auto who = self->current_sender();  // before the promise takes it over
      auto rp = self->make_response_promise<database_handles>();
      request_open(self, name, {create, true, rp, std::move(who)});
      return rp;
    },
    [self](open_atom, const std::string& name) {
      registry_state::opener o{false, true, self->make_response_promise<database_handles>()};
      o.transient = true;  // pinned and unpinned at once: idle from now on
      request_open(self, name, std::move(o));
    },
    [self](release_atom, const std::string& name) {
      // Only a pin the sender holds: its down message releases the rest.
      auto who = self->current_sender();
      auto h = who ? self->state.held.find(who->address()) : self->state.held.end();
      if (h == self->state.held.end())
        return;
      auto it = h->second.find(name);
      if (it == h->second.end())
        return;
      h->second.erase(it);
      unpin(self, name);
    },
    [self](tick_atom) {
      auto now = std::chrono::steady_clock::now();
      std::vector<std::string> idle;
      for (auto& [name, u] : self->state.users)
        if (self->state.cfg.idle_close.count() > 0 && !u.user && u.pins == 0 &&
            now - u.released >= self->state.cfg.idle_close)
          idle.push_back(name);
      for (auto& name : idle) {
        spdlog::debug("closing idle database {}", name);
        begin_close(self, name);
      }
      auto& s = self->state;
      if (s.cfg.compact_interval.count() > 0 && now >= s.next_compaction) {
        s.next_compaction = now + s.cfg.compact_interval;
        compact_open_databases(self);
      }
      schedule_tick(self);
    },
    [self](opened_atom, const std::string& name, std::shared_ptr<opened_store> out) {
      on_opened(self, name, std::move(out));
    },
    [self](list_atom, open_atom) {
      std::vector<std::string> names;
      for (auto& [name, h] : *self->state.open)
        names.push_back(name);
      return names;
    },
    [self](list_atom) {
      std::vector<std::string> names;
      std::error_code ec;
      for (auto& e : std::filesystem::directory_iterator(self->state.cfg.data_dir, ec))
        if (is_database_dir(e.path()))
          names.push_back(e.path().filename().string());
      std::sort(names.begin(), names.end());
      return names;
    },
    [self](close_atom, const std::string& name) {
      auto rp = self->make_response_promise<bool>();
      auto& s = self->state;
      if (auto c = s.closing.find(name); c != s.closing.end()) {
        c->second.closers.push_back(rp);
        return rp;
      }
      if (auto o = s.opening.find(name); o != s.opening.end()) {
        o->second.closers.push_back(rp);  // closed once the open is answered
        return rp;
      }
      if (!begin_close(self, name)) {
        rp.deliver(false);
        return rp;
      }
      s.closing[name].closers.push_back(rp);
      return rp;
    },
  };
}

} // namespace

node_id replica_id(const node_id& node, const std::string& database) {
  return crypto::replica_of(node, database);
}

status validate_database_name(const std::string& name) {
  if (name.empty() || name.size() > 128)
    return {errc::invalid_argument, "database name must be 1 to 128 characters"};
  if (name[0] == '.')
    return {errc::invalid_argument, "database name '" + name + "' must not start with '.'"};
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.'))
      return {errc::invalid_argument, "database name '" + name + "' may only use letters, digits, '_', '-' and '.'"};
  return {};
}

registry_actor spawn_registry(caf::actor_system& sys, registry_config cfg) {
  return sys.spawn(registry_impl, std::move(cfg));
}

} // namespace blaze
