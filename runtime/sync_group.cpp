#include "runtime/sync_group.hpp"

#include "actors/errors.hpp"
#include "runtime/node.hpp"
#include "runtime/unpin_logger.hpp"
#include "storage/txn_log.hpp"

#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include <optional>

namespace blaze {

namespace {

blaze::write make(write::kind k, const std::string& collection, const record_id& id) {
  blaze::write w;
  w.k = k;
  w.collection = collection;
  w.record = id;
  return w;
}

} // namespace

// ---- txn ----------------------------------------------------------------------

void txn::write(const std::string& db, blaze::write w) { ws_[db].push_back(std::move(w)); }

size_t txn::size() const {
  size_t n = 0;
  for (auto& [db, ws] : ws_)
    n += ws.size();
  return n;
}

record_id txn::insert(const std::string& db, const std::string& collection, value_map fields) {
  auto w = make_insert(collection, std::move(fields));
  auto id = w.record;
  write(db, std::move(w));
  return id;
}

void txn::put(const std::string& db, const std::string& collection, const record_id& id, value_map fields) {
  auto w = make(write::kind::insert, collection, id);
  w.fields = std::move(fields);
  write(db, std::move(w));
}

void txn::update(const std::string& db, const std::string& collection, const record_id& id, value_map fields) {
  auto w = make(write::kind::update, collection, id);
  w.fields = std::move(fields);
  write(db, std::move(w));
}

void txn::set(const std::string& db, const std::string& collection, const record_id& id, std::string field,
              value v) {
  auto w = make(write::kind::set, collection, id);
  w.field = std::move(field);
  w.val = std::move(v);
  write(db, std::move(w));
}

void txn::increment(const std::string& db, const std::string& collection, const record_id& id, std::string field,
                    int64_t delta) {
  auto w = make(write::kind::increment, collection, id);
  w.field = std::move(field);
  w.delta = delta;
  write(db, std::move(w));
}

void txn::add(const std::string& db, const std::string& collection, const record_id& id, std::string field,
              value element) {
  auto w = make(write::kind::add, collection, id);
  w.field = std::move(field);
  w.val = std::move(element);
  write(db, std::move(w));
}

void txn::remove(const std::string& db, const std::string& collection, const record_id& id, std::string field,
                 value element) {
  auto w = make(write::kind::remove, collection, id);
  w.field = std::move(field);
  w.val = std::move(element);
  write(db, std::move(w));
}

void txn::erase(const std::string& db, const std::string& collection, const record_id& id) {
  write(db, make(write::kind::remove_record, collection, id));
}

// ---- sync_group -----------------------------------------------------------------

sync_group::~sync_group() {
  stop();
  if (actor_)
    caf::anon_send_exit(actor_, caf::exit_reason::user_shutdown);
}

result<database> sync_group::db(const std::string& name) const {
  auto it = dbs_.find(name);
  if (it == dbs_.end())
    return status{errc::unknown_database, "database '" + name + "' is not in this sync group"};
  return it->second;
}

result<txn_outcome> sync_group::transact(const std::function<status(txn&)>& fn) {
  txn t;
  if (auto s = fn(t); !s)
    return s;
  return commit(t);
}

result<txn_outcome> sync_group::commit(const txn& t) {
  detail::unpin_caf_logger unpin;  // destroyed after `self`
  caf::scoped_actor self{*sys_};
  std::optional<result<txn_outcome>> out;
  self->request(actor_, request_timeout_, transact_atom::value, t.writes())
    .receive([&](txn_outcome& o) { out.emplace(std::move(o)); },
             [&](caf::error& e) { out.emplace(to_status(e)); });
  return std::move(*out);
}

result<std::shared_ptr<const group_view>> sync_group::snapshot() const {
  std::shared_ptr<group_view> view(new group_view());
  for (auto& [name, db] : dbs_) {
    auto st = db.handles().st.lock();
    if (!st)
      return status{errc::closed, "database '" + name + "' of this sync group was closed"};
    view->members_[name].st = std::move(st);
  }
  if (!txns_)
    return status{errc::invalid_argument, "this sync group has no decision log"};
  status failed;
  // Under the gate: one RocksDB snapshot per member (GetSnapshot and a few
  // metadata keys; never a message to an actor).
  bool taken = txns_->gate().read(request_timeout_, [&] {
    for (auto& [name, m] : view->members_) {
      auto at = m.st->open_read_point();
      if (!at) {
        failed = at.error();
        return;
      }
      m.at = std::move(*at);
    }
  });
  if (!taken)
    return status{errc::timeout, "no consistent read point: transactions being applied did not finish within " +
                                   std::to_string(request_timeout_.count()) + " ms"};
  if (!failed)
    return failed;
  return std::shared_ptr<const group_view>(std::move(view));
}

status sync_group::read(const std::function<status(const group_view&)>& fn) const {
  auto v = snapshot();
  if (!v)
    return v.error();
  return fn(**v);
}

status sync_group::start(const std::string& url, sync_options opts) {
  opts.databases = names_;
  auto h = node_->sync_with(url, std::move(opts));
  if (!h)
    return h.error();
  std::lock_guard<std::mutex> g(m_);
  peers_.push_back(std::move(*h));
  return {};
}

void sync_group::pause() {
  std::lock_guard<std::mutex> g(m_);
  for (auto& p : peers_)
    p->pause();
}

void sync_group::resume() {
  std::lock_guard<std::mutex> g(m_);
  for (auto& p : peers_)
    p->resume();
}

void sync_group::sync_now() {
  std::lock_guard<std::mutex> g(m_);
  for (auto& p : peers_)
    p->sync_now();
}

void sync_group::stop() {
  std::lock_guard<std::mutex> g(m_);
  for (auto& p : peers_)
    p->stop();
  peers_.clear();
}

std::vector<link_status> sync_group::sync_status() const {
  std::lock_guard<std::mutex> g(m_);
  std::vector<link_status> out;
  for (auto& p : peers_)
    for (auto& s : p->status())
      out.push_back(std::move(s));
  return out;
}

bool sync_group::wait_synced(std::chrono::milliseconds timeout) const {
  std::vector<std::shared_ptr<sync_handle>> peers;
  {
    std::lock_guard<std::mutex> g(m_);
    peers = peers_;
  }
  auto until = std::chrono::steady_clock::now() + timeout;
  for (auto& p : peers) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
    if (left.count() < 0 || !p->wait_synced(left))
      return false;
  }
  return true;
}

} // namespace blaze
