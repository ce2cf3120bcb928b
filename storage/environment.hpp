// Resources shared by every database of one node: one block cache, one
// write-buffer manager, one background thread pool (DESIGN §2).
#pragma once

#include <cstddef>
#include <memory>

namespace rocksdb {
class Cache;
class WriteBufferManager;
class Env;
} // namespace rocksdb

namespace blaze {

struct environment_options {
  size_t block_cache_bytes = 128 << 20;   // shared LRU block cache
  size_t write_buffer_bytes = 256 << 20;  // total memtable budget of the node
  int background_threads = 2;             // flushes and compactions, node-wide
};

/// Owned by the node; databases hold a shared_ptr. Thread-safe.
class storage_environment {
public:
  explicit storage_environment(const environment_options& opts = {});
  ~storage_environment();

  const std::shared_ptr<rocksdb::Cache>& block_cache() const { return cache_; }
  const std::shared_ptr<rocksdb::WriteBufferManager>& write_buffers() const { return buffers_; }
  rocksdb::Env* env() const { return env_; }
  const environment_options& options() const { return opts_; }

private:
  environment_options opts_;
  std::shared_ptr<rocksdb::Cache> cache_;
  std::shared_ptr<rocksdb::WriteBufferManager> buffers_;
  rocksdb::Env* env_;
};

} // namespace blaze
