#include "storage/store.hpp"

#include "core/keys.hpp"
#include "core/crypto/wire.hpp"
#include "core/replica.hpp"
#include "core/sealed_op.hpp"
#include "core/transaction.hpp"
#include "storage/rocksdb_options.hpp"

#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/file_system.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <set>
#include <thread>
#include <unordered_map>

namespace blaze {

namespace {

const std::string meta_clock = "clock";
const std::string meta_vv = "vv/";         // ‖ origin (16 bytes) -> u64 seq
const std::string meta_index = "index/";   // ‖ index prefix -> 4 x u64 (created, dropped)
const std::string meta_format = "format";  // storage format version
const std::string meta_durability = "durability";  // "sync" or "buffered"
const std::string meta_partial = "partial";  // collections of a partial replica, '\n'-separated
const std::string meta_base = "base/";     // ‖ origin (16 bytes) -> u64: compaction point
const std::string meta_peer = "peer/";     // ‖ node id (16 bytes) -> vector the peer acknowledged
const std::string meta_hold = "hold/";     // ‖ txn (16 bytes) ‖ origin (16) ‖ seq (u64) -> a held operation
const std::string meta_chain = "chain/";   // ‖ origin (16 bytes) -> u64 seq ‖ link (32): chain at the highest head
const std::string meta_refused = "security/refused";             // u64: store::security()
const std::string meta_equivocations = "security/equivocations";  // u64
const std::string meta_unopened = "security/unopened";  // u64: sealed operations logged, not applied
const std::string meta_joining = "e2e/joining";  // present: created by new_database::join
const std::string meta_seals = "e2e/seals/";  // ‖ u32 epoch -> u64 sealed operations logged under it
const std::string meta_opening = "e2e/opening";  // a key-opening scan under way (reopen_unopened)
const std::string meta_opened_epochs = "e2e/opened";     // u32 epochs, ascending: every logged
                                                        // sealed operation of these is applied (or held)
const std::string meta_head = "head/";     // ‖ origin (16 bytes) ‖ u64 seq -> link (32) [‖ signature (64) ‖ key (32)]
const std::string meta_stage = "stage/";   // ‖ peer (16 bytes) ‖ 'p' -> the staged snapshot's point
                                           //                   ‖ 'r' ‖ record key -> staged state
                                           //                   ‖ 'i' ‖ index prefix -> staged declaration
constexpr uint64_t format_version = 1;

status io(const rocksdb::Status& s, const std::string& what) {
  return {errc::io_error, what + ": " + s.ToString()};
}

std::string u64_bytes(uint64_t x) {
  std::string s;
  keys::append_u64(s, x);
  return s;
}

// A big-endian u32 (epochs, counts) at `p`, as u64_bytes(x).substr(4) wrote it.
uint32_t read_u32(const char* p) {
  return static_cast<uint32_t>(keys::read_u64((std::string(4, '\0') + std::string(p, 4)).data()));
}

std::string id_bytes(const id128& id) {
  std::string s;
  keys::append_u64(s, id.hi);
  keys::append_u64(s, id.lo);
  return s;
}

// Record-key map for the batch overlay.
struct key_hash {
  size_t operator()(const std::string& s) const noexcept { return std::hash<std::string>{}(s); }
};

bool starts_with(const rocksdb::Slice& s, const std::string& prefix) {
  return s.size() >= prefix.size() && std::memcmp(s.data(), prefix.data(), prefix.size()) == 0;
}

id128 id_at(const char* p) { return {keys::read_u64(p), keys::read_u64(p + 8)}; }

// A version vector in meta: (origin 16 bytes, seq u64) per entry.
std::string vv_bytes(const version_vector& vv) {
  std::string s;
  for (auto& [o, seq] : vv.entries()) {
    s += id_bytes(o);
    keys::append_u64(s, seq);
  }
  return s;
}
std::optional<version_vector> vv_of(std::string_view b) {
  if (b.size() % 24 != 0)
    return std::nullopt;
  version_vector vv;
  for (size_t i = 0; i < b.size(); i += 24)
    vv.set(id_at(b.data() + i), keys::read_u64(b.data() + i + 16));
  return vv;
}

std::string index_state_bytes(const index_state& is) {
  std::string v;
  keys::append_u64(v, is.created.counter);
  v += id_bytes(is.created.node);
  keys::append_u64(v, is.dropped.counter);
  v += id_bytes(is.dropped.node);
  return v;
}
index_state index_state_of(const char* p) {
  index_state is;
  is.created = {keys::read_u64(p), id_at(p + 8)};
  is.dropped = {keys::read_u64(p + 24), id_at(p + 32)};
  return is;
}

// (collection, field) of an index prefix (keys::index_prefix), or nullopt.
std::optional<std::pair<std::string, std::string>> index_key_of(std::string_view rest) {
  if (rest.size() < 4)
    return std::nullopt;
  size_t cl = (uint8_t(rest[0]) << 8) | uint8_t(rest[1]);
  if (rest.size() < 4 + cl)
    return std::nullopt;
  size_t fl = (uint8_t(rest[2 + cl]) << 8) | uint8_t(rest[3 + cl]);
  if (rest.size() != 4 + cl + fl)
    return std::nullopt;
  return std::make_pair(std::string(rest.substr(2, cl)), std::string(rest.substr(4 + cl, fl)));
}

// (collection, id) of a record key, or nullopt.
std::optional<std::pair<std::string, record_id>> record_key_of(std::string_view k) {
  if (k.size() < 2)
    return std::nullopt;
  size_t len = (uint8_t(k[0]) << 8) | uint8_t(k[1]);
  if (k.size() != 2 + len + 16)
    return std::nullopt;
  return std::make_pair(std::string(k.substr(2, len)), keys::record_id_of(k));
}

std::string stage_prefix(const node_id& peer) { return meta_stage + id_bytes(peer); }

std::string hold_key(const id128& txn, const dot& d) {
  std::string k = meta_hold + id_bytes(txn) + id_bytes(d.origin);
  keys::append_u64(k, d.seq);
  return k;
}

std::string head_key(const node_id& origin, uint64_t seq) { return meta_head + id_bytes(origin) + u64_bytes(seq); }

std::string link_bytes(const crypto::chain_link& l) { return std::string(crypto::as_view(l)); }

// The first key after every key starting with `prefix`.
std::string prefix_end(std::string prefix) {
  while (!prefix.empty() && static_cast<unsigned char>(prefix.back()) == 0xff)
    prefix.pop_back();
  if (!prefix.empty())
    prefix.back() = static_cast<char>(static_cast<unsigned char>(prefix.back()) + 1);
  return prefix;
}

// Names in a snapshot obey the limits operations do.
status check_names(const std::string& collection, const std::string* field, const limits& lim) {
  if (collection.empty() || collection.size() > lim.max_collection_name)
    return {errc::invalid_argument, "snapshot: collection name of " + std::to_string(collection.size()) +
                                      " bytes (1 to " + std::to_string(lim.max_collection_name) + ")"};
  if (field && (field->empty() || field->size() > lim.max_field_name))
    return {errc::invalid_argument, "snapshot: field name of " + std::to_string(field->size()) + " bytes (1 to " +
                                      std::to_string(lim.max_field_name) + ")"};
  return {};
}

// Releases a RocksDB snapshot at scope exit.
struct snapshot_guard {
  rocksdb::DB* db;
  const rocksdb::Snapshot* s;
  ~snapshot_guard() { db->ReleaseSnapshot(s); }
};

} // namespace

// ---- creating a database --------------------------------------------------------
//
// RocksDB creates a database with about 27 fsyncs (IDENTITY, MANIFEST,
// CURRENT, an OPTIONS file per column family, the directory after each
// rename), 70-130 ms on a busy disk, for a database that holds nothing yet.
// A database being created is instead written without syncs, then made
// durable at once; a marker file makes that safe:
//
//  1. Under RocksDB's LOCK, before RocksDB writes its first file, the empty
//     file BLAZE-CREATING is made durable (the file and the directory).
//  2. RocksDB creates the database and its column families, and the store
//     writes its format and durability, with every sync skipped.
//  3. Every file RocksDB left is fsynced, with the directory and its parent
//     (so the directory itself survives); then the marker is removed and the
//     directory fsynced again. Only then does store::open return.
//
// A crash before step 3 completes leaves the marker durable (step 1 made it
// so before any of RocksDB's files existed: without that, a crash could leave
// half-written RocksDB files and no marker, a database that cannot open); the
// next open finds it (under the lock, before RocksDB reads anything) and
// deletes what RocksDB wrote, then creates the database again. Nothing is
// lost: no write can have been acknowledged, since store::open had not
// returned (a failed open also leaves the marker). The marker is removed only
// after the files, the directory and its parent are durable, and its removal
// is made durable before store::open returns: an acknowledged write can never
// sit in a database that a later open would delete. From then on RocksDB's
// syncs run as usual (this file system passes them through), so user data is
// exactly as durable as before. (The parent fsync is new: RocksDB never
// synced the directory that holds the database.)

namespace {

const std::string creating_marker = "BLAZE-CREATING";

// fsync of a file or directory by path (a read-only descriptor suffices on Linux).
std::optional<std::string> fsync_path(const std::string& path, bool directory) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | (directory ? O_DIRECTORY : 0));
  if (fd < 0 && errno == ENOENT && !directory)
    return std::nullopt;  // an obsolete file RocksDB deleted meanwhile (in the background)
  if (fd < 0)
    return "open " + path + ": " + std::strerror(errno);
  std::optional<std::string> err;
  if (::fsync(fd) != 0)
    err = "fsync " + path + ": " + std::strerror(errno);
  ::close(fd);
  return err;
}

// fsyncs the paths concurrently (their order does not matter: all of them
// must be durable before the caller goes on), the first error.
std::optional<std::string> fsync_all(const std::vector<std::pair<std::string, bool>>& paths) {
  std::vector<std::optional<std::string>> errs(paths.size());
  std::vector<std::thread> threads;
  threads.reserve(paths.size());
  for (size_t i = 1; i < paths.size(); ++i)
    threads.emplace_back([&, i] { errs[i] = fsync_path(paths[i].first, paths[i].second); });
  if (!paths.empty())
    errs[0] = fsync_path(paths[0].first, paths[0].second);
  for (auto& t : threads)
    t.join();
  for (auto& e : errs)
    if (e)
      return e;
  return std::nullopt;
}

// The files RocksDB writes in a database directory (LOCK and the info LOG
// excluded: RocksDB opens those before it takes the lock).
bool rocksdb_data_file(const std::string& name) {
  auto ends = [&](const char* suffix) {
    size_t n = std::strlen(suffix);
    return name.size() >= n && name.compare(name.size() - n, n, suffix) == 0;
  };
  return name == "CURRENT" || name == "IDENTITY" || name.rfind("MANIFEST-", 0) == 0 ||
         name.rfind("OPTIONS-", 0) == 0 || ends(".log") || ends(".sst") || ends(".dbtmp") || ends(".blob");
}

rocksdb::IOStatus io_error(const std::string& what) { return rocksdb::IOStatus::IOError(what); }

} // namespace

// The node's file system for one database: skips syncs while `creating`,
// and runs steps 1 (or the recovery) under RocksDB's lock.
struct store::creation_fs : rocksdb::FileSystemWrapper {
  std::string dir;
  std::string lock_name;
  std::shared_ptr<std::atomic<bool>> creating = std::make_shared<std::atomic<bool>>(false);

  creation_fs(std::shared_ptr<rocksdb::FileSystem> base, std::string d)
    : FileSystemWrapper(std::move(base)), dir(std::move(d)), lock_name(dir + "/LOCK") {}

  const char* Name() const override { return "BlazeCreationFileSystem"; }

