#include "runtime/database.hpp"

#include "actors/errors.hpp"
#include "runtime/unpin_logger.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include <openssl/rand.h>

#include <optional>
#include <random>

namespace blaze {

namespace {

// Blocking request/reply with a timeout; every failure becomes a status.
template <class T, class Handle, class... Ts>
result<T> ask(requester_pool& pool, const Handle& h, std::chrono::milliseconds timeout, Ts&&... xs) {
  detail::unpin_caf_logger unpin;  // destroyed after `self`
  auto self = pool.borrow();
  std::optional<result<T>> out;
  self.get()->request(h, timeout, std::forward<Ts>(xs)...)
    .receive([&](T& v) { out.emplace(std::move(v)); }, [&](caf::error& e) { out.emplace(to_status(e)); });
  if (!*out)
    self.discard();
  return std::move(*out);
}

// Non-blocking request; `done` runs on a CAF worker thread.
template <class T, class Handle, class... Ts>
void ask_async(caf::actor_system& sys, const Handle& h, std::chrono::milliseconds timeout,
               std::function<void(result<T>)> done, Ts... xs) {
  detail::unpin_caf_logger unpin;
  sys.spawn([=](caf::event_based_actor* self) {
    self->request(h, timeout, xs...)
      .then([done](T& v) { done(std::move(v)); }, [done](caf::error& e) { done(to_status(e)); });
  });
}

blaze::write make_write(write::kind k, const std::string& collection, const record_id& id) {
  blaze::write w;
  w.k = k;
  w.collection = collection;
  w.record = id;
  return w;
}

} // namespace

record_id new_record_id() {
  // Unpredictable ids (OpenSSL's DRBG): ids may be shared with other users.
  unsigned char b[16];
  if (RAND_bytes(b, sizeof(b)) != 1) {
    thread_local std::mt19937_64 rng{std::random_device{}() ^ (uint64_t(std::random_device{}()) << 32)};
    return {rng(), rng()};
  }
  return id128::from_bytes(b);
}

// ---- subscription -----------------------------------------------------------

subscription::subscription(caf::actor_system* sys, database_actor db, caf::actor listener)
  : sys_(sys), db_(std::move(db)), listener_(std::move(listener)) {}

subscription& subscription::operator=(subscription&& other) noexcept {
  if (this != &other) {
    cancel();
    sys_ = other.sys_;
    db_ = std::move(other.db_);
    listener_ = std::move(other.listener_);
  }
  return *this;
}

subscription::~subscription() { cancel(); }

void subscription::cancel() {
  if (listener_) {
    caf::anon_send(db_, unsubscribe_atom::value, listener_);
    caf::anon_send_exit(listener_, caf::exit_reason::user_shutdown);
    listener_ = nullptr;
  }
}

// ---- database ---------------------------------------------------------------

database::database(caf::actor_system& sys, requester_pool& pool, database_handles h,
                   std::chrono::milliseconds timeout)
  : sys_(&sys), pool_(&pool), h_(std::move(h)), timeout_(timeout) {}

result<access_list> database::access() const {
  auto s = h_.st.lock();
  if (!s)
    return status{errc::invalid_argument, "database " + h_.name + " is closed"};
  return s->access();
}

status database::change_access(access_builder build) {
  auto out = ask<write_outcomes>(*pool_, h_.db, timeout_, access_atom::value, std::move(build));
  if (!out)
    return out.error();
  for (auto& o : *out)
    if (!o.st)
      return o.st;
  return {};
}

status database::share(const crypto::member_key& member, access_rights rights) {
  return change_access([member, rights](const access_list& list, const keyring& keys) {
    return access::grant(list, member, rights, keys);
  });
}

status database::revoke(const node_id& member) {
  return change_access([member](const access_list& list, const keyring&) { return access::revoke(list, member); });
}

status database::rotate() {
  return change_access([](const access_list& list, const keyring&) { return access::rotate(list); });
}

result<write_outcomes> database::write(writes ws) {
  return ask<write_outcomes>(*pool_, h_.db, timeout_, write_atom::value, std::move(ws));
}

status database::single(blaze::write w) {
  writes ws;
  ws.push_back(std::move(w));
  auto r = write(std::move(ws));
  if (!r)
    return r.error();
  return (*r)[0].st;
}

blaze::write make_insert(std::string collection, value_map fields) {
  auto w = make_write(write::kind::insert, collection, new_record_id());
  w.fields = std::move(fields);
  w.fresh_id = true;
  return w;
}

result<record_id> database::insert(const std::string& collection, value_map fields) {
  auto w = make_insert(collection, std::move(fields));
  auto id = w.record;
  if (auto s = single(std::move(w)); !s)
    return s;
  return id;
}

result<record_id> database::put(const std::string& collection, const record_id& id, value_map fields) {
  auto w = make_write(write::kind::insert, collection, id);
  w.fields = std::move(fields);
  if (auto s = single(std::move(w)); !s)
    return s;
  return id;
}

status database::update(const std::string& collection, const record_id& id, value_map fields) {
  auto w = make_write(write::kind::update, collection, id);
  w.fields = std::move(fields);
  return single(std::move(w));
}

status database::set(const std::string& collection, const record_id& id, std::string field, value v) {
  auto w = make_write(write::kind::set, collection, id);
  w.field = std::move(field);
  w.val = std::move(v);
  return single(std::move(w));
}

status database::increment(const std::string& collection, const record_id& id, std::string field, int64_t delta) {
  auto w = make_write(write::kind::increment, collection, id);
  w.field = std::move(field);
  w.delta = delta;
  return single(std::move(w));
}

status database::add(const std::string& collection, const record_id& id, std::string field, value element) {
  auto w = make_write(write::kind::add, collection, id);
  w.field = std::move(field);
  w.val = std::move(element);
  return single(std::move(w));
}

status database::remove(const std::string& collection, const record_id& id, std::string field, value element) {
  auto w = make_write(write::kind::remove, collection, id);
  w.field = std::move(field);
  w.val = std::move(element);
  return single(std::move(w));
}

status database::erase(const std::string& collection, const record_id& id) {
  return single(make_write(write::kind::remove_record, collection, id));
}

status database::create_index(const std::string& collection, std::string field) {
  auto w = make_write(write::kind::create_index, collection, {});
  w.field = std::move(field);
  return single(std::move(w));
}

status database::drop_index(const std::string& collection, std::string field) {
  auto w = make_write(write::kind::drop_index, collection, {});
  w.field = std::move(field);
  return single(std::move(w));
}

result<value_map> database::get(const std::string& collection, const record_id& id) const {
  return ask<value_map>(*pool_, h_.db, timeout_, get_atom::value, collection, id);
}

result<std::vector<row>> database::run(const blaze::query& q, query_stats* stats) const {
  auto r = ask<query_result>(*pool_, h_.db, timeout_, query_atom::value, q);
  if (!r)
    return r.error();
  if (stats)
    *stats = r->stats;
  return std::move(r->rows);
}

result<std::vector<row>> query_builder::run(query_stats* stats) const { return db_->run(q_, stats); }

result<conflicts> database::list_conflicts() const {
  return ask<conflicts>(*pool_, h_.db, timeout_, conflicts_atom::value);
}

status database::clear_conflicts(const std::string& collection, const record_id* id) {
  auto r = ask<bool>(*pool_, h_.db, timeout_, clear_atom::value, collection, id ? id->to_hex() : std::string());
  return r ? status{} : r.error();
}

result<uint64_t> database::resolve_conflict(const std::string& collection, const record_id& id,
                                           const std::string& field, value chosen) {
  return ask<uint64_t>(*pool_, h_.db, timeout_, resolve_atom::value, collection, id, field, std::move(chosen));
}

status database::set_durability(durability mode) {
  auto r = ask<bool>(*pool_, h_.db, timeout_, durable_atom::value, mode == durability::sync);
  return r ? status{} : r.error();
}

result<database_status> database::status_info() const {
  return ask<database_status>(*pool_, h_.db, timeout_, status_atom::value);
}

result<operations> database::operations_after(const version_vector& after, uint64_t max) const {
  return ask<operations>(*pool_, h_.log, timeout_, ops_atom::value, after, max);
}

result<apply_report> database::apply(operations ops) {
  return ask<apply_report>(*pool_, h_.db, timeout_, apply_atom::value, std::move(ops));
}

result<compact_report> database::compact(std::vector<node_id> forget) {
  return ask<compact_report>(*pool_, h_.db, timeout_, compact_atom::value, std::move(forget));
}

void database::write_async(writes ws, std::function<void(result<write_outcomes>)> done) {
  ask_async<write_outcomes>(*sys_, h_.db, timeout_, std::move(done), write_atom::value, std::move(ws));
}

void database::get_async(std::string collection, record_id id, std::function<void(result<value_map>)> done) const {
  ask_async<value_map>(*sys_, h_.db, timeout_, std::move(done), get_atom::value, std::move(collection), id);
}

void database::run_async(blaze::query q, std::function<void(result<std::vector<row>>)> done) const {
  ask_async<query_result>(*sys_, h_.db, timeout_,
                          std::function<void(result<query_result>)>([done](result<query_result> r) {
                            if (r)
                              done(std::move(r->rows));
                            else
                              done(r.error());
                          }),
                          query_atom::value, std::move(q));
}

subscription database::subscribe(std::string collection, std::function<void(const change&)> fn) {
  detail::unpin_caf_logger unpin;
  auto listener = sys_->spawn([fn, db = h_.db](caf::event_based_actor* self) -> caf::behavior {
    // The listener ends with the database actor (closed, or its node shut
    // down): a subscription still held then must not keep the actor system
    // alive (~node waits for every actor). A monitor, not a link: cancelling
    // the subscription must not take the database down.
    self->monitor(db);
    self->set_down_handler([self](const caf::down_msg&) { self->quit(); });
    return {[fn](change_atom, const change& c) { fn(c); }};
  });
  auto ok = ask<bool>(*pool_, h_.db, timeout_, subscribe_atom::value, listener, std::move(collection));
  if (!ok) {
    caf::anon_send_exit(listener, caf::exit_reason::user_shutdown);
    return {};
  }
  return subscription(sys_, h_.db, listener);
}

} // namespace blaze
