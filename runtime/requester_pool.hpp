// A pool of caf::scoped_actors for the blocking API: creating one per call
// costs more than the call itself. Owned by the node; thread-safe.
#pragma once

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>

#include <memory>
#include <mutex>
#include <vector>

namespace blaze {

class requester_pool {
public:
  explicit requester_pool(caf::actor_system& sys) : sys_(sys) {}

  /// A borrowed scoped_actor, returned to the pool when the lease ends.
  /// Call `discard()` after a failed request: a late reply may still arrive
  /// in its mailbox, so it must not be reused.
  class lease {
  public:
    lease(requester_pool& pool, std::unique_ptr<caf::scoped_actor> self)
      : pool_(&pool), self_(std::move(self)) {}
    lease(lease&&) = default;
    ~lease() {
      if (self_)
        pool_->give_back(std::move(self_));
    }
    caf::scoped_actor& operator*() { return *self_; }
    caf::scoped_actor& get() { return *self_; }
    void discard() { self_.reset(); }

  private:
    requester_pool* pool_;
    std::unique_ptr<caf::scoped_actor> self_;
  };

  lease borrow() {
    {
      std::lock_guard<std::mutex> guard(mutex_);
      if (!free_.empty()) {
        auto self = std::move(free_.back());
        free_.pop_back();
        return lease(*this, std::move(self));
      }
    }
    return lease(*this, std::make_unique<caf::scoped_actor>(sys_));
  }

private:
  static constexpr size_t max_idle = 64;

  void give_back(std::unique_ptr<caf::scoped_actor> self) {
    std::lock_guard<std::mutex> guard(mutex_);
    if (free_.size() < max_idle)
      free_.push_back(std::move(self));
  }

  caf::actor_system& sys_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<caf::scoped_actor>> free_;
};

} // namespace blaze
