#include "cwasi/http/client.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include <array>
#include <boost/beast/http.hpp>
#include <cerrno>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>

#include "cwasi/common/resolver.h"

namespace cwasi::http {
// The socket helpers, deadlines and clock this client is built on.
using namespace net;  // NOLINT(google-build-using-namespace)

namespace {

namespace bhttp = boost::beast::http;

constexpr size_t kReadChunk = 64 * 1024;

int pollMs(Deadline deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  if (left.count() <= 0) return 0;
  return static_cast<int>(std::min<int64_t>(left.count() + 1, 1000));
}

Result<Fd> connectTo(const Address& a, Deadline deadline, const std::string& what) {
  Fd fd(::socket(a.addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.valid()) return errnoError("socket", errno);
  tuneTcp(fd.get(), 0);
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&a.addr), a.len) == 0) return fd;
  if (errno != EINPROGRESS) return unavailable("cannot connect to " + what + ": " + std::strerror(errno));
  for (;;) {
    if (Clock::now() >= deadline) return deadlineExceeded("connecting to " + what + " took too long");
    pollfd p{fd.get(), POLLOUT, 0};
    int r = ::poll(&p, 1, pollMs(deadline));
    if (r < 0 && errno != EINTR) return errnoError("poll", errno);
    if (r > 0) break;
  }
  int err = 0;
  socklen_t len = sizeof err;
  ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
  if (err != 0) return unavailable("cannot connect to " + what + ": " + std::strerror(err));
  return fd;
}

// Reads what is there (at least one byte), waiting up to `deadline`.
// 0 means the peer closed (or reset: both end the reply).
Result<size_t> recvSome(int fd, std::string& buffer, Deadline deadline) {
  // Received into scratch space first: growing `buffer` by a whole chunk
  // would zero-fill it on every read.
  thread_local std::array<char, kReadChunk> scratch;
  for (;;) {
    ssize_t n = ::recv(fd, scratch.data(), scratch.size(), 0);
    if (n >= 0) {
      buffer.append(scratch.data(), static_cast<size_t>(n));
      return static_cast<size_t>(n);
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return 0;
    if (Clock::now() >= deadline) return deadlineExceeded("timed out waiting for the reply");
    pollfd p{fd, POLLIN, 0};
    ::poll(&p, 1, pollMs(deadline));
  }
}

using ReplyParser = bhttp::response_parser<bhttp::string_body>;

// Reads one final reply into `parser` (made anew by `fresh` for each
// message): interim replies (100 Continue, 102, 103) are read and skipped; a
// 101 nobody asked for (the Upgrade header is never sent) is no reply.
// The body's bytes (what its string reserved: a Content-Length's worth at
// once) are taken from `held`'s budget, when it has one, before they come.
Result<void> readReply(int fd, std::optional<ReplyParser>& parser,
                       const std::function<void(std::optional<ReplyParser>&)>& fresh,
                       Deadline deadline, HeldBytes& held, uint64_t& taken) {
  std::string buffer;
  fresh(parser);
  for (;;) {
    if (!buffer.empty()) {
      boost::system::error_code ec;
      size_t used = parser->put(boost::asio::buffer(buffer.data(), buffer.size()), ec);
      buffer.erase(0, used);
      if (const uint64_t size = parser->get().body().capacity(); held.budgeted() && size > taken) {
        if (!held.tryTakeMore(size - taken)) {
          return aborted("the host has too many bytes in flight for a reply of " +
                         std::to_string(size) + " bytes; retry later");
        }
        taken = size;
      }
      if (ec == bhttp::error::body_limit) return resourceExhausted("reply body over the limit");
      // Our cap on what any reply may send before its body: the peer broke
      // it, not our budget (502 upstream, never a retry-inviting 429).
      if (ec == bhttp::error::header_limit) return dataLoss("the reply's head is over the limit");
      if (ec && ec != bhttp::error::need_more) return dataLoss("bad HTTP reply: " + ec.message());
      if (parser->is_done()) {
        const unsigned status = parser->get().result_int();
        if (status == 101) return dataLoss("the server switched protocols unasked (101)");
        if (status < 100 || status > 199) return {};
        fresh(parser);  // an interim reply: the final one follows
        continue;
      }
      if (used > 0 && !ec) continue;
    }
    TRY_ASSIGN(size_t n, recvSome(fd, buffer, deadline));
    if (n == 0) {
      // Beast's put_eof() takes an empty stream for a finished message (it
      // only asserts against it): no byte at all is no reply.
      if (!parser->got_some()) return unavailable("the connection closed before a reply");
      boost::system::error_code ec;
      parser->put_eof(ec);
      if (!ec && parser->is_done()) return {};
      if (ec == bhttp::error::body_limit) return resourceExhausted("reply body over the limit");
      return unavailable("the connection closed before a whole reply");
    }
  }
}

}  // namespace

