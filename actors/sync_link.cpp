#include "actors/sync_link.hpp"

#include "actors/errors.hpp"
#include "actors/messages.hpp"
#include "core/codec.hpp"
#include "core/crypto/wire.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <random>
#include <set>

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(blaze::connection_ptr)

namespace blaze {

namespace {

uint64_t steady_ms() {
  using namespace std::chrono;
  return static_cast<uint64_t>(duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count());
}

bool matches(const std::vector<std::string>& filter, const std::string& c) {
  return filter.empty() || std::find(filter.begin(), filter.end(), c) != filter.end();
}

uint64_t lacking(const version_vector& have, const version_vector& want) {
  uint64_t n = 0;
  for (auto& [o, s] : want.entries())
    if (s > have.get(o))
      n += s - have.get(o);
  return n;
}

// The machine's view of a database: reads come straight from the store
// (safe from any thread); applied operations and coverage are staged and
// then committed through the database actor by the link.
class staged_store final : public sync::sync_store {
public:
  staged_store(std::weak_ptr<store> st, std::vector<std::string> filter, limits lim)
    : st_(std::move(st)), filter_(std::move(filter)), lim_(lim) {}

  /// Points a store-less instance (a database a relay creates only once the
  /// peer proved its key: `unbound` in link_state) at the database. Before
  /// that it answers as an empty database with no access list.
  void bind(std::weak_ptr<store> st, limits lim) {
    st_ = std::move(st);
    lim_ = lim;
  }

  version_vector versions() const override {
    version_vector vv;
    if (auto s = st_.lock())
      vv = s->versions();
    vv.merge(staged_vv_);
    return vv;
  }

  chunk ops_after(const version_vector& have, const std::vector<std::string>& collections,
                  size_t max_bytes) const override {
    chunk c;
    auto s = st_.lock();
    if (!s)
      return c;
    auto mine = s->versions();
    // The access list's authors first: a peer judges data by the list (and a
    // joining one takes none without it), so it must arrive ahead of data.
    auto first = s->access_authors();
    if (!first) {
      spdlog::error("sync: cannot read the access list of {}: {}", s->path().string(), first.error().message);
      return c;
    }
    version_vector base;
    auto logged = s->oplog_after(have, max_bytes, &base, *first);
    if (!logged) {
      spdlog::error("sync: cannot read the oplog of {}: {}", s->path().string(), logged.error().message);
      return c;
    }
    // An origin compacted past `have` since the machine checked base(): its
    // operations are not all in the log, so vouch for none of them (the
    // machine sends a snapshot first on its next turn).
    version_vector usable;
    for (auto& [o, seq] : mine.entries())
      if (have.get(o) >= base.get(o))
        usable.set(o, seq);
    mine = usable;
    size_t bytes = 0;
    for (auto& l : *logged)
      bytes += l.bytes.size();
    bool cut = bytes >= max_bytes;
    size_t i = 0;
    for (auto& r : ordered_first(mine.missing_from(have), *first)) {
      // (the log is read in the same order; skip an origin that appeared
      // after `mine` was read, or that was compacted past `have`)
      while (i < logged->size() && (*logged)[i].id.origin != r.origin &&
             have.get((*logged)[i].id.origin) >= mine.get((*logged)[i].id.origin))
        ++i;
      std::vector<logged_op> got;  // this origin's operations read, in seq order
      for (; i < logged->size() && (*logged)[i].id.origin == r.origin; ++i)
        if ((*logged)[i].id.seq <= r.through)
          got.push_back(std::move((*logged)[i]));
      bool last = i >= logged->size();
      // Every operation of the range the store holds was read, unless the
      // byte budget ran out in this origin.
      uint64_t through = !(cut && last) ? r.through : got.empty() ? r.after : got.back().id.seq;
      if (through == r.after)
        break;
      sync::op_range range{r.origin, r.after, through};
      // A signed range ends at one of the origin's heads (docs/protocol.md §5b).
      auto h = s->head_near(r.origin, r.after, through);
      if (!h) {
        spdlog::error("sync: cannot read chain heads of {}: {}", s->path().string(), h.error().message);
        break;
      }
      if (*h && !(*h)->signature.empty()) {
        auto& head = **h;
        if (head.seq < through) {
          while (!got.empty() && got.back().id.seq > head.seq)
            got.pop_back();
        } else if (head.seq > through) {
          auto more = s->oplog_range(r.origin, through, head.seq);
          if (!more || (!more->empty() && more->back().id.seq != head.seq)) {
            spdlog::error("sync: cannot read the operations up to a chain head in {}", s->path().string());
            break;
          }
          for (auto& l : *more)
            got.push_back(std::move(l));
        }
        range.through = head.seq;
        range.link = head.link;
        range.signature = head.signature;
        range.origin_key = head.key;
      }
      for (auto& l : got) {
        if (!collections.empty()) {
          auto op = decode_operation(l.bytes);
          if (!op || !matches(collections, op->collection)) {
            if (range.signed_head())  // the receiver recomputes the chain through it
              range.skipped += crypto::as_view(crypto::op_hash(l.bytes));
            continue;
          }
        }
        c.ops.push_back(std::move(l.bytes));
      }
      c.ranges.push_back(std::move(range));
      if (cut && last)
        break;
    }
    return c;
  }

