// Sync over real transports inside one process: two or more nodes with
// their own data directories, connected over TCP, TLS 1.3, WebSocket (plain
// and TLS) on loopback and in-process pipes; convergence is checked by state
// digests. Separate-process tests are in test_sync_processes.cpp.
#define BOOST_TEST_MODULE sync_net
#include "../actors/actor_test_util.hpp"
#include "../common/sharing.hpp"
#include "../common/tls_certs.hpp"

#include <fstream>
#include <iterator>
#include <thread>

using namespace blaze;
using namespace blaze::test;
using namespace std::chrono_literals;

namespace {

// A database a node creates is owned by it, with its access list written at
// creation: the database record and the owner's member record.
constexpr uint64_t creation_ops = 2;  // the access list written at creation (2 operations)
// `_access` records of a database shared with `others` nodes besides its
// owner: the database record, the owner's member record and one per member.
constexpr uint64_t access_records(uint64_t others) { return creation_ops + others; }

template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit = 10s) {
  for (auto end = std::chrono::steady_clock::now() + limit; std::chrono::steady_clock::now() < end;
       std::this_thread::sleep_for(20ms))
    if (pred())
      return true;
  return pred();
}

// Whether the access list of a database opened to join arrived (through
// sync): until then, the node refuses local writes.
bool joined(const database& db, std::chrono::milliseconds limit = 20s) {
  return eventually([&] { return info(db).access != "joining"; }, limit);
}

// Whether `link`'s last error comes to contain `what`.
bool refused_with(sync_handle& link, const std::string& what) {
  std::string last;
  for (int i = 0; i < 200; ++i, std::this_thread::sleep_for(25ms)) {
    last = link.status().at(0).last_error;
    if (last.find(what) != std::string::npos)
      return true;
  }
  BOOST_TEST_MESSAGE("last error: " << last);
  return false;
}

uint64_t digest(const database& db) {
  auto st = db.handles().st.lock();
  BOOST_REQUIRE(st);
  return must(st->digest(), "digest");
}

std::string first_url(const sync_server& s) { return s.endpoints().at(0).to_string(); }

serve_options listen_on(std::string url, net::tls_options tls = {}) {
  serve_options o;
  o.listen = {std::move(url)};
  o.tls = std::move(tls);
  return o;
}

sync_options only(std::string db) {
  sync_options o;
  o.databases = {std::move(db)};
  return o;
}

// Applies the writes an access builder (access::create, grant, revoke)
// makes of the database's current list; every one must succeed.
template <class Make> void change_access(database& db, Make make) {
  auto ws = make(must(db.access()));
  BOOST_REQUIRE_MESSAGE(ws.ok(), (ws.ok() ? std::string() : ws.error().message));
  for (auto& o : must(db.write(writes(ws->begin(), ws->end()))))
    BOOST_REQUIRE_MESSAGE(o.st.ok(), o.st.message);
}

net::tls_options server_tls(const tls_files& f) {
  net::tls_options t;
  t.cert = f.cert;
  t.key = f.key;
  return t;
}

net::tls_options trusting(const std::filesystem::path& ca) {
  net::tls_options t;
  t.ca = ca;
  return t;
}

// Writes on both sides, syncs, and checks both replicas are identical.
void converge_over(const std::string& listen, const net::tls_options& stls, const net::tls_options& client_tls) {
  temp_dir tmp;
  auto relay = open_node(tmp / "relay");
  auto phone = open_node(tmp / "phone");
  auto srv = must(relay->serve(listen_on(listen, stls)), "serve");
  // The serving node writes too: it owns "bugs" (sealed) and shares it with
  // the phone, which joins and writes once the list arrived.
  auto rdb = open_db(*relay, "bugs");
  share(rdb, *phone);
  auto pdb = join(*phone, "bugs");
  for (int i = 0; i < 50; ++i)
    must(rdb.insert("bugs", {{"n", i}, {"by", "relay"}}));
  auto so = only("bugs");
  so.tls = client_tls;
  auto link = must(phone->sync_with(first_url(*srv), so), "sync_with");
  BOOST_REQUIRE_MESSAGE(joined(pdb), "no access list: " << link->status().at(0).last_error);
  for (int i = 0; i < 50; ++i)
    must(pdb.insert("bugs", {{"n", i}, {"by", "phone"}}));
  BOOST_REQUIRE_MESSAGE(eventually([&] { return link->wait_synced(1s) && digest(rdb) == digest(pdb); }, 20s),
                        "not synced: " << link->status().at(0).last_error);
  BOOST_TEST(digest(rdb) == digest(pdb));
  BOOST_TEST(info(pdb).records == 100u + access_records(1));

  // live push: a write on either side arrives without another sync_now
  auto id = must(rdb.insert("bugs", {{"title", "live"}}));
  bool arrived = false;
  for (int i = 0; i < 400 && !arrived; ++i) {
    arrived = pdb.get("bugs", id).ok();
    if (!arrived)
      std::this_thread::sleep_for(10ms);
  }
  BOOST_TEST(arrived);
  // wait_synced covers a write made just before the call: once it returns
  // the peer holds it (it once answered from the status before the commit)
  for (int i = 0; i < 20; ++i) {
    auto w = must(pdb.insert("bugs", {{"i", i}, {"by", "phone, then wait_synced"}}));
    BOOST_REQUIRE(link->wait_synced(10s));
    BOOST_TEST(rdb.get("bugs", w).ok(), "write " << i << " not on the peer after wait_synced");
  }
  auto st = link->status().at(0);
  BOOST_TEST(st.connected);
  const bool tls = listen.rfind("tls:", 0) == 0 || listen.rfind("wss:", 0) == 0;
  BOOST_TEST(st.channel_bound == tls);  // the handshake covered the TLS connection
  BOOST_TEST(st.database == "bugs");
  BOOST_TEST(st.peer == relay->id());
  BOOST_TEST(srv->sessions() == 1u);
}

} // namespace

