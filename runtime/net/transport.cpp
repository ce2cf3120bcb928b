#include "runtime/net/transport.hpp"

#include "core/sync_codec.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include <array>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

namespace blaze::net {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
namespace ws = boost::beast::websocket;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

std::string describe_ep(const char* kind, const tcp::socket& s) {
  error_code ec;
  auto ep = s.remote_endpoint(ec);
  if (ec)
    return std::string(kind) + " (unconnected)";
  auto addr = ep.address().to_string();
  if (ep.address().is_v6())
    addr = "[" + addr + "]";
  return std::string(kind) + " " + addr + ":" + std::to_string(ep.port());
}

tcp::socket& lowest(tcp::socket& s) { return s; }
tcp::socket& lowest(ssl::stream<tcp::socket>& s) { return s.next_layer(); }
template <class S> tcp::socket& lowest(ws::stream<S>& s) { return lowest(s.next_layer()); }

// connection::channel_binding of a stream after its handshake.
std::string exporter(tcp::socket&) { return {}; }
std::string exporter(ssl::stream<tcp::socket>& s) {
  static constexpr char label[] = "EXPORTER-Channel-Binding";
  unsigned char out[32];
  if (SSL_export_keying_material(s.native_handle(), out, sizeof out, label, sizeof label - 1, nullptr, 0, 0) != 1)
    return {};
  return std::string(reinterpret_cast<const char*>(out), sizeof out);
}
template <class S> std::string exporter(ws::stream<S>& s) { return exporter(s.next_layer()); }

// The shared parts of every connection: the handlers, the write queue, and
// close-once. All members are touched on the I/O thread only.
class connection_base : public connection {
public:
  explicit connection_base(asio::io_context& ioc) : ioc_(ioc) {}

protected:
  // Derived classes implement these on the I/O thread.
  virtual void read() = 0;
  virtual void write_front() = 0;  // writes out_.front(), then calls wrote()
  virtual void shutdown() = 0;     // closes the socket(s)
  virtual std::shared_ptr<connection_base> self() = 0;

public:
  void start(handlers h) override {
    asio::post(ioc_, [s = self(), h = std::move(h)]() mutable {
      if (s->closed_)
        return;
      s->h_ = std::move(h);
      s->started_ = true;
      s->read();
      s->pump();
    });
  }

  void send(std::string payload) override {
    asio::post(ioc_, [s = self(), p = std::move(payload)]() mutable {
      if (s->closed_ || s->closing_)
        return;
      s->out_.push_back(s->wrap(std::move(p)));
      s->pump();
    });
  }

  void close(std::string why) override {
    asio::post(ioc_, [s = self(), why = std::move(why)]() mutable {
      if (s->closed_ || s->closing_)
        return;
      s->closing_ = true;
      s->close_reason_ = std::move(why);
      if (!s->writing_)
        s->finish(s->close_reason_);
    });
  }

protected:
  virtual std::string wrap(std::string payload) { return payload; }

  void pump() {
    if (!started_ || writing_ || closed_)
      return;
    if (out_.empty()) {
      if (closing_)
        finish(close_reason_);
      return;
    }
    writing_ = true;
    write_front();
  }

  void wrote(const error_code& ec) {
    writing_ = false;
    if (closed_) {
      out_.clear();
      return;
    }
    if (ec) {
      finish("write failed: " + ec.message());
      return;
    }
    out_.pop_front();
    pump();
  }

  void frame(std::string payload) {
    if (!closed_ && h_.on_frame)
      h_.on_frame(std::move(payload));
  }

  void fault(std::string why) {
    if (!closed_ && h_.on_fault)
      h_.on_fault(std::move(why));
  }

  void read_failed(const error_code& ec) {
    bool eof = ec == asio::error::eof || ec == ws::error::closed || ec == ssl::error::stream_truncated ||
               ec == asio::error::connection_reset;
    finish(eof ? "the peer closed the connection" : "read failed: " + ec.message());
  }

  // Closes now (pending writes dropped) and reports once.
  void finish(const std::string& why) {
    if (closed_)
      return;
    closed_ = true;
    shutdown();
    if (!writing_)
      out_.clear();  // else an aborted write still refers to out_.front(): wrote() clears
    auto h = std::move(h_);
    h_ = {};
    if (h.on_close)
      h.on_close(why);
  }

