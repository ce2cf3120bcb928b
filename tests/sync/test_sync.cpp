// Unit tests of the sync protocol machine (core/sync_session.hpp) and its
// wire codec (core/sync_codec.hpp).
#define BOOST_TEST_MODULE sync_tests
#include <boost/test/unit_test.hpp>

#include "../core/test_util.hpp"
#include "mem_store.hpp"
#include "print.hpp"

#include "core/sync_codec.hpp"
#include "core/sync_session.hpp"
#include "schema/sync.capnp.h"

#include <capnp/message.h>
#include <capnp/serialize-packed.h>
#include <kj/io.h>

#include <deque>
#include <random>

using namespace blaze;
using namespace blaze::sync;
using blaze::test::mem_store;

namespace {

const node_id A = test::node(0xA), B = test::node(0xB), C = test::node(0xC);

/// `n` operations of `origin` with seq 1..n, each with a field of `pad` bytes.
void fill(mem_store& s, node_id origin, uint64_t n, size_t pad = 40, std::string coll = "c",
          uint64_t first = 1) {
  for (uint64_t i = first; i < first + n; ++i) {
    auto op = test::upsert(origin, i, (1000 + i) << 16, test::rec(i), coll);
    test::with_set(op, "f", value{std::string(pad, static_cast<char>('a' + i % 26))});
    s.commit(op);
  }
}

session_options opts(node_id self, bool initiator) {
  session_options o;
  o.database = "db";
  o.self = self;
  o.initiator = initiator;
  return o;
}

/// Two sessions joined by an ordered link; every envelope goes through the
/// codec and the framing. `hold` queues stay undelivered until released.
struct duplex {
  session& a;
  session& b;
  std::deque<std::string> to_a, to_b;  // framed bytes
  std::vector<envelope> seen_by_a, seen_by_b;

  duplex(session& x, session& y) : a(x), b(y) {}

  void push(std::deque<std::string>& q, const std::vector<envelope>& out, const session& from) {
    for (auto& e : out)
      q.push_back(frame(encode(e, from.compress_to_peer())));
  }
  void start() {
    push(to_b, a.start(), a);
    push(to_a, b.start(), b);
  }
  static envelope unframe(const std::string& f) {
    frame_reader fr;
    fr.feed(f);
    auto p = fr.next();
    BOOST_REQUIRE(p.ok());
    BOOST_REQUIRE(p->has_value());
    auto e = decode_envelope(**p);
    BOOST_REQUIRE(e.ok());
    return *e;
  }
  /// Delivers one message to a (to_a) or b; false when that queue is empty.
  bool step_a() {
    if (to_a.empty())
      return false;
    auto e = unframe(to_a.front());
    to_a.pop_front();
    seen_by_a.push_back(e);
    push(to_b, a.on_message(e), a);
    return true;
  }
  bool step_b() {
    if (to_b.empty())
      return false;
    auto e = unframe(to_b.front());
    to_b.pop_front();
    seen_by_b.push_back(e);
    push(to_a, b.on_message(e), b);
    return true;
  }
  void run(size_t max_steps = 100000) {
    for (size_t i = 0; i < max_steps && (step_a() | step_b()); ++i) {
    }
  }
  void disconnect() {
    to_a.clear();
    to_b.clear();
    a.on_disconnect();
    b.on_disconnect();
  }
};

template <class T> size_t count(const std::vector<envelope>& v) {
  size_t n = 0;
  for (auto& e : v)
    n += std::holds_alternative<T>(e.msg);
  return n;
}

} // namespace

BOOST_AUTO_TEST_SUITE(machine)

BOOST_AUTO_TEST_CASE(handshake_and_empty_sync) {
  mem_store sa, sb;
  session a(sa, opts(A, true)), b(sb, opts(B, false));
  auto h = a.start();
  BOOST_REQUIRE_EQUAL(h.size(), 1u);
  BOOST_TEST(std::holds_alternative<hello>(h[0].msg));
  BOOST_TEST(std::get<hello>(h[0].msg).node == A);
  BOOST_TEST(a.current() == session::state::awaiting_welcome);
  BOOST_TEST(b.start().empty());
  BOOST_TEST(b.current() == session::state::awaiting_hello);
  auto w = b.on_message(h[0]);
  BOOST_REQUIRE_EQUAL(w.size(), 2u);
  BOOST_TEST(std::holds_alternative<welcome>(w[0].msg));
  BOOST_TEST(std::holds_alternative<sync_request>(w[1].msg));
  BOOST_TEST(b.is_open());
  BOOST_TEST(b.peer() == A);
  auto r = a.on_message(w[0]);
  BOOST_REQUIRE_EQUAL(r.size(), 1u);
  BOOST_TEST(std::holds_alternative<sync_request>(r[0].msg));
  BOOST_TEST(a.is_open());
  BOOST_TEST(a.peer() == B);
  // each answers the other's request: nothing to send, so CaughtUp
  auto cu = a.on_message(w[1]);
  BOOST_REQUIRE_EQUAL(cu.size(), 1u);
  BOOST_TEST(std::holds_alternative<caught_up>(cu[0].msg));
  BOOST_TEST(b.on_message(cu[0]).empty());
  BOOST_TEST(b.peer_caught_up());
}

BOOST_AUTO_TEST_CASE(version_mismatch_closes) {
  mem_store sa, sb;
  session b(sb, opts(B, false));
  b.start();
  envelope e{protocol_version + 1, hello{A, "db", true}};
  // the codec reads the version and leaves the body alone
  auto d = decode_envelope(encode(e));
  BOOST_REQUIRE(d.ok());
  BOOST_TEST(d->version == protocol_version + 1);
  BOOST_TEST(std::holds_alternative<std::monostate>(d->msg));
  auto out = b.on_message(*d);
  BOOST_REQUIRE_EQUAL(out.size(), 1u);
  BOOST_REQUIRE(std::holds_alternative<error>(out[0].msg));
  BOOST_TEST(std::get<error>(out[0].msg).code == error_code::version_mismatch);
  BOOST_TEST(b.is_closed());
  // a closed session ignores everything until the next connection
  BOOST_TEST(b.on_message(envelope{protocol_version, hello{A, "db", true}}).empty());
  b.on_disconnect();
  b.start();
  BOOST_TEST(b.on_message(envelope{protocol_version, hello{A, "db", true}}).size() == 2u);
  BOOST_TEST(b.is_open());
}

