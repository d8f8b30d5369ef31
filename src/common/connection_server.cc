#include "cwasi/common/connection_server.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "cwasi/common/log.h"

namespace cwasi {
namespace {

// Out of fds (say): accepting pauses this long (woken early by stop()).
constexpr int kAcceptPauseMs = 50;

}  // namespace

ConnectionServer::ConnectionServer(Fd listener, Handler handler, size_t max_connections)
    : listener_(std::move(listener)),
      wake_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)),
      handler_(std::move(handler)),
      max_connections_(std::max<size_t>(1, max_connections)),
      workers_({.name = "connections",
                .max_threads = std::max<size_t>(1, max_connections),
                .max_queued = 0,
                .keep_idle = 8}) {
  auto started = defaultThreadStarter()([this] { acceptLoop(); });
  if (started.ok()) {
    acceptor_ = std::move(*started);
  } else {
    CWASI_LOG(kError, "connection server: " << started.error().message() << "; serving nothing");
  }
}

ConnectionServer::~ConnectionServer() { stop(); }

void ConnectionServer::acceptLoop() {
  while (!stopping_.load()) {
    pollfd fds[2] = {{listener_.get(), POLLIN, 0}, {wake_.get(), POLLIN, 0}};
    const int n = ::poll(fds, wake_.valid() ? 2 : 1, -1);
    if (n < 0 && errno != EINTR) {
      refusal_log_.warn(std::string("poll: ") + std::strerror(errno));
      ::poll(&fds[1], 1, kAcceptPauseMs);
      continue;
    }
    if (stopping_.load() || (fds[1].revents & POLLIN)) break;
    while (acceptOne()) {
    }
  }
}

bool ConnectionServer::acceptOne() {
  const int raw = ::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (raw < 0) {
    if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED) return errno != EAGAIN;
    refusal_log_.warn(std::string("accept: ") + std::strerror(errno));
    pollfd wake{wake_.get(), POLLIN, 0};
    ::poll(&wake, 1, kAcceptPauseMs);  // e.g. out of fds: let some close
    return false;
  }
  auto conn = std::make_unique<Conn>();
  conn->fd = Fd(raw);
  MutexLock lock(mu_);
  if (stopping_.load()) return false;
  if (conns_.size() >= max_connections_) {
    refused_.fetch_add(1);
    refusal_log_.warn("refused a connection: " + std::to_string(max_connections_) + " already open");
    return true;  // closed as `conn` goes
  }
  auto it = conns_.insert(conns_.end(), std::move(conn));
  if (auto posted = workers_.post([this, it] { serve(it); }); !posted.ok()) {
    conns_.erase(it);
    refused_.fetch_add(1);
    refusal_log_.warn("refused a connection: " + posted.error().message());
  }
  return true;
}

void ConnectionServer::serve(std::list<std::unique_ptr<Conn>>::iterator conn) {
  handler_((*conn)->fd.get(), stopping_);
  std::unique_ptr<Conn> done;
  MutexLock lock(mu_);
  done = std::move(*conn);  // its fd closes after the lock is let go
  conns_.erase(conn);
  closed_.notifyAll();
}

size_t ConnectionServer::activeConnections() {
  MutexLock lock(mu_);
  return conns_.size();
}

void ConnectionServer::stop() {
  if (stopping_.exchange(true)) return;
  if (wake_.valid()) {
    const uint64_t one = 1;
    (void)!::write(wake_.get(), &one, sizeof one);
  }
  if (acceptor_.joinable()) acceptor_.join();
  {
    MutexLock lock(mu_);
    for (auto& c : conns_) ::shutdown(c->fd.get(), SHUT_RDWR);  // wakes blocked handlers
    while (!conns_.empty()) closed_.wait(mu_);
  }
  workers_.stop();
}

}  // namespace cwasi
