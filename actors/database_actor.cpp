#include "actors/database_actor.hpp"

#include "actors/errors.hpp"
#include "storage/txn_log.hpp"

#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <spdlog/spdlog.h>

#include <chrono>
#include <deque>
#include <span>
#include <map>
#include <optional>

namespace blaze {

namespace {

uint64_t now_ms() {
  using namespace std::chrono;
  return static_cast<uint64_t>(duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count());
}

struct database_state {
  std::string db_name;
  std::shared_ptr<store> st;

  struct waiting {
    writes batch;
    caf::typed_response_promise<write_outcomes> promise;
    access_builder build{};  // set: `batch` is built at its turn (access_atom)
  };
  std::vector<waiting> pending;  // writes gathered since the last flush
  bool flush_scheduled = false;

  struct subscriber {
    caf::actor who;
    std::string collection;  // empty: all
  };
  std::vector<subscriber> subscribers;
  std::vector<caf::actor> watchers;  // told (committed_atom) after each commit
  bool rotating = false;  // a rotation of a worn content key is under way (rotate_when_worn)

  // Cross-database transactions (participant). While `txn` is set its
  // operations hold this replica's next sequence numbers: local writes stay
  // in `pending` and other prepares in `txn_queue` until it is decided.
  std::shared_ptr<txn_log> txns;
  std::optional<txn_id> txn;
  struct queued_prepare {
    txn_id id;
    txn_tag tag;
    writes ws;
    caf::typed_response_promise<uint32_t> rp;
  };
  std::deque<queued_prepare> txn_queue;

