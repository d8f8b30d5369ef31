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
#include <memory>
#include <optional>
#include <thread>

#include "cwasi/common/mutex.h"

namespace cwasi::http {
// The socket helpers, deadlines and clock this client is built on.
using namespace net;  // NOLINT(google-build-using-namespace)

namespace {

namespace bhttp = boost::beast::http;

constexpr size_t kReadChunk = 64 * 1024;

struct Address {
  sockaddr_storage addr{};
  socklen_t len = 0;
};

// One name lookup, shared between the caller and the thread running it:
// the caller may give up at its deadline, and the thread then finishes
// alone (getaddrinfo cannot be interrupted).
struct Lookup {
  Mutex mu;
  CondVar done_cv;
  bool done GUARDED_BY(mu) = false;
  int rc GUARDED_BY(mu) = 0;
  std::vector<Address> addresses GUARDED_BY(mu);
};

std::vector<Address> addressesOf(const addrinfo* res) {
  std::vector<Address> out;
  for (const addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    if (ai->ai_addrlen > sizeof(sockaddr_storage)) continue;
    Address a;
    std::memcpy(&a.addr, ai->ai_addr, ai->ai_addrlen);
    a.len = ai->ai_addrlen;
    out.push_back(a);
  }
  return out;
}

Result<std::vector<Address>> resolve(const std::string& host, uint16_t port, Deadline deadline) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG;
  const std::string service = std::to_string(port);
  // An IP literal needs no thread: it never reaches a resolver.
  {
    addrinfo numeric = hints;
    numeric.ai_flags = AI_NUMERICSERV | AI_NUMERICHOST;
    addrinfo* res = nullptr;
    if (::getaddrinfo(host.c_str(), service.c_str(), &numeric, &res) == 0) {
      auto out = addressesOf(res);
      ::freeaddrinfo(res);
      return out;
    }
  }
  // shared: the lookup thread outlives a caller that stopped waiting.
  auto lookup = std::make_shared<Lookup>();
  std::thread([lookup, host, service, hints] {
    addrinfo* res = nullptr;
    int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &res);
    std::vector<Address> found;
    if (rc == 0) found = addressesOf(res);
    if (res != nullptr) ::freeaddrinfo(res);
    MutexLock lock(lookup->mu);
    lookup->rc = rc;
    lookup->addresses = std::move(found);
    lookup->done = true;
    lookup->done_cv.notifyAll();
  }).detach();
  MutexLock lock(lookup->mu);
  while (!lookup->done) {
    if (!lookup->done_cv.waitUntil(lookup->mu, deadline) && Clock::now() >= deadline) {
      return deadlineExceeded("looking up " + host + " took too long");
    }
  }
  if (lookup->rc != 0) {
    return unavailable("cannot resolve " + host + ": " + gai_strerror(lookup->rc));
  }
  if (lookup->addresses.empty()) return unavailable("cannot resolve " + host + ": no address");
  return std::move(lookup->addresses);
}

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

Result<void> readReply(int fd, bhttp::response_parser<bhttp::string_body>& parser, Deadline deadline) {
  std::string buffer;
  for (;;) {
    if (!buffer.empty()) {
      boost::system::error_code ec;
      size_t used = parser.put(boost::asio::buffer(buffer.data(), buffer.size()), ec);
      buffer.erase(0, used);
      if (ec == bhttp::error::body_limit) return resourceExhausted("reply body over the limit");
      if (ec == bhttp::error::header_limit) return resourceExhausted("reply head over the limit");
      if (ec && ec != bhttp::error::need_more) return dataLoss("bad HTTP reply: " + ec.message());
      if (parser.is_done()) return {};
      if (used > 0 && !ec) continue;
    }
    TRY_ASSIGN(size_t n, recvSome(fd, buffer, deadline));
    if (n == 0) {
      // Beast's put_eof() takes an empty stream for a finished message (it
      // only asserts against it): no byte at all is no reply.
      if (!parser.got_some()) return unavailable("the connection closed before a reply");
      boost::system::error_code ec;
      parser.put_eof(ec);
      if (!ec && parser.is_done()) return {};
      if (ec == bhttp::error::body_limit) return resourceExhausted("reply body over the limit");
      return unavailable("the connection closed before a whole reply");
    }
  }
}

}  // namespace

Result<Fd> connectTcpHost(const std::string& host, uint16_t port, Deadline deadline) {
  TRY_ASSIGN(std::vector<Address> addresses, resolve(host, port, deadline));
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
  TRY_ASSIGN(Fd fd, connectTcpHost(request.host, request.port, deadline));
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
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(limits.max_body_bytes);
  parser.header_limit(limits.max_header_bytes);
  if (request.method == "HEAD") parser.skip(true);
  auto read = readReply(fd.get(), parser, deadline);
  if (!read.ok()) {
    if (!sent.ok()) return unavailable(sent.error().message());
    return std::move(read).error();
  }
  auto& msg = parser.get();
  HttpReply reply;
  reply.status = static_cast<int>(msg.result_int());
  for (const auto& f : msg) reply.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
  reply.body = std::move(msg.body());
  return reply;
}

Result<HttpResponse> httpFetch(const Url& url, std::string_view method, const Headers& headers,
                               std::string_view body, std::chrono::milliseconds timeout,
                               uint64_t max_body_bytes) {
  HttpExchange exchange;
  if (url.scheme != "http") return unimplemented("only http:// is supported here: " + url.origin());
  exchange.host = url.host;
  exchange.port = url.port;
  exchange.host_header = url.authority();
  exchange.method = std::string(method);
  exchange.target = url.target;
  exchange.headers = headers;
  exchange.body = body;
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
