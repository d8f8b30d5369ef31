// A bounded queue of typed work on threads of its own executor: the shape of
// the daemon's async calls and of the callbacks that report them.
#pragma once

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <utility>

#include "cwasi/common/executor.h"

namespace cwasi::node {

template <class T>
class WorkerPool {
 public:
  // Up to `threads` threads (at least one) take items in turn and hand them
  // to `work`; `capacity` more wait.
  WorkerPool(size_t capacity, int threads, std::function<void(T)> work)
      : capacity_(capacity),
        work_(std::make_shared<std::function<void(T)>>(std::move(work))),
        executor_({.name = "worker pool",
                   .max_threads = static_cast<size_t>(std::max(1, threads)),
                   .max_queued = capacity}) {}
  ~WorkerPool() { stop(); }
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Queues an item; false when `capacity` items already wait, or closed.
  // Thread-safe.
  bool push(T item) {
    // The item is moved into a shared holder: the executor's work is copyable.
    auto held = std::make_shared<T>(std::move(item));
    return executor_.post([work = work_, held] { (*work)(std::move(*held)); }).ok();
  }
  size_t queued() const { return executor_.queued(); }
  size_t capacity() const { return capacity_; }
  // Items being worked on now.
  size_t busy() const { return executor_.running(); }
  // Refuses new items and drops the waiting ones; how many were dropped.
  // The items being worked on go on.
  size_t close() { return executor_.close(); }
  // Waits (on a condition) until nothing runs or waits, or `deadline`.
  bool drain(std::chrono::steady_clock::time_point deadline) { return executor_.drain(deadline); }
  // Lets the items being worked on finish, drops the waiting ones and joins
  // the threads; how many were dropped (0 once stopped).
  size_t stop() { return executor_.stop(); }

 private:
  const size_t capacity_;
  std::shared_ptr<std::function<void(T)>> work_;
  Executor executor_;
};

}  // namespace cwasi::node
