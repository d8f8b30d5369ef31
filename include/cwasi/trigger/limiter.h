// A function's admission: at most `capacity` requests in flight, at most
// `max_queued` more waiting for a slot, anything beyond refused at once
// (Knative's breaker, which the queue-proxy keeps apart from the autoscaler).
// Non-blocking: a request that must wait leaves a callback, not a thread —
// a function at its limit holds no server thread while its requests queue.
// Callers that own a thread anyway (async workers, workflow steps) can block
// in acquire(). Thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>

#include "cwasi/common/mutex.h"
#include "cwasi/common/result.h"

namespace cwasi::trigger {

class Limiter {
 public:
  using Clock = std::chrono::steady_clock;
  // Called exactly once for a queued request: ok when it has been given a
  // slot (release() it when done), an error when it was dropped
  // (DeadlineExceeded when its deadline passed while queued). Runs on the
  // thread that freed the slot or noticed the deadline, without the
  // limiter's lock held: it must be quick (hand the work to an executor).
  using Waiter = std::function<void(Result<void>)>;

  Limiter(size_t capacity, size_t max_queued);

  // A slot now (true), or `waiter` queued until `deadline` (false; `ticket`
  // names it for cancel()). ResourceExhausted when `max_queued` already
  // wait.
  Result<bool> tryAcquire(Clock::time_point deadline, Waiter waiter, uint64_t* ticket = nullptr)
      EXCLUDES(mu_);
  // Blocks for a slot until `deadline`: ResourceExhausted when the queue is
  // full, DeadlineExceeded when the deadline passes first.
  Result<void> acquire(Clock::time_point deadline) EXCLUDES(mu_);
  // Gives a slot back; the first waiter still in time gets it.
  void release() EXCLUDES(mu_);
  // Removes a waiter that has not been called yet (its callback never
  // runs): true when it was removed.
  bool cancel(uint64_t ticket) EXCLUDES(mu_);
  // Calls, with DeadlineExceeded, the waiters whose deadline has passed.
  void expire(Clock::time_point now) EXCLUDES(mu_);

  // Waits (on a condition) until nothing is in flight, `deadline`, or
  // stopWaiting(); true when nothing is.
  bool waitIdle(Clock::time_point deadline) EXCLUDES(mu_);
  // Ends every waitIdle() under way and to come.
  void stopWaiting() EXCLUDES(mu_);
  // A new capacity; slots freed by a larger one go to waiters at once.
  void setCapacity(size_t capacity, size_t max_queued) EXCLUDES(mu_);
  size_t inflight() const EXCLUDES(mu_);
  size_t queued() const EXCLUDES(mu_);
  size_t capacity() const EXCLUDES(mu_);

 private:
  struct Queued {
    uint64_t ticket;
    Clock::time_point deadline;
    Waiter waiter;
  };
  // Hands free slots to waiters in order; returns the callbacks to run
  // (outside the lock) with what they get.
  std::deque<std::pair<Waiter, Result<void>>> grant(Clock::time_point now) REQUIRES(mu_);
  static void run(std::deque<std::pair<Waiter, Result<void>>> calls);

  mutable Mutex mu_;
  CondVar idle_;  // inflight_ reached 0, or stopWaiting()
  bool stop_waiting_ GUARDED_BY(mu_) = false;
  size_t capacity_ GUARDED_BY(mu_);
  size_t max_queued_ GUARDED_BY(mu_);
  size_t inflight_ GUARDED_BY(mu_) = 0;
  uint64_t next_ticket_ GUARDED_BY(mu_) = 1;
  std::deque<Queued> queue_ GUARDED_BY(mu_);
};

}  // namespace cwasi::trigger
