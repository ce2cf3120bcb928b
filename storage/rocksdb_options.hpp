// The RocksDB options every database is opened with, in one place (the bench
// opens its raw-RocksDB reference with the same ones).
#pragma once

#include "storage/environment.hpp"

#include <rocksdb/db.h>
#include <rocksdb/options.h>

#include <vector>

namespace blaze {

/// DB-wide options: shared env, write-buffer manager and thread pool.
rocksdb::DBOptions db_options(const storage_environment& env);

/// The column families, in handle order: default, records, oplog, index,
/// meta, conflicts; shared block cache, bloom filters, memtable bloom.
std::vector<rocksdb::ColumnFamilyDescriptor> column_families(const storage_environment& env);

} // namespace blaze
