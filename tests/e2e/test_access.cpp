// Access control (core/access.hpp): an owner creates a database's access
// list, grants and revokes members, and replicas check each operation
// against the list. The replica here is the pure core: make_operation +
// check_operation + apply on `_access` records, access_list::put of their
// visible documents.
#include <boost/test/unit_test.hpp>

#include "tests/core/test_util.hpp"

#include "core/access.hpp"
#include "core/record.hpp"
#include "core/sealed_op.hpp"
#include "core/write.hpp"

#include <map>

using namespace blaze;
using namespace blaze::test;

namespace {

/// A node: its identity key, exchange key and the next seq of its dots.
struct node_keys {
  crypto::signing_key sign;
  crypto::x25519_key exchange;
  uint64_t seq = 0;

  static node_keys make(char seed) {
    auto s = crypto::signing_key::from_seed(std::move(*crypto::secret_bytes<32>::from(std::string(32, seed))));
    auto x = crypto::x25519_key::from_raw(std::move(*crypto::secret_bytes<32>::from(std::string(32, seed + 1))));
    BOOST_REQUIRE(s.ok());
    BOOST_REQUIRE(x.ok());
    return {std::move(*s), std::move(*x)};
  }
  node_id id() const { return sign.id(); }
  crypto::member_key member() const { return {sign.public_key(), exchange.public_key()}; }
};

/// One replica of one database: its `_access` records and the list read
/// from them; every operation goes through check_operation first.
struct replica_of {
  explicit replica_of(std::string db) : list(db) {}
  access_list list;
  std::map<record_id, record_state> records;
  uint64_t clock = (uint64_t{1'764'000'000'000} << 16);

  /// The operation `w` from `origin`, as that node would make it.
  operation make(node_keys& origin, const blaze::write& w) {
    auto it = records.find(w.record);
    const record_state* cur = it == records.end() ? nullptr : &it->second;
    auto op = make_operation(w, cur, dot{origin.id(), ++origin.seq}, ++clock);
    BOOST_REQUIRE(op.ok());
    return *op;
  }
  /// Checks and applies one operation (from anyone).
  status receive(const node_id& origin, const operation& op) {
    if (auto s = check_operation(list, origin, op); !s)
      return s;
    if (op.collection == access::collection) {
      auto& st = records[op.record];
      apply(st, op);
      list.put(op.record, st.alive() ? st.view() : value_map{});
    }
    return {};
  }
  status write_all(node_keys& origin, const result<std::vector<blaze::write>>& ws) {
    if (!ws.ok())
      return ws.error();
    for (auto& w : *ws) {
      BOOST_REQUIRE(validate(w, limits{}).ok());
      if (auto s = receive(origin.id(), make(origin, w)); !s)
        return s;
    }
    return {};
  }
  keyring keys_of(const node_keys& n) const { return keyring::unlock(list, n.id(), n.exchange); }
};

void forbidden(const status& s, const std::string& why) {
  BOOST_TEST(!s.ok(), "accepted; expected: " << why);
  if (!s.ok()) {
    BOOST_TEST((s.code == errc::forbidden));
    BOOST_TEST(s.message.find(why) != std::string::npos, s.message);
  }
}

operation data_op(node_keys& origin, uint64_t counter, const std::string& title) {
  auto op = upsert(origin.id(), ++origin.seq, counter, rec(1), "notes");
  with_set(op, "title", value{title});
  return op;
}

struct fixture {
  node_keys owner = node_keys::make('\x10');
  node_keys reader = node_keys::make('\x20');
  node_keys writer = node_keys::make('\x30');
  node_keys admin = node_keys::make('\x40');
  node_keys relay = node_keys::make('\x50');
  node_keys stranger = node_keys::make('\x60');
  std::string db = access::bound_database_id("photos", owner.id());
  replica_of r{db};