  struct file : rocksdb::FSWritableFileOwnerWrapper {
    std::shared_ptr<std::atomic<bool>> skip;
    file(std::unique_ptr<rocksdb::FSWritableFile> f, std::shared_ptr<std::atomic<bool>> s)
      : FSWritableFileOwnerWrapper(std::move(f)), skip(std::move(s)) {}
    rocksdb::IOStatus Sync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* d) override {
      return *skip ? rocksdb::IOStatus::OK() : target()->Sync(o, d);
    }
    rocksdb::IOStatus Fsync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* d) override {
      return *skip ? rocksdb::IOStatus::OK() : target()->Fsync(o, d);
    }
    rocksdb::IOStatus RangeSync(uint64_t off, uint64_t n, const rocksdb::IOOptions& o,
                                rocksdb::IODebugContext* d) override {
      return *skip ? rocksdb::IOStatus::OK() : target()->RangeSync(off, n, o, d);
    }
  };
  struct directory : rocksdb::FSDirectoryWrapper {
    std::shared_ptr<std::atomic<bool>> skip;
    directory(std::unique_ptr<rocksdb::FSDirectory> d, std::shared_ptr<std::atomic<bool>> s)
      : FSDirectoryWrapper(std::move(d)), skip(std::move(s)) {}
    rocksdb::IOStatus Fsync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* d) override {
      return *skip ? rocksdb::IOStatus::OK() : FSDirectoryWrapper::Fsync(o, d);
    }
    rocksdb::IOStatus FsyncWithDirOptions(const rocksdb::IOOptions& o, rocksdb::IODebugContext* d,
                                          const rocksdb::DirFsyncOptions& x) override {
      return *skip ? rocksdb::IOStatus::OK() : FSDirectoryWrapper::FsyncWithDirOptions(o, d, x);
    }
  };

  rocksdb::IOStatus NewWritableFile(const std::string& f, const rocksdb::FileOptions& fo,
                                    std::unique_ptr<rocksdb::FSWritableFile>* r,
                                    rocksdb::IODebugContext* d) override {
    std::unique_ptr<rocksdb::FSWritableFile> t;
    auto s = target()->NewWritableFile(f, fo, &t, d);
    if (s.ok())
      r->reset(new file(std::move(t), creating));
    return s;
  }
  rocksdb::IOStatus ReopenWritableFile(const std::string& f, const rocksdb::FileOptions& fo,
                                       std::unique_ptr<rocksdb::FSWritableFile>* r,
                                       rocksdb::IODebugContext* d) override {
    std::unique_ptr<rocksdb::FSWritableFile> t;
    auto s = target()->ReopenWritableFile(f, fo, &t, d);
    if (s.ok())
      r->reset(new file(std::move(t), creating));
    return s;
  }
  rocksdb::IOStatus ReuseWritableFile(const std::string& f, const std::string& old, const rocksdb::FileOptions& fo,
                                      std::unique_ptr<rocksdb::FSWritableFile>* r,
                                      rocksdb::IODebugContext* d) override {
    std::unique_ptr<rocksdb::FSWritableFile> t;
    auto s = target()->ReuseWritableFile(f, old, fo, &t, d);
    if (s.ok())
      r->reset(new file(std::move(t), creating));
    return s;
  }
  rocksdb::IOStatus NewDirectory(const std::string& n, const rocksdb::IOOptions& io,
                                 std::unique_ptr<rocksdb::FSDirectory>* r, rocksdb::IODebugContext* d) override {
    std::unique_ptr<rocksdb::FSDirectory> t;
    auto s = target()->NewDirectory(n, io, &t, d);
    if (s.ok())
      r->reset(new directory(std::move(t), creating));
    return s;
  }

  // RocksDB takes its lock before reading or writing anything of the
  // database: step 1, or the recovery from an interrupted creation.
  rocksdb::IOStatus LockFile(const std::string& f, const rocksdb::IOOptions& o, rocksdb::FileLock** l,
                             rocksdb::IODebugContext* d) override {
    auto s = target()->LockFile(f, o, l, d);
    if (!s.ok() || f != lock_name)
      return s;
    auto fail = [&](rocksdb::IOStatus e) {
      target()->UnlockFile(*l, o, d);
      *l = nullptr;
      return e;
    };
    std::error_code ec;
    auto marker = std::filesystem::path(dir) / creating_marker;
    if (std::filesystem::exists(marker, ec)) {
      // An interrupted creation: nothing in it was ever acknowledged.
      for (auto& e : std::filesystem::directory_iterator(dir, ec))
        if (rocksdb_data_file(e.path().filename().string()))
          std::filesystem::remove(e.path(), ec);
      if (ec)
        return fail(io_error("cannot clear the interrupted creation of " + dir + ": " + ec.message()));
      *creating = true;
    } else if (!std::filesystem::exists(std::filesystem::path(dir) / "CURRENT", ec)) {
      int fd = ::open(marker.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (fd < 0)
        return fail(io_error("cannot create " + marker.string() + ": " + std::strerror(errno)));
      ::close(fd);
      if (auto e = fsync_all({{marker.string(), false}, {dir, true}}))
        return fail(io_error(*e));
      *creating = true;
    }
    return s;
  }

  // Step 3: everything RocksDB wrote made durable, then the marker removed.
  status finish_creation() {
    if (!*creating)
      return {};
    std::vector<std::pair<std::string, bool>> paths;
    std::error_code ec;
    for (auto& e : std::filesystem::directory_iterator(dir, ec))
      if (rocksdb_data_file(e.path().filename().string()))
        paths.emplace_back(e.path().string(), false);
    if (ec)
      return {errc::io_error, "cannot list " + dir + ": " + ec.message()};
    paths.emplace_back(dir, true);
    auto parent = std::filesystem::path(dir).parent_path();
    paths.emplace_back(parent.empty() ? "." : parent.string(), true);
    if (auto e = fsync_all(paths))
      return {errc::io_error, *e};
    if (::unlink((std::filesystem::path(dir) / creating_marker).c_str()) != 0)
      return {errc::io_error, "cannot remove the creation marker in " + dir + ": " + std::strerror(errno)};
    if (auto e = fsync_path(dir, true))
      return {errc::io_error, *e};
    *creating = false;  // from now on RocksDB's own syncs run
    return {};
  }
};

// The RocksDB snapshots of open snapshot_handles: released by the handle, or
// by the store when it closes first.
struct store::read_points {
  std::mutex m;
  rocksdb::DB* db = nullptr;
  std::set<snapshot_handle*> open;
};

store::snapshot_handle::~snapshot_handle() {
  if (!rp_)
    return;
  std::lock_guard<std::mutex> g(rp_->m);
  if (snap_ && rp_->db)
    rp_->db->ReleaseSnapshot(snap_);
  rp_->open.erase(this);
}

// The access list and this node's keys to it (end-to-end encryption).
struct store::e2e_state {
  access_list list;
  keyring keys;  // this node's, unwrapped from `list`
};

// One WriteBatch being assembled, with the state it will produce.
struct store::pending {
  rocksdb::WriteBatch batch;
  std::unordered_map<std::string, record_state, key_hash> records;  // overlay by record key
  version_vector vv;
  uint64_t clock;
  std::map<std::pair<std::string, std::string>, index_state> indexes;
  std::set<std::pair<std::string, std::string>> touched_indexes;
  std::set<std::pair<std::string, std::string>> built;  // indexes (re)built by this batch
  bool dirty = false;
  std::map<node_id, crypto::chain_state> chains;  // chain states this batch moves
  // apply_one leaves the records it changed in the overlay only: commit()
  // writes each once (merge_snapshot writes its own as it goes).
  bool write_records = false;
  // Cross-database transactions (the section at the end of this file):
  // `hold_txn` (remote operations) logs a transaction's operations but keeps
  // their effects aside until the transaction is complete here;
  // `materialize_only` (releasing them) applies effects without a log entry.
  bool hold_txn = false;
  bool materialize_only = false;
  // End-to-end encryption: the list and keys the batch started with (null
  // until begin()); whether it changed `_access` (refresh_e2e after the
  // commit); sealed operations it logged without opening them.
  std::shared_ptr<const e2e_state> e2e;
  bool access_changed = false;
  uint64_t unopened = 0;
  std::map<uint32_t, uint64_t> seals;  // sealed operations it logs, per epoch

  // About what an operation adds to the batch (oplog entry, record state,
  // keys), so the batch's buffer is not regrown and copied as it fills.
  explicit pending(size_t ops = 0) : batch(ops * 480) {}
};

store::store(std::filesystem::path dir, node_id self, store_options opts,
             std::shared_ptr<storage_environment> env)
  : dir_(std::move(dir)), self_(self), opts_(std::move(opts)), env_(std::move(env)) {}

store::~store() {
  if (read_points_) {
    std::lock_guard<std::mutex> g(read_points_->m);
    for (auto* h : read_points_->open) {
      if (h->snap_)
        db_->ReleaseSnapshot(h->snap_);
      h->snap_ = nullptr;
    }
    read_points_->open.clear();
    read_points_->db = nullptr;
  }
  if (db_) {
    for (auto* h : handles_)
      db_->DestroyColumnFamilyHandle(h);
    db_->Close();
  }
}

result<std::unique_ptr<store>> store::open(const std::filesystem::path& dir, node_id self,
                                           const store_options& opts,
                                           std::shared_ptr<storage_environment> env) {
  if (!env)
    env = std::make_shared<storage_environment>();
  std::unique_ptr<store> s(new store(dir, self, opts, env));

  auto dbo = db_options(*env);
  auto cfs = column_families(*env);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    return status{errc::io_error, "cannot create " + dir.string() + ": " + ec.message()};
  // The node's file system (its Env's threads), with syncs skipped while
  // this database is being created (creation_fs above).
  s->fs_ = std::make_shared<creation_fs>(env->env()->GetFileSystem(), dir.string());
  s->db_env_ = rocksdb::NewCompositeEnv(s->fs_);
  dbo.env = s->db_env_.get();
  auto locked_or_io = [&](const rocksdb::Status& st) -> status {
    if (st.IsIOError() && st.ToString().find("lock") != std::string::npos)
      return status{errc::locked, "database " + dir.string() + " is already open " +
                                    (st.ToString().find("current process") != std::string::npos
                                       ? "in this process"
                                       : "in another process")};
    return io(st, "cannot open database " + dir.string());
  };
  rocksdb::DB* raw = nullptr;
  rocksdb::Status st;
  // A new database: opened with the default column family alone, the others
  // created in one CreateColumnFamilies (one OPTIONS file, not one per family).
  bool fresh = !std::filesystem::exists(dir / "CURRENT", ec) || std::filesystem::exists(dir / creating_marker, ec);
  if (fresh) {
    st = rocksdb::DB::Open(dbo, dir.string(), {cfs[0]}, &s->handles_, &raw);
    if (st.ok() && !s->fs_->creating->load()) {
      // Created by someone else meanwhile: open it as an existing database.
      for (auto* h : s->handles_)
        raw->DestroyColumnFamilyHandle(h);
      s->handles_.clear();
      raw->Close();
      delete raw;
      raw = nullptr;
      fresh = false;
    } else if (st.ok()) {
      std::vector<rocksdb::ColumnFamilyHandle*> more;
      st = raw->CreateColumnFamilies(std::vector<rocksdb::ColumnFamilyDescriptor>(cfs.begin() + 1, cfs.end()), &more);
      s->handles_.insert(s->handles_.end(), more.begin(), more.end());
      if (!st.ok()) {
        for (auto* h : s->handles_)
          raw->DestroyColumnFamilyHandle(h);
        s->handles_.clear();
        raw->Close();
        delete raw;
        return io(st, "cannot create the column families of " + dir.string());
      }
    } else if (st.IsInvalidArgument()) {
      fresh = false;  // it has the other families already: open them all
    } else {
      return locked_or_io(st);
    }
  }
  if (!fresh) {
    st = rocksdb::DB::Open(dbo, dir.string(), cfs, &s->handles_, &raw);
    if (!st.ok())
      return locked_or_io(st);
  }
  s->db_.reset(raw);
  s->read_points_ = std::make_shared<read_points>();
  s->read_points_->db = raw;
  s->records_ = s->handles_[1];
  s->oplog_ = s->handles_[2];
  s->index_ = s->handles_[3];
  s->meta_ = s->handles_[4];
  s->conflicts_ = s->handles_[5];
  if (auto ls = s->load_meta(); !ls)
    return ls;
  if (s->opts_.signer)
    s->member_ = s->opts_.signer->id();
  // Also finishes an interrupted reopen_unopened (keys gained, crash before
  // their operations were applied).
  if (auto es = s->refresh_e2e(nullptr); !es)
    return es;
  // A crash before finish_creation leaves the marker: the next open sees a
  // fresh database again and start_as finishes what it began.
  // Run before finish_creation: a crash before it leaves the creation
  // marker, and the next open starts the database over from nothing (the
  // marker's files are removed), as that open asks.
  if (fresh)
    if (auto cs = s->start_as(opts.create_as); !cs)
      return cs;
  if (auto fs = s->fs_->finish_creation(); !fs)
    return fs;
  return s;
}

const char* to_string(new_database d) {
  switch (d) {
  case new_database::open: return "open";
  case new_database::sealed: return "sealed";
  case new_database::plaintext: return "plaintext";
  case new_database::join: return "join";
  }
  return "?";
}

