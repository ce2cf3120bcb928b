// Writes the seeds of corpus/sealed_op (files named seed-*): sealed
// operations of every kind made with seal_operation and the fixed key of
// fuzz_sealed_op.hpp (fixed nonces, so deterministic), one moved to another
// dot, one sealed under another epoch, plaintext operations and their inner
// encodings.
//
//   fuzz_sealed_gen tests/fuzz/corpus/sealed_op
#include "tests/fuzz/fuzz_sealed_op.hpp"

#include "core/codec.hpp"
#include "core/sealed_op.hpp"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

using namespace blaze;
using namespace blaze::fuzz_sealed;

namespace {

void put(const std::filesystem::path& dir, const std::string& name, const std::string& bytes) {
  std::filesystem::create_directories(dir);
  std::ofstream f(dir / name, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!f) {
    std::fprintf(stderr, "cannot write %s\n", (dir / name).c_str());
    std::exit(1);
  }
}

} // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  std::filesystem::path dir = argv[1];
  crypto::aes256gcm::nonce iv{};
  for (size_t i = 0; i < iv.size(); ++i)
    iv[i] = static_cast<uint8_t>(0xa0 + i);
  const node_id origin = fuzz_crypto::origin_key().id();
  const uint64_t hlc = (uint64_t{1'764'000'000'000} << 16) | 3;

  std::vector<std::pair<std::string, operation>> plain;
  operation up;
  up.id = {origin, 7};
  up.counter = hlc;
  up.collection = "todos";
  up.record = {0x1f2e3d4c5b6a7988ull, 0x0123456789abcdefull};
  field_op set;
  set.field = "done";
  set.val = value{true};
  set.base = {hlc - 70000, node_id{5, 6}};
  up.fields.push_back(set);
  field_op inc;
  inc.field = "n";
  inc.k = field_op::kind::increment;
  inc.delta = -3;
  up.fields.push_back(inc);
  field_op rm;
  rm.field = "tags";
  rm.k = field_op::kind::remove;
  rm.val = value{value_array{value{"a"}, value{1.5}}};
  rm.observed = {dot{origin, 1}, dot{node_id{1, 2}, 3}};
  up.fields.push_back(rm);
  plain.push_back({"upsert", up});
  operation del = up;
  del.k = operation::kind::remove_record;
  del.fields.clear();
  del.observed = {{"n", origin, 4, 1}};
  plain.push_back({"delete", del});
  operation ci = up;
  ci.k = operation::kind::create_index;
  ci.fields.clear();
  ci.record = {};
  ci.index_field = "done";
  plain.push_back({"create-index", ci});

  for (auto& [name, op] : plain) {
    auto sealed = fuzz_crypto::must(seal_operation(op, key(), database, iv), "seal");
    if (!open_operation(sealed, key(), database).ok()) {
      std::fprintf(stderr, "gen: a sealed seed does not open\n");
      return 1;
    }
    put(dir, "seed-sealed-" + name, encode(sealed));
    put(dir, "seed-plain-" + name, encode(op));
    put(dir, "seed-inner-" + name, encode_sealed_inner(op));
  }
  auto moved = fuzz_crypto::must(seal_operation(up, key(), database, iv), "seal");
  moved.id.seq = 8;
  put(dir, "seed-sealed-moved", encode(moved));
  crypto::content_key epoch2(fuzz_crypto::filled('\x07'), 2);
  put(dir, "seed-sealed-epoch-2", encode(fuzz_crypto::must(seal_operation(up, epoch2, database, iv), "seal")));
  return 0;
}
