// One database's RocksDB instance (DESIGN §5): column families records,
// oplog, index, meta, conflicts. Every group of operations is applied in one
// WriteBatch (oplog, records, indexes, clock, version vector), so a crash
// leaves all of it or none; re-applying a known dot changes nothing.
//
// Thread contract: one writer thread at a time (the database actor) calls the
// mutating functions; the read functions may be called from other threads
// concurrently (RocksDB is safe for concurrent readers).
#pragma once

#include "core/access.hpp"
#include "core/codec.hpp"
#include "core/crypto/ed25519.hpp"
#include "core/crypto/hash_chain.hpp"
#include "core/index_state.hpp"
#include "core/query.hpp"
#include "core/record.hpp"
#include "core/snapshot.hpp"
#include "core/version_vector.hpp"
#include "core/write.hpp"
#include "storage/environment.hpp"

#include <atomic>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

namespace rocksdb {
class DB;
class Env;
class ColumnFamilyHandle;
class Snapshot;
class WriteBatch;
} // namespace rocksdb

namespace blaze {

enum class durability : uint8_t {
  sync,      // fsync before a write is acknowledged: nothing acknowledged is lost
  buffered,  // WAL without fsync: survives a process crash, not a power loss
};

/// What a database starts with when the open creates it (an existing
/// database keeps what it has). docs/security.md §3.
enum class new_database : uint8_t {
  /// No access list: any peer that syncs it may read and write it. Only
  /// stores made directly (storage tests); a node never creates these.
  open,
  /// Owned by this node and end-to-end encrypted: the open writes the
  /// access list (access::create, sealed) as the database's first
  /// operations. Needs `signer` and `exchange`.
  sealed,
  /// Owned by this node, access-controlled, not encrypted (servers that
  /// query it). Needs `signer`.
  plaintext,
  /// Another node's database, fetched through sync: no access list until a
  /// peer that holds it sends it, and until then every local write is
  /// refused (errc::forbidden), so nothing is written that its members
  /// would refuse. A relay's databases are made this way.
  join,
};
/// "open", "sealed", "plaintext", "join".
const char* to_string(new_database d);

struct store_options {
  /// Durability of a database created by this open. An existing database
  /// keeps the mode stored with it (change it with store::set_durability).
  durability mode = durability::buffered;
  limits lim;
  uint64_t max_clock_skew_ms = 60'000;  // remote timestamps further ahead are refused
  decode_limits decoding;
  /// The database's identity in its operation chains (docs/protocol.md §5b):
  /// the name every replica knows it by. Chains and signed heads of one
  /// database cannot be replayed into another.
  std::string database_id{};
  /// This node's key: signs heads of its own chain when they are served
  /// (store::head_near). Null: own heads are served unsigned (tests).
  std::shared_ptr<const crypto::signing_key> signer{};
  /// This node's X25519 key (with `signer`): unwraps the content keys the
  /// access list holds for this node, to seal local writes and open sealed
  /// operations of an end-to-end encrypted database (docs/security.md §3).
  /// Null: this store reads no sealed database (it still stores and serves
  /// sealed operations, as a relay).
  std::shared_ptr<const crypto::x25519_key> exchange{};
  /// What the database starts with when this open creates it.
  new_database create_as = new_database::open;
  /// When this node gains a content key, the operations it opens are
  /// applied and committed this many at a time (bounding the WriteBatch),
  /// each commit recording how far the scan got.
  size_t reopen_batch = 4096;
  /// Sealed operations one content key may seal, as this node counts them
  /// (its own and those it received): random 96-bit GCM nonces allow about
  /// 2^32 per key (docs/security.md §1), and other nodes' seals may not
  /// have arrived yet, hence a quarter of that. Past it the owner's node
  /// rotates the key (key_worn()).
  uint64_t seals_per_key = uint64_t(1) << 30;
};

/// An origin's chain head (docs/protocol.md §5b, core/crypto/hash_chain.hpp):
/// with a signature, the origin vouches for its operations 1..seq of this
/// database in exactly the order and bytes that give `link`.
struct signed_head {
  node_id origin;
  uint64_t seq = 0;
  std::string link{};       // 32 bytes
  std::string signature{};  // 64 bytes; empty: not signed (a store without a signer)
  std::string key{};        // the origin's Ed25519 public key, 32 bytes (with a signature)
};

/// Inputs a replica refused for failing authentication (counted in `status`).
struct security_counts {
  uint64_t refused_batches = 0;  // signed ranges or snapshots whose chain or signature did not check
  uint64_t equivocations = 0;    // operations that differ from the one held under their dot
  /// Sealed operations logged but not applied: this node holds no key that
  /// opens them (a relay; a reader not yet given their epoch; a box that
  /// does not authenticate). Retried whenever this node's keys change.
  uint64_t unopened = 0;
};

/// A change to one record, as the change feed reports it.
struct change {
  std::string collection;
  record_id id;
  bool deleted = false;  // the record is not alive after the change
  value_map doc;         // the visible document after the change
  dot by;                // the operation that made it
};

/// What applying a batch of remote operations did.
struct apply_report {
  size_t applied = 0;
  size_t duplicates = 0;
  std::vector<std::pair<dot, status>> refused;  // with the reason
};

/// A peer's promise that no operation of `origin` in (after, through] belongs
/// to the collections a partial replica holds (sync with a collection filter).
struct coverage {
  node_id origin;
  uint64_t after = 0;
  uint64_t through = 0;
};
/// Coverage ranges, with the collection filter they were vouched for.
struct coverage_set {
  std::vector<std::string> collections;
  std::vector<coverage> ranges;
  /// Heads the sync session verified for this batch: each is stored with the
  /// operations it covers (and becomes the origin's chain state) once the
  /// store holds its origin's operations through its seq.
  std::vector<signed_head> heads{};
};

/// One operation as the oplog stores it (encode(operation)).
struct logged_op {
  dot id;
  std::string bytes;
};

/// What compact() did.
struct compact_report {
  version_vector point;        // compacted up to (the request, within what the store holds)
  version_vector base_before;  // the compaction point before and after
  version_vector base_after;
  uint64_t removed = 0;        // operations deleted from the log
  uint64_t bytes = 0;          // their encoded bytes
  uint64_t kept = 0;           // operations still in the log
  std::vector<node_id> peers;  // known peers the point came from (compact_known)
  /// Why nothing was compacted although asked (empty otherwise): the log of
  /// an end-to-end encrypted database is kept whole, since a replica that
  /// cannot read it has no states to fold it into and late joiners that
  /// cannot read take operations, never snapshots (docs/security.md §3).
  std::string kept_because{};
};

/// What joining a snapshot did.
struct snapshot_report {
  uint64_t records = 0;  // states joined
  uint64_t changed = 0;  // records whose state changed
  uint64_t indexes = 0;  // index declarations joined
};

/// How a query ran (for tests and `explain`).
struct query_stats {
  bool used_index = false;
  std::string index_field;
  size_t examined = 0;  // records decoded and checked
};

class store {
public:
  class snapshot_handle;
  ~store();
  store(const store&) = delete;
  store& operator=(const store&) = delete;