status store::start_as(new_database how) {
  if (how == new_database::open)
    return {};
  if (how == new_database::join) {
    auto st = db_->Put(rocksdb::WriteOptions(), meta_, meta_joining, "1");
    if (!st.ok())
      return io(st, "cannot mark " + dir_.string() + " as joining");
    joining_ = true;
    return {};
  }
  auto e = e2e();
  if (!e->list.empty())
    return {};  // (cannot be: a new database holds nothing)
  const bool sealed = how == new_database::sealed;
  if (!opts_.signer || (sealed && !opts_.exchange))
    return status{errc::invalid_argument, "database " + opts_.database_id + " cannot be created " + to_string(how) +
                                            ": the store has no node key" + (sealed ? "s (signing and exchange)" : "")};
  crypto::member_key owner;
  owner.signing = opts_.signer->public_key();
  if (opts_.exchange)
    owner.exchange = opts_.exchange->public_key();
  auto ws = access::create(e->list, owner, sealed);
  if (!ws)
    return ws.error();
  auto now_ms = static_cast<uint64_t>(
    std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
  for (auto& r : write_local(*ws, now_ms, nullptr))
    if (!r)
      return status{r.error().code, "cannot create the access list of " + opts_.database_id + ": " + r.error().message};
  return {};
}

result<std::vector<write>> store::grant_writes(const crypto::member_key& member, access_rights rights) const {
  return access_writes([&](const access_list& list, const keyring& keys) {
    return access::grant(list, member, rights, keys);
  });
}

result<std::vector<write>> store::access_writes(const access_builder& build) const {
  auto e = e2e();
  if (e->list.empty())
    return status{errc::invalid_argument, "database " + opts_.database_id + " has no access list" +
                                            (joining_ ? " yet (it is joining another node's database)" : "") +
                                            ": nothing to share it by"};
  return build(e->list, e->keys);
}

bool store::key_worn() const {
  auto e = e2e();
  if (!e || !e->list.is_sealed() || !member_ || e->list.owner_id() != *member_)
    return false;
  return seals_in_epoch(e->list.epoch()) >= opts_.seals_per_key;
}

uint64_t store::seals_in_epoch(uint32_t epoch) const {
  std::lock_guard<std::mutex> guard(meta_mutex_);
  auto i = seals_.find(epoch);
  return i != seals_.end() ? i->second : 0;
}

bool store::awaiting_access() const {
  auto e = e2e();
  return joining_ && e && e->list.empty();
}

status store::load_meta() {
  std::string v;
  auto st = db_->Get(rocksdb::ReadOptions(), meta_, meta_format, &v);
  if (st.IsNotFound()) {
    st = db_->Put(rocksdb::WriteOptions(), meta_, meta_format, u64_bytes(format_version));
    if (!st.ok())
      return io(st, "cannot initialize " + dir_.string());
  } else if (!st.ok()) {
    return io(st, "cannot read metadata");
  } else if (v.size() != 8 || keys::read_u64(v.data()) != format_version) {
    return {errc::corrupt, "database " + dir_.string() + " has an unknown storage format"};
  }
  mode_ = opts_.mode;
  st = db_->Get(rocksdb::ReadOptions(), meta_, meta_joining, &v);
  if (!st.ok() && !st.IsNotFound())
    return io(st, "cannot read metadata");
  joining_ = st.ok();
  st = db_->Get(rocksdb::ReadOptions(), meta_, meta_durability, &v);
  if (st.IsNotFound()) {
    if (auto s = set_durability(opts_.mode); !s)
      return s;
  } else if (!st.ok()) {
    return io(st, "cannot read metadata");
  } else if (v == "sync" || v == "buffered") {
    mode_ = v == "sync" ? durability::sync : durability::buffered;
  } else {
    return {errc::corrupt, "database " + dir_.string() + " has an unknown durability '" + v + "'"};
  }
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), meta_));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    auto k = it->key();
    auto val = it->value();
    if (starts_with(k, meta_stage)) {
      it->Seek(prefix_end(meta_stage));  // staged snapshots: read when joined
      if (!it->Valid())
        break;
      k = it->key();
      val = it->value();
    }
    if (starts_with(k, meta_head)) {
      it->Seek(prefix_end(meta_head));  // one per commit: read when served
      if (!it->Valid())
        break;
      k = it->key();
      val = it->value();
    }
    if (starts_with(k, meta_chain)) {
      if (k.size() != meta_chain.size() + 16 || val.size() != 40)
        return {errc::corrupt, "corrupt chain state in " + dir_.string()};
      crypto::chain_state cs;
      cs.seq = keys::read_u64(val.data());
      cs.link = crypto::wire::to_array<32>(std::string_view(val.data() + 8, 32));
      chains_[id_at(k.data() + meta_chain.size())] = cs;
    } else if ((k.ToStringView() == meta_refused || k.ToStringView() == meta_equivocations ||
                k.ToStringView() == meta_unopened) &&
               val.size() == 8) {
      (k.ToStringView() == meta_refused         ? refused_batches_
       : k.ToStringView() == meta_equivocations ? equivocations_
                                                : unopened_) = keys::read_u64(val.data());
    } else if (starts_with(k, meta_seals)) {
      if (k.size() != meta_seals.size() + 4 || val.size() != 8)
        return {errc::corrupt, "corrupt seal count in " + dir_.string()};
      seals_[read_u32(k.data() + meta_seals.size())] = keys::read_u64(val.data());
    } else if (starts_with(k, meta_base)) {
      if (k.size() != meta_base.size() + 16 || val.size() != 8)
        return {errc::corrupt, "corrupt compaction point in " + dir_.string()};
      base_.set(id_at(k.data() + meta_base.size()), keys::read_u64(val.data()));
    } else if (starts_with(k, meta_peer)) {
      auto vv = vv_of(val.ToStringView());
      if (k.size() != meta_peer.size() + 16 || !vv)
        return {errc::corrupt, "corrupt peer record in " + dir_.string()};
      peers_[id_at(k.data() + meta_peer.size())] = std::move(*vv);
    } else if (k.ToStringView() == meta_clock) {
      if (val.size() != 8)
        return {errc::corrupt, "corrupt clock in " + dir_.string()};
      clock_ = keys::read_u64(val.data());
    } else if (k.ToStringView() == meta_partial) {
      std::string_view rest = val.ToStringView();
      while (!rest.empty()) {
        auto nl = rest.find('\n');
        partial_.emplace_back(rest.substr(0, nl));
        rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
      }
    } else if (starts_with(k, meta_vv)) {
      if (k.size() != meta_vv.size() + 16 || val.size() != 8)
        return {errc::corrupt, "corrupt version vector in " + dir_.string()};
      auto origin = id128{keys::read_u64(k.data() + meta_vv.size()), keys::read_u64(k.data() + meta_vv.size() + 8)};
      vv_.set(origin, keys::read_u64(val.data()));
    } else if (starts_with(k, meta_index)) {
      auto ik = index_key_of(std::string_view(k.data() + meta_index.size(), k.size() - meta_index.size()));
      if (!ik || val.size() != 48)
        return {errc::corrupt, "corrupt index declaration in " + dir_.string()};
      indexes_[*ik] = index_state_of(val.data());
    }
  }
  if (!it->status().ok())
    return io(it->status(), "cannot read metadata");
  return {};
}

result<std::optional<record_state>> store::load(pending* p, const std::string& collection,
                                                const record_id& id) const {
  auto key = keys::record(collection, id);
  if (p)
    if (auto it = p->records.find(key); it != p->records.end())
      return std::optional<record_state>(it->second);
  std::string bytes;
  auto st = db_->Get(rocksdb::ReadOptions(), records_, key, &bytes);
  if (st.IsNotFound())
    return std::optional<record_state>();
  if (!st.ok())
    return io(st, "cannot read record");
  auto r = decode_record(bytes, opts_.decoding);
  if (!r)
    return status{errc::corrupt, "record " + id.to_hex() + " in '" + collection + "': " + r.error().message};
  return std::optional<record_state>(std::move(*r));
}

void store::index_record(pending& p, const std::string& collection, const record_id& id,
                         const record_state* before, const record_state& after) {
  for (auto& [k, is] : p.indexes) {
    if (k.first != collection || !is.active())
      continue;
    auto old_v = before ? before->field(k.second) : std::nullopt;
    auto new_v = after.field(k.second);
    if (old_v == new_v)
      continue;
    if (old_v)
      p.batch.Delete(index_, keys::index_entry(collection, k.second, *old_v, id));
    if (new_v)
      p.batch.Put(index_, keys::index_entry(collection, k.second, *new_v, id), rocksdb::Slice());
  }
}

status store::build_index(pending& p, const std::string& collection, const std::string& field,
                          bool add) {
  // Calls fn(id, state) for every record of the collection as this batch
  // leaves it (the database, overlaid with the batch's own changes).
  auto rprefix = keys::record_prefix(collection);
  auto in_collection = [&](const std::string& key) {
    return key.size() == rprefix.size() + 16 && key.compare(0, rprefix.size(), rprefix) == 0;
  };
  auto visit = [&](auto&& fn) -> status {
    std::set<std::string> seen;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), records_));
    for (it->Seek(rprefix); it->Valid() && starts_with(it->key(), rprefix); it->Next()) {
      if (it->key().size() != rprefix.size() + 16)
        continue;
      auto key = it->key().ToString();
      auto id = keys::record_id_of(key);
      seen.insert(key);
      if (auto o = p.records.find(key); o != p.records.end()) {
        fn(id, o->second);
        continue;
      }
      auto r = decode_record(it->value().ToStringView(), opts_.decoding);
      if (!r)
        return {errc::corrupt, "record " + id.to_hex() + ": " + r.error().message};
      fn(id, *r);
    }
    if (!it->status().ok())
      return io(it->status(), "cannot scan records");
    for (auto& [key, st] : p.records)
      if (!seen.count(key) && in_collection(key))
        fn(keys::record_id_of(key), st);
    return {};
  };
  std::pair<std::string, std::string> k{collection, field};
  if (add) {
    p.built.insert(k);
    return visit([&](const record_id& id, const record_state& st) {
      if (auto v = st.field(field))
        p.batch.Put(index_, keys::index_entry(collection, field, *v, id), rocksdb::Slice());
    });
  }
  auto prefix = keys::index_prefix(collection, field);
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), index_));
  for (it->Seek(prefix); it->Valid() && starts_with(it->key(), prefix); it->Next())
    p.batch.Delete(index_, it->key());
  if (!it->status().ok())
    return io(it->status(), "cannot drop index");
  // The entries this batch put are not in the database yet, so the scan
  // above misses them: delete the entry of each record's current value too —
  // of every record when this batch built the index, else of the records the
  // batch changed (index_record keeps exactly those current).
  auto erase = [&](const record_id& id, const record_state& st) {
    if (auto v = st.field(field))
      p.batch.Delete(index_, keys::index_entry(collection, field, *v, id));
  };
  if (p.built.erase(k))
    return visit(erase);
  for (auto& [key, st] : p.records)
    if (in_collection(key))
      erase(keys::record_id_of(key), st);
  return {};
}

status store::apply_one(pending& p, const operation& op, std::vector<change>* changes,
                         std::optional<record_state>* known, const std::string* encoded) {
  if (p.materialize_only) {
  } else {
    if (encoded)
      p.batch.Put(oplog_, keys::oplog(op.id), *encoded);
    else
      p.batch.Put(oplog_, keys::oplog(op.id), encode(op));
    if (op.k == operation::kind::sealed)
      if (auto epoch = sealed_op_epoch(op))
        ++p.seals[*epoch];
  }
  if (p.hold_txn && !op.txn.empty())
    return hold_one(p, op, encoded);
  if (auto s = apply_effect(p, op, changes, known); !s)
    return s;
  p.clock = std::max(p.clock, op.counter);
  p.vv.set(op.id.origin, std::max(p.vv.get(op.id.origin), op.id.seq));
  p.dirty = true;
  return {};
}

status store::apply_effect(pending& p, const operation& op, std::vector<change>* changes,
                           std::optional<record_state>* known) {
  switch (op.k) {
    case operation::kind::upsert:
    case operation::kind::remove_record: {
      // The record's state lives in the batch's overlay from its first
      // operation on: later operations of the batch on the same record apply
      // to it in place, and commit() encodes and writes it once.
      auto key = keys::record(op.collection, op.record);
      auto [slot, first] = p.records.try_emplace(std::move(key));
      record_state& st = slot->second;
      bool existed = true;
      if (first) {
        if (known) {
          existed = known->has_value();
          if (existed)
            st = std::move(**known);
        } else {
          auto cur = load(nullptr, op.collection, op.record);
          if (!cur) {
            p.records.erase(slot);
            return cur.error();
          }
          existed = cur->has_value();
          if (existed)
            st = std::move(**cur);
        }
      }
      // The old state is only needed to update indexes.
      bool indexed = std::any_of(p.indexes.begin(), p.indexes.end(), [&](auto& e) {
        return e.first.first == op.collection && e.second.active();
      });
      std::optional<record_state> before;
      if (indexed && existed)
        before = st;
      std::vector<conflict> found;
      apply(st, op, &found);
      const std::string& k = slot->first;
      for (auto& c : found) {
        std::string ck = k;
        keys::append_u16(ck, static_cast<uint16_t>(c.field.size()));
        ck += c.field;
        keys::append_u64(ck, c.loser_ts.counter);
        ck += id_bytes(c.loser_ts.node);
        p.batch.Put(conflicts_, ck, encode(c));
      }
      if (indexed)
        index_record(p, op.collection, op.record, before ? &*before : nullptr, st);
      if (changes)
        changes->push_back({op.collection, op.record, !st.alive(), st.view(), op.id});
      p.write_records = true;
      break;
    }
    case operation::kind::create_index:
    case operation::kind::drop_index: {
      std::pair<std::string, std::string> k{op.collection, op.index_field};
      auto& is = p.indexes[k];
      bool was = is.active();
      is.apply(op);
      p.touched_indexes.insert(k);
      if (was != is.active())
        if (auto s = build_index(p, op.collection, op.index_field, is.active()); !s)
          return s;
      break;
    }
    case operation::kind::sealed: {
      // Logged and counted in the version vector either way (a relay stores
      // and forwards what it cannot read). A reader opens it and applies
      // the plaintext; without the key of its epoch (or when the box does
      // not open) it stays unopened until this node's keys change.
      const crypto::content_key* key = nullptr;
      if (auto epoch = sealed_op_epoch(op); epoch && p.e2e)
        key = p.e2e->keys.find(*epoch);
      if (!key) {
        ++p.unopened;
        break;
      }
      auto plain = open_operation(op, *key, opts_.database_id, opts_.decoding);
      if (plain && validate(*plain, opts_.lim))
        return apply_effect(p, *plain, changes, nullptr);
      ++p.unopened;
      break;
    }
  }
  if (op.collection == access::collection)
    p.access_changed = true;
  return {};
}

