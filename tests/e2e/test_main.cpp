// The e2e_tests module (tests/e2e/CMakeLists.txt).
#define BOOST_TEST_MODULE e2e_tests
#include <boost/test/unit_test.hpp>
