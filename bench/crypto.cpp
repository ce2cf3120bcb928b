// The `crypto` suite (issue 4 item 9, docs/security.md): the cost of the
// cryptographic core on one core: Ed25519 sign and verify, hash chain
// verification per operation at batch sizes 1, 64 and 1024, AES-256-GCM seal
// and open of a 140-byte operation, key wrap and unwrap, the bytes each
// sealed operation carries, and SHA-256 of 140 bytes as the reference.
#include "bench/suite.hpp"

#include "core/crypto/aead.hpp"
#include "core/crypto/ed25519.hpp"
#include "core/crypto/hash_chain.hpp"
#include "core/crypto/key_wrap.hpp"
#include "core/crypto/sha256.hpp"

#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace blaze::bench {

namespace {

using namespace blaze::crypto;

constexpr size_t op_size = 140;  // a one-field update, encoded, with room to spare

std::string op_bytes(size_t i) {
  std::string op = "op " + std::to_string(i) + " ";
  op.resize(op_size, static_cast<char>('a' + i % 26));
  return op;
}

/// Calls `once()` (which returns how many operations it did) until `seconds`
/// have passed; returns operations per second. The clock is read every
/// `chunk` calls.
template <class F> double rate(double seconds, size_t chunk, F&& once) {
  once();  // warm: first-use fetches, caches
  uint64_t ops = 0;
  auto t0 = steady::now();
  double el = 0;
  do {
    for (size_t i = 0; i < chunk; ++i)
      ops += once();
    el = seconds_since(t0);
  } while (el < seconds);
  return static_cast<double>(ops) / el;
}

} // namespace

