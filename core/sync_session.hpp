// The sync protocol machine for one peer link of one database (DESIGN §7,
// docs/protocol.md). Pure: no I/O, no threads, no clock of its own. The
// caller feeds it events and sends the envelopes it returns, in order, on
// one ordered stream (a transport connection).
#pragma once

#include "core/crypto/hash_chain.hpp"
#include "core/operation.hpp"
#include "core/sync_codec.hpp"
#include "core/version_vector.hpp"

#include <deque>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace blaze::sync {

/// What the machine needs from a database. Per origin, operations are held
/// as a contiguous prefix 1..versions()[origin].
class sync_store {
public:
  virtual ~sync_store() = default;

  /// The version vector: per origin, the contiguous prefix held (for a store
  /// that syncs some collections only: the prefix covered for its filter).
  virtual version_vector versions() const = 0;

  struct chunk {
    std::vector<std::string> ops;  // encode(operation), per origin in seq order
    std::vector<op_range> ranges;  // per origin: (after, through] this chunk covers
  };
  /// Operations not in `have` whose collection is in `collections` (empty:
  /// all), per origin in seq order, up to about `max_bytes` (at least one
  /// operation when any is due). Every matching operation of a range must be
  /// in the chunk; a range may cover operations that do not match. Only
  /// ranges the store holds completely may be vouched for. An empty chunk
  /// (no ops, no ranges): nothing is due.
  virtual chunk ops_after(const version_vector& have, const std::vector<std::string>& collections,
                          size_t max_bytes) const = 0;

  enum class outcome { applied, duplicate, gap, refused };
  /// Applies one remote operation, `encoded` being the bytes it was decoded
  /// from (a store may keep them instead of encoding it again): `duplicate`
  /// when its dot is held, `gap` when it does not extend its origin's
  /// prefix, `refused` when it fails validation (or equivocates).
  virtual outcome apply(const operation& op, const std::string& encoded) = 0;

  /// After the operations of `r` were applied: the peer vouches that no
  /// further operation in `r` matches this store's filter. A store that
  /// holds every collection ignores it (the default).
  virtual void cover(const op_range& r) { (void)r; }

  // ---- signed operations (docs/protocol.md §5b) -----------------------------

  /// The chain state of `origin` at versions()[origin]: where the next signed
  /// range of that origin must continue. nullopt: the store has none (it
  /// cannot take that origin's signed ranges; the session refuses them).
  virtual std::optional<crypto::chain_state> chain(const node_id& origin) const {
    (void)origin;
    return std::nullopt;
  }
  /// The operations of the signed range `r` were verified and applied (and
  /// cover(r) follows): keep its head, the origin's new chain state, and
  /// forward it with these operations.
  virtual void verified(const op_range& r) { (void)r; }
  /// The peer sent input that failed authentication (a signed range or a
  /// snapshot head that does not check): counted for `status`.
  virtual void refused_input() {}

  // ---- access control (docs/security.md §4.3) -------------------------------

  /// Why the peer (its proven Ed25519 key; empty without session auth) may
  /// not pull this database (empty: it may). A database without an access
  /// list lets every authenticated peer pull (the default).
  virtual std::string pull_problem(const std::string& peer_key) const {
    (void)peer_key;
    return {};
  }
  /// Changes whenever the access list does (any value; compared for
  /// equality): the session judges pull_problem again before its next push,
  /// so a member whose rights were taken stops receiving at once rather
  /// than at its next connection.
  virtual uint64_t access_version() const { return 0; }
  /// Why the peer may not push `op` (empty: it may). `origin_key`: the key
  /// that signed the operation's range (verified; empty when unsigned). When
  /// it is the peer's own, the operation enters here from its author's node.
  /// Called for every new operation of a batch, in order, before any is
  /// applied; an accepted `_access` operation counts for the later calls of
  /// the same batch.
  virtual std::string push_problem(const std::string& peer_key, const std::string& origin_key,
                                   const operation& op) {
    (void)peer_key;
    (void)origin_key;
    (void)op;
    return {};
  }
  /// Why the batch whose operations all passed push_problem is refused as a
  /// whole (empty: it is not): checks that depend on the whole batch, such
  /// as a forwarder's membership, which the batch's own `_access`
  /// operations may grant.
  virtual std::string batch_problem(const std::string& peer_key) {
    (void)peer_key;
    return {};
  }