  /// Opens (creating if missing) the database at `dir` for node `self`.
  static result<std::unique_ptr<store>> open(const std::filesystem::path& dir, node_id self,
                                             const store_options& opts,
                                             std::shared_ptr<storage_environment> env);

  // ---- writer thread ------------------------------------------------------

  /// Turns each write into an operation and commits them all in one
  /// WriteBatch. Each write has its own result: a failed write (validation,
  /// unknown record) consumes no sequence number and does not stop the others.
  std::vector<result<operation>> write_local(std::span<const write> writes, uint64_t now_ms,
                                             std::vector<change>* changes = nullptr);

  /// Applies operations from other replicas in one WriteBatch. Per origin they
  /// must extend the version vector without gaps (they are sorted first);
  /// known dots are no-ops unless their bytes differ (equivocation: refused).
  ///
  /// With `cov` (a partial replica syncing some collections): after the
  /// operations, each range whose start the store holds advances the version
  /// vector to its end, and the store remembers it is partial (partial()).
  apply_report apply_remote(std::vector<operation> ops, uint64_t now_ms,
                            std::vector<change>* changes = nullptr, const coverage_set* cov = nullptr);
  /// As above, given each operation's encoding as it arrived: `encoded[i]`
  /// is the bytes decode_operation turned into `ops[i]`. They become the log
  /// entry as they are, instead of encoding the operation again (a tenth of
  /// the cost of applying). A known dot stored with other bytes is an
  /// equivocation only if those decode to a different operation.
  apply_report apply_remote(std::vector<operation> ops, std::vector<std::string> encoded, uint64_t now_ms,
                            std::vector<change>* changes = nullptr, const coverage_set* cov = nullptr);

