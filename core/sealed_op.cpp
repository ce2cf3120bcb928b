#include "core/sealed_op.hpp"

#include "core/crypto/wire.hpp"

#include <bit>
#include <cstring>

namespace blaze {

namespace {

// ---- the inner format (see sealed_op.hpp) ---------------------------------------

constexpr uint8_t inner_format = 1;
enum : uint8_t { k_upsert = 0, k_delete = 1, k_create_index = 2, k_drop_index = 3 };
enum : uint8_t { f_set = 0, f_increment = 1, f_add = 2, f_remove = 3 };
constexpr uint8_t f_op_mask = 0x03, f_has_base = 0x04, f_base_absolute = 0x08, f_base_node_is_origin = 0x10;
enum : uint8_t { v_null, v_false, v_true, v_int, v_real, v_string, v_bytes, v_time, v_uuid, v_array, v_map };

void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}
uint64_t zigzag(int64_t v) { return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63); }
int64_t unzigzag(uint64_t v) { return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1); }
void put_str(std::string& out, std::string_view s) {
  put_varint(out, s.size());
  out.append(s);
}
void put_id(std::string& out, const id128& id) {
  unsigned char b[16];
  id.to_bytes(b);
  out.append(reinterpret_cast<const char*>(b), 16);
}

void put_value(std::string& out, const value& v) {
  switch (v.type()) {
    case value::kind::null: out.push_back(v_null); break;
    case value::kind::boolean: out.push_back(v.as<bool>() ? v_true : v_false); break;
    case value::kind::integer:
      out.push_back(v_int);
      put_varint(out, zigzag(v.as<int64_t>()));
      break;
    case value::kind::real: {
      out.push_back(v_real);
      crypto::wire::put_u64(out, std::bit_cast<uint64_t>(v.as<double>()));
      break;
    }
    case value::kind::string:
      out.push_back(v_string);
      put_str(out, v.as<std::string>());
      break;
    case value::kind::bytes:
      out.push_back(v_bytes);
      put_str(out, v.as<bytes>().data);
      break;
    case value::kind::time:
      out.push_back(v_time);
      put_varint(out, zigzag(v.as<time_point>().micros));
      break;
    case value::kind::uuid:
      out.push_back(v_uuid);
      put_id(out, v.as<uuid>().id);
      break;
    case value::kind::array:
      out.push_back(v_array);
      put_varint(out, v.as<value_array>().size());
      for (auto& e : v.as<value_array>())
        put_value(out, e);
      break;
    case value::kind::map:
      out.push_back(v_map);
      put_varint(out, v.as<value_map>().size());
      for (auto& [k, e] : v.as<value_map>()) {
        put_str(out, k);
        put_value(out, e);
      }
      break;
  }
}

// A bounds-checked reader; the first failure sticks and names what failed.
class reader {
public:
  reader(std::string_view in, int nesting) : in_(in), nesting_(nesting) {}
  bool ok() const { return err_.empty(); }
  bool done() const { return at_ == in_.size(); }
  const std::string& error() const { return err_; }
  void fail(const std::string& why) {
    if (err_.empty())
      err_ = why + " at byte " + std::to_string(at_);
  }
  uint8_t u8() {
    if (at_ >= in_.size()) {
      fail("truncated");
      return 0;
    }
    return static_cast<uint8_t>(in_[at_++]);
  }
  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      uint8_t b = u8();
      if (!ok())
        return 0;
      if (shift == 63 && b > 1) {
        fail("varint overflows 64 bits");
        return 0;
      }
      v |= uint64_t(b & 0x7f) << shift;
      if (!(b & 0x80)) {
        if (b == 0 && shift != 0)
          fail("varint not in its shortest form");
        return v;
      }
    }
    fail("varint too long");
    return 0;
  }
  std::string_view take(uint64_t n) {
    if (n > in_.size() - at_) {
      fail("truncated");
      return {};
    }
    auto s = in_.substr(at_, n);
    at_ += n;
    return s;
  }
  std::string str() { return std::string(take(varint())); }
  id128 id() {
    auto b = take(16);
    return ok() ? id128::from_bytes(reinterpret_cast<const unsigned char*>(b.data())) : id128{};
  }
  /// A count of items of at least `min_size` bytes each: refused when the
  /// rest of the input cannot hold them (no huge allocations).
  uint64_t count(uint64_t min_size) {
    uint64_t n = varint();
    if (ok() && n > (in_.size() - at_) / min_size)
      fail("count " + std::to_string(n) + " exceeds the input");
    return ok() ? n : 0;
  }
  value val(int depth) {
    if (depth > nesting_) {
      fail("values nested too deep");
      return {};
    }
    switch (u8()) {
      case v_null: return value{};
      case v_false: return value{false};
      case v_true: return value{true};
      case v_int: return value{unzigzag(varint())};
      case v_real: {
        auto b = take(8);
        return ok() ? value{std::bit_cast<double>(
                        (uint64_t(crypto::wire::get_u32(b.data())) << 32) | crypto::wire::get_u32(b.data() + 4))}
                    : value{};
      }
      case v_string: return value{str()};
      case v_bytes: return value{bytes{str()}};
      case v_time: return value{time_point{unzigzag(varint())}};
      case v_uuid: return value{uuid{id()}};
      case v_array: {
        value_array a;
        uint64_t n = count(1);
        a.reserve(n);
        for (uint64_t i = 0; i < n && ok(); ++i)
          a.push_back(val(depth + 1));
        return value{std::move(a)};
      }
      case v_map: {
        value_map m;
        uint64_t n = count(2);
        for (uint64_t i = 0; i < n && ok(); ++i) {
          auto k = str();
          auto e = val(depth + 1);
          if (ok() && !m.emplace(std::move(k), std::move(e)).second)
            fail("duplicate map key");
        }
        return value{std::move(m)};
      }
      default: fail("unknown value tag"); return {};
    }
  }

