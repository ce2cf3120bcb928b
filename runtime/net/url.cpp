#include "runtime/net/url.hpp"

#include <charconv>

namespace blaze::net {

const char* to_string(scheme s) {
  switch (s) {
    case scheme::tcp: return "tcp";
    case scheme::tls: return "tls";
    case scheme::ws: return "ws";
    case scheme::wss: return "wss";
    case scheme::inproc: return "inproc";
    case scheme::caf: return "caf";
  }
  return "?";
}

std::string endpoint::to_string() const {
  std::string out = std::string(net::to_string(kind)) + "://";
  if (kind == scheme::inproc)
    return out + host;
  out += host.find(':') != std::string::npos ? "[" + host + "]" : host;
  out += ":" + std::to_string(port);
  if (websocket() && path != "/")
    out += path;
  return out;
}

result<endpoint> parse_host_port(std::string_view hp, scheme kind) {
  endpoint e;
  e.kind = kind;
  std::string_view host, port;
  if (hp.starts_with('[')) {
    auto close = hp.find(']');
    if (close == std::string_view::npos || close + 1 >= hp.size() || hp[close + 1] != ':')
      return status{errc::invalid_argument, "'" + std::string(hp) + "': expected [IPV6]:PORT"};
    host = hp.substr(1, close - 1);
    port = hp.substr(close + 2);
  } else {
    auto colon = hp.rfind(':');
    if (colon == std::string_view::npos)
      return status{errc::invalid_argument, "'" + std::string(hp) + "': expected HOST:PORT"};
    host = hp.substr(0, colon);
    port = hp.substr(colon + 1);
  }
  if (host.empty())
    return status{errc::invalid_argument, "'" + std::string(hp) + "': the host is empty"};
  unsigned p = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (ec != std::errc{} || end != port.data() + port.size() || p > 65535)
    return status{errc::invalid_argument, "'" + std::string(hp) + "': the port must be a number 0-65535"};
  e.host = std::string(host);
  e.port = static_cast<uint16_t>(p);
  return e;
}

result<endpoint> parse_url(std::string_view url) {
  auto sep = url.find("://");
  if (sep == std::string_view::npos)
    return status{errc::invalid_argument,
                  "'" + std::string(url) + "' is not a sync URL (tcp://, tls://, ws://, wss://, inproc:// or caf://)"};
  auto name = url.substr(0, sep);
  auto rest = url.substr(sep + 3);
  scheme kind;
  if (name == "tcp")
    kind = scheme::tcp;
  else if (name == "tls")
    kind = scheme::tls;
  else if (name == "ws")
    kind = scheme::ws;
  else if (name == "wss")
    kind = scheme::wss;
  else if (name == "inproc")
    kind = scheme::inproc;
  else if (name == "caf")
    kind = scheme::caf;
  else
    return status{errc::invalid_argument,
                  "unknown URL scheme '" + std::string(name) + "' (use tcp, tls, ws, wss, inproc or caf)"};
  if (kind == scheme::inproc) {
    if (rest.empty())
      return status{errc::invalid_argument, "inproc:// needs a name"};
    endpoint e;
    e.kind = kind;
    e.host = std::string(rest);
    return e;
  }
  std::string path = "/";
  if (auto slash = rest.find('/'); slash != std::string_view::npos) {
    path = std::string(rest.substr(slash));
    rest = rest.substr(0, slash);
    if (!(kind == scheme::ws || kind == scheme::wss))
      if (path != "/")
        return status{errc::invalid_argument, "'" + std::string(url) + "': only ws:// and wss:// URLs take a path"};
  }
  auto e = parse_host_port(rest, kind);
  if (!e)
    return e;
  e->path = path;
  return e;
}

} // namespace blaze::net