status store::commit(pending& p, std::vector<change>* changes) {
  if (!p.dirty)
    return {};
  if (scan_failed_.load(std::memory_order_acquire))
    return status{errc::io_error, "database " + dir_.string() +
                                    " takes no writes: opening the operations sealed under a newly gained key "
                                    "failed; reopen the database to finish it"};
  if (p.unopened > 0)
    p.batch.Put(meta_, meta_unopened, u64_bytes(unopened_.load() + p.unopened));
  if (p.write_records)
    for (auto& [key, st] : p.records)
      p.batch.Put(records_, key, encode(st));
  p.batch.Put(meta_, meta_clock, u64_bytes(p.clock));
  for (auto& [origin, seq] : p.vv.entries())
    if (seq != vv_.get(origin))
      p.batch.Put(meta_, meta_vv + id_bytes(origin), u64_bytes(seq));
  for (auto& k : p.touched_indexes)
    p.batch.Put(meta_, meta_index + keys::index_prefix(k.first, k.second), index_state_bytes(p.indexes[k]));
  for (auto& [origin, cs] : p.chains)
    p.batch.Put(meta_, meta_chain + id_bytes(origin), u64_bytes(cs.seq) + link_bytes(cs.link));
  std::map<uint32_t, uint64_t> seals;
  if (!p.seals.empty()) {
    std::lock_guard<std::mutex> guard(meta_mutex_);
    for (auto& [epoch, n] : p.seals) {
      seals[epoch] = seals_[epoch] + n;
      p.batch.Put(meta_, meta_seals + u64_bytes(epoch).substr(4), u64_bytes(seals[epoch]));
    }
  }
  rocksdb::WriteOptions wo;
  wo.sync = mode() == durability::sync;
  auto st = db_->Write(wo, &p.batch);
  if (!st.ok())
    return io(st, "cannot commit to " + dir_.string());
  std::unique_lock<std::mutex> guard(meta_mutex_);
  vv_ = p.vv;
  clock_ = p.clock;
  indexes_ = p.indexes;
  for (auto& [origin, cs] : p.chains)
    chains_[origin] = cs;
  unopened_ += p.unopened;
  for (auto& [epoch, n] : seals)
    seals_[epoch] = n;  // (commits run on the database's one thread)
  if (p.access_changed) {
    // The batch is committed whatever happens here: a failure to read the
    // new list keeps the previous keys until the next change or reopen
    // (open() fails loudly on it).
    guard.unlock();
    (void)refresh_e2e(changes);
  }
  return {};
}

void store::put_head(pending& p, const signed_head& h) {
  std::string v = h.link;
  if (!h.signature.empty())
    v += h.signature + h.key;
  p.batch.Put(meta_, head_key(h.origin, h.seq), v);
  crypto::chain_state cs;
  cs.seq = h.seq;
  cs.link = crypto::wire::to_array<32>(h.link);
  p.chains[h.origin] = cs;
  p.dirty = true;
}

void store::begin(pending& p) const {
  std::lock_guard<std::mutex> guard(meta_mutex_);
  p.vv = vv_;
  p.clock = clock_;
  p.indexes = indexes_;
  p.e2e = e2e_;
}

crypto::chain_state store::own_chain() const {
  std::lock_guard<std::mutex> guard(meta_mutex_);
  auto c = chains_.find(self_);
  return c != chains_.end() ? c->second : crypto::chain_start(opts_.database_id, self_);
}

void store::extend_own_chain(crypto::chain_state& own, uint64_t seq, std::string_view bytes) const {
  if (own.seq + 1 != seq)
    return;  // the chain already lags (never: local seqs follow the chain)
  own.link = crypto::chain_next(own.link, self_, seq, crypto::op_hash(bytes));
  own.seq = seq;
}

void store::end_own_chain(pending& p, const crypto::chain_state& before, const crypto::chain_state& own) {
  if (own.seq != before.seq && own.seq == p.vv.get(self_))
    put_head(p, signed_head{self_, own.seq, link_bytes(own.link)});
}

result<std::string> store::local_encoding(const operation& op, const access_list& list, const keyring& ring) const {
  const bool access_op = op.collection == access::collection;
  const std::string& db = opts_.database_id;
  if (list.empty() && joining_)
    return status{errc::forbidden, "database " + db +
                                     " was created to join another node's database and has no access list yet: it "
                                     "takes writes once a peer that holds it sends the list (sync with that peer, "
                                     "or blazedb join)"};
  if (list.empty() && !access_op)
    return encode(op);  // an open database
  if (!member_)
    return status{errc::forbidden, "database " + db + " has an access list and this store has no node key"};
  if (list.is_sealed() && !access_op) {
    auto key = ring.sealing_key(list);
    if (!key)
      return status{errc::forbidden,
                    "cannot write to end-to-end encrypted database " + db + ": " + key.error().message};
    auto sealed = seal_operation(op, **key, db);
    if (!sealed)
      return sealed.error();
    if (auto s = check_operation(list, *member_, *sealed); !s)
      return s;
    return encode(*sealed);
  }
  if (auto s = check_operation(list, *member_, op); !s)
    return s;
  return encode(op);
}

std::vector<result<operation>> store::write_local(std::span<const write> writes, uint64_t now_ms,
                                                  std::vector<change>* changes) {
  pending p(writes.size());
  begin(p);
  hybrid_clock clk(self_, p.clock);
  // This node's chain continues from its stored state (genesis before the
  // first operation); every commit ends at a head.
  crypto::chain_state own = own_chain();
  const crypto::chain_state own_before = own;
  // The access list and keys each write is judged and sealed by: a write
  // to `_access` changes them for the writes after it.
  const access_list* list = &p.e2e->list;
  const keyring* ring = &p.e2e->keys;
  std::optional<access_list> batch_list;
  std::optional<keyring> batch_ring;
  std::vector<result<operation>> out;
  out.reserve(writes.size());
  size_t first_change = changes ? changes->size() : 0;
  for (auto& w : writes) {
    if (auto s = validate(w, opts_.lim); !s) {
      out.emplace_back(std::move(s));
      continue;
    }
    auto cur = w.fresh_id && w.k == write::kind::insert && !p.records.count(keys::record(w.collection, w.record))
                 ? result<std::optional<record_state>>(std::optional<record_state>())
                 : load(&p, w.collection, w.record);
    if (!cur) {
      out.emplace_back(cur.error());
      continue;
    }
    dot id{self_, p.vv.get(self_) + 1};
    auto op = make_operation(w, *cur ? &**cur : nullptr, id, clk.tick(now_ms).counter);
    if (!op) {
      out.emplace_back(op.error());
      continue;
    }
    if (*cur && op->k == operation::kind::upsert) {
      // Writes to an existing record may grow it past the record limit.
      record_state trial = **cur;
      apply(trial, *op);
      size_t size = 0;
      for (auto& [name, v] : trial.view())
        size += name.size() + v.byte_size();
      if (size > opts_.lim.max_record) {
        out.emplace_back(status{errc::too_large, "record " + w.record.to_hex() + " would be " + std::to_string(size) +
                                                   " bytes, over the maximum of " +
                                                   std::to_string(opts_.lim.max_record)});
        continue;
      }
    }
    auto bytes = local_encoding(*op, *list, *ring);
    if (!bytes) {
      out.emplace_back(bytes.error());
      continue;
    }
    if (list->is_sealed() && op->collection != access::collection)
      ++p.seals[list->epoch()];  // (sealed by local_encoding)
    extend_own_chain(own, id.seq, *bytes);
    // Logged as encoded (sealed or not), applied as written.
    if (auto s = apply_one(p, *op, changes, &*cur, &*bytes); !s) {
      // A storage failure mid-batch: nothing of the batch is committed.
      for (auto& r : out)
        if (r)
          r = s;
      out.emplace_back(s);
      for (size_t i = out.size(); i < writes.size(); ++i)
        out.emplace_back(s);
      if (changes)
        changes->resize(first_change);
      return out;
    }
    if (op->collection == access::collection) {
      if (!batch_list)
        batch_list = *list;
      auto rec = p.records.find(keys::record(op->collection, op->record));
      batch_list->put(op->record, rec != p.records.end() && rec->second.alive() ? rec->second.view() : value_map{});
      list = &*batch_list;
      if (member_ && opts_.exchange) {
        batch_ring = keyring::unlock(*list, *member_, *opts_.exchange);
        ring = &*batch_ring;
      }
    }
    out.emplace_back(std::move(*op));
  }
  end_own_chain(p, own_before, own);
  if (auto s = commit(p, changes); !s) {
    for (auto& r : out)
      if (r)
        r = s;
    if (changes)
      changes->resize(first_change);
  }
  return out;
}

apply_report store::apply_remote(std::vector<operation> ops, uint64_t now_ms,
                                 std::vector<change>* changes, const coverage_set* cov) {
  std::sort(ops.begin(), ops.end(), [](auto& a, auto& b) { return a.id < b.id; });
  return apply_sorted(ops, nullptr, now_ms, changes, cov);
}

apply_report store::apply_remote(std::vector<operation> ops, std::vector<std::string> encoded, uint64_t now_ms,
                                 std::vector<change>* changes, const coverage_set* cov) {
  if (encoded.size() != ops.size()) {
    apply_report rep;
    rep.refused.emplace_back(dot{}, status{errc::invalid_argument,
                                           std::to_string(ops.size()) + " operations with " +
                                             std::to_string(encoded.size()) + " encodings"});
    return rep;
  }
  std::vector<size_t> order(ops.size());
  for (size_t i = 0; i < order.size(); ++i)
    order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return ops[a].id < ops[b].id; });
  std::vector<operation> sorted_ops;
  std::vector<std::string> sorted_bytes;
  sorted_ops.reserve(ops.size());
  sorted_bytes.reserve(ops.size());
  for (size_t i : order) {
    sorted_ops.push_back(std::move(ops[i]));
    sorted_bytes.push_back(std::move(encoded[i]));
  }
  return apply_sorted(sorted_ops, &sorted_bytes, now_ms, changes, cov);
}

apply_report store::apply_sorted(std::vector<operation>& ops, const std::vector<std::string>* encoded,
                                 uint64_t now_ms, std::vector<change>* changes, const coverage_set* cov) {
  apply_report rep = apply_batch(ops, encoded, now_ms, changes, cov);
  uint64_t equivocating = 0;
  for (auto& [d, why] : rep.refused)
    equivocating += why.code == errc::equivocation;
  if (equivocating > 0) {
    db_->Put(rocksdb::WriteOptions(), meta_, meta_equivocations, u64_bytes(equivocations_ += equivocating));
  }
  return rep;
}

apply_report store::apply_batch(std::vector<operation>& ops, const std::vector<std::string>* encoded,
                                uint64_t now_ms, std::vector<change>* changes, const coverage_set* cov) {
  apply_report rep;
  pending p(ops.size());
  // Remote transactions become visible when complete — on a full replica. A
  // partial one (a collection filter) may never receive some operations of a
  // part, so it applies them as they come (docs/transactions.md, limits).
  p.hold_txn = !(cov && !cov->collections.empty()) && partial().empty();
  begin(p);
  size_t first_change = changes ? changes->size() : 0;
  std::vector<dot> applied;
  const operation* prev = nullptr;
  for (size_t i = 0; i < ops.size(); ++i) {
    auto& op = ops[i];
    if (prev && prev->id == op.id) {  // the same dot twice in one batch
      if (encode(*prev) != encode(op))
        rep.refused.emplace_back(op.id, status{errc::equivocation, "two different operations under dot " +
                                                                     op.id.origin.to_hex() + ":" +
                                                                     std::to_string(op.id.seq)});
      else
        ++rep.duplicates;
      continue;
    }
    prev = &op;
    if (auto s = validate(op, opts_.lim); !s) {
      rep.refused.emplace_back(op.id, std::move(s));
      continue;
    }
    uint64_t have = p.vv.get(op.id.origin);
    if (op.id.seq <= have) {
      // Stored bytes may be a peer's encoding (apply_remote with encodings):
      // different bytes are an equivocation only if they decode to a
      // different operation.
      auto stored = operation_bytes(op.id);
      auto differs = [&](const std::string& bytes) {
        auto mine = encode(op);
        if (bytes == mine)
          return false;
        auto theirs = decode_operation(bytes, opts_.decoding);
        return !theirs || encode(*theirs) != mine;
      };
      if (stored && *stored && differs(**stored))
        rep.refused.emplace_back(op.id, status{errc::equivocation, "operation " + op.id.origin.to_hex() + ":" +
                                                                     std::to_string(op.id.seq) +
                                                                     " differs from the one stored under its dot"});
      else
        ++rep.duplicates;
      continue;
    }
    // A partial replica skips operations of other collections: a gap the
    // peer vouched for (a coverage range starting at or before what we hold)
    // is not a hole.
    auto vouched = [&] {
      if (!cov)
        return false;
      for (auto& r : cov->ranges)
        if (r.origin == op.id.origin && r.after <= have && op.id.seq <= r.through)
          return true;
      return false;
    };
    if (op.id.seq != have + 1 && !vouched()) {
      rep.refused.emplace_back(op.id, status{errc::out_of_order, "operation " + op.id.origin.to_hex() + ":" +
                                                                   std::to_string(op.id.seq) + " arrived before seq " +
                                                                   std::to_string(have + 1)});
      continue;
    }
    if (hybrid_clock::too_far_ahead(op.counter, now_ms, opts_.max_clock_skew_ms)) {
      rep.refused.emplace_back(op.id, status{errc::clock_skew, "operation " + op.id.origin.to_hex() + ":" +
                                                                 std::to_string(op.id.seq) +
                                                                 " is timestamped more than " +
                                                                 std::to_string(opts_.max_clock_skew_ms) +
                                                                 " ms in the future"});
      continue;
    }
    if (auto s = apply_one(p, op, changes, nullptr, encoded ? &(*encoded)[i] : nullptr); !s) {
      rep.refused.emplace_back(op.id, s);
      rep.applied = 0;
      if (changes)
        changes->resize(first_change);
      return rep;  // nothing of the batch is committed
    }
    ++rep.applied;
  }
  std::optional<std::vector<std::string>> now_partial;
  if (cov) {
    for (auto& r : cov->ranges) {
      uint64_t have = p.vv.get(r.origin);
      if (r.after <= have && r.through > have) {
        p.vv.set(r.origin, r.through);
        p.dirty = true;
        if (!now_partial) {
          std::set<std::string> all(partial_.begin(), partial_.end());
          all.insert(cov->collections.begin(), cov->collections.end());
          now_partial.emplace(all.begin(), all.end());
        }
      }
    }
    if (now_partial) {
      std::string v;
      for (auto& c : *now_partial)
        v += (v.empty() ? "" : "\n") + c;
      p.batch.Put(meta_, meta_partial, v);
    }
    // Verified heads whose operations are now all held become chain states.
    for (auto& h : cov->heads) {
      if (h.link.size() != 32 || h.seq > p.vv.get(h.origin))
        continue;
      auto cur = p.chains.find(h.origin);
      uint64_t at = cur != p.chains.end() ? cur->second.seq : 0;
      if (cur == p.chains.end()) {
        std::lock_guard<std::mutex> guard(meta_mutex_);
        auto c = chains_.find(h.origin);
        at = c != chains_.end() ? c->second.seq : 0;
      }
      if (h.seq > at || h.seq == 0)
        put_head(p, h);
    }
  }
  if (auto s = commit(p, changes); !s) {
    rep.refused.emplace_back(dot{}, s);
    rep.applied = 0;
    if (changes)
      changes->resize(first_change);
  } else if (now_partial) {
    std::lock_guard<std::mutex> guard(meta_mutex_);
    partial_ = std::move(*now_partial);
  }
  return rep;
}