private:
  std::string_view in_;
  size_t at_ = 0;
  int nesting_;
  std::string err_;
};

std::string where(const operation& op) {
  return "sealed operation " + op.id.origin.to_hex() + ":" + std::to_string(op.id.seq);
}

status corrupt(const operation& op, const std::string& why) { return {errc::corrupt, where(op) + ": " + why}; }

} // namespace

std::string encode_sealed_inner(const operation& op) {
  std::string out;
  out.reserve(64);
  out.push_back(static_cast<char>(inner_format));
  switch (op.k) {
    case operation::kind::upsert:
      out.push_back(k_upsert);
      put_id(out, op.record);
      put_varint(out, op.fields.size());
      for (auto& fo : op.fields) {
        put_str(out, fo.field);
        uint8_t tag = 0;
        switch (fo.k) {
          case field_op::kind::set: tag = f_set; break;
          case field_op::kind::increment: tag = f_increment; break;
          case field_op::kind::add: tag = f_add; break;
          case field_op::kind::remove: tag = f_remove; break;
        }
        const bool base = fo.k == field_op::kind::set && !fo.base.is_zero();
        if (base) {
          tag |= f_has_base;
          if (fo.base.counter > op.counter)
            tag |= f_base_absolute;
          if (fo.base.node == op.id.origin)
            tag |= f_base_node_is_origin;
        }
        out.push_back(static_cast<char>(tag));
        if (base) {
          put_varint(out, (tag & f_base_absolute) ? fo.base.counter : op.counter - fo.base.counter);
          if (!(tag & f_base_node_is_origin))
            put_id(out, fo.base.node);
        }
        switch (fo.k) {
          case field_op::kind::set:
          case field_op::kind::add: put_value(out, fo.val); break;
          case field_op::kind::increment: put_varint(out, zigzag(fo.delta)); break;
          case field_op::kind::remove:
            put_value(out, fo.val);
            put_varint(out, fo.observed.size());
            for (auto& d : fo.observed) {
              put_id(out, d.origin);
              put_varint(out, d.seq);
            }
            break;
        }
      }
      break;
    case operation::kind::remove_record:
      out.push_back(k_delete);
      put_id(out, op.record);
      put_varint(out, op.observed.size());
      for (auto& o : op.observed) {
        put_str(out, o.field);
        put_id(out, o.origin);
        put_varint(out, o.positive);
        put_varint(out, o.negative);
      }
      break;
    case operation::kind::create_index:
    case operation::kind::drop_index:
      out.push_back(op.k == operation::kind::create_index ? k_create_index : k_drop_index);
      put_str(out, op.index_field);
      break;
    case operation::kind::sealed: break;  // refused by seal_operation
  }
  return out;
}

