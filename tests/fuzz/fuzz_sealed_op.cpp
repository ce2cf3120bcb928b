// libFuzzer target for decoding and opening sealed operations
// (core/sealed_op.hpp, core/codec.hpp).
//
// One input is:
//  1. decoded as an operation (within the default decode limits); when it is
//     sealed, opened with the fixed key and database: a refusal must be a
//     clean status with a message (errc::corrupt for anything that does not
//     authenticate or contradicts the outer part); an acceptance must carry
//     the outer dot, timestamp and collection, must not be sealed, and must
//     seal back (same nonce) to exactly the input's box;
//  2. decoded as an inner encoding (decode_sealed_inner, what a member
//     holding the key could put in a box): a refusal is a clean errc::corrupt;
//     an acceptance re-encodes and decodes to the same operation;
//  3. when it decodes to a plaintext operation: sealed (random nonce) and
//     opened back to the same encoding, and refused with a bit flipped in the
//     box or with the dot moved.
#include "tests/fuzz/fuzz_sealed_op.hpp"

#include "core/codec.hpp"
#include "core/sealed_op.hpp"

#include <string>
#include <string_view>

using namespace blaze;
using namespace blaze::fuzz_sealed;

namespace {

#define SEALED_CHECK(cond, detail) FUZZ_CRYPTO_CHECK("fuzz_sealed_op", cond, detail)

void open_input(const operation& op) {
  auto r = open_operation(op, key(), database);
  if (!r.ok()) {
    SEALED_CHECK(r.error().code == errc::corrupt && !r.error().message.empty(), r.error().to_string());
    return;
  }
  SEALED_CHECK(r->k != operation::kind::sealed, "an opened operation is not sealed");
  SEALED_CHECK(r->id == op.id && r->counter == op.counter && r->collection == op.collection,
               "an opened operation keeps the outer dot, timestamp and collection");
  auto iv = crypto::wire::to_array<crypto::aes256gcm::nonce_size>(
    std::string_view(op.sealed_box).substr(5, crypto::aes256gcm::nonce_size));
  auto again = fuzz_crypto::must(seal_operation(*r, key(), database, iv), "seal");
  SEALED_CHECK(again.sealed_box == op.sealed_box, "only what seal_operation makes opens");
}

void seal_round_trip(const operation& plain, uint64_t h) {
  auto sealed = fuzz_crypto::must(seal_operation(plain, key(), database), "seal");
  auto wire = decode_operation(encode(sealed));
  SEALED_CHECK(wire.ok(), "a sealed operation decodes");
  auto back = open_operation(*wire, key(), database);
  SEALED_CHECK(back.ok() && encode(*back) == encode(plain), "seal round trip");
  auto flipped = sealed;
  flipped.sealed_box[(h >> 8) % flipped.sealed_box.size()] ^= static_cast<char>(1 << ((h >> 4) % 8));
  SEALED_CHECK(!open_operation(flipped, key(), database).ok(), "a flipped box is refused");
  auto moved = sealed;
  moved.id.seq ^= 1 + (h & 0xff);
  SEALED_CHECK(!open_operation(moved, key(), database).ok(), "a moved box is refused");
}

void inner_input(std::string_view in) {
  const dot at{node_id{0x0102030405060708ull, 0x1112131415161718ull}, 7};
  const uint64_t counter = (uint64_t{1'764'000'000'000} << 16) | 3;
  auto r = decode_sealed_inner(in, at, counter);
  if (!r.ok()) {
    SEALED_CHECK(r.error().code == errc::corrupt && !r.error().message.empty(), r.error().to_string());
    return;
  }
  auto again = decode_sealed_inner(encode_sealed_inner(*r), at, counter);
  SEALED_CHECK(again.ok() && encode(*again) == encode(*r), "an accepted inner encoding re-encodes to itself");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  inner_input(in);
  auto op = decode_operation(in);
  if (!op.ok())
    return 0;
  if (op->k == operation::kind::sealed)
    open_input(*op);
  else
    seal_round_trip(*op, fuzz_crypto::mix(in));
  return 0;
}
