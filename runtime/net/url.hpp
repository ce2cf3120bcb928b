// Sync endpoint addresses: tcp://HOST:PORT, tls://HOST:PORT, ws://HOST:PORT[/PATH],
// wss://HOST:PORT[/PATH], inproc://NAME, caf://HOST:PORT (CAF remote actors). IPv6 hosts go in brackets: tcp://[::1]:4040.
#pragma once

#include "core/status.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace blaze::net {

enum class scheme { tcp, tls, ws, wss, inproc, caf };

struct endpoint {
  scheme kind = scheme::tcp;
  std::string host;  // without brackets; for inproc: the name
  uint16_t port = 0;
  std::string path = "/";  // WebSocket target

  bool secure() const { return kind == scheme::tls || kind == scheme::wss; }
  bool websocket() const { return kind == scheme::ws || kind == scheme::wss; }
  std::string to_string() const;
};

/// Parses a sync URL; errc::invalid_argument with the reason on bad input.
result<endpoint> parse_url(std::string_view url);

/// Parses HOST:PORT (as given to `serve --listen`) into an endpoint of `kind`.
result<endpoint> parse_host_port(std::string_view host_port, scheme kind);

const char* to_string(scheme s);

} // namespace blaze::net
