// caf://HOST:PORT — sync frames as CAF messages between the actor systems of
// two BlazeDB nodes (CAF's io middleman, BASP over TCP). A node published at
// a port runs an acceptor actor; each connection is a pair of endpoint
// actors that monitor each other, so either side's exit closes both.
//
// Requires node_options::caf_remote (the middleman is loaded when the actor
// system starts). Unencrypted and unauthenticated: use it between nodes of
// one trusted network (TLS for CAF is the security milestone's).
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
