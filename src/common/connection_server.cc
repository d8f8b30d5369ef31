#include "cwasi/common/connection_server.h"

#include <sys/socket.h>

#include "cwasi/common/log.h"
#include "cwasi/common/net.h"

namespace cwasi {

ConnectionServer::ConnectionServer(Fd listener, Handler handler)
    : listener_(std::move(listener)), handler_(std::move(handler)) {
  acceptor_ = std::thread([this] { acceptLoop(); });
}

ConnectionServer::~ConnectionServer() { stop(); }

void ConnectionServer::acceptLoop() {
  while (!stopping_.load()) {
    auto fd = net::accept(listener_.get(), net::in(std::chrono::milliseconds(100)));
    reapFinished();
    if (!fd.ok()) {
      if (fd.error().code() != Code::kUnavailable) {
        CWASI_LOG(kWarn, "accept: " << fd.error().message());
        std::this_thread::sleep_for(std::chrono::milliseconds(10));  // e.g. out of fds
      }
      continue;
    }
    auto conn = std::make_unique<Conn>();
    conn->fd = std::move(*fd);
    Conn* c = conn.get();
    MutexLock lock(mu_);
    if (stopping_.load()) break;
    c->thread = std::thread([this, c] {
      handler_(c->fd.get(), stopping_);
      c->done.store(true);
    });
    conns_.push_back(std::move(conn));
  }
}

void ConnectionServer::reapFinished() {
  std::list<std::unique_ptr<Conn>> finished;
  {
    MutexLock lock(mu_);
    for (auto it = conns_.begin(); it != conns_.end();) {
      if ((*it)->done.load()) {
        finished.push_back(std::move(*it));
        it = conns_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& c : finished) c->thread.join();
}

size_t ConnectionServer::activeConnections() {
  reapFinished();
  MutexLock lock(mu_);
  return conns_.size();
}

void ConnectionServer::stop() {
  if (stopping_.exchange(true)) return;
  if (acceptor_.joinable()) acceptor_.join();
  std::list<std::unique_ptr<Conn>> all;
  {
    MutexLock lock(mu_);
    all.swap(conns_);
  }
  for (auto& c : all) ::shutdown(c->fd.get(), SHUT_RDWR);  // wakes blocked handlers
  for (auto& c : all) c->thread.join();
}

}  // namespace cwasi