  asio::io_context& ioc_;
  handlers h_;
  std::deque<std::string> out_;
  bool started_ = false, writing_ = false, closing_ = false, closed_ = false;
  std::string close_reason_;
};

// TCP or TLS: a byte stream carrying u32-length-prefixed frames.
template <class Stream>
class stream_connection final : public connection_base,
                                public std::enable_shared_from_this<stream_connection<Stream>> {
public:
  template <class... Args>
  stream_connection(asio::io_context& ioc, size_t max_frame, std::shared_ptr<ssl::context> ctx, const char* kind,
                    Args&&... args)
    : connection_base(ioc), ctx_(std::move(ctx)), stream_(std::forward<Args>(args)...), reader_(max_frame),
      kind_(kind) {}

  Stream& stream() { return stream_; }
  std::string describe() const override { return describe_; }
  std::string channel_binding() const override { return binding_; }
  // After the handshake, on the I/O thread.
  void set_description() {
    describe_ = describe_ep(kind_, lowest(stream_));
    binding_ = exporter(stream_);
  }

private:
  std::shared_ptr<connection_base> self() override { return this->shared_from_this(); }
  std::string wrap(std::string payload) override { return sync::frame(payload); }

  void read() override {
    stream_.async_read_some(asio::buffer(buf_), [s = this->shared_from_this()](error_code ec, size_t n) {
      if (s->closed_)
        return;
      if (ec)
        return s->read_failed(ec);
      s->reader_.feed(std::string_view(s->buf_.data(), n));
      for (;;) {
        auto next = s->reader_.next();
        if (!next)
          return s->fault(next.error().message);  // no further reads: the stream is lost
        if (!*next)
          break;
        s->frame(std::move(**next));
        if (s->closed_)
          return;
      }
      s->read();
    });
  }

  void write_front() override {
    asio::async_write(stream_, asio::buffer(out_.front()),
                      [s = this->shared_from_this()](error_code ec, size_t) { s->wrote(ec); });
  }

  void shutdown() override {
    error_code ec;
    lowest(stream_).shutdown(tcp::socket::shutdown_both, ec);
    lowest(stream_).close(ec);
  }

  std::shared_ptr<ssl::context> ctx_;  // outlives stream_
  Stream stream_;
  sync::frame_reader reader_;
  std::array<char, 64 << 10> buf_;
  const char* kind_;
  std::string describe_;
  std::string binding_;
};

// WebSocket (optionally over TLS): one binary message per frame.
template <class Next>
class ws_connection final : public connection_base, public std::enable_shared_from_this<ws_connection<Next>> {
public:
  template <class... Args>
  ws_connection(asio::io_context& ioc, size_t max_frame, std::shared_ptr<ssl::context> ctx, const char* kind,
                Args&&... args)
    : connection_base(ioc), ctx_(std::move(ctx)), ws_(std::forward<Args>(args)...), kind_(kind) {
    ws_.binary(true);
    ws_.read_message_max(max_frame);
  }

  ws::stream<Next>& stream() { return ws_; }
  std::string describe() const override { return describe_; }
  std::string channel_binding() const override { return binding_; }
  // After the handshake, on the I/O thread.
  void set_description() {
    describe_ = describe_ep(kind_, lowest(ws_));
    binding_ = exporter(ws_);
  }

private:
  std::shared_ptr<connection_base> self() override { return this->shared_from_this(); }

  void read() override {
    ws_.async_read(rbuf_, [s = this->shared_from_this()](error_code ec, size_t) {
      if (s->closed_)
        return;
      if (ec == ws::error::message_too_big)
        return s->fault("a WebSocket message is over the maximum frame size");
      if (ec)
        return s->read_failed(ec);
      if (!s->ws_.got_binary())
        return s->fault("a WebSocket text message (frames are binary)");
      auto payload = boost::beast::buffers_to_string(s->rbuf_.data());
      s->rbuf_.consume(s->rbuf_.size());
      s->frame(std::move(payload));
      if (!s->closed_)
        s->read();
    });
  }