  static inline const char* name = "blaze.database";
};

using database_pointer = database_actor::stateful_pointer<database_state>;

void publish(database_pointer self, changes& cs) {
  for (auto& c : cs)
    for (auto& s : self->state.subscribers)
      if (s.collection.empty() || s.collection == c.collection)
        caf::anon_send(s.who, change_atom::value, c);
}

void notify_watchers(database_pointer self) {
  for (auto& w : self->state.watchers)
    caf::anon_send(w, committed_atom::value);
}

void txn_report_held(database_pointer self, const std::map<txn_id, txn_tag>& tags);

// On the owner's node, a content key that sealed its budget of operations
// (store::key_worn) is rotated, as database::rotate does: one rotation at a
// time, queued behind the writes before it.
void rotate_when_worn(database_pointer self) {
  auto& s = self->state;
  if (s.rotating || !s.st->key_worn())
    return;
  s.rotating = true;
  spdlog::info("database {}: the content key sealed its budget of operations: rotating it", s.db_name);
  auto me = caf::actor_cast<database_actor>(self);
  access_builder rotate = [](const access_list& list, const keyring&) { return access::rotate(list); };
  self->request(me, caf::infinite, access_atom::value, std::move(rotate))
    .then(
      [self](write_outcomes& out) {
        self->state.rotating = false;
        for (auto& o : out)
          if (!o.st)
            spdlog::warn("database {}: rotating a worn content key failed: {}", self->state.db_name, o.st.message);
      },
      [self](caf::error& e) {
        self->state.rotating = false;
        spdlog::warn("database {}: rotating a worn content key failed: {}", self->state.db_name, caf::to_string(e));
      });
}

apply_report apply(database_pointer self, operations& ops, const coverage_set* cov,
                   std::vector<std::string>* encoded = nullptr) {
  // Operations of remote transactions are held aside by the store: which
  // transactions this batch brings parts of.
  std::map<txn_id, txn_tag> tags;
  for (auto& op : ops)
    if (!op.txn.empty() && !tags.count(op.txn.id))
      tags.emplace(op.txn.id, op.txn);
  changes cs;
  auto* sink = self->state.subscribers.empty() ? nullptr : &cs;
  auto rep = encoded && encoded->size() == ops.size()
               ? self->state.st->apply_remote(std::move(ops), std::move(*encoded), now_ms(), sink, cov)
               : self->state.st->apply_remote(std::move(ops), now_ms(), sink, cov);
  for (auto& [d, why] : rep.refused)
    spdlog::warn("database {}: refused operation {}:{}: {}", self->state.db_name, d.origin.to_hex(), d.seq,
                 why.message);
  publish(self, cs);
  if (rep.applied > 0 || cov)
    notify_watchers(self);
  if (!tags.empty() && rep.applied > 0)
    txn_report_held(self, tags);
  if (rep.applied > 0)
    rotate_when_worn(self);
  return rep;
}

// Stages received snapshot chunks; joins a finished snapshot.
caf::result<bool> merge(database_pointer self, snapshot_parts& parts) {
  auto& st = *self->state.st;
  for (auto& p : parts) {
    if (auto s = st.stage_snapshot(p.peer, p.point, p.entries, p.indexes); !s)
      return to_error(s);
    if (!p.finish)
      continue;
    changes cs;
    auto r = st.merge_snapshot(p.peer, p.point, now_ms(), p.collections,
                               self->state.subscribers.empty() ? nullptr : &cs, p.heads);
    if (!r) {
      spdlog::warn("database {}: refused a snapshot from {}: {}", self->state.db_name, p.peer.to_hex(),
                   r.error().message);
      return to_error(r.error());
    }
    spdlog::info("database {}: joined a snapshot from {}: {} records ({} changed)", self->state.db_name,
                 p.peer.to_hex(), r->records, r->changed);
    publish(self, cs);
    notify_watchers(self);
  }
  return true;
}

// Commits every write gathered since the last flush in one WriteBatch and
// answers each request with its own outcomes.
void commit_writes(database_pointer self, std::span<database_state::waiting> batch, changes& cs);

void flush(database_pointer self) {
  auto& s = self->state;
  s.flush_scheduled = false;
  if (s.pending.empty() || s.txn)
    return;  // while a transaction is prepared, writes wait (txn_release flushes them)
  std::vector<database_state::waiting> batch;
  batch.swap(s.pending);
  changes cs;
  // One commit per run of plain writes; an access change commits alone,
  // built from the list the commits before it left.
  for (size_t from = 0, to = 0; from < batch.size(); from = to) {
    to = from + 1;
    if (auto& build = batch[from].build) {
      auto ws = s.st->access_writes(build);
      if (!ws) {
        batch[from].promise.deliver(to_error(ws.error()));
        continue;
      }
      batch[from].batch = std::move(*ws);
    } else {
      while (to < batch.size() && !batch[to].build)
        ++to;
    }
    commit_writes(self, std::span(batch).subspan(from, to - from), cs);
  }
  publish(self, cs);
  notify_watchers(self);
  rotate_when_worn(self);
}

void commit_writes(database_pointer self, std::span<database_state::waiting> batch, changes& cs) {
  auto& s = self->state;
  writes all;
  for (auto& w : batch)
    all.insert(all.end(), std::make_move_iterator(w.batch.begin()), std::make_move_iterator(w.batch.end()));
  auto results = s.st->write_local(all, now_ms(), s.subscribers.empty() ? nullptr : &cs);
  size_t i = 0;
  for (auto& w : batch) {
    write_outcomes out;
    out.reserve(w.batch.size());
    for (size_t n = 0; n < w.batch.size(); ++n, ++i) {
      auto& r = results[i];
      if (r)
        out.push_back({status{}, r->id, r->record});
      else
        out.push_back({r.error(), dot{}, all[i].record});
      if (!r && r.error().code == errc::io_error)
        spdlog::error("database {}: {}", s.db_name, r.error().message);
    }
    w.promise.deliver(std::move(out));
  }
}

// ---- cross-database transactions (participant) -------------------------------

// How long a prepared transaction waits for its decision before this
// database looks it up in the decision log (and again after that).
constexpr auto txn_check_interval = std::chrono::seconds(2);

void txn_prepare(database_pointer self, const txn_id& id, const txn_tag& tag, writes& ws,
                 caf::typed_response_promise<uint32_t> rp);

// The prepared transaction is decided: the next queued prepare runs, or
// else the local writes that waited are committed.
void txn_release(database_pointer self) {
  auto& s = self->state;
  s.txn.reset();
  if (!s.txn_queue.empty()) {
    auto next = std::move(s.txn_queue.front());
    s.txn_queue.pop_front();
    txn_prepare(self, next.id, next.tag, next.ws, std::move(next.rp));
    return;
  }
  flush(self);
}

void txn_prepare(database_pointer self, const txn_id& id, const txn_tag& tag, writes& ws,
                 caf::typed_response_promise<uint32_t> rp) {
  auto& s = self->state;
  flush(self);  // writes gathered before the prepare take their sequence numbers first
  auto ops = s.st->prepare_txn(id, ws, now_ms(), tag);
  if (!ops) {
    rp.deliver(to_error(ops.error()));
    if (!s.txn_queue.empty())
      txn_release(self);
    return;
  }
  s.txn = id;
  self->delayed_send(self, txn_check_interval, txn_check_atom::value, id);
  rp.deliver(static_cast<uint32_t>(ops->size()));
}

// Applies or drops the prepared transaction `id` (the one held now).
status txn_decide(database_pointer self, const txn_id& id, bool commit) {
  auto& s = self->state;
  if (commit) {
    changes cs;
    auto r = s.st->commit_txn(id, s.subscribers.empty() ? nullptr : &cs);
    if (!r) {
      spdlog::error("database {}: cannot commit transaction {}: {}", s.db_name, id.to_hex(), r.error().message);
      return r.error();  // still prepared: the check retries
    }
    if (s.txns)
      if (auto f = s.txns->finish(id, s.db_name); !f)
        spdlog::warn("database {}: {}", s.db_name, f.message);
    publish(self, cs);
    notify_watchers(self);
  } else if (auto r = s.st->abort_txn(id); !r) {
    spdlog::error("database {}: cannot abort transaction {}: {}", s.db_name, id.to_hex(), r.error().message);
    return r.error();
  }
  return {};
}

// A prepared transaction whose decision is not known here: the log decides
// (core/transaction.hpp, resolve_prepared). true when it was resolved.
bool txn_resolve(database_pointer self, const txn_id& id) {
  auto& s = self->state;
  auto logged = s.txns ? s.txns->committed(id) : result<bool>(false);
  if (!logged) {
    spdlog::error("database {}: transaction {}: {}", s.db_name, id.to_hex(), logged.error().message);
    return false;
  }
  bool flying = s.txns && s.txns->in_flight(id);
  switch (resolve_prepared(*logged, flying)) {
    case txn_resolution::wait:
      return false;
    case txn_resolution::commit:
      spdlog::info("database {}: recovering transaction {}: committed", s.db_name, id.to_hex());
      return txn_decide(self, id, true).ok();
    case txn_resolution::abort:
      spdlog::info("database {}: recovering transaction {}: aborted (no decision)", s.db_name, id.to_hex());
      return txn_decide(self, id, false).ok();
  }
  return false;
}

// ---- remote transactions: held until complete (atomic remote visibility) ------

// Makes the held operations of remote transaction `id` visible.
void txn_release_held(database_pointer self, const txn_id& id) {
  auto& s = self->state;
  changes cs;
  auto n = s.st->release_txn(id, s.subscribers.empty() ? nullptr : &cs);
  if (s.txns)
    s.txns->released(id, s.db_name);  // this part is applied: group reads may go on (visibility_gate)
  if (!n) {
    spdlog::error("database {}: cannot release transaction {}: {}", s.db_name, id.to_hex(), n.error().message);
    return;  // held still: released again at the next open
  }
  if (s.txns)
    if (auto f = s.txns->finish_release(id, s.db_name); !f)
      spdlog::warn("database {}: {}", s.db_name, f.message);
  publish(self, cs);
  if (*n > 0)
    notify_watchers(self);
}

// Tells the node's log how much of each transaction this database holds;
// releases those that are complete here.
void txn_report_held(database_pointer self, const std::map<txn_id, txn_tag>& tags) {
  auto& s = self->state;
  auto held = s.st->held_txns();
  if (!held) {
    spdlog::error("database {}: {}", s.db_name, held.error().message);
    return;
  }
  for (auto& [tag, count] : *held) {
    if (!tags.count(tag.id))
      continue;
    auto now = s.txns ? s.txns->report(tag, s.db_name, count) : result<bool>(true);
    if (!now)
      spdlog::error("database {}: transaction {}: {}", s.db_name, tag.id.to_hex(), now.error().message);
    else if (*now)
      txn_release_held(self, tag.id);
  }
}

// At start: every transaction the store holds prepared is resolved, or held
// (its coordinator still runs: the database was closed and reopened).
void txn_recover(database_pointer self) {
  auto& s = self->state;
  auto ids = s.st->prepared_txns();
  if (!ids) {
    spdlog::error("database {}: {}", s.db_name, ids.error().message);
    return;
  }
  for (auto& id : *ids) {
    if (txn_resolve(self, id))
      continue;
    if (s.txn) {
      spdlog::error("database {}: two prepared transactions ({} and {}); the second waits", s.db_name,
                    s.txn->to_hex(), id.to_hex());
      continue;
    }
    s.txn = id;
    self->delayed_send(self, txn_check_interval, txn_check_atom::value, id);
  }
  // Held parts of remote transactions: released when the release is logged,
  // else reported (the other parts may be held already).
  if (auto held = s.st->held_txns(); !held) {
    spdlog::error("database {}: {}", s.db_name, held.error().message);
  } else {
    std::map<txn_id, txn_tag> tags;
    for (auto& [tag, count] : *held) {
      auto logged = s.txns ? s.txns->release_logged(tag.id) : result<bool>(true);
      if (logged && *logged)
        txn_release_held(self, tag.id);
      else
        tags.emplace(tag.id, tag);
    }
    if (!tags.empty())
      txn_report_held(self, tags);
  }
  // Decisions still awaiting this database whose prepare record is gone:
  // it committed them and crashed before crossing itself off.
  if (!s.txns)
    return;
  auto pending = s.txns->pending();
  if (!pending) {
    spdlog::error("database {}: {}", s.db_name, pending.error().message);
    return;
  }
  for (auto& [id, rest] : *pending)
    if (std::find(rest.begin(), rest.end(), s.db_name) != rest.end() &&
        std::find(ids->begin(), ids->end(), id) == ids->end())
      if (auto f = s.txns->finish(id, s.db_name); !f)
        spdlog::warn("database {}: {}", s.db_name, f.message);
}

database_actor::behavior_type database_impl(database_pointer self, std::string name,
                                            std::shared_ptr<store> st, std::shared_ptr<txn_log> txns) {
  self->state.db_name = std::move(name);
  self->state.st = std::move(st);
  self->state.txns = std::move(txns);
  if (auto& log = self->state.txns) {
    auto me = caf::actor_cast<database_actor>(self);
    log->attach(self->state.db_name, self->id(),
                [me](const txn_id& id) { caf::anon_send(me, release_txn_atom::value, id); });
    self->attach_functor([log, name = self->state.db_name, owner = self->id()] { log->detach(name, owner); });
  }
  txn_recover(self);
  self->set_down_handler([self](const caf::down_msg& dm) {
    auto& subs = self->state.subscribers;
    subs.erase(std::remove_if(subs.begin(), subs.end(),
                              [&](auto& s) { return s.who.address() == dm.source; }),
               subs.end());
    auto& ws = self->state.watchers;
    ws.erase(std::remove_if(ws.begin(), ws.end(), [&](auto& w) { return w.address() == dm.source; }), ws.end());
  });
  return {
    [self](write_atom, writes& ws) -> caf::typed_response_promise<write_outcomes> {
      auto rp = self->make_response_promise<write_outcomes>();
      self->state.pending.push_back({std::move(ws), rp});
      if (!self->state.flush_scheduled) {
        if (self->mailbox().empty()) {
          // Nothing else arrived together: commit now, saving a round trip.
          flush(self);
        } else {
          // Queued behind every request already in the mailbox: those join this batch.
          self->state.flush_scheduled = true;
          self->send(self, flush_atom::value);
        }
      }
      return rp;
    },
    [self](access_atom, access_builder& build) -> caf::typed_response_promise<write_outcomes> {
      auto rp = self->make_response_promise<write_outcomes>();
      self->state.pending.push_back({{}, rp, std::move(build)});
      if (!self->state.flush_scheduled) {
        self->state.flush_scheduled = true;
        self->send(self, flush_atom::value);
      }
      return rp;
    },
    [self](flush_atom) { flush(self); },
    [self](get_atom, const std::string& collection, const record_id& id) -> caf::result<value_map> {
      auto r = self->state.st->get(collection, id);
      if (!r)
        return to_error(r.error());
      return std::move(*r);
    },
    [self](query_atom, const query& q) -> caf::result<query_result> {
      query_result out;
      auto r = self->state.st->run(q, &out.stats);
      if (!r)
        return to_error(r.error());
      out.rows = std::move(*r);
      return out;
    },
    [self](apply_atom, operations& ops) -> apply_report { return apply(self, ops, nullptr); },
    [self](apply_atom, operations& ops, const coverage_set& cov) -> apply_report {
      return apply(self, ops, &cov);
    },
    [self](apply_atom, operations& ops, std::vector<std::string>& encoded, const coverage_set& cov) -> apply_report {
      return apply(self, ops, cov.ranges.empty() && cov.heads.empty() ? nullptr : &cov, &encoded);
    },
    [self](merge_atom, snapshot_parts& parts) -> caf::result<bool> { return merge(self, parts); },
    [self](peer_ack_atom, const node_id& peer, const version_vector& acked) {
      if (auto s = self->state.st->record_ack(peer, acked); !s)
        spdlog::warn("database {}: {}", self->state.db_name, s.message);
    },
    [self](compact_atom, const std::vector<node_id>& forget) -> caf::result<compact_report> {
      for (auto& peer : forget)
        if (auto s = self->state.st->forget_peer(peer); !s)
          return to_error(s);
      auto r = self->state.st->compact_known();
      if (!r)
        return to_error(r.error());
      if (r->removed > 0)
        notify_watchers(self);  // links check whether a peer now needs a snapshot
      return std::move(*r);
    },
    [self](watch_atom, const caf::actor& who) {
      self->monitor(who);
      self->state.watchers.push_back(who);
      // Told at once too: a commit made between the watcher's last look at
      // the store and this registration would otherwise reach it only with
      // the next commit (a sync link would sit on data it holds).
      caf::anon_send(who, committed_atom::value);
    },
    [self](subscribe_atom, const caf::actor& who, const std::string& collection) {
      self->monitor(who);
      self->state.subscribers.push_back({who, collection});
      return true;
    },
    [self](unsubscribe_atom, const caf::actor& who) {
      auto& subs = self->state.subscribers;
      subs.erase(std::remove_if(subs.begin(), subs.end(), [&](auto& s) { return s.who == who; }), subs.end());
      auto& ws = self->state.watchers;
      ws.erase(std::remove(ws.begin(), ws.end(), who), ws.end());
      self->demonitor(who);
    },
    [self](conflicts_atom) -> caf::result<conflicts> {
      auto r = self->state.st->conflicts();
      if (!r)
        return to_error(r.error());
      return std::move(*r);
    },
    [self](clear_atom, const std::string& collection, const std::string& id_hex) -> caf::result<bool> {
      if (id_hex.empty()) {
        auto cols = self->state.st->collections();
        if (!cols)
          return to_error(cols.error());
        for (auto& c : *cols)
          if (collection.empty() || c == collection)
            if (auto s = self->state.st->clear_conflicts(c, nullptr); !s)
              return to_error(s);
        return true;
      }
      auto id = record_id::from_hex(id_hex);
      if (!id)
        return to_error({errc::invalid_argument, "record id '" + id_hex + "' is not 32 hex digits"});
      if (auto s = self->state.st->clear_conflicts(collection, &*id); !s)
        return to_error(s);
      return true;
    },
    [self](status_atom) -> caf::result<database_status> {
      auto& st = *self->state.st;
      database_status out;
      out.name = self->state.db_name;
      out.self = st.self();
      out.versions = st.versions();
      out.clock = st.clock();
      out.operations = out.versions.total();
      auto n = st.count_records();
      if (!n)
        return to_error(n.error());
      out.records = *n;
      auto cs = st.conflicts();
      if (!cs)
        return to_error(cs.error());
      out.conflicts = cs->size();
      for (auto& [k, is] : st.indexes())
        if (is.active())
          out.indexes.push_back(k);
      auto cols = st.collections();
      if (!cols)
        return to_error(cols.error());
      out.collections = std::move(*cols);
      out.durability = st.mode() == durability::sync ? "sync" : "buffered";
      out.refused_batches = st.security().refused_batches;
      out.equivocations = st.security().equivocations;
      out.unopened = st.security().unopened;
      if (auto list = st.access(); list && !list->empty())
        out.access = list->is_sealed() ? "sealed" : "plaintext";
      else if (st.awaiting_access())
        out.access = "joining";
      out.key_epochs = st.key_epochs();
      return out;
    },
    [self](durable_atom, bool sync) -> caf::result<bool> {
      if (auto s = self->state.st->set_durability(sync ? durability::sync : durability::buffered); !s)
        return to_error(s);
      return true;
    },
    [self](prepare_atom, const txn_id& id, const txn_tag& tag, writes& ws) -> caf::typed_response_promise<uint32_t> {
      auto rp = self->make_response_promise<uint32_t>();
      auto& s = self->state;
      if (s.txn || !s.txn_queue.empty())
        s.txn_queue.push_back({id, tag, std::move(ws), rp});  // serialized: its turn comes at txn_release
      else
        txn_prepare(self, id, tag, ws, rp);
      return rp;
    },
    [self](release_txn_atom, const txn_id& id) { txn_release_held(self, id); },
    [self](resolve_atom, const std::string& collection, const record_id& id, const std::string& field,
           value& chosen) -> caf::typed_response_promise<uint64_t> {
      // The write goes through the ordinary write path (group commit, a
      // prepared transaction's turn); the conflicts are forgotten once it committed.
      auto rp = self->make_response_promise<uint64_t>();
      blaze::write w;
      w.k = write::kind::set;
      w.collection = collection;
      w.record = id;
      w.field = field;
      w.val = std::move(chosen);
      writes ws;
      ws.push_back(std::move(w));
      auto me = caf::actor_cast<database_actor>(self);
      self->request(me, caf::infinite, write_atom::value, std::move(ws))
        .then([self, rp, collection, id, field](write_outcomes& out) mutable {
          if (out.empty() || !out[0].st) {
            rp.deliver(to_error(out.empty() ? status{errc::io_error, "no outcome"} : out[0].st));
            return;
          }
          auto n = self->state.st->clear_field_conflicts(collection, id, field);
          if (!n)
            rp.deliver(to_error(n.error()));
          else
            rp.deliver(static_cast<uint64_t>(*n));
        },
        [rp](caf::error& e) mutable { rp.deliver(std::move(e)); });
      return rp;
    },
    [self](decide_atom, const txn_id& id, bool commit) -> caf::result<bool> {
      auto& s = self->state;
      if (s.txn && *s.txn == id) {
        if (auto st = txn_decide(self, id, commit); !st)
          return to_error(st);
        txn_release(self);
        return true;
      }
      // Not prepared yet (waiting its turn): an abort drops it.
      auto q = std::find_if(s.txn_queue.begin(), s.txn_queue.end(), [&](auto& x) { return x.id == id; });
      if (q != s.txn_queue.end()) {
        q->rp.deliver(to_error({errc::timeout, "transaction " + id.to_hex() + " was aborted while it waited"}));
        s.txn_queue.erase(q);
        return true;
      }
      return false;
    },
    [self](txn_check_atom, const txn_id& id) {
      auto& s = self->state;
      if (!s.txn || *s.txn != id)
        return;  // decided meanwhile
      if (txn_resolve(self, id))
        txn_release(self);
      else
        self->delayed_send(self, txn_check_interval, txn_check_atom::value, id);
    },
  };
}

} // namespace

database_actor spawn_database(caf::actor_system& sys, std::string name, std::shared_ptr<store> st,
                              std::shared_ptr<txn_log> txns) {
  return sys.spawn(database_impl, std::move(name), std::move(st), std::move(txns));
}

} // namespace blaze
