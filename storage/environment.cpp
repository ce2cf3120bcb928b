#include "storage/environment.hpp"

#include <rocksdb/cache.h>
#include <rocksdb/env.h>
#include <rocksdb/write_buffer_manager.h>

namespace blaze {

storage_environment::storage_environment(const environment_options& opts)
  : opts_(opts),
    cache_(rocksdb::NewLRUCache(opts.block_cache_bytes)),
    buffers_(std::make_shared<rocksdb::WriteBufferManager>(opts.write_buffer_bytes, cache_)),
    env_(rocksdb::Env::Default()) {
  env_->SetBackgroundThreads(opts.background_threads, rocksdb::Env::LOW);
  env_->SetBackgroundThreads(1, rocksdb::Env::HIGH);
}

storage_environment::~storage_environment() = default;

} // namespace blaze
