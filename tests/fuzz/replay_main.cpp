// Replays fuzz inputs without libFuzzer (any compiler): runs
// LLVMFuzzerTestOneInput once on every regular file in the directories (or
// files) given as arguments, in name order, and prints how many it ran.
// An invariant violation aborts, as under libFuzzer. Exits non-zero when no
// input was found, so a missing corpus cannot pass silently.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace fs = std::filesystem;

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s DIR_OR_FILE...\n", argv[0]);
    return 2;
  }
  auto t0 = std::chrono::steady_clock::now();
  size_t ran = 0, bytes = 0;
  for (int a = 1; a < argc; ++a) {
    std::vector<fs::path> files;
    std::error_code ec;
    if (fs::is_directory(argv[a], ec)) {
      for (auto& e : fs::directory_iterator(argv[a], ec))
        if (e.is_regular_file())
          files.push_back(e.path());
      std::sort(files.begin(), files.end());
    } else if (fs::is_regular_file(argv[a], ec)) {
      files.push_back(argv[a]);
    } else {
      std::fprintf(stderr, "%s: no such file or directory\n", argv[a]);
      return 2;
    }
    for (auto& p : files) {
      std::ifstream in(p, std::ios::binary);
      std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      if (!in.good() && !in.eof()) {
        std::fprintf(stderr, "%s: cannot read\n", p.c_str());
        return 2;
      }
      if (std::getenv("BLAZE_FUZZ_VERBOSE"))
        std::fprintf(stderr, "running %s (%zu bytes)\n", p.c_str(), data.size());
      LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(data.data()), data.size());
      ++ran;
      bytes += data.size();
    }
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("fuzz replay: ran %zu inputs (%zu bytes) in %.2f s\n", ran, bytes, secs);
  if (ran == 0) {
    std::fprintf(stderr, "fuzz replay: no inputs found\n");
    return 1;
  }
  return 0;
}