  /// Changes and persists this database's durability.
  status set_durability(durability mode);
  /// Writes every column family's memtable to SST files and waits (a copy
  /// of the directory then needs no WAL replay; tests look into SSTs).
  status flush();

  // ---- compaction and snapshots (DESIGN §5, docs/protocol.md §5a) ---------

  /// Folds the log into the records up to `upto`: per origin, deletes the
  /// log's operations with seq <= min(upto[origin], versions()[origin])
  /// in one WriteBatch and raises base() to it (persisted). Records and the
  /// version vector do not change. Then asks RocksDB to compact the log's
  /// key range so the space is reclaimed.
  result<compact_report> compact(const version_vector& upto);
  /// compact() up to compaction_point(): what every known peer acknowledged.
  result<compact_report> compact_known();
  /// Merges `acked` into what `peer` (a node id) acknowledged holding, and
  /// persists it when that grew.
  status record_ack(const node_id& peer, const version_vector& acked);
  /// Stops waiting for `peer` (one that will not sync again): it no longer
  /// holds the compaction point back; if it does sync again it is known
  /// again, and catches up by snapshot if it is behind.
  status forget_peer(const node_id& peer);

  /// Stages one chunk of a snapshot received from `peer` (meta, not the
  /// records): a chunk of another point first drops what was staged from
  /// that peer. Entries must decode (they are checked).
  status stage_snapshot(const node_id& peer, const version_vector& point,
                        const std::vector<snapshot_entry>& entries,
                        const std::vector<index_decl>& indexes);
  /// Joins everything staged from `peer` at `point` into the records and
  /// index declarations in one WriteBatch (indexes maintained, clock moved
  /// past the states' timestamps, version vector := vv ⊔ point; base rises
  /// to point where operations were skipped, and their now useless log
  /// entries are deleted; staging dropped). `collections` is the receiver's
  /// filter: non-empty makes the store partial, as coverage does. States
  /// timestamped more than max_clock_skew_ms ahead of `now_ms` refuse the
  /// whole snapshot (clock_skew), as for operations.
  /// `heads`: the snapshot's verified heads at `point`; for every origin the
  /// snapshot raises, its head becomes the chain state.
  result<snapshot_report> merge_snapshot(const node_id& peer, const version_vector& point, uint64_t now_ms,
                                         const std::vector<std::string>& collections = {},
                                         std::vector<change>* changes = nullptr,
                                         const std::vector<signed_head>& heads = {});

  /// A consistent read point of the records, index declarations and version
  /// vector (a RocksDB snapshot), for sending a snapshot. Read it with
  /// snapshot_next; release it by dropping the handle (also safe after the
  /// store is gone: the store releases open read points when it closes).
  result<std::shared_ptr<snapshot_handle>> open_snapshot(const std::vector<std::string>& collections) const;
  /// The next records of the read point in key order, about `max_bytes` of
  /// them (at least one while any remain); `last`: none remain after them.
  result<std::vector<snapshot_entry>> snapshot_next(snapshot_handle& h, size_t max_bytes,
                                                          bool& last) const;

  /// Removes recorded conflicts of a record (all records when `id` is null).
  status clear_conflicts(const std::string& collection, const record_id* id);
  /// Removes the recorded conflicts of one field of a record; how many there were.
  result<size_t> clear_field_conflicts(const std::string& collection, const record_id& id, const std::string& field);

