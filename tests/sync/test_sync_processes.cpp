// Sync across real processes: a relay (`blazedb serve`) and device processes
// (examples/devices, `devices device`) over TCP, TLS, WebSocket and wss on
// loopback; a relay killed and restarted mid-sync; partial sync; a late
// joiner; and bad input sent to the relay over a raw socket.
#define BOOST_TEST_MODULE sync_processes
#include "../common/test_support.hpp"
#include "../common/tls_certs.hpp"
#include "print.hpp"
#include "core/crypto/hash_chain.hpp"
#include "core/sync_codec.hpp"
#include "examples/devices/child_process.hpp"
#include "runtime/authenticator.hpp"
#include "runtime/node.hpp"

#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <set>
#include <thread>

using namespace blaze;
using namespace blaze::test;
using blaze::demo::child_process;
using json = nlohmann::json;
using namespace std::chrono_literals;

namespace {

struct relay_proc {
  std::unique_ptr<child_process> p;
  std::string url;
  uint16_t port = 0;
};

relay_proc start_relay(const std::filesystem::path& data, const std::string& listen_flag = "--listen",
                       const std::string& at = "127.0.0.1:0", const tls_files* tls = nullptr) {
  std::vector<std::string> argv{BLAZE_CLI_PATH, "--data", data.string(), "serve", listen_flag, at};
  if (tls)
    argv.insert(argv.end(), {"--tls-cert", tls->cert.string(), "--tls-key", tls->key.string()});
  relay_proc r;
  r.p = std::make_unique<child_process>(argv);
  auto line = r.p->read_line(20s);
  BOOST_REQUIRE_MESSAGE(line && line->rfind("listening on ", 0) == 0, "relay did not start: " << line.value_or("-"));
  r.url = line->substr(13);
  r.port = static_cast<uint16_t>(std::stoi(r.url.substr(r.url.rfind(':') + 1)));
  return r;
}

struct device {
  std::string name;
  std::unique_ptr<child_process> p;

