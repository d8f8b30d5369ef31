#include "cwasi/http/server.h"

#include <sys/resource.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <deque>
#include <optional>
#include <thread>
#include <vector>

#include "cwasi/common/byte_budget.h"
#include "cwasi/common/log.h"
#include "cwasi/common/mutex.h"
#include "cwasi/common/net.h"

namespace cwasi::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

constexpr uint32_t kHeaderLimit = 64 * 1024;
// A connection's read buffer: headers up to kHeaderLimit plus one read.
constexpr size_t kBufferLimit = kHeaderLimit + 64 * 1024;
// While the budget is short, a request looks again this often.
constexpr auto kBudgetPoll = std::chrono::milliseconds(5);
// Out of fds (say), accepting pauses this long instead of spinning.
constexpr auto kAcceptPause = std::chrono::milliseconds(50);
// A connection closed with a request body unread is drained this long (at
// most kLingerBytes) first, so that the client reads our answer instead of
// a reset.
constexpr auto kLingerTime = std::chrono::seconds(2);
constexpr size_t kLingerBytes = 1u << 20;
constexpr size_t kFdReserve = 64;  // fds kept for everything but connections
// A connection idle this long between requests gives back its read buffer.
constexpr std::chrono::milliseconds kTrimAfter{1000};
// A body that goes on (HttpResponse::more) is asked for more this often.
constexpr std::chrono::milliseconds kFollowPoll{100};

std::string serialize(const HttpResponse& r, bool keep_alive, bool head_only) {
  // 204 and 304 never carry a body (RFC 7230 §3.3.3): bytes after their head
  // would be read as the next response. A function may answer with either.
  const bool no_body = r.status == 204 || r.status == 304;
  head_only = head_only || no_body;
  std::string out;
  out.reserve(160 + (head_only ? 0 : r.body.size()));
  out += "HTTP/1.1 ";
  out += std::to_string(r.status);
  out += ' ';
  out += statusReason(r.status);
  out += "\r\nServer: cwasi\r\nContent-Type: ";
  out += r.content_type;
  if (!no_body && !r.more) {  // a body that goes on ends when the connection does
    out += "\r\nContent-Length: ";
    out += std::to_string(r.body.size());
  }
  out += keep_alive ? "\r\n" : "\r\nConnection: close\r\n";
  for (const auto& [k, v] : r.headers) {
    out += k;
    out += ": ";
    out += v;
    out += "\r\n";
  }
  out += "\r\n";
  if (!head_only) out += r.body;
  return out;
}

HttpResponse jsonError(int status, std::string_view message) {
  return HttpResponse::json(status, std::string(R"({"error":")") + std::string(message) + "\"}");
}

// How many connections the process's fd limit leaves room for.
size_t connectionsAllowedByFds() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return SIZE_MAX;
  return rl.rlim_cur > kFdReserve ? rl.rlim_cur - kFdReserve : 1;
}

// Threads for handlers, started as work arrives, up to `max`; work waits in
// order when all are busy. Bounded in threads; the work is bounded by the
// connections (one request each at a time).
class HandlerPool {
 public:
  explicit HandlerPool(int max) : max_(static_cast<size_t>(std::max(1, max))) {}
  ~HandlerPool() { stop(); }

  void post(std::function<void()> task) EXCLUDES(mu_) {
    MutexLock lock(mu_);
    if (stopping_) return;
    work_.push_back(std::move(task));
    // Idle threads already woken count as idle until they take their work.
    if (work_.size() > idle_ && threads_.size() < max_) {
      threads_.emplace_back([this] { serve(); });
    } else {
      changed_.notifyOne();
    }
  }
  // Lets running work finish, drops the rest, joins.
  void stop() EXCLUDES(mu_) {
    std::vector<std::thread> threads;
    std::deque<std::function<void()>> dropped;
    {
      MutexLock lock(mu_);
      stopping_ = true;
      changed_.notifyAll();
      threads.swap(threads_);
      dropped.swap(work_);
    }
    for (auto& t : threads) t.join();
  }

