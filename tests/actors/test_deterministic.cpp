// actors: the database actor under CAF's deterministic test scheduler
// (caf::test_coordinator_fixture). The scheduler is stepped by hand, so the
// test sees exactly when writes are gathered and when they commit.
//
// Under Boost.Test the fixture is used with sched.run()/try_run_once() and
// plain BOOST_TEST checks; CAF's expect()/allow() macros need CAF's own test
// runner and are not used. The fixture reads the command line through
// caf::test::engine, whose definitions come from unit_test_impl.hpp (without
// its main()).
#include "actor_test_util.hpp"

#include "actors/database_actor.hpp"
#include "actors/errors.hpp"

#define CAF_TEST_NO_MAIN
#include <caf/test/unit_test_impl.hpp>
#include <caf/test/dsl.hpp>
#undef expect
#undef inject
#undef allow
#undef disallow

using namespace blaze;
using namespace blaze::test;

namespace {

struct det_fixture : test_coordinator_fixture<> {
  temp_dir tmp;
  std::shared_ptr<store> st;
  database_actor db;

  det_fixture() {
    auto r = store::open(tmp / "db", node_id{0xde7, 1}, {}, nullptr);
    BOOST_REQUIRE_MESSAGE(r.ok(), (r ? "" : r.error().to_string()));
    st = std::move(*r);
    db = spawn_database(sys, "det", st);
    sched.run();
  }

  ~det_fixture() {
    caf::anon_send_exit(db, caf::exit_reason::user_shutdown);
    sched.run();
    db = nullptr;
    st.reset();
  }

  static blaze::write insert(uint64_t n) {
    blaze::write w;
    w.k = blaze::write::kind::insert;
    w.collection = "c";
    w.record = rec(n);
    w.fields = {{"n", int64_t(n)}};
    return w;
  }

  auto request_write(writes ws) { return self->request(db, caf::infinite, write_atom::value, std::move(ws)); }

  // The reply of an answered request (the mailbox must already hold it).
  template <class Handle> write_outcomes reply(Handle& h) {
    write_outcomes out;
    bool got = false;
    h.receive([&](write_outcomes& o) { out = std::move(o), got = true; },
              [&](caf::error& e) { BOOST_ERROR("request failed: " << to_status(e).to_string()); });
    BOOST_TEST(got);
    return out;
  }
};

// A listener that records the change feed.
struct feed_state {
  std::shared_ptr<std::vector<change>> seen;
  static inline const char* name = "test.feed";
};

caf::behavior feed_listener(caf::stateful_actor<feed_state>* self, std::shared_ptr<std::vector<change>> seen) {
  self->state.seen = std::move(seen);
  return {[self](change_atom, const change& c) { self->state.seen->push_back(c); }};
}

} // namespace

BOOST_FIXTURE_TEST_CASE(writes_sent_together_commit_as_one_group, det_fixture) {
  constexpr size_t n = 5;
  std::vector<decltype(request_write({}))> handles;
  for (uint64_t i = 0; i < n; ++i)
    handles.push_back(request_write({insert(i)}));
  // nothing has run yet: the requests wait in the database's mailbox
  BOOST_TEST(st->versions().total() == 0u);
  BOOST_TEST(self->mailbox().empty());

  // The actor takes its requests one message at a time and only gathers them.
  for (size_t i = 0; i < n; ++i) {
    BOOST_REQUIRE_MESSAGE(sched.try_run_once(), "request " << i << " was not delivered");
    BOOST_TEST(st->versions().total() == 0u, "committed before the group was complete, at request " << i);
    BOOST_TEST(self->mailbox().empty(), "answered before the group was complete, at request " << i);
  }
  // The flush it queued behind them commits all five in one WriteBatch and
  // answers every request.
  BOOST_REQUIRE(sched.try_run_once());
  BOOST_TEST(st->versions().total() == n);
  BOOST_TEST(self->mailbox().size() == n);
  BOOST_TEST(sched.run() == 0u);  // nothing else was pending

  uint64_t expected = 1;
  uint64_t counter = 0;
  for (size_t i = 0; i < n; ++i) {
    auto out = reply(handles[i]);
    BOOST_REQUIRE_EQUAL(out.size(), 1u);
    BOOST_TEST(out[0].st.ok());
    BOOST_TEST(out[0].record == rec(i));
    BOOST_TEST(out[0].id.seq == expected++);  // in the order the requests were sent
    auto op = **st->operation_bytes(out[0].id);
    auto decoded = decode_operation(op);
    BOOST_REQUIRE(decoded.ok());
    BOOST_TEST(decoded->counter > counter);
    counter = decoded->counter;
  }
  auto all = st->operations_after({}, 100);
  BOOST_REQUIRE(all.ok());
  BOOST_TEST(all->size() == n);
}

