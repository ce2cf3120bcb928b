// End-to-end encryption in the store (docs/security.md §3): sealed logging of
// local writes, opening on apply, unopened operations opened once when the
// key arrives — exactly once, which counters would show — and across a
// reopen; compaction keeps a sealed log.
#include "store_test_util.hpp"

#include "core/access.hpp"
#include "core/keys.hpp"
#include "core/sealed_op.hpp"

#include <memory>

using namespace blaze;
using namespace blaze::test;

namespace {

// A node's two keys, as runtime/identity keeps them.
struct node_keys {
  std::shared_ptr<const crypto::signing_key> sign;
  std::shared_ptr<const crypto::x25519_key> exchange;
  node_keys() {
    auto s = crypto::signing_key::generate();
    auto x = crypto::x25519_key::generate();
    BOOST_REQUIRE(s.ok() && x.ok());
    sign = std::make_shared<const crypto::signing_key>(std::move(*s));
    exchange = std::make_shared<const crypto::x25519_key>(std::move(*x));
  }
  crypto::member_key member() const { return {sign->public_key(), exchange->public_key()}; }
  store_options opts() const {
    store_options o;
    o.database_id = "vault";
    o.signer = sign;
    o.exchange = exchange;
    return o;
  }
  node_id origin() const { return crypto::replica_of(sign->id(), "vault"); }
};

void write_all(store& s, result<std::vector<blaze::write>> ws) {
  BOOST_REQUIRE_MESSAGE(ws.ok(), (ws.ok() ? std::string() : ws.error().message));
  auto out = s.write_local(*ws, now_ms());
  for (auto& r : out)
    BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? std::string() : r.error().to_string()));
}

int64_t votes(const store& s, const record_id& id) {
  auto doc = s.get("bugs", id);
  if (!doc)
    return -1;
  auto it = doc->find("votes");
  return it != doc->end() && std::holds_alternative<int64_t>(it->second.v) ? std::get<int64_t>(it->second.v) : -1;
}

// Every operation of `from` that `to` lacks, with its bytes as logged.
void replicate(store& from, store& to) {
  auto ops = from.oplog_after(to.versions(), size_t(64) << 20);
  BOOST_REQUIRE(ops.ok());
  std::vector<operation> decoded;
  std::vector<std::string> bytes;
  for (auto& l : *ops) {
    auto op = decode_operation(l.bytes);
    BOOST_REQUIRE(op.ok());
    decoded.push_back(std::move(*op));
    bytes.push_back(l.bytes);
  }
  auto rep = to.apply_remote(std::move(decoded), std::move(bytes), now_ms());
  BOOST_REQUIRE_MESSAGE(rep.refused.empty(),
                        "refused: " << (rep.refused.empty() ? std::string() : rep.refused.front().second.to_string()));
}

access_list must_list(const store& s) {
  auto l = s.access();
  BOOST_REQUIRE(l.ok());
  return std::move(*l);
}

} // namespace

BOOST_AUTO_TEST_SUITE(sealed_store)