  json call(const json& cmd, std::chrono::milliseconds timeout = 60s) {
    p->write_line(cmd.dump());
    auto line = p->read_line(timeout);
    BOOST_REQUIRE_MESSAGE(line, name << ": no answer to " << cmd.dump());
    auto r = json::parse(*line);
    BOOST_REQUIRE_MESSAGE(r.value("ok", false), name << ": " << cmd.dump() << ": " << r.dump());
    return r;
  }
  std::string digest() { return call({"digest"})["digest"].get<std::string>(); }
};

device start_device(const std::string& name, const std::filesystem::path& data, const std::string& url,
                    std::vector<std::string> extra = {}) {
  std::vector<std::string> argv{BLAZE_DEVICES_PATH, "device", "--data", data.string(), "--url", url};
  argv.insert(argv.end(), extra.begin(), extra.end());
  device d{name, std::make_unique<child_process>(argv)};
  auto ready = d.p->read_line(30s);
  BOOST_REQUIRE_MESSAGE(ready && ready->find("ready") != std::string::npos, name << " did not start");
  return d;
}

// ---- sharing (docs/security.md §4) ----------------------------------------------
// A device process opens "bugs" as its own when it is missing: the first
// device (the owner) creates it sealed, and shares it with the relay (as a
// relay: store and forward, no key) and with every other device (rw), whose
// data directories the test prepares before their processes start.

// `_access` records of "bugs" shared with `others` nodes besides its owner:
// the database record, the owner's member record (both written at
// creation) and one member record per node shared with.
constexpr int access_records(int others) { return 2 + others; }

/// A node's member key as `blazedb id --json` prints it (the node's
/// identity is made when its data directory is first opened): how the
/// owner learns the relay's.
std::string cli_member_key(const std::filesystem::path& data) {
  child_process id({BLAZE_CLI_PATH, "--data", data.string(), "id", "--json"});
  auto line = id.read_line(20s);
  BOOST_REQUIRE_MESSAGE(line, "blazedb id printed nothing");
  auto key = json::parse(*line).at("member_key").get<std::string>();
  BOOST_REQUIRE(crypto::member_key::parse(key).ok());
  return key;
}

/// Prepares a member device's data directory before its process starts:
/// opens its node (which makes its identity) and creates `db` there to join
/// another node's database (its list arrives through sync; the device
/// program would otherwise create its own). Returns the node's member key.
std::string prepare_member(const std::filesystem::path& data, const std::string& db = "bugs") {
  node_options o;
  o.data_dir = data;
  auto n = node::open(o);
  BOOST_REQUIRE_MESSAGE(n.ok(), "node::open(" << data.string() << "): " << (n ? "" : n.error().to_string()));
  database_options join;
  join.as = new_database::join;
  auto d = (*n)->open_database(db, join);
  BOOST_REQUIRE_MESSAGE(d.ok(), "joining " << db << ": " << (d ? "" : d.error().to_string()));
  auto st = d->status_info();
  BOOST_REQUIRE(st.ok() && st->access == "joining");
  return member_key_of((*n)->ident()).to_string();
}

/// The owner device shares "bugs" with the relay (relay rights) and with
/// each member device (read_write).
void share_all(device& owner, const std::string& relay_key, const std::vector<std::string>& members) {
  BOOST_TEST(owner.call({"share", relay_key, "relay"})["sealed"].get<bool>());
  for (auto& m : members)
    owner.call({"share", m, "rw"});
}

/// Waits until a member device's access list arrived: it writes only then.
void wait_joined(device& d, int rounds = 300) {
  for (int i = 0; i < rounds; ++i) {
    if (d.call({"security"})["access"].get<std::string>() != "joining")
      return;
    d.call({"wait", 0.1});
    std::this_thread::sleep_for(20ms);
  }
  BOOST_FAIL(d.name << " never got the access list: " << d.call({"status"}).dump());
}

// Waits until every device reports the same digest.
std::string converge(std::vector<device*> devs, int rounds = 300) {
  for (int i = 0; i < rounds; ++i) {
    for (auto* d : devs)
      d->call({"wait", 10});
    std::set<std::string> ds;
    for (auto* d : devs)
      ds.insert(d->digest());
    if (ds.size() == 1)
      return *ds.begin();
    std::this_thread::sleep_for(20ms);
  }
  BOOST_FAIL("devices did not converge");
  return {};
}

void two_devices_converge(const std::string& listen_flag, const tls_files* tls, const std::string& scheme) {
  temp_dir tmp;
  auto relay_key = cli_member_key(tmp / "relay");
  auto b_key = prepare_member(tmp / "b");
  auto relay = start_relay(tmp / "relay", listen_flag, "127.0.0.1:0", tls);
  BOOST_TEST(relay.url.rfind(scheme + "://", 0) == 0, relay.url);
  std::vector<std::string> extra;
  if (tls)
    extra = {"--ca", tls->ca.string()};
  auto a = start_device("a", tmp / "a", relay.url, extra);
  auto b = start_device("b", tmp / "b", relay.url, extra);
  share_all(a, relay_key, {b_key});
  wait_joined(b);
  for (int i = 0; i < 20; ++i) {
    a.call({"put", "bugs", "a" + std::to_string(i), {{"n", i}}});
    b.call({"put", "bugs", "b" + std::to_string(i), {{"n", i}}});
  }
  a.call({"set", "bugs", "a1", "title", "from a"});
  converge({&a, &b});
  BOOST_TEST(a.call({"digest"})["records"].get<int>() == 40 + access_records(2));  // the relay and b
}

} // namespace

BOOST_AUTO_TEST_CASE(devices_converge_over_tcp) { two_devices_converge("--listen", nullptr, "tcp"); }
BOOST_AUTO_TEST_CASE(devices_converge_over_websocket) { two_devices_converge("--ws", nullptr, "ws"); }

namespace {
/// Runs a shell command; its exit status and combined output.
std::pair<int, std::string> shell(const std::string& cmd) {
  std::string out;
  FILE* f = ::popen((cmd + " 2>&1").c_str(), "r");
  BOOST_REQUIRE(f);
  char buf[4096];
  while (size_t n = std::fread(buf, 1, sizeof(buf), f))
    out.append(buf, n);
  int st = ::pclose(f);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}
} // namespace