BOOST_AUTO_TEST_CASE(tcp_sync_converges_and_pushes_live) { converge_over("tcp://127.0.0.1:0", {}, {}); }

BOOST_AUTO_TEST_CASE(websocket_sync_converges) { converge_over("ws://127.0.0.1:0", {}, {}); }

BOOST_AUTO_TEST_CASE(inproc_sync_converges) { converge_over("inproc://relay-test", {}, {}); }

BOOST_AUTO_TEST_CASE(tls_and_wss_sync_converge_with_verified_certificates) {
  temp_dir certs;
  auto f = make_dev_certs(certs.path());
  converge_over("tls://127.0.0.1:0", server_tls(f), trusting(f.ca));
  converge_over("wss://127.0.0.1:0", server_tls(f), trusting(f.ca));
}

BOOST_AUTO_TEST_CASE(tls_client_refuses_an_untrusted_server) {
  temp_dir tmp;
  auto certs = make_dev_certs(tmp / "a");
  auto other = make_dev_certs(tmp / "b");  // a CA the server's certificate is not from
  auto relay = open_node(tmp / "relay");
  auto phone = open_node(tmp / "phone");
  auto srv = must(relay->serve(listen_on("tls://127.0.0.1:0", server_tls(certs))));
  auto so = only("bugs");
  so.tls.ca = other.ca;
  auto link = must(phone->sync_with(first_url(*srv), so));
  BOOST_TEST(!link->wait_synced(1500ms));
  auto st = link->status().at(0);
  BOOST_TEST(!st.open);
  BOOST_TEST(st.last_error.find("TLS") != std::string::npos, st.last_error);
}

BOOST_AUTO_TEST_CASE(three_devices_converge_through_a_relay_and_reconnect) {
  temp_dir tmp;
  auto relay = open_node(tmp / "relay");
  auto srv = must(relay->serve(listen_on("tcp://127.0.0.1:0")));
  auto url = first_url(*srv);
  std::vector<std::unique_ptr<node>> devices;
  std::vector<database> dbs;
  std::vector<std::shared_ptr<sync_handle>> links;
  for (auto name : {"phone", "tablet", "laptop"})
    devices.push_back(open_node(tmp / name));
  // the phone owns "notes" (sealed): the relay stores and forwards it, the
  // tablet and the laptop join
  dbs.push_back(open_db(*devices[0], "notes"));
  share(dbs[0], *relay, access_rights::relay);
  for (size_t i = 1; i < devices.size(); ++i) {
    share(dbs[0], *devices[i]);
    dbs.push_back(join(*devices[i], "notes"));
  }
  for (auto& d : devices)
    links.push_back(must(d->sync_with(url, only("notes"))));
  auto shared = must(dbs[0].insert("notes", {{"title", "shared"}, {"likes", 0}}));
  // "synced" is with the relay: a device can be caught up with it before the
  // relay has the phone's insert, so wait until every device has the record
  bool everywhere = false;
  for (int i = 0; i < 2000 && !everywhere; ++i) {
    everywhere = dbs[1].get("notes", shared).ok() && dbs[2].get("notes", shared).ok();
    if (!everywhere)
      std::this_thread::sleep_for(10ms);
  }
  BOOST_REQUIRE_MESSAGE(everywhere, "links: " << links[0]->status().at(0).last_error << " | "
                                               << links[1]->status().at(0).last_error << " | "
                                               << links[2]->status().at(0).last_error);
  BOOST_REQUIRE(joined(dbs[1]) && joined(dbs[2]));  // the list came before the record
  // every device goes offline and edits the same record concurrently
  for (auto& l : links)
    l->pause();
  for (size_t i = 0; i < dbs.size(); ++i) {
    must(dbs[i].set("notes", shared, "title", value("from " + std::to_string(i))));
    must(dbs[i].insert("notes", {{"offline", static_cast<int64_t>(i)}}));
  }
  for (auto& l : links)
    l->resume();
  // converge: wait until all digests agree (a device may be synced with the
  // relay before the relay has every other device's edits)
  bool same = false;
  for (int i = 0; i < 500 && !same; ++i) {
    for (auto& l : links)
      l->wait_synced(5s);
    same = digest(dbs[0]) == digest(dbs[1]) && digest(dbs[1]) == digest(dbs[2]);
    if (!same)
      std::this_thread::sleep_for(10ms);
  }
  BOOST_TEST(same);
  BOOST_TEST(info(dbs[0]).records == 4u + access_records(3));  // the relay, the tablet, the laptop
  auto a = must(dbs[0].get("notes", shared));
  BOOST_TEST(a == must(dbs[2].get("notes", shared)));
  BOOST_TEST(!must(dbs[0].list_conflicts()).empty());
}