  // ---- cross-database transactions (core/transaction.hpp) -----------------
  // The caller (the database actor) keeps at most one transaction prepared
  // and commits no local write while one is: its operations hold this
  // replica's next sequence numbers.

  /// Builds the operations of `writes` as write_local would (in order, each
  /// seeing the ones before), each carrying `tag` (so replicas apply the
  /// transaction whole), and persists them durably (fsync, meta `txn/` ‖ id)
  /// without applying them. All or nothing: the first write that fails
  /// fails the prepare and nothing is kept.
  result<std::vector<operation>> prepare_txn(const id128& txn, std::span<const write> writes, uint64_t now_ms,
                                             const txn_tag& tag = {});
  /// Applies the prepared operations of `txn` and drops its record in one
  /// WriteBatch, fsynced. false when nothing is prepared under `txn`.
  result<bool> commit_txn(const id128& txn, std::vector<change>* changes = nullptr);
  /// Drops the prepare record of `txn` (fsynced); false when there was none.
  result<bool> abort_txn(const id128& txn);
  /// The transactions prepared here and neither committed nor aborted.
  result<std::vector<id128>> prepared_txns() const;

  // Remote operations of a transaction (operation::txn) are logged when they
  // arrive (the version vector covers them, sync goes on) but their effects
  // on records and indexes are held aside (meta `hold/` ‖ txn ‖ dot → the
  // operation) until release_txn: a query never sees part of a transaction.

  /// Per transaction held here: its tag and how many of its operations are
  /// held; in the order of their first held operations' dots (origin, seq),
  /// so an origin's transactions come in the order it made them.
  result<std::vector<std::pair<txn_tag, uint32_t>>> held_txns() const;
  /// Applies the held operations of `txn` to the records and indexes and
  /// drops them from the hold, in one WriteBatch; how many there were.
  result<size_t> release_txn(const id128& txn, std::vector<change>* changes = nullptr);
  /// Whether any operation is held. While one is, open_snapshot refuses
  /// (timeout): a snapshot's version vector would cover effects its records lack.
  result<bool> holds_txn_operations() const;

  // ---- read points (consistent group reads, runtime/group_view.hpp) ---------
  // Any thread. A read point is a RocksDB snapshot of the records, indexes
  // and index declarations: reads through it see the store exactly as it was
  // when it was opened, whatever is written after. Opening one is cheap (no
  // copy) and never waits on the writer; while it lives RocksDB keeps the
  // versions it sees, so drop it when done. It must not outlive the store.

  class read_point;
  result<std::shared_ptr<const read_point>> open_read_point() const;
  /// get() and run() at a read point of this store.
  result<value_map> get(const std::string& collection, const record_id& id, const read_point& at) const;
  result<std::vector<row>> run(const query& q, const read_point& at, query_stats* stats = nullptr) const;

  // ---- any thread ---------------------------------------------------------

  /// The visible document of a live record; unknown_record otherwise.
  result<value_map> get(const std::string& collection, const record_id& id) const;
  /// The full CRDT state (nullopt when never seen).
  result<std::optional<record_state>> state(const std::string& collection, const record_id& id) const;
  result<std::vector<row>> run(const query& q, query_stats* stats = nullptr) const;
  /// Operations this store has and `after` lacks, in (origin, seq) order, at most `max_ops`.
  result<std::vector<operation>> operations_after(const version_vector& after, size_t max_ops) const;
  /// Encoded operations this store has and `after` lacks, in (origin, seq)
  /// order, stopping once `max_bytes` are gathered (at least one operation).
  /// With `base`: the compaction point at the same read point as the log
  /// (an origin with after < base has operations missing from the result).
  /// `first`: origins read before all others, in that order (sync sends the
  /// access list's authors ahead of data: access_authors()); the rest follow
  /// in origin order.
  result<std::vector<logged_op>> oplog_after(const version_vector& after, size_t max_bytes,
                                             version_vector* base = nullptr,
                                             const std::vector<node_id>& first = {}) const;
  /// Encoded operations of `origin` with seq in (after, through], in order.
  result<std::vector<logged_op>> oplog_range(const node_id& origin, uint64_t after, uint64_t through) const;