 private:
  void serve() EXCLUDES(mu_) {
    for (;;) {
      std::function<void()> task;
      {
        MutexLock lock(mu_);
        ++idle_;
        while (!stopping_ && work_.empty()) changed_.wait(mu_);
        --idle_;
        if (stopping_) return;
        task = std::move(work_.front());
        work_.pop_front();
      }
      task();
    }
  }

  const size_t max_;
  Mutex mu_;
  CondVar changed_;
  std::deque<std::function<void()>> work_ GUARDED_BY(mu_);
  std::vector<std::thread> threads_ GUARDED_BY(mu_);
  size_t idle_ GUARDED_BY(mu_) = 0;
  bool stopping_ GUARDED_BY(mu_) = false;
};

}  // namespace

struct HttpServer::Impl {
  HttpServerConfig config;
  Handler handler;
  Screen screen;
  std::string address;
  size_t max_connections = 0;
  ByteBudget budget{0};
  log::RateLimited accept_log;

  std::atomic<size_t> connections{0};
  std::atomic<size_t> handling{0};  // requests with the handler
  std::atomic<bool> draining{false};
  std::atomic<uint64_t> accepted{0}, refused{0}, screened{0}, over_budget{0}, timed_out{0},
      accept_errors{0};

  std::unique_ptr<asio::io_context> io;
  // The listener, its pause timer and their closing run on this strand:
  // a drain and a stop each close it, perhaps on two I/O threads at once.
  std::optional<asio::strand<asio::io_context::executor_type>> accept_strand;
  std::unique_ptr<tcp::acceptor> acceptor;
  std::unique_ptr<asio::steady_timer> accept_pause;
  HandlerPool pool;
  std::vector<std::thread> io_threads;

  explicit Impl(const HttpServerConfig& c)
      : config(c),
        budget(std::max(c.max_inflight_bytes, c.max_body_bytes)),
        io(std::make_unique<asio::io_context>(std::max(1, c.io_threads))),
        pool(c.handler_threads) {}

  void accept();
  void onAccept(const boost::system::error_code& ec, tcp::socket socket);
  // Closes the listener (on the I/O threads, where it is used).
  void stopAccepting();
  void stop();
};

namespace {

// One connection, on its own strand: wait for a request, read its headers,
// screen them, take its body's bytes from the budget, read the body, run the
// handler on the pool, write the response; again while keep-alive.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(HttpServer::Impl& server, tcp::socket socket)
      : server_(server), stream_(std::move(socket)), timer_(stream_.get_executor()),
        buffer_(kBufferLimit) {
    server_.connections.fetch_add(1);
  }
  ~Session() {
    server_.budget.give(reserved_);
    server_.connections.fetch_sub(1);
  }

  void start() { waitForRequest(server_.config.header_timeout); }

 private:
  const HttpServerConfig& config() const { return server_.config; }

  // Waiting for a request: a wait for the socket to turn readable. A busy
  // connection keeps its read buffer; one idle past kTrimAfter gives it
  // back, so that idle connections hold no buffer at all.
  void waitForRequest(std::chrono::milliseconds timeout) {
    if (buffer_.size() > 0) return readHead();  // a pipelined request
    const bool trim_first = buffer_.capacity() > 0 && timeout > kTrimAfter;
    waiting_ = true;
    timer_.expires_after(trim_first ? kTrimAfter : timeout);
    timer_.async_wait([self = shared_from_this(), trim_first,
                       timeout](const boost::system::error_code& ec) {
      // Cancelled, or expired just as the request came (its handler ran first).
      if (ec || !self->waiting_) return;
      if (trim_first) {
        self->buffer_.shrink_to_fit();
        self->stream_.socket().cancel();  // re-armed below, with what is left
        self->rewait_ = timeout - kTrimAfter;
        return;
      }
      self->server_.timed_out.fetch_add(1);
      self->abort();
    });
    stream_.socket().async_wait(tcp::socket::wait_read,
                                [self = shared_from_this()](const boost::system::error_code& ec) {
                                  if (ec == asio::error::operation_aborted && self->rewait_) {
                                    const auto left = *std::exchange(self->rewait_, std::nullopt);
                                    return self->waitForRequest(left);
                                  }
                                  self->waiting_ = false;
                                  self->timer_.cancel();
                                  if (ec) return self->abort();
                                  self->readHead();
                                });
  }

