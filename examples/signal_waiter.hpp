// The CLI's way of taking SIGINT/SIGTERM/SIGHUP: blocked in every thread
// (construct it before the node starts its threads, which inherit the mask)
// and taken with sigtimedwait by the thread that waits, so a command that
// runs until interrupted (`sync --follow`, `serve`, `join`) cleans up.
#pragma once

#include <signal.h>

#include <chrono>
#include <ctime>

namespace blaze::cli {

class signal_waiter {
public:
  signal_waiter() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    sigaddset(&set_, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set_, nullptr);
  }
  /// The signal that arrived within `d`, or 0.
  int wait(std::chrono::milliseconds d) {
    timespec ts{static_cast<time_t>(d.count() / 1000), static_cast<long>((d.count() % 1000) * 1'000'000)};
    int s = sigtimedwait(&set_, nullptr, &ts);
    return s > 0 ? s : 0;
  }

private:
  sigset_t set_;
};

} // namespace blaze::cli