BOOST_AUTO_TEST_CASE(a_relay_closes_idle_databases_and_reopens_them_on_demand) {
  temp_dir tmp;
  auto o = options_for(tmp / "relay");
  o.idle_database_close = std::chrono::milliseconds(300);
  auto relay = must(node::open(o), "open relay");
  auto srv = must(relay->serve(listen_on("tcp://127.0.0.1:0")));
  auto phone = open_node(tmp / "phone");
  auto tablet = open_node(tmp / "tablet");
  std::vector<std::string> names;
  for (int i = 0; i < 20; ++i) {
    names.push_back("db" + std::to_string(i));
    auto db = open_db(*phone, names.back());
    share(db, *relay, access_rights::relay);
    share(db, *tablet);
    must(db.insert("c", {{"i", i}}));
  }
  sync_options so;
  so.databases = names;
  auto link = must(phone->sync_with(first_url(*srv), so));
  BOOST_REQUIRE(link->wait_synced(20s));
  BOOST_TEST(must(relay->open_databases()).size() == 20u);
  link->stop();
  bool closed = false;
  for (int i = 0; i < 300 && !closed; ++i) {
    closed = must(relay->open_databases()).empty();
    if (!closed)
      std::this_thread::sleep_for(10ms);
  }
  BOOST_TEST(closed);
  BOOST_TEST(must(relay->databases()).size() == 20u);  // closed, not gone
  // a device connecting later reopens them and gets what the relay stored
  // (its sync creates them to join)
  auto late = must(tablet->sync_with(first_url(*srv), so));
  BOOST_REQUIRE(late->wait_synced(20s));
  for (auto& n : names)
    BOOST_TEST(info(join(*tablet, n)).records == 1u + access_records(2));  // the relay and the tablet
}

// caf:// runs only through caf::openssl with certificates verified both
// ways: the sync converges between nodes with certificates of one CA, a
// node with a certificate of another CA is refused, and a node cannot even
// enable caf:// without certificates.
BOOST_AUTO_TEST_CASE(caf_remote_actor_sync_converges_over_openssl_only) {
  temp_dir tmp;
  auto certs = make_dev_certs(tmp / "certs");
  auto caf_opts = [&](const std::string& name, const tls_files& f) {
    auto o = options_for(tmp / name);
    o.caf_remote = true;
    o.caf_tls.cert = f.cert;
    o.caf_tls.key = f.key;
    o.caf_tls.ca = f.ca;
    return o;
  };
  auto relay = must(node::open(caf_opts("relay", certs)), "open relay");
  auto phone = must(node::open(caf_opts("phone", certs)), "open phone");
  auto srv = must(relay->serve(listen_on("caf://127.0.0.1:0")), "serve caf");
  auto url = first_url(*srv);
  BOOST_TEST(url.rfind("caf://127.0.0.1:", 0) == 0u, url);
  // the relay node writes too: it owns "bugs" and shares it with the phone
  auto rdb = open_db(*relay, "bugs");
  share(rdb, *phone);
  auto pdb = join(*phone, "bugs");
  for (int i = 0; i < 30; ++i)
    must(rdb.insert("bugs", {{"n", i}}));
  auto link = must(phone->sync_with(url, only("bugs")), "sync_with caf");
  BOOST_REQUIRE_MESSAGE(joined(pdb), "no access list: " << link->status().at(0).last_error);
  for (int i = 0; i < 30; ++i)
    must(pdb.insert("bugs", {{"m", i}}));
  BOOST_REQUIRE_MESSAGE(eventually([&] { return link->wait_synced(1s) && digest(rdb) == digest(pdb); }, 20s),
                        "not synced: " << link->status().at(0).last_error);
  BOOST_TEST(digest(rdb) == digest(pdb));
  BOOST_TEST(link->status().at(0).peer == relay->id());

  // a node whose certificate is from another CA does not get a session
  auto other = make_dev_certs(tmp / "other");
  auto stranger = must(node::open(caf_opts("stranger", other)), "open stranger");
  sync_options quick = only("bugs");
  quick.min_backoff = 50ms;
  quick.max_backoff = 200ms;
  auto refused = must(stranger->sync_with(url, quick), "sync_with caf");
  BOOST_TEST(!refused->wait_synced(3s));
  auto st = refused->status().at(0);
  BOOST_TEST(!st.open);
  BOOST_TEST(!st.last_error.empty());
  BOOST_TEST(info(join(*stranger, "bugs")).records == 0u);
  refused->stop();

  // caf:// without certificates: the node does not open
  auto bare = options_for(tmp / "bare");
  bare.caf_remote = true;
  auto r = node::open(bare);
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().message.find("needs certificates") != std::string::npos, r.error().message);
  // and a node without caf_remote refuses caf:// with a clear error
  auto plain = open_node(tmp / "plain");
  auto p = plain->sync_with(url, only("bugs"));
  BOOST_REQUIRE(!p.ok());
  BOOST_TEST(p.error().message.find("caf_remote") != std::string::npos);
}