  void readHead() {
    parser_.emplace();
    parser_->header_limit(kHeaderLimit);
    parser_->body_limit(config().max_body_bytes);
    stream_.expires_after(config().header_timeout);
    bhttp::async_read_header(stream_, buffer_, *parser_,
                            [self = shared_from_this()](beast::error_code ec, size_t) {
                              self->onHead(ec);
                            });
  }

  void onHead(beast::error_code ec) {
    if (ec) return readFailed(ec);
    auto& msg = parser_->get();
    req_ = HttpRequest{};
    req_.method = std::string(msg.method_string());
    std::string_view target(msg.target().data(), msg.target().size());
    const size_t q = target.find('?');
    req_.path = percentDecode(target.substr(0, q));
    if (q != std::string_view::npos) req_.query = std::string(target.substr(q + 1));
    for (const auto& f : msg) {
      req_.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
    }
    keep_alive_ = msg.keep_alive();
    const bool has_body = !parser_->is_done();
    if (server_.draining.load()) {
      return respond(jsonError(503, "the server is shutting down"), false, has_body);
    }
    if (server_.screen) {
      if (auto early = server_.screen(req_)) {
        server_.screened.fetch_add(1);
        return respond(std::move(*early), keep_alive_ && !has_body, has_body);
      }
    }
    if (!has_body) return dispatch();
    const auto length = parser_->content_length();
    reserve(length ? *length : 0, Clock::now() + config().budget_wait);
  }

  // Takes `bytes` from the budget, waiting until `deadline` for room.
  void reserve(uint64_t bytes, Clock::time_point deadline) {
    if (server_.budget.tryTake(bytes)) {
      reserved_ += bytes;
      return continueBody();
    }
    if (Clock::now() >= deadline) return overBudget();
    timer_.expires_after(kBudgetPoll);
    timer_.async_wait([self = shared_from_this(), bytes, deadline](const boost::system::error_code& ec) {
      if (ec) return self->abort();
      self->reserve(bytes, deadline);
    });
  }

  void overBudget() {
    server_.over_budget.fetch_add(1);
    respond(jsonError(503, "the server is busy: too many request bytes in flight; retry later"),
            false, true);
  }

  // "Expect: 100-continue" (curl, for large bodies): the client waits for a
  // go-ahead, which comes only once the request was screened and budgeted.
  void continueBody() {
    const auto expect = parser_->get()[bhttp::field::expect];
    if (!beast::iequals(expect, "100-continue")) return readBody();
    static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    stream_.expires_after(config().write_timeout);
    asio::async_write(stream_, asio::buffer(kContinue),
                      [self = shared_from_this()](beast::error_code ec, size_t) {
                        if (ec) return self->abort();
                        self->readBody();
                      });
  }

  void readBody() {
    stream_.expires_after(config().body_timeout);
    bhttp::async_read_some(stream_, buffer_, *parser_,
                          [self = shared_from_this()](beast::error_code ec, size_t) {
                            self->onBody(ec);
                          });
  }

  void onBody(beast::error_code ec) {
    if (ec) return readFailed(ec);
    // A chunked body has no size up front: it takes from the budget as it grows.
    const uint64_t size = parser_->get().body().size();
    if (size > reserved_) {
      if (!server_.budget.tryTake(size - reserved_)) return overBudget();
      reserved_ = size;
    }
    if (!parser_->is_done()) return readBody();
    dispatch();
  }

  void dispatch() {
    stream_.expires_never();
    req_.body = std::move(parser_->get().body());
    parser_.reset();
    server_.handling.fetch_add(1);
    server_.pool.post([self = shared_from_this()] {
      self->runHandler();
      self->server_.handling.fetch_sub(1);
    });
  }

