// One HTTP/1.1 exchange on a fresh connection: the one client, shared by the
// daemon's own requests (httpFetch: callbacks, registries, the CLI) and by
// guests' outbound requests (comm's cwasi.http_request). Every step — name lookup, connect, send, receive — is
// bounded by one deadline, and the response by a size cap.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cwasi/common/byte_budget.h"
#include "cwasi/common/fd.h"
#include "cwasi/common/net.h"
#include "cwasi/common/result.h"
#include "cwasi/http/message.h"
#include "cwasi/http/url.h"

namespace cwasi::http {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct HttpExchange {
  std::string host;         // a name, a dotted quad, or an IPv6 address without brackets
  uint16_t port = 80;
  std::string host_header;  // the Host header as sent ("api.example.com:8080")
  std::string method = "GET";
  std::string target = "/";  // path and query
  // Sent as given, after Host, Connection: close and Content-Length (the
  // caller keeps those three out of it).
  HeaderList headers;
  std::string_view body;
  // Connecting must be done by then too (lookup included); the reply still
  // has until the exchange's deadline.
  net::Deadline connect_deadline = net::never();
};

struct HttpReply {
  int status = 0;
  HeaderList headers;  // as received, in order
  std::string body;
  HeldBytes held;  // the body's bytes, of HttpReplyLimits::budget
};

struct HttpReplyLimits {
  uint64_t max_body_bytes = 1ull << 30;
  uint32_t max_header_bytes = 64u << 10;
  // The body's bytes are taken from it as they come (held by the reply):
  // Aborted when it is full. Null: none.
  ByteBudget* budget = nullptr;
};

// Sends `request` and reads the whole reply by `deadline`. Errors:
//   Unavailable — the name does not resolve, no address accepts the
//     connection, or the peer reset or closed it before a whole reply;
//   DeadlineExceeded — `deadline` passed (lookup, connect, send or receive);
//   ResourceExhausted — the reply's head or body is over `limits`;
//   DataLoss — the peer did not answer in HTTP/1.x;
//   Aborted — the reply's body did not fit `limits.budget`.
// Any status is a success.
Result<HttpReply> httpExchange(const HttpExchange& request, net::Deadline deadline,
                               const HttpReplyLimits& limits = {});

// Connects to `host`:`port`, trying each address the name resolves to in
// turn, by `deadline` (the lookup included: it runs on the shared Resolver's
// bounded threads, so that a stuck resolver cannot hold the caller past it).
// Unavailable when the name does not resolve, the resolver has too many
// lookups pending, or nothing accepts; DeadlineExceeded past it.
Result<Fd> connectTcpHost(const std::string& host, uint16_t port, net::Deadline deadline);

// One request to `url` (http only) on a fresh connection, as the daemon's
// own clients make it. Unavailable when the server cannot be reached,
// DeadlineExceeded past `timeout` (or past `connect_timeout`, when given,
// without a connection); any status is a success.
Result<HttpResponse> httpFetch(const Url& url, std::string_view method, const Headers& headers,
                               std::string_view body, std::chrono::milliseconds timeout,
                               uint64_t max_body_bytes = 1ull << 30,
                               std::chrono::milliseconds connect_timeout = {});

}  // namespace cwasi::http