  void write_front() override {
    ws_.async_write(asio::buffer(out_.front()),
                    [s = this->shared_from_this()](error_code ec, size_t) { s->wrote(ec); });
  }

  void shutdown() override {
    error_code ec;
    lowest(ws_).shutdown(tcp::socket::shutdown_both, ec);
    lowest(ws_).close(ec);
  }

  std::shared_ptr<ssl::context> ctx_;
  ws::stream<Next> ws_;
  boost::beast::flat_buffer rbuf_;
  const char* kind_;
  std::string describe_;
  std::string binding_;
};

// One end of an in-process pipe; frames go to the other end's handler.
class inproc_connection final : public connection_base, public std::enable_shared_from_this<inproc_connection> {
public:
  inproc_connection(asio::io_context& ioc, std::string name) : connection_base(ioc), name_(std::move(name)) {}
  std::weak_ptr<inproc_connection> peer;
  std::string describe() const override { return "inproc " + name_; }

private:
  std::shared_ptr<connection_base> self() override { return shared_from_this(); }
  void read() override {
    for (auto& p : early_)
      frame(std::move(p));
    early_.clear();
  }
  void write_front() override {
    auto p = peer.lock();
    if (!p) {
      wrote(asio::error::broken_pipe);
      return;
    }
    p->deliver(std::move(out_.front()));
    asio::post(ioc_, [s = shared_from_this()] { s->wrote({}); });
  }
  void deliver(std::string payload) {
    if (closed_)
      return;
    if (!started_)
      early_.push_back(std::move(payload));
    else
      frame(std::move(payload));
  }
  void shutdown() override {
    if (auto p = peer.lock())
      asio::post(ioc_, [p] { p->finish("the peer closed the connection"); });
  }
  std::string name_;
  std::vector<std::string> early_;
};

status tls_failure(const std::string& what, const std::exception& e) {
  return {errc::network, what + ": " + e.what()};
}

result<std::shared_ptr<ssl::context>> server_context(const tls_options& t) {
  if (t.cert.empty() || t.key.empty())
    return status{errc::invalid_argument, "listening with TLS needs a certificate and a key (--tls-cert, --tls-key)"};
  try {
    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
    SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_3_VERSION);
    ctx->use_certificate_chain_file(t.cert.string());
    ctx->use_private_key_file(t.key.string(), ssl::context::pem);
    if (!t.ca.empty()) {
      ctx->load_verify_file(t.ca.string());
      ctx->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
    }
    return ctx;
  } catch (const std::exception& e) {
    return tls_failure("cannot load TLS certificate " + t.cert.string() + " / key " + t.key.string(), e);
  }
}

result<std::shared_ptr<ssl::context>> client_context(const tls_options& t, const std::string& host) {
  try {
    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
    SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_3_VERSION);
    if (!t.ca.empty())
      ctx->load_verify_file(t.ca.string());
    else
      ctx->set_default_verify_paths();
    if (!t.cert.empty()) {
      ctx->use_certificate_chain_file(t.cert.string());
      ctx->use_private_key_file(t.key.string(), ssl::context::pem);
    }
    if (t.verify_peer) {
      ctx->set_verify_mode(ssl::verify_peer);
      ctx->set_verify_callback(ssl::host_name_verification(host));
    } else {
      ctx->set_verify_mode(ssl::verify_none);
    }
    return ctx;
  } catch (const std::exception& e) {
    return tls_failure("cannot set up TLS", e);
  }
}

// Runs `expire` (which closes the socket) unless the handshake finishes in
// time. `expire` owns what it closes: a timer whose handler was already
// queued when it is cancelled still runs with success.
std::shared_ptr<asio::steady_timer> deadline(asio::io_context& ioc, std::function<void()> expire,
                                             std::chrono::milliseconds d) {
  auto t = std::make_shared<asio::steady_timer>(ioc, d);
  t->async_wait([expire = std::move(expire)](error_code ec) {
    if (!ec)
      expire();
  });
  return t;
}

template <class Conn> std::function<void()> closer(const std::shared_ptr<Conn>& c) {
  return [c] {
    error_code ignore;
    lowest(c->stream()).close(ignore);
  };
}

} // namespace

