// Shared by the crypto fuzz targets (fuzz_crypto_chain.cpp,
// fuzz_crypto_open.cpp) and their seed generator (gen_crypto_corpus.cpp): the
// fixed keys, and how an input is read as operations or as an attacker's
// batch.
#pragma once

#include "core/crypto/aead.hpp"
#include "core/crypto/content_key.hpp"
#include "core/crypto/ed25519.hpp"
#include "core/crypto/hash_chain.hpp"
#include "core/crypto/key_wrap.hpp"
#include "core/crypto/wire.hpp"

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace blaze::fuzz_crypto {

inline const std::string database = "fuzz-db";
inline const std::string collection = "notes";

[[noreturn]] inline void violated(const char* target, const char* what, const std::string& detail = {}) {
  std::fprintf(stderr, "\n%s: INVARIANT VIOLATED: %s%s%s\n", target, what, detail.empty() ? "" : ": ",
               detail.c_str());
  std::abort();
}

/// Checks an invariant of `target`; a violation prints it and aborts, so
/// libFuzzer records the input as a crash.
#define FUZZ_CRYPTO_CHECK(target, cond, detail)                                                    \
  do {                                                                                             \
    if (!(cond))                                                                                   \
      ::blaze::fuzz_crypto::violated(target, #cond, detail);                                       \
  } while (0)

template <class T> T must(result<T> r, const char* what) {
  if (!r)
    violated("fuzz_crypto", what, r.error().to_string());
  return std::move(*r);
}

inline crypto::secret_bytes<32> filled(char c) { return must(crypto::secret_bytes<32>::from(std::string(32, c)), "key"); }

/// The origin whose chains the targets build (seed 32 x 0x11).
inline const crypto::signing_key& origin_key() {
  static const crypto::signing_key k = must(crypto::signing_key::from_seed(filled('\x11')), "origin key");
  return k;
}
/// The content key payloads are sealed with (32 x 0x07, epoch 1).
inline const crypto::content_key& content() {
  static const crypto::content_key k(filled('\x07'), 1);
  return k;
}
/// The member key keys are wrapped for (32 x 0x33).
inline const crypto::x25519_key& member() {
  static const crypto::x25519_key k = must(crypto::x25519_key::from_raw(filled('\x33')), "member key");
  return k;
}
/// The associated data of the sealed operation the targets open.
inline const std::string& op_ad() {
  static const std::string ad = crypto::op_associated_data(database, collection, {origin_key().id(), 7});
  return ad;
}

/// Operations: a sequence of (u8 length, bytes); a cut last one is dropped.
inline std::vector<std::string_view> parse_ops(std::string_view in, size_t max_ops = 64) {
  std::vector<std::string_view> ops;
  size_t at = 0;
  while (at < in.size() && ops.size() < max_ops) {
    size_t n = static_cast<uint8_t>(in[at++]);
    if (in.size() - at < n)
      break;
    ops.push_back(in.substr(at, n));
    at += n;
  }
  return ops;
}
inline std::string encode_ops(const std::vector<std::string>& ops) {
  std::string out;
  for (auto& op : ops) {
    out.push_back(static_cast<char>(op.size() < 255 ? op.size() : 255));
    out.append(op.substr(0, 255));
  }
  return out;
}

/// An attacker's batch, as fuzz_crypto_chain reads the whole input:
///   pk(32) sig(64) head link(32) u64 head seq, u64 first seq, u64 prev seq,
///   prev link(32), u8 flags (bit 0: an origin(16) follows, else the origin
///   is node_id_of(pk)), [origin(16)], u8 len + database, operations (parse_ops).
struct raw_batch {
  crypto::ed25519_public_key key;
  crypto::chain_head head;
  uint64_t first_seq = 0;
  crypto::chain_state prev;
  node_id origin;
  std::string db;
  std::vector<std::string_view> ops;
};

inline uint64_t get_u64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i)
    v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

inline std::optional<raw_batch> parse_raw(std::string_view in) {
  constexpr size_t fixed = 32 + 64 + 32 + 8 + 8 + 8 + 32 + 1;
  if (in.size() < fixed)
    return std::nullopt;
  raw_batch b;
  b.key = *crypto::ed25519_public_key::from_bytes(in.substr(0, 32));
  b.head.sig = *crypto::signature::from_bytes(in.substr(32, 64));
  b.head.link = crypto::wire::to_array<32>(in.substr(96, 32));
  b.head.seq = get_u64(in.data() + 128);
  b.first_seq = get_u64(in.data() + 136);
  b.prev.seq = get_u64(in.data() + 144);
  b.prev.link = crypto::wire::to_array<32>(in.substr(152, 32));
  auto flags = static_cast<uint8_t>(in[184]);
  size_t at = fixed;
  if (flags & 1) {
    if (in.size() - at < 16)
      return std::nullopt;
    b.origin = id128::from_bytes(reinterpret_cast<const unsigned char*>(in.data() + at));
    at += 16;
  } else {
    b.origin = crypto::node_id_of(b.key);
  }
  if (at >= in.size())
    return std::nullopt;
  size_t dbn = static_cast<uint8_t>(in[at++]);
  if (in.size() - at < dbn)
    return std::nullopt;
  b.db = std::string(in.substr(at, dbn));
  at += dbn;
  b.ops = parse_ops(in.substr(at));
  return b;
}

inline std::string encode_raw(const crypto::ed25519_public_key& key, const crypto::chain_head& head, uint64_t first_seq,
                              const crypto::chain_state& prev, const std::optional<node_id>& origin,
                              const std::string& db, const std::vector<std::string>& ops) {
  std::string out;
  out.append(key.view());
  out.append(head.sig.view());
  crypto::wire::put_fixed(out, head.link);
  crypto::wire::put_u64(out, head.seq);
  crypto::wire::put_u64(out, first_seq);
  crypto::wire::put_u64(out, prev.seq);
  crypto::wire::put_fixed(out, prev.link);
  crypto::wire::put_u8(out, origin ? 1 : 0);
  if (origin)
    crypto::wire::put_id(out, *origin);
  crypto::wire::put_u8(out, static_cast<uint8_t>(db.size()));
  out.append(db);
  out.append(encode_ops(ops));
  return out;
}

/// A small deterministic hash of the input, to pick mutations.
inline uint64_t mix(std::string_view in) {
  uint64_t h = 1469598103934665603ull;
  for (char c : in)
    h = (h ^ static_cast<uint8_t>(c)) * 1099511628211ull;
  return h;
}

} // namespace blaze::fuzz_crypto
