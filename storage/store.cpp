#include "storage/store.hpp"

#include "core/keys.hpp"
#include "core/replica.hpp"
#include "storage/rocksdb_options.hpp"

#include <rocksdb/db.h>
#include <optional>
#include <set>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <unordered_map>

namespace blaze {

namespace {

const std::string meta_clock = "clock";
const std::string meta_vv = "vv/";         // ‖ origin (16 bytes) -> u64 seq
const std::string meta_index = "index/";   // ‖ index prefix -> 4 x u64 (created, dropped)
const std::string meta_format = "format";  // storage format version
const std::string meta_durability = "durability";  // "sync" or "buffered"
const std::string meta_partial = "partial";  // collections of a partial replica, '\n'-separated
constexpr uint64_t format_version = 1;

status io(const rocksdb::Status& s, const std::string& what) {
  return {errc::io_error, what + ": " + s.ToString()};
}

std::string u64_bytes(uint64_t x) {
  std::string s;
  keys::append_u64(s, x);
  return s;
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

} // namespace

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
};

store::store(std::filesystem::path dir, node_id self, store_options opts,
             std::shared_ptr<storage_environment> env)
  : dir_(std::move(dir)), self_(self), opts_(std::move(opts)), env_(std::move(env)) {}

store::~store() {
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
  rocksdb::DB* raw = nullptr;
  auto st = rocksdb::DB::Open(dbo, dir.string(), cfs, &s->handles_, &raw);
  if (!st.ok()) {
    if (st.IsIOError() && st.ToString().find("lock") != std::string::npos)
      return status{errc::locked, "database " + dir.string() + " is already open " +
                                    (st.ToString().find("current process") != std::string::npos
                                       ? "in this process"
                                       : "in another process")};
    return io(st, "cannot open database " + dir.string());
  }
  s->db_.reset(raw);
  s->records_ = s->handles_[1];
  s->oplog_ = s->handles_[2];
  s->index_ = s->handles_[3];
  s->meta_ = s->handles_[4];
  s->conflicts_ = s->handles_[5];
  if (auto ls = s->load_meta(); !ls)
    return ls;
  return s;
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
    if (k.ToStringView() == meta_clock) {
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
      std::string_view rest(k.data() + meta_index.size(), k.size() - meta_index.size());
      if (rest.size() < 4 || val.size() != 48)
        return {errc::corrupt, "corrupt index declaration in " + dir_.string()};
      size_t cl = (uint8_t(rest[0]) << 8) | uint8_t(rest[1]);
      if (rest.size() < 4 + cl)
        return {errc::corrupt, "corrupt index declaration in " + dir_.string()};
      size_t fl = (uint8_t(rest[2 + cl]) << 8) | uint8_t(rest[3 + cl]);
      if (rest.size() != 4 + cl + fl)
        return {errc::corrupt, "corrupt index declaration in " + dir_.string()};
      index_state is;
      const char* p = val.data();
      is.created = {keys::read_u64(p), {keys::read_u64(p + 8), keys::read_u64(p + 16)}};
      is.dropped = {keys::read_u64(p + 24), {keys::read_u64(p + 32), keys::read_u64(p + 40)}};
      indexes_[{std::string(rest.substr(2, cl)), std::string(rest.substr(4 + cl, fl))}] = is;
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
                         std::optional<record_state>* known) {
  p.batch.Put(oplog_, keys::oplog(op.id), encode(op));
  switch (op.k) {
    case operation::kind::upsert:
    case operation::kind::remove_record: {
      std::optional<record_state> before;
      if (known) {
        before = std::move(*known);
      } else {
        auto cur = load(&p, op.collection, op.record);
        if (!cur)
          return cur.error();
        before = std::move(*cur);
      }
      // The old state is only needed to update indexes; without any on this
      // collection it is moved, not copied.
      bool indexed = std::any_of(p.indexes.begin(), p.indexes.end(), [&](auto& e) {
        return e.first.first == op.collection && e.second.active();
      });
      record_state after = !before ? record_state{} : indexed ? *before : std::move(*before);
      std::vector<conflict> found;
      apply(after, op, &found);
      auto key = keys::record(op.collection, op.record);
      p.batch.Put(records_, key, encode(after));
      for (auto& c : found) {
        std::string ck = key;
        keys::append_u16(ck, static_cast<uint16_t>(c.field.size()));
        ck += c.field;
        keys::append_u64(ck, c.loser_ts.counter);
        ck += id_bytes(c.loser_ts.node);
        p.batch.Put(conflicts_, ck, encode(c));
      }
      if (indexed)
        index_record(p, op.collection, op.record, before ? &*before : nullptr, after);
      if (changes)
        changes->push_back({op.collection, op.record, !after.alive(), after.view(), op.id});
      p.records[key] = std::move(after);
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
  }
  p.clock = std::max(p.clock, op.counter);
  p.vv.set(op.id.origin, std::max(p.vv.get(op.id.origin), op.id.seq));
  p.dirty = true;
  return {};
}

status store::commit(pending& p) {
  if (!p.dirty)
    return {};
  p.batch.Put(meta_, meta_clock, u64_bytes(p.clock));
  for (auto& [origin, seq] : p.vv.entries())
    if (seq != vv_.get(origin))
      p.batch.Put(meta_, meta_vv + id_bytes(origin), u64_bytes(seq));
  for (auto& k : p.touched_indexes) {
    auto& is = p.indexes[k];
    std::string v;
    keys::append_u64(v, is.created.counter);
    v += id_bytes(is.created.node);
    keys::append_u64(v, is.dropped.counter);
    v += id_bytes(is.dropped.node);
    p.batch.Put(meta_, meta_index + keys::index_prefix(k.first, k.second), v);
  }
  rocksdb::WriteOptions wo;
  wo.sync = mode() == durability::sync;
  auto st = db_->Write(wo, &p.batch);
  if (!st.ok())
    return io(st, "cannot commit to " + dir_.string());
  std::lock_guard<std::mutex> guard(meta_mutex_);
  vv_ = p.vv;
  clock_ = p.clock;
  indexes_ = p.indexes;
  return {};
}

std::vector<result<operation>> store::write_local(std::span<const write> writes, uint64_t now_ms,
                                                  std::vector<change>* changes) {
  pending p;
  {
    std::lock_guard<std::mutex> guard(meta_mutex_);
    p.vv = vv_;
    p.clock = clock_;
    p.indexes = indexes_;
  }
  hybrid_clock clk(self_, p.clock);
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
    if (auto s = apply_one(p, *op, changes, &*cur); !s) {
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
    out.emplace_back(std::move(*op));
  }
  if (auto s = commit(p); !s) {
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
  apply_report rep;
  std::sort(ops.begin(), ops.end(), [](auto& a, auto& b) { return a.id < b.id; });
  pending p;
  {
    std::lock_guard<std::mutex> guard(meta_mutex_);
    p.vv = vv_;
    p.clock = clock_;
    p.indexes = indexes_;
  }
  size_t first_change = changes ? changes->size() : 0;
  std::vector<dot> applied;
  const operation* prev = nullptr;
  for (auto& op : ops) {
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
      auto stored = operation_bytes(op.id);
      if (stored && *stored && **stored != encode(op))
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
    if (auto s = apply_one(p, op, changes); !s) {
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
  }
  if (auto s = commit(p); !s) {
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

result<std::vector<row>> store::run(const query& q, query_stats* stats) const {
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
    std::lock_guard<std::mutex> guard(meta_mutex_);
    for (auto& p : q.where) {
      if (p.test(empty_doc))
        continue;
      auto it = indexes_.find({q.collection, p.field});
      if (it != indexes_.end() && it->second.active()) {
        use = &p;
        break;
      }
    }
  }
  rocksdb::ReadOptions ro;
  const rocksdb::Snapshot* snap = db_->GetSnapshot();
  ro.snapshot = snap;
  struct release {
    rocksdb::DB* db;
    const rocksdb::Snapshot* s;
    ~release() { db->ReleaseSnapshot(s); }
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

result<std::vector<logged_op>> store::oplog_after(const version_vector& after, size_t max_bytes) const {
  std::vector<logged_op> out;
  size_t bytes = 0;
  auto mine = versions();
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), oplog_));
  for (auto& r : mine.missing_from(after)) {
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

} // namespace blaze