struct transport::impl {
  asio::io_context ioc;
  asio::executor_work_guard<asio::io_context::executor_type> work{ioc.get_executor()};
  std::thread thread;

  impl() {
    thread = std::thread([this] {
      for (;;) {
        try {
          ioc.run();
          return;
        } catch (const std::exception& e) {
          spdlog::error("transport: {}", e.what());
        }
      }
    });
  }
  ~impl() {
    work.reset();
    ioc.stop();
    if (thread.joinable())
      thread.join();
  }
};

namespace {

// inproc://NAME listeners of this process.
struct inproc_registry {
  std::mutex m;
  std::map<std::string, std::pair<asio::io_context*, std::function<void(connection_ptr)>>> listeners;
  static inproc_registry& get() {
    static inproc_registry r;
    return r;
  }
};

class inproc_listener final : public listener {
public:
  explicit inproc_listener(endpoint e) : e_(std::move(e)) {}
  ~inproc_listener() override { close(); }
  const endpoint& where() const override { return e_; }
  void close() override {
    auto& r = inproc_registry::get();
    std::lock_guard<std::mutex> g(r.m);
    r.listeners.erase(e_.host);
  }

private:
  endpoint e_;
};

class tcp_listener final : public listener, public std::enable_shared_from_this<tcp_listener> {
public:
  tcp_listener(asio::io_context& ioc, endpoint e, std::shared_ptr<ssl::context> ctx, transport_options opts,
               std::function<void(connection_ptr)> on_accept)
    : ioc_(ioc), acceptor_(ioc), e_(std::move(e)), ctx_(std::move(ctx)), opts_(opts), on_accept_(std::move(on_accept)) {}
  ~tcp_listener() override {
    error_code ec;
    acceptor_.close(ec);
  }

  status bind() {
    error_code ec;
    auto addr = asio::ip::make_address(e_.host == "localhost" ? "127.0.0.1" : e_.host, ec);
    if (ec)
      return {errc::invalid_argument, "cannot listen on '" + e_.host + "': not an IP address (" + ec.message() + ")"};
    tcp::endpoint ep(addr, e_.port);
    acceptor_.open(ep.protocol(), ec);
    if (!ec)
      acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec)
      acceptor_.bind(ep, ec);
    if (!ec)
      acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec)
      return {errc::network, "cannot listen on " + e_.to_string() + ": " + ec.message()};
    e_.port = acceptor_.local_endpoint().port();
    return {};
  }

  void accept() {
    acceptor_.async_accept([s = shared_from_this()](error_code ec, tcp::socket sock) {
      if (ec == asio::error::operation_aborted || !s->acceptor_.is_open())
        return;
      if (!ec) {
        s->failures_ = 0;
        s->handshake(std::move(sock));
        s->accept();
        return;
      }
      // Out of descriptors (EMFILE) and the like: the pending connection
      // stays queued, so re-arming at once would spin. Back off (10 ms,
      // doubling to 1 s) and log once per streak.
      if (s->failures_++ == 0)
        spdlog::warn("accept on {}: {} (backing off)", s->e_.to_string(), ec.message());
      auto delay = std::chrono::milliseconds(std::min<int64_t>(1000, int64_t(10) << std::min(s->failures_, 7u)));
      s->retry_.expires_after(delay);
      s->retry_.async_wait([s](error_code ec) {
        if (!ec && s->acceptor_.is_open())
          s->accept();
      });
    });
  }

  const endpoint& where() const override { return e_; }
  void close() override {
    asio::post(ioc_, [s = shared_from_this()] {
      error_code ec;
      s->acceptor_.close(ec);
      s->retry_.cancel();
    });
  }