// A standard client (openssl s_client) against `blazedb serve --tls-cert`:
// TLS 1.3 with a certificate that verifies for the address; TLS 1.2 refused.
BOOST_AUTO_TEST_CASE(a_standard_tls_client_gets_tls13_and_a_verified_certificate) {
  temp_dir certs;
  auto f = make_dev_certs(certs.path());
  temp_dir tmp;
  auto relay = start_relay(tmp / "relay", "--listen", "127.0.0.1:0", &f);
  auto base = "openssl s_client -connect 127.0.0.1:" + std::to_string(relay.port) + " -CAfile " + f.ca.string() +
              " -verify_ip 127.0.0.1 -verify_return_error -brief";
  auto [rc13, out13] = shell(base + " -tls1_3 < /dev/null");
  BOOST_TEST(rc13 == 0, out13);
  BOOST_TEST(out13.find("Protocol version: TLSv1.3") != std::string::npos, out13);
  BOOST_TEST(out13.find("Verification: OK") != std::string::npos, out13);
  auto [rc12, out12] = shell(base + " -tls1_2 < /dev/null");
  BOOST_TEST(rc12 != 0, out12);
  BOOST_TEST(out12.find("Protocol version: TLSv1.2") == std::string::npos, out12);  // no TLS 1.2 session
  // the relay still serves
  auto again = shell(base + " -tls1_3 < /dev/null");
  BOOST_TEST(again.first == 0, again.second);
}

BOOST_AUTO_TEST_CASE(devices_converge_over_tls_and_wss) {
  temp_dir certs;
  auto f = make_dev_certs(certs.path());
  two_devices_converge("--listen", &f, "tls");
  two_devices_converge("--ws", &f, "wss");
}

BOOST_AUTO_TEST_CASE(relay_killed_and_restarted_mid_sync_loses_nothing) {
  temp_dir tmp;
  auto relay_key = cli_member_key(tmp / "relay");
  auto b_key = prepare_member(tmp / "b");
  auto c_key = prepare_member(tmp / "c");  // the late joiner
  auto relay = start_relay(tmp / "relay");
  auto a = start_device("a", tmp / "a", relay.url);
  auto b = start_device("b", tmp / "b", relay.url);
  share_all(a, relay_key, {b_key, c_key});
  wait_joined(b);
  a.call({"probe", 3000, 0});  // 3,000 records as fast as the device writes them
  std::this_thread::sleep_for(50ms);
  relay.p->stop(SIGKILL);  // mid-sync, without warning
  a.call({"probe", 500, 0});
  b.call({"put", "bugs", "while-down", {{"x", 1}}});
  auto again = start_relay(tmp / "relay", "--listen", "127.0.0.1:" + std::to_string(relay.port));
  auto d = converge({&a, &b});
  BOOST_TEST(a.call({"digest"})["records"].get<int>() == 3501 + access_records(3));  // the relay, b and c
  // the restarted relay stored what it relays: a late joiner gets it all from it
  a.call({"quit"});
  b.call({"quit"});
  auto c = start_device("c", tmp / "c", again.url);
  c.call({"wait", 30});
  BOOST_TEST(c.digest() == d);
}

BOOST_AUTO_TEST_CASE(partial_sync_holds_only_its_collections_and_round_trips) {
  temp_dir tmp;
  auto relay_key = cli_member_key(tmp / "relay");
  auto part_key = prepare_member(tmp / "part");
  auto relay = start_relay(tmp / "relay");
  auto full = start_device("full", tmp / "full", relay.url);
  share_all(full, relay_key, {part_key});
  for (int i = 0; i < 10; ++i) {
    full.call({"put", "bugs", "b" + std::to_string(i), {{"n", i}}});
    full.call({"put", "notes", "n" + std::to_string(i), {{"n", i}}});
  }
  full.call({"wait", 20});
  // A partial replica of a shared database syncs its access list too
  // (`_access`, added to every filter by the link): it says who the replica
  // is, what it may write, and holds its content keys.
  auto part = start_device("part", tmp / "part", relay.url, {"--collections", "bugs"});
  auto w = part.call({"wait", 20});
  BOOST_TEST(w["synced"].get<bool>(), w.dump());
  wait_joined(part);
  BOOST_TEST(part.call({"dump", "bugs"})["records"].size() == 10u);
  BOOST_TEST(part.call({"dump", "notes"})["records"].size() == 0u);
  // its own writes reach the full replica
  part.call({"set", "bugs", "b3", "title", "from the partial replica"});
  part.call({"wait", 20});
  bool seen = false;
  for (int i = 0; i < 200 && !seen; ++i) {
    full.call({"wait", 5});
    auto recs = full.call({"dump", "bugs"})["records"];
    for (auto& [id, doc] : recs.items())
      seen = seen || doc.value("title", std::string()) == "from the partial replica";
    if (!seen)
      std::this_thread::sleep_for(20ms);
  }
  BOOST_TEST(seen);
  // and later writes to other collections stay out
  full.call({"put", "notes", "late", {{"x", 1}}});
  full.call({"put", "bugs", "late", {{"x", 1}}});
  full.call({"wait", 20});
  for (int i = 0; i < 200; ++i) {
    part.call({"wait", 5});
    if (part.call({"dump", "bugs"})["records"].size() == 11u)
      break;
    std::this_thread::sleep_for(20ms);
  }
  BOOST_TEST(part.call({"dump", "bugs"})["records"].size() == 11u);
  BOOST_TEST(part.call({"dump", "notes"})["records"].size() == 0u);
}