// Compaction (docs/protocol.md §5a): devices sync through a relay, the relay
// compacts its log up to what they acknowledged, and a new device joins. The
// new device compacted its own (never synced) log too, so snapshots go both
// ways; its offline writes survive and reach everyone.
//
// The database is plaintext (owned by the phone, access-controlled, not
// encrypted): compaction folds operations into plaintext states and
// snapshots carry them, while a sealed database keeps its log whole
// (sealed_database_syncs_through_a_relay_that_cannot_read_it checks that).
BOOST_AUTO_TEST_CASE(a_late_joiner_catches_up_from_a_snapshot_after_the_relay_compacted) {
  temp_dir tmp;
  auto relay = open_node(tmp / "relay");
  auto srv = must(relay->serve(listen_on("tcp://127.0.0.1:0")));
  auto url = first_url(*srv);
  std::vector<std::unique_ptr<node>> devices;
  std::vector<database> dbs;
  std::vector<std::shared_ptr<sync_handle>> links;
  for (auto name : {"phone", "tablet", "laptop"})
    devices.push_back(open_node(tmp / name));
  database_options plaintext;
  plaintext.as = new_database::plaintext;
  dbs.push_back(must(devices[0]->open_database("notes", plaintext), "open notes"));
  share(dbs[0], *relay, access_rights::relay);
  share(dbs[0], *devices[1]);
  share(dbs[0], *devices[2]);
  constexpr uint64_t list_ops = creation_ops + 3;  // the list as the phone shared it: created, 3 grants
  auto rdb = join(*relay, "notes");
  dbs.push_back(join(*devices[1], "notes"));
  // The laptop syncs only later, after the relay compacted; it learns the
  // list now, out of band: the phone hands it its `_access` operations (all
  // it has written so far) by hand, so it may write offline.
  auto laptop_db = join(*devices[2], "notes");
  BOOST_REQUIRE(info(dbs[0]).versions.get(info(dbs[0]).self) == list_ops);
  exchange(dbs[0], laptop_db);
  BOOST_REQUIRE(info(laptop_db).access == "plaintext");
  auto shared = must(dbs[0].insert("notes", {{"title", "shared"}, {"likes", 0}}));
  must(dbs[0].create_index("notes", "n"));
  for (int i = 0; i < 40; i += 2)
    must(dbs[0].insert("notes", {{"n", i}, {"pad", std::string(200, 'x')}}));
  for (size_t d = 0; d < 2; ++d)
    links.push_back(must(devices[d]->sync_with(url, only("notes"))));
  // the tablet writes once its list arrived
  BOOST_REQUIRE_MESSAGE(joined(dbs[1]), "no access list: " << links[1]->status().at(0).last_error);
  for (int i = 1; i < 40; i += 2)
    must(dbs[1].insert("notes", {{"n", i}, {"pad", std::string(200, 'x')}}));
  auto converged = [&](std::vector<database*> all) {
    for (int i = 0; i < 2000; ++i) {
      bool same = true;
      for (auto* d : all)
        same = same && digest(*d) == digest(rdb);
      if (same)
        return true;
      std::this_thread::sleep_for(10ms);
    }
    return false;
  };
  BOOST_REQUIRE(converged({&dbs[0], &dbs[1]}));
  must(dbs[1].increment("notes", shared, "votes", 2));
  must(dbs[1].add("notes", shared, "tags", "a"));
  BOOST_REQUIRE(converged({&dbs[0], &dbs[1]}));
  for (auto& l : links)
    BOOST_REQUIRE(l->wait_synced(20s));

  // the relay folds what both devices acknowledged into its records
  compact_report rep;
  for (int i = 0; i < 200; ++i) {  // the acks reach the relay's database asynchronously
    rep = must(rdb.compact(), "compact");
    if (rep.peers.size() == 2u && rep.kept == 0u)
      break;
    std::this_thread::sleep_for(10ms);
  }
  BOOST_TEST(rep.peers.size() == 2u);
  BOOST_TEST(rep.kept == 0u);
  auto rst = rdb.handles().st.lock();
  BOOST_REQUIRE(rst);
  BOOST_TEST(rst->base() == rst->versions());

  // the late joiner writes offline, compacts its own log (no known peer:
  // all of it, the list it was handed included), then joins
  dbs.push_back(laptop_db);
  auto& laptop = dbs.back();
  auto mine = must(laptop.insert("notes", {{"title", "offline"}, {"n", 100}}));
  must(laptop.put("notes", shared, {{"title", "laptop's"}}));  // an upsert on a record it does not have yet
  auto lrep = must(laptop.compact(), "compact the laptop");
  BOOST_TEST(lrep.peers.empty());
  BOOST_TEST(lrep.removed == 2u + list_ops);
  links.push_back(must(devices.back()->sync_with(url, only("notes"))));
  BOOST_REQUIRE_MESSAGE(converged({&dbs[0], &dbs[1], &dbs[2]}), "no convergence: "
                                                                   << links.back()->status().at(0).last_error);
  // the laptop holds everything, from a snapshot: it skipped the devices' logs
  auto lst = laptop.handles().st.lock();
  BOOST_REQUIRE(lst);
  BOOST_TEST((lst->versions() == rst->versions()));
  BOOST_TEST(lst->base().get(info(dbs[0]).self) == info(dbs[0]).versions.get(info(dbs[0]).self));
  // its offline writes reached the others (the relay took them from the
  // laptop's snapshot, and the devices from the relay's, as the relay now
  // lacks the laptop's operations in its log)
  BOOST_TEST(must(dbs[0].get("notes", mine)).at("n") == value(100));
  auto doc = must(dbs[0].get("notes", shared));
  BOOST_TEST(doc.at("votes") == value(2));
  BOOST_TEST(doc.at("title") == value("laptop's"));  // the later write
  BOOST_TEST(doc.at("tags") == value(value_array{value("a")}));
  BOOST_TEST(info(laptop).records == 42u + access_records(3));  // the relay, the tablet, the laptop
  // queries by the index the snapshot declared
  query_stats how;
  auto rows = must(laptop.query("notes").where("n", cmp::ge, 0).run(&how));
  BOOST_TEST(how.used_index);
  BOOST_TEST(rows.size() == 41u);
  // and live sync continues after the snapshot
  auto late = must(dbs[1].insert("notes", {{"title", "after"}}));
  bool arrived = false;
  for (int i = 0; i < 1000 && !arrived; ++i) {
    arrived = laptop.get("notes", late).ok();
    if (!arrived)
      std::this_thread::sleep_for(10ms);
  }
  BOOST_TEST(arrived);
}