status store::flush() {
  rocksdb::FlushOptions fo;
  fo.wait = true;
  auto st = db_->Flush(fo, handles_);
  return st.ok() ? status{} : io(st, "cannot flush " + dir_.string());
}

status store::set_durability(durability mode) {
  rocksdb::WriteOptions wo;
  wo.sync = true;
  auto st = db_->Put(wo, meta_, meta_durability, mode == durability::sync ? "sync" : "buffered");
  if (!st.ok())
    return io(st, "cannot store the durability of " + dir_.string());
  mode_ = mode;
  return {};
}

status store::clear_conflicts(const std::string& collection, const record_id* id) {
  std::string prefix = id ? keys::record(collection, *id) : keys::record_prefix(collection);
  rocksdb::WriteBatch batch;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), conflicts_));
  for (it->Seek(prefix); it->Valid() && starts_with(it->key(), prefix); it->Next())
    batch.Delete(conflicts_, it->key());
  if (!it->status().ok())
    return io(it->status(), "cannot read conflicts");
  rocksdb::WriteOptions wo;
  wo.sync = mode() == durability::sync;
  auto st = db_->Write(wo, &batch);
  return st.ok() ? status{} : io(st, "cannot clear conflicts");
}

// ---- compaction and snapshots ---------------------------------------------------

result<compact_report> store::compact(const version_vector& upto) {
  compact_report rep;
  auto mine = versions();
  rep.base_before = base();
  rep.base_after = rep.base_before;
  if (sealed()) {
    rep.kept_because = "database " + opts_.database_id + " is end-to-end encrypted: its log is kept whole";
    for (auto& [o, held] : mine.entries())
      rep.kept += held - std::min(held, rep.base_before.get(o));
    return rep;
  }
  rocksdb::WriteBatch batch;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), oplog_));
  for (auto& [o, held] : mine.entries()) {
    uint64_t b = std::min(upto.get(o), held);
    rep.point.set(o, b);
    if (b <= rep.base_before.get(o))
      continue;
    // from seq 1: entries below an older base may remain (a snapshot skipped past them)
    for (it->Seek(keys::oplog({o, 1})); it->Valid(); it->Next()) {
      if (it->key().size() != 24)
        return status{errc::corrupt, "bad oplog key"};
      auto d = keys::oplog_dot(it->key().ToStringView());
      if (d.origin != o || d.seq > b)
        break;
      batch.Delete(oplog_, it->key());
      ++rep.removed;
      rep.bytes += it->value().size();
    }
    if (!it->status().ok())
      return io(it->status(), "cannot scan the oplog");
    batch.Put(meta_, meta_base + id_bytes(o), u64_bytes(b));
    // Heads below the base serve no range any more (a peer that far behind
    // gets a snapshot, which carries the heads at its point).
    batch.DeleteRange(meta_, head_key(o, 0), head_key(o, b));
    rep.base_after.set(o, b);
  }
  if (rep.base_after == rep.base_before)
    return rep;
  {
    // Raised before the write: a reader that sees operations gone also sees
    // the new base (a reader that sees the higher base early only sends a
    // snapshot it could have spared).
    std::lock_guard<std::mutex> guard(meta_mutex_);
    base_ = rep.base_after;
  }
  rocksdb::WriteOptions wo;
  wo.sync = mode() == durability::sync;
  if (auto st = db_->Write(wo, &batch); !st.ok())
    return io(st, "cannot compact the log of " + dir_.string());
  if (rep.removed > 0) {
    rocksdb::CompactRangeOptions co;
    db_->CompactRange(co, oplog_, nullptr, nullptr);  // reclaim the space; a failure only delays that
  }
  for (auto& [o, held] : mine.entries())
    rep.kept += held - std::min(held, rep.base_after.get(o));
  return rep;
}

result<compact_report> store::compact_known() {
  auto point = compaction_point();
  auto rep = compact(point);
  if (rep)
    for (auto& [peer, acked] : peer_acks())
      rep->peers.push_back(peer);
  return rep;
}

status store::forget_peer(const node_id& peer) {
  auto st = db_->Delete(rocksdb::WriteOptions(), meta_, meta_peer + id_bytes(peer));
  if (!st.ok())
    return io(st, "cannot forget peer " + peer.to_hex());
  std::lock_guard<std::mutex> guard(meta_mutex_);
  peers_.erase(peer);
  return {};
}

status store::record_ack(const node_id& peer, const version_vector& acked) {
  version_vector merged;
  {
    std::lock_guard<std::mutex> guard(meta_mutex_);
    auto it = peers_.find(peer);
    if (it != peers_.end() && it->second.dominates(acked))
      return {};
    merged = it == peers_.end() ? version_vector{} : it->second;
  }
  merged.merge(acked);
  auto st = db_->Put(rocksdb::WriteOptions(), meta_, meta_peer + id_bytes(peer), vv_bytes(merged));
  if (!st.ok())
    return io(st, "cannot record what peer " + peer.to_hex() + " acknowledged");
  std::lock_guard<std::mutex> guard(meta_mutex_);
  peers_[peer] = std::move(merged);
  return {};
}

status store::stage_snapshot(const node_id& peer, const version_vector& point,
                             const std::vector<snapshot_entry>& entries,
                             const std::vector<index_decl>& indexes) {
  auto prefix = stage_prefix(peer);
  rocksdb::WriteBatch batch;
  std::string v;
  auto st = db_->Get(rocksdb::ReadOptions(), meta_, prefix + "p", &v);
  if (!st.ok() && !st.IsNotFound())
    return io(st, "cannot read a staged snapshot");
  auto staged = st.ok() ? vv_of(v) : std::nullopt;
  if (!staged || !(*staged == point)) {
    // another snapshot of this peer (or none): drop what was staged from it
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), meta_));
    for (it->Seek(prefix); it->Valid() && starts_with(it->key(), prefix); it->Next())
      batch.Delete(meta_, it->key());
    if (!it->status().ok())
      return io(it->status(), "cannot read a staged snapshot");
    batch.Put(meta_, prefix + "p", vv_bytes(point));
  }
  for (auto& e : entries) {
    if (auto r = decode_record(e.state, opts_.decoding); !r)
      return {errc::corrupt, "snapshot record " + e.record.to_hex() + ": " + r.error().message};
    if (auto s = check_names(e.collection, nullptr, opts_.lim); !s)
      return s;
    batch.Put(meta_, prefix + "r" + keys::record(e.collection, e.record), e.state);
  }
  for (auto& d : indexes) {
    if (auto s = check_names(d.collection, &d.field, opts_.lim); !s)
      return s;
    batch.Put(meta_, prefix + "i" + keys::index_prefix(d.collection, d.field),
              index_state_bytes(index_state{d.created, d.dropped}));
  }
  st = db_->Write(rocksdb::WriteOptions(), &batch);
  return st.ok() ? status{} : io(st, "cannot stage a snapshot");
}

result<snapshot_report> store::merge_snapshot(const node_id& peer, const version_vector& point, uint64_t now_ms,
                                              const std::vector<std::string>& collections,
                                              std::vector<change>* changes, const std::vector<signed_head>& heads) {
  snapshot_report rep;
  auto prefix = stage_prefix(peer);
  std::string v;
  auto st = db_->Get(rocksdb::ReadOptions(), meta_, prefix + "p", &v);
  if (st.IsNotFound())
    return status{errc::invalid_argument, "no snapshot is staged from peer " + peer.to_hex()};
  if (!st.ok())
    return io(st, "cannot read a staged snapshot");
  auto staged = vv_of(v);
  if (!staged || !(*staged == point))
    return status{errc::invalid_argument, "the snapshot staged from peer " + peer.to_hex() +
                                            " is of another point"};
  pending p;
  version_vector base;
  {
    std::lock_guard<std::mutex> guard(meta_mutex_);
    p.vv = vv_;
    p.clock = clock_;
    p.indexes = indexes_;
    base = base_;
  }
  const version_vector before = p.vv;
  size_t first_change = changes ? changes->size() : 0;
  auto undo = [&](status s) -> result<snapshot_report> {
    if (changes)
      changes->resize(first_change);
    return s;
  };
  std::vector<std::pair<std::string, record_state>> records;  // record key, staged state
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), meta_));
  for (it->Seek(prefix); it->Valid() && starts_with(it->key(), prefix); it->Next()) {
    std::string_view rest(it->key().data() + prefix.size(), it->key().size() - prefix.size());
    if (rest.empty() || rest[0] == 'p')
      continue;
    if (rest[0] == 'i') {
      auto ik = index_key_of(rest.substr(1));
      if (!ik || it->value().size() != 48)
        return undo({errc::corrupt, "corrupt staged index declaration"});
      auto& is = p.indexes[*ik];
      bool was = is.active();
      is.merge(index_state_of(it->value().data()));
      p.touched_indexes.insert(*ik);
      ++rep.indexes;
      if (was != is.active())
        if (auto s = build_index(p, ik->first, ik->second, is.active()); !s)
          return undo(s);
    } else if (rest[0] == 'r') {
      auto r = decode_record(it->value().ToStringView(), opts_.decoding);
      if (!r || !record_key_of(rest.substr(1)))
        return undo({errc::corrupt, "corrupt staged snapshot record"});
      records.emplace_back(std::string(rest.substr(1)), std::move(*r));
    }
  }
  if (!it->status().ok())
    return undo(io(it->status(), "cannot read a staged snapshot"));
  for (auto& [key, theirs] : records) {
    auto rk = *record_key_of(key);
    uint64_t c = highest_counter(theirs);
    if (hybrid_clock::too_far_ahead(c, now_ms, opts_.max_clock_skew_ms))
      return undo({errc::clock_skew, "snapshot record " + rk.second.to_hex() + " is timestamped more than " +
                                       std::to_string(opts_.max_clock_skew_ms) + " ms in the future"});
    auto cur = load(&p, rk.first, rk.second);
    if (!cur)
      return undo(cur.error());
    record_state after = *cur ? **cur : record_state{};
    merge(after, theirs, &before, &point);
    ++rep.records;
    p.clock = std::max(p.clock, c);
    auto bytes = encode(after);
    if (*cur && bytes == encode(**cur))
      continue;
    ++rep.changed;
    p.batch.Put(records_, key, bytes);
    index_record(p, rk.first, rk.second, *cur ? &**cur : nullptr, after);
    if (changes)
      changes->push_back({rk.first, rk.second, !after.alive(), after.view(), dot{}});
    p.records[key] = std::move(after);
  }
  for (auto& [key, ignored] : p.indexes)
    for (auto* t : {&ignored.created, &ignored.dropped})
      p.clock = std::max(p.clock, t->counter);
  // The version vector covers the snapshot's point; where that skipped
  // operations the log lacks them: the compaction point rises past them
  // (and the older entries of those origins are of no use any more).
  version_vector new_base = base;
  for (auto& [o, seq] : point.entries()) {
    if (seq <= before.get(o))
      continue;
    p.vv.set(o, seq);
    // The chain continues from the snapshot's head for this origin (none
    // in the unauthenticated test mode: the origin then has no chain here).
    for (auto& h : heads)
      if (h.origin == o && h.seq == seq && h.link.size() == 32)
        put_head(p, h);
    if (seq > new_base.get(o)) {
      new_base.set(o, seq);
      p.batch.Put(meta_, meta_base + id_bytes(o), u64_bytes(seq));
      p.batch.DeleteRange(meta_, head_key(o, 0), head_key(o, seq));
      std::unique_ptr<rocksdb::Iterator> ot(db_->NewIterator(rocksdb::ReadOptions(), oplog_));
      for (ot->Seek(keys::oplog({o, 1})); ot->Valid(); ot->Next()) {
        auto d = keys::oplog_dot(ot->key().ToStringView());
        if (ot->key().size() != 24 || d.origin != o || d.seq > seq)
          break;
        p.batch.Delete(oplog_, ot->key());
      }
      if (!ot->status().ok())
        return undo(io(ot->status(), "cannot scan the oplog"));
    }
  }
  std::optional<std::vector<std::string>> now_partial;
  if (!collections.empty() && !(p.vv == before)) {
    std::lock_guard<std::mutex> guard(meta_mutex_);
    std::set<std::string> all(partial_.begin(), partial_.end());
    all.insert(collections.begin(), collections.end());
    now_partial.emplace(all.begin(), all.end());
  }
  if (now_partial) {
    std::string list;
    for (auto& c : *now_partial)
      list += (list.empty() ? "" : "\n") + c;
    p.batch.Put(meta_, meta_partial, list);
  }
  // the staging goes with the same batch
  it.reset(db_->NewIterator(rocksdb::ReadOptions(), meta_));
  for (it->Seek(prefix); it->Valid() && starts_with(it->key(), prefix); it->Next())
    p.batch.Delete(meta_, it->key());
  if (!it->status().ok())
    return undo(io(it->status(), "cannot read a staged snapshot"));
  p.dirty = true;
  p.access_changed = true;  // the states may hold `_access` records: keys are looked at again
  if (auto s = commit(p, changes); !s)
    return undo(s);
  std::lock_guard<std::mutex> guard(meta_mutex_);
  base_ = new_base;
  if (now_partial)
    partial_ = std::move(*now_partial);
  return rep;
}

