// The seed's bug tracker: the local BlazeDB embedding API end to end. Two
// nodes in one process, each with its own data directory, stand in for two
// devices ("phone" and "laptop") that edit database `bugs` offline and then
// exchange operations by hand — the same merge the sync protocol performs
// over the network. The phone creates `bugs` (owned by it, end-to-end
// encrypted) and shares it with the laptop, which opens it to join: the
// access list, and the content key wrapped for the laptop, arrive with the
// first exchange.
//
//   bug_tracker [DATA_DIR]
#include "core/json.hpp"
#include "runtime/node.hpp"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <filesystem>
#include <iostream>

using namespace blaze;

namespace {

template <class T> T check(result<T> r, const char* what) {
  if (!r) {
    std::fprintf(stderr, "bug_tracker: %s: %s\n", what, r.error().message.c_str());
    std::exit(1);
  }
  return std::move(*r);
}

void check(const status& s, const char* what) {
  if (!s) {
    std::fprintf(stderr, "bug_tracker: %s: %s\n", what, s.message.c_str());
    std::exit(1);
  }
}

void show(const char* title, const std::vector<row>& rows) {
  std::cout << "  " << title << ":\n";
  for (auto& r : rows)
    std::cout << "    " << r.id.to_hex().substr(0, 8) << "  " << to_json(r.doc).dump() << "\n";
}

struct device {
  const char* name;
  database& db;
};

// Hands every operation `from` has and `to` lacks over to `to`.
void exchange(const device& from, const device& to) {
  auto have = check(to.db.status_info(), "status").versions;
  auto ops = check(from.db.operations_after(have, 1'000'000), "read oplog");
  auto rep = check(to.db.apply(std::move(ops)), "apply");
  std::cout << "  " << from.name << " -> " << to.name << ": " << rep.applied << " operations applied, "
            << rep.duplicates << " duplicates, " << rep.refused.size() << " refused\n";
}

} // namespace

int main(int argc, char** argv) {
  spdlog::set_level(spdlog::level::warn);
  std::filesystem::path dir = argc > 1 ? argv[1] : std::filesystem::temp_directory_path() / "blazedb-bug-tracker";
  std::filesystem::remove_all(dir);
  auto open_node = [&](const char* name) {
    node_options opts;
    opts.data_dir = dir / name;
    return check(node::open(opts), "open node");
  };
  auto phone_node = open_node("phone");
  auto laptop_node = open_node("laptop");
  std::cout << "BlazeDB bug tracker demo\n  phone  node " << phone_node->id().to_hex() << "\n  laptop node "
            << laptop_node->id().to_hex() << "\n  data " << dir.string() << "\n\n";

  std::cout << "0. the phone creates `bugs` (owned by it, end-to-end encrypted) and shares it with the laptop,\n"
               "   which opens it to join\n";
  auto phone = check(phone_node->open_database("bugs"), "open bugs on the phone");
  check(phone.share(member_key_of(laptop_node->ident()), access_rights::read_write), "share with the laptop");
  database_options join;
  join.as = new_database::join;
  auto laptop = check(laptop_node->open_database("bugs", join), "join bugs on the laptop");
  const device p{"phone", phone}, l{"laptop", laptop};

  std::cout << "1. insert bugs on the phone, index them by priority\n";
  check(phone.create_index("bugs", "priority"), "create index");
  auto login = check(phone.insert("bugs", {{"title", "Login fails on Safari"}, {"status", "open"}, {"priority", 1}}),
                     "insert");
  auto crash = check(phone.insert("bugs", {{"title", "Crash on empty cart"}, {"status", "open"}, {"priority", 2}}),
                     "insert");
  auto typo = check(phone.insert("bugs", {{"title", "Typo in footer"}, {"status", "open"}, {"priority", 5}}),
                    "insert");
  check(phone.increment("bugs", login, "votes", 3), "increment");
  check(phone.add("bugs", login, "tags", "auth"), "add tag");
  check(phone.add("bugs", login, "tags", "safari"), "add tag");
  show("bugs", check(phone.query("bugs").order_by("priority").run(), "query"));

  std::cout << "\n2. the laptop receives them (sync by hand)\n";
  exchange(p, l);
  std::cout << "  laptop: " << check(laptop.status_info(), "status").access << " (the access list arrived)\n";

  std::cout << "\n3. both devices edit offline\n";
  // A concurrent edit of one field: LWW picks one, the other is a conflict.
  check(phone.set("bugs", login, "status", "in-progress"), "set");
  check(laptop.set("bugs", login, "status", "wont-fix"), "set");
  // Counters merge by adding; tags by observed-remove (add wins).
  check(phone.increment("bugs", login, "votes", 2), "increment");
  check(laptop.increment("bugs", login, "votes", -1), "increment");
  check(phone.remove("bugs", login, "tags", "safari"), "remove tag");
  check(laptop.add("bugs", login, "tags", "p1"), "add tag");
  // A delete racing an update: the update comes later, so it resurrects.
  check(phone.erase("bugs", typo), "delete");
  check(laptop.update("bugs", typo, {{"title", "Typo in footer (fixed copy)"}}), "update");
  // An ordinary update nobody else touched.
  check(laptop.update("bugs", crash, {{"priority", 1}}), "update");

  std::cout << "\n4. they exchange operations both ways\n";
  exchange(p, l);
  exchange(l, p);

  std::cout << "\n5. both replicas now hold the same records\n";
  auto a = check(phone.query("bugs").order_by("title").run(), "query");
  auto b = check(laptop.query("bugs").order_by("title").run(), "query");
  show("phone", a);
  show("laptop", b);
  bool same = a.size() == b.size();
  for (size_t i = 0; same && i < a.size(); ++i)
    same = a[i].id == b[i].id && a[i].doc == b[i].doc;
  std::cout << "  identical: " << (same ? "yes" : "NO") << "\n";

  std::cout << "\n6. queries (the priority index is used)\n";
  query_stats qs;
  show("priority <= 1", check(laptop.query("bugs").where("priority", cmp::le, 1).run(&qs), "query"));
  std::cout << "  used index: " << (qs.used_index ? qs.index_field : std::string("none")) << "\n";
  show("status in [open, wont-fix, in-progress] limit 2",
       check(laptop.query("bugs")
               .where("status", cmp::in, value_array{"open", "wont-fix", "in-progress"})
               .order_by("priority")
               .limit(2)
               .run(),
             "query"));

  std::cout << "\n7. conflicts resolved automatically (last writer wins, loser kept for review)\n";
  for (auto* d : {&p, &l})
    for (auto& c : check(d->db.list_conflicts(), "conflicts"))
      std::cout << "  " << d->name << ": " << c.collection << "/" << c.record.to_hex().substr(0, 8) << "."
                << c.field << " winner=" << to_json(c.winner).dump() << " loser=" << to_json(c.loser).dump()
                << "\n";

  std::cout << "\n8. delete, then read it back\n";
  check(laptop.erase("bugs", crash), "delete");
  auto gone = laptop.get("bugs", crash);
  std::cout << "  get deleted bug: " << (gone ? "still there?!" : gone.error().message) << "\n";
  return same ? 0 : 1;
}
