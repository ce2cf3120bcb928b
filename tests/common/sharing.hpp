// Test helpers for databases shared between nodes (docs/security.md §4): a
// database a node opens is owned by it and sealed; other nodes are invited
// with share() and open it with join().
#pragma once

#include "runtime/node.hpp"

#include <boost/test/unit_test.hpp>

#include <string>

namespace blaze::test {

/// Gives `member` `rights` on `db` (whose node is its owner or an admin).
inline void share(database& db, const node& member, access_rights rights = access_rights::read_write) {
  auto s = db.share(member_key_of(member.ident()), rights);
  BOOST_REQUIRE_MESSAGE(s.ok(), "sharing " + db.name() + ": " + s.message);
}

/// Opens `name` on `member` as another node's database (new_database::join):
/// it takes writes once its access list arrived through sync.
inline database join(node& member, const std::string& name) {
  database_options o;
  o.as = new_database::join;
  auto db = member.open_database(name, o);
  BOOST_REQUIRE_MESSAGE(db.ok(), "joining " + name + ": " + (db.ok() ? std::string() : db.error().message));
  return std::move(*db);
}

} // namespace blaze::test