  outcome apply(const operation& op, const std::string& encoded) override {
    uint64_t have = versions().get(op.id.origin);
    // A partial replica gets only its collections' operations: the machine
    // applies them within a range the peer vouches for, so a jump is no gap.
    if (op.id.seq > have + 1 && filter_.empty())
      return outcome::gap;
    if (!validate(op, lim_))
      return outcome::refused;
    if (!matches(filter_, op.collection))
      return outcome::refused;
    staged_.push_back(op);  // a known dot too: the store checks it for equivocation
    staged_bytes_.push_back(encoded);
    if (op.id.seq <= have)
      return outcome::duplicate;
    staged_vv_.set(op.id.origin, op.id.seq);
    return outcome::applied;
  }

  std::optional<crypto::chain_state> chain(const node_id& origin) const override {
    for (auto i = heads_.rbegin(); i != heads_.rend(); ++i)
      if (i->origin == origin) {
        crypto::chain_state cs;
        cs.seq = i->seq;
        cs.link = crypto::wire::to_array<32>(i->link);
        return cs;
      }
    auto s = st_.lock();
    return s ? s->chain(origin) : std::nullopt;
  }

  void verified(const sync::op_range& r) override {
    heads_.push_back(signed_head{r.origin, r.through, r.link, r.signature, r.origin_key});
  }

  std::string pull_problem(const std::string& peer_key) const override {
    auto s = st_.lock();
    if (!s)
      return {};
    auto list = s->access();
    if (!list)
      return "cannot read the access list: " + list.error().message;
    if (list->empty())
      return {};  // an open database
    auto key = crypto::ed25519_public_key::from_bytes(peer_key);
    if (!key)
      return "database " + s->options().database_id + " has an access list and the peer proved no key";
    auto node = crypto::node_id_of(*key);
    if (!list->may_store(node))
      return "node " + node.to_hex() + " is not a member of database " + s->options().database_id + " (rights " +
             to_string(list->rights_of(node)) + ")";
    return {};
  }

  uint64_t access_version() const override {
    auto s = st_.lock();
    return s ? s->access_generation() : 0;
  }

  std::string snapshot_problem(const std::string& peer_key) const override {
    auto s = st_.lock();
    if (!s || !s->sealed())
      return {};
    auto list = s->access();
    if (!list)
      return "cannot read the access list: " + list.error().message;
    auto key = crypto::ed25519_public_key::from_bytes(peer_key);
    if (key && list->can_read(crypto::node_id_of(*key)))
      return {};
    return "database " + s->options().database_id +
           " is end-to-end encrypted and its log was compacted before it was sealed: the peer lacks operations "
           "only a snapshot (plaintext states) could give, and it is not a reader";
  }

