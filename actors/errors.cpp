#include "actors/errors.hpp"

#include <caf/make_message.hpp>
#include <caf/sec.hpp>

namespace blaze {

caf::error to_error(const status& s) {
  return caf::error(static_cast<uint8_t>(s.code), error_category, caf::make_message(s.message));
}

status to_status(const caf::error& e) {
  if (!e)
    return {};
  std::string msg;
  if (e.context().match_elements<std::string>())
    msg = e.context().get_as<std::string>(0);
  if (e.category() == error_category)
    return {static_cast<errc>(e.code()), msg};
  if (e.category() == caf::atom("system") && e.code() == static_cast<uint8_t>(caf::sec::request_timeout))
    return {errc::timeout, "request timed out"};
  if (e.category() == caf::atom("system") &&
      (e.code() == static_cast<uint8_t>(caf::sec::request_receiver_down) ||
       e.code() == static_cast<uint8_t>(caf::sec::invalid_argument)))
    return {errc::closed, "the database actor is gone"};
  return {errc::io_error, "actor error: " + caf::to_string(e)};
}

} // namespace blaze
