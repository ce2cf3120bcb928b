// A fluent query: db.query("bugs").where("status", cmp::eq, "open")
//                   .order_by("priority", true).limit(10).run();
#pragma once

#include "core/query.hpp"
#include "storage/store.hpp"

#include <vector>

namespace blaze {

class database;

class query_builder {
public:
  query_builder(const database& db, std::string collection) : db_(&db) { q_.collection = std::move(collection); }

  query_builder& where(std::string field, cmp op, value operand) {
    q_.where.push_back({std::move(field), op, std::move(operand)});
    return *this;
  }
  query_builder& order_by(std::string field, bool descending = false) {
    q_.order_by = std::move(field);
    q_.descending = descending;
    return *this;
  }
  query_builder& limit(size_t n) {
    q_.limit = n;
    return *this;
  }
  /// Runs the query (blocking). An index on a `where` field is used when one exists.
  result<std::vector<row>> run(query_stats* stats = nullptr) const;
  const query& get() const { return q_; }

private:
  const database* db_;
  query q_;
};

} // namespace blaze
