// blazedb-bench: the benchmark suites without the CLI (`blazedb-bench local`).
#include "bench/bench.hpp"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return blaze::run_bench(args);
}
