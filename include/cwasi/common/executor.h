// A bounded executor: work items run on threads the executor owns, started on
// demand up to `max_threads` and reused, so no caller starts a thread per
// request. Idle threads beyond `keep_idle` leave after `idle_exit` and are
// joined by the executor (never detached). Past `max_threads` busy, work waits
// in a queue of at most `max_queued`; past that, post() refuses it with
// ResourceExhausted. A thread that cannot be started (RLIMIT_NPROC, a cgroup's
// pids.max, memory) is an Unavailable error when no thread is left to run the
// work, never an exception that ends the process.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <list>
#include <memory>
#include <string>
#include <thread>

#include "cwasi/common/mutex.h"
#include "cwasi/common/result.h"

namespace cwasi {

// Starts a thread running `body`: the seam through which tests make thread
// creation fail. The default is std::thread, with its std::system_error
// turned into an Error.
using ThreadStarter = std::function<Result<std::thread>(std::function<void()> body)>;
ThreadStarter defaultThreadStarter();

struct ExecutorOptions {
  std::string name = "executor";  // for errors and logs
  size_t max_threads = 16;
  size_t max_queued = 1024;
  size_t keep_idle = 4;
  std::chrono::milliseconds idle_exit{30'000};
  ThreadStarter start_thread = defaultThreadStarter();
};

class Executor {
 public:
  explicit Executor(ExecutorOptions options);
  ~Executor();  // stop()
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // Runs `work` on one of the executor's threads, now or when one is free.
  // ResourceExhausted when `max_queued` items already wait; Unavailable when
  // stopped, or when no thread runs and none can be started. Thread-safe.
  Result<void> post(std::function<void()> work) EXCLUDES(mu_);
  // post(), except from one of this executor's own work items: then `work`
  // runs on the same thread right after that item returns — no queue, no
  // wake-up (a handoff, as Tokio's LIFO slot). One per item, at most
  // kMaxHandoffs in a row; beyond, it is queued. Never for work the item
  // itself then waits for (it would wait for itself).
  Result<void> postNext(std::function<void()> work) EXCLUDES(mu_);
  static constexpr size_t kMaxHandoffs = 16;
  // Waits until nothing runs or waits (on a condition, not a timer), or
  // until `deadline`; false on timeout.
  bool drain(std::chrono::steady_clock::time_point deadline) EXCLUDES(mu_);
  // Refuses new work (Unavailable) and drops what waits; running work goes
  // on. Returns how many waiting items were dropped.
  size_t close() EXCLUDES(mu_);
  // Refuses new work, drops what waits, lets running work finish and joins
  // every thread. Returns how many waiting items were dropped. Idempotent;
  // never called from a work item (it would wait for itself).
  size_t stop() EXCLUDES(mu_);

  size_t threads() const EXCLUDES(mu_);
  size_t running() const EXCLUDES(mu_);
  size_t queued() const EXCLUDES(mu_);

 private:
  struct Handoff;
  static thread_local Handoff* tl_handoff;
  void serve() EXCLUDES(mu_);
  // post() under the lock; hands over the threads that have left, for the
  // caller to join outside it.
  Result<void> enqueue(std::function<void()> work, std::list<std::thread>& exited) EXCLUDES(mu_);

  const ExecutorOptions options_;
  mutable Mutex mu_;
  CondVar work_;  // work queued, or stopping
  CondVar idle_;  // work finished or a thread left: drain() and stop() re-check
  std::deque<std::function<void()>> queue_ GUARDED_BY(mu_);
  std::list<std::thread> threads_ GUARDED_BY(mu_);
  std::list<std::thread> exited_ GUARDED_BY(mu_);  // left; joined by the next caller
  size_t live_ GUARDED_BY(mu_) = 0;                 // threads in serve()
  size_t waiting_ GUARDED_BY(mu_) = 0;              // threads waiting for work
  size_t running_ GUARDED_BY(mu_) = 0;
  bool stopping_ GUARDED_BY(mu_) = false;
  bool closed_ GUARDED_BY(mu_) = false;
};

}  // namespace cwasi
