#include "storage/rocksdb_options.hpp"

#include <rocksdb/filter_policy.h>
#include <rocksdb/table.h>

namespace blaze {

rocksdb::DBOptions db_options(const storage_environment& env) {
  rocksdb::DBOptions dbo;
  dbo.create_if_missing = true;
  dbo.create_missing_column_families = true;
  dbo.env = env.env();
  dbo.write_buffer_manager = env.write_buffers();
  dbo.max_background_jobs = env.options().background_threads;
  // A relay holds thousands of databases: bound each one's file handles, and
  // do not preallocate WAL and MANIFEST space (fallocate reserved ~20 MB per
  // database, ~75 MB after a few WAL rolls, for a handful of records).
  dbo.max_open_files = 64;
  dbo.allow_fallocate = false;
  dbo.manifest_preallocation_size = 64 << 10;
  dbo.keep_log_file_num = 2;
  dbo.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  dbo.avoid_unnecessary_blocking_io = true;
  return dbo;
}

std::vector<rocksdb::ColumnFamilyDescriptor> column_families(const storage_environment& env) {
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = env.block_cache();
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  rocksdb::ColumnFamilyOptions cfo;
  cfo.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  cfo.write_buffer_size = 16 << 20;
  cfo.compression = rocksdb::kNoCompression;
  // Point lookups of absent keys (new records) skip the memtable scan. Only
  // the records family gets the memtable bloom: it costs write_buffer_size x
  // ratio (0.8 MB) per family up front, 4.8 MB per database when every family
  // had it, which a relay with a thousand databases cannot afford.
  auto records = cfo;
  records.memtable_prefix_bloom_size_ratio = 0.05;
  records.memtable_whole_key_filtering = true;
  return {{rocksdb::kDefaultColumnFamilyName, cfo}, {"records", records}, {"oplog", cfo},
          {"index", cfo},                           {"meta", cfo},        {"conflicts", cfo}};
}

} // namespace blaze
