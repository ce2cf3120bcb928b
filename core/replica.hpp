// An in-memory replica of one database: the reference model of the merge
// rules, used by property tests and the deterministic simulation. Storage
// must produce the same states (tests compare digests).
#pragma once

#include "core/index_state.hpp"
#include "core/record.hpp"

#include <map>
#include <set>
#include <string>
#include <utility>

namespace blaze {

class replica {
public:
  using record_key = std::pair<std::string, record_id>;
  using index_key = std::pair<std::string, std::string>;

  /// Applies `op` once: returns false (and changes nothing) when its dot was
  /// applied before.
  bool apply(const operation& op, std::vector<conflict>* conflicts = nullptr);

  const record_state* find(const std::string& collection, const record_id& id) const;
  bool has(const dot& d) const { return applied_.count(d) != 0; }

  /// Digest of the replicated state (records and index declarations).
  uint64_t digest() const;

  const std::map<record_key, record_state>& records() const { return records_; }
  const std::map<index_key, index_state>& indexes() const { return indexes_; }

private:
  std::map<record_key, record_state> records_;
  std::map<index_key, index_state> indexes_;
  std::set<dot> applied_;
};

/// Digest of one record's canonical encoding from `seed`. A database digest
/// is fnv1a("blaze") plus the sum of its records' and indexes' digests.
uint64_t digest_record(uint64_t seed, const std::string& collection, const record_id& id,
                       const record_state& r);
/// Digest of one index declaration, chained from `seed`.
uint64_t digest_index(uint64_t seed, const std::string& collection, const std::string& field,
                      const index_state& s);

} // namespace blaze