  // ---- compaction and snapshots (docs/protocol.md §5a) ----------------------

  /// The compaction point: per origin, operations with seq <= base() may be
  /// gone from the log (folded into the records). A peer lacking any of
  /// them gets a snapshot first. Never above versions().
  virtual version_vector base() const { return {}; }

  /// A snapshot being read: the store's states at one consistent point.
  class snapshot_source {
  public:
    virtual ~snapshot_source() = default;
    /// The operations the states cover (the store's versions at the point).
    virtual const version_vector& versions() const = 0;
    /// Index declarations of the requested collections.
    virtual std::vector<index_decl> indexes() const = 0;
    /// Per origin of versions(), its signed head at that seq (`through`);
    /// empty from a store without chains (the unauthenticated test mode).
    virtual std::vector<op_range> heads() const { return {}; }
    struct part {
      std::vector<snapshot_entry> entries;
      bool last = false;  // nothing remains after these entries
      bool failed = false;  // the store could not be read (it closed, an I/O error)
    };
    /// The next records in key order, about `max_bytes` of them (at least
    /// one while any remain).
    virtual part next(size_t max_bytes) = 0;
  };
  /// Why the peer proving `peer_key` may not take a snapshot (states are
  /// plaintext: an end-to-end encrypted database gives them to readers
  /// only); empty when it may. The session then fails with `forbidden`.
  virtual std::string snapshot_problem(const std::string& peer_key) const {
    (void)peer_key;
    return {};
  }
  /// Starts reading a snapshot of `collections` (empty: all); nullptr when
  /// the store cannot (the session then refuses the peer).
  virtual std::unique_ptr<snapshot_source> snapshot(const std::vector<std::string>& collections) const {
    (void)collections;
    return nullptr;
  }

  /// Stages one chunk of the snapshot `chunk.versions` sent by `peer`
  /// (entries already checked: they decode and match this side's filter).
  /// Staging a chunk of another snapshot of the same peer first discards
  /// what was staged from it. False: refused.
  virtual bool stage_snapshot(const node_id& peer, const sync::snapshot& chunk) {
    (void)peer;
    (void)chunk;
    return false;
  }
  /// Every chunk of `peer`'s snapshot at `versions` is staged: joins the
  /// staged states into the store, versions() becomes its pointwise max with
  /// `versions`, and for every origin where that skipped operations, base()
  /// rises to `versions` (they are not in the log). False: refused.
  /// `heads`: the snapshot's verified heads; for each origin the snapshot
  /// raises, the new chain state.
  virtual bool finish_snapshot(const node_id& peer, const version_vector& versions,
                               const std::vector<op_range>& heads) {
    (void)peer;
    (void)versions;
    (void)heads;
    return false;
  }
};

/// Mutual authentication of the two nodes in the handshake (docs/protocol.md
/// §3): this node's key, and the checks of the peer's. Const calls may come
/// from any thread (one authenticator serves every session of a node).
class authenticator {
public:
  virtual ~authenticator() = default;
  /// This node's Ed25519 public key (32 bytes).
  virtual std::string public_key() const = 0;
  /// The node id a key stands for (first 16 bytes of SHA-256 of the key).
  virtual node_id node_of(const std::string& public_key) const = 0;
  /// This node's Ed25519 signature (64 bytes) of `message`.
  virtual std::string sign(const std::string& message) const = 0;
  virtual bool verify(const std::string& public_key, const std::string& message,
                      const std::string& signature) const = 0;
  /// 32 fresh random bytes.
  virtual std::string challenge() const = 0;
};

