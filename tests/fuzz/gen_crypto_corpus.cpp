// Writes the hand-made seeds of corpus/crypto_chain and corpus/crypto_open
// (files named seed-*), made with the real builder, signer, sealer and
// wrapper and the fixed keys of fuzz_crypto.hpp:
//
//   fuzz_crypto_gen tests/fuzz/corpus
//
// The chain and sealed-payload seeds are deterministic (fixed keys, fixed
// nonces); the wrapped-key seeds are not (wrap() takes a fresh ephemeral key),
// so regenerating rewrites them with other bytes of the same shape.
#include "tests/fuzz/fuzz_crypto.hpp"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

using namespace blaze;
using namespace blaze::crypto;
using namespace blaze::fuzz_crypto;

namespace {

int written = 0;

void put(const std::filesystem::path& dir, const std::string& name, const std::string& bytes) {
  std::filesystem::create_directories(dir);
  std::ofstream f(dir / name, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!f) {
    std::fprintf(stderr, "cannot write %s\n", (dir / name).c_str());
    std::exit(1);
  }
  ++written;
}

std::vector<std::string> ops_of(size_t n, size_t size) {
  std::vector<std::string> ops;
  for (size_t i = 0; i < n; ++i) {
    std::string op = "op" + std::to_string(i + 1) + ":";
    op.resize(size, static_cast<char>('a' + i % 26));
    ops.push_back(op);
  }
  return ops;
}

void chain_seeds(const std::filesystem::path& dir) {
  put(dir, "seed-ops-empty", "");
  put(dir, "seed-ops-1", encode_ops({"hello"}));
  put(dir, "seed-ops-16", encode_ops(ops_of(16, 40)));
  put(dir, "seed-ops-sizes", encode_ops({"", "a", std::string(140, 'x'), std::string(254, 'y'), "z"}));

  const auto& key = origin_key();
  const node_id origin = key.id();
  auto ops = ops_of(5, 60);
  chain_builder b(database, origin);
  chain_state at3;
  chain_head head3;
  for (size_t i = 0; i < ops.size(); ++i) {
    b.append(ops[i]);
    if (i == 2) {
      at3 = b.state();
      head3 = must(b.sign_head(key), "head at 3");
    }
  }
  auto head = must(b.sign_head(key), "head");
  auto start = chain_start(database, origin);
  // The accepting seeds must be accepted (so the replay covers that path).
  auto accepted = [&](const std::string& bytes) {
    auto b = parse_raw(bytes);
    if (!b || !verify_batch(b->key, b->db, b->origin, b->prev, b->first_seq, b->ops, b->head).ok()) {
      std::fprintf(stderr, "gen: a seed meant to verify does not\n");
      std::exit(1);
    }
    return bytes;
  };
  put(dir, "seed-raw-valid", accepted(encode_raw(key.public_key(), head, 1, start, std::nullopt, database, ops)));
  put(dir, "seed-raw-valid-first-3", accepted(encode_raw(key.public_key(), head3, 1, start, std::nullopt, database,
                                                          std::vector<std::string>(ops.begin(), ops.begin() + 3))));
  put(dir, "seed-raw-resume", accepted(encode_raw(key.public_key(), head, 4, at3, std::nullopt, database,
                                                  std::vector<std::string>(ops.begin() + 3, ops.end()))));
  put(dir, "seed-raw-explicit-origin", accepted(encode_raw(key.public_key(), head, 1, start, origin, database, ops)));
  put(dir, "seed-raw-other-origin", encode_raw(key.public_key(), head, 1, start, node_id{1, 2}, database, ops));
  put(dir, "seed-raw-other-db", encode_raw(key.public_key(), head, 1, start, std::nullopt, "other-db", ops));
  put(dir, "seed-raw-replay", encode_raw(key.public_key(), head, 1, chain_state{5, head.link}, std::nullopt, database,
                                         ops));
  put(dir, "seed-raw-gap", encode_raw(key.public_key(), head, 2, start, std::nullopt, database, ops));
  auto swapped = ops;
  std::swap(swapped[1], swapped[2]);
  put(dir, "seed-raw-swapped", encode_raw(key.public_key(), head, 1, start, std::nullopt, database, swapped));
  auto forged = head;
  forged.sig.bytes[0] ^= 1;
  put(dir, "seed-raw-bad-signature", encode_raw(key.public_key(), forged, 1, start, std::nullopt, database, ops));
  put(dir, "seed-raw-no-ops", encode_raw(key.public_key(), head, 1, start, std::nullopt, database, {}));
}

void open_seeds(const std::filesystem::path& dir) {
  aes256gcm::nonce iv{};
  for (size_t i = 0; i < iv.size(); ++i)
    iv[i] = static_cast<uint8_t>(0xa0 + i);
  std::string op140(140, '\0');
  for (size_t i = 0; i < op140.size(); ++i)
    op140[i] = static_cast<char>(i * 13 + 1);
  auto opens = [](const std::string& sealed) {
    if (!open(content(), sealed, op_ad()).ok()) {
      std::fprintf(stderr, "gen: a sealed seed does not open\n");
      std::exit(1);
    }
    return sealed;
  };
  put(dir, "seed-sealed-empty", opens(must(seal(content(), "", op_ad(), iv), "seal")));
  put(dir, "seed-sealed-short", opens(must(seal(content(), "set title = hello", op_ad(), iv), "seal")));
  put(dir, "seed-sealed-140", opens(must(seal(content(), op140, op_ad(), iv), "seal")));
  put(dir, "seed-sealed-1000", opens(must(seal(content(), std::string(1000, 'q'), op_ad(), iv), "seal")));
  content_key epoch2(filled('\x07'), 2);
  put(dir, "seed-sealed-other-epoch", must(seal(epoch2, "set title = hello", op_ad(), iv), "seal"));
  put(dir, "seed-wrapped", must(wrap(content(), member().public_key(), database), "wrap"));
  content_key epoch7(filled('\x09'), 7);
  put(dir, "seed-wrapped-epoch-7", must(wrap(epoch7, member().public_key(), database), "wrap"));
  put(dir, "seed-wrapped-other-db", must(wrap(content(), member().public_key(), "other-db"), "wrap"));
  put(dir, "seed-text", "not a sealed payload");
}

} // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR   (writes CORPUS_DIR/crypto_chain and CORPUS_DIR/crypto_open)\n",
                 argv[0]);
    return 2;
  }
  std::filesystem::path root = argv[1];
  chain_seeds(root / "crypto_chain");
  open_seeds(root / "crypto_open");
  std::printf("wrote %d seeds under %s\n", written, root.c_str());
  return 0;
}
