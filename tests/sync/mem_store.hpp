// An in-memory sync_store over blaze::replica, for the sync tests: per origin
// the operations held (seq -> encoding); the version vector is the
// contiguous prefix held, or for a store with a collection filter, the
// prefix covered (held or vouched for by the peer as outside the filter).
#pragma once

#include "core/codec.hpp"
#include "core/replica.hpp"
#include "core/sync_session.hpp"
#include "core/write.hpp"

#include <algorithm>
#include <map>
#include <string>
#include <vector>

namespace blaze::test {

class mem_store : public sync::sync_store {
public:
  struct entry {
    std::string bytes;
    std::string collection;
  };

  explicit mem_store(std::vector<std::string> filter = {}) : filter_(std::move(filter)) {}

  version_vector versions() const override {
    version_vector vv;
    for (auto& [o, m] : held_)
      vv.set(o, std::max(prefix(o), covered_.get(o)));
    for (auto& [o, s] : covered_.entries())
      if (s > vv.get(o))
        vv.set(o, s);
    return vv;
  }

  chunk ops_after(const version_vector& have, const std::vector<std::string>& collections,
                  size_t max_bytes) const override {
    chunk c;
    size_t bytes = 0;
    for (auto& [o, m] : held_) {
      uint64_t from = have.get(o), last = prefix(o);
      if (from >= last)
        continue;
      uint64_t through = from;
      for (uint64_t s = from + 1; s <= last; ++s) {
        auto& e = m.at(s);
        through = s;
        if (matches(collections, e.collection)) {
          c.ops.push_back(e.bytes);
          bytes += e.bytes.size();
          if (bytes >= max_bytes)
            break;
        }
      }
      c.ranges.push_back({o, from, through});
      if (bytes >= max_bytes)
        break;
    }
    return c;
  }

  outcome apply(const operation& op) override {
    auto bytes = encode(op);
    auto& m = held_[op.id.origin];
    if (auto i = m.find(op.id.seq); i != m.end())
      return i->second.bytes == bytes ? outcome::duplicate : outcome::refused;
    uint64_t have = versions().get(op.id.origin);
    if (op.id.seq <= have)
      return outcome::duplicate;  // covered: outside this store's filter
    if (filter_.empty() && op.id.seq != have + 1)
      return outcome::gap;
    if (!filter_.empty() && !matches(filter_, op.collection))
      return outcome::refused;
    if (!validate(op, limits{}))
      return outcome::refused;
    r.apply(op);
    m[op.id.seq] = {std::move(bytes), op.collection};
    ++applied;
    return outcome::applied;
  }

  void cover(const sync::op_range& rg) override {
    if (!filter_.empty() && rg.through > covered_.get(rg.origin))
      covered_.set(rg.origin, rg.through);
  }

  /// A local operation (the next seq of its origin).
  void commit(const operation& op) {
    r.apply(op);
    held_[op.id.origin][op.id.seq] = {encode(op), op.collection};
  }

  size_t held(const node_id& o) const {
    auto i = held_.find(o);
    return i == held_.end() ? 0 : i->second.size();
  }

  replica r;
  uint64_t applied = 0;

private:
  static bool matches(const std::vector<std::string>& f, const std::string& c) {
    return f.empty() || std::find(f.begin(), f.end(), c) != f.end();
  }
  uint64_t prefix(const node_id& o) const {
    auto i = held_.find(o);
    if (i == held_.end())
      return 0;
    if (filter_.empty())
      return i->second.size();  // apply() keeps an unfiltered store contiguous
    uint64_t n = 0;
    for (auto& [s, e] : i->second) {
      if (s != n + 1)
        break;
      n = s;
    }
    return n;
  }

  std::vector<std::string> filter_;
  std::map<node_id, std::map<uint64_t, entry>> held_;
  version_vector covered_;
};

} // namespace blaze::test