private:
  void handshake(tcp::socket sock) {
    error_code ec;
    sock.set_option(tcp::no_delay(true), ec);
    size_t max = opts_.max_frame;
    auto done = on_accept_;
    switch (e_.kind) {
      case scheme::tcp: {
        auto c = std::make_shared<stream_connection<tcp::socket>>(ioc_, max, nullptr, "tcp", std::move(sock));
        c->set_description();
        done(c);
        return;
      }
      case scheme::tls: {
        auto c = std::make_shared<stream_connection<ssl::stream<tcp::socket>>>(ioc_, max, ctx_, "tls",
                                                                               std::move(sock), *ctx_);
        auto t = deadline(ioc_, closer(c), opts_.handshake_timeout);
        c->stream().async_handshake(ssl::stream_base::server, [c, t, done](error_code ec) {
          t->cancel();
          if (ec) {
            spdlog::info("TLS handshake from {} failed: {}", describe_ep("tls", lowest(c->stream())), ec.message());
            return;
          }
          c->set_description();
          done(c);
        });
        return;
      }
      case scheme::ws: {
        auto c = std::make_shared<ws_connection<tcp::socket>>(ioc_, max, nullptr, "ws", std::move(sock));
        auto t = deadline(ioc_, closer(c), opts_.handshake_timeout);
        c->stream().async_accept([c, t, done](error_code ec) {
          t->cancel();
          if (ec) {
            spdlog::info("WebSocket handshake failed: {}", ec.message());
            return;
          }
          c->set_description();
          done(c);
        });
        return;
      }
      case scheme::wss: {
        auto c = std::make_shared<ws_connection<ssl::stream<tcp::socket>>>(ioc_, max, ctx_, "wss", std::move(sock),
                                                                           *ctx_);
        auto t = deadline(ioc_, closer(c), opts_.handshake_timeout);
        c->stream().next_layer().async_handshake(ssl::stream_base::server, [c, t, done](error_code ec) {
          if (ec) {
            t->cancel();
            spdlog::info("TLS handshake failed: {}", ec.message());
            return;
          }
          c->stream().async_accept([c, t, done](error_code ec) {
            t->cancel();
            if (ec) {
              spdlog::info("WebSocket handshake failed: {}", ec.message());
              return;
            }
            c->set_description();
            done(c);
          });
        });
        return;
      }
      case scheme::inproc:
      case scheme::caf: return;
    }
  }

  asio::io_context& ioc_;
  tcp::acceptor acceptor_;
  asio::steady_timer retry_{ioc_};
  unsigned failures_ = 0;  // accept errors in a row
  endpoint e_;
  std::shared_ptr<ssl::context> ctx_;
  transport_options opts_;
  std::function<void(connection_ptr)> on_accept_;
};

} // namespace

transport::transport(transport_options opts) : opts_(opts), impl_(std::make_unique<impl>()) {}

transport::~transport() = default;

result<std::shared_ptr<listener>> transport::listen(const endpoint& at, const tls_options& tls,
                                                    std::function<void(connection_ptr)> on_accept) {
  if (at.kind == scheme::inproc) {
    auto& r = inproc_registry::get();
    std::lock_guard<std::mutex> g(r.m);
    if (!r.listeners.emplace(at.host, std::make_pair(&impl_->ioc, std::move(on_accept))).second)
      return status{errc::invalid_argument, "inproc://" + at.host + " is already listening"};
    return std::shared_ptr<listener>(std::make_shared<inproc_listener>(at));
  }
  std::shared_ptr<ssl::context> ctx;
  if (at.secure()) {
    auto c = server_context(tls);
    if (!c)
      return c.error();
    ctx = std::move(*c);
  }
  auto l = std::make_shared<tcp_listener>(impl_->ioc, at, std::move(ctx), opts_, std::move(on_accept));
  if (auto s = l->bind(); !s)
    return s;
  asio::post(impl_->ioc, [l] { l->accept(); });
  return std::shared_ptr<listener>(l);
}