  std::string push_problem(const std::string& peer_key, const std::string& origin_key,
                           const operation& op) override {
    auto s = st_.lock();
    if (!s)
      return {};
    if (!list_) {
      auto l = s->access();
      if (!l)
        return "cannot read the access list: " + l.error().message;
      list_ = std::move(*l);
    }
    const std::string& db = s->options().database_id;
    auto key = crypto::ed25519_public_key::from_bytes(peer_key);
    auto author_key = crypto::ed25519_public_key::from_bytes(origin_key);
    // A forwarder (the peer, relaying another node's operations) must be a
    // member: checked at the end of the batch (batch_problem), by the list
    // as the batch leaves it, since the batch may carry the forwarder's own
    // grant (authentic: `_access` operations are judged by their author).
    // A list that was empty when the batch began is learnt from the batch
    // itself: its forwarder is not judged (a new replica cannot know yet).
    if (!list_started_) {
      list_started_ = !list_->empty();
      joining_ = s->awaiting_access();
    }
    if ((*list_started_ || joining_) && key && author_key && peer_key != origin_key) {
      forwarder_ = crypto::node_id_of(*key);
      forwarded_authors_.insert(crypto::node_id_of(*author_key));
    }
    bool bound = access::bound_owner(db).has_value();
    if (list_->empty() && !bound && op.collection != access::collection && !joining_)
      return {};  // an open database (a store made without a list: tests)
    if (!key || !author_key)
      return "database " + db + " has an access list: the peer and the operation's origin must prove their keys";
    auto node = crypto::node_id_of(*key);
    auto author = crypto::node_id_of(*author_key);
    // A joining database without its list yet: data is judged at the end of
    // the batch, by the list the batch brings (none: refused), so nothing
    // enters that its members would refuse.
    if (list_->empty() && op.collection != access::collection) {
      deferred_.push_back({author == node ? std::optional<node_id>(author) : std::nullopt, op});
      return {};
    }
    if (auto why = mode_problem(op); !why.empty())
      return why;
    // Data from its author's node: the author's rights. Forwarded data: its
    // rights were checked where it entered. The access list itself: always
    // its author's (admin; the owner when it is created).
    if (author == node || op.collection == access::collection)
      if (auto st = check_operation(*list_, author, op); !st)
        return st.message;
    if (op.collection == access::collection) {
      // later operations of the batch see it
      auto& state = access_states_[op.record];
      if (!state) {
        auto cur = s->state(op.collection, op.record);
        state = cur && *cur ? **cur : record_state{};
      }
      blaze::apply(*state, op);
      list_->put(op.record, state->view());
    }
    return {};
  }

  std::string batch_problem(const std::string&) override {
    if (!deferred_.empty()) {
      if (!list_ || list_->empty())
        return "database " + (list_ ? list_->database_id() : std::string()) +
               " is joining and has no access list yet: it takes data only with the list (from its owner or a "
               "member that holds it)";
      for (auto& [author, op] : deferred_) {
        if (author)  // from its author's node: its rights
          if (auto st = check_operation(*list_, *author, op); !st)
            return st.message;
        if (auto why = mode_problem(op); !why.empty())
          return why;
      }
    }
    if (!forwarder_ || !list_ || list_->empty() || list_->may_store(*forwarder_))
      return {};
    // Operations of the owner and admins may come from anyone: their
    // authors could grant the forwarder itself. A member joining through a
    // relay gets the owner's chain before the relay's grant at its end.
    if (std::all_of(forwarded_authors_.begin(), forwarded_authors_.end(),
                    [&](const node_id& a) { return list_->is_admin(a); }))
      return {};
    return "node " + forwarder_->to_hex() + " is not a member of database " + list_->database_id() +
           " and may not forward its operations";
  }

  // Data operations must be as the list says, whoever wrote them: sealed in
  // an end-to-end encrypted database, plaintext otherwise.
  std::string mode_problem(const operation& op) const {
    if (!list_ || list_->empty() || op.collection == access::collection)
      return {};
    bool sealed = op.k == operation::kind::sealed;
    if (sealed == list_->is_sealed())
      return {};
    return "operation " + op.id.origin.to_hex() + ":" + std::to_string(op.id.seq) + " is " +
           (sealed ? "sealed" : "plaintext") + " but database " + list_->database_id() + " is " +
           (list_->is_sealed() ? "end-to-end encrypted" : "plaintext");
  }

  void refused_input() override {
    if (auto s = st_.lock())
      s->count_refused_batch();
  }

  void cover(const sync::op_range& r) override {
    if (filter_.empty())
      return;
    cov_.ranges.push_back({r.origin, r.after, r.through});
    if (r.after <= versions().get(r.origin) && r.through > staged_vv_.get(r.origin))
      staged_vv_.set(r.origin, r.through);
  }

  version_vector base() const override {
    auto s = st_.lock();
    return s ? s->base() : version_vector{};
  }

  // Reads a snapshot from a store read point; fails once the store closed.
  class source final : public snapshot_source {
  public:
    source(std::weak_ptr<store> st, std::shared_ptr<store::snapshot_handle> h)
      : st_(std::move(st)), h_(std::move(h)) {}
    const version_vector& versions() const override { return h_->versions(); }
    std::vector<index_decl> indexes() const override { return h_->indexes(); }
    std::vector<sync::op_range> heads() const override {
      std::vector<sync::op_range> out;
      auto s = st_.lock();
      if (!s)
        return out;
      for (auto& [origin, seq] : h_->versions().entries()) {
        auto h = s->head_at(origin, seq);
        if (h && *h && !(*h)->signature.empty())
          out.push_back({origin, 0, seq, (*h)->link, (*h)->signature, (*h)->key});
      }
      return out;
    }
    part next(size_t max_bytes) override {
      part p;
      auto s = st_.lock();
      if (!s) {
        p.failed = true;
        return p;
      }
      auto r = s->snapshot_next(*h_, max_bytes, p.last);
      if (!r) {
        spdlog::error("sync: cannot read a snapshot of {}: {}", s->path().string(), r.error().message);
        p.failed = true;
        return p;
      }
      p.entries = std::move(*r);
      return p;
    }

