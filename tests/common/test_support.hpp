// Shared by the test suites: Boost.Test printers for BlazeDB types and a
// self-removing temporary directory.
#pragma once

#include "core/json.hpp"
#include "core/timestamp.hpp"
#include "core/version_vector.hpp"

#include <cstdlib>
#include <filesystem>
#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

namespace blaze {

inline std::ostream& boost_test_print_type(std::ostream& os, const value& v) { return os << to_json(v).dump(); }
inline std::ostream& boost_test_print_type(std::ostream& os, const value_map& m) { return os << to_json(m).dump(); }
inline std::ostream& boost_test_print_type(std::ostream& os, const id128& x) { return os << x.to_hex(); }
inline std::ostream& boost_test_print_type(std::ostream& os, const dot& d) {
  return os << d.origin.to_hex() << ":" << d.seq;
}
inline std::ostream& boost_test_print_type(std::ostream& os, const timestamp& t) {
  return os << "(" << t.counter << ", " << t.node.to_hex() << ")";
}
inline std::ostream& boost_test_print_type(std::ostream& os, const value::kind& k) { return os << kind_name(k); }
inline std::ostream& boost_test_print_type(std::ostream& os, const errc& e) { return os << to_string(e); }
inline std::ostream& boost_test_print_type(std::ostream& os, const version_vector& vv) {
  os << "{";
  for (auto& [o, s] : vv.entries())
    os << " " << o.to_hex().substr(24) << ":" << s;
  return os << " }";
}
inline std::ostream& boost_test_print_type(std::ostream& os, const std::vector<record_id>& ids) {
  os << "[";
  for (auto& id : ids)
    os << " " << id.to_hex().substr(24);
  return os << " ]";
}

} // namespace blaze

namespace blaze::test {

/// A fresh directory (mkdtemp) removed with everything in it on destruction.
class temp_dir {
public:
  explicit temp_dir(const std::string& prefix = "blaze-test") {
    auto base = std::filesystem::temp_directory_path() / (prefix + "-XXXXXX");
    std::string tmpl = base.string();
    if (!::mkdtemp(tmpl.data()))
      throw std::runtime_error("mkdtemp failed for " + tmpl);
    path_ = tmpl;
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& s) const { return path_ / s; }

private:
  std::filesystem::path path_;
};

} // namespace blaze::test