BOOST_AUTO_TEST_CASE(catch_up_in_several_batches_both_ways) {
  mem_store sa, sb;
  fill(sa, A, 60);
  fill(sb, B, 25);
  auto oa = opts(A, true), ob = opts(B, false);
  oa.max_batch_bytes = ob.max_batch_bytes = 500;
  session a(sa, oa), b(sb, ob);
  duplex l{a, b};
  l.start();
  l.run();
  BOOST_TEST(count<op_batch>(l.seen_by_b) > 5u);
  BOOST_TEST(count<op_batch>(l.seen_by_a) > 2u);
  BOOST_TEST(count<caught_up>(l.seen_by_a) == 1u);
  BOOST_TEST(count<caught_up>(l.seen_by_b) == 1u);
  // CaughtUp comes after the last batch
  size_t last_batch = 0, caught = 0;
  for (size_t i = 0; i < l.seen_by_b.size(); ++i) {
    if (std::holds_alternative<op_batch>(l.seen_by_b[i].msg))
      last_batch = i;
    if (std::holds_alternative<caught_up>(l.seen_by_b[i].msg))
      caught = i;
  }
  BOOST_TEST(caught > last_batch);
  for (auto& e : l.seen_by_b)
    if (auto* bt = std::get_if<op_batch>(&e.msg))
      BOOST_TEST(batch_bytes(*bt) < 500u + 200u);
  BOOST_TEST(sa.r.digest() == sb.r.digest());
  BOOST_TEST((sa.versions() == sb.versions()));
  BOOST_TEST(sb.versions().get(A) == 60u);
  BOOST_TEST(a.sent_ops() == 60u);  // nothing echoed back
  BOOST_TEST(b.sent_ops() == 25u);
  BOOST_TEST(a.in_flight() == 0u);
  BOOST_TEST(a.acknowledged().get(A) == 60u);
}

BOOST_AUTO_TEST_CASE(live_push_after_catch_up) {
  mem_store sa, sb;
  session a(sa, opts(A, true)), b(sb, opts(B, false));
  duplex l{a, b};
  l.start();
  l.run();
  fill(sa, A, 3);
  auto out = a.on_local_commit();
  BOOST_REQUIRE_EQUAL(out.size(), 1u);
  BOOST_TEST(std::get<op_batch>(out[0].msg).ops.size() == 3u);
  l.push(l.to_b, out, a);
  l.run();
  BOOST_TEST(sb.versions().get(A) == 3u);
  BOOST_TEST(a.acknowledged().get(A) == 3u);
  BOOST_TEST(a.on_local_commit().empty());  // nothing new
}

BOOST_AUTO_TEST_CASE(window_pauses_until_acks) {
  mem_store sa, sb;
  fill(sa, A, 100, 90);
  auto oa = opts(A, true);
  oa.max_batch_bytes = 300;
  oa.window_bytes = 1000;
  session a(sa, oa), b(sb, opts(B, false));
  duplex l{a, b};
  l.start();
  // handshake: Hello, Welcome + SyncRequest, SyncRequest
  BOOST_TEST(l.step_b());
  BOOST_TEST(l.step_a());  // Welcome
  BOOST_TEST(l.step_a());  // B's SyncRequest: A sends up to the window
  size_t batches = 0;
  for (auto& f : l.to_b)
    batches += std::holds_alternative<op_batch>(duplex::unframe(f).msg);
  BOOST_TEST(batches >= 3u);
  BOOST_TEST(batches <= 4u);
  BOOST_TEST(a.in_flight() >= 1000u);
  BOOST_TEST(a.in_flight() < 1000u + 400u);
  BOOST_TEST(a.on_local_commit().empty());  // window full: paused
  // B applies everything queued, but its acks are held back: A stays paused
  while (l.step_b()) {
  }
  BOOST_TEST(a.on_local_commit().empty());
  BOOST_TEST(sb.versions().get(A) < 100u);
  // acks arrive: sending resumes, and the whole log gets through
  l.run();
  BOOST_TEST(sb.versions().get(A) == 100u);
  BOOST_TEST(a.in_flight() == 0u);
  BOOST_TEST(sa.r.digest() == sb.r.digest());
}

BOOST_AUTO_TEST_CASE(resume_without_resending_acknowledged) {
  mem_store sa, sb;
  fill(sa, A, 40, 60);
  auto oa = opts(A, true);
  oa.max_batch_bytes = 200;
  session a(sa, oa), b(sb, opts(B, false));
  duplex l{a, b};
  l.start();
  l.step_b();  // Hello
  l.step_a();  // Welcome
  l.step_a();  // SyncRequest: A sends all batches
  l.step_b();  // A's SyncRequest
  // B gets two batches and acks them; the rest is lost with the connection
  int batches = 0;
  while (batches < 2 && !l.to_b.empty()) {
    batches += std::holds_alternative<op_batch>(duplex::unframe(l.to_b.front()).msg);
    l.step_b();
  }
  while (l.step_a()) {
  }
  uint64_t acked = a.acknowledged().get(A);
  BOOST_TEST(acked > 0u);
  BOOST_TEST(acked < 40u);
  BOOST_TEST(sb.versions().get(A) == acked);
  l.disconnect();
  BOOST_TEST(a.acknowledged().get(A) == acked);  // kept across the connection
  uint64_t before = a.sent_ops();
  l.start();
  l.run();
  BOOST_TEST(a.sent_ops() - before == 40u - acked);
  BOOST_TEST(sb.versions().get(A) == 40u);
  BOOST_TEST(sa.r.digest() == sb.r.digest());
  // and after a full sync, a reconnect sends nothing
  before = a.sent_ops();
  l.disconnect();
  l.start();
  l.run();
  BOOST_TEST(a.sent_ops() == before);
  BOOST_TEST(a.is_open());
  BOOST_TEST(b.is_open());
}

BOOST_AUTO_TEST_CASE(partial_sync_by_collection) {
  mem_store sa, sb({"d"});
  fill(sa, A, 10, 20, "c");
  fill(sa, A, 5, 20, "d", 11);
  fill(sa, A, 10, 20, "c", 16);
  fill(sa, C, 4, 20, "c");
  auto oa = opts(A, true), ob = opts(B, false);
  ob.collections = {"d"};
  oa.max_batch_bytes = ob.max_batch_bytes = 100;
  session a(sa, oa), b(sb, ob);
  duplex l{a, b};
  l.start();
  l.run();
  BOOST_TEST(sb.held(A) == 5u);
  BOOST_TEST(sb.held(C) == 0u);
  for (auto& [k, st] : sb.r.records())
    BOOST_TEST(k.first == "d");
  BOOST_TEST(sb.r.records().size() == 5u);
  BOOST_TEST(sb.versions().get(A) == 25u);  // covered: the rest is outside the filter
  BOOST_TEST(sb.versions().get(C) == 4u);
  BOOST_TEST(a.in_flight() == 0u);
  BOOST_TEST(b.peer_caught_up());
  // live: a new "c" op is covered without being sent, a "d" op is sent
  fill(sa, A, 1, 20, "c", 26);
  fill(sa, A, 1, 20, "d", 27);
  l.push(l.to_b, a.on_local_commit(), a);
  l.run();
  BOOST_TEST(sb.held(A) == 6u);
  BOOST_TEST(sb.versions().get(A) == 27u);
  BOOST_TEST(a.in_flight() == 0u);
}

