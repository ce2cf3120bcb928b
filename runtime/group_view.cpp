#include "runtime/group_view.hpp"

namespace blaze {

std::vector<std::string> group_view::databases() const {
  std::vector<std::string> out;
  for (auto& [name, m] : members_)
    out.push_back(name);
  return out;
}

result<const group_view::member*> group_view::find(const std::string& db) const {
  auto it = members_.find(db);
  if (it == members_.end() || !it->second.at)
    return status{errc::unknown_database, "database '" + db + "' is not in this sync group"};
  return &it->second;
}

result<value_map> group_view::get(const std::string& db, const std::string& collection, const record_id& id) const {
  auto m = find(db);
  if (!m)
    return m.error();
  return (*m)->st->get(collection, id, *(*m)->at);
}

result<std::vector<row>> group_view::run(const std::string& db, const query& q, query_stats* stats) const {
  auto m = find(db);
  if (!m)
    return m.error();
  return (*m)->st->run(q, *(*m)->at, stats);
}

} // namespace blaze