// Access control (docs/security.md §4.3): the owner's signed, replicated
// `_access` list decides who may pull and push, on the relay and on devices.
// The database is plaintext (access-controlled, not encrypted) so the relay
// holds readable records (it has the writer's note below); what sealing
// adds is the next test's.
BOOST_AUTO_TEST_CASE(access_list_admits_members_and_refuses_strangers_and_read_only_writes) {
  temp_dir tmp;
  auto relay = open_node(tmp / "relay");
  auto srv = must(relay->serve(listen_on("tcp://127.0.0.1:0")));
  auto url = first_url(*srv);
  auto owner = open_node(tmp / "owner");
  auto writer = open_node(tmp / "writer");
  auto reader = open_node(tmp / "reader");
  auto stranger = open_node(tmp / "stranger");
  database_options plaintext;
  plaintext.as = new_database::plaintext;
  auto odb = must(owner->open_database("club", plaintext), "open club");
  BOOST_TEST(must(odb.access()).members().size() == 1u);  // the owner's, from creation
  share(odb, *relay, access_rights::relay);
  share(odb, *writer, access_rights::read_write);
  // the reader may write at first: it is lowered to read below, after a
  // write it made offline
  share(odb, *reader, access_rights::read_write);
  BOOST_TEST(must(odb.access()).members().size() == 4u);
  auto first = must(odb.insert("notes", {{"by", "owner"}}));
  auto olink = must(owner->sync_with(url, only("club")));
  BOOST_REQUIRE(olink->wait_synced(10s));

  // a member with rw: pulls everything, and its writes reach the owner
  auto wdb = join(*writer, "club");
  auto wlink = must(writer->sync_with(url, only("club")));
  BOOST_REQUIRE(wlink->wait_synced(10s));
  BOOST_TEST(wdb.get("notes", first).ok());
  BOOST_REQUIRE(joined(wdb));
  auto second = must(wdb.insert("notes", {{"by", "writer"}}));
  bool arrived = false;
  for (int i = 0; i < 200 && !arrived; ++i, std::this_thread::sleep_for(25ms))
    arrived = odb.get("notes", second).ok();
  BOOST_TEST(arrived);

  // a read-only member: pulls, but its own writes are refused — by the
  // relay, for a write made offline before it learnt it was lowered to read,
  // and by its own node once it holds the new list
  auto rdb = join(*reader, "club");
  auto rlink = must(reader->sync_with(url, only("club")));
  bool pulled = false;
  for (int i = 0; i < 200 && !pulled; ++i, std::this_thread::sleep_for(25ms))
    pulled = rdb.get("notes", first).ok();
  BOOST_TEST(pulled);
  BOOST_REQUIRE(joined(rdb));
  rlink->pause();
  auto third = must(rdb.insert("notes", {{"by", "reader"}}));  // offline, under its list of then
  share(odb, *reader, access_rights::read);
  auto on_relay = join(*relay, "club");  // the relay's replica (its sync sessions created it)
  BOOST_REQUIRE(eventually([&] { return must(on_relay.access()).rights_of(reader->id()) == access_rights::read; }));
  rlink->resume();
  BOOST_TEST(refused_with(*rlink, "may not write"));
  BOOST_REQUIRE(eventually([&] { return !must(rdb.access()).can_write(reader->id()); }));
  auto later = rdb.insert("notes", {{"by", "reader, again"}});
  BOOST_REQUIRE(!later.ok());
  BOOST_TEST((later.error().code == errc::forbidden));
  // a stranger: refused before anything is sent to it
  auto sdb = join(*stranger, "club");
  auto slink = must(stranger->sync_with(url, only("club")));
  BOOST_TEST(refused_with(*slink, "is not a member"));
  BOOST_TEST(!sdb.get("notes", first).ok());
  BOOST_TEST(info(sdb).access == "joining");  // not even the list
  // the read-only member's write is nowhere else
  std::this_thread::sleep_for(200ms);
  BOOST_TEST(!odb.get("notes", third).ok());
  BOOST_TEST(!wdb.get("notes", third).ok());
  BOOST_TEST(!on_relay.get("notes", third).ok());
  BOOST_TEST(on_relay.get("notes", second).ok());
  BOOST_TEST(must(on_relay.status_info()).records == 7u);  // 2 notes, the database record, 4 members
}