int run_crypto(const options& opts) {
  const int runs = opts.runs;
  const double secs = opts.quick ? 0.1 : 0.4;
  progress("crypto suite, " + std::to_string(runs) + " runs per figure of " + num(secs, 1) + " s each" +
           (opts.quick ? " (quick)" : "") + ", one thread, load average " + load_average() + " (" +
           std::to_string(std::thread::hardware_concurrency()) + " cores)");

  auto key = checked(signing_key::generate(), "Ed25519 key");
  const std::string db = "bench-db:owner";
  const node_id origin = key.id();
  const std::string op = op_bytes(0);

  // Reference: SHA-256 of one 140-byte operation, measured next to each run
  // of the figures compared with it (ratios are per pair), and on its own.
  figure sha{"sha256_140b_per_s", "hashes/s", target{}, 0, {}, "reference: SHA-256 (EVP) of 140 bytes"};
  auto sha_rate = [&] {
    volatile uint8_t sink = 0;
    double x = rate(secs, 1000, [&] {
      sink = sink ^ sha256(op)[0];
      return 1;
    });
    sha.samples.push_back(x);
    return x;
  };
  if (opts.wants("reference"))
    for (int r = 0; r < runs; ++r)
      sha_rate();

  if (opts.wants("ed25519")) {
    figure sign_f{"ed25519_sign_per_s", "signatures/s", target{}, 0, {}, "signing_key::sign of 140 bytes, one core"};
    figure verify_f{"ed25519_verify_per_s", "verifications/s", target{}, 0, {},
                    "crypto::verify of a 140-byte message, one core (public key parsed per call)"};
    auto sig = checked(key.sign(op), "sign");
    for (int r = 0; r < runs; ++r) {
      sign_f.samples.push_back(rate(secs, 50, [&] {
        checked(key.sign(op), "sign");
        return 1;
      }));
      verify_f.samples.push_back(rate(secs, 50, [&] {
        if (!verify(key.public_key(), op, sig))
          throw std::runtime_error("a good signature did not verify");
        return 1;
      }));
      progress("ed25519 run " + std::to_string(r + 1) + ": sign " + num(sign_f.samples.back(), 0) + "/s, verify " +
               num(verify_f.samples.back(), 0) + "/s");
    }
    report(sign_f);
    report(verify_f);
  }

  if (opts.wants("chain")) {
    for (size_t n : {size_t{1}, size_t{64}, size_t{1024}}) {
      std::vector<std::string> ops;
      for (size_t i = 0; i < n; ++i)
        ops.push_back(op_bytes(i));
      chain_builder b(db, origin);
      for (auto& o : ops)
        b.append(o);
      auto head = checked(b.sign_head(key), "sign head");
      auto start = chain_start(db, origin);
      figure f{"chain_verify_ops_per_s_batch_" + std::to_string(n), "ops/s", target{}, 0, {}, ""};
      figure ratio{"chain_verify_batch_" + std::to_string(n) + "_vs_sha256_ratio", "ratio", target{}, 4, {}, ""};
      f.note = "verify_batch of " + std::to_string(n) + " operations of " + std::to_string(op_size) +
               " bytes (one Ed25519 verification and 2 SHA-256 per operation), operations per second";
      ratio.note = "chain_verify_ops_per_s_batch_" + std::to_string(n) + " / sha256_140b_per_s measured right after it, median of the pairs";
      for (int r = 0; r < runs; ++r) {
        double x = rate(secs, n >= 64 ? 1 : 20, [&] {
          auto v = verify_batch(key.public_key(), db, origin, start, 1, ops, head);
          if (!v)
            throw std::runtime_error("a good batch did not verify: " + v.error().message);
          return n;
        });
        f.samples.push_back(x);
        ratio.samples.push_back(x / sha_rate());
      }
      progress("chain batch " + std::to_string(n) + ": " + num(median(f.samples), 0) + " ops/s");
      report(f);
      report(ratio);
    }
  }

  if (opts.wants("aead")) {
    auto ck = checked(content_key::generate(), "content key");
    auto ad = op_associated_data(db, "items", {origin, 12345});
    auto sealed = checked(seal(ck, op, ad), "seal");
    figure seal_f{"aes256gcm_seal_140b_per_s", "ops/s", target{}, 0, {},
                  "seal() of a 140-byte operation with op_associated_data (random nonce from RAND_bytes included)"};
    figure open_f{"aes256gcm_open_140b_per_s", "ops/s", target{}, 0, {}, "open() of the same sealed operation"};
    figure seal_mb{"aes256gcm_seal_140b_mb_per_s", "MB/s", target{}, 1, {}, "plaintext MB (10^6 bytes) per second"};
    figure open_mb{"aes256gcm_open_140b_mb_per_s", "MB/s", target{}, 1, {}, "plaintext MB (10^6 bytes) per second"};
    figure ratio{"aes256gcm_seal_vs_sha256_ratio", "ratio", target{}, 3, {}, "seal/s over sha256_140b_per_s measured right after it, median of the pairs"};
    for (int r = 0; r < runs; ++r) {
      double s = rate(secs, 200, [&] {
        checked(seal(ck, op, ad), "seal");
        return 1;
      });
      double o = rate(secs, 200, [&] {
        if (checked(open(ck, sealed, ad), "open").size() != op.size())
          throw std::runtime_error("open returned the wrong size");
        return 1;
      });
      seal_f.samples.push_back(s);
      open_f.samples.push_back(o);
      seal_mb.samples.push_back(s * op_size / 1e6);
      open_mb.samples.push_back(o * op_size / 1e6);
      ratio.samples.push_back(s / sha_rate());
      progress("aead run " + std::to_string(r + 1) + ": seal " + num(s, 0) + "/s, open " + num(o, 0) + "/s");
    }
    report(seal_f);
    report(open_f);
    report(seal_mb);
    report(open_mb);
    report(ratio);

    // Bytes: exact, one sample.
    figure over{"sealed_op_overhead_bytes", "bytes", target{}, 0, {static_cast<double>(sealed.size() - op.size())},
                "version 1 + epoch 4 + nonce 12 + tag 16 per sealed payload"};
    report(over);
    figure per_op{"signed_sealed_overhead_bytes_per_op_batch_64", "bytes", target{}, 1,
                  {static_cast<double>(sealed_overhead) + (8 + 32 + 64) / 64.0},
                  "sealed overhead + a chain head (seq 8 + link 32 + signature 64 bytes) shared by 64 operations; "
                  "the operation's own encoding not included"};
    report(per_op);
  }

  if (opts.wants("wrap")) {
    auto member = checked(x25519_key::generate(), "member key");
    auto ck = checked(content_key::generate(), "content key");
    auto wrapped = checked(wrap(ck, member.public_key(), db), "wrap");
    figure wrap_f{"key_wrap_per_s", "wraps/s", target{}, 0, {},
                  "wrap(): X25519 key generation and agreement, HKDF-SHA256, AES-256-GCM"};
    figure unwrap_f{"key_unwrap_per_s", "unwraps/s", target{}, 0, {},
                    "unwrap(): X25519 agreement, HKDF-SHA256, AES-256-GCM"};
    for (int r = 0; r < runs; ++r) {
      wrap_f.samples.push_back(rate(secs, 20, [&] {
        checked(wrap(ck, member.public_key(), db), "wrap");
        return 1;
      }));
      unwrap_f.samples.push_back(rate(secs, 20, [&] {
        checked(unwrap(wrapped, member, db), "unwrap");
        return 1;
      }));
      progress("wrap run " + std::to_string(r + 1) + ": wrap " + num(wrap_f.samples.back(), 0) + "/s, unwrap " +
               num(unwrap_f.samples.back(), 0) + "/s");
    }
    report(wrap_f);
    report(unwrap_f);
    figure wb{"wrapped_key_bytes", "bytes", target{}, 0, {static_cast<double>(wrapped.size())},
              "per member per epoch"};
    report(wb);
  }

  if (!sha.samples.empty())
    report(sha);
  progress("done, load average " + load_average());
  return 0;
}

} // namespace blaze::bench