  private:
    std::weak_ptr<store> st_;
    std::shared_ptr<store::snapshot_handle> h_;
  };

  std::unique_ptr<snapshot_source> snapshot(const std::vector<std::string>& collections) const override {
    auto s = st_.lock();
    if (!s)
      return nullptr;
    auto h = s->open_snapshot(collections);
    if (!h) {
      spdlog::error("sync: cannot open a snapshot of {}: {}", s->path().string(), h.error().message);
      return nullptr;
    }
    return std::make_unique<source>(st_, std::move(*h));
  }

  bool stage_snapshot(const node_id& peer, const sync::snapshot& c) override {
    parts_.push_back({peer, c.versions, c.entries, c.indexes, false, filter_});
    return true;
  }

  bool finish_snapshot(const node_id& peer, const version_vector& point,
                       const std::vector<sync::op_range>& heads) override {
    if (parts_.empty() || parts_.back().peer != peer || !(parts_.back().point == point))
      parts_.push_back({peer, point, {}, {}, false, filter_});
    parts_.back().finish = true;
    for (auto& h : heads)
      parts_.back().heads.push_back(signed_head{h.origin, h.through, h.link, h.signature, h.origin_key});
    staged_vv_.merge(point);  // what the Ack reports once the link committed it
    return true;
  }

  struct staged {
    operations ops;
    std::vector<std::string> encoded;  // ops[i] as received: the log keeps these bytes
    coverage_set cov;
    snapshot_parts parts;
  };
  /// What the last message staged; the link commits it.
  staged take() {
    staged out{std::move(staged_), std::move(staged_bytes_), std::move(cov_), std::move(parts_)};
    out.cov.collections = filter_;
    out.cov.heads = std::move(heads_);
    heads_.clear();
    list_.reset();
    forwarder_.reset();
    forwarded_authors_.clear();
    list_started_.reset();
    joining_ = false;
    deferred_.clear();
    access_states_.clear();
    staged_.clear();
    staged_bytes_.clear();
    cov_ = {};
    parts_.clear();
    staged_vv_ = {};
    return out;
  }

private:
  std::weak_ptr<store> st_;
  std::vector<std::string> filter_;
  limits lim_;
  operations staged_;
  std::vector<std::string> staged_bytes_;
  coverage_set cov_;
  snapshot_parts parts_;
  version_vector staged_vv_;
  std::vector<signed_head> heads_;  // verified by the session, committed with the operations
  // The access list as the current batch's accepted `_access` operations
  // leave it (loaded at its first check).
  std::optional<access_list> list_;
  std::map<record_id, std::optional<record_state>> access_states_;
  std::optional<node_id> forwarder_;  // forwarded operations came from this peer (batch_problem)
  std::set<node_id> forwarded_authors_;  // and were written by these nodes
  std::optional<bool> list_started_;  // the list was not empty when the batch began
  bool joining_ = false;  // the store awaited its list when the batch began
  // Data a joining store without its list received in this batch: judged by
  // batch_problem (the author when the peer wrote it itself).
  std::vector<std::pair<std::optional<node_id>, operation>> deferred_;
};

struct link_state {
  sync_link_config cfg;
  std::shared_ptr<link_monitor> mon;
  database_handles h;
  std::unique_ptr<staged_store> st;
  std::unique_ptr<sync::session> session;
  connection_ptr conn;
  uint64_t gen = 0;
  bool dialing = false;
  bool paused = false;
  std::chrono::milliseconds backoff{0};
  uint64_t received_at_open = 0;
  uint64_t expected = 0;
  bool initial_done = false;
  version_vector peer_has;
  version_vector recorded;  // what the database was told the peer holds
  // An accepting link for a database this node does not hold yet: the
  // handshake runs against an empty, store-less staged_store (`unbound`),
  // and the database is created only once the peer proved its key
  // (`binding` while the registry creates it; frames wait in `queued`).
  // An unauthenticated peer never makes this node create anything.
  bool unbound = false;
  bool binding = false;
  std::vector<std::string> queued;
  uint64_t t0 = steady_ms();  // the machine's clock counts from the link's start

