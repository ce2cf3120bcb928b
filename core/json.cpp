#include "core/json.hpp"

#include <cmath>
#include <cstring>
#include <optional>

namespace blaze {

namespace {

constexpr char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string base64_encode(std::string_view in) {
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t n = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    for (int s = 18; s >= 0; s -= 6)
      out.push_back(b64[(n >> s) & 63]);
  }
  if (size_t rest = in.size() - i) {
    uint32_t n = uint8_t(in[i]) << 16;
    if (rest == 2)
      n |= uint8_t(in[i + 1]) << 8;
    out.push_back(b64[(n >> 18) & 63]);
    out.push_back(b64[(n >> 12) & 63]);
    out.push_back(rest == 2 ? b64[(n >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view in) {
  if (in.size() % 4)
    return std::nullopt;
  std::string out;
  for (size_t i = 0; i < in.size(); i += 4) {
    uint32_t n = 0;
    int pad = 0;
    for (int j = 0; j < 4; ++j) {
      char c = in[i + j];
      const char* p = c == '=' ? nullptr : std::strchr(b64, c);
      if (c == '=') {
        if (i + 4 != in.size() || j < 2)
          return std::nullopt;
        ++pad;
      } else if (!p || !c || pad) {
        return std::nullopt;
      }
      n = (n << 6) | (p ? uint32_t(p - b64) : 0);
    }
    out.push_back(char(n >> 16));
    if (pad < 2)
      out.push_back(char((n >> 8) & 0xff));
    if (pad < 1)
      out.push_back(char(n & 0xff));
  }
  return out;
}

status bad(std::string m) { return {errc::invalid_argument, std::move(m)}; }

} // namespace

nlohmann::json to_json(const value& v) {
  switch (v.type()) {
    case value::kind::null: return nullptr;
    case value::kind::boolean: return v.as<bool>();
    case value::kind::integer: return v.as<int64_t>();
    case value::kind::real: {
      double d = v.as<double>();
      if (std::isfinite(d))
        return d;
      return nlohmann::json{{"$double", std::isnan(d) ? "nan" : (d > 0 ? "inf" : "-inf")}};
    }
    case value::kind::string: return v.as<std::string>();
    case value::kind::bytes: return nlohmann::json{{"$bytes", base64_encode(v.as<bytes>().data)}};
    case value::kind::time: return nlohmann::json{{"$time", v.as<time_point>().micros}};
    case value::kind::uuid: return nlohmann::json{{"$uuid", v.as<uuid>().id.to_hex()}};
    case value::kind::array: {
      auto a = nlohmann::json::array();
      for (auto& e : v.as<value_array>())
        a.push_back(to_json(e));
      return a;
    }
    case value::kind::map: return to_json(v.as<value_map>());
  }
  return nullptr;
}

nlohmann::json to_json(const value_map& doc) {
  auto o = nlohmann::json::object();
  for (auto& [k, e] : doc)
    o[k] = to_json(e);
  return o;
}

namespace {

// Recursion guard: nlohmann parses any depth, but converting recursively
// would overflow the stack on input like 100,000 nested '['.
result<value> from_json_at(const nlohmann::json& j, size_t depth) {
  if (depth >= max_json_depth && (j.is_array() || j.is_object()))
    return bad("JSON nests arrays/objects more than " + std::to_string(max_json_depth) + " levels deep");
  using t = nlohmann::json::value_t;
  switch (j.type()) {
    case t::null: return value{};
    case t::boolean: return value{j.get<bool>()};
    case t::number_integer: return value{j.get<int64_t>()};
    case t::number_unsigned: {
      auto u = j.get<uint64_t>();
      if (u > uint64_t(INT64_MAX))
        return bad("integer " + std::to_string(u) + " does not fit in 64 signed bits");
      return value{int64_t(u)};
    }
    case t::number_float: return value{j.get<double>()};
    case t::string: return value{j.get<std::string>()};
    case t::array: {
      value_array a;
      for (auto& e : j) {
        auto v = from_json_at(e, depth + 1);
        if (!v)
          return v.error();
        a.push_back(std::move(*v));
      }
      return value{std::move(a)};
    }
    case t::object: {
      if (j.size() == 1) {
        // (not `*j.items().begin()`: that binds to a temporary iterator)
        auto it = j.begin();
        const std::string& k = it.key();
        const nlohmann::json& e = it.value();
        if (k == "$bytes") {
          auto d = e.is_string() ? base64_decode(e.get<std::string>()) : std::nullopt;
          if (!d)
            return bad("$bytes needs a base64 string");
          return value{bytes{*d}};
        }
        if (k == "$time") {
          if (!e.is_number_integer())
            return bad("$time needs integer microseconds since the epoch");
          return value{time_point{e.get<int64_t>()}};
        }
        if (k == "$uuid") {
          auto id = e.is_string() ? id128::from_hex(e.get<std::string>()) : std::nullopt;
          if (!id)
            return bad("$uuid needs 32 hex digits");
          return value{uuid{*id}};
        }
        if (k == "$double") {
          auto s = e.is_string() ? e.get<std::string>() : "";
          if (s == "nan")
            return value{std::nan("")};
          if (s == "inf")
            return value{HUGE_VAL};
          if (s == "-inf")
            return value{-HUGE_VAL};
          return bad("$double needs \"nan\", \"inf\" or \"-inf\"");
        }
      }
      value_map m;
      for (auto& [k, e] : j.items()) {
        auto v = from_json_at(e, depth + 1);
        if (!v)
          return v.error();
        m.emplace(k, std::move(*v));
      }
      return value{std::move(m)};
    }
    case t::binary:
    case t::discarded: break;
  }
  return bad("unsupported JSON value");
}

} // namespace

result<value> from_json(const nlohmann::json& j) { return from_json_at(j, 0); }

value parse_cli_value(std::string_view text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_discarded())
    if (auto v = from_json(j))
      return std::move(*v);
  return value{std::string(text)};
}

} // namespace blaze
