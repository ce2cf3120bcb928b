// An in-memory sync_store for the sync tests: per origin the operations held
// (seq -> encoding) above the compaction point base(); the version vector is
// base plus the contiguous run held after it, or for a store with a
// collection filter, at least the prefix covered (held or vouched for by the
// peer as outside the filter). Snapshots are staged per peer and joined into
// the states when complete, as storage does (storage/store.hpp).
#pragma once

#include "core/codec.hpp"
#include "core/crypto/hash_chain.hpp"
#include "core/crypto/wire.hpp"
#include "core/record.hpp"
#include "core/replica.hpp"
#include "core/sync_session.hpp"
#include "core/write.hpp"

#include <algorithm>
#include <map>
#include <string>
#include <vector>

namespace blaze::test {

/// Record and index states with the replica's reading interface, which can
/// also take states from a snapshot (a replica only applies operations).
/// No dedup by dot: the store applies each operation once.
class state_model {
public:
  using record_key = replica::record_key;
  using index_key = replica::index_key;

  void apply(const operation& op) {
    switch (op.k) {
      case operation::kind::upsert:
      case operation::kind::remove_record: blaze::apply(records_[{op.collection, op.record}], op); break;
      case operation::kind::create_index:
      case operation::kind::drop_index: indexes_[{op.collection, op.index_field}].apply(op); break;
      case operation::kind::sealed: break;
    }
  }
  /// Joins a state held up to `theirs` into ours (held up to `mine`).
  void merge(const record_key& k, const record_state& st, const version_vector& mine, const version_vector& theirs) {
    blaze::merge(records_[k], st, &mine, &theirs);
  }
  void merge(const index_key& k, const index_state& st) { indexes_[k].merge(st); }

  const record_state* find(const std::string& collection, const record_id& id) const {
    auto it = records_.find({collection, id});
    return it == records_.end() ? nullptr : &it->second;
  }
  const std::map<record_key, record_state>& records() const { return records_; }
  const std::map<index_key, index_state>& indexes() const { return indexes_; }
  /// replica::digest() of the same states.
  uint64_t digest() const {
    const uint64_t seed = fnv1a("blaze");
    uint64_t h = seed;
    for (auto& [k, r] : records_)
      h += digest_record(seed, k.first, k.second, r);
    for (auto& [k, s] : indexes_)
      h += digest_index(seed, k.first, k.second, s);
    return h;
  }

private:
  std::map<record_key, record_state> records_;
  std::map<index_key, index_state> indexes_;
};

class mem_store : public sync::sync_store {
public:
  struct entry {
    std::string bytes;
    std::string collection;
  };

  explicit mem_store(std::vector<std::string> filter = {}) : filter_(std::move(filter)) {}

  /// Signed operations (docs/protocol.md §5b): this store keeps per-origin
  /// chains of database `database` and signs `key`'s origin's heads when it
  /// serves them. Without it every range is sent unsigned (the machine tests
  /// without authentication).
  void sign_as(std::shared_ptr<const crypto::signing_key> key, std::string database) {
    key_ = std::move(key);
    db_ = std::move(database);
  }
  void set_database(std::string database) { db_ = std::move(database); }
  /// Inputs refused by the session for failing authentication.
  uint64_t refused_inputs = 0;

  version_vector versions() const override {
    version_vector vv;
    for (auto& [o, m] : held_)
      vv.set(o, prefix(o));
    for (auto& [o, b] : base_.entries())
      if (b > vv.get(o))
        vv.set(o, b);
    vv.merge(covered_);
    return vv;
  }

  version_vector base() const override { return base_; }

  chunk ops_after(const version_vector& have, const std::vector<std::string>& collections,
                  size_t max_bytes) const override {
    chunk c;
    size_t bytes = 0;
    for (auto& [o, m] : held_) {
      uint64_t from = have.get(o), last = prefix(o);
      if (from >= last || from < base_.get(o))
        continue;  // nothing due, or compacted away (the session sends a snapshot first)
      uint64_t through = from;
      for (uint64_t s = from + 1; s <= last; ++s) {
        through = s;
        if (matches(collections, m.at(s).collection) && (bytes += m.at(s).bytes.size()) >= max_bytes)
          break;
      }
      sync::op_range range{o, from, through};
      if (auto h = head_near(o, from, through, last)) {
        range = *h;
        range.after = from;
      }
      for (uint64_t s = from + 1; s <= range.through; ++s) {
        auto& e = m.at(s);
        if (matches(collections, e.collection))
          c.ops.push_back(e.bytes);
        else if (range.signed_head())
          range.skipped += crypto::as_view(crypto::op_hash(e.bytes));
      }
      c.ranges.push_back(std::move(range));
      if (bytes >= max_bytes)
        break;
    }
    return c;
  }