  // ---- operation chains (docs/protocol.md §5b) ------------------------------

  /// The chain state of `origin` at versions()[origin]: what the next signed
  /// range of that origin must continue. nullopt when the store holds
  /// operations of `origin` it has no chain position for (received unsigned,
  /// in the unauthenticated test mode).
  std::optional<crypto::chain_state> chain(const node_id& origin) const;
  /// The head of `origin` with the largest seq in (after, through], or else
  /// the one with the smallest seq above `through`; nullopt when none. Own
  /// heads (every local commit ends at one) are signed with the signer.
  result<std::optional<signed_head>> head_near(const node_id& origin, uint64_t after, uint64_t through) const;
  /// The head of `origin` at exactly `seq` (nullopt when none).
  result<std::optional<signed_head>> head_at(const node_id& origin, uint64_t seq) const;
  /// The database's access list: its `_access` records (docs/security.md
  /// §4.3); empty when the database has none (an open database).
  result<access_list> access() const;
  /// The nodes that wrote the access list's current values, in the order
  /// of their first such write (the owner, who created it, first; then the
  /// admins as they were made admin). Sync sends their operations first, so
  /// a peer learns the list, and the grants its later batches are judged by,
  /// before data (docs/security.md §3, "the access list first").
  result<std::vector<node_id>> access_authors() const;
  /// True when the access list says end-to-end encrypted: local writes
  /// outside `_access` are sealed, remote ones arrive sealed.
  bool sealed() const;
  /// True when the database was created to join another node's
  /// (new_database::join) and its access list has not arrived yet: local
  /// writes are refused until it does.
  bool awaiting_access() const;
  /// The writes that give `member` `rights` (access::grant, with the keys
  /// this node holds to wrap for a reader). errc::invalid_argument when the
  /// database has no access list.
  result<std::vector<write>> grant_writes(const crypto::member_key& member, access_rights rights) const;
  /// Builds access-list writes (access::grant, revoke, rotate) from the list
  /// and this node's keyring as committed now.
  using access_builder = std::function<result<std::vector<write>>(const access_list&, const keyring&)>;
  /// What `build` makes of the committed list: errc::invalid_argument when
  /// the database has no access list (as grant_writes).
  result<std::vector<write>> access_writes(const access_builder& build) const;
  /// Changes each time the access list is reloaded (a commit that touched
  /// `_access`): sync sessions judge their peer's rights again.
  uint64_t access_generation() const { return access_generation_.load(std::memory_order_acquire); }
  /// True when this node owns the end-to-end encrypted database and counted
  /// store_options::seals_per_key sealed operations under its current
  /// epoch: the owner should rotate the key (the database actor does).
  bool key_worn() const;
  /// Sealed operations counted under `epoch` (logged here: local and received).
  uint64_t seals_in_epoch(uint32_t epoch) const;
  /// The content-key epochs this node holds for the database (ascending).
  std::vector<uint32_t> key_epochs() const;
  /// Counts an input refused by authentication (the sync session's verdict).
  /// Persisted, like the equivocations apply_remote refuses.
  void count_refused_batch();
  security_counts security() const;

  /// Encoded operation bytes for one dot (nullopt when absent).
  result<std::optional<std::string>> operation_bytes(const dot& d) const;
  result<std::vector<conflict>> conflicts() const;
  /// Collections that hold at least one record key, sorted.
  result<std::vector<std::string>> collections() const;
  result<size_t> count_records(bool alive_only = true) const;

