// A transport connection as a sync session sees it: an ordered, reliable
// stream of whole frames (one encoded Envelope each). Implementations live in
// runtime/net (TCP, TLS, WebSocket, in-process).
//
// Thread contract: start/send/close may be called from any thread; the
// handlers run on the transport's I/O thread, one at a time, never after
// on_close. send() after close() is dropped.
#pragma once

#include <functional>
#include <memory>
#include <string>

namespace blaze {

class connection {
public:
  struct handlers {
    std::function<void(std::string payload)> on_frame;
    /// The stream cannot be read further (an oversized or malformed frame):
    /// the session should send an Error and close.
    std::function<void(std::string why)> on_fault;
    /// The connection is gone (closed by either side); called exactly once.
    std::function<void(std::string why)> on_close;
  };

  virtual ~connection() = default;
  /// Starts reading; frames sent before start() are queued.
  virtual void start(handlers h) = 0;
  /// Queues one frame payload (the transport adds its own framing).
  virtual void send(std::string payload) = 0;
  /// Closes after the frames already queued are written.
  virtual void close(std::string why) = 0;
  /// "tcp 127.0.0.1:4040" and the like, for logs and status.
  virtual std::string describe() const = 0;
  /// For a TLS connection (tls, wss), after its handshake: 32 bytes of the
  /// TLS exporter (RFC 9266 `tls-exporter`, label "EXPORTER-Channel-Binding",
  /// no context) that both ends compute alike and a man in the middle cannot
  /// make equal on its two connections. Empty otherwise.
  virtual std::string channel_binding() const { return {}; }
};

using connection_ptr = std::shared_ptr<connection>;

} // namespace blaze