// ---- bad input over a raw socket ------------------------------------------------

namespace {

class raw_peer {
public:
  explicit raw_peer(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    BOOST_REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0);
    timeval tv{10, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  }
  ~raw_peer() { ::close(fd_); }
  void send_raw(const std::string& bytes) {
    BOOST_REQUIRE(::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) == ssize_t(bytes.size()));
  }
  void send(const sync::envelope& e) { send_raw(sync::frame(sync::encode(e))); }
  /// The next envelope, or nullopt when the relay closed the connection.
  std::optional<sync::envelope> next() {
    for (;;) {
      auto f = reader_.next();
      BOOST_REQUIRE(f.ok());
      if (*f) {
        auto e = sync::decode_envelope(**f);
        BOOST_REQUIRE_MESSAGE(e.ok(), "undecodable envelope from the relay: " << (e ? "" : e.error().to_string()));
        return *e;
      }
      char buf[4096];
      ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0)
        return std::nullopt;
      reader_.feed(std::string_view(buf, size_t(n)));
    }
  }
  /// Reads until an Error arrives; then expects the connection to close.
  sync::error expect_error_then_close() {
    for (;;) {
      auto e = next();
      BOOST_REQUIRE_MESSAGE(e, "the connection closed without an Error");
      if (auto* err = std::get_if<sync::error>(&e->msg)) {
        auto after = next();
        BOOST_TEST(!after.has_value());
        return *err;
      }
    }
  }

private:
  int fd_ = -1;
  sync::frame_reader reader_;
};

sync::hello hello_for(const std::string& db) {
  sync::hello h;
  h.node = node_id{7, 7};
  h.database = db;
  return h;
}

/// A node key for a raw peer, and the authenticated handshake with it
/// (docs/protocol.md §3): Hello, the relay's Welcome (checked), Auth.
struct raw_identity {
  std::shared_ptr<const crypto::signing_key> key;
  node_authenticator auth;
  raw_identity() : key(make()), auth(key) {}
  static std::shared_ptr<const crypto::signing_key> make() {
    auto k = crypto::signing_key::generate();
    BOOST_REQUIRE(k.ok());
    return std::make_shared<const crypto::signing_key>(std::move(*k));
  }
  node_id id() const { return key->id(); }
  /// Appends `ops` (this node's next seqs) to `chain` and signs the range.
  sync::op_range sign(crypto::chain_builder& chain, const std::vector<std::string>& ops) {
    uint64_t after = chain.state().seq;
    for (auto& o : ops)
      chain.append(o);
    auto h = chain.sign_head(*key);
    BOOST_REQUIRE(h.ok());
    return {id(), after, h->seq, std::string(crypto::as_view(h->link)), std::string(h->sig.view()),
            std::string(key->public_key().view())};
  }
  void handshake(raw_peer& p, const std::string& db) {
    sync::hello h;
    h.node = id();
    h.database = db;
    h.public_key = auth.public_key();
    h.challenge = auth.challenge();
    p.send({sync::protocol_version, h});
    auto e = p.next();
    BOOST_REQUIRE_MESSAGE(e && std::holds_alternative<sync::welcome>(e->msg), "no Welcome from the relay");
    auto w = std::get<sync::welcome>(e->msg);
    auto sig = w.signature;
    w.signature.clear();
    BOOST_REQUIRE(auth.verify(w.public_key, sync::handshake_transcript('W', h, w), sig));
    BOOST_REQUIRE(auth.node_of(w.public_key) == w.node);
    p.send({sync::protocol_version, sync::auth{auth.sign(sync::handshake_transcript('A', h, w))}});
  }
};

} // namespace