  // On a handler thread; the session has no I/O pending meanwhile.
  void runHandler() {
    HttpResponse response;
    try {
      response = server_.handler(req_);
    } catch (const std::exception& e) {
      // A bug, not the client's fault: answer, log, and keep serving.
      CWASI_LOG(kError, "handler for " << req_.method << " " << req_.path << " threw: " << e.what());
      response = jsonError(500, "internal error");
    }
    const bool head_only = req_.method == "HEAD";
    req_ = HttpRequest{};  // the body's bytes go back to the budget
    if (head_only) response.more.reset();
    if (response.more) {
      keep_alive_ = false;
      more_ = response.more;
      more_until_ = Clock::now() + response.more_for;
    }
    setOut(serialize(response, keep_alive_, head_only));
    // Most responses fit the socket buffer: sent from here, with no hop back
    // to the I/O thread before the client has its answer.
    const ssize_t n = ::send(stream_.socket().native_handle(), out_.data(), out_.size(),
                             MSG_DONTWAIT | MSG_NOSIGNAL);
    sent_ = n > 0 ? static_cast<size_t>(n) : 0;
    asio::post(stream_.get_executor(), [self = shared_from_this()] { self->writeRest(); });
  }

  // The response takes the place of the request in the budget.
  void setOut(std::string out) {
    server_.budget.give(reserved_);
    out_ = std::move(out);
    sent_ = 0;
    reserved_ = out_.size();
    server_.budget.take(reserved_);
  }

  // Answers from the I/O thread (screened, refused, malformed); `unread`
  // when a request body was left unread, so the connection must close.
  void respond(HttpResponse response, bool keep_alive, bool unread) {
    keep_alive_ = keep_alive;
    unread_body_ = unread;
    setOut(serialize(response, keep_alive, req_.method == "HEAD"));
    writeRest();
  }

  void writeRest() {
    if (sent_ >= out_.size()) return afterWrite();
    stream_.expires_after(config().write_timeout);
    asio::async_write(stream_, asio::buffer(out_.data() + sent_, out_.size() - sent_),
                      [self = shared_from_this()](beast::error_code ec, size_t) {
                        if (ec) {
                          if (ec == beast::error::timeout) self->server_.timed_out.fetch_add(1);
                          return self->abort();
                        }
                        self->sent_ = self->out_.size();
                        self->afterWrite();
                      });
  }

  void afterWrite() {
    server_.budget.give(reserved_);
    reserved_ = 0;
    out_ = std::string();
    sent_ = 0;
    if (more_) return follow();
    if (!keep_alive_) return unread_body_ ? linger() : abort();
    stream_.expires_never();
    waitForRequest(config().keepalive_timeout);
  }