// Two nodes that each created "bugs" own two different access lists, each
// admitting only its owner: the one accepting refuses the other (forbidden),
// the dialing one withholds, and neither database gains the other's
// operations. (The second one should have joined.)
BOOST_AUTO_TEST_CASE(two_owners_of_one_name_refuse_to_sync) {
  temp_dir tmp;
  auto relay = open_node(tmp / "relay");
  auto srv = must(relay->serve(listen_on("tcp://127.0.0.1:0")));
  auto phone = open_node(tmp / "phone");
  auto rdb = open_db(*relay, "bugs");
  auto pdb = open_db(*phone, "bugs");
  auto on_relay = must(rdb.insert("bugs", {{"by", "relay"}}));
  auto on_phone = must(pdb.insert("bugs", {{"by", "phone"}}));
  const auto rvv = info(rdb).versions;
  const auto pvv = info(pdb).versions;
  auto so = only("bugs");
  so.min_backoff = 50ms;
  so.max_backoff = 200ms;
  auto link = must(phone->sync_with(first_url(*srv), so));
  BOOST_TEST(refused_with(*link, "forbidden: node " + phone->id().to_hex() + " is not a member of database bugs"));
  BOOST_TEST(!link->wait_synced(500ms));
  std::this_thread::sleep_for(300ms);  // retries: still refused
  BOOST_TEST(link->status().at(0).last_error.find("forbidden") == 0u, link->status().at(0).last_error);
  link->stop();
  BOOST_TEST(!rdb.get("bugs", on_phone).ok());
  BOOST_TEST(!pdb.get("bugs", on_relay).ok());
  BOOST_TEST((info(rdb).versions == rvv));
  BOOST_TEST((info(pdb).versions == pvv));
  BOOST_TEST(info(rdb).records == 1u + access_records(0));
  BOOST_TEST(info(pdb).records == 1u + access_records(0));
  // each list is still its own owner's alone
  auto rl = must(rdb.access());
  auto pl = must(pdb.access());
  BOOST_TEST(rl.members().size() == 1u);
  BOOST_TEST(pl.members().size() == 1u);
  BOOST_TEST(rl.is_admin(relay->id()));
  BOOST_TEST(!rl.may_store(phone->id()));
  BOOST_TEST(pl.is_admin(phone->id()));
  BOOST_TEST(!pl.may_store(relay->id()));
}

// A relay that hosts a database before its access list exists takes no data
// without the list: a peer pushing operations of a database it holds with no
// list (a store made without one) is refused, and the relay stores nothing
// that the real owner's members would refuse.
BOOST_AUTO_TEST_CASE(a_joining_relay_takes_no_data_without_the_access_list) {
  temp_dir tmp;
  auto relay = open_node(tmp / "relay");
  auto srv = must(relay->serve(listen_on("tcp://127.0.0.1:0")));
  node_id stranger_id;
  {
    auto n = open_node(tmp / "stranger");  // its identity
    stranger_id = n->id();
  }
  {  // "bugs" made directly, without an access list (a node never makes one)
    store_options o;
    o.database_id = "bugs";
    auto st = must(store::open(tmp / "stranger" / "bugs", replica_id(stranger_id, "bugs"), o, nullptr));
    BOOST_TEST(must(st->access()).empty());
  }
  auto stranger = open_node(tmp / "stranger");
  auto sdb = open_db(*stranger, "bugs");
  BOOST_TEST(info(sdb).access == "open");
  must(sdb.insert("bugs", {{"title", "injected"}}));
  auto so = only("bugs");
  so.min_backoff = 50ms;
  so.max_backoff = 200ms;
  auto link = must(stranger->sync_with(first_url(*srv), so));
  BOOST_TEST(refused_with(*link, "is joining and has no access list yet"), link->status().at(0).last_error);
  link->stop();
  auto on_relay = join(*relay, "bugs");  // the session created it, joining
  BOOST_TEST(info(on_relay).access == "joining");
  BOOST_TEST(info(on_relay).versions.total() == 0u);
}

namespace {

// Whether any file under `dir` (WAL, SST, MANIFEST, ...) holds any 8 bytes
// in a row of `canary`. Records are packed Cap'n Proto, which keeps each
// 8-byte word of a text whole but may split it at word boundaries: a canary
// of 16 bytes or more always leaves one of its windows intact.
bool directory_contains(const std::filesystem::path& dir, const std::string& canary) {
  for (auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file())
      continue;
    std::ifstream in(e.path(), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    for (size_t at = 0; at + 8 <= canary.size(); ++at)
      if (bytes.find(canary.substr(at, 8)) != std::string::npos)
        return true;
  }
  return false;
}

} // namespace

