// Time as a dependency: components that decide by the clock (autoscaling,
// admission deadlines, timeouts) take a Clock, so that tests drive time
// instead of sleeping (workerd's Server, leveldb's Env).
#pragma once

#include <chrono>
#include <mutex>

namespace cwasi {

class Clock {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  virtual ~Clock() = default;
  // The current time. Thread-safe.
  virtual TimePoint now() const = 0;
};

// The steady clock of the machine.
class SteadyClock : public Clock {
 public:
  TimePoint now() const override { return std::chrono::steady_clock::now(); }
};

// A clock that moves only when told; starts at the steady clock's now so that
// waits bounded by real time still make sense. Thread-safe.
class ManualClock : public Clock {
 public:
  ManualClock() : now_(std::chrono::steady_clock::now()) {}
  TimePoint now() const override {
    std::lock_guard lock(mu_);
    return now_;
  }
  void advance(std::chrono::nanoseconds by) {
    std::lock_guard lock(mu_);
    now_ += by;
  }

 private:
  mutable std::mutex mu_;
  TimePoint now_;
};

}  // namespace cwasi