  std::optional<crypto::chain_state> chain(const node_id& o) const override {
    uint64_t have = versions().get(o);
    if (have == 0)
      return crypto::chain_start(db_, o);
    if (auto l = link_at(o, have))
      return crypto::chain_state{have, *l};
    return std::nullopt;
  }

  void verified(const sync::op_range& r) override {
    heads_[r.origin][r.through] = r;
    links_[r.origin][r.through] = crypto::wire::to_array<32>(r.link);
  }

  void refused_input() override { ++refused_inputs; }

  /// Access control as a test sets it: a non-empty `pull_refusal` refuses
  /// every peer; bump `access_gen` when changing it (access_version).
  std::string pull_refusal;
  uint64_t access_gen = 0;
  std::string pull_problem(const std::string&) const override { return pull_refusal; }
  uint64_t access_version() const override { return access_gen; }

  outcome apply(const operation& op, const std::string& encoded) override {
    (void)encoded;  // kept canonical: equivocation compares re-encodings
    auto bytes = encode(op);
    auto& m = held_[op.id.origin];
    if (auto i = m.find(op.id.seq); i != m.end())
      return i->second.bytes == bytes ? outcome::duplicate : outcome::refused;
    uint64_t have = versions().get(op.id.origin);
    if (op.id.seq <= have)
      return outcome::duplicate;  // covered: outside this store's filter, or compacted
    if (filter_.empty() && op.id.seq != have + 1)
      return outcome::gap;
    if (!filter_.empty() && !matches(filter_, op.collection))
      return outcome::refused;
    if (!validate(op, limits{}))
      return outcome::refused;
    r.apply(op);
    extend_chain(op.id, bytes);
    m[op.id.seq] = {std::move(bytes), op.collection};
    ++applied;
    return outcome::applied;
  }

  void cover(const sync::op_range& rg) override {
    if (!filter_.empty() && rg.through > covered_.get(rg.origin))
      covered_.set(rg.origin, rg.through);
  }

  class source final : public snapshot_source {
  public:
    const version_vector& versions() const override { return versions_; }
    std::vector<sync::index_decl> indexes() const override { return indexes_; }
    std::vector<sync::op_range> heads() const override { return heads_; }
    part next(size_t max_bytes) override {
      part p;
      size_t bytes = 0;
      while (pos_ < entries_.size() && (p.entries.empty() || bytes < max_bytes)) {
        bytes += entries_[pos_].state.size();
        p.entries.push_back(entries_[pos_++]);
      }
      p.last = pos_ >= entries_.size();
      return p;
    }

  private:
    friend class mem_store;
    version_vector versions_;
    std::vector<sync::index_decl> indexes_;
    std::vector<sync::snapshot_entry> entries_;
    std::vector<sync::op_range> heads_;
    size_t pos_ = 0;
  };

  std::unique_ptr<snapshot_source> snapshot(const std::vector<std::string>& collections) const override {
    ++snapshots_read;
    auto s = std::make_unique<source>();
    s->versions_ = versions();
    for (auto& [o, seq] : s->versions_.entries())
      if (auto h = head_near(o, seq - 1, seq, seq); h && h->through == seq)
        s->heads_.push_back(*h);
    for (auto& [k, st] : r.indexes())
      if (matches(collections, k.first))
        s->indexes_.push_back({k.first, k.second, st.created, st.dropped});
    for (auto& [k, st] : r.records())
      if (matches(collections, k.first))
        s->entries_.push_back({k.first, k.second, encode(st)});
    return s;
  }

  bool stage_snapshot(const node_id& peer, const sync::snapshot& c) override {
    auto& st = staged_[peer];
    if (!(st.versions == c.versions))
      st = staging{c.versions, {}, {}};
    for (auto& e : c.entries) {
      auto rs = decode_record(e.state);
      if (!rs)
        return false;
      blaze::merge(st.records[{e.collection, e.record}], *rs);
    }
    for (auto& d : c.indexes)
      st.indexes[{d.collection, d.field}].merge(index_state{d.created, d.dropped});
    ++chunks_staged;
    return true;
  }

  bool finish_snapshot(const node_id& peer, const version_vector& v,
                       const std::vector<sync::op_range>& heads) override {
    for (auto& h : heads) {
      heads_[h.origin][h.through] = h;
      links_[h.origin][h.through] = crypto::wire::to_array<32>(h.link);
    }
    auto it = staged_.find(peer);
    if (it == staged_.end() || !(it->second.versions == v))
      return false;
    auto mine = versions();
    for (auto& [k, st] : it->second.records)
      r.merge(k, st, mine, v);
    for (auto& [k, st] : it->second.indexes)
      r.merge(k, st);
    staged_.erase(it);
    for (auto& [o, s] : v.entries())
      if (s > mine.get(o)) {
        // operations (mine, s] are in the states, not in the log
        base_.set(o, std::max(base_.get(o), s));
        drop_through(o, s);
      }
    if (!filter_.empty())
      covered_.merge(v);
    ++snapshots_joined;
    return true;
  }