result<std::shared_ptr<store::snapshot_handle>> store::open_snapshot(
  const std::vector<std::string>& collections) const {
  if (auto held = holds_txn_operations(); !held || *held)
    return held ? status{errc::timeout, "database " + dir_.string() +
                                          " holds operations of an incomplete transaction: it sends no snapshot "
                                          "until they are released (their effects are not in the records yet)"}
                : held.error();
  std::shared_ptr<snapshot_handle> h(new snapshot_handle());
  h->rp_ = read_points_;
  {
    std::lock_guard<std::mutex> g(read_points_->m);
    h->snap_ = db_->GetSnapshot();
    read_points_->open.insert(h.get());
  }
  rocksdb::ReadOptions ro;
  ro.snapshot = h->snap_;
  auto wanted = [&](const std::string& c) {
    return collections.empty() || std::find(collections.begin(), collections.end(), c) != collections.end();
  };
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, meta_));
  for (it->Seek(meta_vv); it->Valid() && starts_with(it->key(), meta_vv); it->Next()) {
    if (it->key().size() != meta_vv.size() + 16 || it->value().size() != 8)
      return status{errc::corrupt, "corrupt version vector in " + dir_.string()};
    h->versions_.set(id_at(it->key().data() + meta_vv.size()), keys::read_u64(it->value().data()));
  }
  for (it->Seek(meta_index); it->Valid() && starts_with(it->key(), meta_index); it->Next()) {
    auto ik = index_key_of(
      std::string_view(it->key().data() + meta_index.size(), it->key().size() - meta_index.size()));
    if (!ik || it->value().size() != 48)
      return status{errc::corrupt, "corrupt index declaration in " + dir_.string()};
    if (!wanted(ik->first))
      continue;
    auto is = index_state_of(it->value().data());
    h->indexes_.push_back({ik->first, ik->second, is.created, is.dropped});
  }
  if (!it->status().ok())
    return io(it->status(), "cannot read metadata");
  if (collections.empty()) {
    h->prefixes_.push_back("");
  } else {
    for (auto& c : collections)
      h->prefixes_.push_back(keys::record_prefix(c));
    std::sort(h->prefixes_.begin(), h->prefixes_.end());
    h->prefixes_.erase(std::unique(h->prefixes_.begin(), h->prefixes_.end()), h->prefixes_.end());
  }
  return h;
}

result<std::vector<snapshot_entry>> store::snapshot_next(snapshot_handle& h, size_t max_bytes,
                                                               bool& last) const {
  std::vector<snapshot_entry> out;
  last = true;
  if (h.rp_ != read_points_ || !h.snap_)
    return status{errc::invalid_argument, "the snapshot read point belongs to a closed database"};
  rocksdb::ReadOptions ro;
  ro.snapshot = h.snap_;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, records_));
  size_t bytes = 0;
  // Positions the iterator at the next record of the current range, moving
  // to later ranges when one is exhausted; false when none remain.
  auto next_record = [&](bool advance) {
    while (h.range_ < h.prefixes_.size()) {
      auto& prefix = h.prefixes_[h.range_];
      if (advance) {
        it->Next();
      } else if (h.after_.empty()) {
        it->Seek(prefix);
      } else {
        it->Seek(h.after_);
        if (it->Valid() && it->key().ToStringView() == h.after_)
          it->Next();
      }
      advance = false;
      for (; it->Valid() && starts_with(it->key(), prefix); it->Next())
        if (record_key_of(it->key().ToStringView()))
          return true;
      ++h.range_;
      h.after_.clear();
    }
    return false;
  };
  bool have = next_record(false);
  while (have && (out.empty() || bytes < max_bytes)) {
    auto rk = *record_key_of(it->key().ToStringView());
    snapshot_entry e{std::move(rk.first), rk.second, it->value().ToString()};
    bytes += e.collection.size() + 16 + e.state.size();
    h.after_ = it->key().ToString();
    out.push_back(std::move(e));
    have = next_record(true);
  }
  if (!it->status().ok())
    return io(it->status(), "cannot read records");
  last = !have;
  return out;
}

result<value_map> store::get(const std::string& collection, const record_id& id) const {
  auto st = load(nullptr, collection, id);
  if (!st)
    return st.error();
  if (!*st || !(*st)->alive())
    return status{errc::unknown_record, "no record " + id.to_hex() + " in collection '" + collection + "'"};
  return (*st)->view();
}

result<std::optional<record_state>> store::state(const std::string& collection, const record_id& id) const {
  return load(nullptr, collection, id);
}

result<std::vector<row>> store::run(const query& q, query_stats* stats) const { return run_at(q, nullptr, stats); }

result<std::vector<row>> store::run_at(const query& q, const read_point* at, query_stats* stats) const {
  if (auto s = q.validate(); !s)
    return s;
  query_stats local;
  query_stats& qs = stats ? *stats : local;
  qs = {};
  std::vector<row> rows;
  auto consider = [&](const record_id& id, std::string_view bytes) -> status {
    auto r = decode_record(bytes, opts_.decoding);
    if (!r)
      return {errc::corrupt, "record " + id.to_hex() + " in '" + q.collection + "': " + r.error().message};
    ++qs.examined;
    if (!r->alive())
      return {};
    auto doc = r->view();
    if (matches(q, doc))
      rows.push_back({id, std::move(doc)});
    return {};
  };

  // Pick the first predicate on an active index. A predicate that holds for
  // a record lacking the field (`eq null`, `le null`, `in [.., null]`: a
  // missing field reads as null) cannot use one: the index has no entry for
  // such records.
  const predicate* use = nullptr;
  {
    static const value_map empty_doc;
    std::unique_lock<std::mutex> guard(meta_mutex_, std::defer_lock);
    if (!at)
      guard.lock();
    const auto& declared = at ? at->indexes_ : indexes_;  // at a read point: its own declarations
    for (auto& p : q.where) {
      if (p.test(empty_doc))
        continue;
      auto it = declared.find({q.collection, p.field});
      if (it != declared.end() && it->second.active()) {
        use = &p;
        break;
      }
    }
  }
  rocksdb::ReadOptions ro;
  const rocksdb::Snapshot* snap = at ? nullptr : db_->GetSnapshot();
  ro.snapshot = at ? at->snap_->snap_ : snap;
  struct release {
    rocksdb::DB* db;
    const rocksdb::Snapshot* s;
    ~release() {
      if (s)
        db->ReleaseSnapshot(s);
    }
  } guard{db_.get(), snap};

  if (use) {
    qs.used_index = true;
    qs.index_field = use->field;
    auto prefix = keys::index_prefix(q.collection, use->field);
    // Key ranges [from, to) over value keys; numbers are lossy, so bounds are
    // inclusive of equal keys and every candidate is re-checked.
    std::vector<std::pair<std::string, std::string>> ranges;
    auto upto = [](std::string k) {
      k.append(17, static_cast<char>(0xff));
      return k;
    };
    switch (use->op) {
      case cmp::eq: ranges.push_back({keys::value_key(use->operand), upto(keys::value_key(use->operand))}); break;
      case cmp::in:
        for (auto& e : use->operand.as<value_array>())
          ranges.push_back({keys::value_key(e), upto(keys::value_key(e))});
        break;
      case cmp::lt:
      case cmp::le: ranges.push_back({keys::rank_begin(use->operand), upto(keys::value_key(use->operand))}); break;
      case cmp::gt:
      case cmp::ge: ranges.push_back({keys::value_key(use->operand), keys::rank_end(use->operand)}); break;
    }
    auto is_scalar = [](const value& v) {
      return v.type() != value::kind::array && v.type() != value::kind::map;
    };
    if (!is_scalar(use->operand) && use->op != cmp::in)
      ranges = {{keys::rank_begin(use->operand), keys::rank_end(use->operand)}};
    if (use->op == cmp::in)
      for (auto& e : use->operand.as<value_array>())
        if (!is_scalar(e))
          ranges.push_back({keys::rank_begin(e), keys::rank_end(e)});
    std::set<record_id> ids;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, index_));
    for (auto& [from, to] : ranges) {
      auto lo = prefix + from;
      auto hi = prefix + to;
      for (it->Seek(lo); it->Valid() && it->key().compare(hi) < 0; it->Next())
        if (it->key().size() >= prefix.size() + 16 && starts_with(it->key(), prefix))
          ids.insert(keys::record_id_of(it->key().ToStringView()));
      if (!it->status().ok())
        return io(it->status(), "cannot read index");
    }
    std::string bytes;
    for (auto& id : ids) {
      auto st = db_->Get(ro, records_, keys::record(q.collection, id), &bytes);
      if (st.IsNotFound())
        continue;
      if (!st.ok())
        return io(st, "cannot read record");
      if (auto s = consider(id, bytes); !s)
        return s;
    }
  } else {
    auto prefix = keys::record_prefix(q.collection);
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, records_));
    for (it->Seek(prefix); it->Valid() && starts_with(it->key(), prefix); it->Next()) {
      if (it->key().size() != prefix.size() + 16)
        continue;
      if (auto s = consider(keys::record_id_of(it->key().ToStringView()), it->value().ToStringView()); !s)
        return s;
    }
    if (!it->status().ok())
      return io(it->status(), "cannot scan records");
  }
  order_and_limit(q, rows);
  return rows;
}

result<std::vector<operation>> store::operations_after(const version_vector& after, size_t max_ops) const {
  std::vector<operation> out;
  auto mine = versions();
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), oplog_));
  for (auto& r : mine.missing_from(after)) {
    for (it->Seek(keys::oplog({r.origin, r.after + 1})); it->Valid() && out.size() < max_ops; it->Next()) {
      if (it->key().size() != 24)
        return status{errc::corrupt, "bad oplog key"};
      auto d = keys::oplog_dot(it->key().ToStringView());
      if (d.origin != r.origin || d.seq > r.through)
        break;
      auto op = decode_operation(it->value().ToStringView(), opts_.decoding);
      if (!op)
        return op.error();
      out.push_back(std::move(*op));
    }
    if (!it->status().ok())
      return io(it->status(), "cannot scan the oplog");
    if (out.size() >= max_ops)
      break;
  }
  return out;
}

result<std::vector<logged_op>> store::oplog_after(const version_vector& after, size_t max_bytes,
                                                  version_vector* base, const std::vector<node_id>& first) const {
  std::vector<logged_op> out;
  size_t bytes = 0;
  auto mine = versions();
  rocksdb::ReadOptions ro;
  snapshot_guard snap{db_.get(), db_->GetSnapshot()};
  ro.snapshot = snap.s;
  if (base) {
    // The compaction point as of the same read point: compact() persists it
    // in the WriteBatch that deletes the operations.
    *base = {};
    std::unique_ptr<rocksdb::Iterator> bt(db_->NewIterator(ro, meta_));
    for (bt->Seek(meta_base); bt->Valid() && starts_with(bt->key(), meta_base); bt->Next())
      if (bt->key().size() == meta_base.size() + 16 && bt->value().size() == 8)
        base->set(id_at(bt->key().data() + meta_base.size()), keys::read_u64(bt->value().data()));
    if (!bt->status().ok())
      return io(bt->status(), "cannot read the compaction point");
  }
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, oplog_));
  for (auto& r : ordered_first(mine.missing_from(after), first)) {
    for (it->Seek(keys::oplog({r.origin, r.after + 1})); it->Valid() && bytes < max_bytes; it->Next()) {
      if (it->key().size() != 24)
        return status{errc::corrupt, "bad oplog key"};
      auto d = keys::oplog_dot(it->key().ToStringView());
      if (d.origin != r.origin || d.seq > r.through)
        break;
      out.push_back({d, it->value().ToString()});
      bytes += it->value().size();
    }
    if (!it->status().ok())
      return io(it->status(), "cannot scan the oplog");
    if (bytes >= max_bytes)
      break;
  }
  return out;
}

result<std::vector<logged_op>> store::oplog_range(const node_id& origin, uint64_t after, uint64_t through) const {
  std::vector<logged_op> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), oplog_));
  for (it->Seek(keys::oplog({origin, after + 1})); it->Valid(); it->Next()) {
    if (it->key().size() != 24)
      return status{errc::corrupt, "bad oplog key"};
    auto d = keys::oplog_dot(it->key().ToStringView());
    if (d.origin != origin || d.seq > through)
      break;
    out.push_back({d, it->value().ToString()});
  }
  if (!it->status().ok())
    return io(it->status(), "cannot scan the oplog");
  return out;
}

std::optional<crypto::chain_state> store::chain(const node_id& origin) const {
  std::lock_guard<std::mutex> guard(meta_mutex_);
  uint64_t held = vv_.get(origin);
  auto c = chains_.find(origin);
  if (c == chains_.end())
    return held == 0 ? std::optional(crypto::chain_start(opts_.database_id, origin)) : std::nullopt;
  if (c->second.seq != held)
    return std::nullopt;
  return c->second;
}