  version_vector versions() const;
  /// The compaction point: per origin, operations with seq <= base() may be
  /// missing from the log (compacted, or skipped by a snapshot).
  version_vector base() const;
  /// Per known peer (node id): the version vector it acknowledged holding.
  std::map<node_id, version_vector> peer_acks() const;
  /// Per origin the minimum over known peers' acknowledged vectors, within
  /// versions(): the operations every known replica holds. A replica never
  /// seen does not hold compaction back (it catches up by snapshot); with no
  /// known peer this is versions().
  version_vector compaction_point() const;
  uint64_t clock() const;
  std::map<std::pair<std::string, std::string>, index_state> indexes() const;
  /// Digest of records and index declarations: equal to replica::digest()
  /// of a replica that applied the same operations.
  result<uint64_t> digest() const;

  durability mode() const { return mode_.load(std::memory_order_relaxed); }
  /// The collections a partial replica holds (it synced with a filter and
  /// skipped other collections' operations); empty for a full replica.
  std::vector<std::string> partial() const;
  node_id self() const { return self_; }
  const store_options& options() const { return opts_; }
  const std::filesystem::path& path() const { return dir_; }

private:
  struct pending;  // one WriteBatch being assembled
  store(std::filesystem::path dir, node_id self, store_options opts,
        std::shared_ptr<storage_environment> env);
  status load_meta();
  // `known`: the record's state already loaded for this batch (moved from).
  // `encoded`: the operation's encoding, when the caller has it.
  signed_head sign_own(uint64_t seq, std::string link) const;
  void put_head(pending& p, const signed_head& h);
  status apply_one(pending& p, const operation& op, std::vector<change>* changes,
                   std::optional<record_state>* known = nullptr, const std::string* encoded = nullptr);
  // apply_one's effect on records and indexes (no log, no version vector).
  // A sealed operation is opened with the batch's keys and its plaintext
  // applied; one this node cannot open is noted as unopened.
  status apply_effect(pending& p, const operation& op, std::vector<change>* changes,
                      std::optional<record_state>* known);
  // ---- end-to-end encryption (docs/security.md §3) ----
  struct e2e_state;  // the access list and this node's keys to it
  std::shared_ptr<const e2e_state> e2e() const;
  // Builds the state from the stored list; on a change of keys, applies the
  // unopened operations the new keys open (their changes into `changes`).
  status refresh_e2e(std::vector<change>* changes);
  // What a new database starts with (store_options::create_as); run by
  // open() when it created the database, again after a crash mid-creation.
  status start_as(new_database how);
  status reopen_unopened(std::vector<change>* changes);
  // The bytes a local operation is logged and chained as: sealed when the
  // list is, after the list's rules for this node (check_operation).
  result<std::string> local_encoding(const operation& op, const access_list& list, const keyring& keys) const;
  // Snapshots the in-memory meta a batch starts from.
  void begin(pending& p) const;
  // apply_remote of operations sorted by dot (with their encodings, or null).
  apply_report apply_batch(std::vector<operation>& ops, const std::vector<std::string>* encoded, uint64_t now_ms,
                           std::vector<change>* changes, const coverage_set* cov);
  apply_report apply_sorted(std::vector<operation>& ops, const std::vector<std::string>* encoded, uint64_t now_ms,
                            std::vector<change>* changes, const coverage_set* cov);
  result<std::optional<record_state>> load(pending* p, const std::string& collection,
                                           const record_id& id) const;
  // Writes the batch; when it changed `_access`, refreshes the keys (the
  // operations they newly open into `changes`).
  status commit(pending& p, std::vector<change>* changes = nullptr);
  // This node's chain through local operations (write_local, commit_txn):
  // its stored state, extended by each operation's logged bytes, and a head
  // put at the end of the batch.
  crypto::chain_state own_chain() const;
  void extend_own_chain(crypto::chain_state& own, uint64_t seq, std::string_view bytes) const;
  void end_own_chain(pending& p, const crypto::chain_state& before, const crypto::chain_state& own);
  // run() now (at null: a snapshot of its own) or at a read point.
  result<std::vector<row>> run_at(const query& q, const read_point* at, query_stats* stats) const;
  // apply_one's branch for a held transaction operation.
  status hold_one(pending& p, const operation& op, const std::string* encoded);
  void index_record(pending& p, const std::string& collection, const record_id& id,
                    const record_state* before, const record_state& after);
  status build_index(pending& p, const std::string& collection, const std::string& field, bool add);

