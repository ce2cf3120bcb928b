// Test certificates: the development CA of examples/devices/dev_certs.hpp.
#pragma once

#include "examples/devices/dev_certs.hpp"

namespace blaze::test {
using demo::make_dev_certs;
using demo::tls_files;
} // namespace blaze::test