BOOST_AUTO_TEST_CASE(messages_out_of_order_for_the_state) {
  mem_store s;
  fill(s, A, 1);
  op_batch batch{"db", {{A, 0, 1}}, {*s.ops_after({}, {}, 1000).ops.begin()}};
  auto expect_error = [](const std::vector<envelope>& out, error_code code) {
    BOOST_REQUIRE_EQUAL(out.size(), 1u);
    BOOST_REQUIRE(std::holds_alternative<error>(out[0].msg));
    BOOST_TEST(std::get<error>(out[0].msg).code == code);
  };
  {  // OpBatch before the handshake
    mem_store sb;
    session b(sb, opts(B, false));
    b.start();
    expect_error(b.on_message(envelope{protocol_version, batch}), error_code::unexpected);
    BOOST_TEST(b.is_closed());
    BOOST_TEST(sb.held(A) == 0u);
  }
  {  // Ack, SyncRequest, CaughtUp before the handshake
    for (message m : {message{ack{"db", {}}}, message{sync_request{"db", {}, {}}},
                      message{caught_up{"db", {}}}}) {
      mem_store sb;
      session a(sb, opts(A, true));
      a.start();
      expect_error(a.on_message(envelope{protocol_version, m}), error_code::unexpected);
    }
  }
  {  // Hello sent to the initiator, Welcome to the responder
    mem_store sb;
    session a(sb, opts(A, true)), b(sb, opts(B, false));
    a.start();
    b.start();
    expect_error(a.on_message(envelope{protocol_version, hello{B, "db", true}}), error_code::unexpected);
    expect_error(b.on_message(envelope{protocol_version, welcome{A, "db", true}}), error_code::unexpected);
  }
  {  // wrong database
    mem_store sb;
    session b(sb, opts(B, false));
    b.start();
    expect_error(b.on_message(envelope{protocol_version, hello{A, "other", true}}),
                 error_code::unknown_database);
  }
  {  // an Error received closes without answering
    mem_store sb;
    session b(sb, opts(B, false));
    b.start();
    BOOST_TEST(b.on_message(envelope{protocol_version, error{error_code::refused, "no"}}).empty());
    BOOST_TEST(b.is_closed());
    BOOST_TEST(b.last_error().code == error_code::refused);
  }
}

/// An open pair with no traffic pending.
struct open_pair {
  mem_store sa, sb;
  session a{sa, opts(A, true)}, b{sb, opts(B, false)};
  duplex l{a, b};
  open_pair() {
    l.start();
    l.run();
  }
};

BOOST_AUTO_TEST_CASE(rights_withdrawn_mid_session_stop_live_pushes) {
  {  // the accepting side ends the session with forbidden at its next push
    open_pair p;
    fill(p.sb, B, 2);
    p.l.push(p.l.to_a, p.b.on_local_commit(), p.b);
    p.l.run();
    BOOST_TEST(p.sa.versions().get(B) == 2u);
    p.sb.pull_refusal = "node A is not a member";
    ++p.sb.access_gen;
    fill(p.sb, B, 2, 40, "c", 3);
    auto out = p.b.on_local_commit();
    BOOST_REQUIRE_EQUAL(out.size(), 1u);
    BOOST_REQUIRE(std::holds_alternative<error>(out[0].msg));
    BOOST_TEST(std::get<error>(out[0].msg).code == error_code::forbidden);
    BOOST_TEST(p.b.is_closed());
    p.l.push(p.l.to_a, out, p.b);
    p.l.run();
    BOOST_TEST(p.sa.versions().get(B) == 2u);  // nothing after the revocation
  }
  {  // the dialing side withholds, and resumes once the list admits the peer again
    open_pair p;
    fill(p.sa, A, 2);
    p.l.push(p.l.to_b, p.a.on_local_commit(), p.a);
    p.l.run();
    BOOST_TEST(p.sb.versions().get(A) == 2u);
    p.sa.pull_refusal = "node B is not a member";
    ++p.sa.access_gen;
    fill(p.sa, A, 2, 40, "c", 3);
    BOOST_TEST(p.a.on_local_commit().empty());
    BOOST_TEST(p.a.on_tick(1).empty());  // (a ping is not due yet)
    BOOST_TEST(p.a.is_open());
    p.sa.pull_refusal.clear();
    ++p.sa.access_gen;
    auto out = p.a.on_local_commit();
    BOOST_REQUIRE_EQUAL(out.size(), 1u);
    BOOST_TEST(std::get<op_batch>(out[0].msg).ops.size() == 2u);
    p.l.push(p.l.to_b, out, p.a);
    p.l.run();
    BOOST_TEST(p.sb.versions().get(A) == 4u);
  }
  {  // an unchanged list is not judged again at every push
    open_pair p;
    p.sb.pull_refusal = "(a verdict the session must not ask for again)";
    fill(p.sb, B, 1);
    p.l.push(p.l.to_a, p.b.on_local_commit(), p.b);
    p.l.run();
    BOOST_TEST(p.sa.versions().get(B) == 1u);
  }
}

BOOST_AUTO_TEST_CASE(bad_batches) {
  mem_store src;
  fill(src, C, 3);
  auto ops = src.ops_after({}, {}, 1 << 20).ops;
  {  // corrupt operation bytes
    open_pair p;
    auto out = p.b.on_message(envelope{protocol_version, op_batch{"db", {{C, 0, 1}}, {"garbage"}}});
    BOOST_REQUIRE_EQUAL(out.size(), 1u);
    BOOST_TEST(std::get<error>(out[0].msg).code == error_code::corrupt);
    BOOST_TEST(p.sb.held(C) == 0u);
  }
  {  // an operation outside the batch's ranges
    open_pair p;
    auto out = p.b.on_message(envelope{protocol_version, op_batch{"db", {{C, 0, 1}}, {ops[0], ops[1]}}});
    BOOST_TEST(std::get<error>(out[0].msg).code == error_code::corrupt);
  }
  {  // ranges that run backwards
    open_pair p;
    auto out = p.b.on_message(envelope{protocol_version, op_batch{"db", {{C, 2, 1}}, {}}});
    BOOST_TEST(std::get<error>(out[0].msg).code == error_code::corrupt);
  }
  {  // an operation that fails validation is refused
    open_pair p;
    auto bad = test::upsert(C, 1, 1 << 16);
    bad.collection = std::string(1000, 'x');
    auto out = p.b.on_message(envelope{protocol_version, op_batch{"db", {{C, 0, 1}}, {encode(bad)}}});
    BOOST_TEST(std::get<error>(out[0].msg).code == error_code::refused);
    BOOST_TEST(p.b.is_closed());
  }
}

