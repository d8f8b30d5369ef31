#include "cwasi/trigger/limiter.h"

#include <algorithm>
#include <memory>

namespace cwasi::trigger {

Limiter::Limiter(size_t capacity, size_t max_queued)
    : capacity_(std::max<size_t>(1, capacity)), max_queued_(max_queued) {}

Result<bool> Limiter::tryAcquire(Clock::time_point deadline, Waiter waiter, uint64_t* ticket) {
  std::deque<std::pair<Waiter, Result<void>>> calls;
  Result<bool> out = false;
  {
    MutexLock lock(mu_);
    calls = grant(Clock::now());  // expired waiters go first: they do not hold a place
    if (inflight_ < capacity_ && queue_.empty()) {
      ++inflight_;
      out = true;
    } else if (queue_.size() >= max_queued_) {
      out = resourceExhausted("too many requests: " + std::to_string(inflight_) +
                              " in flight and " + std::to_string(queue_.size()) + " waiting");
    } else {
      const uint64_t t = next_ticket_++;
      if (ticket) *ticket = t;
      queue_.push_back({t, deadline, std::move(waiter)});
    }
  }
  run(std::move(calls));
  return out;
}

Result<void> Limiter::acquire(Clock::time_point deadline) {
  // The waiter may be called after this returns (it is the one that timed
  // out), so what it touches is shared with it.
  struct Slot {
    Mutex mu;
    CondVar cv;
    bool done GUARDED_BY(mu) = false;
    Result<void> result GUARDED_BY(mu);
  };
  auto slot = std::make_shared<Slot>();
  uint64_t ticket = 0;
  TRY_ASSIGN(bool now, tryAcquire(
                           deadline,
                           [slot](Result<void> r) {
                             MutexLock lock(slot->mu);
                             slot->result = std::move(r);
                             slot->done = true;
                             slot->cv.notifyAll();
                           },
                           &ticket));
  if (now) return {};
  MutexLock lock(slot->mu);
  while (!slot->done) {
    if (!slot->cv.waitUntil(slot->mu, deadline) && Clock::now() >= deadline) {
      slot->mu.unlock();
      const bool removed = cancel(ticket);
      slot->mu.lock();
      if (removed) {
        return deadlineExceeded("timed out waiting for a free slot (" + std::to_string(capacity()) +
                                " in flight)");
      }
      // Granted (or expired) as it timed out: take what the waiter got.
      while (!slot->done) slot->cv.wait(slot->mu);
    }
  }
  return slot->result;
}

void Limiter::release() {
  std::deque<std::pair<Waiter, Result<void>>> calls;
  {
    MutexLock lock(mu_);
    if (inflight_ > 0) --inflight_;
    calls = grant(Clock::now());
    if (inflight_ == 0) idle_.notifyAll();
  }
  run(std::move(calls));
}

bool Limiter::cancel(uint64_t ticket) {
  MutexLock lock(mu_);
  auto it = std::find_if(queue_.begin(), queue_.end(), [&](const Queued& q) { return q.ticket == ticket; });
  if (it == queue_.end()) return false;
  queue_.erase(it);
  return true;
}

void Limiter::expire(Clock::time_point now) {
  std::deque<std::pair<Waiter, Result<void>>> calls;
  {
    MutexLock lock(mu_);
    calls = grant(now);
  }
  run(std::move(calls));
}

std::deque<std::pair<Limiter::Waiter, Result<void>>> Limiter::grant(Clock::time_point now) {
  std::deque<std::pair<Waiter, Result<void>>> calls;
  for (auto it = queue_.begin(); it != queue_.end();) {
    if (it->deadline <= now) {
      calls.emplace_back(std::move(it->waiter),
                         deadlineExceeded("timed out waiting for a free slot (" +
                                          std::to_string(capacity_) + " in flight)"));
      it = queue_.erase(it);
    } else {
      ++it;
    }
  }
  while (inflight_ < capacity_ && !queue_.empty()) {
    ++inflight_;
    calls.emplace_back(std::move(queue_.front().waiter), Result<void>());
    queue_.pop_front();
  }
  return calls;
}

void Limiter::run(std::deque<std::pair<Waiter, Result<void>>> calls) {
  for (auto& [waiter, result] : calls) waiter(std::move(result));
}

bool Limiter::waitIdle(Clock::time_point deadline) {
  MutexLock lock(mu_);
  while (inflight_ > 0 && !stop_waiting_) {
    if (!idle_.waitUntil(mu_, deadline) && Clock::now() >= deadline) break;
  }
  return inflight_ == 0;
}

void Limiter::stopWaiting() {
  MutexLock lock(mu_);
  stop_waiting_ = true;
  idle_.notifyAll();
}

void Limiter::setCapacity(size_t capacity, size_t max_queued) {
  std::deque<std::pair<Waiter, Result<void>>> calls;
  {
    MutexLock lock(mu_);
    capacity_ = std::max<size_t>(1, capacity);
    max_queued_ = max_queued;
    calls = grant(Clock::now());
  }
  run(std::move(calls));
}

size_t Limiter::inflight() const {
  MutexLock lock(mu_);
  return inflight_;
}

size_t Limiter::queued() const {
  MutexLock lock(mu_);
  return queue_.size();
}

size_t Limiter::capacity() const {
  MutexLock lock(mu_);
  return capacity_;
}

}  // namespace cwasi::trigger
