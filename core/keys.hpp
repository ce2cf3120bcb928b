// Byte layouts of RocksDB keys (pure): records, oplog, secondary indexes.
// Index value keys preserve the value order for scalars, so range queries
// scan an index range; candidates are always re-checked by the predicate.
#pragma once

#include "core/ids.hpp"
#include "core/value.hpp"

#include <string>
#include <string_view>

namespace blaze::keys {

/// records: u16 len ‖ collection ‖ record id (16 bytes).
std::string record(std::string_view collection, const record_id& id);
/// Prefix of every record key of `collection`.
std::string record_prefix(std::string_view collection);
/// The record id at the end of a record key.
record_id record_id_of(std::string_view key);

/// oplog: origin (16 bytes) ‖ seq (8 bytes big-endian).
std::string oplog(const dot& d);
dot oplog_dot(std::string_view key);

/// index: u16 len ‖ collection ‖ u16 len ‖ field ‖ value key ‖ record id.
std::string index_prefix(std::string_view collection, std::string_view field);
std::string index_entry(std::string_view collection, std::string_view field, const value& v,
                        const record_id& id);

/// Order-preserving key of a value (lossy for numbers beyond 2^53 and for
/// arrays/maps, which only keep their kind rank in order).
std::string value_key(const value& v);
/// The smallest key of v's kind rank, and the first key past it.
std::string rank_begin(const value& v);
std::string rank_end(const value& v);

void append_u16(std::string& out, uint16_t x);
void append_u64(std::string& out, uint64_t x);
uint64_t read_u64(const char* p);

} // namespace blaze::keys
