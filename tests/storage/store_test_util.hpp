// Helpers for the storage suites: fresh temporary RocksDB directories,
// printers so Boost.Test can show BlazeDB types, write builders, and the
// by-hand replication of operations between stores.
#pragma once

#include "../common/test_support.hpp"
#include "core/json.hpp"
#include "core/replica.hpp"
#include "storage/store.hpp"

#include <boost/test/unit_test.hpp>
#include <rocksdb/db.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <ostream>
#include <string>
#include <vector>

namespace blaze::test {

inline uint64_t now_ms() {
  using namespace std::chrono;
  return static_cast<uint64_t>(duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count());
}

inline node_id node(uint64_t n) { return {0x0b1a2e, n}; }
inline record_id rec(uint64_t n) { return {0x5eed, n}; }

inline std::unique_ptr<store> open_store(const std::filesystem::path& dir, node_id self,
                                         const store_options& opts = {},
                                         std::shared_ptr<storage_environment> env = nullptr) {
  auto r = store::open(dir, self, opts, std::move(env));
  BOOST_REQUIRE_MESSAGE(r.ok(), "store::open(" << dir.string() << "): " << (r ? "" : r.error().to_string()));
  return std::move(*r);
}

/// Runs `fn(db, records)` on a raw RocksDB handle that opens a closed
/// store's column families: for tests that damage what a store keeps.
template <class Fn> void with_raw_records(const std::filesystem::path& dir, Fn fn) {
  rocksdb::DBOptions dbo;
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  for (auto name : {rocksdb::kDefaultColumnFamilyName, std::string("records"), std::string("oplog"),
                    std::string("index"), std::string("meta"), std::string("conflicts")})
    cfs.emplace_back(name, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  auto st = rocksdb::DB::Open(dbo, dir.string(), cfs, &handles, &raw);
  BOOST_REQUIRE_MESSAGE(st.ok(), st.ToString());
  std::unique_ptr<rocksdb::DB> db(raw);
  fn(*db, handles[1]);
  for (auto* h : handles)
    db->DestroyColumnFamilyHandle(h);
  BOOST_REQUIRE(db->Close().ok());
}

// ---- writes -------------------------------------------------------------------

inline write w_insert(std::string c, record_id id, value_map fields) {
  write w;
  w.k = write::kind::insert;
  w.collection = std::move(c);
  w.record = id;
  w.fields = std::move(fields);
  return w;
}
inline write w_update(std::string c, record_id id, value_map fields) {
  auto w = w_insert(std::move(c), id, std::move(fields));
  w.k = write::kind::update;
  return w;
}
inline write w_field(write::kind k, std::string c, record_id id, std::string field, value v = {}) {
  write w;
  w.k = k;
  w.collection = std::move(c);
  w.record = id;
  w.field = std::move(field);
  w.val = std::move(v);
  return w;
}
inline write w_set(std::string c, record_id id, std::string f, value v) {
  return w_field(write::kind::set, std::move(c), id, std::move(f), std::move(v));
}
inline write w_add(std::string c, record_id id, std::string f, value v) {
  return w_field(write::kind::add, std::move(c), id, std::move(f), std::move(v));
}
inline write w_remove(std::string c, record_id id, std::string f, value v) {
  return w_field(write::kind::remove, std::move(c), id, std::move(f), std::move(v));
}
inline write w_inc(std::string c, record_id id, std::string f, int64_t delta) {
  auto w = w_field(write::kind::increment, std::move(c), id, std::move(f));
  w.delta = delta;
  return w;
}
inline write w_erase(std::string c, record_id id) {
  write w;
  w.k = write::kind::remove_record;
  w.collection = std::move(c);
  w.record = id;
  return w;
}
inline write w_index(std::string c, std::string f, bool create = true) {
  write w;
  w.k = create ? write::kind::create_index : write::kind::drop_index;
  w.collection = std::move(c);
  w.field = std::move(f);
  return w;
}

/// Writes one write and requires it to succeed; returns its operation.
inline operation must(store& s, write w, uint64_t now = now_ms()) {
  std::vector<write> ws{std::move(w)};
  auto r = s.write_local(ws, now);
  BOOST_REQUIRE_EQUAL(r.size(), 1u);
  BOOST_REQUIRE_MESSAGE(r[0].ok(), "write failed: " << (r[0] ? "" : r[0].error().to_string()));
  return *r[0];
}

/// Writes one write that must fail; returns its status.
inline status must_fail(store& s, write w, uint64_t now = now_ms()) {
  std::vector<write> ws{std::move(w)};
  auto r = s.write_local(ws, now);
  BOOST_REQUIRE_EQUAL(r.size(), 1u);
  BOOST_REQUIRE_MESSAGE(!r[0].ok(), "write unexpectedly succeeded");
  return r[0].error();
}

inline value_map must_get(const store& s, const std::string& c, const record_id& id) {
  auto r = s.get(c, id);
  BOOST_REQUIRE_MESSAGE(r.ok(), "get failed: " << (r ? "" : r.error().to_string()));
  return *r;
}

inline uint64_t must_digest(const store& s) {
  auto d = s.digest();
  BOOST_REQUIRE_MESSAGE(d.ok(), "digest failed: " << (d ? "" : d.error().to_string()));
  return *d;
}

inline std::vector<operation> all_ops(const store& s, const version_vector& after = {}) {
  auto r = s.operations_after(after, std::numeric_limits<size_t>::max());
  BOOST_REQUIRE_MESSAGE(r.ok(), "operations_after failed: " << (r ? "" : r.error().to_string()));
  return std::move(*r);
}

/// Sends `from` every operation `to` lacks; requires that none is refused.
inline apply_report sync(const store& from, store& to, std::vector<change>* changes = nullptr) {
  auto rep = to.apply_remote(all_ops(from, to.versions()), now_ms(), changes);
  for (auto& [d, why] : rep.refused)
    BOOST_ERROR("operation " << d.origin.to_hex() << ":" << d.seq << " refused: " << why.to_string());
  return rep;
}

/// The reference model fed with every operation of `s`.
inline replica replica_of(const store& s) {
  replica r;
  for (auto& op : all_ops(s))
    r.apply(op);
  return r;
}

inline std::vector<record_id> ids_of(const std::vector<row>& rows) {
  std::vector<record_id> out;
  for (auto& r : rows)
    out.push_back(r.id);
  return out;
}

} // namespace blaze::test

#include <random>

namespace blaze::test {

/// A random value of a random kind, drawn from small domains so that equal
/// values recur (ints and doubles overlap numerically: 3 and 3.0).
inline value random_value(std::mt19937_64& rng, bool composite = true) {
  auto pick = [&](uint64_t n) { return rng() % n; };
  switch (pick(composite ? 12 : 10)) {
    case 0: return nullptr;
    case 1: return pick(2) == 0;
    case 2:
    case 3: return int64_t(pick(41)) - 20;
    case 4: {
      static const double specials[] = {-0.0, 0.0, 1.0, 2.5, -2.5, 1e300, -1e300, 0.1, 3.0, -20.0, 19.75};
      return pick(3) == 0 ? specials[pick(std::size(specials))] : double(int64_t(pick(81)) - 40) / 4;
    }
    case 5: {
      static const int64_t big[] = {INT64_MIN, INT64_MAX, (int64_t(1) << 53) + 1, int64_t(1) << 53, -(int64_t(1) << 53) - 1};
      return big[pick(std::size(big))];
    }
    case 6:
    case 7: {
      static const char* words[] = {"", "a", "ab", "abc", "b", "ba", "z", "\xc3\xa9", "a b", "A"};
      std::string s = words[pick(std::size(words))];
      if (pick(8) == 0)
        s.push_back('\0');
      return s;
    }
    case 8: return bytes{std::string(pick(3), char(pick(3)))};
    case 9: return pick(2) ? value(time_point{int64_t(pick(5)) - 2}) : value(uuid{{0, pick(4)}});
    case 10: return value_array{int64_t(pick(3))};
    default: return value_map{{"k", int64_t(pick(3))}};
  }
}

/// Issues `n` random writes of every kind against records 1..pool of
/// collection `c` (one write_local call per `group` writes). Failing writes
/// (unknown records) are part of the mix.
inline void random_writes(store& s, std::mt19937_64& rng, size_t n, uint64_t pool, const std::string& c = "c",
                          size_t group = 1, const std::vector<std::string>& fields = {"v", "w", "tags", "n"}) {
  std::vector<write> ws;
  auto field = [&] { return fields[rng() % fields.size()]; };
  for (size_t i = 0; i < n; ++i) {
    auto id = rec(1 + rng() % pool);
    switch (rng() % 16) {
      case 0:
      case 1:
      case 2: ws.push_back(w_insert(c, id, {{field(), random_value(rng)}, {"w", int64_t(rng() % 10)}})); break;
      case 3: ws.push_back(w_update(c, id, {{field(), random_value(rng)}})); break;
      case 4:
      case 5:
      case 6: ws.push_back(w_set(c, id, field(), random_value(rng))); break;
      case 7:
      case 8: ws.push_back(w_inc(c, id, field(), int64_t(rng() % 7) - 3)); break;
      case 9:
      case 10: ws.push_back(w_add(c, id, field(), int64_t(rng() % 4))); break;
      case 11: ws.push_back(w_remove(c, id, field(), int64_t(rng() % 4))); break;
      case 12:
      case 13: ws.push_back(w_erase(c, id)); break;
      case 14: ws.push_back(w_index(c, field(), true)); break;
      default: ws.push_back(w_index(c, field(), rng() % 3 != 0)); break;
    }
    if (ws.size() >= group || i + 1 == n) {
      s.write_local(ws, now_ms());
      ws.clear();
    }
  }
}

} // namespace blaze::test
