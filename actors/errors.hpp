// blaze::errc as a CAF error category, and conversions between caf::error
// and blaze::status (exceptions never cross an actor boundary).
#pragma once

#include "core/status.hpp"

#include <caf/atom.hpp>
#include <caf/error.hpp>

namespace blaze {

/// The CAF error category of blaze::errc.
constexpr caf::atom_value error_category = caf::atom("blaze");

/// A caf::error in the blaze category carrying the status's message.
caf::error to_error(const status& s);
/// ADL hook: lets CAF build errors from blaze::errc (`caf::make_error`).
inline caf::error make_error(errc code, std::string message = {}) {
  return to_error(status{code, std::move(message)});
}

/// The status a caf::error stands for (non-blaze errors map to io_error,
/// timeouts to errc::timeout), with a readable message.
status to_status(const caf::error& e);

} // namespace blaze

