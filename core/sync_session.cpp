#include "core/sync_session.hpp"

#include "core/codec.hpp"
#include "core/crypto/ed25519.hpp"
#include "core/crypto/wire.hpp"

#include <algorithm>
#include <map>

namespace blaze::sync {

const char* to_string(session::state s) {
  switch (s) {
    case session::state::idle: return "idle";
    case session::state::awaiting_welcome: return "awaiting_welcome";
    case session::state::awaiting_hello: return "awaiting_hello";
    case session::state::awaiting_auth: return "awaiting_auth";
    case session::state::open: return "open";
    case session::state::closed: return "closed";
  }
  return "unknown";
}

session::session(sync_store& store, session_options opt) : store_(store), opt_(std::move(opt)) {}

namespace {

void put_field(std::string& out, std::string_view bytes) {
  auto n = static_cast<uint32_t>(bytes.size());
  for (int shift = 24; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((n >> shift) & 0xff));
  out.append(bytes);
}

std::string id_bytes(const node_id& id) {
  unsigned char b[16];
  id.to_bytes(b);
  return std::string(reinterpret_cast<const char*>(b), 16);
}

} // namespace

std::string handshake_transcript(char role, const hello& h, const welcome& w, std::string_view channel) {
  std::string out = "blazedb sync handshake v1";
  out.push_back('\0');
  out.push_back(role);
  put_field(out, id_bytes(h.node));
  put_field(out, h.database);
  put_field(out, std::string{static_cast<char>(h.zstd), static_cast<char>(h.snapshots)});
  put_field(out, h.public_key);
  put_field(out, h.challenge);
  put_field(out, id_bytes(w.node));
  put_field(out, w.database);
  put_field(out, std::string{static_cast<char>(w.zstd), static_cast<char>(w.snapshots)});
  put_field(out, w.public_key);
  put_field(out, w.challenge);
  if (h.tls || w.tls) {  // (absent from a transcript without TLS: unchanged from before)
    put_field(out, std::string{static_cast<char>(h.tls), static_cast<char>(w.tls)});
    if (h.tls && w.tls)
      put_field(out, channel);
  }
  return out;
}

std::string session::key_problem(const std::string& key, const std::string& challenge, const node_id& claimed) const {
  if (key.size() != 32)
    return "the peer presented no 32-byte node key (a BlazeDB without authentication?)";
  if (challenge.size() != 32)
    return "the peer's handshake carries no 32-byte challenge";
  if (auto id = opt_.auth->node_of(key); id != claimed)
    return "the peer claims node " + claimed.to_hex() + " but its key is node " + id.to_hex() + "'s";
  return {};
}

void session::set_peer(const node_id& peer, const std::string& key) {
  if (peer != peer_)
    acked_ = version_vector{};
  peer_ = peer;
  peer_key_ = key;
}

void session::send(std::vector<envelope>& out, message m) {
  out.push_back(envelope{protocol_version, std::move(m)});
  last_sent_ = now_;
}

std::vector<envelope> session::fail(error_code c, std::string msg) {
  std::vector<envelope> out;
  fail_into(out, c, std::move(msg));
  return out;
}

void session::fail_into(std::vector<envelope>& out, error_code c, std::string msg) {
  last_error_ = error{c, std::move(msg)};
  send(out, last_error_);
  state_ = state::closed;
  snap_.reset();
}

void session::on_disconnect() {
  state_ = state::idle;
  peer_requested_ = false;
  pull_withheld_ = false;
  peer_filter_.clear();
  cursor_ = version_vector{};
  inflight_.clear();
  inflight_bytes_ = 0;
  caught_up_sent_ = false;
  peer_caught_up_ = false;
  rerequest_pending_ = false;
  snap_.reset();
  snap_chunk_ = 0;
  recv_.reset();
  // acked_ and peer_ are kept: a new connection resumes from what was acknowledged.
}

std::vector<envelope> session::start() {
  on_disconnect();
  last_error_ = error{};
  last_heard_ = now_;
  std::vector<envelope> out;
  if (opt_.initiator) {
    state_ = state::awaiting_welcome;
    hello_ = hello{opt_.self, opt_.database, opt_.compress, opt_.snapshots};
    hello_.tls = tls_;
    if (opt_.auth) {
      hello_.public_key = opt_.auth->public_key();
      hello_.challenge = opt_.auth->challenge();
    }
    send(out, hello_);
  } else {
    state_ = state::awaiting_hello;
  }
  return out;
}

void session::open(std::vector<envelope>& out) {
  state_ = state::open;
  peer_caught_up_ = false;
  rerequest_pending_ = false;
  send(out, sync_request{opt_.database, opt_.collections, store_.versions()});
}

std::vector<envelope> session::on_hello(const hello& m) {
  if (state_ == state::open || state_ == state::awaiting_auth) {
    if (m.node == peer_ && m.database == opt_.database)
      return {};  // a duplicate of the handshake (changes nothing)
    return fail(error_code::unexpected, "Hello is not expected in state " + std::string(to_string(state_)));
  }
  if (m.database != opt_.database)
    return fail(error_code::unknown_database,
                "database '" + m.database + "' is not served on this link (expected '" + opt_.database + "')");
  if (opt_.auth)
    if (auto why = key_problem(m.public_key, m.challenge, m.node); !why.empty())
      return fail(error_code::unauthenticated, why);
  set_peer(m.node, opt_.auth ? m.public_key : std::string{});
  peer_zstd_ = m.zstd;
  peer_snapshots_ = m.snapshots;
  hello_ = m;
  welcome_ = welcome{opt_.self, opt_.database, opt_.compress, opt_.snapshots};
  welcome_.tls = tls_;
  std::vector<envelope> out;
  if (!opt_.auth) {
    send(out, welcome_);
    open(out);
    return out;
  }
  welcome_.public_key = opt_.auth->public_key();
  welcome_.challenge = opt_.auth->challenge();
  auto signed_welcome = welcome_;
  signed_welcome.signature = opt_.auth->sign(handshake_transcript('W', hello_, welcome_, channel_));
  send(out, std::move(signed_welcome));
  state_ = state::awaiting_auth;  // opens once the peer proves its key
  return out;
}

std::vector<envelope> session::on_welcome(const welcome& m) {
  auto unsigned_welcome = m;
  unsigned_welcome.signature.clear();
  if (state_ == state::open) {
    if (m.node == peer_ && m.database == opt_.database)
      return {};  // a duplicate of the handshake (changes nothing)
    return fail(error_code::unexpected, "Welcome is not expected in state open");
  }
  if (state_ != state::awaiting_welcome)
    return fail(error_code::unexpected, "Welcome is not expected in state " + std::string(to_string(state_)));
  if (m.database != opt_.database)
    return fail(error_code::unknown_database,
                "database '" + m.database + "' is not served on this link (expected '" + opt_.database + "')");
  std::vector<envelope> out;
  if (opt_.auth) {
    if (auto why = key_problem(m.public_key, m.challenge, m.node); !why.empty())
      return fail(error_code::unauthenticated, why);
    if (!opt_.auth->verify(m.public_key, handshake_transcript('W', hello_, unsigned_welcome, channel_), m.signature))
      return fail(error_code::unauthenticated,
                  hello_.tls && m.tls
                    ? "the Welcome's signature does not verify over this TLS channel: the peer does not hold the "
                      "key of node " + m.node.to_hex() + ", or the TLS connection is not the peer's own (a man in "
                      "the middle)"
                    : "the Welcome's signature does not verify: the peer does not hold the key of node " +
                        m.node.to_hex());
  }
  set_peer(m.node, opt_.auth ? m.public_key : std::string{});
  peer_zstd_ = m.zstd;
  peer_snapshots_ = m.snapshots;
  welcome_ = unsigned_welcome;
  if (opt_.auth)
    send(out, auth{opt_.auth->sign(handshake_transcript('A', hello_, welcome_, channel_))});
  open(out);
  return out;
}

std::vector<envelope> session::on_auth(const auth& m) {
  if (!opt_.auth->verify(peer_key_, handshake_transcript('A', hello_, welcome_, channel_), m.signature))
    return fail(error_code::unauthenticated,
                hello_.tls && welcome_.tls
                  ? "the Auth signature does not verify over this TLS channel: the peer does not hold the key of "
                    "node " + peer_.to_hex() + ", or the TLS connection is not the peer's own (a man in the middle)"
                  : "the Auth signature does not verify: the peer does not hold the key of node " + peer_.to_hex());
  std::vector<envelope> out;
  open(out);
  return out;
}

std::vector<envelope> session::on_message(const envelope& e) {
  if (state_ == state::closed || state_ == state::idle)
    return {};
  last_heard_ = now_;
  if (e.version != protocol_version)
    return fail(error_code::version_mismatch,
                "protocol version " + std::to_string(e.version) + " is not supported (this side speaks " +
                  std::to_string(protocol_version) + ")");
  std::vector<envelope> out;
  auto unexpected = [&] {
    return fail(error_code::unexpected,
                std::string(kind_name(e.msg)) + " is not expected in state " + to_string(state_));
  };
  auto wrong_db = [&](const std::string& db) {
    return fail(error_code::unknown_database,
                "database '" + db + "' is not served on this link (expected '" + opt_.database + "')");
  };
  if (auto* m = std::get_if<error>(&e.msg)) {
    last_error_ = *m;
    state_ = state::closed;
    return {};
  }
  if (std::holds_alternative<ping>(e.msg))
    return {};
  if (auto* m = std::get_if<hello>(&e.msg))
    return opt_.initiator ? unexpected() : on_hello(*m);
  if (auto* m = std::get_if<welcome>(&e.msg))
    return !opt_.initiator ? unexpected() : on_welcome(*m);
  if (auto* m = std::get_if<auth>(&e.msg)) {
    if (opt_.initiator || state_ != state::awaiting_auth)
      return unexpected();
    return on_auth(*m);
  }
  if (state_ != state::open || std::holds_alternative<std::monostate>(e.msg))
    return unexpected();
  if (auto* m = std::get_if<sync_request>(&e.msg)) {
    if (m->database != opt_.database)
      return wrong_db(m->database);
    // The accepting side refuses a peer its list does not admit. The
    // dialing side withholds instead (pump retries): its own list may be
    // older than the peer's, and the peer is where the grant comes from.
    judged_access_ = store_.access_version();
    if (auto why = store_.pull_problem(peer_key_); !why.empty()) {
      if (!opt_.initiator)
        return fail(error_code::forbidden, why);
      pull_withheld_ = true;
    }
    peer_requested_ = true;
    peer_filter_ = m->collections;
    cursor_ = m->versions;
    cursor_.merge(acked_);
    // The request supersedes everything sent before it: what the peer lacks
    // is resent, so earlier flights no longer hold the window.
    inflight_.clear();
    inflight_bytes_ = 0;
    caught_up_sent_ = false;
    snap_.reset();  // a snapshot being sent restarts (at a new point) if still needed
    pump(out);
    return out;
  }
  if (auto* m = std::get_if<op_batch>(&e.msg)) {
    if (m->database != opt_.database)
      return wrong_db(m->database);
    return on_batch(*m);
  }
  if (auto* m = std::get_if<caught_up>(&e.msg)) {
    if (m->database != opt_.database)
      return wrong_db(m->database);
    cursor_.merge(m->versions);
    peer_caught_up_ = true;
    rerequest_pending_ = false;
    return {};
  }
  if (auto* m = std::get_if<ack>(&e.msg)) {
    if (m->database != opt_.database)
      return wrong_db(m->database);
    acked_.merge(m->versions);
    cursor_.merge(m->versions);
    release(acked_, m->snapshot_chunk);
    pump(out);
    return out;
  }
  if (auto* m = std::get_if<snapshot>(&e.msg)) {
    if (m->database != opt_.database)
      return wrong_db(m->database);
    return on_snapshot(*m);
  }
  return unexpected();
}

std::vector<envelope> session::on_snapshot(const snapshot& m) {
  if (!opt_.snapshots)
    return fail(error_code::unexpected, "Snapshot: this side did not offer to accept snapshots");
  auto chunk_name = [&] { return "Snapshot chunk " + std::to_string(m.chunk); };
  auto wanted = [&](const std::string& c) {
    return opt_.collections.empty() ||
           std::find(opt_.collections.begin(), opt_.collections.end(), c) != opt_.collections.end();
  };
  for (auto& e : m.entries) {
    if (!wanted(e.collection))
      return fail(error_code::refused, chunk_name() + ": record of collection '" + e.collection +
                                         "', which this side does not sync");
    if (auto st = decode_record(e.state); !st)
      return fail(error_code::corrupt, chunk_name() + ": record " + e.record.to_hex() + ": " +
                                         st.error().to_string());
  }
  for (auto& d : m.indexes)
    if (!wanted(d.collection))
      return fail(error_code::refused, chunk_name() + ": index of collection '" + d.collection +
                                         "', which this side does not sync");
  if (m.chunk == 0) {
    // Signed heads vouch for the chain position the snapshot leaves each
    // origin at (its states are trusted from the authenticated peer).
    for (auto& h : m.heads)
      if (auto why = head_problem(h); !why.empty()) {
        store_.refused_input();
        return fail(error_code::refused, chunk_name() + ": " + why);
      }
    if (opt_.auth) {
      auto held = store_.versions();
      for (auto& [o, seq] : m.versions.entries()) {
        if (seq <= held.get(o))
          continue;
        bool headed = std::any_of(m.heads.begin(), m.heads.end(),
                                  [&](const op_range& h) { return h.origin == o && h.through == seq; });
        if (!headed) {
          store_.refused_input();
          return fail(error_code::unauthenticated, chunk_name() + ": no signed head of origin " + o.to_hex() +
                                                     " at seq " + std::to_string(seq));
        }
      }
    }
  }
  // The peer holds what the snapshot covers: never send it back.
  cursor_.merge(m.versions);
  // Stage it unless it brings nothing (this side holds every operation it
  // covers) or it is a late copy of a chunk of an older snapshot.
  bool useful = !store_.versions().dominates(m.versions);
  if (useful && (!recv_ || !(recv_->versions == m.versions))) {
    if (recv_ && recv_->versions.dominates(m.versions))
      useful = false;
    else
      recv_ = receiving{m.versions, {}, std::nullopt};
  }
  if (useful && m.chunk == 0)
    recv_->heads = m.heads;
  if (useful) {
    if (!store_.stage_snapshot(peer_, m))
      return fail(error_code::refused, chunk_name() + " was refused");
    recv_->chunks.insert(m.chunk);
    if (m.last)
      recv_->count = m.chunk + 1;
    if (recv_->count &&
        static_cast<size_t>(std::distance(recv_->chunks.begin(), recv_->chunks.lower_bound(*recv_->count))) ==
          *recv_->count) {
      // every chunk 0..count-1 is staged: join them all at once
      if (!store_.finish_snapshot(peer_, recv_->versions, recv_->heads))
        return fail(error_code::refused, "the snapshot was refused");
      ++applied_snapshots_;
      recv_.reset();
    }
  }
  std::vector<envelope> out;
  send(out, ack{opt_.database, store_.versions(), m.chunk + 1});
  return out;
}

std::string session::range_problem(const op_range& r,
                                   const std::vector<std::pair<operation, const std::string*>>& ops,
                                   uint64_t have) const {
  auto key = crypto::ed25519_public_key::from_bytes(r.origin_key);
  if (!key || !crypto::key_owns_origin(*key, opt_.database, r.origin))
    return "the key sent is not origin " + r.origin.to_hex() + "'s";
  auto sig = crypto::signature::from_bytes(r.signature);
  if (!sig || r.link.size() != 32)
    return "the head is malformed";
  size_t skipped = r.skipped.size() / 32;
  if (skipped > 0 && opt_.collections.empty())
    return "the sender left out operations, but this side syncs every collection";
  if (r.through <= have)
    return {};  // every operation is held: the store compares each with the one it holds (equivocation)
  uint64_t n = r.through - r.after;
  if (ops.size() + skipped != n)
    return "the batch has " + std::to_string(ops.size()) + " operations and " + std::to_string(skipped) +
           " hashes of skipped ones for " + std::to_string(n) + " seqs";
  std::vector<crypto::digest> hashes;
  hashes.reserve(n);
  size_t oi = 0, si = 0;
  for (uint64_t seq = r.after + 1; seq <= r.through; ++seq) {
    if (oi < ops.size() && ops[oi].first.id.seq == seq)
      hashes.push_back(crypto::op_hash(*ops[oi++].second));
    else if (si < skipped)
      hashes.push_back(crypto::wire::to_array<32>(std::string_view(r.skipped).substr(32 * si++, 32)));
    else
      return "seq " + std::to_string(seq) + " is neither in the batch nor among the skipped hashes";
  }
  if (oi != ops.size())
    return "the batch holds two operations under one dot";
  auto prev = store_.chain(r.origin);
  if (!prev || prev->seq != have)
    return "this replica holds no verified chain position of the origin at seq " + std::to_string(have);
  std::span<const crypto::digest> tail(hashes.data() + (have - r.after), hashes.size() - (have - r.after));
  crypto::chain_head head{r.through, crypto::wire::to_array<32>(r.link), *sig};
  auto v = crypto::verify_hashes(*key, opt_.database, r.origin, *prev, have + 1, tail, head);
  if (!v)
    return v.error().message;
  return {};
}

std::string session::head_problem(const op_range& h) const {
  auto key = crypto::ed25519_public_key::from_bytes(h.origin_key);
  auto sig = crypto::signature::from_bytes(h.signature);
  if (!key || !sig || h.link.size() != 32)
    return "the head of origin " + h.origin.to_hex() + " is not signed";
  crypto::chain_head head{h.through, crypto::wire::to_array<32>(h.link), *sig};
  if (!crypto::verify_head(*key, opt_.database, h.origin, head))
    return "the head of origin " + h.origin.to_hex() + " at seq " + std::to_string(h.through) +
           " is not that origin's signature for this database";
  return {};
}

bool session::needs_snapshot() const {
  auto base = store_.base();
  for (auto& [origin, b] : base.entries())
    if (cursor_.get(origin) < b)
      return true;
  return false;
}

std::vector<envelope> session::on_batch(const op_batch& b) {
  std::map<node_id, const op_range*> by_origin;
  for (auto& r : b.ranges) {
    if (r.after > r.through || !by_origin.emplace(r.origin, &r).second)
      return fail(error_code::corrupt, "OpBatch: ranges overlap or run backwards");
  }
  std::map<node_id, std::vector<std::pair<operation, const std::string*>>> ops;  // with their bytes
  for (auto& bytes : b.ops) {
    auto op = decode_operation(bytes);
    if (!op)
      return fail(error_code::corrupt, "OpBatch: " + op.error().to_string());
    auto i = by_origin.find(op->id.origin);
    if (i == by_origin.end() || op->id.seq <= i->second->after || op->id.seq > i->second->through)
      return fail(error_code::corrupt, "OpBatch: operation " + op->id.origin.to_hex() + ":" +
                                         std::to_string(op->id.seq) + " is outside the batch's ranges");
    ops[op->id.origin].emplace_back(std::move(*op), &bytes);
  }
  // First every check, then the applying: a batch that fails one is
  // refused whole (nothing of it is staged or stored).
  const version_vector held = store_.versions();
  for (auto& r : b.ranges) {
    uint64_t have = held.get(r.origin);
    if (r.after > have)
      continue;  // a gap: nothing of this range is applied
    auto& mine = ops[r.origin];
    std::sort(mine.begin(), mine.end(), [](auto& a, auto& c) { return a.first.id.seq < c.first.id.seq; });
    auto what = [&] {
      return "OpBatch: operations (" + std::to_string(r.after) + ", " + std::to_string(r.through) + "] of origin " +
             r.origin.to_hex();
    };
    if (r.signed_head()) {
      if (auto why = range_problem(r, mine, have); !why.empty()) {
        store_.refused_input();
        return fail(error_code::refused, what() + " do not authenticate: " + why);
      }
    } else if (opt_.auth) {
      store_.refused_input();
      return fail(error_code::unauthenticated,
                  what() + " carry no signed chain head: every operation must be covered by its origin's signature");
    }
    for (auto& [op, encoded] : mine)
      if (op.id.seq > have)
        if (auto why = store_.push_problem(peer_key_, r.origin_key, op); !why.empty())
          return fail(error_code::forbidden, "operation " + op.id.origin.to_hex() + ":" + std::to_string(op.id.seq) +
                                               " is not accepted from this peer: " + why);
  }
  if (auto why = store_.batch_problem(peer_key_); !why.empty())
    return fail(error_code::forbidden, "OpBatch is not accepted from this peer: " + why);
  bool gap = false;
  for (auto& r : b.ranges) {
    uint64_t have = held.get(r.origin);
    if (r.after > have) {
      gap = true;  // an earlier batch is missing: do not apply past the hole
      continue;
    }
    auto& mine = ops[r.origin];
    bool complete = true;
    for (auto& [op, encoded] : mine) {
      switch (store_.apply(op, *encoded)) {
        case sync_store::outcome::applied: ++applied_ops_; break;
        case sync_store::outcome::duplicate: break;
        case sync_store::outcome::gap: complete = false; break;
        case sync_store::outcome::refused:
          return fail(error_code::refused, "operation " + op.id.origin.to_hex() + ":" +
                                             std::to_string(op.id.seq) + " was refused");
      }
      if (!complete)
        break;
    }
    if (!complete) {
      gap = true;
      continue;
    }
    if (r.signed_head() && r.through > have)
      store_.verified(r);
    store_.cover(r);
    // The peer holds what it sent: never echo it back.
    if (r.through > cursor_.get(r.origin))
      cursor_.set(r.origin, r.through);
  }
  std::vector<envelope> out;
  auto vv = store_.versions();
  send(out, ack{opt_.database, vv});
  if (gap && !rerequest_pending_) {
    rerequest_pending_ = true;
    peer_caught_up_ = false;
    send(out, sync_request{opt_.database, opt_.collections, vv});
  }
  return out;
}

void session::release(const version_vector& acked, uint32_t chunk_ack) {
  for (auto i = inflight_.begin(); i != inflight_.end();) {
    bool done = i->snapshot ? chunk_ack == i->chunk + 1 || acked.dominates(i->versions)
                            : std::all_of(i->ranges.begin(), i->ranges.end(),
                                          [&](const op_range& r) { return acked.get(r.origin) >= r.through; });
    if (done) {
      inflight_bytes_ -= i->bytes;
      i = inflight_.erase(i);
    } else {
      ++i;
    }
  }
}

void session::pump(std::vector<envelope>& out) {
  if (state_ != state::open || !peer_requested_)
    return;
  while (inflight_bytes_ < opt_.window_bytes) {
    // The list changed since the peer's rights were judged: judge again
    // before anything more is sent (a revoked member, a relay removed).
    if (auto v = store_.access_version(); v != judged_access_) {
      judged_access_ = v;
      if (auto why = store_.pull_problem(peer_key_); !why.empty()) {
        if (!opt_.initiator)
          return fail_into(out, error_code::forbidden, "rights withdrawn: " + why);
        pull_withheld_ = true;
      }
    }
    if (pull_withheld_) {
      if (!store_.pull_problem(peer_key_).empty())
        return;
      pull_withheld_ = false;
    }
    // The peer lacks operations this side compacted away: the states first.
    if (!snap_ && needs_snapshot()) {
      if (!peer_snapshots_)
        return fail_into(out, error_code::refused,
                         "this replica compacted operations the peer lacks and the peer does not accept snapshots");
      if (auto why = store_.snapshot_problem(peer_key_); !why.empty())
        return fail_into(out, error_code::forbidden, why);
      snap_ = store_.snapshot(peer_filter_);
      if (!snap_)
        return fail_into(out, error_code::refused,
                         "this replica compacted operations the peer lacks and cannot send a snapshot");
      snap_chunk_ = 0;
    }
    if (snap_) {
      auto part = snap_->next(opt_.max_batch_bytes);
      if (part.failed)
        return fail_into(out, error_code::refused, "this replica cannot read its snapshot");
      snapshot m{opt_.database, snap_->versions(), snap_chunk_, part.last,
                 snap_chunk_ == 0 ? snap_->indexes() : std::vector<index_decl>{}, std::move(part.entries),
                 snap_chunk_ == 0 ? snap_->heads() : std::vector<op_range>{}};
      size_t bytes = snapshot_bytes(m);
      inflight_.push_back(flight{{}, bytes, true, m.chunk, m.versions});
      inflight_bytes_ += bytes;
      ++sent_chunks_;
      ++snap_chunk_;
      if (m.last) {
        // then the log after the snapshot's point
        cursor_.merge(m.versions);
        snap_.reset();
        ++sent_snapshots_;
      }
      send(out, std::move(m));
      continue;
    }
    auto c = store_.ops_after(cursor_, peer_filter_, opt_.max_batch_bytes);
    if (c.ops.empty() && c.ranges.empty()) {
      if (!caught_up_sent_) {
        caught_up_sent_ = true;
        send(out, caught_up{opt_.database, store_.versions()});
      }
      return;
    }
    bool progress = false;
    for (auto& r : c.ranges)
      if (r.through > cursor_.get(r.origin)) {
        cursor_.set(r.origin, r.through);
        progress = true;
      }
    if (!progress)
      return;  // a store that vouches for nothing new: stop rather than loop
    op_batch b{opt_.database, c.ranges, std::move(c.ops)};
    size_t bytes = batch_bytes(b);
    inflight_.push_back(flight{c.ranges, bytes, false, 0, {}});
    inflight_bytes_ += bytes;
    sent_ops_ += b.ops.size();
    send(out, std::move(b));
  }
}

std::vector<envelope> session::on_local_commit() {
  std::vector<envelope> out;
  pump(out);
  return out;
}

std::vector<envelope> session::on_tick(uint64_t now) {
  now_ = now;
  std::vector<envelope> out;
  if (state_ == state::idle || state_ == state::closed)
    return out;
  if (now_ - last_heard_ >= opt_.idle_timeout)
    return fail(error_code::timeout, "nothing heard from the peer for " +
                                       std::to_string(now_ - last_heard_) + " ms");
  if (state_ == state::open && now_ - last_sent_ >= opt_.ping_interval)
    send(out, ping{++nonce_});
  if (pull_withheld_)
    pump(out);  // the list may admit the peer by now
  return out;
}

} // namespace blaze::sync
