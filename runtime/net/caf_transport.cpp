#include "runtime/net/caf_transport.hpp"

#include "actors/messages.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/io/middleman.hpp>
#include <caf/openssl/publish.hpp>
#include <caf/openssl/remote_actor.hpp>
#include <caf/blocking_actor.hpp>
#include <caf/send.hpp>
#include <spdlog/spdlog.h>

#include <deque>
#include <mutex>
#include <optional>

namespace blaze::net {

namespace {

using connect_atom = caf::atom_constant<caf::atom("cafconn")>;
using out_atom = caf::atom_constant<caf::atom("cafout")>;
using start_atom = caf::atom_constant<caf::atom("cafstart")>;
using shut_atom = caf::atom_constant<caf::atom("cafshut")>;

// What the connection object and its endpoint actor share.
struct shared_handlers {
  std::mutex m;
  connection::handlers h;
};

struct endpoint_state {
  caf::actor peer;
  std::shared_ptr<shared_handlers> sh;
  connection::handlers h;  // copied at start
  bool started = false;
  bool closed = false;
  size_t max_frame = 16 << 20;
  std::deque<std::string> early;  // frames before start
  std::string where;
  static inline const char* name = "blaze.caf_endpoint";
};

using endpoint_actor = caf::stateful_actor<endpoint_state>;

void finish(endpoint_actor* self, const std::string& why) {
  auto& s = self->state;
  if (s.closed)
    return;
  s.closed = true;
  auto h = std::move(s.h);
  s.h = {};
  if (h.on_close)
    h.on_close(why);
  self->quit();
}

caf::behavior endpoint_impl(endpoint_actor* self, caf::actor peer, std::shared_ptr<shared_handlers> sh,
                            size_t max_frame, std::string where) {
  auto& s = self->state;
  s.sh = std::move(sh);
  s.max_frame = max_frame;
  s.where = std::move(where);
  if (peer) {
    s.peer = peer;
    self->monitor(peer);
  }
  self->set_default_handler(caf::drop);  // anything else from the network is ignored
  self->set_down_handler([self](const caf::down_msg& dm) {
    if (self->state.peer && dm.source == self->state.peer.address())
      finish(self, "the peer closed the connection");
  });
  return {
    [self](frame_atom, std::string& payload) {
      auto& s = self->state;
      if (s.closed)
        return;
      if (payload.empty() || payload.size() > s.max_frame) {
        if (s.started && s.h.on_fault)
          s.h.on_fault("frame: length " + std::to_string(payload.size()) + " is zero or over the maximum " +
                       std::to_string(s.max_frame));
        return;
      }
      if (!s.started)
        s.early.push_back(std::move(payload));
      else if (s.h.on_frame)
        s.h.on_frame(std::move(payload));
    },
    [self](connect_atom, const caf::actor& peer) {  // the client learns its server endpoint
      self->state.peer = peer;
      self->monitor(peer);
    },
    [self](start_atom) {
      auto& s = self->state;
      {
        std::lock_guard<std::mutex> g(s.sh->m);
        s.h = s.sh->h;
      }
      s.started = true;
      while (!s.early.empty() && !s.closed) {
        auto p = std::move(s.early.front());
        s.early.pop_front();
        if (s.h.on_frame)
          s.h.on_frame(std::move(p));
      }
    },
    [self](out_atom, std::string& payload) {
      if (!self->state.closed && self->state.peer)
        self->send(self->state.peer, frame_atom::value, std::move(payload));
    },
    [self](shut_atom, const std::string& why) { finish(self, why); },
  };
}

class caf_connection final : public connection {
public:
  caf_connection(caf::actor ep, std::shared_ptr<shared_handlers> sh, std::string where)
    : ep_(std::move(ep)), sh_(std::move(sh)), where_(std::move(where)) {}
  ~caf_connection() override { caf::anon_send(ep_, shut_atom::value, std::string("the connection was dropped")); }
  void start(handlers h) override {
    {
      std::lock_guard<std::mutex> g(sh_->m);
      sh_->h = std::move(h);
    }
    caf::anon_send(ep_, start_atom::value);
  }
  void send(std::string payload) override { caf::anon_send(ep_, out_atom::value, std::move(payload)); }
  void close(std::string why) override { caf::anon_send(ep_, shut_atom::value, std::move(why)); }
  std::string describe() const override { return where_; }

private:
  caf::actor ep_;
  std::shared_ptr<shared_handlers> sh_;
  std::string where_;
};

} // namespace

result<uint16_t> caf_listen(caf::actor_system& sys, const std::string& host, uint16_t port, size_t max_frame,
                            std::function<void(connection_ptr)> on_accept, caf::actor* acceptor_out) {
  auto acceptor = sys.spawn([on_accept, max_frame](caf::event_based_actor* self) -> caf::behavior {
    self->set_default_handler(caf::drop);
    return {
      [self, on_accept, max_frame](connect_atom, const caf::actor& client) -> caf::actor {
        auto sh = std::make_shared<shared_handlers>();
        std::string where = "caf " + to_string(client.node());
        auto ep = self->system().spawn(endpoint_impl, client, sh, max_frame, where);
        on_accept(std::make_shared<caf_connection>(ep, sh, where));
        return ep;
      },
    };
  });
  auto bound = caf::openssl::publish(acceptor, port, host.empty() ? nullptr : host.c_str(), true);
  if (!bound) {
    caf::anon_send_exit(acceptor, caf::exit_reason::user_shutdown);
    return status{errc::network, "cannot publish on caf://" + host + ":" + std::to_string(port) + ": " +
                                   sys.render(bound.error())};
  }
  if (acceptor_out)
    *acceptor_out = acceptor;
  return *bound;
}

void caf_dial(caf::actor_system& sys, const std::string& host, uint16_t port, size_t max_frame,
              std::function<void(result<connection_ptr>)> done) {
  // remote_actor blocks: connect in a detached actor (a thread the actor
  // system owns and waits for at shutdown).
  sys.spawn<caf::detached>([host, port, max_frame, done](caf::blocking_actor* self) {
    auto& sys = self->system();
    auto where = "caf " + host + ":" + std::to_string(port);
    auto remote = caf::openssl::remote_actor(sys, host, port);
    if (!remote) {
      done(status{errc::network, "cannot connect to caf://" + host + ":" + std::to_string(port) + ": " +
                                   sys.render(remote.error())});
      return;
    }
    auto sh = std::make_shared<shared_handlers>();
    auto ep = sys.spawn(endpoint_impl, caf::actor{}, sh, max_frame, where);
    std::optional<result<connection_ptr>> out;
    self->request(*remote, std::chrono::seconds(10), connect_atom::value, ep)
      .receive(
        [&](caf::actor& server_ep) {
          caf::anon_send(ep, connect_atom::value, server_ep);
          out.emplace(connection_ptr(std::make_shared<caf_connection>(ep, sh, where)));
        },
        [&](caf::error& e) {
          caf::anon_send_exit(ep, caf::exit_reason::user_shutdown);
          out.emplace(status{errc::network, "caf://" + host + ":" + std::to_string(port) +
                                              " did not accept: " + sys.render(e)});
        });
    done(std::move(*out));
  });
}

} // namespace blaze::net