BOOST_AUTO_TEST_CASE(counters_sealed_before_the_key_arrives_count_once) {
  temp_dir tmp;
  node_keys owner, reader;
  auto a = open_store(tmp / "owner", owner.origin(), owner.opts());
  write_all(*a, access::create(*a->access(), owner.member(), true));
  BOOST_TEST(a->sealed());
  const record_id bug = rec(1);
  must(*a, w_insert("bugs", bug, {{"title", value(std::string("sealed title"))}}));
  for (int i = 0; i < 3; ++i)
    must(*a, w_inc("bugs", bug, "votes", 2));
  BOOST_TEST(votes(*a, bug) == 6);
  // the log holds sealed operations only, outside `_access`
  auto logged = a->oplog_after({}, size_t(64) << 20);
  BOOST_REQUIRE(logged.ok());
  size_t sealed = 0;
  for (auto& l : *logged) {
    auto op = decode_operation(l.bytes);
    BOOST_REQUIRE(op.ok());
    if (op->collection != access::collection) {
      BOOST_TEST((op->k == operation::kind::sealed));
      ++sealed;
    }
    BOOST_TEST(l.bytes.find("sealed title") == std::string::npos);
  }
  BOOST_TEST(sealed == 4u);
  // compaction keeps a sealed log
  auto c = a->compact(a->versions());
  BOOST_REQUIRE(c.ok());
  BOOST_TEST(c->removed == 0u);
  BOOST_TEST(!c->kept_because.empty());

  // the reader gets the sealed data before any grant: logged, unopened
  auto b = open_store(tmp / "reader", reader.origin(), reader.opts());
  replicate(*a, *b);
  BOOST_TEST(votes(*b, bug) == -1);
  BOOST_TEST(b->security().unopened == 4u);
  // the grant arrives: the four operations open, once
  auto ring = keyring::unlock(*a->access(), owner.sign->id(), *owner.exchange);
  write_all(*a, access::grant(*a->access(), reader.member(), access_rights::read, ring));
  replicate(*a, *b);
  BOOST_TEST(votes(*b, bug) == 6);
  BOOST_TEST(b->security().unopened == 0u);
  BOOST_TEST(b->key_epochs().size() == 1u);
  // more sealed increments apply directly; reopening opens nothing twice
  must(*a, w_inc("bugs", bug, "votes", 1));
  replicate(*a, *b);
  BOOST_TEST(votes(*b, bug) == 7);
  b.reset();
  b = open_store(tmp / "reader", reader.origin(), reader.opts());
  BOOST_TEST(votes(*b, bug) == 7);
  BOOST_TEST(must_digest(*b) == must_digest(*a));
  // a's own operations are not opened again when it reopens either
  a.reset();
  a = open_store(tmp / "owner", owner.origin(), owner.opts());
  BOOST_TEST(votes(*a, bug) == 7);
  // the reader may not write (rights r), and says why
  auto denied = must_fail(*b, w_inc("bugs", bug, "votes", 1));
  BOOST_TEST((denied.code == errc::forbidden));
}

BOOST_AUTO_TEST_CASE(creating_the_list_and_writing_in_one_batch_applies_each_write_once) {
  temp_dir tmp;
  node_keys owner;
  auto a = open_store(tmp / "owner", owner.origin(), owner.opts());
  auto ws = access::create(*a->access(), owner.member(), true);
  BOOST_REQUIRE(ws.ok());
  const record_id bug = rec(2);
  // sealed with the key the batch's own writes made
  ws->push_back(w_insert("bugs", bug, {{"title", value(std::string("in the same batch"))}}));
  ws->push_back(w_inc("bugs", bug, "votes", 5));
  write_all(*a, std::move(ws));
  BOOST_TEST(votes(*a, bug) == 5);
  a.reset();
  a = open_store(tmp / "owner", owner.origin(), owner.opts());
  BOOST_TEST(votes(*a, bug) == 5);
  BOOST_TEST(a->security().unopened == 0u);
}

BOOST_AUTO_TEST_CASE(a_store_without_keys_cannot_write_a_sealed_database) {
  temp_dir tmp;
  node_keys owner;
  auto a = open_store(tmp / "owner", owner.origin(), owner.opts());
  write_all(*a, access::create(*a->access(), owner.member(), true));
  must(*a, w_insert("bugs", rec(3), {{"n", value(int64_t(1))}}));
  // a relay: a node key, no grant
  node_keys relay;
  auto r = open_store(tmp / "relay", relay.origin(), relay.opts());
  replicate(*a, *r);
  BOOST_TEST(r->sealed());
  BOOST_TEST(r->key_epochs().empty());
  BOOST_TEST(r->security().unopened == 1u);
  auto st = must_fail(*r, w_insert("bugs", rec(4), {{"n", value(int64_t(2))}}));
  BOOST_TEST((st.code == errc::forbidden));
  BOOST_TEST(!r->get("bugs", rec(3)).ok());
}

