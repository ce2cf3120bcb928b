// The node's gate between changes that span databases and consistent group
// reads (docs/transactions.md, "Consistent group reads"). A *writer* is one
// transaction being applied to several databases — the commit phase of a
// local two-phase commit, or the release of a remote transaction's held parts
// — from before its first part is applied until its last one is. A *reader*
// takes its read points (a RocksDB snapshot of every database it reads) only
// while no writer is admitted, so what it reads holds every transaction
// wholly or not at all.
//
// Thread contract (why nothing can deadlock with the actors):
//   - writers never wait: enter() either admits at once or queues the writer
//     and returns; its `go` callback runs later (on the reader's thread) and
//     must only post a message. Database and group actors therefore never
//     block a CAF worker on this gate beyond its short internal mutex;
//   - a reader waits (on its own thread, bounded by a timeout) only for the
//     writers admitted before it, whose remaining work is messages to actors
//     that the gate never blocks. While a reader waits, new writers are
//     queued (readers are not starved); once the last waiting reader has its
//     read points the queued writers are admitted;
//   - `take` runs under the gate's mutex: it must be short and must not wait
//     on an actor (RocksDB GetSnapshot is fine). Never call read() from a CAF
//     actor thread.
// Every admitted writer must leave() exactly once; leave() of a queued writer
// withdraws it (its `go` is then never called).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <set>
#include <utility>
#include <vector>

namespace blaze {

class visibility_gate {
public:
  using ticket = uint64_t;

  /// A new writer's ticket: pass it to enter() and leave().
  ticket make_ticket();
  /// Writer `t` is about to apply. true: admitted now (`go` is not called).
  /// false: a reader is waiting; `t` is queued and `go` is called once it
  /// is admitted — on another thread, after enter() returned.
  bool enter(ticket t, std::function<void()> go);
  /// Writer `t` is wholly applied (or gives up). Unknown tickets: no-op.
  void leave(ticket t);

  /// Waits up to `timeout` until no writer is admitted, then calls `take`
  /// under the gate's mutex. false on timeout (`take` not called).
  bool read(std::chrono::milliseconds timeout, const std::function<void()>& take);

  /// Admitted writers and waiting readers now (tests, diagnostics).
  size_t writers() const;
  size_t readers_waiting() const;

private:
  // Admits every queued writer; returns their callbacks (called unlocked).
  std::vector<std::function<void()>> admit_queued();

  mutable std::mutex m_;
  std::condition_variable idle_;  // notified when the last admitted writer leaves
  ticket next_ = 1;
  std::set<ticket> admitted_;
  std::deque<std::pair<ticket, std::function<void()>>> queued_;
  size_t readers_waiting_ = 0;
};

} // namespace blaze