// End-to-end encryption (docs/security.md §3), over TCP through a relay that
// is a member with `relay` rights only: members read and write, the relay
// stores and forwards operations it cannot read, a reader granted after the
// data reads it all, a revoked member cannot read what is sealed after the
// rotation, and the relay's files hold none of the members' plaintext.
BOOST_AUTO_TEST_CASE(sealed_database_syncs_through_a_relay_that_cannot_read_it) {
  temp_dir tmp;
  const std::vector<std::string> canaries = {"canary-3f9a-owner-secret", "canary-77c1-member-secret",
                                             "canary-d2e4-after-rotation"};
  auto relay = open_node(tmp / "relay");
  auto srv = must(relay->serve(listen_on("tcp://127.0.0.1:0")));
  auto url = first_url(*srv);
  auto owner = open_node(tmp / "owner");
  auto member = open_node(tmp / "member");
  auto late = open_node(tmp / "late");
  auto odb = open_db(*owner, "vault");  // sealed: its list is made with it
  auto mk = [](node& n) { return member_key_of(n.ident()); };
  auto owner_ring = [&] { return keyring::unlock(must(odb.access()), owner->id(), *owner->ident().exchange); };
  auto change = [&](auto make) { change_access(odb, make); };
  BOOST_TEST(must(odb.access()).is_sealed());
  BOOST_TEST(must(odb.access()).is_admin(owner->id()));
  change([&](const access_list& l) { return access::grant(l, mk(*relay), access_rights::relay, owner_ring()); });
  change([&](const access_list& l) { return access::grant(l, mk(*member), access_rights::read_write, owner_ring()); });
  BOOST_TEST(must(odb.access()).is_sealed());
  auto secret = must(odb.insert("notes", {{"text", canaries[0]}, {"n", 1}}));
  BOOST_TEST((must(odb.get("notes", secret)).at("text") == value(canaries[0])));  // the owner reads its own
  auto ostat = must(odb.status_info());
  BOOST_TEST(ostat.access == "sealed");
  BOOST_TEST(ostat.key_epochs.size() == 1u);
  // the log of a sealed database is kept whole
  auto compacted = must(odb.compact());
  BOOST_TEST(compacted.removed == 0u);
  BOOST_TEST(!compacted.kept_because.empty());

  auto olink = must(owner->sync_with(url, only("vault")));
  BOOST_REQUIRE_MESSAGE(olink->wait_synced(10s), "owner not synced: " << olink->status().at(0).last_error);

  // the member reads the owner's note through the relay, and writes back
  auto mdb = join(*member, "vault");
  auto mlink = must(member->sync_with(url, only("vault")));
  BOOST_REQUIRE_MESSAGE(eventually([&] { return mdb.get("notes", secret).ok(); }),
                        "member cannot read: " << mlink->status().at(0).last_error);
  BOOST_TEST((must(mdb.get("notes", secret)).at("text") == value(canaries[0])));
  auto reply = must(mdb.insert("notes", {{"text", canaries[1]}}));
  BOOST_REQUIRE(eventually([&] { return odb.get("notes", reply).ok(); }));
  BOOST_TEST((must(odb.get("notes", reply)).at("text") == value(canaries[1])));

  // the relay holds every operation, reads none
  auto on_relay = join(*relay, "vault");  // its sync sessions created it
  BOOST_REQUIRE(eventually([&] { return must(on_relay.status_info()).versions == must(odb.status_info()).versions; }));
  auto rstat = must(on_relay.status_info());
  BOOST_TEST(rstat.access == "sealed");
  BOOST_TEST(rstat.key_epochs.empty());
  BOOST_TEST(rstat.unopened == 2u);
  BOOST_TEST(!on_relay.get("notes", secret).ok());
  BOOST_TEST(!on_relay.get("notes", reply).ok());
  BOOST_TEST(rstat.records == 4u);  // `_access` only: the database record and 3 members

  // a reader granted after the data: the sealed operations reach it before
  // its key does, and open when the grant arrives
  change([&](const access_list& l) { return access::grant(l, mk(*late), access_rights::read, owner_ring()); });
  auto ldb = join(*late, "vault");
  auto llink = must(late->sync_with(url, only("vault")));
  BOOST_REQUIRE_MESSAGE(eventually([&] { return ldb.get("notes", reply).ok() && ldb.get("notes", secret).ok(); }),
                        "late reader cannot read: " << llink->status().at(0).last_error);
  BOOST_TEST(must(ldb.status_info()).unopened == 0u);
  BOOST_TEST(digest(ldb) == digest(odb));
  auto denied = ldb.insert("notes", {{"text", "a reader's write"}});
  BOOST_REQUIRE(!denied.ok());
  BOOST_TEST((denied.error().code == errc::forbidden));

  // revoking the member rotates the key, and the relay stops serving it at
  // once: its session is judged again when the list changes ("rights
  // withdrawn"), so the member gets nothing written after its removal (and
  // could not open it: a new epoch). The late reader (still a member) can.
  change([&](const access_list& l) { return access::revoke(l, member->id()); });
  BOOST_TEST(must(odb.access()).epoch() == 2u);
  auto after = must(odb.insert("notes", {{"text", canaries[2]}}));
  BOOST_REQUIRE(eventually([&] { return ldb.get("notes", after).ok(); }));
  BOOST_REQUIRE_MESSAGE(
    eventually([&] { return mlink->status().at(0).last_error.find("forbidden") != std::string::npos; }),
    "the revoked member's link: " << mlink->status().at(0).last_error);
  BOOST_TEST(!mdb.get("notes", after).ok());
  BOOST_TEST(!must(mdb.status_info()).versions.dominates(must(odb.status_info()).versions));
  BOOST_TEST((must(mdb.get("notes", secret)).at("text") == value(canaries[0])));  // what it had, it keeps
  // Its list may be stale (the revocation did not reach it): a write it
  // makes then is refused by the relay and reaches no one.
  auto revoked_write = mdb.insert("notes", {{"text", "after removal"}});
  if (revoked_write.ok()) {
    std::this_thread::sleep_for(500ms);
    BOOST_TEST(!odb.get("notes", *revoked_write).ok());
    BOOST_TEST(!ldb.get("notes", *revoked_write).ok());
  } else {
    BOOST_TEST((revoked_write.error().code == errc::forbidden));
  }

  // the relay's data directory (WAL, SST, MANIFEST...) holds none of the
  // plaintext; a reader's does (which shows the search finds it)
  olink.reset();
  mlink.reset();
  llink.reset();
  srv.reset();
  member.reset();
  late.reset();
  owner.reset();
  relay.reset();
  for (auto* who : {"relay", "owner"}) {  // the memtables into SST files: both are searched
    auto st = must(store::open(tmp / who / "vault", node_id{}, store_options{}, nullptr));
    BOOST_REQUIRE(st->flush().ok());
  }
  for (auto& c : canaries) {
    BOOST_TEST(!directory_contains(tmp / "relay", c), "the relay's files contain " << c);
    BOOST_TEST(directory_contains(tmp / "owner", c), "the owner's files lack " << c);
  }
}

