// JSON forms of values and documents (for the CLI and logs).
// bytes, time and uuid values use tagged objects: {"$bytes": "<base64>"},
// {"$time": <micros since epoch>}, {"$uuid": "<32 hex digits>"}.
#pragma once

#include "core/status.hpp"
#include "core/value.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace blaze {

nlohmann::json to_json(const value& v);
nlohmann::json to_json(const value_map& doc);
/// from_json refuses arrays/objects nested more than this many levels deep.
constexpr size_t max_json_depth = 64;
result<value> from_json(const nlohmann::json& j);

/// A CLI argument value: a JSON literal when it parses as one, else a string.
value parse_cli_value(std::string_view text);

} // namespace blaze