result<operation> decode_sealed_inner(std::string_view inner, const dot& id, uint64_t counter, int nesting) {
  reader r(inner, nesting);
  operation op;
  op.id = id;
  op.counter = counter;
  if (r.u8() != inner_format && r.ok())
    r.fail("unknown inner format");
  uint8_t kind = r.u8();
  switch (kind) {
    case k_upsert: {
      op.k = operation::kind::upsert;
      op.record = r.id();
      uint64_t n = r.count(3);
      op.fields.reserve(n);
      for (uint64_t i = 0; i < n && r.ok(); ++i) {
        field_op fo;
        fo.field = r.str();
        uint8_t tag = r.u8();
        if (tag & ~(f_op_mask | f_has_base | f_base_absolute | f_base_node_is_origin))
          r.fail("unknown field flags");
        switch (tag & f_op_mask) {
          case f_set: fo.k = field_op::kind::set; break;
          case f_increment: fo.k = field_op::kind::increment; break;
          case f_add: fo.k = field_op::kind::add; break;
          case f_remove: fo.k = field_op::kind::remove; break;
        }
        if (tag & f_has_base) {
          if (fo.k != field_op::kind::set)
            r.fail("a base on a field operation other than set");
          uint64_t c = r.varint();
          if (tag & f_base_absolute) {
            if (c <= counter)
              r.fail("absolute base not after the timestamp");
            fo.base.counter = c;
          } else {
            if (c > counter)
              r.fail("base before time zero");
            fo.base.counter = counter - c;
          }
          fo.base.node = (tag & f_base_node_is_origin) ? id.origin : r.id();
          if (r.ok() && fo.base.is_zero())
            r.fail("zero base");
        } else if (tag & (f_base_absolute | f_base_node_is_origin)) {
          r.fail("base flags without a base");
        }
        switch (fo.k) {
          case field_op::kind::set:
          case field_op::kind::add: fo.val = r.val(1); break;
          case field_op::kind::increment: fo.delta = unzigzag(r.varint()); break;
          case field_op::kind::remove: {
            fo.val = r.val(1);
            uint64_t m = r.count(17);
            fo.observed.reserve(m);
            for (uint64_t j = 0; j < m && r.ok(); ++j) {
              dot d;
              d.origin = r.id();
              d.seq = r.varint();
              fo.observed.push_back(d);
            }
            break;
          }
        }
        op.fields.push_back(std::move(fo));
      }
      break;
    }
    case k_delete: {
      op.k = operation::kind::remove_record;
      op.record = r.id();
      uint64_t n = r.count(19);
      op.observed.reserve(n);
      for (uint64_t i = 0; i < n && r.ok(); ++i) {
        counter_observation o;
        o.field = r.str();
        o.origin = r.id();
        o.positive = r.varint();
        o.negative = r.varint();
        op.observed.push_back(std::move(o));
      }
      break;
    }
    case k_create_index:
    case k_drop_index:
      op.k = kind == k_create_index ? operation::kind::create_index : operation::kind::drop_index;
      op.index_field = r.str();
      break;
    default:
      if (r.ok())
        r.fail("unknown operation kind " + std::to_string(kind));
  }
  if (r.ok() && !r.done())
    r.fail("trailing bytes");
  if (!r.ok())
    return status{errc::corrupt, "inner operation: " + r.error()};
  return op;
}

std::string sealed_op_associated_data(std::string_view database_id, const operation& outer) {
  std::string ad = crypto::op_associated_data(database_id, outer.collection, outer.id);
  crypto::wire::put_u64(ad, outer.counter);
  return ad;
}

result<operation> seal_operation(const operation& plain, const crypto::content_key& key, std::string_view database_id,
                                 const std::optional<crypto::aes256gcm::nonce>& fixed_nonce) {
  if (plain.k == operation::kind::sealed)
    return status{errc::invalid_argument, "operation is already sealed"};
  operation outer;
  outer.id = plain.id;
  outer.counter = plain.counter;
  outer.collection = plain.collection;
  outer.txn = plain.txn;  // routing metadata: replicas hold a transaction's parts before opening them
  outer.k = operation::kind::sealed;
  auto box = crypto::seal(key, encode_sealed_inner(plain), sealed_op_associated_data(database_id, outer), fixed_nonce);
  if (!box.ok())
    return box.error();
  outer.sealed_box = std::move(*box);
  return outer;
}

result<uint32_t> sealed_op_epoch(const operation& sealed) {
  if (sealed.k != operation::kind::sealed)
    return status{errc::invalid_argument, "a " + std::string(kind_name(sealed.k)) + " operation is not sealed"};
  return crypto::sealed_epoch(sealed.sealed_box);
}

result<operation> open_operation(const operation& sealed, const crypto::content_key& key,
                                 std::string_view database_id, const decode_limits& lim) {
  if (sealed.k != operation::kind::sealed)
    return status{errc::invalid_argument, "a " + std::string(kind_name(sealed.k)) + " operation is not sealed"};
  if (!sealed.record.is_zero() || !sealed.fields.empty() || !sealed.observed.empty() || !sealed.index_field.empty())
    return corrupt(sealed, "clear record or fields next to the sealed box");
  auto inner_bytes = crypto::open(key, sealed.sealed_box, sealed_op_associated_data(database_id, sealed));
  if (!inner_bytes.ok())
    return corrupt(sealed, inner_bytes.error().message);
  auto op = decode_sealed_inner(*inner_bytes, sealed.id, sealed.counter, lim.nesting);
  if (!op.ok())
    return corrupt(sealed, op.error().message);
  op->collection = sealed.collection;
  op->txn = sealed.txn;
  return op;
}

} // namespace blaze
