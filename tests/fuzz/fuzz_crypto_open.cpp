// libFuzzer target for opening sealed payloads and unwrapping keys
// (core/crypto/aead.hpp, core/crypto/key_wrap.hpp).
//
// One input is:
//  1. opened as a sealed payload with the fixed content key and associated
//     data (fuzz_crypto.hpp): a refusal must be a clean errc::corrupt with a
//     message; an acceptance must be exactly what seal() makes of the
//     plaintext with that nonce (nothing else opens);
//  2. unwrapped as a wrapped key for the fixed member key: a refusal is a
//     clean errc::corrupt; an acceptance is an 85-byte input naming the
//     epoch it returns;
//  3. sealed (as plaintext, with associated data derived from it) and
//     opened back, then opened again with one bit flipped and cut at one
//     length the input picks: both must fail;
//  4. used as a content key (SHA-256 of the input, an epoch from it) that is
//     wrapped for the member, unwrapped back, and refused with a bit flipped.
#include "tests/fuzz/fuzz_crypto.hpp"

#include "core/crypto/sha256.hpp"

#include <string>
#include <string_view>

using namespace blaze;
using namespace blaze::crypto;
using namespace blaze::fuzz_crypto;

namespace {

#define OPEN_CHECK(cond, detail) FUZZ_CRYPTO_CHECK("fuzz_crypto_open", cond, detail)

template <class T> void clean_refusal(const result<T>& r, const char* what) {
  OPEN_CHECK(!r.ok() && r.error().code == errc::corrupt && !r.error().message.empty(), what);
}

void open_input(std::string_view in) {
  auto r = open(content(), in, op_ad());
  auto epoch = sealed_epoch(in);
  if (!r.ok()) {
    clean_refusal(r, "a refused payload is errc::corrupt with a message");
    return;
  }
  OPEN_CHECK(epoch.ok() && *epoch == content().epoch(), "an opened payload names the key's epoch");
  auto iv = wire::to_array<aes256gcm::nonce_size>(in.substr(5, aes256gcm::nonce_size));
  auto again = must(seal(content(), *r, op_ad(), iv), "seal");
  OPEN_CHECK(again == in, "only what seal() makes opens");
}

void unwrap_input(std::string_view in) {
  auto r = unwrap(in, member(), database);
  if (!r.ok()) {
    clean_refusal(r, "a refused wrapped key is errc::corrupt with a message");
    return;
  }
  OPEN_CHECK(in.size() == wrapped_size && r->epoch() == wire::get_u32(in.data() + 1), "an unwrapped key's epoch");
}

void seal_round_trip(std::string_view in, uint64_t h) {
  auto ad = op_associated_data(database, std::string(in.substr(0, h % 9)), {origin_key().id(), h});
  auto sealed = must(seal(content(), in, ad), "seal");
  OPEN_CHECK(sealed.size() == in.size() + sealed_overhead, "sealed size");
  auto back = open(content(), sealed, ad);
  OPEN_CHECK(back.ok() && *back == in, "round trip");
  auto flipped = sealed;
  flipped[(h >> 8) % flipped.size()] ^= static_cast<char>(1 << ((h >> 4) % 8));
  clean_refusal(open(content(), flipped, ad), "a flipped bit is refused");
  clean_refusal(open(content(), std::string_view(sealed).substr(0, (h >> 16) % sealed.size()), ad),
                "a truncated payload is refused");
  auto other_ad = ad;
  other_ad.back() ^= 1;
  clean_refusal(open(content(), sealed, other_ad), "another dot is refused");
}

void wrap_round_trip(std::string_view in, uint64_t h) {
  auto d = sha256(in);
  content_key key(must(secret_bytes<32>::from(as_view(d)), "key"), static_cast<uint32_t>(h));
  auto wrapped = must(wrap(key, member().public_key(), database), "wrap");
  auto back = unwrap(wrapped, member(), database);
  OPEN_CHECK(back.ok() && back->epoch() == key.epoch() && back->key().equals(key.key()), "wrap round trip");
  auto flipped = wrapped;
  flipped[(h >> 8) % flipped.size()] ^= static_cast<char>(1 << ((h >> 4) % 8));
  clean_refusal(unwrap(flipped, member(), database), "a flipped wrapped key is refused");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  uint64_t h = mix(in);
  open_input(in);
  unwrap_input(in);
  seal_round_trip(in, h);
  wrap_round_trip(in, h);
  return 0;
}
