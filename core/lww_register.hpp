// Last-writer-wins register: the higher (counter, node) timestamp wins.
#pragma once

#include "core/timestamp.hpp"
#include "core/value.hpp"

namespace blaze {

struct lww_register {
  timestamp ts;    // zero: never written
  timestamp base;  // the timestamp the winning write overwrote
  value val;

  /// True when a write (t, b) and the current winner were concurrent: neither
  /// write had seen the other's value (each one's base is older than the other).
  bool concurrent_with(const timestamp& t, const timestamp& b) const {
    return !ts.is_zero() && t != ts && b < ts && base < t;
  }

  /// Applies a write; returns true when it became the winner.
  bool assign(const timestamp& t, const timestamp& b, const value& v) {
    if (t <= ts)
      return false;
    ts = t;
    base = b;
    val = v;
    return true;
  }

  /// Join with another replica's register: the later write (with its base).
  void merge(const lww_register& other) {
    if (other.ts > ts) {
      ts = other.ts;
      base = other.base;
      val = other.val;
    }
  }
};

} // namespace blaze
