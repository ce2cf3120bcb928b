#include "core/keys.hpp"

#include <bit>
#include <cmath>
#include <cstring>

namespace blaze::keys {

void append_u16(std::string& out, uint16_t x) {
  out.push_back(static_cast<char>(x >> 8));
  out.push_back(static_cast<char>(x & 0xff));
}

void append_u64(std::string& out, uint64_t x) {
  for (int i = 7; i >= 0; --i)
    out.push_back(static_cast<char>((x >> (8 * i)) & 0xff));
}

uint64_t read_u64(const char* p) {
  uint64_t x = 0;
  for (int i = 0; i < 8; ++i)
    x = (x << 8) | static_cast<unsigned char>(p[i]);
  return x;
}

namespace {

void append_name(std::string& out, std::string_view name) {
  append_u16(out, static_cast<uint16_t>(name.size()));
  out.append(name);
}

void append_id(std::string& out, const id128& id) {
  append_u64(out, id.hi);
  append_u64(out, id.lo);
}

uint8_t rank_of(const value& v) {
  switch (v.type()) {
    case value::kind::null: return 0x10;
    case value::kind::boolean: return 0x20;
    case value::kind::integer:
    case value::kind::real: return 0x30;
    case value::kind::string: return 0x40;
    case value::kind::bytes: return 0x50;
    case value::kind::time: return 0x60;
    case value::kind::uuid: return 0x70;
    case value::kind::array: return 0x80;
    case value::kind::map: return 0x90;
  }
  return 0xf0;
}

// Order-preserving 8 bytes of a double: flip the sign bit of positives, all
// bits of negatives.
uint64_t ordered_double(double d) {
  if (d == 0)
    d = 0;  // -0 and +0 share a key
  if (std::isnan(d))
    return ~uint64_t{0};
  auto bits = std::bit_cast<uint64_t>(d);
  return (bits & (uint64_t{1} << 63)) ? ~bits : bits | (uint64_t{1} << 63);
}

// Escaped string: 0x00 -> 0x00 0xff, terminated by 0x00 0x01.
void append_escaped(std::string& out, std::string_view s) {
  for (char c : s) {
    out.push_back(c);
    if (c == 0)
      out.push_back(static_cast<char>(0xff));
  }
  out.push_back(0);
  out.push_back(1);
}

} // namespace

std::string record(std::string_view collection, const record_id& id) {
  std::string k = record_prefix(collection);
  append_id(k, id);
  return k;
}

std::string record_prefix(std::string_view collection) {
  std::string k;
  k.reserve(collection.size() + 18);
  append_name(k, collection);
  return k;
}

record_id record_id_of(std::string_view key) {
  return {read_u64(key.data() + key.size() - 16), read_u64(key.data() + key.size() - 8)};
}

std::string oplog(const dot& d) {
  std::string k;
  k.reserve(24);
  append_id(k, d.origin);
  append_u64(k, d.seq);
  return k;
}

dot oplog_dot(std::string_view key) {
  return {{read_u64(key.data()), read_u64(key.data() + 8)}, read_u64(key.data() + 16)};
}

std::string index_prefix(std::string_view collection, std::string_view field) {
  std::string k;
  append_name(k, collection);
  append_name(k, field);
  return k;
}

std::string index_entry(std::string_view collection, std::string_view field, const value& v,
                        const record_id& id) {
  std::string k = index_prefix(collection, field);
  k += value_key(v);
  append_id(k, id);
  return k;
}

std::string value_key(const value& v) {
  std::string k;
  k.push_back(static_cast<char>(rank_of(v)));
  switch (v.type()) {
    case value::kind::null: break;
    case value::kind::boolean: k.push_back(v.as<bool>() ? 1 : 0); break;
    case value::kind::integer: append_u64(k, ordered_double(static_cast<double>(v.as<int64_t>()))); break;
    case value::kind::real: append_u64(k, ordered_double(v.as<double>())); break;
    case value::kind::string: append_escaped(k, v.as<std::string>()); break;
    case value::kind::bytes: append_escaped(k, v.as<bytes>().data); break;
    case value::kind::time: append_u64(k, static_cast<uint64_t>(v.as<time_point>().micros) ^ (uint64_t{1} << 63)); break;
    case value::kind::uuid: append_id(k, v.as<uuid>().id); break;
    case value::kind::array:
    case value::kind::map: break;  // rank only
  }
  return k;
}

std::string rank_begin(const value& v) { return std::string(1, static_cast<char>(rank_of(v))); }
std::string rank_end(const value& v) { return std::string(1, static_cast<char>(rank_of(v) + 1)); }

} // namespace blaze::keys
