// How Boost.Test prints the sync machine's enums in failed checks.
#pragma once

#include "core/sync_session.hpp"

#include <ostream>

namespace blaze::sync {
inline std::ostream& boost_test_print_type(std::ostream& os, const error_code& c) { return os << to_string(c); }
inline std::ostream& boost_test_print_type(std::ostream& os, const session::state& s) { return os << to_string(s); }
} // namespace blaze::sync
