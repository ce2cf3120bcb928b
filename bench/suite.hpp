// Internal helpers shared by the bench suites: options, temporary data
// directories, figures and their JSON lines. Not installed; see bench.hpp.
#pragma once

#include "core/status.hpp"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace blaze::bench {

struct options {
  bool quick = false;
  int runs = 5;  // runs per figure (the median is reported)
  std::string only;  // run only this group of figures (empty: all)
  bool wants(const std::string& group) const { return only.empty() || only == group; }
};

/// A target a figure is compared with: value < threshold, value <= threshold,
/// or value >= threshold.
struct target {
  enum class kind { none, below, at_most, at_least };
  kind k = kind::none;
  double threshold = 0;

  static target below(double x) { return {kind::below, x}; }
  static target at_most(double x) { return {kind::at_most, x}; }
  static target at_least(double x) { return {kind::at_least, x}; }
  std::string text() const;
  bool met(double v) const;
};

/// One figure: its samples (one per run), printed as their median.
struct figure {
  std::string name;
  std::string unit;
  target goal;
  int decimals = 1;
  std::vector<double> samples;
  std::string note;  // optional, printed as "note"
};

double median(std::vector<double> v);
/// The p-quantile (0..1) of sorted samples (nearest rank).
double quantile(const std::vector<double>& sorted, double p);

/// Prints the figure as one JSON line on stdout.
void report(const figure& f);

/// /proc/loadavg's 1, 5 and 15 minute figures ("unknown" if unreadable).
std::string load_average();

/// A line of progress on stderr.
void progress(const std::string& line);

/// A fresh directory under /tmp (mkdtemp), removed with its contents on
/// destruction.
class temp_dir {
public:
  explicit temp_dir(const std::string& prefix);
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const std::filesystem::path& path() const { return path_; }

private:
  std::filesystem::path path_;
};

using steady = std::chrono::steady_clock;

inline double seconds_since(steady::time_point t0) {
  return std::chrono::duration<double>(steady::now() - t0).count();
}

inline int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(steady::now().time_since_epoch()).count();
}

/// `x` with `decimals` digits after the point.
inline std::string num(double x, int decimals = 1) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", decimals, x);
  return buf;
}

// A suite stops at the first unexpected failure (std::runtime_error, which
// the driver prints): a figure measured past one would mean nothing.
inline void expect(bool ok, const std::string& what) {
  if (!ok)
    throw std::runtime_error(what);
}
template <class T> T checked(result<T> r, const std::string& what) {
  if (!r)
    throw std::runtime_error(what + ": " + r.error().to_string());
  return std::move(*r);
}
inline void checked(const status& s, const std::string& what) {
  if (!s)
    throw std::runtime_error(what + ": " + s.to_string());
}

int run_local(const options& opts);
int run_sync(const options& opts);
int run_crypto(const options& opts);
int run_e2e(const options& opts);
int run_groups(const options& opts);

} // namespace blaze::bench
