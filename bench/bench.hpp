// BlazeDB benchmarks (DESIGN §11): suites of figures, each printed on stdout
// as one JSON object per line; progress and notes go to stderr.
//
//   blaze::run_bench({"local"});             // the full local suite (~1 min)
//   blaze::run_bench({"local", "--quick"});  // fewer, shorter runs (~10 s)
#pragma once

#include <string>
#include <vector>

namespace blaze {

/// Runs the suite named by args[0] ("local", "sync", "crypto", "e2e", "groups") with its options (args[1..]:
/// --quick, --runs N). Returns 0 on success, 2 on an unknown suite or bad
/// arguments, 1 when a benchmark could not run.
int run_bench(const std::vector<std::string>& args);

} // namespace blaze