  /// Folds the log into the states up to `upto` (never past versions()):
  /// drops those operations; base() rises. Returns how many were dropped.
  size_t compact(const version_vector& upto) {
    size_t n = 0;
    auto mine = versions();
    for (auto& [o, s] : mine.entries()) {
      uint64_t b = std::min(upto.get(o), s);
      if (b > base_.get(o)) {
        base_.set(o, b);
        n += drop_through(o, b);
      }
    }
    return n;
  }

  /// A local operation (the next seq of its origin).
  void commit(const operation& op) {
    r.apply(op);
    auto bytes = encode(op);
    extend_chain(op.id, bytes);
    held_[op.id.origin][op.id.seq] = {std::move(bytes), op.collection};
  }

  /// Operations of `o` in the log.
  size_t held(const node_id& o) const {
    auto i = held_.find(o);
    return i == held_.end() ? 0 : i->second.size();
  }
  /// Operation bytes of `o` in the log, in seq order (for references).
  std::vector<std::string> log_of(const node_id& o) const {
    std::vector<std::string> out;
    if (auto i = held_.find(o); i != held_.end())
      for (auto& [s, e] : i->second)
        out.push_back(e.bytes);
    return out;
  }

  state_model r;
  uint64_t applied = 0;
  mutable uint64_t snapshots_read = 0;
  uint64_t chunks_staged = 0;
  uint64_t snapshots_joined = 0;

private:
  struct staging {
    version_vector versions;
    std::map<replica::record_key, record_state> records;
    std::map<replica::index_key, index_state> indexes;
  };

  static bool matches(const std::vector<std::string>& f, const std::string& c) {
    return f.empty() || std::find(f.begin(), f.end(), c) != f.end();
  }
  /// base(o) and then the contiguous run of held seqs after it.
  uint64_t prefix(const node_id& o) const {
    uint64_t n = base_.get(o);
    auto i = held_.find(o);
    if (i == held_.end())
      return n;
    if (filter_.empty())
      return n + i->second.size();  // apply() and compaction keep an unfiltered log contiguous after base
    for (auto it = i->second.upper_bound(n); it != i->second.end() && it->first == n + 1; ++it)
      n = it->first;
    return n;
  }
  size_t drop_through(const node_id& o, uint64_t s) {
    auto i = held_.find(o);
    if (i == held_.end())
      return 0;
    auto end = i->second.upper_bound(s);
    size_t n = static_cast<size_t>(std::distance(i->second.begin(), end));
    i->second.erase(i->second.begin(), end);
    return n;
  }

  std::optional<crypto::chain_link> link_at(const node_id& o, uint64_t seq) const {
    if (seq == 0)
      return crypto::chain_genesis(db_, o);
    auto i = links_.find(o);
    if (i == links_.end())
      return std::nullopt;
    auto l = i->second.find(seq);
    return l == i->second.end() ? std::nullopt : std::optional(l->second);
  }
  void extend_chain(const dot& d, const std::string& bytes) {
    if (auto prev = link_at(d.origin, d.seq - 1))
      links_[d.origin][d.seq] = crypto::chain_next(*prev, d.origin, d.seq, crypto::op_hash(bytes));
  }
  /// A signed head of `o` to end a range (after, through] at (held up to
  /// `last`): own heads at `through`, others' the nearest held (at or below
  /// `through`, else above). nullopt: send the range unsigned.
  std::optional<sync::op_range> head_near(const node_id& o, uint64_t after, uint64_t through, uint64_t last) const {
    if (key_ && crypto::key_owns_origin(key_->public_key(), db_, o)) {
      auto l = link_at(o, through);
      if (!l)
        return std::nullopt;
      auto sig = key_->sign(crypto::head_message(db_, o, through, *l));
      if (!sig)
        return std::nullopt;
      return sync::op_range{o, after, through, std::string(crypto::as_view(*l)), std::string(sig->view()),
                            std::string(key_->public_key().view())};
    }
    auto i = heads_.find(o);
    if (i == heads_.end())
      return std::nullopt;
    auto up = i->second.upper_bound(through);
    if (up != i->second.begin() && std::prev(up)->first > after)
      return std::prev(up)->second;
    if (up != i->second.end() && up->first <= last)
      return up->second;
    return std::nullopt;
  }

  std::shared_ptr<const crypto::signing_key> key_;
  std::string db_ = "db";
  std::map<node_id, std::map<uint64_t, crypto::chain_link>> links_;  // per origin and seq (where known)
  std::map<node_id, std::map<uint64_t, sync::op_range>> heads_;      // others' signed heads held
  std::vector<std::string> filter_;
  std::map<node_id, std::map<uint64_t, entry>> held_;
  version_vector covered_;
  version_vector base_;
  std::map<node_id, staging> staged_;
};

} // namespace blaze::test
