// A budget of bytes in flight shared by every connection of a server: a
// request takes its body's size before reading it and gives it back once its
// response is written. Lock-free; never blocks (callers that may wait poll).
#pragma once

#include <atomic>
#include <cstdint>

namespace cwasi {

class ByteBudget {
 public:
  explicit ByteBudget(uint64_t limit) : limit_(limit) {}

  // Takes `n` bytes if they fit under the limit.
  bool tryTake(uint64_t n) {
    uint64_t used = used_.load(std::memory_order_relaxed);
    do {
      if (n > limit_ || used > limit_ - n) return false;
    } while (!used_.compare_exchange_weak(used, used + n, std::memory_order_relaxed));
    return true;
  }
  // Takes `n` bytes that are already in memory (a response made), over the
  // limit if need be: later requests wait for them instead.
  void take(uint64_t n) { used_.fetch_add(n, std::memory_order_relaxed); }
  void give(uint64_t n) { used_.fetch_sub(n, std::memory_order_relaxed); }
  uint64_t used() const { return used_.load(std::memory_order_relaxed); }
  uint64_t limit() const { return limit_; }

 private:
  const uint64_t limit_;
  std::atomic<uint64_t> used_{0};
};

}  // namespace cwasi