void transport::dial(const endpoint& to, const tls_options& tls, dial_done done) {
  auto& ioc = impl_->ioc;
  if (to.kind == scheme::inproc) {
    asio::post(ioc, [to, done = std::move(done)] {
      auto& r = inproc_registry::get();
      std::unique_lock<std::mutex> g(r.m);
      auto i = r.listeners.find(to.host);
      if (i == r.listeners.end()) {
        g.unlock();
        done(status{errc::network, "nothing listens on " + to.to_string()});
        return;
      }
      auto& sioc = *i->second.first;
      auto accept = i->second.second;
      g.unlock();
      auto a = std::make_shared<inproc_connection>(sioc, to.host + " (client)");
      auto b = std::make_shared<inproc_connection>(sioc, to.host + " (server)");
      a->peer = b;
      b->peer = a;
      asio::post(sioc, [b, accept] { accept(b); });
      done(connection_ptr(a));
    });
    return;
  }
  std::shared_ptr<ssl::context> ctx;
  if (to.secure()) {
    auto c = client_context(tls, to.host);
    if (!c) {
      asio::post(ioc, [done, e = c.error()] { done(e); });
      return;
    }
    ctx = std::move(*c);
  }
  auto resolver = std::make_shared<tcp::resolver>(ioc);
  auto opts = opts_;
  resolver->async_resolve(to.host, std::to_string(to.port), [&ioc, resolver, to, ctx, opts, done](
                                                                 error_code ec, tcp::resolver::results_type eps) {
    if (ec) {
      done(status{errc::network, "cannot resolve " + to.host + ": " + ec.message()});
      return;
    }
    auto sock = std::make_shared<tcp::socket>(ioc);
    auto t = deadline(
      ioc,
      [sock] {
        error_code ignore;
        sock->close(ignore);  // moved-from once connected: closing it is harmless
      },
      opts.handshake_timeout);
    asio::async_connect(*sock, eps, [&ioc, sock, t, to, ctx, opts, done](error_code ec, const tcp::endpoint&) {
      if (ec) {
        t->cancel();
        done(status{errc::network, "cannot connect to " + to.to_string() + ": " + ec.message()});
        return;
      }
      error_code ignore;
      sock->set_option(tcp::no_delay(true), ignore);
      size_t max = opts.max_frame;
      auto fail = [to, done](const char* what, error_code ec) {
        done(status{errc::network, std::string(what) + " with " + to.to_string() + " failed: " + ec.message()});
      };
      switch (to.kind) {
        case scheme::tcp: {
          t->cancel();
          auto c = std::make_shared<stream_connection<tcp::socket>>(ioc, max, nullptr, "tcp", std::move(*sock));
          c->set_description();
          done(connection_ptr(c));
          return;
        }
        case scheme::tls: {
          auto c = std::make_shared<stream_connection<ssl::stream<tcp::socket>>>(ioc, max, ctx, "tls",
                                                                                 std::move(*sock), *ctx);
          SSL_set_tlsext_host_name(c->stream().native_handle(), to.host.c_str());
          t->cancel();
          auto t2 = deadline(ioc, closer(c), opts.handshake_timeout);
          c->stream().async_handshake(ssl::stream_base::client, [c, t2, done, fail](error_code ec) {
            t2->cancel();
            if (ec)
              return fail("the TLS handshake", ec);
            c->set_description();
            done(connection_ptr(c));
          });
          return;
        }
        case scheme::ws: {
          auto c = std::make_shared<ws_connection<tcp::socket>>(ioc, max, nullptr, "ws", std::move(*sock));
          t->cancel();
          auto t2 = deadline(ioc, closer(c), opts.handshake_timeout);
          c->stream().async_handshake(to.host, to.path, [c, t2, done, fail](error_code ec) {
            t2->cancel();
            if (ec)
              return fail("the WebSocket handshake", ec);
            c->set_description();
            done(connection_ptr(c));
          });
          return;
        }
        case scheme::wss: {
          auto c = std::make_shared<ws_connection<ssl::stream<tcp::socket>>>(ioc, max, ctx, "wss", std::move(*sock),
                                                                             *ctx);
          SSL_set_tlsext_host_name(c->stream().next_layer().native_handle(), to.host.c_str());
          t->cancel();
          auto t2 = deadline(ioc, closer(c), opts.handshake_timeout);
          c->stream().next_layer().async_handshake(
            ssl::stream_base::client, [c, t2, done, fail, to](error_code ec) {
              if (ec) {
                t2->cancel();
                return fail("the TLS handshake", ec);
              }
              c->stream().async_handshake(to.host, to.path, [c, t2, done, fail](error_code ec) {
                t2->cancel();
                if (ec)
                  return fail("the WebSocket handshake", ec);
                c->set_description();
                done(connection_ptr(c));
              });
            });
          return;
        }
        case scheme::inproc:
        case scheme::caf: return;
      }
    });
  });
}

} // namespace blaze::net
