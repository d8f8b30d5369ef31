#include "cwasi/common/connection_server.h"

#include <sys/socket.h>

#include "cwasi/common/log.h"
#include "cwasi/common/net.h"

namespace cwasi {
namespace {

// Parked threads kept beyond this many exit after kIdleExit without work.
constexpr size_t kKeepIdle = 8;
constexpr auto kIdleExit = std::chrono::seconds(30);

// Moves the entries whose `done` flag is set from `from` to `to`.
template <class T>
void moveDone(std::list<std::unique_ptr<T>>& from, std::list<std::unique_ptr<T>>& to) {
  for (auto it = from.begin(); it != from.end();) {
    if ((*it)->done.load()) {
      to.push_back(std::move(*it));
      it = from.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace

ConnectionServer::ConnectionServer(Fd listener, Handler handler, size_t max_connections)
    : listener_(std::move(listener)), handler_(std::move(handler)),
      max_connections_(std::max<size_t>(1, max_connections)) {
  acceptor_ = std::thread([this] { acceptLoop(); });
}

ConnectionServer::~ConnectionServer() { stop(); }

void ConnectionServer::acceptLoop() {
  while (!stopping_.load()) {
    auto fd = net::accept(listener_.get(), net::in(std::chrono::milliseconds(100)));
    reapFinished();
    if (!fd.ok()) {
      if (fd.error().code() != Code::kUnavailable) {
        refusal_log_.warn("accept: " + fd.error().message());
        std::this_thread::sleep_for(std::chrono::milliseconds(50));  // e.g. out of fds
      }
      continue;
    }
    auto conn = std::make_unique<Conn>();
    conn->fd = std::move(*fd);
    MutexLock lock(mu_);
    if (stopping_.load()) break;
    if (conns_.size() >= max_connections_) {
      refused_.fetch_add(1);
      refusal_log_.warn("refused a connection: " + std::to_string(max_connections_) +
                        " already open");
      continue;  // closed as `conn` goes
    }
    if (idle_ < pending_.size() + 1 && !startWorker()) {
      refused_.fetch_add(1);
      refusal_log_.warn("refused a connection: cannot start a thread for it");
      continue;
    }
    pending_.push_back(conn.get());
    conns_.push_back(std::move(conn));
    work_.notifyOne();
  }
}

bool ConnectionServer::startWorker() {
  auto w = std::make_unique<Worker>();
  Worker* raw = w.get();
  try {
    w->thread = std::thread([this, raw] { workerLoop(raw); });
  } catch (const std::system_error&) {  // out of threads (RLIMIT_NPROC, memory)
    return false;
  }
  workers_.push_back(std::move(w));
  return true;
}

void ConnectionServer::workerLoop(Worker* self) {
  MutexLock lock(mu_);
  for (;;) {
    while (pending_.empty() && !stopping_.load()) {
      ++idle_;
      const bool woken = work_.waitUntil(mu_, std::chrono::steady_clock::now() + kIdleExit);
      --idle_;
      if (!woken && pending_.empty() && idle_ >= kKeepIdle) {
        self->done.store(true);
        return;
      }
    }
    if (stopping_.load()) return;
    Conn* c = pending_.front();
    pending_.pop_front();
    mu_.unlock();
    handler_(c->fd.get(), stopping_);
    c->done.store(true);
    mu_.lock();
  }
}

void ConnectionServer::reapFinished() {
  std::list<std::unique_ptr<Conn>> finished;
  std::list<std::unique_ptr<Worker>> exited;
  {
    MutexLock lock(mu_);
    moveDone(conns_, finished);
    moveDone(workers_, exited);
  }
  for (auto& w : exited) w->thread.join();
}

size_t ConnectionServer::activeConnections() {
  reapFinished();
  MutexLock lock(mu_);
  return conns_.size();
}

void ConnectionServer::stop() {
  if (stopping_.exchange(true)) return;
  if (acceptor_.joinable()) acceptor_.join();
  std::list<std::unique_ptr<Worker>> workers;
  std::list<std::unique_ptr<Conn>> conns;
  {
    MutexLock lock(mu_);
    for (auto& c : conns_) ::shutdown(c->fd.get(), SHUT_RDWR);  // wakes blocked handlers
    work_.notifyAll();
    workers.swap(workers_);
  }
  for (auto& w : workers) w->thread.join();
  MutexLock lock(mu_);
  conns.swap(conns_);
  pending_.clear();
}

}  // namespace cwasi