BOOST_AUTO_TEST_CASE(duplicates_and_gaps) {
  mem_store src;
  fill(src, C, 6);
  auto ops = src.ops_after({}, {}, 1 << 20).ops;
  open_pair p;
  envelope first{protocol_version, op_batch{"db", {{C, 0, 2}}, {ops[0], ops[1]}}};
  envelope third{protocol_version, op_batch{"db", {{C, 4, 6}}, {ops[4], ops[5]}}};
  auto out = p.b.on_message(first);
  BOOST_REQUIRE_EQUAL(out.size(), 1u);
  BOOST_TEST(std::get<ack>(out[0].msg).versions.get(C) == 2u);
  // a duplicate changes nothing and is acked again
  out = p.b.on_message(first);
  BOOST_REQUIRE_EQUAL(out.size(), 1u);
  BOOST_TEST(std::get<ack>(out[0].msg).versions.get(C) == 2u);
  BOOST_TEST(p.b.applied_ops() == 2u);
  // a batch after a hole is not applied; the machine re-requests once
  out = p.b.on_message(third);
  BOOST_REQUIRE_EQUAL(out.size(), 2u);
  BOOST_TEST(std::get<ack>(out[0].msg).versions.get(C) == 2u);
  BOOST_TEST(std::get<sync_request>(out[1].msg).versions.get(C) == 2u);
  BOOST_TEST(p.sb.held(C) == 2u);
  out = p.b.on_message(third);
  BOOST_REQUIRE_EQUAL(out.size(), 1u);  // no second request while one is pending
  // an overlapping late batch applies only what is new
  out = p.b.on_message(envelope{protocol_version, op_batch{"db", {{C, 1, 6}}, {ops[1], ops[2], ops[3], ops[4], ops[5]}}});
  BOOST_TEST(std::get<ack>(out[0].msg).versions.get(C) == 6u);
  BOOST_TEST(p.b.applied_ops() == 6u);
  BOOST_TEST(p.sb.r.digest() == src.r.digest());
  // a duplicated handshake message is ignored once open
  BOOST_TEST(p.b.on_message(envelope{protocol_version, hello{A, "db", true}}).empty());
  BOOST_TEST(p.b.is_open());
}

BOOST_AUTO_TEST_CASE(rerequest_after_a_lost_batch) {
  mem_store sa, sb;
  fill(sa, A, 30, 60);
  auto oa = opts(A, true);
  oa.max_batch_bytes = 150;
  session a(sa, oa), b(sb, opts(B, false));
  duplex l{a, b};
  l.start();
  l.step_b();  // Hello
  l.step_a();  // Welcome
  l.step_a();  // SyncRequest: A queues its batches
  // the second batch goes missing; B sees the third after a hole
  size_t seen = 0;
  for (auto i = l.to_b.begin(); i != l.to_b.end(); ++i)
    if (std::holds_alternative<op_batch>(duplex::unframe(*i).msg) && ++seen == 2) {
      l.to_b.erase(i);
      break;
    }
  BOOST_REQUIRE_EQUAL(seen, 2u);
  l.run();
  size_t requests = 0;
  for (auto& e : l.seen_by_a)
    requests += std::holds_alternative<sync_request>(e.msg);
  BOOST_TEST(requests == 2u);  // the handshake's and one re-request
  BOOST_TEST(sb.versions().get(A) == 30u);
  BOOST_TEST(sa.r.digest() == sb.r.digest());
  BOOST_TEST(b.peer_caught_up());
  BOOST_TEST(a.in_flight() == 0u);
}

