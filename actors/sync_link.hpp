// The `sync_link` actor: one peer link of one database (DESIGN §6-7). A thin
// shell around core's sync::session: frames from the transport go through
// the machine; remote operations are applied through the database actor
// (acknowledged only after they are committed); local commits are pushed.
// An initiating link redials with exponential backoff until stopped; an
// accepting link serves one connection and then stops.
#pragma once

#include "actors/connection.hpp"
#include "actors/registry_actor.hpp"
#include "core/sync_session.hpp"

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace blaze {

/// A link's state as its handle reports it.
struct link_status {
  std::string database;
  std::string address;     // the transport's description of the peer
  node_id peer;            // after the handshake
  std::string peer_key;    // the peer's Ed25519 node key (32 bytes), proven in the handshake
  bool channel_bound = false;  // the handshake's proofs cover this TLS connection (docs/protocol.md §3)
  bool connected = false;  // a transport connection is up
  bool open = false;       // the handshake completed
  bool synced = false;     // both sides caught up, nothing unacknowledged
  bool paused = false;
  /// What the peer holds of this database, as far as this side knows (its
  /// acknowledgements and reports): wait_synced compares it with the
  /// versions the database had when the wait began.
  version_vector peer_holds{};
  uint64_t behind = 0;     // operations the peer reported that we lack
  uint64_t unacked = 0;    // our operations the peer has not acknowledged
  uint64_t received = 0;   // remote operations applied (cumulative)
  uint64_t sent = 0;       // operations sent (cumulative)
  uint64_t connects = 0;   // connections made (cumulative)
  std::string last_error;  // the last Error sent or received, or why the connection failed
};

/// Initial-sync progress, for progress bars.
struct sync_progress {
  std::string database;
  uint64_t received = 0;  // operations applied since the link opened
  uint64_t expected = 0;  // what the peer reported having that we lacked
  bool caught_up = false;
};

/// Shared between a link actor (writer) and its handles (readers); thread-safe.
class link_monitor {
public:
  link_status get() const {
    std::lock_guard<std::mutex> g(m_);
    return st_;
  }
  template <class F> void update(F&& f) {
    {
      std::lock_guard<std::mutex> g(m_);
      f(st_);
    }
    cv_.notify_all();
  }
  /// Waits until `pred(status)` holds; false on timeout.
  template <class P> bool wait(P pred, std::chrono::milliseconds timeout) const {
    std::unique_lock<std::mutex> g(m_);
    return cv_.wait_for(g, timeout, [&] { return pred(st_); });
  }
  /// Called on the link actor's thread while an initial sync runs.
  std::function<void(const sync_progress&)> on_progress;

  /// The database this link syncs, once the link has it (set by the link
  /// actor; read by sync_handle::wait_synced on any thread).
  void set_store(std::weak_ptr<const store> st) {
    std::lock_guard<std::mutex> g(m_);
    store_ = std::move(st);
  }
  /// The database's versions now (empty before the link has it).
  version_vector local_versions() const {
    std::shared_ptr<const store> st;
    {
      std::lock_guard<std::mutex> g(m_);
      st = store_.lock();
    }
    return st ? st->versions() : version_vector{};
  }

private:
  std::weak_ptr<const store> store_;
  mutable std::mutex m_;
  mutable std::condition_variable cv_;
  link_status st_;
};

struct sync_link_config {
  registry_actor registry;
  node_id self;
  /// Initiator: the database to sync (created when missing). Responder: empty
  /// (the peer's Hello names it).
  std::string database;
  /// Initiator: the collections to sync (empty: all; `_access` is added to
  /// any other filter).
  std::vector<std::string> collections;
  /// Batch size, window, compression, ping and idle timeout.
  sync::session_options proto;
  sync::wire_limits wire;
  /// Responder: create a database the peer names when it does not exist.
  bool create_databases = true;
  /// Initiator: opens a new connection (the result may arrive on any thread).
  std::function<void(std::function<void(result<connection_ptr>)>)> dial;
  /// Responder: the accepted connection.
  connection_ptr accepted;
  std::chrono::milliseconds min_backoff{100};
  std::chrono::milliseconds max_backoff{30'000};
  std::chrono::milliseconds request_timeout{30'000};
  std::shared_ptr<link_monitor> monitor = std::make_shared<link_monitor>();
};

/// Spawns a link. Send it (pause_atom), (resume_atom), (sync_now_atom); stop
/// it with an exit message.
caf::actor spawn_sync_link(caf::actor_system& sys, sync_link_config cfg);

} // namespace blaze