signed_head store::sign_own(uint64_t seq, std::string link) const {
  signed_head h{self_, seq, std::move(link)};
  if (!opts_.signer)
    return h;
  std::lock_guard<std::mutex> guard(sign_mutex_);
  auto cached = own_signatures_.find(seq);
  if (cached != own_signatures_.end()) {
    h.signature = cached->second;
  } else {
    auto sig = opts_.signer->sign(
      crypto::head_message(opts_.database_id, self_, seq, crypto::wire::to_array<32>(h.link)));
    if (!sig)
      return h;  // OpenSSL failed: served unsigned, which a peer refuses with a clear error
    h.signature = std::string(sig->view());
    own_signatures_[seq] = h.signature;
    while (own_signatures_.size() > 256)
      own_signatures_.erase(own_signatures_.begin());
  }
  h.key = std::string(opts_.signer->public_key().view());
  return h;
}

namespace {
// A head from its meta entry (nullopt: malformed).
std::optional<signed_head> head_of(const node_id& origin, uint64_t seq, std::string_view v) {
  if (v.size() != 32 && v.size() != 32 + 64 + 32)
    return std::nullopt;
  signed_head h{origin, seq, std::string(v.substr(0, 32))};
  if (v.size() > 32) {
    h.signature = std::string(v.substr(32, 64));
    h.key = std::string(v.substr(96, 32));
  }
  return h;
}
} // namespace

result<std::optional<signed_head>> store::head_at(const node_id& origin, uint64_t seq) const {
  std::string v;
  auto st = db_->Get(rocksdb::ReadOptions(), meta_, head_key(origin, seq), &v);
  if (st.IsNotFound())
    return std::optional<signed_head>();
  if (!st.ok())
    return io(st, "cannot read a chain head");
  auto h = head_of(origin, seq, v);
  if (!h)
    return status{errc::corrupt, "corrupt chain head in " + dir_.string()};
  if (origin == self_)
    return std::optional(sign_own(seq, std::move(h->link)));
  return h;
}

result<std::optional<signed_head>> store::head_near(const node_id& origin, uint64_t after,
                                                    uint64_t through) const {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), meta_));
  const std::string prefix = meta_head + id_bytes(origin);
  auto at_it = [&]() -> std::optional<uint64_t> {
    if (!it->Valid() || !starts_with(it->key(), prefix) || it->key().size() != prefix.size() + 8)
      return std::nullopt;
    return keys::read_u64(it->key().data() + prefix.size());
  };
  std::optional<uint64_t> seq;
  it->SeekForPrev(head_key(origin, through));
  if (auto s = at_it(); s && *s > after)
    seq = s;
  if (!seq) {
    it->Seek(head_key(origin, through + 1));
    seq = at_it();
  }
  if (!it->status().ok())
    return io(it->status(), "cannot read chain heads");
  if (!seq)
    return std::optional<signed_head>();
  return head_at(origin, *seq);
}

result<std::vector<node_id>> store::access_authors() const {
  std::map<node_id, timestamp> earliest;
  const std::string prefix = keys::record_prefix(access::collection);
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), records_));
  for (it->Seek(prefix); it->Valid() && starts_with(it->key(), prefix); it->Next()) {
    auto st = decode_record(it->value().ToStringView(), opts_.decoding);
    if (!st)
      return status{errc::corrupt, "corrupt access list record in " + dir_.string()};
    for (auto& [name, f] : st->fields)
      for (const timestamp& t : {f.first_set, f.lww.ts})
        if (!t.is_zero()) {
          auto [at, fresh] = earliest.try_emplace(t.node, t);
          if (!fresh && t < at->second)
            at->second = t;
        }
  }
  if (!it->status().ok())
    return io(it->status(), "cannot read the access list");
  std::vector<std::pair<timestamp, node_id>> by_time;
  for (auto& [node, t] : earliest)
    by_time.emplace_back(t, node);
  std::sort(by_time.begin(), by_time.end());
  std::vector<node_id> out;
  for (auto& [t, node] : by_time)
    out.push_back(node);
  return out;
}

result<access_list> store::access() const {
  access_list list(opts_.database_id);
  const std::string prefix = keys::record_prefix(access::collection);
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), records_));
  for (it->Seek(prefix); it->Valid() && starts_with(it->key(), prefix); it->Next()) {
    auto rk = record_key_of(it->key().ToStringView());
    auto st = decode_record(it->value().ToStringView(), opts_.decoding);
    if (!rk || !st)
      return status{errc::corrupt, "corrupt access list record in " + dir_.string()};
    if (st->alive())
      list.put(rk->second, st->view());
  }
  if (!it->status().ok())
    return io(it->status(), "cannot read the access list");
  return list;
}

// ---- end-to-end encryption (docs/security.md §3) -----------------------------

std::shared_ptr<const store::e2e_state> store::e2e() const {
  std::lock_guard<std::mutex> guard(meta_mutex_);
  return e2e_;
}

bool store::sealed() const {
  auto e = e2e();
  return e && e->list.is_sealed();
}

std::vector<uint32_t> store::key_epochs() const {
  auto e = e2e();
  return e ? e->keys.epochs() : std::vector<uint32_t>{};
}

status store::refresh_e2e(std::vector<change>* changes) {
  auto list = access();
  if (!list)
    return list.error();
  auto next = std::make_shared<e2e_state>(e2e_state{std::move(*list), keyring{}});
  if (member_ && opts_.exchange)
    next->keys = keyring::unlock(next->list, *member_, *opts_.exchange);
  {
    std::lock_guard<std::mutex> guard(meta_mutex_);
    e2e_ = std::move(next);
  }
  access_generation_.fetch_add(1, std::memory_order_acq_rel);
  auto s = reopen_unopened(changes);
  if (!s)
    scan_failed_.store(true, std::memory_order_release);  // every later commit says so
  return s;
}

namespace {
std::string epochs_bytes(const std::set<uint32_t>& epochs) {
  std::string out;
  for (auto e : epochs)
    out += u64_bytes(e).substr(4);
  return out;
}
std::set<uint32_t> epochs_of(std::string_view v) {
  std::set<uint32_t> out;
  for (size_t i = 0; i + 4 <= v.size(); i += 4)
    out.insert(read_u32(v.data() + i));
  return out;
}
} // namespace

status store::reopen_unopened(std::vector<change>* changes) {
  // Invariant (meta_opened_epochs): every logged sealed operation of an
  // epoch listed there is applied, or held with its transaction. An epoch
  // this node holds and the record lacks was gained since: its operations
  // arrived unopened, and are applied now (a scan of the log: keys change
  // rarely; a relay holds none and never scans). The scan commits every
  // opts_.reopen_batch operations with its position (meta_opening), so a
  // crash resumes after the last committed one: nothing is applied twice.
  for (;;) {
    std::string v;
    auto st = db_->Get(rocksdb::ReadOptions(), meta_, meta_opened_epochs, &v);
    if (!st.ok() && !st.IsNotFound())
      return io(st, "cannot read the opened epochs of " + dir_.string());
    std::set<uint32_t> opened = epochs_of(v);
    // A scan under way: u32 count ‖ its epochs ‖ the oplog key it reached.
    std::set<uint32_t> gained;
    std::string resume_after;
    st = db_->Get(rocksdb::ReadOptions(), meta_, meta_opening, &v);
    if (st.ok() && v.size() >= 4) {
      auto n = static_cast<size_t>(read_u32(v.data()));
      if (v.size() < 4 + 4 * n)
        return status{errc::corrupt, "corrupt key-opening position in " + dir_.string()};
      gained = epochs_of(std::string_view(v).substr(4, 4 * n));
      resume_after = v.substr(4 + 4 * n);
    } else if (!st.ok() && !st.IsNotFound()) {
      return io(st, "cannot read the key-opening position of " + dir_.string());
    } else {
      for (auto e : e2e()->keys.epochs())
        if (!opened.count(e))
          gained.insert(e);
    }
    if (gained.empty())
      return {};
    auto position = [&](std::string_view key) {
      std::string out = u64_bytes(gained.size()).substr(4) + epochs_bytes(gained);
      out.append(key.data(), key.size());
      return out;
    };
    std::optional<pending> p;
    auto start_chunk = [&] {
      p.emplace();
      begin(*p);
      p->materialize_only = true;
    };
    start_chunk();
    uint64_t applied = 0, in_chunk = 0;
    size_t chunk_changes = changes ? changes->size() : 0;
    auto end_chunk = [&](std::optional<std::string_view> reached) -> status {
      if (reached) {
        p->batch.Put(meta_, meta_opening, position(*reached));
      } else {
        opened.insert(gained.begin(), gained.end());
        p->batch.Put(meta_, meta_opened_epochs, epochs_bytes(opened));
        p->batch.Delete(meta_, meta_opening);
      }
      uint64_t left = unopened_.load() - std::min(unopened_.load(), applied);
      p->batch.Put(meta_, meta_unopened, u64_bytes(left));
      p->dirty = true;
      if (auto s = commit(*p, changes); !s) {
        if (changes)
          changes->resize(chunk_changes);
        return s;
      }
      unopened_ = left;
      applied = 0;
      in_chunk = 0;
      chunk_changes = changes ? changes->size() : 0;
      return {};
    };
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), oplog_));
    if (resume_after.empty()) {
      it->SeekToFirst();
    } else {
      it->Seek(resume_after);
      if (it->Valid() && it->key() == rocksdb::Slice(resume_after))
        it->Next();
    }
    for (; it->Valid(); it->Next()) {
      auto op = decode_operation(it->value().ToStringView(), opts_.decoding);
      if (!op || op->k != operation::kind::sealed || op->id.origin == self_)
        continue;  // (this node's own operations were applied as written)
      auto epoch = sealed_op_epoch(*op);
      if (!epoch || !gained.count(*epoch))
        continue;
      if (!op->txn.empty()) {
        std::string held;
        auto hs = db_->Get(rocksdb::ReadOptions(), meta_, hold_key(op->txn.id, op->id), &held);
        if (hs.ok())
          continue;  // opened when its transaction is released
        if (!hs.IsNotFound())
          return io(hs, "cannot read held operations");
      }
      uint64_t before = p->unopened;
      if (auto s = apply_effect(*p, *op, changes, nullptr); !s) {
        if (changes)
          changes->resize(chunk_changes);
        return s;
      }
      applied += p->unopened == before;
      p->unopened = before;  // counted once, when it was logged
      if (++in_chunk >= std::max<size_t>(opts_.reopen_batch, 1)) {
        if (auto s = end_chunk(it->key().ToStringView()); !s)
          return s;
        start_chunk();
      }
    }
    if (!it->status().ok())
      return io(it->status(), "cannot scan the oplog of " + dir_.string());
    if (auto s = end_chunk(std::nullopt); !s)
      return s;
    // (epochs gained while a resumed scan finished are scanned next round)
  }
}

void store::count_refused_batch() {
  // Outside any batch (the sync session's verdict comes from a link's
  // thread): a counter of its own, a lost increment under a race only.
  db_->Put(rocksdb::WriteOptions(), meta_, meta_refused, u64_bytes(++refused_batches_));
}

security_counts store::security() const {
  return {refused_batches_.load(), equivocations_.load(), unopened_.load()};
}

std::vector<std::string> store::partial() const {
  std::lock_guard<std::mutex> guard(meta_mutex_);
  return partial_;
}

result<std::optional<std::string>> store::operation_bytes(const dot& d) const {
  std::string v;
  auto st = db_->Get(rocksdb::ReadOptions(), oplog_, keys::oplog(d), &v);
  if (st.IsNotFound())
    return std::optional<std::string>();
  if (!st.ok())
    return io(st, "cannot read the oplog");
  return std::optional<std::string>(std::move(v));
}

result<std::vector<conflict>> store::conflicts() const {
  std::vector<conflict> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), conflicts_));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    auto c = decode_conflict(it->value().ToStringView(), opts_.decoding);
    if (!c)
      return c.error();
    out.push_back(std::move(*c));
  }
  if (!it->status().ok())
    return io(it->status(), "cannot read conflicts");
  return out;
}

result<std::vector<std::string>> store::collections() const {
  std::vector<std::string> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), records_));
  it->SeekToFirst();
  while (it->Valid()) {
    auto k = it->key();
    if (k.size() < 2)
      return status{errc::corrupt, "bad record key"};
    size_t len = (uint8_t(k[0]) << 8) | uint8_t(k[1]);
    if (k.size() < 2 + len)
      return status{errc::corrupt, "bad record key"};
    std::string name(k.data() + 2, len);
    out.push_back(name);
    // Skip to the next collection: prefix with the id space exhausted.
    auto next = keys::record_prefix(name);
    next.append(17, static_cast<char>(0xff));
    it->Seek(next);
  }
  if (!it->status().ok())
    return io(it->status(), "cannot list collections");
  std::sort(out.begin(), out.end());
  return out;
}

result<size_t> store::count_records(bool alive_only) const {
  size_t n = 0;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), records_));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    if (!alive_only) {
      ++n;
      continue;
    }
    auto r = decode_record(it->value().ToStringView(), opts_.decoding);
    if (!r)
      return r.error();
    n += r->alive() ? 1 : 0;
  }
  if (!it->status().ok())
    return io(it->status(), "cannot count records");
  return n;
}

version_vector store::versions() const {
  std::lock_guard<std::mutex> guard(meta_mutex_);
  return vv_;
}

version_vector store::base() const {
  std::lock_guard<std::mutex> guard(meta_mutex_);
  return base_;
}

std::map<node_id, version_vector> store::peer_acks() const {
  std::lock_guard<std::mutex> guard(meta_mutex_);
  return peers_;
}

version_vector store::compaction_point() const {
  std::lock_guard<std::mutex> guard(meta_mutex_);
  if (peers_.empty())
    return vv_;
  version_vector out;
  for (auto& [o, seq] : vv_.entries()) {
    uint64_t m = seq;
    for (auto& [peer, acked] : peers_)
      m = std::min(m, acked.get(o));
    out.set(o, m);
  }
  return out;
}

