// Sync from the embedding API (DESIGN §7): a node serves its databases to
// peers (node::serve) and syncs its databases with a peer (node::sync_with).
//
//   auto srv = node->serve({.listen = {"tcp://0.0.0.0:4040"}});
//   auto link = node->sync_with("tcp://relay:4040", {.databases = {"bugs"}});
//   (*link)->wait_synced(std::chrono::seconds(10));
#pragma once

#include "actors/sync_link.hpp"
#include "runtime/net/transport.hpp"

#include <caf/actor.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace blaze {

struct serve_options {
  /// Where to listen: tcp://HOST:PORT, tls://HOST:PORT, ws://HOST:PORT,
  /// wss://HOST:PORT or inproc://NAME (port 0 picks a free port).
  std::vector<std::string> listen;
  /// Certificate and key for tls:// and wss:// (and a CA to require client
  /// certificates).
  net::tls_options tls;
  /// Create a database a peer asks for when it does not exist (a relay).
  bool create_databases = true;
  /// Batch size, window, compression, keepalive.
  sync::session_options session;
};

/// A running server; stops listening when stopped or destroyed (the
/// sessions it accepted end when their peers go or the node closes).
class sync_server {
public:
  ~sync_server();
  /// The endpoints listened on, with the ports bound.
  std::vector<net::endpoint> endpoints() const;
  /// Sessions currently connected.
  size_t sessions() const;
  /// Each connected session's state (database, peer, lag).
  std::vector<link_status> session_status() const;
  void stop();

private:
  friend class node;
  struct shared;
  std::vector<std::shared_ptr<net::listener>> listeners_;
  std::shared_ptr<shared> shared_;
};

struct sync_options {
  /// The databases to sync (created locally when missing); empty: every
  /// database of this node.
  std::vector<std::string> databases;
  /// Sync only these collections (empty: all); the access list (`_access`)
  /// always comes too. A replica synced with a filter is partial: it serves
  /// only peers asking for its collections.
  std::vector<std::string> collections;
  net::tls_options tls;
  /// Progress of each database's initial sync (on an actor thread).
  std::function<void(const sync_progress&)> on_progress;
  std::chrono::milliseconds min_backoff{100};
  std::chrono::milliseconds max_backoff{30'000};
  sync::session_options session;
};

/// One sync_with(): a link per database to one peer, reconnecting with
/// backoff until stopped. Thread-safe.
class sync_handle {
public:
  ~sync_handle();
  /// Reconnects now if disconnected; pushes anything pending.
  void sync_now();
  /// Disconnects and stays disconnected until resume().
  void pause();
  void resume();
  /// Per database: connected, lag, last error.
  std::vector<link_status> status() const;
  /// Waits until every database is synced both ways (or the time is up):
  /// the peer holds at least every operation the database held when the
  /// call began (a write made just before the call is included).
  bool wait_synced(std::chrono::milliseconds timeout) const;
  /// Stops every link (also done by the destructor).
  void stop();
  const std::string& url() const { return url_; }

private:
  friend class node;
  std::string url_;
  std::vector<caf::actor> links_;
  std::vector<std::shared_ptr<link_monitor>> monitors_;
};

} // namespace blaze
