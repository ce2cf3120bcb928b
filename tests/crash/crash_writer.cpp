// crash_writer: the write load of the crash tests. Opens the node at <dir>
// with durability::sync, database "crash" (plaintext), and writes until it is killed:
// inserts of records with sequential payloads, increments of one counter,
// tag adds, updates and deletes. Before each write it prints "try <write>",
// after the write is acknowledged "ack <write>" (one write(2) per line):
//
//   ins <record id> <n>   insert into "items": {n: n, body: "payload-<n>"}
//   upd <record id> <n>   update of a live item: {n: n, body: "payload-<n>"}
//   del <record id>       delete of a live item
//   inc <delta>           increment of "count" on the counter record
//   tag <tag>             add of <tag> to "tags" on the tags record
//
// usage: crash_writer <dir> <seed> <first payload n>
#include "runtime/node.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>

namespace {

const blaze::record_id counter_id{0, 1};
const blaze::record_id tags_id{0, 2};

void line(const std::string& text) {
  std::string s = text + "\n";
  size_t off = 0;
  while (off < s.size()) {
    ssize_t n = ::write(1, s.data() + off, s.size() - off);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      std::_Exit(5);
    off += static_cast<size_t>(n);
  }
}

[[noreturn]] void fail(const std::string& what, const blaze::status& s) {
  std::fprintf(stderr, "crash_writer: %s: %s\n", what.c_str(), s.to_string().c_str());
  std::exit(4);
}

blaze::value_map payload(uint64_t n) {
  return {{"n", static_cast<int64_t>(n)}, {"body", "payload-" + std::to_string(n)}};
}

// Creates a fixed record unless it exists.
void ensure(blaze::database& db, const std::string& collection, const blaze::record_id& id) {
  auto r = db.get(collection, id);
  if (r)
    return;
  if (r.error().code != blaze::errc::unknown_record)
    fail("get " + collection, r.error());
  if (auto p = db.put(collection, id, {{"name", collection}}); !p)
    fail("put " + collection, p.error());
}

} // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: crash_writer <dir> <seed> <first payload n>\n");
    return 2;
  }
  blaze::node_options o;
  o.data_dir = argv[1];
  o.mode = blaze::durability::sync;
  uint64_t seed = std::strtoull(argv[2], nullptr, 10);
  uint64_t next_n = std::strtoull(argv[3], nullptr, 10);

  auto n = blaze::node::open(o);
  if (!n)
    fail("open node", n.error());
  // Plaintext (owned by this node, not end-to-end encrypted): crash_tests
  // checks the stored records against a replay of the oplog into a pure
  // replica (core/replica.hpp), which cannot open sealed operations; what is
  // tested is durability, not encryption.
  blaze::database_options dbo;
  dbo.as = blaze::new_database::plaintext;
  auto db = (*n)->open_database("crash", dbo);
  if (!db)
    fail("open database", db.error());
  ensure(*db, "counters", counter_id);
  ensure(*db, "tags", tags_id);
  auto rows = db->query("items").run();
  if (!rows)
    fail("query items", rows.error());
  std::vector<blaze::record_id> live;
  for (auto& r : *rows)
    live.push_back(r.id);
  line("ready " + std::to_string(live.size()));

  std::mt19937_64 rng(seed);
  for (uint64_t tag_k = 0;; ++tag_k) {
    auto pick = rng() % 100;
    std::string desc;
    blaze::status st;
    if (pick < 45 || live.empty()) {
      auto id = blaze::new_record_id();
      uint64_t x = next_n++;
      desc = "ins " + id.to_hex() + " " + std::to_string(x);
      line("try " + desc);
      auto r = db->put("items", id, payload(x));
      if (r)
        live.push_back(id);
      else
        st = r.error();
    } else if (pick < 65) {
      int64_t delta = static_cast<int64_t>(rng() % 10) + 1;
      desc = "inc " + std::to_string(delta);
      line("try " + desc);
      st = db->increment("counters", counter_id, "count", delta);
    } else if (pick < 80) {
      auto tag = "t" + std::to_string(seed) + "-" + std::to_string(tag_k);
      desc = "tag " + tag;
      line("try " + desc);
      st = db->add("tags", tags_id, "tags", tag);
    } else if (pick < 93) {
      auto id = live[rng() % live.size()];
      uint64_t x = next_n++;
      desc = "upd " + id.to_hex() + " " + std::to_string(x);
      line("try " + desc);
      st = db->update("items", id, payload(x));
    } else {
      size_t i = rng() % live.size();
      auto id = live[i];
      desc = "del " + id.to_hex();
      line("try " + desc);
      st = db->erase("items", id);
      if (st) {
        live[i] = live.back();
        live.pop_back();
      }
    }
    if (!st)
      fail(desc, st);
    line("ack " + desc);
  }
}