// A member that learnt the access list before the relay was granted: its
// stale list must not lock it out. As the dialing side it withholds its
// data from the relay instead of closing the session, and it accepts the
// relay's batch that carries the relay's own grant (the forwarder is judged
// by the list as the batch leaves it).
BOOST_AUTO_TEST_CASE(a_member_with_a_stale_access_list_catches_up_through_the_relay) {
  temp_dir tmp;
  auto relay = open_node(tmp / "relay");
  auto srv = must(relay->serve(listen_on("tcp://127.0.0.1:0")));
  auto url = first_url(*srv);
  auto owner = open_node(tmp / "owner");
  auto member = open_node(tmp / "member");
  auto odb = open_db(*owner, "club");
  share(odb, *member);
  auto mdb = join(*member, "club");
  {  // the member learns the list (the owner and itself: not the relay) straight from the owner
    auto direct = must(owner->serve(listen_on("tcp://127.0.0.1:0")));
    auto dlink = must(member->sync_with(first_url(*direct), only("club")));
    BOOST_REQUIRE_MESSAGE(joined(mdb), "no access list: " << dlink->status().at(0).last_error);
    dlink->stop();
  }
  BOOST_REQUIRE(must(mdb.access()).members().size() == 2u);
  BOOST_REQUIRE(!must(mdb.access()).may_store(relay->id()));
  // Through the relay, which holds no list yet: the owner and the member,
  // dialing, withhold their data from it (their lists do not admit it)
  // instead of closing their sessions.
  auto mlink = must(member->sync_with(url, only("club")));
  auto olink = must(owner->sync_with(url, only("club")));
  BOOST_REQUIRE(eventually([&] { return mlink->status().at(0).open && olink->status().at(0).open; }));
  std::this_thread::sleep_for(300ms);
  BOOST_TEST(mlink->status().at(0).open, mlink->status().at(0).last_error);
  BOOST_TEST(olink->status().at(0).open, olink->status().at(0).last_error);
  auto on_relay = join(*relay, "club");
  BOOST_TEST(must(on_relay.status_info()).operations == 0u);  // withheld from it
  // the owner grants the relay: the relay forwards the grant and a note to
  // the member, whose list does not admit the relay until that batch
  share(odb, *relay, access_rights::relay);
  auto note = must(odb.insert("notes", {{"text", "for members"}}));
  BOOST_REQUIRE_MESSAGE(eventually([&] { return mdb.get("notes", note).ok(); }),
                        "the member never caught up: " << mlink->status().at(0).last_error);
  BOOST_TEST(must(mdb.access()).may_store(relay->id()));
  BOOST_TEST(must(mdb.access()).can_write(member->id()));
  auto back = must(mdb.insert("notes", {{"text", "from the member"}}));
  BOOST_TEST(eventually([&] { return odb.get("notes", back).ok(); }));
}

// Members that join through a relay after the owner and another member wrote
// far more than one batch (256 KiB): the relay, forwarding, must bring each
// of them the access list and every operation. The owner shared last, so the
// relay's own grant is at the end of the owner's chain; and the member who
// wrote first has a node id below the owner's, so an origin-ordered sync
// would send its data before the list.
BOOST_AUTO_TEST_CASE(members_join_through_a_relay_after_many_batches_of_data) {
  temp_dir tmp;
  auto relay = open_node(tmp / "relay");
  auto srv = must(relay->serve(listen_on("tcp://127.0.0.1:0")));
  auto url = first_url(*srv);
  auto owner = open_node(tmp / "owner");
  // a first member whose node id sorts before the owner's (ids are random)
  std::unique_ptr<node> early;
  for (int i = 0; !early; ++i) {
    auto n = open_node(tmp / ("early" + std::to_string(i)));
    if (n->id() < owner->id())
      early = std::move(n);
  }
  auto late = open_node(tmp / "late");
  auto odb = open_db(*owner, "big");
  constexpr int notes = 1500;  // ~0.5 MB sealed: two batches and more
  auto write_notes = [](database& db, const std::string& by) {
    for (int i = 0; i < notes; i += 100) {
      writes ws;
      for (int j = i; j < i + 100; ++j)
        ws.push_back(make_insert("notes", {{"n", j}, {"by", by}, {"pad", std::string(300, 'x')}}));
      for (auto& o : must(db.write(ws)))
        BOOST_REQUIRE_MESSAGE(o.st.ok(), o.st.message);
    }
  };
  write_notes(odb, "owner");
  share(odb, *early);
  // the early member takes the owner's data straight from it and writes as much
  auto edb = join(*early, "big");
  {
    auto direct = must(owner->serve(listen_on("tcp://127.0.0.1:0")));
    auto dlink = must(early->sync_with(first_url(*direct), only("big")));
    BOOST_REQUIRE_MESSAGE(eventually([&] { return info(edb).versions == info(odb).versions; }, 30s),
                          "the early member did not catch up: " << dlink->status().at(0).last_error);
    write_notes(edb, "early");
    BOOST_REQUIRE(dlink->wait_synced(30s));
    dlink->stop();
  }
  // only now the relay and the late member are invited
  share(odb, *relay, access_rights::relay);
  share(odb, *late, access_rights::read);
  auto olink = must(owner->sync_with(url, only("big")));
  BOOST_REQUIRE_MESSAGE(olink->wait_synced(30s), "owner to relay: " << olink->status().at(0).last_error);
  olink->stop();
  BOOST_REQUIRE(info(odb).records == 2u * notes + access_records(3));

  auto ldb = join(*late, "big");
  auto llink = must(late->sync_with(url, only("big")));
  BOOST_REQUIRE_MESSAGE(eventually([&] { return info(ldb).versions == info(odb).versions; }, 30s),
                        "the late member did not catch up: " << llink->status().at(0).last_error);
  BOOST_TEST(info(ldb).records == 2u * notes + access_records(3));
  BOOST_TEST(info(ldb).unopened == 0u);
  BOOST_TEST(digest(ldb) == digest(odb));
}