uint64_t store::clock() const {
  std::lock_guard<std::mutex> guard(meta_mutex_);
  return clock_;
}

std::map<std::pair<std::string, std::string>, index_state> store::indexes() const {
  std::lock_guard<std::mutex> guard(meta_mutex_);
  return indexes_;
}

result<uint64_t> store::digest() const {
  const uint64_t seed = fnv1a("blaze");
  uint64_t h = seed;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), records_));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    auto k = it->key();
    size_t len = k.size() >= 2 ? ((uint8_t(k[0]) << 8) | uint8_t(k[1])) : 0;
    if (k.size() != 2 + len + 16)
      return status{errc::corrupt, "bad record key"};
    auto r = decode_record(it->value().ToStringView(), opts_.decoding);
    if (!r)
      return r.error();
    h += digest_record(seed, std::string(k.data() + 2, len), keys::record_id_of(k.ToStringView()), *r);
  }
  if (!it->status().ok())
    return io(it->status(), "cannot read records");
  for (auto& [k, s] : indexes())
    h += digest_index(seed, k.first, k.second, s);
  return h;
}


// ---- cross-database transactions (core/transaction.hpp) -------------------------
//
// A prepared transaction is one meta key, `txn/` ‖ id (16 bytes) → the
// encodings of its operations (encode_prepared), written with fsync. Its
// operations carry this replica's next sequence numbers; the database actor
// commits no other local write until the transaction is committed or aborted.

namespace {
const std::string meta_txn = "txn/";
std::string txn_key(const id128& id) { return meta_txn + id_bytes(id); }
} // namespace

result<std::vector<operation>> store::prepare_txn(const id128& txn, std::span<const write> writes, uint64_t now_ms,
                                                  const txn_tag& tag) {
  // As write_local, but every write must succeed and nothing is applied:
  // the batch `p` only carries the overlay that later writes of the
  // transaction see.
  pending p(writes.size());
  begin(p);
  hybrid_clock clk(self_, p.clock);
  std::vector<operation> ops;
  std::vector<std::string> encoded;
  ops.reserve(writes.size());
  size_t n = 0;
  for (auto& w : writes) {
    ++n;
    auto fail = [&](const status& s) {
      return status{s.code, "write " + std::to_string(n) + " of " + std::to_string(writes.size()) + " ('" +
                              w.collection + "' " + w.record.to_hex() + "): " + s.message};
    };
    if (auto s = validate(w, opts_.lim); !s)
      return fail(s);
    auto cur = load(&p, w.collection, w.record);
    if (!cur)
      return fail(cur.error());
    dot id{self_, p.vv.get(self_) + 1};
    auto op = make_operation(w, *cur ? &**cur : nullptr, id, clk.tick(now_ms).counter);
    if (!op)
      return fail(op.error());
    op->txn = tag;
    if (*cur && op->k == operation::kind::upsert) {
      record_state trial = **cur;
      apply(trial, *op);
      size_t size = 0;
      for (auto& [name, v] : trial.view())
        size += name.size() + v.byte_size();
      if (size > opts_.lim.max_record)
        return fail({errc::too_large, "the record would be " + std::to_string(size) + " bytes, over the maximum of " +
                                        std::to_string(opts_.lim.max_record)});
    }
    // Prepared as it will be logged: sealed when the database is (the
    // commit opens it again to apply it).
    auto bytes = local_encoding(*op, p.e2e->list, p.e2e->keys);
    if (!bytes)
      return fail(bytes.error());
    if (auto s = apply_one(p, *op, nullptr, &*cur, &*bytes); !s)
      return fail(s);
    encoded.push_back(std::move(*bytes));
    ops.push_back(std::move(*op));
  }
  rocksdb::WriteOptions wo;
  wo.sync = true;
  auto st = db_->Put(wo, meta_, txn_key(txn), encode_prepared(encoded));
  if (!st.ok())
    return io(st, "cannot persist prepared transaction " + txn.to_hex() + " in " + dir_.string());
  return ops;
}

result<bool> store::commit_txn(const id128& txn, std::vector<change>* changes) {
  std::string bytes;
  auto st = db_->Get(rocksdb::ReadOptions(), meta_, txn_key(txn), &bytes);
  if (st.IsNotFound())
    return false;
  if (!st.ok())
    return io(st, "cannot read prepared transaction " + txn.to_hex());
  auto encoded = decode_prepared(bytes);
  if (!encoded)
    return encoded.error();
  pending p(encoded->size());
  begin(p);
  // This node's hash chain goes on through the transaction's operations,
  // as write_local's do (they are local operations, committed now).
  crypto::chain_state own = own_chain();
  const crypto::chain_state own_before = own;
  size_t first_change = changes ? changes->size() : 0;
  for (auto& e : *encoded) {
    auto op = decode_operation(e, opts_.decoding);
    if (!op)
      return status{errc::corrupt, "prepared transaction " + txn.to_hex() + ": " + op.error().message};
    // The reserved sequence numbers must still be the next ones.
    if (op->id.origin != self_ || op->id.seq != p.vv.get(self_) + 1) {
      if (changes)
        changes->resize(first_change);
      return status{errc::corrupt, "prepared transaction " + txn.to_hex() + " holds operation " +
                                     std::to_string(op->id.seq) + " but the next is " +
                                     std::to_string(p.vv.get(self_) + 1)};
    }
    extend_own_chain(own, op->id.seq, e);
    if (auto s = apply_one(p, *op, changes, nullptr, &e); !s) {
      if (changes)
        changes->resize(first_change);
      return s;
    }
  }
  end_own_chain(p, own_before, own);
  p.batch.Delete(meta_, txn_key(txn));
  p.dirty = true;  // an empty transaction still drops its record
  if (auto s = commit(p, changes); !s) {
    if (changes)
      changes->resize(first_change);
    return s;
  }
  // commit() syncs only in durability::sync; a transaction's commit is
  // always durable (its decision record may be dropped after it).
  if (mode() != durability::sync)
    if (auto ws = db_->SyncWAL(); !ws.ok())
      return io(ws, "cannot sync the commit of transaction " + txn.to_hex());
  return true;
}

result<bool> store::abort_txn(const id128& txn) {
  std::string bytes;
  auto st = db_->Get(rocksdb::ReadOptions(), meta_, txn_key(txn), &bytes);
  if (st.IsNotFound())
    return false;
  if (!st.ok())
    return io(st, "cannot read prepared transaction " + txn.to_hex());
  rocksdb::WriteOptions wo;
  wo.sync = true;
  st = db_->Delete(wo, meta_, txn_key(txn));
  if (!st.ok())
    return io(st, "cannot abort transaction " + txn.to_hex());
  return true;
}

result<std::vector<id128>> store::prepared_txns() const {
  std::vector<id128> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), meta_));
  for (it->Seek(meta_txn); it->Valid() && starts_with(it->key(), meta_txn); it->Next()) {
    if (it->key().size() != meta_txn.size() + 16)
      return status{errc::corrupt, "bad transaction key in " + dir_.string()};
    out.push_back(id_at(it->key().data() + meta_txn.size()));
  }
  if (!it->status().ok())
    return io(it->status(), "cannot list prepared transactions");
  return out;
}

// ---- held transaction operations (atomic remote visibility) ----------------------


status store::hold_one(pending& p, const operation& op, const std::string* encoded) {
  if (auto s = validate(op.txn); !s)
    return s;
  p.batch.Put(meta_, hold_key(op.txn.id, op.id), encoded ? *encoded : encode(op));
  p.clock = std::max(p.clock, op.counter);
  p.vv.set(op.id.origin, std::max(p.vv.get(op.id.origin), op.id.seq));
  p.dirty = true;
  return {};
}

result<std::vector<std::pair<txn_tag, uint32_t>>> store::held_txns() const {
  std::vector<std::pair<txn_tag, uint32_t>> out;
  std::vector<std::string> first;  // per transaction: its first held key's dot (origin ‖ seq), in key order
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), meta_));
  for (it->Seek(meta_hold); it->Valid() && starts_with(it->key(), meta_hold); it->Next()) {
    if (it->key().size() != meta_hold.size() + 40)
      return status{errc::corrupt, "bad held operation key in " + dir_.string()};
    auto txn = id_at(it->key().data() + meta_hold.size());
    if (!out.empty() && out.back().first.id == txn) {
      ++out.back().second;
      continue;
    }
    auto op = decode_operation(it->value().ToStringView(), opts_.decoding);
    if (!op)
      return status{errc::corrupt, "held operation in " + dir_.string() + ": " + op.error().message};
    out.emplace_back(op->txn, 1);
    first.emplace_back(it->key().data() + meta_hold.size() + 16, 24);
  }
  if (!it->status().ok())
    return io(it->status(), "cannot list held operations");
  // In the order of their first operations: an origin's transactions in the
  // order it made them (the release order: a later transaction of an origin
  // must not become visible before an earlier one).
  std::vector<size_t> order(out.size());
  for (size_t i = 0; i < order.size(); ++i)
    order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return first[a] < first[b]; });
  std::vector<std::pair<txn_tag, uint32_t>> sorted;
  sorted.reserve(out.size());
  for (auto i : order)
    sorted.push_back(std::move(out[i]));
  return sorted;
}

result<size_t> store::release_txn(const id128& txn, std::vector<change>* changes) {
  pending p;
  p.materialize_only = true;
  begin(p);  // its keys open sealed operations
  auto prefix = meta_hold + id_bytes(txn);
  size_t first_change = changes ? changes->size() : 0;
  size_t n = 0;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), meta_));
  for (it->Seek(prefix); it->Valid() && starts_with(it->key(), prefix); it->Next()) {
    auto op = decode_operation(it->value().ToStringView(), opts_.decoding);
    if (!op) {
      if (changes)
        changes->resize(first_change);
      return status{errc::corrupt, "held operation in " + dir_.string() + ": " + op.error().message};
    }
    if (auto s = apply_one(p, *op, changes); !s) {
      if (changes)
        changes->resize(first_change);
      return s;
    }
    p.batch.Delete(meta_, it->key());
    ++n;
  }
  if (!it->status().ok())
    return io(it->status(), "cannot read held operations");
  if (n == 0)
    return size_t{0};
  if (auto s = commit(p); !s) {
    if (changes)
      changes->resize(first_change);
    return s;
  }
  return n;
}

// ---- resolving conflicts ----------------------------------------------------------

result<size_t> store::clear_field_conflicts(const std::string& collection, const record_id& id,
                                            const std::string& field) {
  // Conflict keys: record key ‖ u16 field length ‖ field ‖ loser timestamp (apply_one).
  std::string prefix = keys::record(collection, id);
  keys::append_u16(prefix, static_cast<uint16_t>(field.size()));
  prefix += field;
  rocksdb::WriteBatch batch;
  size_t n = 0;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), conflicts_));
  for (it->Seek(prefix); it->Valid() && starts_with(it->key(), prefix); it->Next())
    if (it->key().size() == prefix.size() + 24) {  // not a longer field name sharing the prefix
      batch.Delete(conflicts_, it->key());
      ++n;
    }
  if (!it->status().ok())
    return io(it->status(), "cannot read conflicts");
  rocksdb::WriteOptions wo;
  wo.sync = mode() == durability::sync;
  auto st = db_->Write(wo, &batch);
  if (!st.ok())
    return io(st, "cannot clear conflicts");
  return n;
}

result<bool> store::holds_txn_operations() const {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), meta_));
  it->Seek(meta_hold);
  if (!it->status().ok())
    return io(it->status(), "cannot read held operations");
  return it->Valid() && starts_with(it->key(), meta_hold);
}

// ---- read points (consistent group reads) ------------------------------------------

result<std::shared_ptr<const store::read_point>> store::open_read_point() const {
  std::shared_ptr<read_point> out(new read_point());
  out->snap_.reset(new snapshot_handle());
  auto& h = *out->snap_;
  h.rp_ = read_points_;
  {
    std::lock_guard<std::mutex> g(read_points_->m);
    h.snap_ = db_->GetSnapshot();
    read_points_->open.insert(&h);
  }
  rocksdb::ReadOptions ro;
  ro.snapshot = h.snap_;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, meta_));
  for (it->Seek(meta_index); it->Valid() && starts_with(it->key(), meta_index); it->Next()) {
    auto ik = index_key_of(
      std::string_view(it->key().data() + meta_index.size(), it->key().size() - meta_index.size()));
    if (!ik || it->value().size() != 48)
      return status{errc::corrupt, "corrupt index declaration in " + dir_.string()};
    out->indexes_[*ik] = index_state_of(it->value().data());
  }
  if (!it->status().ok())
    return io(it->status(), "cannot read metadata");
  return std::shared_ptr<const read_point>(std::move(out));
}

result<value_map> store::get(const std::string& collection, const record_id& id, const read_point& at) const {
  rocksdb::ReadOptions ro;
  ro.snapshot = at.snap_->snap_;
  std::string bytes;
  auto st = db_->Get(ro, records_, keys::record(collection, id), &bytes);
  if (!st.ok() && !st.IsNotFound())
    return io(st, "cannot read record");
  std::optional<record_state> r;
  if (st.ok()) {
    auto d = decode_record(bytes, opts_.decoding);
    if (!d)
      return status{errc::corrupt, "record " + id.to_hex() + " in '" + collection + "': " + d.error().message};
    r = std::move(*d);
  }
  if (!r || !r->alive())
    return status{errc::unknown_record, "no record " + id.to_hex() + " in collection '" + collection + "'"};
  return r->view();
}

result<std::vector<row>> store::run(const query& q, const read_point& at, query_stats* stats) const {
  return run_at(q, &at, stats);
}

} // namespace blaze