/// The bytes the Welcome (`role` 'W') and the Auth (`role` 'A') sign: a
/// domain tag, the role, then every field of the Hello and of the Welcome
/// but its signature, each length-prefixed (docs/protocol.md §3). When
/// both say `tls`, also `channel`: the TLS exporter both ends of the one
/// TLS connection compute alike (a man in the middle holds two).
std::string handshake_transcript(char role, const hello& h, const welcome& w, std::string_view channel = {});

struct session_options {
  std::string database;
  node_id self;
  bool initiator = true;                 // sends Hello; the other side Welcomes
  std::vector<std::string> collections;  // collections this side wants (empty: all)
  size_t max_batch_bytes = 256 << 10;    // operation bytes per OpBatch (at least one op)
  size_t window_bytes = 4 << 20;         // unacknowledged operation bytes before pausing
  bool compress = true;                  // offer/accept zstd batches
  bool snapshots = true;                 // accept Snapshot messages (announced in Hello/Welcome)
  uint64_t ping_interval = 10'000;       // on_tick units (ms): send Ping when idle this long
  uint64_t idle_timeout = 60'000;        // close when nothing was heard this long
  /// This node's key and the peer checks. Null: this side neither proves
  /// its key nor checks the peer's (tests of the machine alone); a node
  /// always sets it, and a peer with one refuses a peer without.
  std::shared_ptr<const authenticator> auth;
};

class session {
public:
  enum class state { idle, awaiting_welcome, awaiting_hello, awaiting_auth, open, closed };

  session(sync_store& store, session_options opt);

  /// The connection the next start() runs on: whether it is TLS, and its
  /// channel binding (connection::channel_binding). Call before start().
  /// Open, over TLS on both sides: the proofs covered the TLS channel.
  bool channel_bound() const { return is_open() && hello_.tls && welcome_.tls && !channel_.empty(); }
  void set_channel(bool tls, std::string binding) {
    tls_ = tls;
    channel_ = std::move(binding);
  }
  /// A connection is up: the initiator returns its Hello.
  std::vector<envelope> start();
  /// One received envelope (after decode_envelope).
  std::vector<envelope> on_message(const envelope& e);
  /// The store gained operations (a local write, or remote operations applied
  /// through another session): pushes them when the peer is live.
  std::vector<envelope> on_local_commit();
  /// Time passes: keepalive Ping, idle timeout.
  std::vector<envelope> on_tick(uint64_t now);
  /// The connection is gone. Keeps what the peer acknowledged so a later
  /// connection resumes from there; start() again after reconnecting.
  void on_disconnect();

  state current() const { return state_; }
  bool is_open() const { return state_ == state::open; }
  bool is_closed() const { return state_ == state::closed; }
  /// The peer sent CaughtUp since our last SyncRequest.
  bool peer_caught_up() const { return peer_caught_up_; }
  /// The last error sent or received (code none when there was none).
  const error& last_error() const { return last_error_; }
  node_id peer() const { return peer_; }
  /// The peer's Ed25519 key, proven in the handshake (empty without
  /// session_options::auth).
  const std::string& peer_key() const { return peer_key_; }
  /// Whether OpBatches to this peer may be compressed (pass to encode()).
  bool compress_to_peer() const { return opt_.compress && peer_zstd_; }
  /// What the peer acknowledged (kept across connections).
  const version_vector& acknowledged() const { return acked_; }
  /// Unacknowledged operation bytes in flight.
  size_t in_flight() const { return inflight_bytes_; }
  /// Remote operations this session applied (cumulative): callers compare it
  /// to tell other sessions of the store about new operations.
  uint64_t applied_ops() const { return applied_ops_; }
  /// Operations sent (cumulative, duplicates included).
  uint64_t sent_ops() const { return sent_ops_; }
  /// Snapshots received and joined into the store (cumulative): the store
  /// changed, like applied_ops().
  uint64_t applied_snapshots() const { return applied_snapshots_; }
  /// Snapshots sent completely / snapshot chunks sent (cumulative).
  uint64_t sent_snapshots() const { return sent_snapshots_; }
  uint64_t sent_snapshot_chunks() const { return sent_chunks_; }
  /// A snapshot is being sent to the peer.
  bool sending_snapshot() const { return static_cast<bool>(snap_); }

private:
  struct flight {
    std::vector<op_range> ranges;
    size_t bytes = 0;
    bool snapshot = false;  // a Snapshot chunk: released by its Ack, or once
    uint32_t chunk = 0;     // the acknowledged vector covers `versions`
    version_vector versions;
  };
  // A snapshot being received from the peer.
  struct receiving {
    version_vector versions;
    std::set<uint32_t> chunks;  // staged
    std::optional<uint32_t> count;  // known from the last chunk
    std::vector<op_range> heads{};  // from chunk 0, verified
  };

