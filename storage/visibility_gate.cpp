#include "storage/visibility_gate.hpp"

#include <vector>

namespace blaze {

visibility_gate::ticket visibility_gate::make_ticket() {
  std::lock_guard<std::mutex> g(m_);
  return next_++;
}

bool visibility_gate::enter(ticket t, std::function<void()> go) {
  std::lock_guard<std::mutex> g(m_);
  if (readers_waiting_ == 0) {
    admitted_.insert(t);
    return true;
  }
  queued_.emplace_back(t, std::move(go));
  return false;
}

void visibility_gate::leave(ticket t) {
  std::unique_lock<std::mutex> g(m_);
  if (admitted_.erase(t) > 0) {
    if (admitted_.empty())
      idle_.notify_all();
    return;
  }
  for (auto it = queued_.begin(); it != queued_.end(); ++it)
    if (it->first == t) {
      queued_.erase(it);
      return;
    }
}

std::vector<std::function<void()>> visibility_gate::admit_queued() {
  std::vector<std::function<void()>> gos;
  for (auto& [t, go] : queued_) {
    admitted_.insert(t);
    gos.push_back(std::move(go));
  }
  queued_.clear();
  return gos;
}

bool visibility_gate::read(std::chrono::milliseconds timeout, const std::function<void()>& take) {
  std::vector<std::function<void()>> gos;
  bool ok = false;
  {
    std::unique_lock<std::mutex> g(m_);
    ++readers_waiting_;
    ok = idle_.wait_for(g, timeout, [&] { return admitted_.empty(); });
    if (ok)
      take();
    if (--readers_waiting_ == 0)
      gos = admit_queued();
  }
  for (auto& go : gos)
    go();
  return ok;
}

size_t visibility_gate::writers() const {
  std::lock_guard<std::mutex> g(m_);
  return admitted_.size();
}

size_t visibility_gate::readers_waiting() const {
  std::lock_guard<std::mutex> g(m_);
  return readers_waiting_;
}

} // namespace blaze
