// One connection of the HTTP server (server_impl.h).
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <variant>

#include "server_impl.h"

namespace cwasi::http {
namespace {

using Clock = std::chrono::steady_clock;

HttpResponse jsonError(int status, std::string_view message) {
  return HttpResponse::jsonError(status, message);
}

// One connection, on its own strand: wait for a request, read its headers,
// screen them, take its body's bytes from the budget, read the body, run the
// handler on the pool, write the response; again while keep-alive.
class Session : public std::enable_shared_from_this<Session>, public IdleConnection {
 public:
  Session(HttpServer::Impl& server, tcp::socket socket)
      : server_(server), stream_(std::move(socket)), timer_(stream_.get_executor()),
        buffer_(kBufferLimit) {
    server_.connections.fetch_add(1);
  }
  ~Session() override {
    server_.idle_connections.remove(*this);
    server_.budget.give(reserved_);
    server_.spool_budget.give(spool_held_);
    server_.connections.fetch_sub(1);
  }

  // A new connection gets less time to say something than one that has.
  void start() { waitForRequest(std::min(config().first_byte_timeout, config().header_timeout)); }

  void evict() override {
    asio::post(stream_.get_executor(), [self = shared_from_this()] {
      if (!self->waiting_) return;  // a request came meanwhile: it keeps its connection
      self->server_.evicted.fetch_add(1);
      self->abort();
    });
  }

 private:
  const HttpServerConfig& config() const { return server_.config; }

