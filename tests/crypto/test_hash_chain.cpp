// The per-origin hash chain: a signed batch verifies, and every kind of
// tampering is refused with the fault and seq the header promises.
#include "util.hpp"

#include "core/crypto/hash_chain.hpp"

#include <algorithm>
#include <vector>

using namespace blaze;
using namespace blaze::crypto;
using namespace blaze::crypto::test;

namespace {

const std::string db = "db:notes@owner";

/// `n` distinct operations of 140 bytes, numbered from `from`.
std::vector<std::string> make_ops(size_t n, size_t from = 1) {
  std::vector<std::string> ops;
  for (size_t i = from; i < from + n; ++i) {
    std::string op = "op " + std::to_string(i) + " ";
    op.resize(140, static_cast<char>('a' + i % 26));
    ops.push_back(op);
  }
  return ops;
}

struct origin_fixture {
  signing_key key = key_from_fill('\x11');
  node_id origin = key.id();
  std::vector<std::string> ops = make_ops(100);
  chain_head head;
  origin_fixture() {
    chain_builder b(db, origin);
    for (auto& op : ops)
      b.append(op);
    head = ok(b.sign_head(key));
  }
  chain_verdict check(const std::vector<std::string>& batch, uint64_t first_seq = 1) const {
    return verify_batch(key.public_key(), db, origin, chain_start(db, origin), first_seq, batch, head);
  }
};

void expect_fault(const chain_verdict& v, chain_fault f, uint64_t seq) {
  BOOST_REQUIRE_MESSAGE(!v.ok(), "the batch verified but should fail with " << to_string(f));
  BOOST_TEST(v.error().fault == f);
  BOOST_TEST(v.error().seq == seq);
  BOOST_TEST(!v.error().message.empty());
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(hash_chain, origin_fixture)

BOOST_AUTO_TEST_CASE(batch_of_100_verifies) {
  auto v = check(ops);
  BOOST_REQUIRE(v.ok());
  BOOST_TEST(v.state().seq == 100u);
  BOOST_TEST(v.state().link == head.link);
  BOOST_TEST(head.seq == 100u);
  // The link is the documented formula, computed independently.
  chain_link l = chain_genesis(db, origin);
  for (uint64_t s = 1; s <= 100; ++s)
    l = chain_next(l, origin, s, op_hash(ops[s - 1]));
  BOOST_TEST(hex(as_view(l)) == hex(as_view(head.link)));
  BOOST_TEST(verify(key.public_key(), head_message(db, origin, 100, l), head.sig));
}

BOOST_AUTO_TEST_CASE(altering_any_op_breaks_the_chain) {
  for (size_t i = 0; i < ops.size(); ++i) {
    auto bad = ops;
    bad[i] = flip(bad[i], (i * 7) % bad[i].size(), static_cast<int>(i % 8));
    expect_fault(check(bad), chain_fault::broken_chain, 100);
  }
  auto longer = ops;
  longer[50] += "x";
  expect_fault(check(longer), chain_fault::broken_chain, 100);
}

BOOST_AUTO_TEST_CASE(dropping_an_op_is_a_gap) {
  auto dropped = ops;
  dropped.erase(dropped.begin() + 42);
  expect_fault(check(dropped), chain_fault::seq_gap, 100);  // the head's seq 100 is not reached
  auto extra = ops;
  extra.push_back(make_ops(1, 101)[0]);
  expect_fault(check(extra), chain_fault::seq_gap, 101);    // op 101 is not covered by the head
  // Dropping one and adding a forged one to keep the count: the chain breaks.
  auto replaced = ops;
  replaced.erase(replaced.begin() + 42);
  replaced.push_back(make_ops(1, 101)[0]);
  expect_fault(check(replaced), chain_fault::broken_chain, 100);
}

BOOST_AUTO_TEST_CASE(swapping_two_ops_breaks_the_chain) {
  auto swapped = ops;
  std::swap(swapped[10], swapped[11]);
  expect_fault(check(swapped), chain_fault::broken_chain, 100);
  std::swap(swapped[10], swapped[11]);
  std::swap(swapped[0], swapped[99]);
  expect_fault(check(swapped), chain_fault::broken_chain, 100);
}

BOOST_AUTO_TEST_CASE(replay_at_the_wrong_position) {
  auto after = check(ops);
  BOOST_REQUIRE(after.ok());
  // The same batch again, at its own seqs, once the receiver is at 100.
  expect_fault(verify_batch(key.public_key(), db, origin, after.state(), 1, ops, head), chain_fault::replay, 1);
  // The same batch presented as seqs 101..200 (with the head relabelled to 200).
  chain_head moved = head;
  moved.seq = 200;
  expect_fault(verify_batch(key.public_key(), db, origin, after.state(), 101, ops, moved), chain_fault::bad_signature,
               200);
  // ... or with the original head: it does not cover 101..200.
  expect_fault(verify_batch(key.public_key(), db, origin, after.state(), 101, ops, head), chain_fault::seq_gap, 101);
  // A tail of the batch at the start of the chain: seqs and links differ.
  std::vector<std::string> tail(ops.begin() + 50, ops.end());
  chain_head at50 = head;
  at50.seq = 50;
  expect_fault(check(tail), chain_fault::seq_gap, 51);
  expect_fault(verify_batch(key.public_key(), db, origin, chain_start(db, origin), 1, tail, at50),
               chain_fault::bad_signature, 50);
  // A batch starting past the next seq.
  expect_fault(verify_batch(key.public_key(), db, origin, chain_start(db, origin), 2, ops, head), chain_fault::seq_gap,
               1);
}

BOOST_AUTO_TEST_CASE(other_origin_key_and_database) {
  auto other = key_from_fill('\x22');
  // The other node's key for this origin: refused before any signature check.
  expect_fault(verify_batch(other.public_key(), db, origin, chain_start(db, origin), 1, ops, head),
               chain_fault::origin_mismatch, 1);
  // The other node signs a chain claiming this origin: it cannot (builder).
  chain_builder forged(db, origin);
  for (auto& op : ops)
    forged.append(op);
  BOOST_TEST(!forged.sign_head(other).ok());
  // ... and a head it signs anyway does not verify under the origin's key.
  chain_head h = head;
  h.sig = ok(other.sign(head_message(db, origin, 100, head.link)));
  expect_fault(verify_batch(key.public_key(), db, origin, chain_start(db, origin), 1, ops, h),
               chain_fault::bad_signature, 100);
  // The other node's own chain, under its own origin, verifies with its key.
  chain_builder own(db, other.id());
  for (auto& op : ops)
    own.append(op);
  auto own_head = ok(own.sign_head(other));
  BOOST_TEST(verify_batch(other.public_key(), db, other.id(), chain_start(db, other.id()), 1, ops, own_head).ok());
  // Its head presented as this origin's: wrong origin in the head and link_0.
  expect_fault(verify_batch(key.public_key(), db, origin, chain_start(db, origin), 1, ops, own_head),
               chain_fault::bad_signature, 100);
}

BOOST_AUTO_TEST_CASE(another_database) {
  // The head and link_0 name the database: the batch does not verify in another.
  expect_fault(verify_batch(key.public_key(), "db:notes@mallory", origin, chain_start("db:notes@mallory", origin), 1,
                            ops, head),
               chain_fault::bad_signature, 100);
  // Even with the right database's head message re-signed... by the right key
  // for the other database, link_0 differs, so the ops do not chain.
  chain_head h = head;
  h.sig = ok(key.sign(head_message("db:notes@mallory", origin, 100, head.link)));
  expect_fault(verify_batch(key.public_key(), "db:notes@mallory", origin, chain_start("db:notes@mallory", origin), 1,
                            ops, h),
               chain_fault::broken_chain, 100);
}

BOOST_AUTO_TEST_CASE(forged_head) {
  chain_head h = head;
  h.sig.bytes[5] ^= 1;
  expect_fault(verify_batch(key.public_key(), db, origin, chain_start(db, origin), 1, ops, h),
               chain_fault::bad_signature, 100);
  h = head;
  h.link[0] ^= 0x80;
  expect_fault(verify_batch(key.public_key(), db, origin, chain_start(db, origin), 1, ops, h),
               chain_fault::bad_signature, 100);
  std::vector<std::string> none;
  expect_fault(check(none), chain_fault::empty_batch, 1);
}

BOOST_AUTO_TEST_CASE(resume_from_stored_state) {
  // The origin signs heads at 100 and 164; the receiver stores (seq, link)
  // after the first batch and verifies the second from it alone.
  auto first = check(ops);
  BOOST_REQUIRE(first.ok());
  chain_state stored = first.state();

  auto more = make_ops(64, 101);
  chain_builder b(db, origin, chain_state{100, head.link});
  for (auto& op : more)
    BOOST_TEST(b.append(op) >= 101u);
  auto head2 = ok(b.sign_head(key));
  BOOST_TEST(head2.seq == 164u);
  auto second = verify_batch(key.public_key(), db, origin, stored, 101, more, head2);
  BOOST_REQUIRE(second.ok());
  BOOST_TEST(second.state().seq == 164u);

  // The same 164 operations built in one go give the same head link.
  chain_builder all(db, origin);
  for (auto& op : ops)
    all.append(op);
  for (auto& op : more)
    all.append(op);
  BOOST_TEST(hex(as_view(all.state().link)) == hex(as_view(head2.link)));

  // A receiver that missed the first batch cannot take the second.
  expect_fault(verify_batch(key.public_key(), db, origin, chain_start(db, origin), 101, more, head2),
               chain_fault::seq_gap, 1);
  // One that stored a wrong link (another history) cannot either.
  chain_state wrong = stored;
  wrong.link[3] ^= 4;
  expect_fault(verify_batch(key.public_key(), db, origin, wrong, 101, more, head2), chain_fault::broken_chain, 164);
}

BOOST_AUTO_TEST_CASE(string_view_overload_and_status) {
  std::vector<std::string_view> views(ops.begin(), ops.end());
  auto v = verify_batch(key.public_key(), db, origin, chain_start(db, origin), 1, std::span<const std::string_view>(views),
                        head);
  BOOST_TEST(v.ok());
  auto gap = check(ops, 2);
  BOOST_REQUIRE(!gap.ok());
  BOOST_TEST(gap.error().to_status().code == errc::out_of_order);
  auto swapped = ops;
  std::swap(swapped[1], swapped[2]);
  BOOST_TEST(check(swapped).error().to_status().code == errc::corrupt);
  BOOST_TEST(check(swapped).error().message.find("seqs 1..100") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(equivocation_is_a_hash_comparison) {
  dot d{origin, 7};
  BOOST_TEST(!check_equivocation(d, ops[6], ops[6]).has_value());  // a duplicate
  auto ev = check_equivocation(d, ops[6], ops[7]);
  BOOST_REQUIRE(ev.has_value());
  BOOST_TEST(ev->held == ops[6]);
  BOOST_TEST(ev->incoming == ops[7]);
  BOOST_TEST(ev->held_hash != ev->incoming_hash);
  BOOST_TEST(ev->to_status().code == errc::equivocation);
  BOOST_TEST(ev->to_status().message.find(origin.to_hex()) != std::string::npos);
  // A second, different history signed by the origin verifies on its own
  // (the key is the origin's), so equivocation is caught only by comparing
  // with what is held: the replayed dot is refused as a replay, then compared.
  auto fork = ops;
  fork[6] = "a different operation 7";
  chain_builder b(db, origin);
  for (auto& op : fork)
    b.append(op);
  auto fork_head = ok(b.sign_head(key));
  auto held = check(ops);
  BOOST_REQUIRE(held.ok());
  expect_fault(verify_batch(key.public_key(), db, origin, held.state(), 1, fork, fork_head), chain_fault::replay, 1);
  BOOST_TEST(check_equivocation({origin, 7}, ops[6], fork[6]).has_value());
}

BOOST_AUTO_TEST_SUITE_END()