  ~link_state() {
    if (conn)
      conn->close("the link stopped");
    // (A database acquired from the registry is released by the registry
    // when this actor's down message arrives.)
    if (mon)
      mon->update([](link_status& s) {
        s.connected = false;
        s.open = false;
        s.synced = false;
      });
  }
  static inline const char* name = "blaze.sync_link";
};

using link_actor = caf::stateful_actor<link_state>;

void send_all(link_actor* self, const std::vector<sync::envelope>& out) {
  auto& s = self->state;
  if (!s.conn)
    return;
  bool z = s.session && s.session->compress_to_peer();
  for (auto& e : out)
    spdlog::debug("sync {}: sending {}", s.h.name, sync::kind_name(e.msg));
  for (auto& e : out)
    s.conn->send(sync::encode(e, z));
}

// Sends an Error and closes the connection (after the Error is written).
void refuse(link_actor* self, sync::error_code code, const std::string& why) {
  auto& s = self->state;
  spdlog::warn("sync {} with {}: {} ({})", s.cfg.database.empty() ? s.h.name : s.cfg.database,
               s.conn ? s.conn->describe() : "?", why, sync::to_string(code));
  if (s.conn) {
    s.conn->send(sync::encode(sync::envelope{sync::protocol_version, sync::error{code, why}}));
    s.conn->close(why);
  }
  s.mon->update([&](link_status& st) { st.last_error = std::string(sync::to_string(code)) + ": " + why; });
}

// After every event: close when the machine failed; publish the status.
void settle(link_actor* self) {
  auto& s = self->state;
  if (!s.session)
    return;
  auto& m = *s.session;
  if (m.is_closed() && s.conn) {
    s.conn->close(m.last_error().message);
  }
  auto mine = s.st->versions();
  auto peer = m.acknowledged();
  peer.merge(s.peer_has);
  bool synced = m.is_open() && m.peer_caught_up() && m.in_flight() == 0 && peer.dominates(mine);
  uint64_t received = m.applied_ops();
  s.mon->update([&](link_status& st) {
    st.open = m.is_open();
    st.peer = m.peer();
    st.peer_key = m.peer_key();
    st.channel_bound = m.channel_bound();
    st.synced = synced;
    st.peer_holds = peer;
    st.behind = lacking(mine, s.peer_has);
    st.unacked = lacking(peer, mine);
    st.received = received;
    st.sent = m.sent_ops();
    if (m.last_error().code != sync::error_code::none)
      st.last_error = std::string(sync::to_string(m.last_error().code)) + ": " + m.last_error().message;
  });
  if (m.is_open())
    s.backoff = s.cfg.min_backoff;
  if (!s.initial_done && s.mon->on_progress && m.is_open()) {
    sync_progress p{s.h.name, received - s.received_at_open, s.expected, m.peer_caught_up()};
    s.mon->on_progress(p);
    if (p.caught_up)
      s.initial_done = true;
  }
}

// Tells the database what the peer holds (what it acknowledged, requested
// from or sent us): the input of the compaction point. Only when it grew.
void record_peer(link_actor* self) {
  auto& s = self->state;
  if (!s.session || s.session->peer().is_zero() || !s.h.db)
    return;
  auto held = s.session->acknowledged();
  held.merge(s.peer_has);
  if (s.recorded.dominates(held))
    return;
  s.recorded.merge(held);
  caf::anon_send(s.h.db, peer_ack_atom::value, s.session->peer(), s.recorded);
}

void feed(link_actor* self, const sync::envelope& e) {
  auto& s = self->state;
  if (auto* r = std::get_if<sync::sync_request>(&e.msg)) {
    auto partial = [&] {
      auto st = s.h.st.lock();
      return st ? st->partial() : std::vector<std::string>{};
    }();
    if (!partial.empty()) {
      bool subset = !r->collections.empty() && std::all_of(r->collections.begin(), r->collections.end(),
                                                           [&](auto& c) { return matches(partial, c); });
      if (!subset) {
        std::string list;
        for (auto& c : partial)
          list += (list.empty() ? "" : ",") + c;
        return refuse(self, sync::error_code::refused,
                      "this replica of '" + s.h.name + "' holds only collections " + list +
                        "; sync with a replica that holds the collections you ask for");
      }
    }
    s.peer_has.merge(r->versions);
    s.expected = lacking(s.st->versions(), r->versions);
    s.received_at_open = s.session->applied_ops();
  } else if (auto* c = std::get_if<sync::caught_up>(&e.msg)) {
    s.peer_has.merge(c->versions);
  } else if (auto* b = std::get_if<sync::op_batch>(&e.msg)) {
    for (auto& r : b->ranges)
      if (r.through > s.peer_has.get(r.origin))
        s.peer_has.set(r.origin, r.through);  // the peer holds what it sends
  } else if (auto* sn = std::get_if<sync::snapshot>(&e.msg)) {
    s.peer_has.merge(sn->versions);
  }
  auto out = s.session->on_message(e);
  record_peer(self);
  auto staged = s.st->take();
  if (!staged.parts.empty()) {
    // a snapshot chunk: staged (and a finished snapshot joined) through the
    // database actor before the Ack goes out
    auto gen = s.gen;
    self->request(s.h.db, caf::duration{s.cfg.request_timeout}, merge_atom::value, std::move(staged.parts))
      .await(
        [self, out = std::move(out), gen](bool) {
          if (gen != self->state.gen)
            return;
          send_all(self, out);
          settle(self);
        },
        [self, gen](caf::error& err) {
          if (gen == self->state.gen)
            refuse(self, sync::error_code::refused, "cannot take the snapshot: " + to_status(err).message);
        });
    return;
  }
  if (staged.ops.empty() && staged.cov.ranges.empty() && staged.cov.heads.empty()) {
    send_all(self, out);
    settle(self);
    return;
  }
  auto gen = s.gen;
  auto done = [self, out = std::move(out), gen](apply_report& rep) {
    auto& s = self->state;
    if (gen != s.gen)
      return;  // the connection that delivered the batch is gone
    if (!rep.refused.empty()) {
      auto& [d, why] = rep.refused.front();
      return refuse(self, sync::error_code::refused,
                    "operation " + d.origin.to_hex() + ":" + std::to_string(d.seq) + " was refused: " + why.message);
    }
    send_all(self, out);
    settle(self);
  };
  auto failed = [self](caf::error& err) {
    refuse(self, sync::error_code::refused, "cannot apply operations: " + to_status(err).message);
  };
  auto timeout = caf::duration{self->state.cfg.request_timeout};
  self->request(s.h.db, timeout, apply_atom::value, std::move(staged.ops), std::move(staged.encoded),
                std::move(staged.cov))
    .await(done, failed);
}

void attach(link_actor* self, const database_handles& h) {
  auto& s = self->state;
  s.h = h;
  auto st = h.st.lock();
  limits lim = st ? st->options().lim : limits{};
  s.st = std::make_unique<staged_store>(h.st, s.cfg.collections, lim);
  s.mon->set_store(h.st);
  auto opt = s.cfg.proto;
  opt.database = h.name;
  opt.self = s.cfg.self;
  opt.initiator = static_cast<bool>(s.cfg.dial);
  opt.collections = s.cfg.collections;
  s.session = std::make_unique<sync::session>(*s.st, opt);
  self->monitor(h.db);
  caf::anon_send(h.db, watch_atom::value, caf::actor{self});
  s.mon->update([&](link_status& st) { st.database = h.name; });
}

// Starts the session on the current connection, bound to its TLS channel
// when it has one (connection::channel_binding, docs/protocol.md §3).
void start_session(link_actor* self) {
  auto& s = self->state;
  auto binding = s.conn ? s.conn->channel_binding() : std::string();
  const bool tls = !binding.empty();  // (before the move: argument order is unspecified)
  s.session->set_channel(tls, std::move(binding));
  send_all(self, s.session->start());
}

// An accepting link's session before its database exists (link_state::unbound).
void attach_unbound(link_actor* self, const std::string& name) {
  auto& s = self->state;
  s.h = database_handles{};
  s.h.name = name;
  s.unbound = true;
  s.st = std::make_unique<staged_store>(std::weak_ptr<store>{}, s.cfg.collections, limits{});
  auto opt = s.cfg.proto;
  opt.database = name;
  opt.self = s.cfg.self;
  opt.initiator = false;
  opt.collections = s.cfg.collections;
  s.session = std::make_unique<sync::session>(*s.st, opt);
  s.mon->update([&](link_status& st) { st.database = name; });
}

void on_frame(link_actor* self, std::string& payload);

// Once an unbound session is open (the peer proved its key), creates the
// database and binds the link to it; the frames that came meanwhile follow.
void bind_when_open(link_actor* self) {
  auto& s = self->state;
  if (!s.unbound || !s.session || !s.session->is_open())
    return;
  s.unbound = false;
  s.binding = true;
  auto gen = s.gen;
  self->request(s.cfg.registry, caf::duration{s.cfg.request_timeout}, acquire_atom::value, s.h.name, true)
    .await(
      [self, gen](database_handles& h) {
        auto& s = self->state;
        if (gen != s.gen)
          return;
        s.h = h;
        auto st = h.st.lock();
        s.st->bind(h.st, st ? st->options().lim : limits{});
        self->monitor(h.db);
        caf::anon_send(h.db, watch_atom::value, caf::actor{self});
        s.binding = false;
        auto queued = std::move(s.queued);
        s.queued.clear();
        for (auto& f : queued)
          if (gen == s.gen && s.conn)
            on_frame(self, f);
        settle(self);
      },
      [self, gen](caf::error& err) {
        auto& s = self->state;
        if (gen == s.gen)
          refuse(self, sync::error_code::unknown_database,
                 "cannot create database '" + s.h.name + "': " + to_status(err).message);
      });
}

void on_frame(link_actor* self, std::string& payload) {
  auto& s = self->state;
  if (s.binding) {
    s.queued.push_back(std::move(payload));
    return;
  }
  auto e = sync::decode_envelope(payload, s.cfg.wire);
  spdlog::debug("sync {}: received {} ({} bytes)", s.h.name, e ? sync::kind_name(e->msg) : "garbage", payload.size());
  if (!e)
    return refuse(self, sync::error_code::corrupt, "malformed message: " + e.error().message);
  if (e->version != sync::protocol_version)
    return refuse(self, sync::error_code::version_mismatch,
                  "protocol version " + std::to_string(e->version) + " is not spoken here (this node speaks " +
                    std::to_string(sync::protocol_version) + ")");
  if (s.session) {
    feed(self, *e);
    bind_when_open(self);
    return;
  }
  // An accepting link learns its database from the Hello.
  auto* hello = std::get_if<sync::hello>(&e->msg);
  if (!hello)
    return refuse(self, sync::error_code::unexpected,
                  std::string("expected Hello, got ") + sync::kind_name(e->msg));
  if (auto v = validate_database_name(hello->database); !v)
    return refuse(self, sync::error_code::unknown_database, v.message);
  // An existing database is attached at once; a new one only after the
  // peer's proof (attach_unbound, bind_when_open).
  auto gen = s.gen;
  self->request(s.cfg.registry, caf::duration{s.cfg.request_timeout}, acquire_atom::value, hello->database, false)
    .await(
      [self, env = *e, gen](database_handles& h) {
        if (gen != self->state.gen)
          return;
        attach(self, h);
        start_session(self);  // the machine now awaits the Hello
        feed(self, env);
      },
      [self, env = *e, gen, db = hello->database](caf::error& err) {
        auto& s = self->state;
        if (gen != s.gen)
          return;
        auto why = to_status(err);
        if (why.code != errc::unknown_database || !s.cfg.create_databases)
          return refuse(self, sync::error_code::unknown_database, "cannot open database '" + db + "': " + why.message);
        attach_unbound(self, db);
        start_session(self);
        feed(self, env);
        bind_when_open(self);
      });
}

void dial(link_actor* self) {
  auto& s = self->state;
  if (s.dialing || s.conn || s.paused || !s.cfg.dial)
    return;
  s.dialing = true;
  caf::actor me{self};
  s.cfg.dial([me](result<connection_ptr> r) {
    if (r)
      caf::anon_send(me, connected_atom::value, std::move(*r));
    else
      caf::anon_send(me, connected_atom::value, r.error().message);
  });
}

void start_connection(link_actor* self, connection_ptr c) {
  auto& s = self->state;
  s.conn = std::move(c);
  auto gen = ++s.gen;
  caf::actor me{self};
  s.conn->start({
    [me, gen](std::string p) { caf::anon_send(me, frame_atom::value, gen, std::move(p)); },
    [me, gen](std::string why) { caf::anon_send(me, fault_atom::value, gen, std::move(why)); },
    [me, gen](std::string why) { caf::anon_send(me, linkdown_atom::value, gen, std::move(why)); },
  });
  auto addr = s.conn->describe();
  s.mon->update([&](link_status& st) {
    st.connected = true;
    st.address = addr;
    ++st.connects;
  });
  if (s.session) {
    start_session(self);
    settle(self);
  }
}

void schedule_redial(link_actor* self) {
  auto& s = self->state;
  if (!s.cfg.dial || s.paused)
    return;
  auto d = std::max(s.backoff, s.cfg.min_backoff);
  static thread_local std::minstd_rand rng{std::random_device{}()};
  auto jittered = std::chrono::milliseconds(d.count() / 2 + std::uniform_int_distribution<int64_t>(0, d.count() / 2)(rng));
  s.backoff = std::min(d * 2, s.cfg.max_backoff);
  self->delayed_send(self, jittered, redial_atom::value);
}

caf::behavior sync_link_impl(link_actor* self, sync_link_config cfg) {
  auto& s = self->state;
  s.mon = cfg.monitor;
  s.cfg = std::move(cfg);
  // A partial replica still takes the access list: without it the database
  // stays joining, and sealed operations stay unopened (docs/security.md §3).
  if (!s.cfg.collections.empty() && !matches(s.cfg.collections, std::string(access::collection)))
    s.cfg.collections.emplace_back(access::collection);
  s.backoff = s.cfg.min_backoff;
  self->set_down_handler([self](const caf::down_msg& dm) {
    auto& s = self->state;
    if (s.h.db && dm.source == s.h.db.address()) {
      refuse(self, sync::error_code::unknown_database, "database '" + s.h.name + "' was closed");
      self->quit();
    }
  });
  self->delayed_send(self, std::chrono::seconds(1), tick_atom::value);
  if (s.cfg.accepted) {
    start_connection(self, std::move(s.cfg.accepted));
  } else {
    self->request(s.cfg.registry, caf::duration{s.cfg.request_timeout}, acquire_atom::value, s.cfg.database, true)
      .await(
        [self](database_handles& h) {
          attach(self, h);
          dial(self);
        },
        [self](caf::error& err) {
          auto why = to_status(err).message;
          spdlog::error("sync: cannot open database '{}': {}", self->state.cfg.database, why);
          self->state.mon->update([&](link_status& st) { st.last_error = why; });
          self->quit(err);
        });
  }
  return {
    [self](frame_atom, uint64_t gen, std::string& payload) {
      if (gen == self->state.gen && self->state.conn)
        on_frame(self, payload);
    },
    [self](fault_atom, uint64_t gen, const std::string& why) {
      if (gen == self->state.gen)
        refuse(self, sync::error_code::corrupt, why);
    },
    [self](linkdown_atom, uint64_t gen, const std::string& why) {
      auto& s = self->state;
      if (gen != s.gen)
        return;
      s.conn = nullptr;
      if (s.session)
        s.session->on_disconnect();
      s.mon->update([&](link_status& st) {
        st.connected = false;
        st.open = false;
        st.synced = false;
        if (why != "paused" && st.last_error.empty())
          st.last_error = why;
      });
      spdlog::info("sync {}: connection closed: {}", s.h.name, why);
      if (!s.cfg.dial)
        self->quit();
      else
        schedule_redial(self);
    },
    [self](connected_atom, connection_ptr& c) {
      auto& s = self->state;
      s.dialing = false;
      if (s.paused || s.conn) {
        c->close("paused");
        return;
      }
      start_connection(self, std::move(c));
    },
    [self](connected_atom, const std::string& why) {
      auto& s = self->state;
      s.dialing = false;
      s.mon->update([&](link_status& st) { st.last_error = why; });
      spdlog::debug("sync {}: {}", s.cfg.database, why);
      schedule_redial(self);
    },
    [self](redial_atom) { dial(self); },
    [self](committed_atom) {
      auto& s = self->state;
      if (s.conn && s.session && s.session->is_open()) {
        send_all(self, s.session->on_local_commit());
        settle(self);
      }
    },
    [self](tick_atom) {
      auto& s = self->state;
      if (s.session) {  // also while disconnected: the machine's clock must not go stale
        send_all(self, s.session->on_tick(steady_ms() - s.t0));
        settle(self);
      }
      self->delayed_send(self, std::chrono::seconds(1), tick_atom::value);
    },
    [self](pause_atom) {
      auto& s = self->state;
      s.paused = true;
      s.mon->update([](link_status& st) { st.paused = true; });
      if (s.conn)
        s.conn->close("paused");
    },
    [self](resume_atom) {
      auto& s = self->state;
      s.paused = false;
      s.mon->update([](link_status& st) { st.paused = false; });
      s.backoff = s.cfg.min_backoff;
      dial(self);
    },
    [self](sync_now_atom) {
      auto& s = self->state;
      if (!s.conn) {
        s.backoff = s.cfg.min_backoff;
        dial(self);
      } else if (s.session && s.session->is_open()) {
        send_all(self, s.session->on_local_commit());
        settle(self);
      }
    },
  };
}

} // namespace

caf::actor spawn_sync_link(caf::actor_system& sys, sync_link_config cfg) {
  return sys.spawn(sync_link_impl, std::move(cfg));
}

} // namespace blaze