BOOST_FIXTURE_TEST_CASE(each_request_of_a_group_gets_its_own_outcomes, det_fixture) {
  blaze::write bad;
  bad.k = blaze::write::kind::set;
  bad.collection = "c";
  bad.record = rec(404);
  bad.field = "n";
  bad.val = 1;
  auto h1 = request_write({insert(1), bad, insert(2)});
  auto h2 = request_write({bad});
  auto h3 = request_write({insert(3)});
  sched.run();
  BOOST_TEST(st->versions().total() == 3u);
  auto o1 = reply(h1);
  auto o2 = reply(h2);
  auto o3 = reply(h3);
  BOOST_REQUIRE_EQUAL(o1.size(), 3u);
  BOOST_REQUIRE_EQUAL(o2.size(), 1u);
  BOOST_REQUIRE_EQUAL(o3.size(), 1u);
  BOOST_TEST(o1[0].id.seq == 1u);
  BOOST_TEST(o1[1].st.code == errc::unknown_record);
  BOOST_TEST(o1[2].id.seq == 2u);
  BOOST_TEST(o2[0].st.code == errc::unknown_record);
  BOOST_TEST(o2[0].st.message.find(rec(404).to_hex()) != std::string::npos);
  BOOST_TEST(o3[0].id.seq == 3u);
}

BOOST_FIXTURE_TEST_CASE(a_lone_write_commits_without_waiting_for_more, det_fixture) {
  auto h = request_write({insert(1)});
  sched.run();
  BOOST_TEST(st->versions().total() == 1u);
  auto out = reply(h);
  BOOST_REQUIRE_EQUAL(out.size(), 1u);
  BOOST_TEST(out[0].id.seq == 1u);
  // and later writes form their own group
  auto h2 = request_write({insert(2)});
  auto h3 = request_write({insert(3)});
  sched.run();
  BOOST_TEST(reply(h2)[0].id.seq == 2u);
  BOOST_TEST(reply(h3)[0].id.seq == 3u);
}

BOOST_FIXTURE_TEST_CASE(change_feed_follows_commit_order_per_collection, det_fixture) {
  auto all = std::make_shared<std::vector<change>>();
  auto only_d = std::make_shared<std::vector<change>>();
  auto l_all = sys.spawn(feed_listener, all);
  auto l_d = sys.spawn(feed_listener, only_d);
  sched.run();
  auto s1 = self->request(db, caf::infinite, subscribe_atom::value, caf::actor_cast<caf::actor>(l_all), std::string());
  auto s2 = self->request(db, caf::infinite, subscribe_atom::value, caf::actor_cast<caf::actor>(l_d), std::string("d"));
  sched.run();
  s1.receive([](bool ok) { BOOST_TEST(ok); }, [](caf::error&) { BOOST_ERROR("subscribe failed"); });
  s2.receive([](bool ok) { BOOST_TEST(ok); }, [](caf::error&) { BOOST_ERROR("subscribe failed"); });

  auto in_d = insert(10);
  in_d.collection = "d";
  auto h1 = request_write({insert(1), in_d});
  auto h2 = request_write({insert(2)});
  sched.run();
  reply(h1);
  reply(h2);
  BOOST_REQUIRE_EQUAL(all->size(), 3u);
  BOOST_TEST((*all)[0].id == rec(1));
  BOOST_TEST((*all)[1].id == rec(10));
  BOOST_TEST((*all)[2].id == rec(2));
  for (size_t i = 0; i < 3; ++i)
    BOOST_TEST((*all)[i].by.seq == i + 1);
  BOOST_REQUIRE_EQUAL(only_d->size(), 1u);
  BOOST_TEST((*only_d)[0].collection == "d");
  BOOST_TEST((*only_d)[0].doc == (value_map{{"n", 10}}));

  // operations applied from elsewhere are published too
  auto other = store::open(tmp / "other", node_id{0xde7, 2}, {}, nullptr);
  BOOST_REQUIRE(other.ok());
  auto in_d2 = insert(11);
  in_d2.collection = "d";
  std::vector<blaze::write> ws{in_d2};
  BOOST_REQUIRE((*other)->write_local(ws, 1)[0].ok());
  auto ops = (*other)->operations_after({}, 10);
  auto ha = self->request(db, caf::infinite, apply_atom::value, *ops);
  sched.run();
  ha.receive([](apply_report& rep) { BOOST_TEST(rep.applied == 1u); },
             [](caf::error&) { BOOST_ERROR("apply failed"); });
  BOOST_REQUIRE_EQUAL(only_d->size(), 2u);
  BOOST_TEST((*only_d)[1].id == rec(11));

  // an unsubscribed listener hears nothing more
  self->send(db, unsubscribe_atom::value, caf::actor_cast<caf::actor>(l_d));
  auto h3 = request_write({in_d});
  sched.run();
  reply(h3);
  BOOST_TEST(only_d->size() == 2u);
  BOOST_TEST(all->size() == 5u);
  // a listener that is gone is dropped
  caf::anon_send_exit(l_all, caf::exit_reason::user_shutdown);
  sched.run();
  auto h4 = request_write({insert(4)});
  sched.run();
  reply(h4);
  BOOST_TEST(all->size() == 5u);
  caf::anon_send_exit(l_d, caf::exit_reason::user_shutdown);
  sched.run();
}