BOOST_AUTO_TEST_CASE(a_key_gained_late_opens_a_long_log_in_bounded_batches_once) {
  temp_dir tmp;
  node_keys owner, reader;
  auto a = open_store(tmp / "owner", owner.origin(), owner.opts());
  write_all(*a, access::create(*a->access(), owner.member(), true));
  const record_id bug = rec(5);
  must(*a, w_insert("bugs", bug, {{"title", value(std::string("long"))}}));
  int64_t total = 0;
  for (int i = 1; i <= 60; ++i) {
    must(*a, w_inc("bugs", bug, "votes", i));
    total += i;
  }
  auto ro = reader.opts();
  ro.reopen_batch = 7;  // 61 operations to open: 9 commits of the scan
  auto b = open_store(tmp / "reader", reader.origin(), ro);
  replicate(*a, *b);
  BOOST_TEST(b->security().unopened == 61u);
  auto ring = keyring::unlock(*a->access(), owner.sign->id(), *owner.exchange);
  write_all(*a, access::grant(*a->access(), reader.member(), access_rights::read, ring));
  replicate(*a, *b);
  BOOST_TEST(votes(*b, bug) == total);  // each increment once, across the scan's commits
  BOOST_TEST(b->security().unopened == 0u);
  BOOST_TEST(must_digest(*b) == must_digest(*a));
  b.reset();
  b = open_store(tmp / "reader", reader.origin(), ro);
  BOOST_TEST(votes(*b, bug) == total);
  BOOST_TEST(b->security().unopened == 0u);
}

// A key-opening scan that fails part way (here: a record it must load is
// unreadable) leaves its committed chunks and position; the store then
// takes no commit at all until it is reopened, so nothing can be opened on
// arrival and again by the resumed scan. Reopened (the damage mended), the
// scan resumes where its last commit left it: every increment counts once.
BOOST_AUTO_TEST_CASE(a_failed_key_opening_scan_stops_the_store_and_resumes_once_reopened) {
  temp_dir tmp;
  node_keys owner, reader;
  auto a = open_store(tmp / "owner", owner.origin(), owner.opts());
  write_all(*a, access::create(*a->access(), owner.member(), true));
  const record_id x = rec(8), y = rec(9);
  int64_t total_x = 0, total_y = 0;
  must(*a, w_insert("bugs", x, {{"title", value(std::string("x"))}}));
  for (int i = 1; i <= 30; ++i) {
    must(*a, w_inc("bugs", x, "votes", i));
    total_x += i;
  }
  must(*a, w_insert("bugs", y, {{"title", value(std::string("y"))}}));  // after x's: later in the scan
  for (int i = 1; i <= 30; ++i) {
    must(*a, w_inc("bugs", y, "votes", i));
    total_y += i;
  }
  auto ro = reader.opts();
  ro.reopen_batch = 7;  // x's 31 operations: 4 commits of the scan before y's
  auto b = open_store(tmp / "reader", reader.origin(), ro);
  replicate(*a, *b);
  BOOST_TEST(b->security().unopened == 62u);
  b.reset();
  const std::string y_key = keys::record("bugs", y);
  with_raw_records(tmp / "reader", [&](rocksdb::DB& db, rocksdb::ColumnFamilyHandle* records) {
    BOOST_REQUIRE(db.Put(rocksdb::WriteOptions(), records, y_key, "unreadable").ok());
  });
  b = open_store(tmp / "reader", reader.origin(), ro);
  auto ring = keyring::unlock(*a->access(), owner.sign->id(), *owner.exchange);
  write_all(*a, access::grant(*a->access(), reader.member(), access_rights::read_write, ring));
  replicate(*a, *b);  // the grant commits; its scan fails at y
  BOOST_TEST(b->key_epochs().size() == 1u);
  // stopped: neither a local nor a remote operation commits
  must(*a, w_inc("bugs", x, "votes", 1000));
  auto ops = a->oplog_after(b->versions(), size_t(1) << 20);
  BOOST_REQUIRE(ops.ok() && ops->size() == 1u);
  auto late = decode_operation(ops->front().bytes);
  BOOST_REQUIRE(late.ok());
  auto rep = b->apply_remote({*late}, {ops->front().bytes}, now_ms());
  BOOST_REQUIRE_EQUAL(rep.refused.size(), 1u);
  BOOST_TEST((rep.refused[0].second.code == errc::io_error));
  BOOST_TEST(rep.refused[0].second.message.find("reopen") != std::string::npos, rep.refused[0].second.message);
  auto st = must_fail(*b, w_insert("notes", rec(10), {{"n", value(int64_t(1))}}));
  BOOST_TEST((st.code == errc::io_error));
  // mended and reopened: the scan finishes, then the new increment arrives once
  b.reset();
  with_raw_records(tmp / "reader", [&](rocksdb::DB& db, rocksdb::ColumnFamilyHandle* records) {
    BOOST_REQUIRE(db.Delete(rocksdb::WriteOptions(), records, y_key).ok());
  });
  b = open_store(tmp / "reader", reader.origin(), ro);
  BOOST_TEST(b->security().unopened == 0u);
  BOOST_TEST(votes(*b, y) == total_y);
  BOOST_TEST(votes(*b, x) == total_x);
  replicate(*a, *b);
  BOOST_TEST(votes(*b, x) == total_x + 1000);
  BOOST_TEST(must_digest(*b) == must_digest(*a));
}

