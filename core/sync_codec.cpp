#include "core/sync_codec.hpp"

#include "core/write.hpp"
#include "schema/sync.capnp.h"

#include <capnp/message.h>
#include <capnp/serialize-packed.h>
#include <capnp/serialize.h>
#include <kj/exception.h>
#include <kj/io.h>

#include <zstd.h>

#include <algorithm>
#include <cstring>

namespace blaze::sync {

namespace s = blaze::schema;

const char* to_string(error_code c) {
  switch (c) {
    case error_code::none: return "none";
    case error_code::version_mismatch: return "version_mismatch";
    case error_code::unexpected: return "unexpected";
    case error_code::corrupt: return "corrupt";
    case error_code::unknown_database: return "unknown_database";
    case error_code::refused: return "refused";
    case error_code::timeout: return "timeout";
    case error_code::unauthenticated: return "unauthenticated";
    case error_code::forbidden: return "forbidden";
  }
  return "unknown";
}

const char* kind_name(const message& m) {
  static const char* names[] = {"none", "Hello", "Welcome", "SyncRequest", "OpBatch",
                                "CaughtUp", "Ack", "Error", "Ping", "Snapshot", "Auth"};
  return names[m.index()];
}

size_t batch_bytes(const op_batch& b) {
  size_t n = 0;
  for (auto& o : b.ops)
    n += o.size();
  return n;
}

size_t snapshot_bytes(const snapshot& m) {
  size_t n = 0;
  for (auto& e : m.entries)
    n += e.collection.size() + 16 + e.state.size();
  return n;
}

namespace {

void put(s::Id128::Builder b, const id128& x) {
  b.setHi(x.hi);
  b.setLo(x.lo);
}
id128 get(s::Id128::Reader r) { return {r.getHi(), r.getLo()}; }
void put(s::Timestamp::Builder b, const timestamp& t) {
  b.setCounter(t.counter);
  put(b.initNode(), t.node);
}
timestamp get(s::Timestamp::Reader r) { return {r.getCounter(), get(r.getNode())}; }

capnp::Text::Reader text(const std::string& s) { return {s.data(), s.size()}; }
std::string str(capnp::Text::Reader t) { return std::string(t.begin(), t.size()); }
capnp::Data::Reader as_data(const std::string& s) {
  return {reinterpret_cast<const kj::byte*>(s.data()), s.size()};
}
std::string str(capnp::Data::Reader d) {
  return std::string(reinterpret_cast<const char*>(d.begin()), d.size());
}

void put(capnp::List<s::VersionEntry>::Builder l, const version_vector& vv) {
  unsigned i = 0;
  for (auto& [origin, seq] : vv.entries()) {
    put(l[i].initOrigin(), origin);
    l[i].setSeq(seq);
    ++i;
  }
}
template <class B> void put_vv(B b, const version_vector& vv) {
  put(b.initVersionVector(static_cast<unsigned>(vv.entries().size())), vv);
}
[[noreturn]] void fail(const char* what);

// Lists are bounded by the bytes that carry them: a list of zero-size
// elements costs almost nothing on the wire but 40+ bytes each in memory
// (a 16 KB packed OpBatch could ask for 8M ranges). Every element a correct
// peer sends costs at least one byte of packed input (a word of a flat one).
thread_local size_t list_budget = 0;
struct list_budget_scope {
  size_t saved;
  explicit list_budget_scope(size_t n) : saved(list_budget) { list_budget = n; }
  ~list_budget_scope() { list_budget = saved; }
};
void check_list(size_t n, const char* what) {
  if (n > list_budget)
    fail((std::string(what) + ": more list elements than the message has bytes").c_str());
}

version_vector get(capnp::List<s::VersionEntry>::Reader l) {
  check_list(l.size(), "version vector");
  version_vector vv;
  for (auto e : l) {
    auto o = get(e.getOrigin());
    if (e.getSeq() > vv.get(o))
      vv.set(o, e.getSeq());
  }
  return vv;
}

[[noreturn]] void fail(const char* what) {
  throw kj::Exception(kj::Exception::Type::FAILED, __FILE__, __LINE__, kj::str(what));
}

std::string flat_bytes(capnp::MessageBuilder& mb) {
  auto words = capnp::messageToFlatArray(mb);
  auto b = words.asBytes();
  return std::string(reinterpret_cast<const char*>(b.begin()), b.size());
}

// zstd of an OpList message, or nullopt when that is not smaller.
std::optional<std::pair<uint32_t, std::string>> compress_ops(const std::vector<std::string>& ops,
                                                             size_t plain_size) {
  capnp::MallocMessageBuilder mb;
  auto l = mb.initRoot<s::OpList>().initOps(static_cast<unsigned>(ops.size()));
  for (unsigned i = 0; i < ops.size(); ++i)
    l.set(i, as_data(ops[i]));
  auto raw = flat_bytes(mb);
  std::string out(ZSTD_compressBound(raw.size()), '\0');
  size_t n = ZSTD_compress(out.data(), out.size(), raw.data(), raw.size(), 3);
  if (ZSTD_isError(n) || n + 16 >= plain_size)
    return std::nullopt;
  out.resize(n);
  return std::make_pair(static_cast<uint32_t>(raw.size()), std::move(out));
}

void put_range(s::OpRange::Builder b, const op_range& r) {
  put(b.initOrigin(), r.origin);
  b.setAfter(r.after);
  b.setThrough(r.through);
  if (!r.link.empty())
    b.setLink(as_data(r.link));
  if (!r.signature.empty())
    b.setSignature(as_data(r.signature));
  if (!r.origin_key.empty())
    b.setOriginKey(as_data(r.origin_key));
  if (!r.skipped.empty())
    b.setSkipped(as_data(r.skipped));
}

// A range and its head; the head's fields are all absent or all of their
// exact sizes, and `skipped` whole digests.
op_range get_range(s::OpRange::Reader r) {
  op_range out{get(r.getOrigin()), r.getAfter(), r.getThrough(), str(r.getLink()), str(r.getSignature()),
               str(r.getOriginKey()), str(r.getSkipped())};
  bool none = out.link.empty() && out.signature.empty() && out.origin_key.empty();
  if (!none && (out.link.size() != 32 || out.signature.size() != 64 || out.origin_key.size() != 32))
    fail("OpRange: a signed head needs a 32-byte link, a 64-byte signature and a 32-byte origin key");
  if (out.skipped.size() % 32 != 0)
    fail("OpRange: skipped hashes are not a whole number of 32-byte digests");
  return out;
}

void put(capnp::List<s::SnapshotEntry>::Builder l, const std::vector<snapshot_entry>& entries) {
  for (unsigned i = 0; i < entries.size(); ++i) {
    l[i].setCollection(text(entries[i].collection));
    put(l[i].initRecord(), entries[i].record);
    l[i].setState(as_data(entries[i].state));
  }
}

void get(capnp::List<s::SnapshotEntry>::Reader l, std::vector<snapshot_entry>& out) {
  check_list(l.size(), "snapshot entries");
  out.reserve(l.size());
  for (auto e : l)
    out.push_back({str(e.getCollection()), get(e.getRecord()), str(e.getState())});
}

// zstd of an EntryList message, or nullopt when that is not smaller.
std::optional<std::pair<uint32_t, std::string>> compress_entries(const std::vector<snapshot_entry>& entries,
                                                                 size_t plain_size) {
  capnp::MallocMessageBuilder mb;
  put(mb.initRoot<s::EntryList>().initEntries(static_cast<unsigned>(entries.size())), entries);
  auto raw = flat_bytes(mb);
  std::string out(ZSTD_compressBound(raw.size()), '\0');
  size_t n = ZSTD_compress(out.data(), out.size(), raw.data(), raw.size(), 3);
  if (ZSTD_isError(n) || n + 16 >= plain_size)
    return std::nullopt;
  out.resize(n);
  return std::make_pair(static_cast<uint32_t>(raw.size()), std::move(out));
}

// The flat words of a Compressed payload (checked against the limits).
kj::Array<capnp::word> decompress(s::Compressed::Reader c, const wire_limits& lim, const char* what) {
  size_t raw = c.getRawSize();
  if (raw > lim.max_message || raw % sizeof(capnp::word) != 0 || raw == 0)
    fail((std::string(what) + ": bad raw size").c_str());
  auto in = c.getData();
  auto words = kj::heapArray<capnp::word>(raw / sizeof(capnp::word));
  size_t n = ZSTD_decompress(words.begin(), raw, in.begin(), in.size());
  if (ZSTD_isError(n) || n != raw)
    fail((std::string(what) + ": zstd frame does not decompress to rawSize").c_str());
  return words;
}

void decompress_entries(s::Compressed::Reader c, const wire_limits& lim, std::vector<snapshot_entry>& out) {
  auto words = decompress(c, lim, "compressed snapshot");
  list_budget_scope budget(words.size());
  capnp::ReaderOptions opts;
  opts.traversalLimitInWords = 4 * words.size() + 64;
  opts.nestingLimit = lim.nesting;
  capnp::FlatArrayMessageReader reader(words.asPtr(), opts);
  if (reader.getEnd() != words.end())
    fail("compressed snapshot: trailing bytes");
  get(reader.getRoot<s::EntryList>().getEntries(), out);
}

// ---- the compact form of sealed batches (schema SealedOps) ------------------

void put_varint(std::string& out, uint64_t x) {
  while (x >= 0x80) {
    out.push_back(static_cast<char>((x & 0x7f) | 0x80));
    x >>= 7;
  }
  out.push_back(static_cast<char>(x));
}

uint64_t get_varint(std::string_view& in) {
  uint64_t x = 0;
  for (unsigned shift = 0; shift < 64; shift += 7) {
    if (in.empty())
      fail("sealed batch: truncated varint");
    auto b = static_cast<uint8_t>(in.front());
    in.remove_prefix(1);
    if (shift == 63 && b > 1)
      fail("sealed batch: varint overflows 64 bits");
    x |= static_cast<uint64_t>(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      if (b == 0 && shift != 0)
        fail("sealed batch: varint not in its shortest form");
      return x;
    }
  }
  fail("sealed batch: varint longer than 10 bytes");
}

uint64_t zigzag(int64_t x) { return (static_cast<uint64_t>(x) << 1) ^ static_cast<uint64_t>(x >> 63); }
int64_t unzigzag(uint64_t x) { return static_cast<int64_t>(x >> 1) ^ -static_cast<int64_t>(x & 1); }

struct sealed_form {
  std::vector<node_id> origins;
  std::vector<std::string> collections;
  std::string data;
};

// The compact form of `ops`, or nullopt when an operation is not sealed,
// carries a transaction tag or a record id, or would not re-encode to its
// exact bytes.
std::optional<sealed_form> compact_sealed(const std::vector<std::string>& ops) {
  if (ops.empty())
    return std::nullopt;
  sealed_form f;
  std::vector<std::pair<uint64_t, uint64_t>> last;  // per origin index: seq, counter
  f.data.reserve(ops.size() * 80);
  for (auto& bytes : ops) {
    auto op = decode_operation(bytes);
    if (!op || op->k != operation::kind::sealed || !op->txn.empty() || !(op->record == record_id{}) ||
        op->sealed_box.size() < 33 || op->collection.size() > limits{}.max_collection_name || encode(*op) != bytes)
      return std::nullopt;  // (the receiver refuses what a store would not take)
    auto oi = std::find(f.origins.begin(), f.origins.end(), op->id.origin) - f.origins.begin();
    auto ci = std::find(f.collections.begin(), f.collections.end(), op->collection) - f.collections.begin();
    bool first = static_cast<size_t>(oi) == f.origins.size();
    if (first) {
      f.origins.push_back(op->id.origin);
      last.emplace_back(0, 0);
    }
    if (static_cast<size_t>(ci) == f.collections.size())
      f.collections.push_back(op->collection);
    auto& [seq, counter] = last[oi];
    if (!first && op->id.seq <= seq)
      return std::nullopt;  // (a batch holds each origin's operations in ascending order)
    put_varint(f.data, static_cast<uint64_t>(oi));
    put_varint(f.data, static_cast<uint64_t>(ci));
    put_varint(f.data, first ? op->id.seq : op->id.seq - seq);
    put_varint(f.data, first ? op->counter : zigzag(static_cast<int64_t>(op->counter - counter)));
    put_varint(f.data, op->sealed_box.size());
    f.data += op->sealed_box;
    seq = op->id.seq;
    counter = op->counter;
  }
  return f;
}

// Rebuilds the operations; what they add up to is bounded like a
// decompressed batch (lim.max_message), since short entries naming a long
// collection would otherwise multiply it.
std::vector<std::string> expand_sealed(s::SealedOps::Reader r, const wire_limits& lim) {
  check_list(r.getOrigins().size(), "sealed batch origins");
  check_list(r.getCollections().size(), "sealed batch collections");
  std::vector<node_id> origins;
  for (auto o : r.getOrigins()) {
    origins.push_back(get(o));
    if (std::find(origins.begin(), origins.end() - 1, origins.back()) != origins.end() - 1)
      fail("sealed batch: an origin listed twice");
  }
  std::vector<std::string> collections;
  for (auto c : r.getCollections()) {
    collections.push_back(str(c));
    if (collections.back().size() > limits{}.max_collection_name)
      fail("sealed batch: a collection name over the maximum length");
    if (std::find(collections.begin(), collections.end() - 1, collections.back()) != collections.end() - 1)
      fail("sealed batch: a collection listed twice");
  }
  size_t rebuilt = 0;
  std::vector<std::pair<uint64_t, uint64_t>> last(origins.size());
  std::vector<bool> seen(origins.size());
  auto data = r.getData();
  std::string_view in(reinterpret_cast<const char*>(data.begin()), data.size());
  std::vector<std::string> ops;
  while (!in.empty()) {
    auto oi = get_varint(in);
    auto ci = get_varint(in);
    if (oi >= origins.size() || ci >= collections.size())
      fail("sealed batch: origin or collection index out of range");
    auto seq = get_varint(in);
    auto counter = get_varint(in);
    auto& [prev_seq, prev_counter] = last[oi];
    if (seen[oi]) {
      if (seq == 0 || seq > UINT64_MAX - prev_seq)
        fail("sealed batch: seqs of an origin must ascend");
      seq += prev_seq;
      counter = prev_counter + static_cast<uint64_t>(unzigzag(counter));
    }
    if (seq == 0)
      fail("sealed batch: seq 0");
    seen[oi] = true;
    prev_seq = seq;
    prev_counter = counter;
    auto size = get_varint(in);
    if (size > in.size())
      fail("sealed batch: a box longer than the data left");
    if (size < 33)
      fail("sealed batch: a box shorter than its sealing overhead (33 bytes)");
    operation op;
    op.id = dot{origins[oi], seq};
    op.counter = counter;
    op.collection = collections[ci];
    op.k = operation::kind::sealed;
    op.sealed_box = std::string(in.substr(0, size));
    in.remove_prefix(size);
    ops.push_back(encode(op));
    rebuilt += ops.back().size();
    if (rebuilt > lim.max_message)
      fail("sealed batch: the operations rebuilt exceed the maximum message size");
  }
  check_list(ops.size(), "sealed batch operations");
  return ops;
}

std::vector<std::string> decompress_ops(s::Compressed::Reader c, const wire_limits& lim) {
  auto words = decompress(c, lim, "compressed batch");
  list_budget_scope budget(words.size());
  capnp::ReaderOptions opts;
  opts.traversalLimitInWords = 4 * words.size() + 64;
  opts.nestingLimit = lim.nesting;
  capnp::FlatArrayMessageReader reader(words.asPtr(), opts);
  if (reader.getEnd() != words.end())
    fail("compressed batch: trailing bytes");
  std::vector<std::string> ops;
  auto l = reader.getRoot<s::OpList>().getOps();
  check_list(l.size(), "compressed batch");
  ops.reserve(l.size());
  for (auto d : l)
    ops.push_back(str(d));
  return ops;
}

} // namespace

std::string encode(const envelope& e, bool compress) {
  capnp::MallocMessageBuilder mb(256);
  auto b = mb.initRoot<s::Envelope>();
  b.setProtocolVersion(e.version);
  std::visit(
    [&](auto& m) {
      using T = std::decay_t<decltype(m)>;
      if constexpr (std::is_same_v<T, hello>) {
        auto h = b.initHello();
        put(h.initNode(), m.node);
        h.setDatabase(text(m.database));
        h.setZstd(m.zstd);
        h.setSnapshots(m.snapshots);
        h.setPublicKey(as_data(m.public_key));
        h.setChallenge(as_data(m.challenge));
        h.setTls(m.tls);
      } else if constexpr (std::is_same_v<T, welcome>) {
        auto h = b.initWelcome();
        put(h.initNode(), m.node);
        h.setDatabase(text(m.database));
        h.setZstd(m.zstd);
        h.setSnapshots(m.snapshots);
        h.setPublicKey(as_data(m.public_key));
        h.setChallenge(as_data(m.challenge));
        h.setSignature(as_data(m.signature));
        h.setTls(m.tls);
      } else if constexpr (std::is_same_v<T, auth>) {
        b.initAuth().setSignature(as_data(m.signature));
      } else if constexpr (std::is_same_v<T, sync_request>) {
        auto r = b.initSyncRequest();
        r.setDatabase(text(m.database));
        auto cl = r.initCollections(static_cast<unsigned>(m.collections.size()));
        for (unsigned i = 0; i < m.collections.size(); ++i)
          cl.set(i, text(m.collections[i]));
        put_vv(r, m.versions);
      } else if constexpr (std::is_same_v<T, op_batch>) {
        auto r = b.initOpBatch();
        r.setDatabase(text(m.database));
        auto rl = r.initRanges(static_cast<unsigned>(m.ranges.size()));
        for (unsigned i = 0; i < m.ranges.size(); ++i)
          put_range(rl[i], m.ranges[i]);
        size_t plain = batch_bytes(m) + 8 * m.ops.size();
        // Sealed operations: the compact form, unless zstd of the ops list
        // is smaller still (sealed boxes do not compress; their framing does).
        auto sealed = compact_sealed(m.ops);
        size_t compact = sealed ? sealed->data.size() + 16 * sealed->origins.size() + 16 : plain;
        std::optional<std::pair<uint32_t, std::string>> z;
        if (compress && plain >= 128)
          z = compress_ops(m.ops, compact);
        if (sealed && !z) {
          auto c = r.initSealed();
          auto ol = c.initOrigins(static_cast<unsigned>(sealed->origins.size()));
          for (unsigned i = 0; i < sealed->origins.size(); ++i)
            put(ol[i], sealed->origins[i]);
          auto cl = c.initCollections(static_cast<unsigned>(sealed->collections.size()));
          for (unsigned i = 0; i < sealed->collections.size(); ++i)
            cl.set(i, text(sealed->collections[i]));
          c.setData(as_data(sealed->data));
        } else if (z) {
          auto c = r.initCompressed();
          c.setRawSize(z->first);
          c.setData(as_data(z->second));
        } else {
          auto l = r.initOps(static_cast<unsigned>(m.ops.size()));
          for (unsigned i = 0; i < m.ops.size(); ++i)
            l.set(i, as_data(m.ops[i]));
        }
      } else if constexpr (std::is_same_v<T, caught_up>) {
        auto r = b.initCaughtUp();
        r.setDatabase(text(m.database));
        put_vv(r, m.versions);
      } else if constexpr (std::is_same_v<T, ack>) {
        auto r = b.initAck();
        r.setDatabase(text(m.database));
        put_vv(r, m.versions);
        r.setSnapshotChunk(m.snapshot_chunk);
      } else if constexpr (std::is_same_v<T, error>) {
        auto r = b.initError();
        r.setCode(static_cast<s::ErrorCode>(m.code));
        r.setMessage(text(m.message));
      } else if constexpr (std::is_same_v<T, ping>) {
        b.initPing().setNonce(m.nonce);
      } else if constexpr (std::is_same_v<T, snapshot>) {
        auto r = b.initSnapshot();
        r.setDatabase(text(m.database));
        put_vv(r, m.versions);
        r.setChunk(m.chunk);
        r.setLast(m.last);
        if (!m.heads.empty()) {
          auto hl = r.initHeads(static_cast<unsigned>(m.heads.size()));
          for (unsigned i = 0; i < m.heads.size(); ++i)
            put_range(hl[i], m.heads[i]);
        }
        auto il = r.initIndexes(static_cast<unsigned>(m.indexes.size()));
        for (unsigned i = 0; i < m.indexes.size(); ++i) {
          il[i].setCollection(text(m.indexes[i].collection));
          il[i].setField(text(m.indexes[i].field));
          put(il[i].initCreated(), m.indexes[i].created);
          put(il[i].initDropped(), m.indexes[i].dropped);
        }
        size_t plain = snapshot_bytes(m) + 8 * m.entries.size();
        std::optional<std::pair<uint32_t, std::string>> z;
        if (compress && plain >= 128)
          z = compress_entries(m.entries, plain);
        if (z) {
          auto c = r.initCompressed();
          c.setRawSize(z->first);
          c.setData(as_data(z->second));
        } else {
          put(r.initEntries(static_cast<unsigned>(m.entries.size())), m.entries);
        }
      }
      // monostate: only the protocol version is written.
    },
    e.msg);
  kj::VectorOutputStream out(256);
  capnp::writePackedMessage(out, mb);
  auto bytes = out.getArray();
  return std::string(reinterpret_cast<const char*>(bytes.begin()), bytes.size());
}

result<envelope> decode_envelope(std::string_view bytes, const wire_limits& lim) {
  if (bytes.empty())
    return status{errc::corrupt, "envelope: empty input"};
  if (bytes.size() > lim.max_message)
    return status{errc::too_large, "envelope: " + std::to_string(bytes.size()) +
                                       " bytes over the maximum message size"};
  list_budget_scope budget(bytes.size());
  try {
    auto flat = unpack_words(bytes, lim.max_message / sizeof(capnp::word));
    if (!flat)
      return status{errc::corrupt, "envelope: not a packed Cap'n Proto message (or over the maximum size)"};
    auto words = kj::heapArray<capnp::word>(flat->size() / sizeof(capnp::word));
    std::memcpy(words.begin(), flat->data(), words.size() * sizeof(capnp::word));
    capnp::ReaderOptions opts;
    opts.traversalLimitInWords = 4 * words.size() + 64;
    opts.nestingLimit = lim.nesting;
    capnp::FlatArrayMessageReader reader(words.asPtr(), opts);
    if (reader.getEnd() != words.end())
      return status{errc::corrupt, "envelope: trailing bytes after the message"};
    auto r = reader.getRoot<s::Envelope>();
    envelope e;
    e.version = r.getProtocolVersion();
    if (e.version != protocol_version)
      return e;
    switch (r.which()) {
      case s::Envelope::HELLO: {
        auto h = r.getHello();
        e.msg = hello{get(h.getNode()), str(h.getDatabase()), h.getZstd(), h.getSnapshots(), str(h.getPublicKey()),
                      str(h.getChallenge()), h.getTls()};
        break;
      }
      case s::Envelope::WELCOME: {
        auto h = r.getWelcome();
        e.msg = welcome{get(h.getNode()),       str(h.getDatabase()),  h.getZstd(),         h.getSnapshots(),
                        str(h.getPublicKey()), str(h.getChallenge()), str(h.getSignature()), h.getTls()};
        break;
      }
      case s::Envelope::AUTH: {
        e.msg = auth{str(r.getAuth().getSignature())};
        break;
      }
      case s::Envelope::SYNC_REQUEST: {
        auto q = r.getSyncRequest();
        sync_request m;
        m.database = str(q.getDatabase());
        check_list(q.getCollections().size(), "SyncRequest collections");
        for (auto c : q.getCollections())
          m.collections.push_back(str(c));
        m.versions = get(q.getVersionVector());
        e.msg = std::move(m);
        break;
      }
      case s::Envelope::OP_BATCH: {
        auto q = r.getOpBatch();
        op_batch m;
        m.database = str(q.getDatabase());
        check_list(q.getRanges().size(), "OpBatch ranges");
        for (auto rg : q.getRanges())
          m.ranges.push_back(get_range(rg));
        switch (q.which()) {
          case s::OpBatch::OPS:
            check_list(q.getOps().size(), "OpBatch operations");
            for (auto d : q.getOps())
              m.ops.push_back(str(d));
            break;
          case s::OpBatch::COMPRESSED: m.ops = decompress_ops(q.getCompressed(), lim); break;
          case s::OpBatch::SEALED: m.ops = expand_sealed(q.getSealed(), lim); break;
          default: fail("unknown OpBatch payload kind");
        }
        e.msg = std::move(m);
        break;
      }
      case s::Envelope::CAUGHT_UP: {
        auto q = r.getCaughtUp();
        e.msg = caught_up{str(q.getDatabase()), get(q.getVersionVector())};
        break;
      }
      case s::Envelope::ACK: {
        auto q = r.getAck();
        e.msg = ack{str(q.getDatabase()), get(q.getVersionVector()), q.getSnapshotChunk()};
        break;
      }
      case s::Envelope::ERROR: {
        auto q = r.getError();
        auto code = static_cast<uint16_t>(q.getCode());
        if (code > static_cast<uint16_t>(error_code::forbidden))
          fail("unknown error code");
        e.msg = error{static_cast<error_code>(code), str(q.getMessage())};
        break;
      }
      case s::Envelope::PING: e.msg = ping{r.getPing().getNonce()}; break;
      case s::Envelope::SNAPSHOT: {
        auto q = r.getSnapshot();
        snapshot m;
        m.database = str(q.getDatabase());
        m.versions = get(q.getVersionVector());
        m.chunk = q.getChunk();
        m.last = q.getLast();
        check_list(q.getIndexes().size(), "Snapshot indexes");
        for (auto d : q.getIndexes())
          m.indexes.push_back({str(d.getCollection()), str(d.getField()), get(d.getCreated()), get(d.getDropped())});
        check_list(q.getHeads().size(), "Snapshot heads");
        for (auto h : q.getHeads())
          m.heads.push_back(get_range(h));
        switch (q.which()) {
          case s::Snapshot::ENTRIES: get(q.getEntries(), m.entries); break;
          case s::Snapshot::COMPRESSED: decompress_entries(q.getCompressed(), lim, m.entries); break;
          default: fail("unknown Snapshot payload kind");
        }
        e.msg = std::move(m);
        break;
      }
      default: fail("unknown message kind");
    }
    return e;
  } catch (const kj::Exception& ex) {
    return status{errc::corrupt, std::string("envelope: ") + ex.getDescription().cStr()};
  }
}

std::string frame(std::string_view payload) {
  std::string out(4, '\0');
  uint32_t n = static_cast<uint32_t>(payload.size());
  out[0] = static_cast<char>(n >> 24);
  out[1] = static_cast<char>(n >> 16);
  out[2] = static_cast<char>(n >> 8);
  out[3] = static_cast<char>(n);
  out.append(payload);
  return out;
}

result<std::optional<std::string>> frame_reader::next() {
  size_t have = buf_.size() - pos_;
  if (have < 4)
    return std::optional<std::string>{};
  auto p = reinterpret_cast<const unsigned char*>(buf_.data() + pos_);
  size_t n = (size_t{p[0]} << 24) | (size_t{p[1]} << 16) | (size_t{p[2]} << 8) | p[3];
  if (n > max_ || n == 0)
    return status{errc::corrupt, "frame: length " + std::to_string(n) + " is zero or over the maximum " +
                                     std::to_string(max_)};
  if (have < 4 + n)
    return std::optional<std::string>{};
  std::string payload = buf_.substr(pos_ + 4, n);
  pos_ += 4 + n;
  if (pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  }
  return std::optional<std::string>{std::move(payload)};
}

} // namespace blaze::sync