  void create_and_grant() {
    BOOST_REQUIRE(r.write_all(owner, access::create(r.list, owner.member(), true)).ok());
    auto ok = r.keys_of(owner);
    BOOST_REQUIRE(r.write_all(owner, access::grant(r.list, reader.member(), access_rights::read, ok)).ok());
    BOOST_REQUIRE(r.write_all(owner, access::grant(r.list, writer.member(), access_rights::read_write, ok)).ok());
    BOOST_REQUIRE(r.write_all(owner, access::grant(r.list, admin.member(), access_rights::admin, ok)).ok());
    BOOST_REQUIRE(r.write_all(owner, access::grant(r.list, relay.member(), access_rights::relay, ok)).ok());
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(access_control, fixture)

BOOST_AUTO_TEST_CASE(rights_and_database_ids) {
  for (auto rt : {access_rights::none, access_rights::relay, access_rights::read, access_rights::read_write,
                  access_rights::admin})
    BOOST_TEST((parse_rights(to_string(rt)) == rt));
  BOOST_TEST(!parse_rights("write").has_value());
  BOOST_TEST((access::bound_owner(db) == owner.id()));
  BOOST_TEST(!access::bound_owner("photos").has_value());
  BOOST_TEST(!access::bound_owner("photos@nothex").has_value());
}

BOOST_AUTO_TEST_CASE(owner_creates) {
  BOOST_TEST(r.list.empty());
  BOOST_REQUIRE(r.write_all(owner, access::create(r.list, owner.member(), true)).ok());
  BOOST_TEST(!r.list.empty());
  BOOST_TEST((r.list.owner_id() == owner.id()));
  BOOST_TEST(r.list.is_sealed());
  BOOST_TEST(r.list.epoch() == 1u);
  BOOST_TEST(r.list.is_admin(owner.id()));
  BOOST_TEST((r.list.rights_of(stranger.id()) == access_rights::none));
  BOOST_REQUIRE(r.list.find(owner.id()) != nullptr);
  BOOST_TEST(r.list.wrapped_key(owner.id(), 1) != nullptr);
  auto ring = r.keys_of(owner);
  BOOST_TEST(ring.problems().empty());
  BOOST_TEST((ring.epochs() == std::vector<uint32_t>{1}));
  auto k = ring.sealing_key(r.list);
  BOOST_REQUIRE(k.ok());
  // The owner writes a sealed operation; the replica accepts it.
  auto sealed = seal_operation(data_op(owner, r.clock + 10, "hello"), **k, db);
  BOOST_REQUIRE(sealed.ok());
  BOOST_TEST(r.receive(owner.id(), *sealed).ok());
  // Creating twice is refused by the builder.
  BOOST_TEST((access::create(r.list, owner.member(), true).error().code == errc::invalid_argument));
}

BOOST_AUTO_TEST_CASE(plaintext_database) {
  BOOST_REQUIRE(r.write_all(owner, access::create(r.list, owner.member(), false)).ok());
  BOOST_TEST(!r.list.is_sealed());
  BOOST_TEST(r.list.epoch() == 0u);
  BOOST_TEST(r.keys_of(owner).empty());
  BOOST_TEST(r.write_all(owner, access::grant(r.list, writer.member(), access_rights::read_write, keyring{})).ok());
  BOOST_TEST(r.list.find(writer.id())->wrapped.empty());
  BOOST_TEST(r.receive(writer.id(), data_op(writer, r.clock + 10, "clear")).ok());
  auto sealed = seal_operation(data_op(writer, r.clock + 11, "x"), *crypto::content_key::generate(), db);
  forbidden(r.receive(writer.id(), *sealed), "is plaintext");
}

BOOST_AUTO_TEST_CASE(grants_and_what_each_right_allows) {
  create_and_grant();
  BOOST_TEST((r.list.rights_of(reader.id()) == access_rights::read));
  BOOST_TEST((r.list.rights_of(writer.id()) == access_rights::read_write));
  BOOST_TEST((r.list.rights_of(admin.id()) == access_rights::admin));
  BOOST_TEST((r.list.rights_of(relay.id()) == access_rights::relay));
  BOOST_TEST(r.list.may_store(relay.id()));
  BOOST_TEST(!r.list.can_read(relay.id()));
  BOOST_TEST(!r.list.may_store(stranger.id()));
  BOOST_TEST(r.list.members().size() == 5u);
  // Readers got epoch 1; the relay got no key.
  for (auto* n : {&reader, &writer, &admin})
    BOOST_TEST((r.keys_of(*n).epochs() == std::vector<uint32_t>{1}));
  BOOST_TEST(r.list.find(relay.id())->wrapped.empty());
  BOOST_TEST(r.keys_of(relay).empty());
  BOOST_TEST((r.keys_of(relay).sealing_key(r.list).error().code == errc::forbidden));

  // A writer's sealed operation is accepted, and every reader opens it.
  auto wk = r.keys_of(writer);
  auto plain = data_op(writer, r.clock + 10, "from the writer");
  auto sealed = seal_operation(plain, **wk.sealing_key(r.list), db);
  BOOST_REQUIRE(sealed.ok());
  BOOST_TEST(r.receive(writer.id(), *sealed).ok());
  auto rk = r.keys_of(reader);
  auto opened = open_operation(*sealed, *rk.find(*sealed_op_epoch(*sealed)), db);
  BOOST_REQUIRE(opened.ok());
  BOOST_TEST(encode(*opened) == encode(plain));
  // The admin writes too.
  auto ak = r.keys_of(admin);
  BOOST_TEST(r.receive(admin.id(), *seal_operation(data_op(admin, r.clock + 11, "a"), **ak.sealing_key(r.list), db))
               .ok());

  // A read-only member's, a relay's and a stranger's operations are refused.
  auto by_reader = seal_operation(data_op(reader, r.clock + 12, "no"), **rk.sealing_key(r.list), db);
  forbidden(r.receive(reader.id(), *by_reader), "may not write to database " + db + " (rights r)");
  forbidden(r.receive(relay.id(), *seal_operation(data_op(relay, r.clock + 13, "no"), **rk.sealing_key(r.list), db)),
            "(rights relay)");
  forbidden(r.receive(stranger.id(), data_op(stranger, r.clock + 14, "no")), "(rights none)");
  // A plaintext operation in a sealed database is refused, even from a writer.
  forbidden(r.receive(writer.id(), data_op(writer, r.clock + 15, "leak")), "end-to-end encrypted");
}

BOOST_AUTO_TEST_CASE(grant_builder_refusals) {
  create_and_grant();
  auto ok = r.keys_of(owner);
  BOOST_TEST((access::grant(r.list, reader.member(), access_rights::none, ok).error().code == errc::invalid_argument));
  BOOST_TEST((access::grant(r.list, owner.member(), access_rights::read, ok).error().code == errc::invalid_argument));
  BOOST_TEST((access::grant(r.list, reader.member(), access_rights::relay, ok).error().code == errc::invalid_argument));
  // A granter without the current key cannot give a reader access.
  BOOST_TEST((access::grant(r.list, stranger.member(), access_rights::read, keyring{}).error().code ==
              errc::forbidden));
  // Raising rights keeps the keys the member has and adds none twice.
  auto up = access::grant(r.list, reader.member(), access_rights::read_write, ok);
  BOOST_REQUIRE(up.ok());
  BOOST_REQUIRE(up->size() == 1u);
  BOOST_TEST(((*up)[0].k == blaze::write::kind::update));
  BOOST_TEST(!(*up)[0].fields.count("key.1"));
  BOOST_TEST(r.write_all(owner, up).ok());
  BOOST_TEST(r.list.can_write(reader.id()));
  // A relay raised to reader gets the keys.
  BOOST_TEST(r.write_all(owner, access::grant(r.list, relay.member(), access_rights::read, ok)).ok());
  BOOST_TEST((r.keys_of(relay).epochs() == std::vector<uint32_t>{1}));
}

BOOST_AUTO_TEST_CASE(revoke_rotates_the_key) {
  create_and_grant();
  auto old_ring = r.keys_of(reader);  // what the removed member keeps
  auto before = data_op(writer, r.clock + 10, "before removal");
  auto sealed_before = *seal_operation(before, **r.keys_of(writer).sealing_key(r.list), db);
  BOOST_REQUIRE(r.receive(writer.id(), sealed_before).ok());

  BOOST_REQUIRE(r.write_all(admin, access::revoke(r.list, reader.id())).ok());  // an admin, not only the owner
  BOOST_TEST((r.list.rights_of(reader.id()) == access_rights::none));
  BOOST_TEST(r.list.epoch() == 2u);
  // Every remaining reader holds epochs 1 and 2; the relay holds nothing.
  for (auto* n : {&owner, &writer, &admin})
    BOOST_TEST((r.keys_of(*n).epochs() == std::vector<uint32_t>{1, 2}));
  BOOST_TEST(r.keys_of(relay).empty());
  // The removed member has no key.2, and cannot unwrap anyone else's.
  BOOST_TEST(r.list.wrapped_key(reader.id(), 2) == nullptr);
  BOOST_TEST((r.keys_of(reader).epochs() == std::vector<uint32_t>{1}));
  auto theirs = crypto::unwrap(*r.list.wrapped_key(writer.id(), 2), reader.exchange, db);
  BOOST_TEST(!theirs.ok());
  BOOST_TEST((r.keys_of(reader).sealing_key(r.list).error().code == errc::forbidden));

  // An operation sealed after the rotation uses epoch 2: the removed member
  // cannot open it with anything it holds; the others can.
  auto after = data_op(writer, r.clock + 20, "after removal");
  auto wk = r.keys_of(writer);
  auto sealed_after = *seal_operation(after, **wk.sealing_key(r.list), db);
  BOOST_TEST(*sealed_op_epoch(sealed_after) == 2u);
  BOOST_TEST(r.receive(writer.id(), sealed_after).ok());
  BOOST_TEST(old_ring.find(2) == nullptr);
  for (uint32_t e : old_ring.epochs())
    BOOST_TEST(!open_operation(sealed_after, *old_ring.find(e), db).ok());
  BOOST_TEST(encode(*open_operation(sealed_after, *r.keys_of(owner).find(2), db)) == encode(after));
  // Older operations stay readable to those who had the old key, the
  // removed member included.
  BOOST_TEST(encode(*open_operation(sealed_before, *old_ring.find(1), db)) == encode(before));
  BOOST_TEST(encode(*open_operation(sealed_before, *r.keys_of(owner).find(1), db)) == encode(before));
  // The removed member can write nothing any more.
  forbidden(r.receive(reader.id(), data_op(reader, r.clock + 30, "x")), "(rights none)");
  // A second revocation rotates again; a new member granted afterwards gets
  // every epoch the granter holds.
  BOOST_REQUIRE(r.write_all(owner, access::revoke(r.list, writer.id())).ok());
  BOOST_TEST(r.list.epoch() == 3u);
  BOOST_REQUIRE(r.write_all(owner, access::grant(r.list, stranger.member(), access_rights::read, r.keys_of(owner))).ok());
  BOOST_TEST((r.keys_of(stranger).epochs() == std::vector<uint32_t>{1, 2, 3}));
  // Revoking a relay does not rotate (it never had a key).
  BOOST_REQUIRE(r.write_all(owner, access::revoke(r.list, relay.id())).ok());
  BOOST_TEST(r.list.epoch() == 3u);
  BOOST_TEST((access::revoke(r.list, owner.id()).error().code == errc::invalid_argument));
  BOOST_TEST((access::revoke(r.list, node_id{1, 2}).error().code == errc::invalid_argument));
  auto again = access::revoke(r.list, writer.id());  // removed above: nothing to take
  BOOST_REQUIRE(!again.ok());
  BOOST_TEST((again.error().code == errc::invalid_argument));
}

BOOST_AUTO_TEST_CASE(forged_access_writes_are_refused) {
  create_and_grant();
  // A writer (not admin) tries to make itself admin, or to add a friend.
  blaze::write self_promote;
  self_promote.k = blaze::write::kind::update;
  self_promote.collection = "_access";
  self_promote.record = writer.id();
  self_promote.fields = {{"rights", value{"admin"}}};
  forbidden(r.receive(writer.id(), r.make(writer, self_promote)), "is not an admin of database");
  auto friend_grant = access::grant(r.list, stranger.member(), access_rights::read_write, r.keys_of(writer));
  forbidden(r.write_all(writer, friend_grant), "is not an admin");
  forbidden(r.write_all(relay, access::revoke(r.list, writer.id())), "(rights relay)");
  BOOST_TEST(r.list.can_write(writer.id()));
  BOOST_TEST(!r.list.may_store(stranger.id()));

  // Even an admin cannot: change the owner, demote the owner, switch
  // encryption off, put another node's key in a member record, add unknown
  // fields, delete records, or seal the access list.
  auto by_admin = [&](record_id rec_id, value_map fields) {
    blaze::write w;
    w.k = r.records.count(rec_id) ? blaze::write::kind::update : blaze::write::kind::insert;
    w.collection = "_access";
    w.record = rec_id;
    w.fields = std::move(fields);
    return r.receive(admin.id(), r.make(admin, w));
  };
  forbidden(by_admin(access::database_record, {{"owner", value{bytes{std::string(admin.sign.public_key().view())}}}}),
            "never changes");
  forbidden(by_admin(owner.id(), {{"rights", value{"r"}}}), "stays admin");
  forbidden(by_admin(access::database_record, {{"sealed", value{false}}}), "stays so");
  forbidden(by_admin(stranger.id(), {{"ed25519", value{bytes{std::string(admin.sign.public_key().view())}}}}),
            "holds another node's key");
  forbidden(by_admin(stranger.id(), {{"rights", value{"superuser"}}}), "rights must be one of");
  forbidden(by_admin(stranger.id(), {{"key.01", value{bytes{std::string(85, 'x')}}}}), "has no field 'key.01'");
  forbidden(by_admin(stranger.id(), {{"key.2", value{bytes{std::string(40, 'x')}}}}), "85-byte wrapped key");
  forbidden(by_admin(access::database_record, {{"name", value{"x"}}}), "has no field 'name'");
  forbidden(by_admin(access::database_record, {{"epoch", value{-1}}}), "epoch must be");
  blaze::write del;
  del.k = blaze::write::kind::remove_record;
  del.collection = "_access";
  del.record = reader.id();
  forbidden(r.receive(admin.id(), r.make(admin, del)), "field sets only");
  auto sealed = *seal_operation(r.make(admin, self_promote), **r.keys_of(admin).sealing_key(r.list), db);
  forbidden(r.receive(admin.id(), sealed), "never sealed");
  // What an admin may do: raise the epoch, grant.
  BOOST_TEST(by_admin(access::database_record, {{"epoch", value{1}}}).ok());
}

BOOST_AUTO_TEST_CASE(nobody_takes_over_a_database_name) {
  // Someone else tries to create the owner's database id first (on a relay
  // that does not hold it yet): refused, whatever key they name.
  replica_of fresh(db);
  forbidden(fresh.write_all(stranger, access::create(access_list("photos"), stranger.member(), true)),
            "is bound to owner");
  BOOST_TEST(fresh.list.empty());
  // Naming the real owner's key from another origin: refused too.
  auto forged = access::create(access_list("photos"), owner.member(), true);
  forbidden(fresh.write_all(stranger, forged), "can only be created by its owner");
  // The builder refuses it up front as well.
  BOOST_TEST((access::create(fresh.list, stranger.member(), true).error().code == errc::invalid_argument));
  // Nothing but the creation is accepted on an empty list.
  forbidden(fresh.receive(stranger.id(), data_op(stranger, fresh.clock + 5, "squat")), "has no access list");
  blaze::write member_first;
  member_first.collection = "_access";
  member_first.record = stranger.id();
  member_first.fields = {{"rights", value{"admin"}}};
  forbidden(fresh.receive(stranger.id(), fresh.make(stranger, member_first)), "first operation must be");
  // The owner creates it; afterwards a second creation by anyone is refused.
  BOOST_REQUIRE(fresh.write_all(owner, access::create(fresh.list, owner.member(), true)).ok());
  forbidden(fresh.write_all(stranger, access::create(access_list("elsewhere"), stranger.member(), true)),
            "is not an admin");

  // A plain (unbound) name is first come, but still only by a node creating
  // it with its own key.
  replica_of plain("notes");
  forbidden(plain.write_all(stranger, access::create(access_list("notes"), owner.member(), true)),
            "can only be created by its owner");
  BOOST_TEST(plain.write_all(stranger, access::create(plain.list, stranger.member(), true)).ok());
  BOOST_TEST((plain.list.owner_id() == stranger.id()));
}

BOOST_AUTO_TEST_CASE(concurrent_rotations_are_detected) {
  create_and_grant();
  BOOST_TEST(r.list.epoch_check().size() == 16u);
  BOOST_TEST(r.list.epoch_check() == access::key_check(db, *r.keys_of(owner).find(1)));
  // Two admins remove two members at once, each from the list as it was:
  // both make an epoch 2, with different keys.
  replica_of other = r;  // the admin's replica, same state
  auto by_owner = access::revoke(r.list, reader.id());
  auto by_admin = access::revoke(other.list, writer.id());
  BOOST_REQUIRE(by_owner.ok());
  BOOST_REQUIRE(by_admin.ok());
  // The owner's writes land, then the admin's, field by field: the reader's
  // record is only in the admin's batch, so the reader keeps the admin's
  // epoch-2 key while the database record names the owner's or the admin's
  // (the later write). Whoever holds a key that is not the current one
  // finds out before sealing with it.
  BOOST_REQUIRE(r.write_all(owner, by_owner).ok());
  BOOST_REQUIRE(r.write_all(admin, by_admin).ok());
  BOOST_TEST(r.list.epoch() == 2u);
  size_t current = 0, stale = 0;
  for (auto* n : {&owner, &admin, &reader, &writer}) {
    auto ring = r.keys_of(*n);
    if (!ring.find(2))
      continue;
    auto k = ring.sealing_key(r.list);
    if (k.ok()) {
      ++current;
      BOOST_TEST(access::key_check(db, **k) == r.list.epoch_check());
    } else {
      ++stale;
      BOOST_TEST((k.error().code == errc::forbidden));
      BOOST_TEST(k.error().message.find("rotated at once") != std::string::npos);
    }
  }
  BOOST_TEST(current >= 1u);
  BOOST_TEST(current + stale >= 2u);
  // One revocation wrapped the new key for the member the other removed:
  // the list says so, and a rotation fixes it.
  BOOST_TEST(r.list.needs_rotation());
  BOOST_REQUIRE(r.write_all(owner, access::rotate(r.list)).ok());
  BOOST_TEST(r.list.epoch() == 3u);
  BOOST_TEST(!r.list.needs_rotation());
  BOOST_TEST(r.keys_of(reader).find(3) == nullptr);
  BOOST_TEST(r.keys_of(writer).find(3) == nullptr);
  BOOST_TEST(r.keys_of(owner).sealing_key(r.list).ok());
  BOOST_TEST(r.keys_of(admin).sealing_key(r.list).ok());
  BOOST_TEST((access::rotate(access_list("x")).error().code == errc::invalid_argument));
}

BOOST_AUTO_TEST_CASE(keyring_reports_bad_wrapped_keys) {
  create_and_grant();
  // A wrapped key made for the database under another id does not unwrap:
  // reported, the other epochs still unlock.
  auto other = crypto::wrap(*r.keys_of(owner).find(1), reader.exchange.public_key(), "elsewhere");
  BOOST_REQUIRE(other.ok());
  access_list copy = r.list;
  value_map doc = r.records[reader.id()].view();
  doc["key.1"] = value{bytes{*other}};
  copy.put(reader.id(), doc);
  auto ring = keyring::unlock(copy, reader.id(), reader.exchange);
  BOOST_TEST(ring.empty());
  BOOST_REQUIRE(ring.problems().size() == 1u);
  BOOST_TEST(ring.problems()[0].find("key.1") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
