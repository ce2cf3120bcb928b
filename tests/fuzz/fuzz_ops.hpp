// Shared by the sync fuzz target and its corpus generator: the nodes, the
// database name and the operations both sides agree on, so that generated
// seeds name operations the fuzz target's stores really hold (duplicates,
// equivocations) and batches that extend them (applied, gaps).
#pragma once

#include "core/codec.hpp"
#include "core/operation.hpp"
#include "core/write.hpp"

#include <cstdio>
#include <cstdlib>
#include <string>

namespace blaze::fuzz {

inline const node_id self_node{0, 0xA};  // the fuzz target's session
inline const node_id peer_node{0, 0xB};  // the peer the input impersonates
inline const char* const database = "db";
/// Local operations of self_node every store starts with.
constexpr uint64_t local_ops = 6;

/// A real operation built with make_operation: an insert of record
/// (0xabc, seq) with a `title` of `pad` bytes and a counter `n`. Collection
/// "c" for odd seqs and "d" for even ones unless `coll` is given.
inline operation make_op(node_id origin, uint64_t seq, size_t pad = 40, std::string coll = {}) {
  write w;
  w.k = write::kind::insert;
  w.collection = coll.empty() ? (seq % 2 ? "c" : "d") : std::move(coll);
  w.record = record_id{0xabc, seq};
  w.fields = {{"title", value{std::string(pad, static_cast<char>('a' + seq % 26))}},
              {"n", value{static_cast<int64_t>(seq)}}};
  auto op = make_operation(w, nullptr, dot{origin, seq}, (1000 + seq) << 16);
  if (!op) {
    std::fprintf(stderr, "make_op: %s\n", op.error().to_string().c_str());
    std::abort();
  }
  return *op;
}

inline std::string op_bytes(node_id origin, uint64_t seq, size_t pad = 40, std::string coll = {}) {
  return encode(make_op(origin, seq, pad, std::move(coll)));
}

} // namespace blaze::fuzz
