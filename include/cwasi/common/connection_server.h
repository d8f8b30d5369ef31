// Accepts connections on a listening socket and
// serves each on a thread of its own until the peer leaves or the server
// stops. The server owns every connection fd (handlers borrow them), so that
// stop() can wake blocked handlers with shutdown() and join them.
#pragma once

#include <atomic>
#include <functional>
#include <list>
#include <memory>
#include <thread>

#include "cwasi/common/fd.h"
#include "cwasi/common/mutex.h"

namespace cwasi {

class ConnectionServer {
 public:
  // Serves one connection; returns when it is done. `stopping` turns true
  // when the server stops.
  using Handler = std::function<void(int fd, const std::atomic<bool>& stopping)>;

  ConnectionServer(Fd listener, Handler handler);
  ~ConnectionServer();
  ConnectionServer(const ConnectionServer&) = delete;
  ConnectionServer& operator=(const ConnectionServer&) = delete;

  // Stops accepting, wakes and joins every handler. Idempotent.
  void stop();
  size_t activeConnections();

 private:
  struct Conn {
    Fd fd;
    std::thread thread;
    std::atomic<bool> done{false};
  };
  void acceptLoop();
  void reapFinished() EXCLUDES(mu_);

  Fd listener_;
  Handler handler_;
  std::atomic<bool> stopping_{false};
  Mutex mu_;
  std::list<std::unique_ptr<Conn>> conns_ GUARDED_BY(mu_);
  std::thread acceptor_;
};

}  // namespace cwasi
