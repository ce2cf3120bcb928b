// Error codes and a small result type for the pure layers (core, storage).
// actors/ registers `errc` as a CAF error category (see actors/errors.hpp).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace blaze {

enum class errc : uint8_t {
  none = 0,
  invalid_argument,   // bad field name, value, query, option
  too_large,          // value, record or field name over a configured maximum
  unknown_database,
  unknown_collection,
  unknown_record,
  corrupt,            // stored or received bytes that fail to decode
  io_error,           // RocksDB or file-system failure
  locked,             // data directory held by another process
  clock_skew,         // remote timestamp too far in the future
  out_of_order,       // remote operation with a gap in its origin's sequence
  equivocation,       // two different operations under one dot
  timeout,
  closed,             // database or node shut down
  network,            // connection refused or lost, TLS or WebSocket failure
  protocol,           // the peer broke the sync protocol or refused us (its Error)
  forbidden,          // access control: the origin lacks the rights (core/access.hpp)
};

const char* to_string(errc e);

/// An error: a code and a message a user can act on. `ok()` when code is none.
struct status {
  errc code = errc::none;
  std::string message;

  status() = default;
  status(errc c, std::string m) : code(c), message(std::move(m)) {}
  bool ok() const { return code == errc::none; }
  explicit operator bool() const { return ok(); }
  std::string to_string() const;
};

/// A value or a status. Small on purpose: core cannot depend on CAF.
template <class T> class result {
public:
  result(T v) : v_(std::move(v)) {}
  result(status s) : v_(std::move(s)) {}
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& operator*() { return std::get<0>(v_); }
  const T& operator*() const { return std::get<0>(v_); }
  T* operator->() { return &std::get<0>(v_); }
  const T* operator->() const { return &std::get<0>(v_); }
  const status& error() const { return std::get<1>(v_); }

private:
  std::variant<T, status> v_;
};

} // namespace blaze
