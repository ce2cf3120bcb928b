// caf://HOST:PORT — sync frames as CAF messages between the actor systems of
// two BlazeDB nodes (CAF's io middleman, BASP over TCP). A node published at
// a port runs an acceptor actor; each connection is a pair of endpoint
// actors that monitor each other, so either side's exit closes both.
//
// Requires node_options::caf_remote and caf_tls (the middleman and the
// caf::openssl manager are loaded when the actor system starts). Every
// connection is TLS with certificates verified both ways against
// caf_tls.ca; CAF does not check host names, so use a CA of your own for
// caf:// peers. The sync handshake then proves the nodes' keys as on any
// transport.
#pragma once

#include "actors/connection.hpp"
#include "core/status.hpp"

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

#include <cstdint>
#include <functional>
#include <string>

namespace blaze::net {

/// Publishes an acceptor at HOST:PORT (port 0: any); returns the bound port.
/// `on_accept` runs on an actor thread for every connection.
result<uint16_t> caf_listen(caf::actor_system& sys, const std::string& host, uint16_t port, size_t max_frame,
                            std::function<void(connection_ptr)> on_accept, caf::actor* acceptor_out);

/// Connects to the acceptor at HOST:PORT; `done` runs on another thread.
void caf_dial(caf::actor_system& sys, const std::string& host, uint16_t port, size_t max_frame,
              std::function<void(result<connection_ptr>)> done);

} // namespace blaze::net
