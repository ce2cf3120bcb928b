// core/transaction: the two-phase-commit coordinator, the recovery rule and
// the prepare/decision record encodings (pure, no I/O).
#define BOOST_TEST_MODULE groups
#include "../common/test_support.hpp"
#include "core/transaction.hpp"

#include <boost/test/unit_test.hpp>

using namespace blaze;
using kind = txn_coordinator::action::kind;

namespace {

std::string show(const std::vector<txn_coordinator::action>& acts) {
  std::string out;
  for (auto& a : acts) {
    const char* k = a.k == kind::prepare      ? "prepare"
                    : a.k == kind::log_commit ? "log"
                    : a.k == kind::commit     ? "commit"
                    : a.k == kind::abort      ? "abort"
                                              : "finish";
    out += std::string(out.empty() ? "" : " ") + k + (a.database.empty() ? "" : ":" + a.database);
    if (a.k == kind::finish)
      out += a.result ? "(ok)" : "(" + std::string(to_string(a.result.code)) + ")";
  }
  return out;
}

} // namespace

BOOST_AUTO_TEST_CASE(coordinator_prepares_in_name_order_then_logs_then_commits_all) {
  txn_coordinator co({1, 2}, {"west", "east", "west"});
  BOOST_TEST(co.participants() == (std::vector<std::string>{"east", "west"}));
  BOOST_TEST(show(co.start()) == "prepare:east");
  BOOST_TEST(show(co.on_vote("east", uint32_t(2))) == "prepare:west");
  BOOST_TEST(show(co.on_vote("west", uint32_t(1))) == "log");
  BOOST_TEST(!co.committed());  // not before the decision is logged
  BOOST_TEST(show(co.on_logged({})) == "commit:east commit:west");
  BOOST_TEST(co.committed());
  BOOST_TEST(show(co.on_committed("west", {})) == "");
  // a participant that could not be told still commits (it finds the log)
  BOOST_TEST(show(co.on_committed("east", {errc::timeout, "late"})) == "finish(ok)");
  BOOST_TEST((co.parts() == std::vector<txn_part>{{"east", 2}, {"west", 1}}));
  BOOST_TEST((co.state() == txn_coordinator::phase::done));
}

BOOST_AUTO_TEST_CASE(coordinator_aborts_every_asked_participant_on_a_no) {
  txn_coordinator co({1, 3}, {"a", "b", "c"});
  co.start();
  BOOST_TEST(show(co.on_vote("a", uint32_t(1))) == "prepare:b");
  auto acts = co.on_vote("b", status{errc::unknown_record, "no such record"});
  // c was never asked: it is not told; a (prepared) and b (maybe queued) are
  BOOST_TEST(show(acts) == "abort:a abort:b finish(unknown record)");
  BOOST_TEST(acts.back().result.message.find("'b'") != std::string::npos);
  BOOST_TEST(!co.committed());
  // nothing more happens after the end
  BOOST_TEST(show(co.on_vote("c", uint32_t(1))) == "");
  BOOST_TEST(show(co.on_logged({})) == "");
}

BOOST_AUTO_TEST_CASE(coordinator_aborts_on_a_timeout_or_a_failed_log) {
  txn_coordinator t({1, 4}, {"a"});
  t.start();
  BOOST_TEST(show(t.on_vote("a", status{errc::timeout, "no answer"})) == "abort:a finish(timeout)");

  txn_coordinator l({1, 5}, {"a", "b"});
  l.start();
  l.on_vote("a", uint32_t(1));
  BOOST_TEST(show(l.on_vote("b", uint32_t(1))) == "log");
  BOOST_TEST(show(l.on_logged({errc::io_error, "disk full"})) == "abort:a abort:b finish(I/O error)");
  BOOST_TEST(!l.committed());
}

BOOST_AUTO_TEST_CASE(coordinator_ignores_votes_out_of_turn_and_finishes_an_empty_transaction) {
  txn_coordinator co({1, 6}, {"a", "b"});
  co.start();
  BOOST_TEST(show(co.on_vote("b", uint32_t(1))) == "");  // b was not asked yet
  BOOST_TEST(show(co.on_committed("a", {})) == "");       // not committing
  BOOST_TEST(show(co.on_vote("a", uint32_t(1))) == "prepare:b");
  BOOST_TEST(show(co.on_vote("a", uint32_t(1))) == "");    // a second vote of a

  txn_coordinator empty({1, 7}, {});
  BOOST_TEST(show(empty.start()) == "finish(ok)");
}

BOOST_AUTO_TEST_CASE(recovery_commits_logged_aborts_unlogged_and_waits_for_a_running_coordinator) {
  BOOST_TEST((resolve_prepared(true, false) == txn_resolution::commit));
  BOOST_TEST((resolve_prepared(true, true) == txn_resolution::wait));  // its coordinator commits it (in the gate)
  BOOST_TEST((resolve_prepared(false, true) == txn_resolution::wait));
  BOOST_TEST((resolve_prepared(false, false) == txn_resolution::abort));
}

BOOST_AUTO_TEST_CASE(records_round_trip_and_malformed_bytes_are_refused) {
  std::vector<std::string> ops{"abc", std::string("\0\1\2", 3), ""};
  auto enc = encode_prepared(ops);
  auto dec = decode_prepared(enc);
  BOOST_REQUIRE(dec.ok());
  BOOST_TEST(*dec == ops);
  BOOST_TEST(decode_decision(encode_decision({"east", "west"})).ok());
  BOOST_TEST(!decode_prepared(enc.substr(0, enc.size() - 1)).ok());
  BOOST_TEST(!decode_prepared(enc + "x").ok());
  BOOST_TEST(!decode_prepared("").ok());
  std::string huge(8, '\xff');  // a count far past the bytes
  BOOST_TEST(!decode_prepared(huge).ok());
  BOOST_TEST(txn_point_of("after_decision").has_value());
  BOOST_TEST(!txn_point_of("sometime").has_value());
  for (auto p : {txn_point::before_prepare, txn_point::after_prepare, txn_point::after_decision,
                 txn_point::after_commit})
    BOOST_TEST((txn_point_of(to_string(p)) == p));
}
