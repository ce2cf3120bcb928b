#include "runtime/node.hpp"

#include "actors/errors.hpp"
#include "runtime/unpin_logger.hpp"

#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstring>

namespace blaze {

namespace {

// Holds `<data>/LOCK` with flock for the node's lifetime (released by the
// kernel if the process dies).
result<int> lock_data_dir(const std::filesystem::path& dir) {
  auto path = dir / "LOCK";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    return status{errc::io_error, "cannot open " + path.string() + ": " + std::strerror(errno)};
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    char buf[32] = {};
    ssize_t n = ::pread(fd, buf, sizeof(buf) - 1, 0);
    ::close(fd);
    std::string owner = n > 0 ? " (pid " + std::string(buf, static_cast<size_t>(n)) + ")" : "";
    if (err == EWOULDBLOCK)
      return status{errc::locked, "data directory " + dir.string() + " is in use by another process" + owner};
    return status{errc::io_error, "cannot lock " + path.string() + ": " + std::strerror(err)};
  }
  auto pid = std::to_string(::getpid());
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) < 0) {
    // The lock itself is what matters; the pid is informational.
  }
  return fd;
}

std::string render_error(uint8_t code, caf::atom_value, const caf::message& ctx) {
  std::string out = to_string(static_cast<errc>(code));
  if (ctx.match_elements<std::string>())
    out += ": " + ctx.get_as<std::string>(0);
  return out;
}

} // namespace

node::node(node_options opts, int lock_fd, identity ident)
  : opts_(std::move(opts)), lock_fd_(lock_fd), ident_(std::move(ident)) {}

result<std::unique_ptr<node>> node::open(const node_options& opts) {
  detail::unpin_caf_logger unpin;  // the actor system and the registry are made here
  std::error_code ec;
  std::filesystem::create_directories(opts.data_dir, ec);
  if (ec)
    return status{errc::io_error, "cannot create data directory " + opts.data_dir.string() + ": " + ec.message()};
  auto fd = lock_data_dir(opts.data_dir);
  if (!fd)
    return fd.error();
  auto ident = load_or_create_identity(opts.data_dir);
  if (!ident) {
    ::close(*fd);
    return ident.error();
  }
  std::unique_ptr<node> n(new node(opts, *fd, std::move(*ident)));
  n->cfg_ = std::make_unique<caf::actor_system_config>();
  n->cfg_->add_error_category(error_category, render_error);
  if (opts.worker_threads > 0)
    n->cfg_->set("scheduler.max-threads", opts.worker_threads);
  n->cfg_->set("logger.verbosity", caf::atom("quiet"));
  // Idle workers sleep on a condition variable (woken on enqueue) instead of
  // polling every 50 µs: a blocking request otherwise waits out the poll.
  n->cfg_->set("work-stealing.moderate-poll-attempts", 0);
  n->sys_ = std::make_unique<caf::actor_system>(*n->cfg_);
  n->pool_ = std::make_unique<requester_pool>(*n->sys_);

  registry_config rc;
  rc.data_dir = opts.data_dir;
  rc.self = n->ident_.id;
  rc.store.mode = opts.mode;
  rc.store.lim = opts.lim;
  rc.store.max_clock_skew_ms = opts.max_clock_skew_ms;
  rc.env = std::make_shared<storage_environment>(opts.storage);
  n->registry_ = spawn_registry(*n->sys_, std::move(rc));
  return n;
}

node::~node() {
  if (sys_) {
    {
      detail::unpin_caf_logger unpin;
      pool_.reset();  // its scoped actors would keep the system alive
    }
    caf::anon_send_exit(registry_, caf::exit_reason::user_shutdown);
    registry_ = nullptr;
    sys_->await_all_actors_done();
    sys_.reset();
  }
  if (lock_fd_ >= 0)
    ::close(lock_fd_);
}

result<database> node::open_database(const std::string& name, bool create, std::optional<durability> mode) {
  detail::unpin_caf_logger unpin;  // destroyed after `self`
  caf::scoped_actor self{*sys_};
  std::optional<result<database>> out;
  self->request(registry_, opts_.timeout, open_atom::value, name, create)
    .receive([&](database_handles& h) { out.emplace(database(*sys_, *pool_, std::move(h), opts_.timeout)); },
             [&](caf::error& e) { out.emplace(to_status(e)); });
  if (*out && mode)
    if (auto s = (*out)->set_durability(*mode); !s)
      return s;
  return std::move(*out);
}

result<std::vector<std::string>> node::databases() const {
  detail::unpin_caf_logger unpin;  // destroyed after `self`
  caf::scoped_actor self{*sys_};
  std::optional<result<std::vector<std::string>>> out;
  self->request(registry_, opts_.timeout, list_atom::value)
    .receive([&](std::vector<std::string>& v) { out.emplace(std::move(v)); },
             [&](caf::error& e) { out.emplace(to_status(e)); });
  return std::move(*out);
}

status node::close_database(const std::string& name) {
  detail::unpin_caf_logger unpin;  // destroyed after `self`
  caf::scoped_actor self{*sys_};
  status out;
  self->request(registry_, opts_.timeout, close_atom::value, name)
    .receive([&](bool) {}, [&](caf::error& e) { out = to_status(e); });
  return out;
}

} // namespace blaze