BOOST_AUTO_TEST_CASE(bad_input_gets_an_error_and_the_relay_keeps_serving) {
  temp_dir tmp;
  auto relay_key = cli_member_key(tmp / "relay");
  auto relay = start_relay(tmp / "relay");
  {  // a frame that is not an envelope
    raw_peer p(relay.port);
    p.send_raw(sync::frame("this is not Cap'n Proto"));
    auto e = p.expect_error_then_close();
    BOOST_TEST(e.code == sync::error_code::corrupt);
  }
  {  // a frame length over the maximum
    raw_peer p(relay.port);
    p.send_raw(std::string("\x7f\xff\xff\xff", 4) + "xx");
    auto e = p.expect_error_then_close();
    BOOST_TEST(e.code == sync::error_code::corrupt);
    BOOST_TEST(e.message.find("maximum") != std::string::npos, e.message);
  }
  {  // an unknown protocol version
    raw_peer p(relay.port);
    sync::envelope env{99, hello_for("bugs")};
    p.send(env);
    auto e = p.expect_error_then_close();
    BOOST_TEST(e.code == sync::error_code::version_mismatch);
  }
  {  // a message out of order: SyncRequest before Hello
    raw_peer p(relay.port);
    p.send({sync::protocol_version, sync::sync_request{"bugs", {}, {}}});
    auto e = p.expect_error_then_close();
    BOOST_TEST(e.code == sync::error_code::unexpected);
  }
  {  // a bad database name
    raw_peer p(relay.port);
    p.send({sync::protocol_version, hello_for("../etc")});
    auto e = p.expect_error_then_close();
    BOOST_TEST(e.code == sync::error_code::unknown_database);
  }
  {  // a Hello without a node key: the peer is not authenticated
    raw_peer p(relay.port);
    p.send({sync::protocol_version, hello_for("nokey")});
    auto e = p.expect_error_then_close();
    BOOST_TEST(e.code == sync::error_code::unauthenticated);
    BOOST_TEST(e.message.find("node key") != std::string::npos, e.message);
  }
  {  // a key that is not the claimed node's
    raw_peer p(relay.port);
    raw_identity me;
    auto h = hello_for("nokey");
    h.public_key = me.auth.public_key();
    h.challenge = me.auth.challenge();
    p.send({sync::protocol_version, h});
    auto e = p.expect_error_then_close();
    BOOST_TEST(e.code == sync::error_code::unauthenticated);
    BOOST_TEST(e.message.find("its key is node " + me.id().to_hex()) != std::string::npos, e.message);
  }
  {  // a forged Auth
    raw_peer p(relay.port);
    raw_identity me;
    sync::hello h = hello_for("nokey");
    h.node = me.id();
    h.public_key = me.auth.public_key();
    h.challenge = me.auth.challenge();
    p.send({sync::protocol_version, h});
    auto w = p.next();
    BOOST_REQUIRE(w && std::holds_alternative<sync::welcome>(w->msg));
    p.send({sync::protocol_version, sync::auth{std::string(64, 'x')}});
    auto e = p.expect_error_then_close();
    BOOST_TEST(e.code == sync::error_code::unauthenticated);
  }
  // a peer that did not prove its key made the relay create nothing
  BOOST_TEST(!std::filesystem::exists(tmp / "relay" / "nokey"));
  {  // data for a database the relay hosts without its access list (made for
     // this session, joining): refused as a whole, nothing stored. (The
     // operation would fail validation too: store tests cover that refusal.)
    raw_peer p(relay.port);
    raw_identity me;
    me.handshake(p, "victim");
    p.send({sync::protocol_version, sync::sync_request{"victim", {}, {}}});
    operation op;
    op.id = dot{me.id(), 1};
    op.collection = std::string(1000, 'c');  // over the collection-name limit
    op.record = record_id{1, 2};
    op.counter = 1;
    crypto::chain_builder chain("victim", me.id());
    auto bytes = encode(op);
    sync::op_batch b{"victim", {me.sign(chain, {bytes})}, {bytes}};
    p.send({sync::protocol_version, b});
    auto e = p.expect_error_then_close();
    BOOST_TEST(e.code == sync::error_code::forbidden);
    BOOST_TEST(e.message.find("joining and has no access list") != std::string::npos, e.message);
    BOOST_TEST(std::filesystem::exists(tmp / "relay" / "victim"));  // created once the peer proved its key
  }
  auto valid_op = [](const node_id& origin, uint64_t seq, int64_t x) {
    operation op;
    op.id = dot{origin, seq};
    op.collection = "bugs";
    op.record = record_id{7, 7};
    op.counter = 1;
    field_op f;
    f.field = "x";
    f.val = value(x);
    op.fields.push_back(f);
    return encode(op);
  };
  {  // a valid operation without its origin's signature: unauthenticated
    raw_peer p(relay.port);
    raw_identity me;
    me.handshake(p, "victim");
    p.send({sync::protocol_version, sync::sync_request{"victim", {}, {}}});
    sync::op_batch b{"victim", {{me.id(), 0, 1}}, {valid_op(me.id(), 1, 1)}};
    p.send({sync::protocol_version, b});
    auto e = p.expect_error_then_close();
    BOOST_TEST(e.code == sync::error_code::unauthenticated);
    BOOST_TEST(e.message.find("signed chain head") != std::string::npos, e.message);
  }
  {  // signed, then altered in transit (a forged operation): refused
    raw_peer p(relay.port);
    raw_identity me;
    me.handshake(p, "victim");
    p.send({sync::protocol_version, sync::sync_request{"victim", {}, {}}});
    crypto::chain_builder chain("victim", me.id());
    auto range = me.sign(chain, {valid_op(me.id(), 1, 1), valid_op(me.id(), 2, 2)});
    sync::op_batch b{"victim", {range}, {valid_op(me.id(), 1, 1), valid_op(me.id(), 2, 666)}};
    p.send({sync::protocol_version, b});
    auto e = p.expect_error_then_close();
    BOOST_TEST(e.code == sync::error_code::refused);
    BOOST_TEST(e.message.find("broken chain") != std::string::npos, e.message);
  }
  {  // signed by this key for another node's dots: refused
    raw_peer p(relay.port);
    raw_identity me, other;
    me.handshake(p, "victim");
    p.send({sync::protocol_version, sync::sync_request{"victim", {}, {}}});
    crypto::chain_builder chain("victim", other.id());
    auto bytes = valid_op(other.id(), 1, 1);
    chain.append(bytes);
    auto h = chain.sign_head(*other.key);
    BOOST_REQUIRE(h.ok());
    // a correct head of `other`'s, presented with `me`'s key
    sync::op_range r{other.id(), 0, 1, std::string(crypto::as_view(h->link)), std::string(h->sig.view()),
                     std::string(me.key->public_key().view())};
    p.send({sync::protocol_version, sync::op_batch{"victim", {r}, {bytes}}});
    auto e = p.expect_error_then_close();
    BOOST_TEST(e.code == sync::error_code::refused);
    BOOST_TEST(e.message.find("not origin") != std::string::npos, e.message);
  }
  // the relay still serves a real device, and stored nothing from the above
  auto b_key = prepare_member(tmp / "b");
  auto v_key = prepare_member(tmp / "v");
  auto a = start_device("a", tmp / "a", relay.url);
  share_all(a, relay_key, {b_key, v_key});
  a.call({"put", "bugs", "ok", {{"x", 1}}});
  BOOST_TEST(a.call({"wait", 20})["synced"].get<bool>());
  auto b = start_device("b", tmp / "b", relay.url);
  b.call({"wait", 20});
  BOOST_TEST(b.digest() == a.digest());
  auto v = start_device("v", tmp / "v", relay.url, {});
  // (device v syncs "bugs"; the "victim" database got no operation)
  a.call({"quit"});
  b.call({"quit"});
  v.call({"quit"});
  relay.p->stop(SIGTERM);
  auto n = std::system((std::string(BLAZE_CLI_PATH) + " --data " + (tmp / "relay").string() +
                        " --db victim status --json > " + (tmp / "victim.json").string())
                         .c_str());
  BOOST_TEST(n == 0);
  std::ifstream f(tmp / "victim.json");
  auto st = json::parse(f);
  BOOST_TEST(st["databases"][0]["operations"].get<int>() == 0);
  // the unsigned, forged and foreign-key batches were counted (the invalid
  // operation was correctly signed: refused by validation, not counted)
  BOOST_TEST(st["databases"][0]["refused_batches"].get<int>() == 3);
  BOOST_TEST(st["databases"][0]["equivocations"].get<int>() == 0);
}
