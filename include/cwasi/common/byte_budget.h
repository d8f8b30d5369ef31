// A budget of bytes in flight shared by every connection of a server (and,
// in cwasid, by guests' outbound replies): a request takes its body's size
// before reading it and gives it back once its response is written.
// Lock-free; never blocks (callers that may wait poll).
#pragma once

#include <atomic>
#include <cstdint>
#include <utility>

namespace cwasi {

class ByteBudget {
 public:
  explicit ByteBudget(uint64_t limit) : limit_(limit) {}

  // Takes `n` bytes if they fit under the limit.
  bool tryTake(uint64_t n) { return tryTakeUpTo(n, limit_); }
  // Takes `n` bytes if the budget's use stays at most `ceiling` (below the
  // limit): for holders that must leave the rest to others.
  bool tryTakeUpTo(uint64_t n, uint64_t ceiling) {
    ceiling = ceiling < limit_ ? ceiling : limit_;
    uint64_t used = used_.load(std::memory_order_relaxed);
    do {
      if (n > ceiling || used > ceiling - n) return false;
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

// Bytes taken from a budget, given back when the holder is destroyed: what
// travels with a queued item that counts against one. Movable.
class HeldBytes {
 public:
  HeldBytes() = default;
  // Holds `n` bytes already taken from `budget`.
  HeldBytes(ByteBudget& budget, uint64_t n) : budget_(&budget), bytes_(n) {}
  bool budgeted() const { return budget_ != nullptr; }
  // Takes `n` more bytes from the budget, if they fit.
  bool tryTakeMore(uint64_t n) {
    if (budget_ == nullptr || !budget_->tryTake(n)) return false;
    bytes_ += n;
    return true;
  }
  HeldBytes(HeldBytes&& o) noexcept : budget_(o.budget_), bytes_(std::exchange(o.bytes_, 0)) {}
  HeldBytes& operator=(HeldBytes&& o) noexcept {
    std::swap(budget_, o.budget_);
    std::swap(bytes_, o.bytes_);
    return *this;
  }
  ~HeldBytes() {
    if (budget_) budget_->give(bytes_);
  }

 private:
  ByteBudget* budget_ = nullptr;
  uint64_t bytes_ = 0;
};

}  // namespace cwasi