  std::filesystem::path dir_;
  node_id self_;
  store_options opts_;
  std::shared_ptr<storage_environment> env_;
  // This database's view of the file system (store.cpp, creation_fs): the
  // node's Env with syncs skipped while the database is being created.
  // Declared before db_: it outlives the DB.
  struct creation_fs;
  std::shared_ptr<creation_fs> fs_;
  std::unique_ptr<rocksdb::Env> db_env_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  rocksdb::ColumnFamilyHandle* records_ = nullptr;
  rocksdb::ColumnFamilyHandle* oplog_ = nullptr;
  rocksdb::ColumnFamilyHandle* index_ = nullptr;
  rocksdb::ColumnFamilyHandle* meta_ = nullptr;
  rocksdb::ColumnFamilyHandle* conflicts_ = nullptr;

  // In-memory copies of meta, changed only by the writer after a commit.
  mutable std::mutex meta_mutex_;
  version_vector vv_;
  uint64_t clock_ = 0;
  std::atomic<durability> mode_{durability::buffered};
  std::map<std::pair<std::string, std::string>, index_state> indexes_;
  std::vector<std::string> partial_;
  version_vector base_;
  std::map<node_id, version_vector> peers_;
  std::map<node_id, crypto::chain_state> chains_;  // per origin: the chain at its highest head held

  // Own heads signed recently (seq -> signature), so many links serving the
  // same commit sign it once.
  mutable std::mutex sign_mutex_;
  mutable std::map<uint64_t, std::string> own_signatures_;
  std::atomic<uint64_t> refused_batches_{0};
  std::atomic<uint64_t> equivocations_{0};
  std::atomic<uint64_t> unopened_{0};
  // Guarded by meta_mutex_; replaced (never changed) after a commit that
  // touched `_access`.
  std::shared_ptr<const e2e_state> e2e_;
  std::atomic<uint64_t> access_generation_{0};
  // A key-opening scan (reopen_unopened) failed after the keys it opens were
  // put in use: the store takes no further commit until it is reopened,
  // where the scan resumes from its last committed position. (Operations
  // committed meanwhile would be opened on arrival and again by the resumed
  // scan if their log keys lie past its position.)
  std::atomic<bool> scan_failed_{false};
  std::map<uint32_t, uint64_t> seals_;  // per epoch, sealed operations logged (meta e2e/seals/); meta_mutex_
  std::atomic<bool> joining_{false};  // created by new_database::join (meta, persisted)
  std::optional<node_id> member_;  // node_id_of(signer): who this node is in access lists

  // Open snapshot read points, released at the latest when the store closes.
  struct read_points;
  std::shared_ptr<read_points> read_points_;
};

/// A snapshot read point (store::open_snapshot).
class store::snapshot_handle {
public:
  ~snapshot_handle();
  snapshot_handle(const snapshot_handle&) = delete;
  snapshot_handle& operator=(const snapshot_handle&) = delete;
  /// The version vector at the read point: the operations the states cover.
  const version_vector& versions() const { return versions_; }
  /// Index declarations of the requested collections at the read point.
  const std::vector<index_decl>& indexes() const { return indexes_; }

private:
  friend class store;
  snapshot_handle() = default;
  std::shared_ptr<read_points> rp_;
  const rocksdb::Snapshot* snap_ = nullptr;
  version_vector versions_;
  std::vector<index_decl> indexes_;
  std::vector<std::string> prefixes_;  // record key ranges to read, in key order ("": all)
  size_t range_ = 0;                   // the range being read
  std::string after_;                  // the last key returned in it
};

/// A read point (store::open_read_point).
class store::read_point {
public:
  read_point(const read_point&) = delete;
  read_point& operator=(const read_point&) = delete;

private:
  friend class store;
  read_point() = default;
  std::shared_ptr<snapshot_handle> snap_;  // the RocksDB snapshot, released with it
  std::map<std::pair<std::string, std::string>, index_state> indexes_;  // declarations at the read point
};

} // namespace blaze
