// Accepts connections on a listening socket and
// serves each on a thread of its own until the peer leaves or the server
// stops. Threads are reused: a finished handler's thread waits for the next
// connection (a few stay parked), so a short connection does not pay for a
// new thread and its thread-local setup (Wasmtime's signal stack, caches).
// The server owns every connection fd (handlers borrow them), so that stop()
// can wake blocked handlers with shutdown() and join them.
// Bounded: past `max_connections` a new connection is closed at once (the
// peer sees it refused); a thread that cannot be started refuses its
// connection too, and the server goes on.
#pragma once

#include <atomic>
#include <functional>
#include <list>
#include <memory>
#include <thread>

#include "cwasi/common/fd.h"
#include "cwasi/common/log.h"
#include "cwasi/common/mutex.h"

namespace cwasi {

class ConnectionServer {
 public:
  // Serves one connection; returns when it is done. `stopping` turns true
  // when the server stops.
  using Handler = std::function<void(int fd, const std::atomic<bool>& stopping)>;

  ConnectionServer(Fd listener, Handler handler, size_t max_connections = 256);
  ~ConnectionServer();
  ConnectionServer(const ConnectionServer&) = delete;
  ConnectionServer& operator=(const ConnectionServer&) = delete;

  // Stops accepting, wakes and joins every handler. Idempotent.
  void stop();
  size_t activeConnections();
  uint64_t refused() const { return refused_.load(); }

 private:
  struct Conn {
    Fd fd;
    std::atomic<bool> done{false};
  };
  struct Worker {
    std::thread thread;
    std::atomic<bool> done{false};
  };
  void acceptLoop();
  // Starts a thread for a pending connection; false when none can be had.
  bool startWorker() REQUIRES(mu_);
  void workerLoop(Worker* self) EXCLUDES(mu_);
  void reapFinished() EXCLUDES(mu_);

  Fd listener_;
  Handler handler_;
  const size_t max_connections_;
  std::atomic<uint64_t> refused_{0};
  log::RateLimited refusal_log_;
  std::atomic<bool> stopping_{false};
  Mutex mu_;
  CondVar work_;                                          // a connection is pending
  std::list<std::unique_ptr<Conn>> conns_ GUARDED_BY(mu_);  // open connections
  std::list<Conn*> pending_ GUARDED_BY(mu_);                // not yet picked up
  std::list<std::unique_ptr<Worker>> workers_ GUARDED_BY(mu_);
  size_t idle_ GUARDED_BY(mu_) = 0;  // workers waiting for a connection
  std::thread acceptor_;
};

}  // namespace cwasi
