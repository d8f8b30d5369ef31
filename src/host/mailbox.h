// Internal to the host layer: a function's mailbox, the bounded queue that
// cwasi.send fills and cwasi.recv empties.
#pragma once

#include <chrono>
#include <deque>
#include <optional>
#include <vector>

#include "cwasi/common/mutex.h"

namespace cwasi::host {

// A bounded queue of messages for one function. Thread-safe.
class Mailbox {
 public:
  explicit Mailbox(size_t capacity) : capacity_(capacity) {}
  // False when full.
  bool push(std::vector<uint8_t> message) EXCLUDES(mu_) {
    MutexLock lock(mu_);
    if (queue_.size() >= capacity_) return false;
    queue_.push_back(std::move(message));
    cv_.notifyOne();
    return true;
  }
  // The oldest message, or nothing by `deadline`.
  std::optional<std::vector<uint8_t>> pop(std::chrono::steady_clock::time_point deadline)
      EXCLUDES(mu_) {
    MutexLock lock(mu_);
    while (queue_.empty()) {
      if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
      cv_.waitUntil(mu_, deadline);
    }
    auto m = std::move(queue_.front());
    queue_.pop_front();
    return m;
  }

 private:
  const size_t capacity_;
  Mutex mu_;
  CondVar cv_;
  std::deque<std::vector<uint8_t>> queue_ GUARDED_BY(mu_);
};

}  // namespace cwasi::host