Result<Fd> connectTcpHost(const std::string& host, uint16_t port, Deadline deadline) {
  TRY_ASSIGN(std::vector<Address> addresses, Resolver::shared().resolve(host, port, deadline));
  const std::string what = Endpoint{host, port}.toString();
  std::optional<Error> last;
  for (const Address& a : addresses) {
    auto fd = connectTo(a, deadline, what);
    if (fd.ok()) return std::move(*fd);
    if (fd.error().code() == Code::kDeadlineExceeded) return std::move(fd).error();
    last = std::move(fd).error();
  }
  return *last;
}

Result<HttpReply> httpExchange(const HttpExchange& request, Deadline deadline,
                               const HttpReplyLimits& limits) {
  TRY_ASSIGN(Fd fd, connectTcpHost(request.host, request.port,
                                    std::min(deadline, request.connect_deadline)));
  std::string head;
  head.reserve(256);
  head += request.method;
  head += ' ';
  head += request.target;
  head += " HTTP/1.1\r\nHost: ";
  head += request.host_header;
  head += "\r\nConnection: close\r\nContent-Length: ";
  head += std::to_string(request.body.size());
  head += "\r\n";
  for (const auto& [k, v] : request.headers) head += k + ": " + v + "\r\n";
  head += "\r\n";
  auto sent = sendAllv(fd.get(),
                       {{reinterpret_cast<const uint8_t*>(head.data()), head.size()},
                        {reinterpret_cast<const uint8_t*>(request.body.data()), request.body.size()}},
                       deadline);
  if (!sent.ok() && sent.error().code() == Code::kDeadlineExceeded) return std::move(sent).error();
  // A server may answer (413, a redirect) and close without reading the
  // whole body: its reply, when it sent one, is what counts.
  std::optional<ReplyParser> parser;
  auto fresh = [&](std::optional<ReplyParser>& p) {
    p.emplace();
    p->body_limit(limits.max_body_bytes);
    p->header_limit(limits.max_header_bytes);
    if (request.method == "HEAD") p->skip(true);
  };
  HeldBytes held = limits.budget ? HeldBytes(*limits.budget, 0) : HeldBytes();
  uint64_t taken = 0;
  auto read = readReply(fd.get(), parser, fresh, deadline, held, taken);
  if (!read.ok()) {
    if (!sent.ok()) return unavailable(sent.error().message());
    return std::move(read).error();
  }
  auto& msg = parser->get();
  HttpReply reply;
  reply.status = static_cast<int>(msg.result_int());
  for (const auto& f : msg) reply.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
  reply.body = std::move(msg.body());
  reply.held = std::move(held);
  return reply;
}

Result<HttpResponse> httpFetch(const Url& url, std::string_view method, const Headers& headers,
                               std::string_view body, std::chrono::milliseconds timeout,
                               uint64_t max_body_bytes, std::chrono::milliseconds connect_timeout) {
  HttpExchange exchange;
  if (url.scheme != "http") return unimplemented("only http:// is supported here: " + url.origin());
  exchange.host = url.host;
  exchange.port = url.port;
  exchange.host_header = url.authority();
  exchange.method = std::string(method);
  exchange.target = url.target;
  exchange.headers = headers;
  exchange.body = body;
  if (connect_timeout.count() > 0) exchange.connect_deadline = net::in(connect_timeout);
  HttpReplyLimits limits;
  limits.max_body_bytes = max_body_bytes;
  TRY_ASSIGN(HttpReply reply, httpExchange(exchange, net::in(timeout), limits));
  HttpResponse r;
  r.status = reply.status;
  for (auto& [k, v] : reply.headers) {
    if (iequals(k, "Content-Type")) {
      r.content_type = std::move(v);
    } else {
      r.headers.emplace_back(std::move(k), std::move(v));
    }
  }
  r.body = std::move(reply.body);
  return r;
}

}  // namespace cwasi::http
