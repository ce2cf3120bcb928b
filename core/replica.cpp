#include "core/replica.hpp"

#include "core/codec.hpp"
#include "core/keys.hpp"

namespace blaze {

bool replica::apply(const operation& op, std::vector<conflict>* conflicts) {
  if (!applied_.insert(op.id).second)
    return false;
  switch (op.k) {
    case operation::kind::upsert:
    case operation::kind::remove_record:
      blaze::apply(records_[{op.collection, op.record}], op, conflicts);
      break;
    case operation::kind::create_index:
    case operation::kind::drop_index: indexes_[{op.collection, op.index_field}].apply(op); break;
    case operation::kind::sealed: break;  // opaque without the key (core/sealed_op.hpp)
  }
  return true;
}

const record_state* replica::find(const std::string& collection, const record_id& id) const {
  auto it = records_.find({collection, id});
  return it == records_.end() ? nullptr : &it->second;
}

uint64_t digest_record(uint64_t seed, const std::string& collection, const record_id& id,
                       const record_state& r) {
  seed = fnv1a(keys::record(collection, id), seed);
  return fnv1a(encode(r), seed);
}

uint64_t digest_index(uint64_t seed, const std::string& collection, const std::string& field,
                      const index_state& s) {
  std::string k = keys::index_prefix(collection, field);
  keys::append_u64(k, s.created.counter);
  keys::append_u64(k, s.created.node.hi);
  keys::append_u64(k, s.created.node.lo);
  keys::append_u64(k, s.dropped.counter);
  keys::append_u64(k, s.dropped.node.hi);
  keys::append_u64(k, s.dropped.node.lo);
  return fnv1a(k, seed);
}

uint64_t replica::digest() const {
  // A sum of per-entry hashes: independent of iteration order, so storage
  // (which iterates in key order) computes the same digest.
  const uint64_t seed = fnv1a("blaze");
  uint64_t h = seed;
  for (auto& [k, r] : records_)
    h += digest_record(seed, k.first, k.second, r);
  for (auto& [k, s] : indexes_)
    h += digest_index(seed, k.first, k.second, s);
  return h;
}

} // namespace blaze
