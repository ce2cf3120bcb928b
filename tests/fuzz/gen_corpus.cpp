// Writes the hand-made seeds of corpus/sync_frames (files named seed-*),
// built from the real encoder and real operations (fuzz_ops.hpp):
//
//   fuzz_sync_frames_gen tests/fuzz/corpus/sync_frames
//
// Regenerating is deterministic: the same build writes the same bytes. The
// seeds are checked in; inputs libFuzzer found (hash names) and regression
// inputs (regress-*) live next to them.
#include "core/sync_codec.hpp"
#include "tests/fuzz/fuzz_ops.hpp"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

using namespace blaze;
using namespace blaze::sync;
using fuzz::op_bytes;

namespace {

const node_id A = fuzz::self_node, B = fuzz::peer_node, C{0, 0xC};
const std::string db = fuzz::database;

std::filesystem::path out_dir;
int written = 0;

void put(const std::string& name, const std::string& bytes) {
  std::ofstream f(out_dir / name, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!f) {
    std::fprintf(stderr, "cannot write %s\n", (out_dir / name).c_str());
    std::exit(1);
  }
  ++written;
}

envelope env(message m, uint16_t version = protocol_version) { return envelope{version, std::move(m)}; }
std::string fr(const envelope& e, bool compress = false) { return frame(encode(e, compress)); }
std::string fr(message m, bool compress = false) { return fr(env(std::move(m)), compress); }
/// A frame whose zstd batch really is compressed.
std::string frz(message m) {
  envelope e = env(std::move(m));
  if (encode(e, true) == encode(e, false)) {
    std::fprintf(stderr, "gen_corpus: a batch meant to be compressed was not\n");
    std::exit(1);
  }
  return fr(e, true);
}

version_vector vv(std::initializer_list<std::pair<node_id, uint64_t>> l) {
  version_vector v;
  for (auto& [o, s] : l)
    v.set(o, s);
  return v;
}

/// Operations of `origin` with the given seqs, in one batch with one range.
op_batch batch(node_id origin, uint64_t after, uint64_t through, std::vector<uint64_t> seqs,
               size_t pad = 40) {
  op_batch b{db, {{origin, after, through}}, {}};
  for (auto s : seqs)
    b.ops.push_back(op_bytes(origin, s, pad));
  return b;
}
std::vector<uint64_t> seqs(uint64_t from, uint64_t to) {
  std::vector<uint64_t> v;
  for (uint64_t s = from; s <= to; ++s)
    v.push_back(s);
  return v;
}

/// A frame header announcing `n` bytes (whatever follows).
std::string header(uint32_t n) {
  return {static_cast<char>(n >> 24), static_cast<char>(n >> 16), static_cast<char>(n >> 8),
          static_cast<char>(n)};
}

/// Ping nonces that make the fuzz target do something (see deliver()).
uint64_t commit_nonce(uint64_t pad = 40) { return 4 * pad + 1; }
uint64_t tick_nonce(uint64_t ms) { return (ms << 2) | 2; }
constexpr uint64_t reconnect_nonce = 3;

} // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUTPUT_DIR\n", argv[0]);
    return 2;
  }
  out_dir = argv[1];
  std::filesystem::create_directories(out_dir);

  const message hi = hello{B, db, true}, wel = welcome{B, db, true};
  const message req = sync_request{db, {}, {}};
  const message req_c = sync_request{db, {"c"}, vv({{A, 2}})};
  const op_batch b13 = batch(B, 0, 3, seqs(1, 3));
  const op_batch bz18 = batch(B, 0, 8, seqs(1, 8), 100);
  const message cu = caught_up{db, vv({{B, 3}})};
  const message ack6 = ack{db, vv({{A, 6}})};

  // ---- one valid frame of every kind ------------------------------------------
  put("seed-hello", fr(hi));
  put("seed-hello-nozstd", fr(hello{B, db, false}));
  put("seed-welcome", fr(wel));
  {  // the authenticated handshake's fields and the Auth message (docs/protocol.md §3a)
    hello kh{B, db, true, true, std::string(32, 'k'), std::string(32, 'c')};
    welcome kw{B, db, true, true, std::string(32, 'k'), std::string(32, 'c'), std::string(64, 's')};
    put("seed-hello-keyed", fr(kh));
    put("seed-welcome-signed", fr(kw));
    put("seed-auth", fr(auth{std::string(64, 's')}));
    put("seed-conv-auth-out-of-order", fr(kw) + fr(auth{std::string(64, 's')}) + fr(req));
  }
  put("seed-sync-request", fr(req));
  put("seed-sync-request-filtered", fr(req_c));
  put("seed-op-batch", fr(b13));
  put("seed-op-batch-zstd", frz(bz18));
  put("seed-op-batch-multi-origin",
      fr(op_batch{db, {{B, 0, 2}, {C, 0, 1}}, {op_bytes(B, 1), op_bytes(B, 2), op_bytes(C, 1)}}));
  put("seed-caught-up", fr(cu));
  put("seed-ack", fr(ack6));
  for (int c = 0; c <= static_cast<int>(error_code::timeout); ++c) {
    auto code = static_cast<error_code>(c);
    put(std::string("seed-error-") + to_string(code), fr(error{code, "a human-readable reason"}));
  }
  put("seed-ping", fr(ping{42}));

  // ---- bare envelopes (the whole input decoded as one) -----------------------
  put("seed-raw-hello", encode(env(hi)));
  put("seed-raw-sync-request", encode(env(req_c)));
  put("seed-raw-op-batch", encode(env(b13), false));
  put("seed-raw-op-batch-zstd", encode(env(bz18), true));
  put("seed-raw-ack", encode(env(ack6)));
  put("seed-raw-error", encode(env(error{error_code::corrupt, "bad"})));
  put("seed-raw-version-2", encode(env(std::monostate{}, 2)));

  // ---- other protocol versions --------------------------------------------------
  put("seed-version-2", fr(env(std::monostate{}, 2)));
  put("seed-version-0-ping", fr(env(ping{1}, 0)));
  put("seed-version-65535-hello", fr(env(hi, 65535)));

  put("seed-empty", "");

  // ---- frame lengths --------------------------------------------------------------
  put("seed-frame-over-limit", header((1 << 20) + 1) + encode(env(ping{1})));
  put("seed-frame-over-16mib", header((16 << 20) + 1) + "xxxxxxxx");
  put("seed-frame-max-u32", header(0xffffffffu));
  put("seed-frame-zero-length", header(0) + fr(ping{1}));
  put("seed-frame-at-limit-truncated", header(1 << 20) + encode(env(hi)));
  put("seed-frames-then-over-limit", fr(hi) + fr(req) + header((1 << 20) + 1) + fr(ack6));

  // ---- truncation -----------------------------------------------------------------
  {
    std::string f = fr(b13);
    put("seed-truncated-frame", f.substr(0, f.size() / 2));
    put("seed-truncated-header", f.substr(0, 2));
    std::string p = encode(env(b13), false);
    put("seed-truncated-envelope", frame(p.substr(0, p.size() - 5)));
    std::string z = encode(env(bz18), true);
    put("seed-truncated-zstd-envelope", frame(z.substr(0, z.size() * 3 / 4)));
    put("seed-trailing-bytes", frame(encode(env(ping{5})) + std::string(8, '\0')));
    put("seed-conv-truncated-tail", fr(hi) + fr(req) + f.substr(0, f.size() - 1));
  }

  // ---- conversations (several frames) --------------------------------------------
  // Each is written twice: after a Hello (seed-conv-*-r, for the fuzz
  // target's responders) and after a Welcome (seed-conv-*-i, initiators).
  // The target's sessions that did the handshake themselves take the repeated
  // Hello/Welcome of the same peer as a duplicate. `hs` is the handshake
  // frame, also used again after a reconnect.
  auto conv = [&](const std::string& name, auto body) {
    put("seed-conv-" + name + "-r", body(fr(hi)));
    put("seed-conv-" + name + "-i", body(fr(wel)));
  };
  conv("sync", [&](const std::string& hs) {
    return hs + fr(req) + fr(b13) + fr(cu) + fr(ack{db, vv({{A, 3}})}) + fr(ack6) +
           fr(ping{commit_nonce()}) + fr(ping{tick_nonce(11'000)}) + fr(ack{db, vv({{A, 7}})}) +
           frz(batch(B, 3, 10, seqs(4, 10), 100)) + fr(ping{reconnect_nonce}) + hs +
           fr(sync_request{db, {}, vv({{A, 7}})}) + fr(cu);
  });
  conv("filtered-request", [&](const std::string& hs) {
    return hs + fr(req_c) + frz(bz18) + fr(caught_up{db, vv({{B, 8}})}) + fr(ack{db, vv({{A, 1}})}) +
           fr(ack6) + fr(ping{commit_nonce(150)}) + fr(ack{db, vv({{A, 7}})});
  });
  // Only collection "c" (odd seqs) of B 1..8: a filtered receiver covers the
  // range, an unfiltered one sees a gap at seq 2 and asks again.
  conv("filtered-batch", [&](const std::string& hs) {
    return hs + fr(req_c) + fr(batch(B, 0, 8, {1, 3, 5, 7})) + fr(batch(B, 8, 9, {9})) + fr(b13) +
           fr(cu);
  });
  conv("gap", [&](const std::string& hs) {
    return hs + fr(req) + fr(batch(B, 3, 5, {4, 5})) + fr(b13) + fr(batch(B, 3, 5, {4, 5})) +
           fr(caught_up{db, vv({{B, 5}})});
  });
  // After the peer's CaughtUp a gap must be asked for again, once.
  conv("gap-after-caught-up", [&](const std::string& hs) {
    return hs + fr(cu) + fr(batch(B, 3, 5, {4, 5})) + fr(batch(B, 4, 5, {5})) + fr(b13) +
           fr(caught_up{db, vv({{B, 5}})}) + fr(batch(B, 6, 7, {7}));
  });
  conv("window", [&](const std::string& hs) {
    return hs + fr(req) + fr(ack{db, vv({{A, 1}})}) + fr(ack{db, vv({{A, 3}})}) +
           fr(sync_request{db, {"d"}, vv({{A, 2}})}) + fr(ack6) + fr(req) + fr(ack6);
  });
  conv("duplicates", [&](const std::string& hs) {
    return hs + fr(req) +
           fr(op_batch{db, {{A, 0, 3}, {B, 0, 2}},
                       {op_bytes(A, 1), op_bytes(A, 2), op_bytes(A, 3), op_bytes(B, 1), op_bytes(B, 2)}}) +
           fr(b13) + fr(b13);
  });
  conv("multi-origin", [&](const std::string& hs) {
    return hs + fr(req) +
           frz(op_batch{db, {{B, 0, 4}, {C, 0, 4}},
                        {op_bytes(B, 1, 90), op_bytes(B, 2, 90), op_bytes(B, 3, 90), op_bytes(B, 4, 90),
                         op_bytes(C, 1, 90), op_bytes(C, 2, 90), op_bytes(C, 3, 90), op_bytes(C, 4, 90)}}) +
           fr(ack6);
  });
  // Another operation under a dot the store holds (A:1): refused.
  conv("refused-equivocation", [&](const std::string& hs) {
    return hs + fr(req) + fr(op_batch{db, {{A, 0, 1}}, {op_bytes(A, 1, 41)}}) + fr(ack6);
  });
  // An operation that fails validation (collection name over 256 bytes)
  // after one that applies: refused, and B:1 stays applied.
  conv("refused-invalid", [&](const std::string& hs) {
    op_batch b{db, {{B, 0, 2}}, {op_bytes(B, 1), op_bytes(B, 2, 40, std::string(300, 'x'))}};
    return hs + fr(req) + fr(b) + fr(ack6);
  });
  // Sealed operations travel in the compact form (docs/protocol.md §4a).
  conv("sealed-compact", [&](const std::string& hs) {
    auto sealed = [](node_id origin, uint64_t seq) {
      operation op;
      op.id = dot{origin, seq};
      op.counter = (1000 + seq) << 16;
      op.collection = "c";
      op.k = operation::kind::sealed;
      op.sealed_box = std::string(69, static_cast<char>(0x40 + seq));
      return encode(op);
    };
    op_batch b{db, {{B, 0, 3}, {C, 0, 1}}, {sealed(B, 1), sealed(B, 2), sealed(B, 3), sealed(C, 1)}};
    return hs + fr(req) + fr(b) + fr(ack6);
  });
  conv("corrupt-outside-range", [&](const std::string& hs) {
    return hs + fr(op_batch{db, {{B, 0, 3}}, {op_bytes(B, 1), op_bytes(B, 4)}});
  });
  conv("corrupt-overlap", [&](const std::string& hs) {
    return hs + fr(op_batch{db, {{B, 0, 2}, {B, 2, 3}}, {op_bytes(B, 1)}});
  });
  conv("corrupt-backwards", [&](const std::string& hs) { return hs + fr(op_batch{db, {{B, 5, 3}}, {}}); });
  conv("corrupt-op-bytes", [&](const std::string& hs) {
    return hs + fr(op_batch{db, {{B, 0, 1}}, {op_bytes(B, 1).substr(0, 20)}});
  });
  conv("wrong-database", [&](const std::string& hs) {
    return hs + fr(sync_request{"other", {}, {}}) + fr(ack{"other", {}});
  });
  conv("peer-error", [&](const std::string& hs) {
    return hs + fr(error{error_code::timeout, "bye"}) + fr(req) + fr(b13);
  });
  conv("timeout", [&](const std::string& hs) {
    return hs + fr(ping{tick_nonce(30'000)}) + fr(ping{tick_nonce(31'000)}) + fr(req);
  });
  conv("keepalive", [&](const std::string& hs) {
    return hs + fr(ping{tick_nonce(10'000)}) + fr(ping{tick_nonce(9'000)}) + fr(ping{tick_nonce(50'000)}) +
           fr(ping{reconnect_nonce}) + fr(ping{tick_nonce(61'000)});
  });
  conv("reconnect", [&](const std::string& hs) {
    return hs + fr(req) + fr(ping{reconnect_nonce}) + hs + fr(sync_request{db, {}, vv({{A, 4}})}) +
           fr(ack6) + fr(ping{commit_nonce()}) + fr(ping{reconnect_nonce}) + hs + fr(req);
  });
  conv("version-mismatch", [&](const std::string& hs) {
    return hs + fr(req) + fr(env(ping{7}, 2)) + fr(ack6);
  });
  // The handshake itself going wrong.
  put("seed-conv-wrong-database-hello", fr(hello{B, "other", true}) + fr(hi));
  put("seed-conv-wrong-database-welcome", fr(welcome{B, "other", true}) + fr(wel));
  put("seed-conv-unexpected", fr(req) + fr(ack6) + fr(cu) + fr(b13) + fr(hi));
  put("seed-conv-other-peer-r", fr(hi) + fr(hi) + fr(req) + fr(hello{C, db, true}));
  put("seed-conv-other-peer-i", fr(wel) + fr(wel) + fr(req) + fr(welcome{C, db, true}));

  std::printf("wrote %d seeds to %s\n", written, out_dir.c_str());
  return 0;
}
