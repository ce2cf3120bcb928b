// libFuzzer target for signature and hash chain verification
// (core/crypto/hash_chain.hpp, core/crypto/ed25519.hpp).
//
// One input is read two ways:
//  1. authentic: as operations (fuzz_crypto.hpp: parse_ops), chained and
//     signed by the fixed origin key; the batch must verify, verify again in
//     two halves from the stored state, and fail with the documented fault
//     and seq under one tampering the input picks (an altered, swapped or
//     dropped operation, another database, a flipped signature bit, a replay,
//     another node's key);
//  2. attacker: as a whole batch with key, head, positions, origin, database
//     and operations all taken from the input (parse_raw); verify_batch must
//     not crash, must give the same answer twice, and its answer must agree
//     with an independent recomputation: a refusal names the fault the
//     checks' order implies, and an acceptance means the signature verifies
//     and the operations chain to the signed link.
#include "tests/fuzz/fuzz_crypto.hpp"

#include <string>
#include <string_view>
#include <vector>

using namespace blaze;
using namespace blaze::crypto;
using namespace blaze::fuzz_crypto;

namespace {

#define CHAIN_CHECK(cond, detail) FUZZ_CRYPTO_CHECK("fuzz_crypto_chain", cond, detail)

std::string describe(const chain_verdict& v) {
  if (v.ok())
    return "verified up to seq " + std::to_string(v.state().seq);
  return std::string(to_string(v.error().fault)) + " at seq " + std::to_string(v.error().seq) + ": " +
         v.error().message;
}

void expect(const chain_verdict& v, chain_fault f, uint64_t seq, const char* what) {
  CHAIN_CHECK(!v.ok() && v.error().fault == f && v.error().seq == seq && !v.error().message.empty(),
              std::string(what) + ": expected " + to_string(f) + " at seq " + std::to_string(seq) + ", got " +
                describe(v));
}

void authentic(std::string_view in) {
  auto views = parse_ops(in, 32);
  if (views.empty())
    views.push_back(in.substr(0, 64));
  std::vector<std::string> ops(views.begin(), views.end());
  const auto& key = origin_key();
  const node_id origin = key.id();
  const uint64_t n = ops.size();
  const uint64_t h = mix(in);

  chain_builder b(database, origin);
  size_t split = static_cast<size_t>(h % n);  // first part: ops[0, split)
  std::optional<chain_head> first_head;
  for (size_t i = 0; i < ops.size(); ++i) {
    if (i == split && i > 0)
      first_head = must(b.sign_head(key), "sign first head");
    CHAIN_CHECK(b.append(ops[i]) == i + 1, "append returns the next seq");
  }
  auto head = must(b.sign_head(key), "sign head");
  CHAIN_CHECK(head.seq == n, "head at the last seq");

  auto start = chain_start(database, origin);
  auto v = verify_batch(key.public_key(), database, origin, start, 1, ops, head);
  CHAIN_CHECK(v.ok() && v.state() == (chain_state{n, head.link}), describe(v));

  if (first_head) {
    std::vector<std::string> a(ops.begin(), ops.begin() + static_cast<long>(split));
    std::vector<std::string> rest(ops.begin() + static_cast<long>(split), ops.end());
    auto va = verify_batch(key.public_key(), database, origin, start, 1, a, *first_head);
    CHAIN_CHECK(va.ok() && va.state().seq == split, describe(va));
    auto vb = verify_batch(key.public_key(), database, origin, va.state(), split + 1, rest, head);
    CHAIN_CHECK(vb.ok() && vb.state() == v.state(), "resumed from the stored state: " + describe(vb));
  }

  size_t i = static_cast<size_t>((h >> 8) % n), j = static_cast<size_t>((h >> 24) % n);
  switch ((h >> 40) % 7) {
    case 0: {  // alter one operation
      auto bad = ops;
      if (bad[i].empty())
        bad[i] = "x";
      else
        bad[i][(h >> 16) % bad[i].size()] ^= static_cast<char>(1 << ((h >> 32) % 8));
      expect(verify_batch(key.public_key(), database, origin, start, 1, bad, head), chain_fault::broken_chain, n,
             "altered operation");
      break;
    }
    case 1: {  // swap two different operations
      if (ops[i] == ops[j])
        break;
      auto bad = ops;
      std::swap(bad[i], bad[j]);
      expect(verify_batch(key.public_key(), database, origin, start, 1, bad, head), chain_fault::broken_chain, n,
             "swapped operations");
      break;
    }
    case 2: {  // drop one
      auto bad = ops;
      bad.erase(bad.begin() + static_cast<long>(i));
      if (bad.empty())
        expect(verify_batch(key.public_key(), database, origin, start, 1, bad, head), chain_fault::empty_batch, 1,
               "dropped the only operation");
      else
        expect(verify_batch(key.public_key(), database, origin, start, 1, bad, head), chain_fault::seq_gap, n,
               "dropped operation");
      break;
    }
    case 3:  // another database
      expect(verify_batch(key.public_key(), database + "!", origin, chain_start(database + "!", origin), 1, ops, head),
             chain_fault::bad_signature, n, "another database");
      break;
    case 4: {  // a flipped signature bit
      auto bad = head;
      bad.sig.bytes[(h >> 16) % 64] ^= static_cast<uint8_t>(1 << ((h >> 32) % 8));
      expect(verify_batch(key.public_key(), database, origin, start, 1, ops, bad), chain_fault::bad_signature, n,
             "flipped signature");
      break;
    }
    case 5:  // replay once verified
      expect(verify_batch(key.public_key(), database, origin, v.state(), 1, ops, head), chain_fault::replay, 1,
             "replayed batch");
      break;
    default: {  // another node's key
      static const signing_key other = must(signing_key::from_seed(filled('\x22')), "other key");
      expect(verify_batch(other.public_key(), database, origin, start, 1, ops, head), chain_fault::origin_mismatch, 1,
             "another node's key");
    }
  }
}

void attacker(std::string_view in) {
  auto raw = parse_raw(in);
  if (!raw)
    return;
  auto& b = *raw;
  auto v = verify_batch(b.key, b.db, b.origin, b.prev, b.first_seq, b.ops, b.head);
  auto again = verify_batch(b.key, b.db, b.origin, b.prev, b.first_seq, b.ops, b.head);
  CHAIN_CHECK(v.ok() == again.ok() && describe(v) == describe(again), "deterministic");

  const uint64_t n = b.ops.size();
  const bool sig_ok = verify(b.key, head_message(b.db, b.origin, b.head.seq, b.head.link), b.head.sig);
  chain_link link = b.prev.link;
  for (uint64_t k = 0; k < n; ++k)
    link = chain_next(link, b.origin, b.first_seq + k, op_hash(b.ops[k]));

  // The checks' order (hash_chain.hpp) decides the answer.
  std::optional<std::pair<chain_fault, uint64_t>> want;
  if (n == 0)
    want = {chain_fault::empty_batch, b.first_seq};
  else if (node_id_of(b.key) != b.origin)
    want = {chain_fault::origin_mismatch, b.first_seq};
  else if (b.first_seq <= b.prev.seq)
    want = {chain_fault::replay, b.first_seq};
  else if (b.first_seq != b.prev.seq + 1)
    want = {chain_fault::seq_gap, b.prev.seq + 1};
  else if (b.first_seq + (n - 1) < b.first_seq)
    want = {chain_fault::seq_gap, b.first_seq};
  else if (b.head.seq > b.first_seq + (n - 1))
    want = {chain_fault::seq_gap, b.first_seq + n};
  else if (b.head.seq < b.first_seq + (n - 1))
    want = {chain_fault::seq_gap, b.head.seq + 1};
  else if (!sig_ok)
    want = {chain_fault::bad_signature, b.head.seq};
  else if (link != b.head.link)
    want = {chain_fault::broken_chain, b.head.seq};

  if (want) {
    expect(v, want->first, want->second, "attacker batch");
    CHAIN_CHECK(v.error().to_status().code != errc::none, "an error status");
    return;
  }
  CHAIN_CHECK(v.ok() && v.state() == (chain_state{b.head.seq, b.head.link}), describe(v));
  // An accepted batch stops verifying when any operation changes.
  std::vector<std::string> bad(b.ops.begin(), b.ops.end());
  uint64_t h = mix(in);
  auto& op = bad[h % n];
  op.push_back('\0');
  CHAIN_CHECK(!verify_batch(b.key, b.db, b.origin, b.prev, b.first_seq, bad, b.head).ok(), "altered op accepted");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  authentic(in);
  attacker(in);
  return 0;
}
