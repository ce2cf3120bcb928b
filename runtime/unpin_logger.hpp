// CAF 0.17 pins its actor system's logger in a thread_local of every thread
// that spawns an actor (a scoped_actor included), and ~actor_system waits
// until that logger is destroyed. A node destroyed on one thread while
// another, still running thread holds such a pin would wait forever, so
// every runtime call that spawns drops the calling thread's pin on return.
#pragma once

#include <caf/logger.hpp>

namespace blaze::detail {

struct unpin_caf_logger {
  unpin_caf_logger() = default;
  unpin_caf_logger(const unpin_caf_logger&) = delete;
  unpin_caf_logger& operator=(const unpin_caf_logger&) = delete;
  ~unpin_caf_logger() { caf::logger::set_current_actor_system(nullptr); }
};

} // namespace blaze::detail
