// The node's network transports (DESIGN §7): TCP with u32 length-prefixed
// frames, TLS 1.3 over TCP (OpenSSL), WebSocket binary messages (Boost.Beast,
// optionally over TLS), and in-process pipes. One I/O thread per node runs
// every socket; each connection hands whole frames to its session actor.
#pragma once

#include "actors/connection.hpp"
#include "core/status.hpp"
#include "runtime/net/url.hpp"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

namespace blaze::net {

/// Certificates for tls:// and wss:// (PEM files).
struct tls_options {
  /// This side's certificate chain and private key: required to listen; on
  /// a client, presented to servers that ask for one.
  std::filesystem::path cert;
  std::filesystem::path key;
  /// Trust anchors for the peer's certificate. A client with no CA uses the
  /// system's; a server with a CA requires and verifies client certificates.
  std::filesystem::path ca;
  /// Clients verify the server's certificate and host name (keep it on; turn
  /// it off only for a throwaway development setup).
  bool verify_peer = true;
};

struct transport_options {
  size_t max_frame = 16 << 20;          // bytes; a longer frame is a fault
  std::chrono::milliseconds handshake_timeout{10'000};  // connect + TLS + WebSocket
};

/// A listening socket; stops accepting when closed or destroyed.
class listener {
public:
  virtual ~listener() = default;
  virtual const endpoint& where() const = 0;  // with the bound port
  virtual void close() = 0;
};

class transport {
public:
  explicit transport(transport_options opts = {});
  ~transport();  // closes every connection and stops the I/O thread
  transport(const transport&) = delete;
  transport& operator=(const transport&) = delete;

  using dial_done = std::function<void(result<connection_ptr>)>;
  /// Connects (resolve, TCP, TLS and WebSocket handshakes as the scheme
  /// says); `done` runs on the I/O thread.
  void dial(const endpoint& to, const tls_options& tls, dial_done done);

  /// Listens on `at` (port 0 picks one); `on_accept` runs on the I/O thread
  /// for every connection whose handshakes completed.
  result<std::shared_ptr<listener>> listen(const endpoint& at, const tls_options& tls,
                                           std::function<void(connection_ptr)> on_accept);

  const transport_options& options() const { return opts_; }

private:
  struct impl;
  transport_options opts_;
  std::unique_ptr<impl> impl_;
};

} // namespace blaze::net
