// Accepts connections on a listening socket and serves each on a thread of
// the server's executor until the peer leaves or the server stops. Threads
// are reused: a finished handler's thread waits for the next connection (a
// few stay parked), so a short connection does not pay for a new thread and
// its thread-local setup (Wasmtime's signal stack, caches). The accept loop
// blocks in poll() on the listener and a wake-up eventfd: no timer.
// The server owns every connection fd (handlers borrow them), so that stop()
// can wake blocked handlers with shutdown() and wait for them.
// Bounded: past `max_connections` a new connection is closed at once (the
// peer sees it refused); a thread that cannot be started refuses its
// connection too, and the server goes on.
#pragma once

#include <atomic>
#include <functional>
#include <list>
#include <memory>
#include <thread>

#include "cwasi/common/executor.h"
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

  // Stops accepting, wakes every handler and waits for them. Idempotent.
  void stop();
  size_t activeConnections();
  uint64_t refused() const { return refused_.load(); }

 private:
  struct Conn {
    Fd fd;
  };
  void acceptLoop();
  // Takes one pending connection from the listener; false when there is none.
  bool acceptOne();
  void serve(std::list<std::unique_ptr<Conn>>::iterator conn) EXCLUDES(mu_);

  Fd listener_;
  Fd wake_;  // eventfd: stop() makes it readable
  Handler handler_;
  const size_t max_connections_;
  std::atomic<uint64_t> refused_{0};
  log::RateLimited refusal_log_;
  std::atomic<bool> stopping_{false};
  Mutex mu_;
  CondVar closed_;                                          // a connection ended
  std::list<std::unique_ptr<Conn>> conns_ GUARDED_BY(mu_);  // open connections
  Executor workers_;
  std::thread acceptor_;
};

}  // namespace cwasi