  // The rest of a body that goes on: asked for every kFollowPoll, written as
  // it comes, until it ends, its time is up, or the client leaves (a read
  // completes: the client closed, or sent what nobody asked for).
  void follow() {
    if (!following_) {
      following_ = true;
      if (!discard_) discard_ = std::make_unique<std::array<char, 16384>>();
      stream_.socket().async_read_some(asio::buffer(*discard_),
                                       [self = shared_from_this()](beast::error_code, size_t) {
                                         self->more_.reset();
                                         self->abort();
                                       });
    }
    std::optional<std::string> chunk = more_->next();
    if (!chunk || Clock::now() >= more_until_) {
      more_.reset();
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
      return abort();
    }
    if (!chunk->empty()) {
      setOut(std::move(*chunk));
      return writeRest();
    }
    timer_.expires_after(kFollowPoll);
    timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (!ec && self->more_) self->follow();
    });
  }

  void readFailed(beast::error_code ec) {
    if (ec == beast::error::timeout) {
      server_.timed_out.fetch_add(1);
      return abort();
    }
    if (ec == bhttp::error::end_of_stream || ec == asio::error::eof ||
        ec == asio::error::connection_reset || ec == asio::error::operation_aborted ||
        ec == asio::error::broken_pipe || ec == bhttp::error::partial_message) {
      return abort();
    }
    if (ec == bhttp::error::body_limit) {
      return respond(jsonError(413, "request body larger than " +
                                        std::to_string(config().max_body_bytes) + " bytes"),
                     false, true);
    }
    if (ec == bhttp::error::header_limit) {
      return respond(jsonError(431, "request headers larger than " +
                                        std::to_string(kHeaderLimit) + " bytes"),
                     false, true);
    }
    respond(jsonError(400, "malformed HTTP request"), false, true);
  }

  // Half-closes, then reads and drops what the client still sends (a body
  // we did not want) for a while, so our answer is not lost to a reset.
  void linger() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.expires_after(kLingerTime);
    drainSome();
  }

  void drainSome() {
    if (!discard_) discard_ = std::make_unique<std::array<char, 16384>>();
    stream_.async_read_some(asio::buffer(*discard_),
                            [self = shared_from_this()](beast::error_code ec, size_t n) {
                              self->lingered_ += n;
                              if (ec || self->lingered_ >= kLingerBytes) return self->abort();
                              self->drainSome();
                            });
  }

  void abort() {
    beast::error_code ignored;
    timer_.cancel();
    stream_.socket().close(ignored);
  }

  HttpServer::Impl& server_;
  beast::tcp_stream stream_;
  asio::steady_timer timer_;  // the idle wait and the budget wait
  std::optional<std::chrono::milliseconds> rewait_;  // set when the buffer was trimmed
  bool waiting_ = false;  // for a request, between requests
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  HttpRequest req_;
  bool keep_alive_ = false;
  bool unread_body_ = false;
  uint64_t reserved_ = 0;  // bytes of the budget this connection holds
  std::string out_;        // the response being written
  size_t sent_ = 0;
  std::unique_ptr<std::array<char, 16384>> discard_;
  size_t lingered_ = 0;
  std::shared_ptr<BodySource> more_;  // a body that goes on (HttpResponse::more)
  Clock::time_point more_until_;
  bool following_ = false;
};

}  // namespace

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
  if (connections.load() >= max_connections) {
    // Refused cleanly: a 503 the client can read, not a reset.
    refused.fetch_add(1);
    static const std::string kRefusal = serialize(
        jsonError(503, "the server has too many connections; retry later"), false, false);
    (void)::send(socket.native_handle(), kRefusal.data(), kRefusal.size(),
                 MSG_DONTWAIT | MSG_NOSIGNAL);
    boost::system::error_code ignored;
    socket.shutdown(tcp::socket::shutdown_send, ignored);
    socket.close(ignored);
  } else {
    std::make_shared<Session>(*this, std::move(socket))->start();
  }
  accept();
}

size_t HttpServer::drain(std::chrono::steady_clock::time_point deadline) {
  Impl& s = *impl_;
  s.draining.store(true);
  s.stopAccepting();
  while (s.handling.load() > 0 && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return s.handling.load();
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
  pool.stop();
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
                                                      Handler handler, Screen screen) {
  TRY_ASSIGN(net::Endpoint ep, net::parseEndpoint(config.listen));
  TRY_ASSIGN(Fd listener, net::listenTcp(ep, nullptr, 4096));
  return serve(config, std::move(listener), std::move(handler), std::move(screen));
}

Result<std::unique_ptr<HttpServer>> HttpServer::serve(const HttpServerConfig& config, Fd listener,
                                                      Handler handler, Screen screen) {
  auto impl = std::make_unique<Impl>(config);
  impl->handler = std::move(handler);
  impl->screen = std::move(screen);
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
  for (int i = 0; i < std::max(1, config.io_threads); ++i) {
    impl->io_threads.emplace_back([io = impl->io.get()] { io->run(); });
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
  s.screened = impl_->screened.load();
  s.over_budget = impl_->over_budget.load();
  s.timed_out = impl_->timed_out.load();
  s.accept_errors = impl_->accept_errors.load();
  return s;
}

}  // namespace cwasi::http