  std::vector<envelope> fail(error_code c, std::string msg);
  void fail_into(std::vector<envelope>& out, error_code c, std::string msg);
  void send(std::vector<envelope>& out, message m);
  void open(std::vector<envelope>& out);
  void pump(std::vector<envelope>& out);
  std::vector<envelope> on_batch(const op_batch& b);
  std::vector<envelope> on_snapshot(const snapshot& m);
  std::vector<envelope> on_hello(const hello& m);
  std::vector<envelope> on_welcome(const welcome& m);
  std::vector<envelope> on_auth(const auth& m);
  /// Why the signed range `r` does not authenticate `ops` (its operations in
  /// the batch, in seq order, with their bytes) given what the store holds
  /// through `have`; empty: it does.
  std::string range_problem(const op_range& r,
                            const std::vector<std::pair<operation, const std::string*>>& ops, uint64_t have) const;
  /// Why a snapshot head does not check (empty: it does).
  std::string head_problem(const op_range& h) const;
  /// Why `key` does not prove node `claimed` (empty: it does).
  std::string key_problem(const std::string& key, const std::string& challenge, const node_id& claimed) const;
  /// A different peer than before: what the previous one acknowledged says
  /// nothing about this one.
  void set_peer(const node_id& peer, const std::string& key);
  bool needs_snapshot() const;
  void release(const version_vector& acked, uint32_t chunk_ack = 0);

  sync_store& store_;
  session_options opt_;
  state state_ = state::idle;
  node_id peer_;
  std::string peer_key_;
  hello hello_;      // the handshake so far: the Hello sent or received,
  welcome welcome_;  // the Welcome sent or received, without its signature
  bool peer_zstd_ = false;
  error last_error_;

  // sending
  bool peer_requested_ = false;          // the peer's SyncRequest arrived
  bool pull_withheld_ = false;           // (dialing side) the list does not admit the peer yet
  uint64_t judged_access_ = 0;           // store_.access_version() when pull rights were last judged
  bool tls_ = false;                     // this side's connection is TLS (set_channel)
  std::string channel_;                  // its channel binding
  std::vector<std::string> peer_filter_;
  version_vector cursor_;                // what the peer has or was sent on this connection
  version_vector acked_;                 // what the peer acknowledged (kept)
  std::deque<flight> inflight_;
  size_t inflight_bytes_ = 0;
  bool caught_up_sent_ = false;
  bool peer_snapshots_ = false;          // the peer accepts Snapshot messages
  std::unique_ptr<sync_store::snapshot_source> snap_;  // being sent
  uint32_t snap_chunk_ = 0;              // the next chunk's number

  // receiving
  bool peer_caught_up_ = false;
  bool rerequest_pending_ = false;
  std::optional<receiving> recv_;

  uint64_t now_ = 0;
  uint64_t last_heard_ = 0;
  uint64_t last_sent_ = 0;
  uint64_t nonce_ = 0;
  uint64_t applied_ops_ = 0;
  uint64_t sent_ops_ = 0;
  uint64_t applied_snapshots_ = 0;
  uint64_t sent_snapshots_ = 0;
  uint64_t sent_chunks_ = 0;
};

const char* to_string(session::state s);

} // namespace blaze::sync
