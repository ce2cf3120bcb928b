#include "core/status.hpp"

namespace blaze {

const char* to_string(errc e) {
  switch (e) {
    case errc::none: return "ok";
    case errc::invalid_argument: return "invalid argument";
    case errc::too_large: return "too large";
    case errc::unknown_database: return "unknown database";
    case errc::unknown_collection: return "unknown collection";
    case errc::unknown_record: return "unknown record";
    case errc::corrupt: return "corrupt data";
    case errc::io_error: return "I/O error";
    case errc::locked: return "locked";
    case errc::clock_skew: return "clock skew";
    case errc::out_of_order: return "out of order";
    case errc::equivocation: return "equivocation";
    case errc::timeout: return "timeout";
    case errc::closed: return "closed";
    case errc::network: return "network";
    case errc::protocol: return "protocol";
    case errc::forbidden: return "forbidden";
  }
  return "unknown error";
}

std::string status::to_string() const {
  if (ok())
    return "ok";
  return message.empty() ? std::string(blaze::to_string(code)) : message;
}

} // namespace blaze
