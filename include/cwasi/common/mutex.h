// Mutex and MutexLock with Clang thread-safety annotations (as leveldb's
// port::Mutex): members marked GUARDED_BY(mu_) are checked at compile time
// under -Wthread-safety.
#pragma once

#include <condition_variable>
#include <mutex>

#if defined(__clang__)
#define CWASI_TSA(x) __attribute__((x))
#else
#define CWASI_TSA(x)
#endif

#define CAPABILITY(x) CWASI_TSA(capability(x))
#define SCOPED_CAPABILITY CWASI_TSA(scoped_lockable)
#define GUARDED_BY(x) CWASI_TSA(guarded_by(x))
#define PT_GUARDED_BY(x) CWASI_TSA(pt_guarded_by(x))
#define REQUIRES(...) CWASI_TSA(requires_capability(__VA_ARGS__))
#define EXCLUDES(...) CWASI_TSA(locks_excluded(__VA_ARGS__))
#define ACQUIRE(...) CWASI_TSA(acquire_capability(__VA_ARGS__))
#define RELEASE(...) CWASI_TSA(release_capability(__VA_ARGS__))

namespace cwasi {

class CAPABILITY("mutex") Mutex {
 public:
  void lock() ACQUIRE() { mu_.lock(); }
  void unlock() RELEASE() { mu_.unlock(); }

 private:
  friend class CondVar;
  std::mutex mu_;
};

class SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mu) ACQUIRE(mu) : mu_(mu) { mu_.lock(); }
  ~MutexLock() RELEASE() { mu_.unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex& mu_;
};

// A condition variable used with a held Mutex.
class CondVar {
 public:
  // Waits until notified or `deadline`; returns false on timeout. The caller
  // holds `mu` (re-checks its predicate in a loop).
  template <typename Clock, typename Duration>
  bool waitUntil(Mutex& mu, const std::chrono::time_point<Clock, Duration>& deadline)
      REQUIRES(mu) {
    std::unique_lock<std::mutex> lock(mu.mu_, std::adopt_lock);
    bool notified = cv_.wait_until(lock, deadline) == std::cv_status::no_timeout;
    lock.release();
    return notified;
  }
  void wait(Mutex& mu) REQUIRES(mu) {
    std::unique_lock<std::mutex> lock(mu.mu_, std::adopt_lock);
    cv_.wait(lock);
    lock.release();
  }
  void notifyOne() { cv_.notify_one(); }
  void notifyAll() { cv_.notify_all(); }

 private:
  std::condition_variable cv_;
};

}  // namespace cwasi
