// actors/runtime: blaze::node — databases in a data directory, the data
// directory lock, node identity, closing and reopening databases.
#define BOOST_TEST_MODULE actors
#include "actor_test_util.hpp"

#include <sys/stat.h>

using namespace blaze;
using namespace blaze::test;

BOOST_AUTO_TEST_CASE(node_opens_creates_and_lists_databases) {
  temp_dir tmp;
  auto n = open_node(tmp / "data");
  BOOST_TEST(must(n->databases()).empty());
  auto alpha = open_db(*n, "alpha");
  BOOST_TEST(alpha.name() == "alpha");
  auto beta = open_db(*n, "beta.v2-x_y", true);
  BOOST_TEST(must(n->databases()) == (std::vector<std::string>{"alpha", "beta.v2-x_y"}));
  BOOST_TEST(std::filesystem::is_directory(tmp / "data" / "alpha"));

  // an existing database opens without create; opening twice shares the actors
  auto again = open_db(*n, "alpha", false);
  BOOST_TEST((again.handles().db == alpha.handles().db));
  auto id = must(alpha.insert("c", {{"x", 1}}));
  BOOST_TEST(must(again.get("c", id)) == (value_map{{"x", 1}}));

  auto missing = n->open_database("missing", false);
  BOOST_REQUIRE(!missing.ok());
  BOOST_TEST(missing.error().code == errc::unknown_database);
  BOOST_TEST(missing.error().message.find("missing") != std::string::npos, missing.error().message);
  BOOST_TEST(!std::filesystem::exists(tmp / "data" / "missing"));
  BOOST_TEST(must(n->databases()).size() == 2u);
}

BOOST_AUTO_TEST_CASE(invalid_database_names_are_refused) {
  temp_dir tmp;
  auto n = open_node(tmp / "data");
  for (std::string bad : {std::string(), std::string(".hidden"), std::string(".."), std::string("a/b"),
                          std::string("../escape"), std::string("a b"), std::string("tab\t"),
                          std::string("n\xc3\xa9"), std::string(129, 'a'), std::string("x\0y", 3)}) {
    auto db = n->open_database(bad, true);
    BOOST_REQUIRE_MESSAGE(!db.ok(), "'" << bad << "' was accepted");
    BOOST_TEST(db.error().code == errc::invalid_argument, "'" << bad << "'");
    BOOST_TEST(!db.error().message.empty());
  }
  BOOST_TEST(must(n->databases()).empty());
  BOOST_TEST(!std::filesystem::exists(tmp / "escape"));
  BOOST_TEST(n->open_database(std::string(128, 'a'), true).ok());
}

BOOST_AUTO_TEST_CASE(a_data_directory_is_locked_by_its_node) {
  temp_dir tmp;
  auto dir = tmp / "data";
  auto n = open_node(dir);
  auto second = node::open(options_for(dir));
  BOOST_REQUIRE(!second.ok());
  BOOST_TEST(second.error().code == errc::locked);
  BOOST_TEST(second.error().message.find(dir.string()) != std::string::npos, second.error().message);
  // the first node still works
  auto db = open_db(*n, "db");
  must(db.insert("c", {{"x", 1}}));
  n.reset();
  auto third = node::open(options_for(dir));
  BOOST_TEST(third.ok());
}

BOOST_AUTO_TEST_CASE(node_identity_is_stable_private_and_not_copied) {
  temp_dir tmp;
  auto dir = tmp / "data";
  node_id first;
  record_id rid;
  {
    auto n = open_node(dir);
    first = n->id();
    BOOST_TEST(!first.is_zero());
    BOOST_TEST(n->ident().fresh);
    BOOST_TEST(n->ident().public_key.size() == 32u);
    auto db = open_db(*n, "db");
    rid = must(db.insert("c", {{"x", 1}}));
  }
  struct stat sb {};
  BOOST_REQUIRE(::stat((dir / "identity.key").c_str(), &sb) == 0);
  BOOST_TEST((sb.st_mode & 0777) == 0600u);
  {
    auto n = open_node(dir);
    BOOST_TEST(n->id() == first);
    BOOST_TEST(!n->ident().fresh);
  }
  // a copy of the (closed) data directory elsewhere takes a fresh identity
  auto copy = tmp / "copy";
  std::filesystem::copy(dir, copy, std::filesystem::copy_options::recursive);
  {
    auto n = open_node(copy);
    BOOST_TEST(n->id() != first);
    BOOST_TEST(n->ident().fresh);
    BOOST_TEST(!n->ident().reason.empty());
    BOOST_TEST(std::filesystem::exists(copy / "identity.key.previous"));
    struct stat cb {};
    BOOST_REQUIRE(::stat((copy / "identity.key").c_str(), &cb) == 0);
    BOOST_TEST((cb.st_mode & 0777) == 0600u);
    // the data came along and is readable; new writes use the new identity
    auto db = open_db(*n, "db", false);
    BOOST_TEST(must(db.get("c", rid)) == (value_map{{"x", 1}}));
    auto before = info(db).versions;
    must(db.set("c", rid, "x", 2));
    auto after = info(db).versions;
    BOOST_TEST(after.total() == before.total() + 1);
    for (auto& [origin, seq] : before.entries())
      BOOST_TEST(after.get(origin) == seq);  // the copied origin did not advance
    auto copied_id = n->id();
    n.reset();
    auto again = open_node(copy);
    BOOST_TEST(again->id() == copied_id);  // stable at its new place
  }
  auto n = open_node(dir);
  BOOST_TEST(n->id() == first);  // the original keeps its identity
}

BOOST_AUTO_TEST_CASE(databases_close_and_reopen) {
  temp_dir tmp;
  auto n = open_node(tmp / "data");
  auto db = open_db(*n, "db");
  auto id = must(db.insert("c", {{"n", 0}}));
  must(db.create_index("c", "n"));
  for (int round = 1; round <= 20; ++round) {
    must(n->close_database("db"), "close_database");
    // the old handle now reports a closed database
    auto stale = db.get("c", id);
    BOOST_REQUIRE(!stale.ok());
    BOOST_TEST(stale.error().code == errc::closed, stale.error().to_string());
    db = open_db(*n, "db", false);
    BOOST_TEST(must(db.get("c", id))["n"] == value(round - 1));
    must(db.set("c", id, "n", round));
  }
  auto st = info(db);
  BOOST_TEST(st.versions.total() == 22u);
  BOOST_TEST(st.indexes.size() == 1u);
  // closing a database that is not open is not an error
  must(n->close_database("db"));
  must(n->close_database("db"));
  must(n->close_database("never-opened"));
  BOOST_TEST(must(n->databases()) == std::vector<std::string>{"db"});
}

BOOST_AUTO_TEST_CASE(data_survives_a_node_restart) {
  temp_dir tmp;
  record_id id;
  version_vector vv;
  {
    auto n = open_node(tmp / "data");
    auto db = open_db(*n, "db");
    id = must(db.insert("c", {{"title", "t"}}));
    must(db.increment("c", id, "votes", 3));
    must(db.add("c", id, "tags", "x"));
    vv = info(db).versions;
  }
  auto n = open_node(tmp / "data");
  auto db = open_db(*n, "db", false);
  BOOST_TEST(must(db.get("c", id)) == (value_map{{"title", "t"}, {"votes", int64_t{3}}, {"tags", value_array{"x"}}}));
  BOOST_TEST(info(db).versions == vv);
}