BOOST_AUTO_TEST_CASE(ping_and_idle_timeout) {
  open_pair p;
  auto o = p.a.on_tick(10'000);
  BOOST_REQUIRE_EQUAL(o.size(), 1u);
  BOOST_TEST(std::holds_alternative<ping>(o[0].msg));
  BOOST_TEST(p.b.on_message(o[0]).empty());
  BOOST_TEST(p.a.on_tick(15'000).empty());
  auto t = p.a.on_tick(60'000);
  BOOST_REQUIRE_EQUAL(t.size(), 1u);
  BOOST_TEST(std::get<error>(t[0].msg).code == error_code::timeout);
  BOOST_TEST(p.a.is_closed());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(codec)

BOOST_AUTO_TEST_CASE(round_trips) {
  version_vector vv;
  vv.set(A, 7);
  vv.set(C, 1ull << 40);
  mem_store s;
  fill(s, A, 3);
  std::vector<message> all = {
    hello{A, "db", true}, welcome{B, "", false}, sync_request{"db", {"c", "d"}, vv},
    sync_request{"db", {}, {}}, op_batch{"db", {{A, 0, 3}}, s.ops_after({}, {}, 1 << 20).ops},
    op_batch{"db", {}, {}}, caught_up{"db", vv}, ack{"db", vv},
    error{error_code::refused, "why"}, ping{~0ull}};
  for (auto& m : all)
    for (bool z : {false, true}) {
      envelope e{protocol_version, m};
      auto bytes = encode(e, z);
      auto d = decode_envelope(bytes);
      BOOST_REQUIRE_MESSAGE(d.ok(), kind_name(m) << ": " << (d.ok() ? "" : d.error().to_string()));
      BOOST_TEST((*d == e), kind_name(m));
    }
}

namespace {
// A sealed operation as the store logs one (the codec treats the box as opaque).
std::string sealed_op_bytes(node_id origin, uint64_t seq, uint64_t counter, std::string coll, size_t box,
                            std::mt19937_64& rng, bool txn = false) {
  operation op;
  op.id = dot{origin, seq};
  op.counter = counter;
  op.collection = std::move(coll);
  op.k = operation::kind::sealed;
  op.sealed_box.resize(box);
  for (auto& c : op.sealed_box)
    c = static_cast<char>(rng());
  if (txn)
    op.txn = txn_tag{id128{1, 2}, {{"db", 1}}};
  return encode(op);
}
} // namespace

BOOST_AUTO_TEST_CASE(sealed_batches_travel_in_the_compact_form) {
  std::mt19937_64 rng(11);
  std::vector<std::string> ops;
  // two origins interleaved, two collections, timestamps that go back and forth
  for (uint64_t i = 1; i <= 500; ++i)
    ops.push_back(sealed_op_bytes(i % 3 ? A : C, i, (1000 + i / 7) << 16 | (i % 5), i % 2 ? "bugs" : "notes", 69, rng));
  envelope e{protocol_version, op_batch{"db", {{A, 0, 500}}, ops}};
  for (bool z : {false, true}) {
    auto bytes = encode(e, z);
    auto d = decode_envelope(bytes);
    BOOST_REQUIRE_MESSAGE(d.ok(), (d.ok() ? std::string() : d.error().to_string()));
    BOOST_TEST((*d == e));  // the very bytes each operation was logged as
    // 69-byte boxes: the compact form costs a few bytes more per operation
    double per_op = double(bytes.size()) / ops.size();
    BOOST_TEST_MESSAGE("compact sealed batch: " << per_op << " bytes per operation (zstd " << z << ")");
    BOOST_TEST(per_op < 69 + 12);
  }
  // an operation with a transaction tag, or not sealed: the ordinary form, still exact
  auto mixed = ops;
  mixed.push_back(sealed_op_bytes(A, 501, 1 << 20, "bugs", 69, rng, true));
  envelope m{protocol_version, op_batch{"db", {}, mixed}};
  auto d = decode_envelope(encode(m, false));
  BOOST_REQUIRE(d.ok());
  BOOST_TEST((*d == m));
  BOOST_TEST(encode(m, false).size() > encode(e, false).size() + 20 * ops.size());
}

BOOST_AUTO_TEST_CASE(malformed_compact_batches_are_refused) {
  std::mt19937_64 rng(12);
  std::vector<std::string> ops;
  for (uint64_t i = 1; i <= 3; ++i)
    ops.push_back(sealed_op_bytes(A, i, i << 16, "c", 40, rng));
  auto good = encode(envelope{protocol_version, op_batch{"db", {}, ops}}, false);
  BOOST_REQUIRE(decode_envelope(good).ok());
  // Cut anywhere, or a byte changed anywhere: refused or decoded, never a crash;
  // a decoded batch with changed bytes is caught by the chain (sync_auth_tests).
  size_t refused = 0;
  for (size_t i = 0; i < good.size(); ++i) {
    refused += !decode_envelope(std::string_view(good).substr(0, i)).ok();
    for (uint8_t x : {uint8_t{0x01}, uint8_t{0x80}, uint8_t{0xff}}) {
      auto bad = good;
      bad[i] = static_cast<char>(bad[i] ^ x);
      auto d = decode_envelope(bad);
      if (d.ok() && std::holds_alternative<op_batch>(d->msg))
        for (auto& o : std::get<op_batch>(d->msg).ops)
          BOOST_TEST(decode_operation(o).ok());  // whatever decodes is a well-formed operation
    }
  }
  BOOST_TEST(refused == good.size());  // every strict prefix is refused
  // A SealedOps batch built by hand: `n` entries of origin 0, collection 0,
  // seqs 1, 2, ..., timestamp 0, each with a `box`-byte box.
  auto hand_made = [](const std::string& collection, size_t n, size_t box) {
    capnp::MallocMessageBuilder mb;
    auto env = mb.initRoot<schema::Envelope>();
    env.setProtocolVersion(protocol_version);
    auto b = env.initOpBatch();
    b.setDatabase("db");
    auto so = b.initSealed();
    auto o = so.initOrigins(1)[0];
    o.setHi(1);
    o.setLo(2);
    so.initCollections(1).set(0, collection);
    std::string data;
    for (size_t i = 0; i < n; ++i) {
      data += std::string("\x00\x00\x01\x00", 4);  // indexes 0, 0; seq 1 then +1; timestamp 0 then +0
      data.push_back(static_cast<char>(box));
      data += std::string(box, 'b');
    }
    so.setData(capnp::Data::Reader(reinterpret_cast<const kj::byte*>(data.data()), data.size()));
    kj::VectorOutputStream os;
    capnp::writePackedMessage(os, mb);
    auto a = os.getArray();
    return std::string(reinterpret_cast<const char*>(a.begin()), a.size());
  };
  BOOST_TEST(decode_envelope(hand_made("c", 10, 40)).ok());  // the builder is right
  // Short entries naming a long collection must not multiply into gigabytes:
  // what the entries rebuild is bounded like a decompressed batch.
  wire_limits lim;
  lim.max_message = 8 << 20;  // 100,000 rebuilt operations of ~300 bytes: ~30 MB
  auto big = decode_envelope(hand_made(std::string(256, 'c'), 100000, 33), lim);
  BOOST_REQUIRE(!big.ok());
  BOOST_TEST(big.error().message.find("maximum message size") != std::string::npos, big.error().message);
  auto tiny = decode_envelope(hand_made("c", 3, 10));  // under the 33-byte sealing overhead
  BOOST_REQUIRE(!tiny.ok());
  BOOST_TEST(tiny.error().message.find("sealing overhead") != std::string::npos, tiny.error().message);
  BOOST_TEST(!decode_envelope(hand_made(std::string(257, 'c'), 1, 40)).ok());  // collection name too long
}

BOOST_AUTO_TEST_CASE(compression_only_when_smaller) {
  mem_store s;
  fill(s, A, 200, 100);
  envelope e{protocol_version, op_batch{"db", {{A, 0, 200}}, s.ops_after({}, {}, 1 << 22).ops}};
  auto plain = encode(e, false), z = encode(e, true);
  BOOST_TEST(z.size() * 4 < plain.size());
  auto d = decode_envelope(z);
  BOOST_REQUIRE(d.ok());
  BOOST_TEST((*d == e));
  // incompressible (random bytes): sent plain either way
  std::mt19937_64 rng(7);
  std::string noise(300, '\0');
  for (auto& c : noise)
    c = static_cast<char>(rng());
  auto op = test::upsert(A, 1, 1 << 16);
  test::with_set(op, "f", value{bytes{noise}});
  envelope small{protocol_version, op_batch{"db", {{A, 0, 1}}, {encode(op)}}};
  BOOST_TEST(encode(small, true) == encode(small, false));
}

BOOST_AUTO_TEST_CASE(garbage_never_crashes) {
  std::mt19937_64 rng(42);
  mem_store s;
  fill(s, A, 50, 30);
  std::vector<std::string> valid;
  for (bool z : {false, true})
    valid.push_back(encode(envelope{protocol_version, op_batch{"db", {{A, 0, 50}}, s.ops_after({}, {}, 1 << 20).ops}}, z));
  valid.push_back(encode(envelope{protocol_version, sync_request{"db", {"c"}, s.versions()}}));
  size_t ok = 0, bad = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string b;
    if (i % 3 == 0) {
      b.resize(rng() % 200);
      for (auto& c : b)
        c = static_cast<char>(rng());
    } else {
      b = valid[rng() % valid.size()];
      int flips = 1 + rng() % 4;
      for (int f = 0; f < flips; ++f)
        b[rng() % b.size()] = static_cast<char>(rng());
      if (rng() % 4 == 0)
        b.resize(rng() % b.size());
    }
    auto d = decode_envelope(b);
    (d.ok() ? ok : bad)++;
    if (!d.ok())
      BOOST_TEST((d.error().code == errc::corrupt || d.error().code == errc::too_large));
  }
  BOOST_TEST(bad > 0u);
  BOOST_TEST_MESSAGE(ok << " mutated inputs decoded, " << bad << " refused");
}

BOOST_AUTO_TEST_CASE(size_limits) {
  mem_store s;
  fill(s, A, 100, 200);
  envelope e{protocol_version, op_batch{"db", {{A, 0, 100}}, s.ops_after({}, {}, 1 << 22).ops}};
  wire_limits small;
  small.max_message = 4096;
  auto plain = encode(e, false);
  BOOST_TEST(decode_envelope(plain, small).error().code == errc::too_large);
  // compressed below the limit but expanding past it
  auto z = encode(e, true);
  BOOST_REQUIRE(z.size() < small.max_message);
  BOOST_TEST(!decode_envelope(z, small).ok());
  BOOST_TEST(decode_envelope("").error().code == errc::corrupt);
}

BOOST_AUTO_TEST_CASE(framing) {
  auto e1 = encode(envelope{protocol_version, ping{1}});
  auto e2 = encode(envelope{protocol_version, hello{A, "db", true}});
  std::string stream = frame(e1) + frame(e2);
  frame_reader fr(1024);
  // byte by byte
  std::vector<std::string> got;
  for (char c : stream) {
    fr.feed(std::string_view(&c, 1));
    auto p = fr.next();
    BOOST_REQUIRE(p.ok());
    if (p->has_value())
      got.push_back(**p);
  }
  BOOST_REQUIRE_EQUAL(got.size(), 2u);
  BOOST_TEST(got[0] == e1);
  BOOST_TEST(got[1] == e2);
  BOOST_TEST(frame(e1).substr(0, 4) == std::string("\0\0\0", 3) + static_cast<char>(e1.size()));
  frame_reader small(16);
  small.feed(frame(std::string(17, 'x')));
  BOOST_TEST(!small.next().ok());
  frame_reader zero;
  zero.feed(std::string(4, '\0'));
  BOOST_TEST(!zero.next().ok());
}

BOOST_AUTO_TEST_SUITE_END()

// ---- compaction and snapshots (docs/protocol.md §5a) ------------------------

BOOST_AUTO_TEST_SUITE(snapshots)

namespace {

using machine::open_pair;

/// Records with counters, sets and deletes from origin `o` (seq first..),
/// plus an index declaration: states a snapshot must carry exactly.
void fill_rich(mem_store& s, node_id o, uint64_t n, uint64_t first = 1, std::string coll = "c") {
  for (uint64_t i = first; i < first + n; ++i) {
    auto op = test::upsert(o, i, (2000 + i) << 16, test::rec(1 + i % 7), coll);
    test::with_set(op, "f", value{std::string(30, static_cast<char>('a' + i % 26))});
    test::with_increment(op, "n", i % 2 ? std::numeric_limits<int64_t>::max() : -3);
    test::with_add(op, "tags", value{static_cast<int64_t>(i % 3)});
    if (i % 11 == 0)
      op = test::remove_record(o, i, (2000 + i) << 16, {}, test::rec(1 + i % 7), coll);
    if (i % 13 == 0) {
      op = test::upsert(o, i, (2000 + i) << 16, {}, coll);
      op.k = operation::kind::create_index;
      op.index_field = "f";
    }
    s.commit(op);
  }
}

template <class T> std::vector<T> all_of(const std::vector<envelope>& v) {
  std::vector<T> out;
  for (auto& e : v)
    if (auto* m = std::get_if<T>(&e.msg))
      out.push_back(*m);
  return out;
}

} // namespace

BOOST_AUTO_TEST_CASE(a_peer_behind_the_compaction_point_gets_a_snapshot_then_the_log) {
  mem_store sa, sb;
  fill_rich(sa, A, 80);
  fill(sa, C, 10);
  version_vector upto;
  upto.set(A, 50);  // A keeps 51..80 of its own log, and all of C's
  BOOST_TEST(sa.compact(upto) == 50u);
  BOOST_TEST(sa.base().get(A) == 50u);
  BOOST_TEST(sa.versions().get(A) == 80u);  // compaction changes no versions
  auto oa = opts(A, true);
  oa.max_batch_bytes = 300;
  session a(sa, oa), b(sb, opts(B, false));
  duplex l{a, b};
  l.start();
  l.run();
  auto snaps = all_of<snapshot>(l.seen_by_b);
  BOOST_REQUIRE(snaps.size() > 1u);  // chunked by size
  for (size_t i = 0; i < snaps.size(); ++i) {
    BOOST_TEST(snaps[i].chunk == i);
    BOOST_TEST(snaps[i].last == (i + 1 == snaps.size()));
    BOOST_TEST((snaps[i].versions == sa.versions()));
    BOOST_TEST(snaps[i].indexes.empty() == (i != 0));  // declarations in chunk 0
  }
  // the snapshot comes first; the log after its point follows: nothing of A
  // is sent as operations (the snapshot covered all 80), nothing of C either
  size_t first_batch = l.seen_by_b.size(), last_chunk = 0;
  for (size_t i = 0; i < l.seen_by_b.size(); ++i) {
    if (std::holds_alternative<op_batch>(l.seen_by_b[i].msg))
      first_batch = std::min(first_batch, i);
    if (std::holds_alternative<snapshot>(l.seen_by_b[i].msg))
      last_chunk = i;
  }
  BOOST_TEST(last_chunk < first_batch);
  BOOST_TEST(a.sent_ops() == 0u);
  BOOST_TEST(a.sent_snapshots() == 1u);
  BOOST_TEST(b.applied_snapshots() == 1u);
  BOOST_TEST(sb.r.digest() == sa.r.digest());
  BOOST_TEST((sb.versions() == sa.versions()));
  // the receiver cannot serve what it skipped from its log: its base rises
  BOOST_TEST(sb.base().get(A) == 80u);
  BOOST_TEST(sb.base().get(C) == 10u);
  BOOST_TEST(sb.held(A) == 0u);
  BOOST_TEST(a.in_flight() == 0u);
  BOOST_TEST(b.peer_caught_up());
  // every chunk was acknowledged by number
  size_t chunk_acks = 0;
  for (auto& k : all_of<ack>(l.seen_by_a))
    chunk_acks += k.snapshot_chunk != 0;
  BOOST_TEST(chunk_acks == snaps.size());

  // live: new operations arrive as batches, no snapshot again
  fill(sa, A, 2, 40, "c", 81);
  l.push(l.to_b, a.on_local_commit(), a);
  l.run();
  BOOST_TEST(a.sent_snapshots() == 1u);
  BOOST_TEST(sb.versions().get(A) == 82u);
  BOOST_TEST(sb.r.digest() == sa.r.digest());
}

BOOST_AUTO_TEST_CASE(no_snapshot_when_the_peer_holds_what_was_compacted) {
  mem_store sa, sb;
  fill(sa, A, 30);
  session a(sa, opts(A, true)), b(sb, opts(B, false));
  duplex l{a, b};
  l.start();
  l.run();
  BOOST_REQUIRE(sb.versions().get(A) == 30u);
  sa.compact(sa.versions());
  l.disconnect();
  l.start();
  l.run();
  BOOST_TEST(a.sent_snapshots() == 0u);
  BOOST_TEST(sa.snapshots_read == 0u);
}

BOOST_AUTO_TEST_CASE(the_receiver_keeps_and_then_pushes_its_unsynced_writes) {
  mem_store sa, sb;
  fill_rich(sa, A, 40);
  sa.compact(sa.versions());
  fill_rich(sb, B, 25, 1, "c");  // B's own offline writes, on the same records
  auto before = sb.r.digest();
  session a(sa, opts(A, true)), b(sb, opts(B, false));
  duplex l{a, b};
  l.start();
  l.run();
  BOOST_TEST(b.applied_snapshots() == 1u);
  BOOST_TEST(sb.r.digest() != before);
  // B's writes stay in its log (its own origin is not skipped) and reach A
  BOOST_TEST(sb.held(B) == 25u);
  BOOST_TEST(sb.base().get(B) == 0u);
  BOOST_TEST(sa.versions().get(B) == 25u);
  BOOST_TEST(sa.r.digest() == sb.r.digest());
  // the reference: every operation applied to one replica
  mem_store ref;
  fill_rich(ref, A, 40);
  fill_rich(ref, B, 25, 1, "c");
  BOOST_TEST(ref.r.digest() == sa.r.digest());
}

BOOST_AUTO_TEST_CASE(a_disconnect_mid_snapshot_restarts_it) {
  mem_store sa, sb;
  fill_rich(sa, A, 60);
  sa.compact(sa.versions());
  auto oa = opts(A, true);
  oa.max_batch_bytes = 200;
  session a(sa, oa), b(sb, opts(B, false));
  duplex l{a, b};
  l.start();
  // deliver the handshake and a few chunks, then the connection drops
  size_t chunks = 0;
  for (int i = 0; i < 200 && chunks < 3; ++i) {
    if (!l.to_b.empty() && std::holds_alternative<snapshot>(duplex::unframe(l.to_b.front()).msg))
      ++chunks;
    if (!(l.step_b() | l.step_a()))
      break;
  }
  BOOST_REQUIRE(chunks == 3u);
  BOOST_TEST(b.applied_snapshots() == 0u);
  BOOST_TEST(sb.versions().get(A) == 0u);  // nothing joined before the last chunk
  BOOST_TEST(sb.r.records().empty());
  l.disconnect();
  l.start();
  l.run();
  BOOST_TEST(a.sent_snapshots() == 2u);  // restarted from chunk 0 on the new connection
  BOOST_TEST(sa.snapshots_read == 2u);
  BOOST_TEST(b.applied_snapshots() == 1u);
  BOOST_TEST(sb.r.digest() == sa.r.digest());
  BOOST_TEST((sb.versions() == sa.versions()));
}

BOOST_AUTO_TEST_CASE(duplicated_reordered_and_stale_chunks_are_harmless) {
  mem_store sa;
  fill_rich(sa, A, 60);
  sa.compact(sa.versions());
  auto src = sa.snapshot({});
  std::vector<snapshot> chunks;
  for (uint32_t i = 0;; ++i) {
    auto part = src->next(250);
    chunks.push_back({"db", src->versions(), i, part.last, i == 0 ? src->indexes() : std::vector<index_decl>{},
                      part.entries});
    if (part.last)
      break;
  }
  BOOST_REQUIRE(chunks.size() >= 4u);
  // an older snapshot of the same peer (fewer operations)
  mem_store older;
  fill_rich(older, A, 20);
  auto osrc = older.snapshot({});
  auto opart = osrc->next(250);
  snapshot stale{"db", osrc->versions(), 0, false, osrc->indexes(), opart.entries};

  open_pair p;
  auto deliver = [&](const snapshot& c) {
    auto out = p.b.on_message(envelope{protocol_version, c});
    BOOST_REQUIRE_EQUAL(out.size(), 1u);
    auto& k = std::get<ack>(out[0].msg);
    BOOST_TEST(k.snapshot_chunk == c.chunk + 1);  // every chunk is acknowledged
    return k;
  };
  // the last chunk first, then duplicates, a stale chunk in the middle
  deliver(chunks.back());
  deliver(chunks[1]);
  deliver(chunks[1]);
  deliver(chunks[0]);
  deliver(stale);  // older than the snapshot being received: ignored
  BOOST_TEST(p.b.applied_snapshots() == 0u);
  for (size_t i = 2; i + 1 < chunks.size(); ++i)
    deliver(chunks[i]);
  BOOST_TEST(p.b.applied_snapshots() == 1u);
  BOOST_TEST(p.sb.r.digest() == sa.r.digest());
  // after it was joined, any copy brings nothing and changes nothing
  auto d = p.sb.r.digest();
  auto k = deliver(chunks[2]);
  deliver(stale);
  BOOST_TEST(p.b.applied_snapshots() == 1u);
  BOOST_TEST(p.sb.r.digest() == d);
  BOOST_TEST(k.versions.get(A) == 60u);
  BOOST_TEST(p.b.is_open());
}

BOOST_AUTO_TEST_CASE(a_partial_replica_gets_its_collections_only) {
  mem_store sa, sb({"d"});
  fill_rich(sa, A, 30, 1, "c");
  fill_rich(sa, A, 20, 31, "d");
  fill_rich(sa, C, 10, 1, "c");
  sa.compact(sa.versions());
  auto ob = opts(B, false);
  ob.collections = {"d"};
  session a(sa, opts(A, true)), b(sb, ob);
  duplex l{a, b};
  l.start();
  l.run();
  BOOST_TEST(b.applied_snapshots() == 1u);
  for (auto& s : all_of<snapshot>(l.seen_by_b)) {
    for (auto& e : s.entries)
      BOOST_TEST(e.collection == "d");
    for (auto& i : s.indexes)
      BOOST_TEST(i.collection == "d");
  }
  for (auto& [k, st] : sb.r.records())
    BOOST_TEST(k.first == "d");
  BOOST_TEST(!sb.r.records().empty());
  BOOST_TEST((sb.versions() == sa.versions()));  // covered for its filter
  mem_store ref;
  fill_rich(ref, A, 20, 31, "d");
  BOOST_TEST(ref.r.digest() == sb.r.digest());
}

BOOST_AUTO_TEST_CASE(refusals) {
  auto expect_error = [](const std::vector<envelope>& out, error_code code) {
    BOOST_REQUIRE(!out.empty());
    BOOST_REQUIRE(std::holds_alternative<error>(out.back().msg));
    BOOST_TEST(std::get<error>(out.back().msg).code == code);
  };
  mem_store src;
  fill_rich(src, A, 10);
  auto entries = src.snapshot({})->next(1 << 20).entries;
  version_vector vv = src.versions();
  {  // a peer that does not accept snapshots is refused when it would need one
    mem_store sa, sb;
    fill(sa, A, 5);
    sa.compact(sa.versions());
    auto ob = opts(B, false);
    ob.snapshots = false;
    session a(sa, opts(A, true)), b(sb, ob);
    duplex l{a, b};
    l.start();
    l.run();
    BOOST_TEST(a.is_closed());
    BOOST_TEST(a.last_error().code == error_code::refused);
    BOOST_TEST(sb.versions().get(A) == 0u);
  }
  {  // ... and such a side refuses a Snapshot as unexpected
    mem_store sb;
    auto ob = opts(B, false);
    ob.snapshots = false;
    session b(sb, ob);
    b.start();
    b.on_message(envelope{protocol_version, hello{A, "db", true}});
    expect_error(b.on_message(envelope{protocol_version, snapshot{"db", vv, 0, true, {}, entries}}),
                 error_code::unexpected);
  }
  {  // a state that does not decode
    open_pair p;
    auto bad = entries;
    bad[0].state = "garbage";
    expect_error(p.b.on_message(envelope{protocol_version, snapshot{"db", vv, 0, true, {}, bad}}),
                 error_code::corrupt);
    BOOST_TEST(p.sb.r.records().empty());
    BOOST_TEST(p.sb.chunks_staged == 0u);
  }
  {  // records or indexes of collections a partial replica does not sync
    mem_store sb({"d"});
    auto ob = opts(B, false);
    ob.collections = {"d"};
    session b(sb, ob);
    b.start();
    b.on_message(envelope{protocol_version, hello{A, "db", true}});
    expect_error(b.on_message(envelope{protocol_version, snapshot{"db", vv, 0, true, {}, entries}}),
                 error_code::refused);
    BOOST_TEST(sb.chunks_staged == 0u);
  }
  {  // before the handshake, and for another database
    mem_store sb;
    session b(sb, opts(B, false));
    b.start();
    expect_error(b.on_message(envelope{protocol_version, snapshot{"db", vv, 0, true, {}, entries}}),
                 error_code::unexpected);
    open_pair p;
    expect_error(p.b.on_message(envelope{protocol_version, snapshot{"other", vv, 0, true, {}, entries}}),
                 error_code::unknown_database);
  }
}

BOOST_AUTO_TEST_CASE(snapshot_chunks_count_in_the_window) {
  mem_store sa, sb;
  fill_rich(sa, A, 120);
  sa.compact(sa.versions());
  auto oa = opts(A, true);
  oa.max_batch_bytes = 300;
  oa.window_bytes = 1000;
  session a(sa, oa), b(sb, opts(B, false));
  duplex l{a, b};
  l.start();
  BOOST_TEST(l.step_b());  // Hello
  BOOST_TEST(l.step_a());  // Welcome
  BOOST_TEST(l.step_a());  // B's SyncRequest: A sends chunks up to the window
  size_t chunks = 0;
  for (auto& f : l.to_b)
    chunks += std::holds_alternative<snapshot>(duplex::unframe(f).msg);
  BOOST_TEST(chunks >= 2u);
  BOOST_TEST(chunks <= 5u);
  BOOST_TEST(a.in_flight() >= 1000u);
  BOOST_TEST(a.sending_snapshot());
  BOOST_TEST(a.on_local_commit().empty());  // paused
  l.run();
  BOOST_TEST(!a.sending_snapshot());
  BOOST_TEST(a.in_flight() == 0u);
  BOOST_TEST(sb.r.digest() == sa.r.digest());
}

BOOST_AUTO_TEST_CASE(snapshot_codec_round_trips) {
  mem_store s;
  fill_rich(s, A, 40);
  auto src = s.snapshot({});
  auto part = src->next(1 << 20);
  BOOST_REQUIRE(part.last);
  BOOST_REQUIRE(!src->indexes().empty());
  std::vector<message> all = {
    snapshot{"db", s.versions(), 0, true, src->indexes(), part.entries},
    snapshot{"db", {}, 7, false, {}, {}},
    ack{"db", s.versions(), 3},
    hello{A, "db", true, false},
    welcome{B, "db", false, true}};
  for (auto& m : all)
    for (bool z : {false, true}) {
      envelope e{protocol_version, m};
      auto d = decode_envelope(encode(e, z));
      BOOST_REQUIRE_MESSAGE(d.ok(), kind_name(m) << ": " << (d.ok() ? "" : d.error().to_string()));
      BOOST_TEST((*d == e), kind_name(m));
    }
  envelope big{protocol_version, all[0]};
  BOOST_TEST(encode(big, true).size() * 2 < encode(big, false).size());  // zstd like batches
  BOOST_TEST(std::string(kind_name(all[0])) == "Snapshot");
}

BOOST_AUTO_TEST_SUITE_END()

// A small packed message must not decode into a huge list: 200,000 ranges
// of zeros pack into a few kilobytes.
BOOST_AUTO_TEST_CASE(decoder_refuses_lists_longer_than_their_bytes) {
  capnp::MallocMessageBuilder mb;
  auto env = mb.initRoot<blaze::schema::Envelope>();
  env.setProtocolVersion(sync::protocol_version);
  auto b = env.initOpBatch();
  b.initRanges(200'000);  // ~11 MB unpacked (7 words a range): under the 16 MiB limit
  b.initOps(0);
  kj::VectorOutputStream out;
  capnp::writePackedMessage(out, mb);
  auto a = out.getArray();
  std::string bytes(reinterpret_cast<const char*>(a.begin()), a.size());
  BOOST_TEST(bytes.size() < 100'000u);
  auto d = sync::decode_envelope(bytes);
  BOOST_REQUIRE(!d.ok());
  BOOST_TEST(d.error().code == errc::corrupt);
  BOOST_TEST(d.error().message.find("more list elements") != std::string::npos, d.error().message);
}
