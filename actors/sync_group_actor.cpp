#include "actors/sync_group_actor.hpp"

#include "actors/errors.hpp"
#include "storage/txn_log.hpp"

#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <openssl/rand.h>
#include <spdlog/spdlog.h>

#include <random>
#include <unordered_map>

namespace blaze {

namespace {

// One running transaction.
struct txn_context {
  txn_coordinator co;
  txn_tag tag;  // carried by every operation: (database, writes) per part
  txn_writes ws;
  caf::typed_response_promise<txn_outcome> rp;
  // The commit phase in the visibility gate: its ticket (0: not a writer),
  // and the commit actions waiting for the gate to admit it.
  visibility_gate::ticket gate_ticket = 0;
  std::vector<txn_coordinator::action> admitted_next{};
};
using txn_ptr = std::shared_ptr<txn_context>;

struct sync_group_state {
  sync_group_config cfg;
  std::unordered_map<txn_id, txn_ptr, id128_hash> running;
  static inline const char* name = "blaze.sync_group";
  // Transactions cut short by the actor's end decide nothing: their
  // participants stop waiting and abort (presumed abort).
  ~sync_group_state() {
    if (cfg.log)
      for (auto& [id, t] : running) {
        cfg.log->end(id);
        if (t->gate_ticket != 0)
          cfg.log->gate().leave(t->gate_ticket);
      }
  }
};

using group_pointer = sync_group_actor::stateful_pointer<sync_group_state>;

txn_id new_txn_id() {
  unsigned char b[16];
  if (RAND_bytes(b, sizeof(b)) == 1)
    return id128::from_bytes(b);
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return {rng(), rng()};
}

void fault(group_pointer self, txn_point p, const std::string& db) {
  if (self->state.cfg.fault)
    self->state.cfg.fault(p, db);
}

void run(group_pointer self, const txn_ptr& t, std::vector<txn_coordinator::action> acts) {
  auto& cfg = self->state.cfg;
  const auto id = t->co.id();
  for (auto& a : acts) {
    using k = txn_coordinator::action::kind;
    switch (a.k) {
      case k::prepare: {
        auto db = cfg.members.at(a.database);
        fault(self, txn_point::before_prepare, a.database);
        self->request(db, cfg.timeout, prepare_atom::value, id, t->tag, t->ws[a.database])
          .then(
            [self, t, name = a.database](uint32_t n) {
              fault(self, txn_point::after_prepare, name);
              run(self, t, t->co.on_vote(name, n));
            },
            [self, t, name = a.database](caf::error& e) { run(self, t, t->co.on_vote(name, to_status(e))); });
        break;
      }
      case k::log_commit: {
        auto st = cfg.log ? cfg.log->log_commit(id, t->co.participants())
                          : status{errc::invalid_argument, "this group has no decision log"};
        if (st)
          fault(self, txn_point::after_decision, {});
        auto next = t->co.on_logged(st);
        if (st && t->co.participants().size() > 1) {
          // The commit phase applies the parts one database after the
          // other: group reads must not take their read points meanwhile.
          auto& gate = cfg.log->gate();
          t->gate_ticket = gate.make_ticket();
          auto me = caf::actor_cast<sync_group_actor>(self);
          if (!gate.enter(t->gate_ticket, [me, id] { caf::anon_send(me, decide_atom::value, id); })) {
            t->admitted_next = std::move(next);  // run when admitted (decide_atom)
            break;
          }
        }
        run(self, t, std::move(next));
        break;
      }
      case k::commit: {
        auto db = cfg.members.at(a.database);
        self->request(db, cfg.timeout, decide_atom::value, id, true)
          .then(
            [self, t, name = a.database](bool) {
              fault(self, txn_point::after_commit, name);
              run(self, t, t->co.on_committed(name, {}));
            },
            [self, t, name = a.database](caf::error& e) {
              // The database commits when it finds the logged decision.
              spdlog::warn("transaction {}: database {} did not confirm its commit: {}", t->co.id().to_hex(), name,
                           to_status(e).message);
              run(self, t, t->co.on_committed(name, to_status(e)));
            });
        break;
      }
      case k::abort:
        caf::anon_send(cfg.members.at(a.database), decide_atom::value, id, false);
        break;
      case k::finish:
        if (cfg.log) {
          cfg.log->end(id);
          if (t->gate_ticket != 0)
            cfg.log->gate().leave(t->gate_ticket);
          t->gate_ticket = 0;
        }
        self->state.running.erase(id);
        if (a.result)
          t->rp.deliver(txn_outcome{id, t->co.parts()});
        else
          t->rp.deliver(to_error(a.result));
        break;
    }
  }
}

sync_group_actor::behavior_type group_impl(group_pointer self, sync_group_config cfg) {
  self->state.cfg = std::move(cfg);
  return {
    [self](transact_atom, txn_writes& ws) -> caf::typed_response_promise<txn_outcome> {
      auto rp = self->make_response_promise<txn_outcome>();
      auto& members = self->state.cfg.members;
      std::vector<std::string> dbs;
      for (auto it = ws.begin(); it != ws.end();) {
        if (!members.count(it->first)) {
          std::string names;
          for (auto& [n, h] : members)
            names += (names.empty() ? "" : ", ") + n;
          rp.deliver(to_error({errc::invalid_argument, "transaction aborted: database '" + it->first +
                                                         "' is not in this sync group (" + names + ")"}));
          return rp;
        }
        if (it->second.empty()) {
          it = ws.erase(it);
          continue;
        }
        dbs.push_back(it->first);
        ++it;
      }
      auto id = new_txn_id();
      txn_tag tag{id, {}};
      for (auto& [name, w] : ws)  // one operation per write (make_operation)
        tag.parts.push_back({name, static_cast<uint32_t>(w.size())});
      auto t = std::make_shared<txn_context>(txn_context{txn_coordinator(id, dbs), std::move(tag), std::move(ws), rp, 0, {}});
      self->state.running.emplace(t->co.id(), t);
      if (self->state.cfg.log)
        self->state.cfg.log->begin(t->co.id());  // participants wait for our decision
      run(self, t, t->co.start());
      return rp;
    },
    [self](decide_atom, const txn_id& id) {
      auto it = self->state.running.find(id);
      if (it == self->state.running.end())
        return;
      auto t = it->second;
      run(self, t, std::move(t->admitted_next));
    },
  };
}

} // namespace

sync_group_actor spawn_sync_group(caf::actor_system& sys, sync_group_config cfg) {
  return sys.spawn(group_impl, std::move(cfg));
}

} // namespace blaze
