#include "core/codec.hpp"

#include "schema/operation.capnp.h"
#include "schema/record.capnp.h"
#include "schema/values.capnp.h"

#include <capnp/message.h>
#include <capnp/serialize-packed.h>
#include <capnp/serialize.h>
#include <kj/io.h>
#include <kj/vector.h>
#include <kj/exception.h>

#include <algorithm>
#include <bit>
#include <array>
#include <cstring>
#include <optional>
#include <vector>

namespace blaze {

namespace s = blaze::schema;

namespace {

// ---- primitives -------------------------------------------------------------

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

void put(s::Dot::Builder b, const dot& d) {
  put(b.initOrigin(), d.origin);
  b.setSeq(d.seq);
}
dot get(s::Dot::Reader r) { return {get(r.getOrigin()), r.getSeq()}; }

kj::ArrayPtr<const kj::byte> as_bytes(const std::string& s) {
  return {reinterpret_cast<const kj::byte*>(s.data()), s.size()};
}

void put(s::Value::Builder b, const value& v) {
  switch (v.type()) {
    case value::kind::null: b.setNull(); break;
    case value::kind::boolean: b.setBool(v.as<bool>()); break;
    case value::kind::integer: b.setInt(v.as<int64_t>()); break;
    case value::kind::real: b.setDouble(v.as<double>()); break;
    case value::kind::string: {
      auto& str = v.as<std::string>();
      b.setString(capnp::Text::Reader(str.data(), str.size()));
      break;
    }
    case value::kind::bytes: b.setBytes(as_bytes(v.as<bytes>().data)); break;
    case value::kind::time: b.setTimestamp(v.as<time_point>().micros); break;
    case value::kind::uuid: put(b.initUuid(), v.as<uuid>().id); break;
    case value::kind::array: {
      auto& a = v.as<value_array>();
      auto l = b.initArray(static_cast<unsigned>(a.size()));
      for (unsigned i = 0; i < a.size(); ++i)
        put(l[i], a[i]);
      break;
    }
    case value::kind::map: {
      auto& m = v.as<value_map>();
      auto l = b.initMap(static_cast<unsigned>(m.size()));
      unsigned i = 0;
      for (auto& [k, e] : m) {
        l[i].setKey(capnp::Text::Reader(k.data(), k.size()));
        put(l[i].initValue(), e);
        ++i;
      }
      break;
    }
  }
}

// A union tag this build does not know (corrupt bytes, or a newer peer):
// refused as corrupt rather than read as some other kind.
[[noreturn]] void unknown_kind(const char* what) {
  throw kj::Exception(kj::Exception::Type::FAILED, __FILE__, __LINE__, kj::str("unknown ", what, " kind"));
}

std::string str(capnp::Text::Reader t) { return std::string(t.begin(), t.size()); }

value get(s::Value::Reader r) {
  switch (r.which()) {
    case s::Value::NULL_: return value{};
    case s::Value::BOOL: return value{r.getBool()};
    case s::Value::INT: return value{static_cast<int64_t>(r.getInt())};
    case s::Value::DOUBLE: return value{r.getDouble()};
    case s::Value::STRING: return value{str(r.getString())};
    case s::Value::BYTES: {
      auto d = r.getBytes();
      return value{bytes{std::string(reinterpret_cast<const char*>(d.begin()), d.size())}};
    }
    case s::Value::TIMESTAMP: return value{time_point{r.getTimestamp()}};
    case s::Value::UUID: return value{uuid{get(r.getUuid())}};
    case s::Value::ARRAY: {
      value_array a;
      auto l = r.getArray();
      a.reserve(l.size());
      for (auto e : l)
        a.push_back(get(e));
      return value{std::move(a)};
    }
    case s::Value::MAP: {
      value_map m;
      for (auto e : r.getMap())
        m.insert_or_assign(str(e.getKey()), get(e.getValue()));
      return value{std::move(m)};
    }
  }
  throw kj::Exception(kj::Exception::Type::FAILED, __FILE__, __LINE__,
                      kj::str("unknown value kind"));
}

// ---- framing ---------------------------------------------------------------

// A message builder whose first segment is this thread's reused, zeroed
// scratch area (no allocation for small messages); a nested builder on the
// same thread falls back to the heap. The builder re-zeroes what it used.
class scratch_builder {
public:
  scratch_builder() {
    if (!in_use_) {
      in_use_ = true;
      owns_ = true;
      mb_.emplace(kj::arrayPtr(area_.data(), area_.size()));
    } else {
      mb_.emplace(256u);
    }
  }
  ~scratch_builder() {
    mb_.reset();
    if (owns_)
      in_use_ = false;
  }
  capnp::MallocMessageBuilder& get() { return *mb_; }

private:
  static constexpr size_t words = 2048;
  static thread_local inline std::array<capnp::word, words> area_{};
  static thread_local inline bool in_use_ = false;
  bool owns_ = false;
  std::optional<capnp::MallocMessageBuilder> mb_;
};

// Encodings are packed Cap'n Proto (zero bytes run-length coded): records
// and operations are mostly small integers and empty slots.
// Unpacks Cap'n Proto's packed encoding (a tag byte per word; tag 0x00 is
// followed by a count of further zero words, tag 0xff by a count of raw
// words). nullopt when the input is malformed or expands past `max_words`.
std::optional<kj::Array<capnp::word>> unpack(std::string_view in, uint64_t max_words) {
  kj::Vector<capnp::word> words(in.size() / sizeof(capnp::word) + 8);
  auto p = reinterpret_cast<const unsigned char*>(in.data());
  auto end = p + in.size();
  auto push = [&](const unsigned char* bytes8) {
    if (words.size() >= max_words)
      return false;
    capnp::word w;
    std::memcpy(&w, bytes8, sizeof(w));
    words.add(w);
    return true;
  };
  const unsigned char zero[8] = {};
  while (p < end) {
    unsigned char tag = *p++;
    unsigned char w[8];
    for (int bit = 0; bit < 8; ++bit) {
      if (tag & (1u << bit)) {
        if (p == end)
          return std::nullopt;
        w[bit] = *p++;
      } else {
        w[bit] = 0;
      }
    }
    if (!push(w))
      return std::nullopt;
    if (tag == 0x00 || tag == 0xff) {
      if (p == end)
        return std::nullopt;
      size_t n = *p++;
      if (tag == 0x00) {
        for (size_t i = 0; i < n; ++i)
          if (!push(zero))
            return std::nullopt;
      } else {
        if (static_cast<size_t>(end - p) < 8 * n)
          return std::nullopt;
        for (size_t i = 0; i < n; ++i, p += 8)
          if (!push(p))
            return std::nullopt;
      }
    }
  }
  if (words.size() == 0)
    return std::nullopt;
  return words.releaseAsArray();
}

// Appends the packing of `size` bytes (a multiple of 8) to `out`: byte for
// byte what capnp::_::PackedOutputStream::write produces for the same piece
// (runs of zero words and of unpackable words do not cross pieces), without
// its buffered stream layers; packing was a quarter of the instructions of
// store::apply_remote.
void pack_into(std::string& out, const unsigned char* in, size_t size) {
  const unsigned char* const end = in + size;
  size_t at = out.size();
  // At most 10 bytes per word (tag, 8 bytes, count) plus raw runs verbatim.
  out.resize(at + size + size / 8 * 2 + 16);
  unsigned char* o = reinterpret_cast<unsigned char*>(out.data()) + at;
  unsigned char* const o0 = o;
  constexpr uint64_t low7 = 0x7f7f7f7f7f7f7f7full, high = 0x8080808080808080ull;
  // 0x80 in each non-zero byte of w (no carries cross bytes).
  auto nonzero = [](uint64_t w) { return (((w & low7) + low7) | w) & high; };
  while (in < end) {
    uint64_t w;
    std::memcpy(&w, in, 8);
    // The tag: bit i set when byte i is non-zero (the high bits gathered).
    unsigned tag = static_cast<unsigned>(((nonzero(w) >> 7) * 0x0102040810204080ull) >> 56);
    *o++ = static_cast<unsigned char>(tag);
    if (tag == 0xff) {
      std::memcpy(o, in, 8);
      o += 8;
    } else {
      for (unsigned m = tag; m != 0; m &= m - 1)
        *o++ = in[__builtin_ctz(m)];
    }
    in += 8;
    if (tag == 0) {
      // Followed by the count of further zero words (at most 255).
      const unsigned char* limit = end - in > 255 * 8 ? in + 255 * 8 : end;
      const unsigned char* p = in;
      while (p < limit) {
        uint64_t x;
        std::memcpy(&x, p, 8);
        if (x != 0)
          break;
        p += 8;
      }
      *o++ = static_cast<unsigned char>((p - in) / 8);
      in = p;
    } else if (tag == 0xff) {
      // Followed by the count of further words with at most one zero byte,
      // then those words verbatim.
      const unsigned char* limit = end - in > 255 * 8 ? in + 255 * 8 : end;
      const unsigned char* p = in;
      while (p < limit) {
        uint64_t x;
        std::memcpy(&x, p, 8);
        uint64_t zero_bytes = ~nonzero(x) & high;
        if ((zero_bytes & (zero_bytes - 1)) != 0)  // two zero bytes or more
          break;
        p += 8;
      }
      size_t n = static_cast<size_t>(p - in);
      *o++ = static_cast<unsigned char>(n / 8);
      std::memcpy(o, in, n);
      o += n;
      in = p;
    }
  }
  out.resize(at + static_cast<size_t>(o - o0));
}

// The packed stream capnp::writePackedMessage writes: the segment table, then
// each segment, each packed as its own piece.
std::string to_string(capnp::MessageBuilder& mb) {
  static_assert(std::endian::native == std::endian::little, "the segment table is written as it lies in memory");
  auto segments = mb.getSegmentsForOutput();
  size_t n = segments.size();
  // Segment table: count - 1, each size (u32 little-endian), padded to a word.
  std::vector<uint32_t> table((n + 2) & ~size_t(1), 0);
  table[0] = static_cast<uint32_t>(n - 1);
  size_t total = 0;
  for (size_t i = 0; i < n; ++i) {
    table[i + 1] = static_cast<uint32_t>(segments[i].size());
    total += segments[i].size() * sizeof(capnp::word);
  }
  std::string out;
  out.reserve(total + total / 4 + table.size() * 4 + 16);
  pack_into(out, reinterpret_cast<const unsigned char*>(table.data()), table.size() * sizeof(uint32_t));
  for (auto& seg : segments)
    pack_into(out, reinterpret_cast<const unsigned char*>(seg.begin()), seg.size() * sizeof(capnp::word));
  return out;
}

// Parses `bytes` as one flat Cap'n Proto message and calls `fn(reader)`;
// any structural problem becomes a `corrupt` status.
template <class Root, class Fn>
auto with_reader(std::string_view bytes, const decode_limits& lim, const char* what, Fn&& fn)
  -> result<decltype(fn(std::declval<typename Root::Reader>()))> {
  using T = decltype(fn(std::declval<typename Root::Reader>()));
  if (bytes.empty())
    return status{errc::corrupt, std::string(what) + ": empty input"};
  try {
    // Unpack into aligned storage (RocksDB slices carry no alignment
    // guarantee). Packing expands at most 1024x (two bytes code 256 zero
    // words); the cap follows the input so hostile bytes cannot allocate much.
    auto words = unpack(bytes, std::min<uint64_t>(lim.traversal_words, 128 * bytes.size() + 64));
    if (!words)
      return status{errc::corrupt, std::string(what) + ": not a packed Cap'n Proto message"};
    capnp::ReaderOptions opts;
    // Our messages are read once, so decoding one traverses about its own
    // size. Capping the traversal at a small multiple of the message keeps a
    // few hostile bytes (a list claiming millions of zero-sized elements)
    // from making the decoder build gigabytes.
    opts.traversalLimitInWords = std::min<uint64_t>(lim.traversal_words, 4 * words->size() + 64);
    opts.nestingLimit = lim.nesting;
    capnp::FlatArrayMessageReader reader(words->asPtr(), opts);
    if (reader.getEnd() != words->end())
      return status{errc::corrupt, std::string(what) + ": trailing bytes after the message"};
    return result<T>(fn(reader.getRoot<Root>()));
  } catch (const kj::Exception& e) {
    return status{errc::corrupt, std::string(what) + ": " + e.getDescription().cStr()};
  }
}

} // namespace

// ---- values ----------------------------------------------------------------

std::string encode(const value& v) {
  scratch_builder sb;
  auto& mb = sb.get();
  put(mb.initRoot<s::Value>(), v);
  return to_string(mb);
}

result<value> decode_value(std::string_view bytes, const decode_limits& lim) {
  return with_reader<s::Value>(bytes, lim, "value", [](s::Value::Reader r) { return get(r); });
}

// ---- operations ------------------------------------------------------------

std::string encode(const operation& op) {
  scratch_builder sb;
  auto& mb = sb.get();
  auto b = mb.initRoot<s::Operation>();
  put(b.initDot(), op.id);
  b.setTimestamp(op.counter);
  b.setCollection(capnp::Text::Reader(op.collection.data(), op.collection.size()));
  if (op.k != operation::kind::sealed || !op.record.is_zero())  // a sealed op's is zero: 7 bytes saved
    put(b.initRecord(), op.record);
  switch (op.k) {
    case operation::kind::upsert: {
      auto l = b.initUpsert(static_cast<unsigned>(op.fields.size()));
      for (unsigned i = 0; i < op.fields.size(); ++i) {
        auto& fo = op.fields[i];
        auto fb = l[i];
        fb.setField(capnp::Text::Reader(fo.field.data(), fo.field.size()));
        if (!fo.base.is_zero())
          put(fb.initBase(), fo.base);
        switch (fo.k) {
          case field_op::kind::set: put(fb.initSet(), fo.val); break;
          case field_op::kind::increment: fb.setIncrement(fo.delta); break;
          case field_op::kind::add: put(fb.initAdd(), fo.val); break;
          case field_op::kind::remove: {
            auto rb = fb.initRemove();
            put(rb.initElement(), fo.val);
            auto ob = rb.initObserved(static_cast<unsigned>(fo.observed.size()));
            for (unsigned j = 0; j < fo.observed.size(); ++j)
              put(ob[j], fo.observed[j]);
            break;
          }
        }
      }
      break;
    }
    case operation::kind::remove_record: {
      auto l = b.initDelete(static_cast<unsigned>(op.observed.size()));
      for (unsigned i = 0; i < op.observed.size(); ++i) {
        auto& o = op.observed[i];
        l[i].setField(capnp::Text::Reader(o.field.data(), o.field.size()));
        put(l[i].initOrigin(), o.origin);
        l[i].setPositive(o.positive);
        l[i].setNegative(o.negative);
      }
      break;
    }
    case operation::kind::create_index:
      b.setCreateIndex(capnp::Text::Reader(op.index_field.data(), op.index_field.size()));
      break;
    case operation::kind::drop_index:
      b.setDropIndex(capnp::Text::Reader(op.index_field.data(), op.index_field.size()));
      break;
    case operation::kind::sealed:
      b.initSealed().setBox(as_bytes(op.sealed_box));
      break;
  }
  if (!op.txn.empty()) {
    auto tb = b.initTxn();
    put(tb.initId(), op.txn.id);
    auto pl = tb.initParts(static_cast<unsigned>(op.txn.parts.size()));
    for (unsigned i = 0; i < op.txn.parts.size(); ++i) {
      auto& part = op.txn.parts[i];
      pl[i].setDatabase(capnp::Text::Reader(part.database.data(), part.database.size()));
      pl[i].setOps(part.ops);
    }
  }
  return to_string(mb);
}

result<operation> decode_operation(std::string_view bytes, const decode_limits& lim) {
  return with_reader<s::Operation>(bytes, lim, "operation", [](s::Operation::Reader r) {
    operation op;
    op.id = get(r.getDot());
    op.counter = r.getTimestamp();
    op.collection = str(r.getCollection());
    op.record = get(r.getRecord());
    switch (r.which()) {
      case s::Operation::UPSERT:
        op.k = operation::kind::upsert;
        for (auto fr : r.getUpsert()) {
          field_op fo;
          fo.field = str(fr.getField());
          if (fr.hasBase())
            fo.base = get(fr.getBase());
          switch (fr.which()) {
            case s::FieldOp::SET:
              fo.k = field_op::kind::set;
              fo.val = get(fr.getSet());
              break;
            case s::FieldOp::INCREMENT:
              fo.k = field_op::kind::increment;
              fo.delta = fr.getIncrement();
              break;
            case s::FieldOp::ADD:
              fo.k = field_op::kind::add;
              fo.val = get(fr.getAdd());
              break;
            case s::FieldOp::REMOVE:
              fo.k = field_op::kind::remove;
              fo.val = get(fr.getRemove().getElement());
              for (auto d : fr.getRemove().getObserved())
                fo.observed.push_back(get(d));
              break;
            default: unknown_kind("field operation");  // never guess: a set of null would overwrite
          }
          op.fields.push_back(std::move(fo));
        }
        break;
      case s::Operation::DELETE:
        op.k = operation::kind::remove_record;
        for (auto o : r.getDelete())
          op.observed.push_back({str(o.getField()), get(o.getOrigin()), o.getPositive(), o.getNegative()});
        break;
      case s::Operation::CREATE_INDEX:
        op.k = operation::kind::create_index;
        op.index_field = str(r.getCreateIndex());
        break;
      case s::Operation::DROP_INDEX:
        op.k = operation::kind::drop_index;
        op.index_field = str(r.getDropIndex());
        break;
      case s::Operation::SEALED: {
        op.k = operation::kind::sealed;
        auto box = r.getSealed().getBox();
        op.sealed_box.assign(reinterpret_cast<const char*>(box.begin()), box.size());
        break;
      }
      default: unknown_kind("operation");  // never guess: an empty upsert would resurrect
    }
    if (r.hasTxn()) {
      auto t = r.getTxn();
      op.txn.id = get(t.getId());
      for (auto p : t.getParts())
        op.txn.parts.push_back({str(p.getDatabase()), p.getOps()});
    }
    return op;
  });
}

// ---- records ---------------------------------------------------------------

std::string encode(const record_state& r) {
  scratch_builder sb;
  auto& mb = sb.get();
  auto b = mb.initRoot<s::RecordState>();
  if (!r.last_write.is_zero())
    put(b.initLastWrite(), r.last_write);
  if (!r.deleted_at.is_zero())
    put(b.initDeletedAt(), r.deleted_at);
  auto fl = b.initFields(static_cast<unsigned>(r.fields.size()));
  unsigned i = 0;
  for (auto& [name, f] : r.fields) {
    auto fb = fl[i++];
    fb.setName(capnp::Text::Reader(name.data(), name.size()));
    // Zero timestamps are left unset (read back as zero).
    if (!f.first_set.is_zero())
      put(fb.initFirstSet(), f.first_set);
    if (!f.first_counter.is_zero())
      put(fb.initFirstCounter(), f.first_counter);
    if (!f.first_elements.is_zero())
      put(fb.initFirstElements(), f.first_elements);
    if (!f.last_counter.is_zero())
      put(fb.initLastCounter(), f.last_counter);
    if (!f.last_elements.is_zero())
      put(fb.initLastElements(), f.last_elements);
    if (!f.lww.ts.is_zero()) {
      put(fb.initLwwTimestamp(), f.lww.ts);
      if (!f.lww.base.is_zero())
        put(fb.initLwwBase(), f.lww.base);
      put(fb.initLwwValue(), f.lww.val);
    }
    auto el = fb.initElements(static_cast<unsigned>(f.set.elements.size()));
    unsigned j = 0;
    for (auto& [v, tags] : f.set.elements) {
      auto eb = el[j++];
      put(eb.initValue(), v);
      auto tl = eb.initTags(static_cast<unsigned>(tags.size()));
      unsigned k = 0;
      for (auto& [d, c] : tags) {
        put(tl[k].initDot(), d);
        tl[k].setTimestamp(c);
        ++k;
      }
    }
    auto rl = fb.initRemoved(static_cast<unsigned>(f.set.removed.size()));
    j = 0;
    for (auto& [v, tags] : f.set.removed) {
      auto eb = rl[j++];
      put(eb.initValue(), v);
      auto tl = eb.initTags(static_cast<unsigned>(tags.size()));
      unsigned k = 0;
      for (auto& d : tags)
        put(tl[k++].initDot(), d);
    }
    auto cl = fb.initCounter(static_cast<unsigned>(f.counter.entries.size()));
    j = 0;
    for (auto& [o, e] : f.counter.entries) {
      auto cb = cl[j++];
      put(cb.initOrigin(), o);
      cb.setPositive(e.positive);
      cb.setNegative(e.negative);
      cb.setCancelledPositive(e.cancelled_positive);
      cb.setCancelledNegative(e.cancelled_negative);
    }
  }
  return to_string(mb);
}

result<record_state> decode_record(std::string_view bytes, const decode_limits& lim) {
  return with_reader<s::RecordState>(bytes, lim, "record", [](s::RecordState::Reader r) {
    record_state st;
    st.last_write = get(r.getLastWrite());
    st.deleted_at = get(r.getDeletedAt());
    for (auto fr : r.getFields()) {
      auto& f = st.fields[str(fr.getName())];
      f.first_set = get(fr.getFirstSet());
      f.first_counter = get(fr.getFirstCounter());
      f.first_elements = get(fr.getFirstElements());
      f.last_counter = get(fr.getLastCounter());
      f.last_elements = get(fr.getLastElements());
      if (fr.hasLwwTimestamp()) {
        f.lww.ts = get(fr.getLwwTimestamp());
        f.lww.base = get(fr.getLwwBase());
        f.lww.val = get(fr.getLwwValue());
      }
      for (auto er : fr.getElements()) {
        auto& tags = f.set.elements[get(er.getValue())];
        for (auto t : er.getTags())
          tags[get(t.getDot())] = t.getTimestamp();
      }
      for (auto er : fr.getRemoved()) {
        auto& tags = f.set.removed[get(er.getValue())];
        for (auto t : er.getTags())
          tags.insert(get(t.getDot()));
      }
      for (auto cr : fr.getCounter())
        f.counter.entries[get(cr.getOrigin())] = {cr.getPositive(), cr.getNegative(),
                                                   cr.getCancelledPositive(), cr.getCancelledNegative()};
    }
    return st;
  });
}

// ---- conflicts -------------------------------------------------------------

std::string encode(const conflict& c) {
  scratch_builder sb;
  auto& mb = sb.get();
  auto b = mb.initRoot<s::Conflict>();
  b.setCollection(capnp::Text::Reader(c.collection.data(), c.collection.size()));
  put(b.initRecord(), c.record);
  b.setField(capnp::Text::Reader(c.field.data(), c.field.size()));
  put(b.initWinner(), c.winner);
  put(b.initWinnerTimestamp(), c.winner_ts);
  put(b.initLoser(), c.loser);
  put(b.initLoserTimestamp(), c.loser_ts);
  return to_string(mb);
}

result<conflict> decode_conflict(std::string_view bytes, const decode_limits& lim) {
  return with_reader<s::Conflict>(bytes, lim, "conflict", [](s::Conflict::Reader r) {
    return conflict{str(r.getCollection()), get(r.getRecord()), str(r.getField()),
                    get(r.getWinner()), get(r.getWinnerTimestamp()), get(r.getLoser()),
                    get(r.getLoserTimestamp())};
  });
}

std::string pack_words(std::string_view flat) {
  std::string out;
  pack_into(out, reinterpret_cast<const unsigned char*>(flat.data()), flat.size() - flat.size() % sizeof(capnp::word));
  return out;
}

std::optional<std::string> unpack_words(std::string_view packed, uint64_t max_words) {
  auto w = unpack(packed, max_words);
  if (!w)
    return std::nullopt;
  auto b = w->asBytes();
  return std::string(reinterpret_cast<const char*>(b.begin()), b.size());
}

uint64_t fnv1a(std::string_view bytes, uint64_t h) {
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

} // namespace blaze
