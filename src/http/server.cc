#include "cwasi/http/server.h"

#include <sys/resource.h>

#include <algorithm>
#include <thread>

#include "cwasi/common/net.h"
#include "server_impl.h"

namespace cwasi::http {
namespace {

using Clock = std::chrono::steady_clock;

// How many connections the process's fd limit leaves room for.
size_t connectionsAllowedByFds() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return SIZE_MAX;
  return rl.rlim_cur > kFdReserve ? rl.rlim_cur - kFdReserve : 1;
}

// The spool's directory: the configured one, or the system's temp dir.
std::filesystem::path spoolDirOf(const HttpServerConfig& c) {
  if (!c.spool_dir.empty()) return c.spool_dir;
  std::error_code ec;
  auto dir = std::filesystem::temp_directory_path(ec);
  return ec ? std::filesystem::path("/tmp") : dir;
}

}  // namespace

HttpServer::Impl::Impl(const HttpServerConfig& c)
    : config(c),
      own_budget(c.inflightLimit()),
      budget(c.budget ? *c.budget : own_budget),
      spool_budget(c.max_spool_bytes),
      spool_dir(spoolDirOf(c)),
      io(std::make_unique<asio::io_context>(std::max(1, c.io_threads))),
      // Bounded by the connections too: each has one request at a time.
      handlers({.name = "http handlers",
                .max_threads = static_cast<size_t>(std::max(1, c.handler_threads)),
                .max_queued = std::max<size_t>(1, c.max_connections)}) {}

Result<Fd> HttpServer::Impl::spool(std::string_view body) {
  if (!spool_budget.tryTake(body.size())) {
    return resourceExhausted("the response spool is full (" + std::to_string(spool_budget.used()) +
                             " of " + std::to_string(spool_budget.limit()) + " bytes)");
  }
  auto file = writeUnlinkedFile(spool_dir, body);
  if (!file.ok()) spool_budget.give(body.size());
  return file;
}

void HttpServer::Impl::beginHandling() {
  MutexLock lock(mu);
  ++handling;
}

void HttpServer::Impl::endHandling() {
  MutexLock lock(mu);
  if (--handling == 0) idle.notifyAll();
}

void HttpServer::Impl::accept() {
  acceptor->async_accept(asio::make_strand(*io),
                         [this](const boost::system::error_code& ec, tcp::socket socket) {
                           onAccept(ec, std::move(socket));
                         });
}

void HttpServer::Impl::onAccept(const boost::system::error_code& ec, tcp::socket socket) {
  if (ec == asio::error::operation_aborted) return;  // stopping
  if (ec) {
    accept_errors.fetch_add(1);
    accept_log.warn("http: accept on " + address + " failed: " + ec.message());
    accept_pause->expires_after(kAcceptPause);
    accept_pause->async_wait([this](const boost::system::error_code& e) {
      if (!e) accept();
    });
    return;
  }
  accepted.fetch_add(1);
  net::tuneTcp(socket.native_handle(), 0);
  // Full: the connection that has waited longest for a request makes room.
  if (connections.load() >= max_connections && !idle_connections.evictOldest()) {
    // Refused cleanly: a 503 the client can read, not a reset.
    refused.fetch_add(1);
    static const std::string kRefusal = [] {
      const HttpResponse r =
          HttpResponse::jsonError(503, "the server has too many connections; retry later");
      return serializeHead(r, r.body.size(), false) + r.body;
    }();
    (void)::send(socket.native_handle(), kRefusal.data(), kRefusal.size(),
                 MSG_DONTWAIT | MSG_NOSIGNAL);
    boost::system::error_code ignored;
    socket.shutdown(tcp::socket::shutdown_send, ignored);
    socket.close(ignored);
  } else {
    startSession(*this, std::move(socket));
  }
  accept();
}

size_t HttpServer::drain(std::chrono::steady_clock::time_point deadline) {
  Impl& s = *impl_;
  s.draining.store(true);
  s.stopAccepting();
  MutexLock lock(s.mu);
  while (s.handling > 0 && s.idle.waitUntil(s.mu, deadline)) {
  }
  return s.handling;
}

void HttpServer::Impl::stopAccepting() {
  asio::post(*accept_strand, [this] {
    boost::system::error_code ignored;
    acceptor->close(ignored);
    accept_pause->cancel();
  });
}

void HttpServer::Impl::stop() {
  if (!acceptor) return;
  stopAccepting();
  // Running handlers finish (their answers may go nowhere); queued ones go.
  handlers.stop();
  {
    MutexLock lock(io_guard->mu);  // gates resume nothing from now on
    io_guard->alive = false;
  }
  io->stop();
  for (auto& t : io_threads) t.join();
  io_threads.clear();
  // Destroying the I/O context destroys every session it still holds,
  // closing their sockets; the budget and counters they touch outlive it.
  acceptor.reset();
  accept_pause.reset();
  accept_strand.reset();
  io.reset();
}

Result<std::unique_ptr<HttpServer>> HttpServer::start(const HttpServerConfig& config,
                                                      Handler handler, Hooks hooks) {
  TRY_ASSIGN(net::Endpoint ep, net::parseEndpoint(config.listen));
  TRY_ASSIGN(Fd listener, net::listenTcp(ep, nullptr, 4096));
  return serve(config, std::move(listener), std::move(handler), std::move(hooks));
}

Result<std::unique_ptr<HttpServer>> HttpServer::serve(const HttpServerConfig& config, Fd listener,
                                                      Handler handler, Hooks hooks) {
  auto impl = std::make_unique<Impl>(config);
  impl->handler = std::move(handler);
  impl->hooks = std::move(hooks);
  impl->max_connections = std::max<size_t>(1, std::min(config.max_connections, connectionsAllowedByFds()));
  TRY_ASSIGN(net::Endpoint bound, net::boundEndpoint(listener.get()));
  impl->address = bound.toString();
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
    return errnoError("getsockname", errno);
  }
  impl->accept_strand.emplace(asio::make_strand(*impl->io));
  impl->acceptor = std::make_unique<tcp::acceptor>(*impl->accept_strand);
  boost::system::error_code ec;
  impl->acceptor->assign(ss.ss_family == AF_INET6 ? tcp::v6() : tcp::v4(), listener.get(), ec);
  if (ec) return internal("cannot serve on " + impl->address + ": " + ec.message());
  (void)listener.release();
  impl->accept_pause = std::make_unique<asio::steady_timer>(*impl->accept_strand);
  impl->accept();
  const ThreadStarter start_thread = defaultThreadStarter();
  for (int i = 0; i < std::max(1, config.io_threads); ++i) {
    auto t = start_thread([io = impl->io.get()] { io->run(); });
    if (!t.ok()) {
      impl->stop();
      return std::move(t).error().withContext("http server on " + impl->address);
    }
    impl->io_threads.push_back(std::move(*t));
  }
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpServer::~HttpServer() { impl_->stop(); }
const std::string& HttpServer::address() const { return impl_->address; }

HttpServerStats HttpServer::stats() const {
  HttpServerStats s;
  s.connections = impl_->connections.load();
  s.accepted = impl_->accepted.load();
  s.refused = impl_->refused.load();
  s.evicted = impl_->evicted.load();
  s.screened = impl_->screened.load();
  s.over_budget = impl_->over_budget.load();
  s.timed_out = impl_->timed_out.load();
  s.spooled = impl_->spooled.load();
  s.accept_errors = impl_->accept_errors.load();
  return s;
}

}  // namespace cwasi::http
