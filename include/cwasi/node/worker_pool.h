// A bounded queue of work served by threads of its own: the shape of the
// daemon's async calls and of the callbacks that report them.
#pragma once

#include <algorithm>
#include <deque>
#include <functional>
#include <thread>
#include <utility>
#include <vector>

#include "cwasi/common/mutex.h"

namespace cwasi::node {

template <class T>
class WorkerPool {
 public:
  // Starts `threads` threads (at least one), each taking items in turn and
  // handing them to `work`.
  WorkerPool(size_t capacity, int threads, std::function<void(T)> work)
      : capacity_(capacity), work_(std::move(work)) {
    for (int i = 0; i < std::max(1, threads); ++i) threads_.emplace_back([this] { serve(); });
  }
  ~WorkerPool() { stop(); }
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Queues an item; false when `capacity` items already wait. Thread-safe.
  bool push(T item) EXCLUDES(mu_) {
    MutexLock lock(mu_);
    if (stopping_ || closed_ || queue_.size() >= capacity_) return false;
    queue_.push_back(std::move(item));
    changed_.notifyOne();
    return true;
  }
  size_t queued() const EXCLUDES(mu_) {
    MutexLock lock(mu_);
    return queue_.size();
  }
  size_t capacity() const { return capacity_; }
  // Items being worked on now.
  size_t busy() const EXCLUDES(mu_) {
    MutexLock lock(mu_);
    return busy_;
  }
  // Refuses new items and drops the waiting ones; how many were dropped.
  // The items being worked on go on.
  size_t close() EXCLUDES(mu_) {
    MutexLock lock(mu_);
    closed_ = true;
    const size_t dropped = queue_.size();
    queue_.clear();
    return dropped;
  }
  // Lets the items being worked on finish, drops the waiting ones and joins
  // the threads; how many were dropped (0 once stopped).
  size_t stop() EXCLUDES(mu_) {
    size_t dropped = 0;
    {
      MutexLock lock(mu_);
      if (stopping_) return 0;
      stopping_ = true;
      dropped = queue_.size();
      queue_.clear();
      changed_.notifyAll();
    }
    for (auto& t : threads_) t.join();
    return dropped;
  }

 private:
  void serve() EXCLUDES(mu_) {
    for (;;) {
      T item;
      {
        MutexLock lock(mu_);
        while (!stopping_ && queue_.empty()) changed_.wait(mu_);
        if (stopping_) return;
        item = std::move(queue_.front());
        queue_.pop_front();
        ++busy_;
      }
      work_(std::move(item));
      MutexLock lock(mu_);
      --busy_;
    }
  }

  const size_t capacity_;
  const std::function<void(T)> work_;
  mutable Mutex mu_;
  CondVar changed_;
  std::deque<T> queue_ GUARDED_BY(mu_);
  bool stopping_ GUARDED_BY(mu_) = false;
  bool closed_ GUARDED_BY(mu_) = false;
  size_t busy_ GUARDED_BY(mu_) = 0;
  std::vector<std::thread> threads_;
};

}  // namespace cwasi::node