BOOST_AUTO_TEST_CASE(new_databases_start_owned_sealed_plaintext_or_joining) {
  temp_dir tmp;
  node_keys owner, member;
  // sealed: the list is the database's first two operations, owned by the opener
  auto so = owner.opts();
  so.create_as = new_database::sealed;
  auto a = open_store(tmp / "owner", owner.origin(), so);
  BOOST_TEST(a->sealed());
  BOOST_TEST(!a->awaiting_access());
  BOOST_TEST(a->versions().total() == 2u);
  BOOST_TEST((must_list(*a).owner_id() == owner.sign->id()));
  BOOST_TEST(a->key_epochs().size() == 1u);
  must(*a, w_insert("bugs", rec(6), {{"title", value(std::string("owned"))}}));
  // an existing database keeps what it has, whatever the next open asks
  a.reset();
  so.create_as = new_database::join;
  a = open_store(tmp / "owner", owner.origin(), so);
  BOOST_TEST(a->sealed());
  BOOST_TEST(!a->awaiting_access());
  BOOST_TEST(a->versions().total() == 3u);

  // plaintext: owned, a list, not sealed
  auto po = owner.opts();
  po.create_as = new_database::plaintext;
  auto plain = open_store(tmp / "plain", owner.origin(), po);
  BOOST_TEST(!plain->sealed());
  BOOST_TEST(!must_list(*plain).empty());

  // join: no list, every local write refused until the owner's list arrives
  auto jo = member.opts();
  jo.create_as = new_database::join;
  auto b = open_store(tmp / "member", member.origin(), jo);
  BOOST_TEST(b->awaiting_access());
  BOOST_TEST(must_list(*b).empty());
  auto early = must_fail(*b, w_insert("bugs", rec(7), {{"n", value(int64_t(1))}}));
  BOOST_TEST((early.code == errc::forbidden));
  BOOST_TEST(early.message.find("join") != std::string::npos, early.message);
  // nor can it make itself the owner
  auto claim = b->write_local(*access::create(*b->access(), member.member(), true), now_ms());
  BOOST_TEST(!claim.at(0).ok());
  BOOST_TEST(b->versions().total() == 0u);
  BOOST_TEST(!b->grant_writes(owner.member(), access_rights::read).ok());
  // still joining after a reopen
  b.reset();
  b = open_store(tmp / "member", member.origin(), jo);
  BOOST_TEST(b->awaiting_access());
  // granted and synced: it reads and writes
  auto grant = a->grant_writes(member.member(), access_rights::read_write);
  BOOST_REQUIRE(grant.ok());
  write_all(*a, std::move(grant));
  replicate(*a, *b);
  BOOST_TEST(!b->awaiting_access());
  BOOST_TEST(b->sealed());
  BOOST_TEST(b->get("bugs", rec(6)).ok());
  must(*b, w_insert("bugs", rec(8), {{"n", value(int64_t(2))}}));

  // an owned database needs the node's keys
  auto bare = store_options{};
  bare.database_id = "vault";
  bare.create_as = new_database::sealed;
  auto none = store::open(tmp / "keyless", owner.origin(), bare, nullptr);
  BOOST_REQUIRE(!none.ok());
  BOOST_TEST((none.error().code == errc::invalid_argument));
}

BOOST_AUTO_TEST_SUITE_END()