  // Waiting for a request: a wait for the socket to turn readable. A busy
  // connection keeps its read buffer; one idle past kTrimAfter gives it
  // back, so that idle connections hold no buffer at all.
  void waitForRequest(std::chrono::milliseconds timeout) {
    if (buffer_.size() > 0) return readHead();  // a pipelined request
    const bool trim_first = buffer_.capacity() > 0 && timeout > kTrimAfter;
    waiting_ = true;
    server_.idle_connections.add(*this, weak_from_this());
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
                                  self->server_.idle_connections.remove(*self);
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
    if (server_.hooks.screen) {
      if (auto early = server_.hooks.screen(req_)) {
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

  // The request is whole: the gate (admission) decides when it runs; it runs
  // on the handler executor, never on this I/O thread.
  void dispatch() {
    stream_.expires_never();
    req_.body = std::move(parser_->get().body());
    parser_.reset();
    server_.beginHandling();
    if (!server_.hooks.gate) return runOnExecutor();
    // Set before asking: the gate may let the request in from another
    // thread before it returns.
    parked_.store(true);
    GateDecision d = server_.hooks.gate(req_, resumer());
    if (!std::holds_alternative<Parked>(d)) parked_.store(false);
    if (std::holds_alternative<std::monostate>(d)) return runOnExecutor();
    if (auto* answer = std::get_if<HttpResponse>(&d)) return answerUnhandled(std::move(*answer));
    // Parked: no thread held; the gate resumes it, or its deadline passes.
    // Only touches what the handler does not (it may run already).
    cancel_ = std::move(std::get<Parked>(d).cancel);
    timer_.expires_at(std::get<Parked>(d).deadline);
    timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      // The gate decides who wins: cancel() is false once it let the request in.
      if (ec || !self->cancel_ || !self->cancel_() || !self->parked_.exchange(false)) return;
      self->answerUnhandled(jsonError(504, "timed out waiting for a free slot"));
    });
  }

  // What the gate calls, from any thread: the answer comes back to this
  // connection's strand — unless the server has stopped or the connection
  // is gone, when it is dropped. The parked session lives on through its
  // deadline's timer, not through this: a gate may keep it past the server.
  Resume resumer() {
    // No asio object in here: the closure may outlive the I/O context.
    return [weak = weak_from_this(), guard = server_.io_guard](std::optional<HttpResponse> answer) {
      MutexLock lock(guard->mu);
      auto self = weak.lock();
      if (!guard->alive || !self || !self->parked_.exchange(false)) return;
      if (!answer) {
        // Let in: straight to a handler thread, no hop through the strand.
        // The deadline's timer stays armed until the connection's next wait
        // re-arms it; if it fires first, cancel_() finds nothing to take
        // back (the gate no longer holds the request) and it does nothing.
        auto posted = self->postHandler(/*next=*/true);
        if (posted.ok()) return;
        answer = jsonError(503, "the server is busy: " + posted.error().message());
      }
      asio::post(self->stream_.get_executor(), [self, answer = std::move(*answer)]() mutable {
        self->refused(std::move(answer));
      });
    };
  }

  // On the strand: the gate's answer instead of the handler's.
  void refused(HttpResponse answer) {
    timer_.cancel();
    answerUnhandled(std::move(answer));
  }

  void runOnExecutor() {
    auto posted = postHandler();
    if (!posted.ok()) answerUnhandled(jsonError(503, "the server is busy: " + posted.error().message()));
  }

  // From the strand, or from the gate's thread for a parked request (which
  // has nothing else pending but its deadline's timer). `next`: when that
  // thread is a handler thread (the slot came free as its request ended),
  // the request runs there next, with no wake-up.
  Result<void> postHandler(bool next = false) {
    auto run = [self = shared_from_this()] {
      self->runHandler();
      self->server_.endHandling();
    };
    return next ? server_.handlers.postNext(std::move(run)) : server_.handlers.post(std::move(run));
  }

  // An answer for a whole request that no handler saw (the gate's, a
  // timeout in its queue, a full executor).
  void answerUnhandled(HttpResponse response) {
    server_.endHandling();
    const bool head_only = req_.method == "HEAD";
    req_ = HttpRequest{};  // the body's bytes, and what the gate left, go
    keep_alive_ = keep_alive_ && response.status < 500;
    unread_body_ = false;
    setOut(std::move(response), head_only);
    writeRest();
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
    setOut(std::move(response), head_only);
    // Most responses fit the socket buffer: sent from here, with no hop back
    // to the I/O thread before the client has its answer.
    iovec parts[2] = {{out_.data(), out_.size()}, {body_.data(), body_.size()}};
    msghdr msg{};
    msg.msg_iov = parts;
    msg.msg_iovlen = body_.empty() ? 1 : 2;
    const ssize_t n = ::sendmsg(stream_.socket().native_handle(), &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
    sent_ = n > 0 ? static_cast<size_t>(n) : 0;
    asio::post(stream_.get_executor(), [self = shared_from_this()] { self->writeRest(); });
  }

  // The response is this connection's to send from now on: its head and
  // body in memory, within the budget (responses hold at most half of it);
  // a large body past that in the spool; with no room there either, a 503
  // in its place.
  void setOut(HttpResponse response, bool head_only) {
    server_.budget.give(std::exchange(reserved_, 0));
    releaseSpool();
    const uint64_t length = response.body.size();  // a HEAD's Content-Length too
    std::string body = std::move(response.body);
    if (head_only || response.status == 204 || response.status == 304) body = std::string();
    if (body.size() > kSpoolAbove) {
      if (server_.budget.tryTakeUpTo(body.size(), server_.budget.limit() / 2)) {
        reserved_ = body.size();
      } else if (auto file = server_.spool(body); file.ok()) {
        server_.spooled.fetch_add(1);
        spooled_ = std::move(*file);
        spooled_size_ = spool_held_ = body.size();
        body = std::string();
        server_.budget.take(kSpoolPiece);  // what it is read back into
        reserved_ = kSpoolPiece;
      } else {
        server_.over_budget.fetch_add(1);
        keep_alive_ = false;
        return setOut(HttpResponse::jsonError(503, "the server is busy: no room to hold a response "
                                                   "of " + std::to_string(length) + " bytes (" +
                                                   file.error().message() + "); retry later"),
                      head_only);
      }
    }
    out_ = serializeHead(response, length, keep_alive_);
    if (body.size() <= kSpoolAbove) {
      out_ += body;
    } else {
      body_ = std::move(body);
    }
    server_.budget.take(out_.size());
    reserved_ += out_.size();
    startSending();
  }

  // What is in out_, body_ and the spool goes from its start, within
  // write_timeout plus its size at min_send_rate.
  void startSending() {
    sent_ = 0;
    const uint64_t total = out_.size() + body_.size() + spooled_size_;
    const uint64_t rate = config().min_send_rate;
    send_by_ = Clock::now() + config().write_timeout +
               (rate == 0 ? std::chrono::milliseconds(std::chrono::hours(24 * 365))
                          : std::chrono::milliseconds(total * 1000 / rate));
  }

  void releaseSpool() {
    server_.spool_budget.give(std::exchange(spool_held_, 0));
    spooled_ = Fd();
    spooled_size_ = 0;
    piece_ = std::string();
  }

  // Answers from the I/O thread (screened, refused, malformed); `unread`
  // when a request body was left unread, so the connection must close.
  void respond(HttpResponse response, bool keep_alive, bool unread) {
    keep_alive_ = keep_alive;
    unread_body_ = unread;
    setOut(std::move(response), req_.method == "HEAD");
    writeRest();
  }

  // Sends what is left, a write at a time: each must make progress within
  // write_timeout, and the whole by send_by_.
  void writeRest() {
    const uint64_t in_memory = out_.size() + body_.size();
    if (sent_ >= in_memory + spooled_size_) return afterWrite();
    const auto now = Clock::now();
    if (now >= send_by_) {
      server_.timed_out.fetch_add(1);
      return abort();
    }
    stream_.expires_at(std::min<Clock::time_point>(now + config().write_timeout, send_by_));
    auto wrote = [self = shared_from_this()](beast::error_code ec, size_t n) {
      if (ec) {
        if (ec == beast::error::timeout) self->server_.timed_out.fetch_add(1);
        return self->abort();
      }
      self->sent_ += n;
      self->writeRest();
    };
    if (sent_ < in_memory) {
      std::array<asio::const_buffer, 2> parts = {asio::buffer(out_), asio::buffer(body_)};
      uint64_t skip = sent_;
      for (auto& part : parts) {
        const size_t k = static_cast<size_t>(std::min<uint64_t>(skip, part.size()));
        part += k;
        skip -= k;
      }
      return stream_.async_write_some(parts, std::move(wrote));
    }
    // From the spool, read back a piece at a time.
    const uint64_t at = sent_ - in_memory;
    if (at < piece_at_ || at >= piece_at_ + piece_.size()) {
      piece_.resize(static_cast<size_t>(std::min<uint64_t>(kSpoolPiece, spooled_size_ - at)));
      size_t got = 0;
      while (got < piece_.size()) {
        const ssize_t n = ::pread(spooled_.get(), piece_.data() + got, piece_.size() - got,
                                  static_cast<off_t>(at + got));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
          CWASI_LOG(kWarn, "http: cannot read a spooled response back: "
                               << (n < 0 ? std::strerror(errno) : "short file"));
          return abort();
        }
        got += static_cast<size_t>(n);
      }
      piece_at_ = at;
    }
    const size_t off = static_cast<size_t>(at - piece_at_);
    stream_.async_write_some(asio::buffer(piece_.data() + off, piece_.size() - off), std::move(wrote));
  }

  void afterWrite() {
    server_.budget.give(reserved_);
    reserved_ = 0;
    out_ = std::string();
    body_ = std::string();
    releaseSpool();
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
      // Not in the byte budget: a follower that stops reading must not
      // turn everyone's requests away (BodySource bounds its pieces).
      server_.budget.give(std::exchange(reserved_, 0));
      out_ = std::move(*chunk);
      startSending();
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
  asio::steady_timer timer_;  // the idle wait, the budget wait, a parked request's deadline
  std::optional<std::chrono::milliseconds> rewait_;  // set when the buffer was trimmed
  bool waiting_ = false;  // for a request, between requests
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  HttpRequest req_;
  bool keep_alive_ = false;
  bool unread_body_ = false;
  uint64_t reserved_ = 0;  // bytes of the budget this connection holds
  // The response being written: its head (with a small body), a large
  // body held in memory, or one in the spool (read back into piece_).
  std::string out_;
  std::string body_;
  Fd spooled_;
  uint64_t spooled_size_ = 0;
  uint64_t spool_held_ = 0;  // of the spool budget
  std::string piece_;
  uint64_t piece_at_ = 0;    // where piece_ starts in the spooled body
  uint64_t sent_ = 0;        // of out_, body_ and the spooled body, in that order
  Clock::time_point send_by_;
  std::unique_ptr<std::array<char, 16384>> discard_;
  size_t lingered_ = 0;
  std::shared_ptr<BodySource> more_;  // a body that goes on (HttpResponse::more)
  // The gate holds the request (timer_: its deadline); whoever clears it
  // first — the gate's resume, or the deadline — answers.
  std::atomic<bool> parked_{false};
  std::function<bool()> cancel_;      // takes it back from the gate
  Clock::time_point more_until_;
  bool following_ = false;
};

}  // namespace

void startSession(HttpServer::Impl& server, tcp::socket socket) {
  std::make_shared<Session>(server, std::move(socket))->start();
}

}  // namespace cwasi::http
