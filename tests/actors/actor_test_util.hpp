// Helpers for the actor and runtime suites: temporary data directories,
// printers for Boost.Test, opening nodes and databases, waiting for
// asynchronous callbacks.
#pragma once

#include "../common/test_support.hpp"
#include "core/json.hpp"
#include "runtime/node.hpp"

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <mutex>
#include <ostream>
#include <string>
#include <vector>

namespace blaze::test {

inline record_id rec(uint64_t n) { return {0x5eed, n}; }

/// A database a node creates starts with its access list (docs/security.md
/// §4): the owner's database record and member record, seqs 1 and 2 of the
/// creating replica's origin, two records in collection `_access`.
constexpr uint64_t access_ops = 2;

inline node_options options_for(const std::filesystem::path& dir) {
  node_options o;
  o.data_dir = dir;
  o.timeout = std::chrono::seconds(20);
  o.worker_threads = 2;
  return o;
}

inline std::unique_ptr<node> open_node(const node_options& o) {
  auto n = node::open(o);
  BOOST_REQUIRE_MESSAGE(n.ok(), "node::open(" << o.data_dir.string() << "): " << (n ? "" : n.error().to_string()));
  return std::move(*n);
}

inline std::unique_ptr<node> open_node(const std::filesystem::path& dir) { return open_node(options_for(dir)); }

inline database open_db(node& n, const std::string& name, bool create = true) {
  auto db = n.open_database(name, create);
  BOOST_REQUIRE_MESSAGE(db.ok(), "open_database(" << name << "): " << (db ? "" : db.error().to_string()));
  return *db;
}

template <class T> T must(result<T> r, const char* what = "call") {
  BOOST_REQUIRE_MESSAGE(r.ok(), what << " failed: " << (r ? "" : r.error().to_string()));
  return std::move(*r);
}

inline void must(const status& s, const char* what = "call") {
  BOOST_REQUIRE_MESSAGE(s.ok(), what << " failed: " << s.to_string());
}

inline database_status info(const database& db) { return must(db.status_info(), "status_info"); }

/// Waits (up to `limit`) until `pred` holds under `m`; returns whether it did.
inline bool wait_for(std::mutex& m, std::condition_variable& cv, std::function<bool()> pred,
                     std::chrono::milliseconds limit = std::chrono::seconds(20)) {
  std::unique_lock<std::mutex> lock(m);
  return cv.wait_for(lock, limit, pred);
}

/// Opens `name` on `n` as a plaintext database: owned by `n`, access-controlled,
/// not end-to-end encrypted. For tests where sealing is not the subject and
/// gets in the way (each says why), e.g. compaction: a sealed database keeps
/// its log whole (storage/store.hpp compact_report).
inline database open_plaintext(node& n, const std::string& name) {
  database_options o;
  o.as = new_database::plaintext;
  auto db = n.open_database(name, o);
  BOOST_REQUIRE_MESSAGE(db.ok(), "open_database(" << name << ", plaintext): " << (db ? "" : db.error().to_string()));
  return *db;
}

/// Hands every operation `to` lacks from `from` to `to` (by hand sync).
inline apply_report exchange(const database& from, database& to) {
  auto ops = must(from.operations_after(info(to).versions, 1'000'000), "operations_after");
  auto rep = must(to.apply(std::move(ops)), "apply");
  for (auto& [d, why] : rep.refused)
    BOOST_ERROR("operation " << d.origin.to_hex() << ":" << d.seq << " refused: " << why.to_string());
  return rep;
}

} // namespace blaze::test
