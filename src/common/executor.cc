#include "cwasi/common/executor.h"

#include <system_error>

#include "cwasi/common/log.h"

namespace cwasi {

// The work item this thread runs for an executor, if any: where postNext()
// leaves what runs after it.
struct Executor::Handoff {
  Executor* executor;
  std::function<void()> next;
  size_t chained = 0;
};
thread_local Executor::Handoff* Executor::tl_handoff = nullptr;

ThreadStarter defaultThreadStarter() {
  return [](std::function<void()> body) -> Result<std::thread> {
    try {
      return std::thread(std::move(body));
    } catch (const std::system_error& e) {  // EAGAIN: out of threads or memory
      return unavailable(std::string("cannot start a thread: ") + e.what());
    }
  };
}

Executor::Executor(ExecutorOptions options) : options_(std::move(options)) {}

Executor::~Executor() { stop(); }

Result<void> Executor::post(std::function<void()> work) {
  std::list<std::thread> exited;
  Result<void> posted = enqueue(std::move(work), exited);
  for (auto& t : exited) t.join();
  return posted;
}

Result<void> Executor::enqueue(std::function<void()> work, std::list<std::thread>& exited) {
  MutexLock lock(mu_);
  exited.swap(exited_);  // joined by the caller, outside the lock
  if (stopping_ || closed_) return unavailable(options_.name + ": stopped");
  // Threads not running work (waiting, or started and not there yet) will
  // take queued items; only what is beyond them waits.
  const size_t free_threads = live_ - running_;
  const bool need_thread = free_threads <= queue_.size() && live_ < options_.max_threads;
  if (!need_thread && queue_.size() >= options_.max_queued + free_threads) {
    return resourceExhausted(options_.name + ": " + std::to_string(options_.max_queued) +
                             " items already wait for a thread");
  }
  if (need_thread) {
    auto self = threads_.emplace(threads_.end());
    auto started = options_.start_thread([this, self] {
      serve();
      MutexLock l(mu_);
      exited_.splice(exited_.end(), threads_, self);
      idle_.notifyAll();  // stop() waits for threads_ to empty
    });
    if (started.ok()) {
      *self = std::move(*started);
      ++live_;
    } else {
      threads_.erase(self);
      if (live_ == 0 || queue_.size() >= options_.max_queued + free_threads) {
        return started.error().withContext(options_.name);
      }
      // The threads there are will get to it.
    }
  }
  queue_.push_back(std::move(work));
  work_.notifyOne();
  return {};
}

Result<void> Executor::postNext(std::function<void()> work) {
  Handoff* h = tl_handoff;
  if (h == nullptr || h->executor != this || h->next || h->chained >= kMaxHandoffs) {
    return post(std::move(work));
  }
  h->next = std::move(work);
  return {};
}

void Executor::serve() {
  MutexLock lock(mu_);
  for (;;) {
    while (queue_.empty() && !stopping_) {
      ++waiting_;
      const bool woken =
          work_.waitUntil(mu_, std::chrono::steady_clock::now() + options_.idle_exit);
      --waiting_;
      if (!woken && queue_.empty() && waiting_ >= options_.keep_idle) {
        --live_;
        return;
      }
    }
    if (stopping_) {
      --live_;
      return;
    }
    std::function<void()> work = std::move(queue_.front());
    queue_.pop_front();
    ++running_;
    mu_.unlock();
    // What the item hands on with postNext() runs here after it, still
    // counted as running; past kMaxHandoffs in a row it queues like any.
    Handoff handoff{this, {}, 0};
    tl_handoff = &handoff;
    for (;;) {
      work();
      work = nullptr;  // destroyed outside the lock, before drain() can see it done
      if (!handoff.next) break;
      work = std::move(handoff.next);
      handoff.next = nullptr;
      ++handoff.chained;
    }
    tl_handoff = nullptr;
    mu_.lock();
    --running_;
    idle_.notifyAll();
  }
}

bool Executor::drain(std::chrono::steady_clock::time_point deadline) {
  MutexLock lock(mu_);
  while (running_ > 0 || !queue_.empty()) {
    if (!idle_.waitUntil(mu_, deadline) && std::chrono::steady_clock::now() >= deadline) {
      return running_ == 0 && queue_.empty();
    }
  }
  return true;
}

size_t Executor::close() {
  MutexLock lock(mu_);
  closed_ = true;
  const size_t dropped = queue_.size();
  queue_.clear();
  idle_.notifyAll();
  return dropped;
}

size_t Executor::stop() {
  std::list<std::thread> threads;
  size_t dropped = 0;
  {
    MutexLock lock(mu_);
    if (!stopping_) {
      stopping_ = true;
      dropped = queue_.size();
      queue_.clear();
      work_.notifyAll();
    }
  }
  {
    // Threads leave one by one, each moving itself to exited_.
    MutexLock lock(mu_);
    while (!threads_.empty()) idle_.wait(mu_);
    threads.swap(exited_);
  }
  for (auto& t : threads) t.join();
  return dropped;
}

size_t Executor::threads() const {
  MutexLock lock(mu_);
  return live_;
}

size_t Executor::running() const {
  MutexLock lock(mu_);
  return running_;
}

size_t Executor::queued() const {
  MutexLock lock(mu_);
  return queue_.size();
}

}  // namespace cwasi
