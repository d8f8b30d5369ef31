// The HTTP/1.1 server (of the gateway and of the shim's HTTP trigger):
// event-driven (Boost.Asio + Beast), a few I/O threads hold every connection,
// and a bounded pool of invocation threads runs the handlers. Every budget is
// bounded and configurable:
//  - connections: past `max_connections` the one that has waited longest
//    for a request is closed to make room; with none waiting, a new one
//    gets a 503 and is closed;
//  - time, per phase: a new connection's first byte, headers, body (idle
//    between reads), keep-alive idle, writing the response (idle);
//  - bytes: a request's body is read only once `screen` (auth, routing) let
//    it through and its bytes fit the global in-flight budget (request bodies
//    being read or handled, responses being written); past the budget a
//    request waits up to `budget_wait`, then gets a 503. Responses hold at
//    most half of it: a larger body past that is written to the spool (an
//    unlinked file, as nginx's proxy_temp_path) and sent from there in
//    pieces; with the spool full too, the answer is a 503. However slowly a
//    client reads, a response is sent within write_timeout plus its size at
//    `min_send_rate`, or the connection is cut;
//  - threads: handlers run on a bounded executor; a Gate (admission) parks
//    requests that must wait without holding one.
// A malformed request gets a 400, an over-large body a 413, and the
// connection is closed; the server keeps serving.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>

#include "cwasi/common/byte_budget.h"
#include "cwasi/common/fd.h"
#include "cwasi/common/result.h"
#include "cwasi/http/message.h"

namespace cwasi::http {

struct HttpServerConfig {
  std::string listen = "127.0.0.1:8080";  // port 0 picks one
  uint64_t max_body_bytes = 16u << 20;     // 413 past it
  size_t max_connections = 10000;          // capped by the process's fd limit
  uint64_t max_inflight_bytes = 256u << 20;  // at least max_body_bytes
  std::chrono::milliseconds budget_wait{1000};
  std::chrono::milliseconds first_byte_timeout{5000};  // a new connection that sends nothing
  std::chrono::milliseconds header_timeout{15000};     // connection or request start → headers
  std::chrono::milliseconds body_timeout{15000};       // idle while reading a body
  std::chrono::milliseconds keepalive_timeout{60000};  // idle between requests
  std::chrono::milliseconds write_timeout{30000};      // idle while writing a response
  // The whole of a response, however the client reads: write_timeout plus
  // its size at this many bytes a second (0: no bound but write_timeout idle).
  uint64_t min_send_rate = 64u << 10;
  // Where response bodies that do not fit the budget wait (an unlinked
  // file each); empty: the system's temp dir. At most max_spool_bytes.
  std::string spool_dir;
  uint64_t max_spool_bytes = 1ull << 30;
  // A budget shared with other parts of the process (cwasid's outbound
  // replies), which must outlive the server; null: the server's own.
  ByteBudget* budget = nullptr;
  int io_threads = 2;
  int handler_threads = 32;  // handlers running at once; more requests wait in order

  // The in-flight budget's size: max_inflight_bytes, but room for one
  // largest body at least (what a budget shared through `budget` needs too).
  uint64_t inflightLimit() const { return std::max(max_inflight_bytes, max_body_bytes); }
};

// A request a Gate made wait: `cancel` takes it out of whatever holds it
// (true when it was still waiting: its resume will never be called); at
// `deadline` the server cancels it and answers 504 itself.
struct Parked {
  std::function<bool()> cancel;
  std::chrono::steady_clock::time_point deadline;
};
// What a Gate decided: run the handler now (nothing), answer now (a
// response), or wait without a thread (Parked) until it calls `resume`.
using GateDecision = std::variant<std::monostate, HttpResponse, Parked>;
// Called once, from any thread, for a Parked request: with nothing when it
// may run now, with a response when it must not.
using Resume = std::function<void(std::optional<HttpResponse>)>;

// What a server has done so far; monotonic counters except `connections`.
struct HttpServerStats {
  size_t connections = 0;        // open now
  uint64_t accepted = 0;
  uint64_t refused = 0;          // over max_connections, with none idle to close
  uint64_t evicted = 0;          // idle, closed to make room for a new connection
  uint64_t screened = 0;         // answered from the headers alone
  uint64_t over_budget = 0;      // 503: no room in the byte budget (or, for a response, the spool)
  uint64_t spooled = 0;          // responses sent from the spool
  uint64_t timed_out = 0;        // closed by a phase timeout
  uint64_t accept_errors = 0;    // accept() failed (out of fds, say)
};

class HttpServer {
 public:
  // Runs on a handler thread, once per request with its whole body;
  // must be thread-safe.
  using Handler = std::function<HttpResponse(HttpRequest&)>;
  // Runs on an I/O thread once the headers are in (`head.body` is empty) and
  // must not block: an answer now (401, 404, a health check...) or nothing
  // to read the body and call the handler. A request answered here has its
  // body never read; its connection closes unless it had no body.
  using Screen = std::function<std::optional<HttpResponse>(const HttpRequest& head)>;
  // Runs on an I/O thread once a request is whole, before it takes a handler
  // thread, and must not block: admission (a function's limiter) decides
  // whether it runs now, is answered now, or waits — holding no thread —
  // until the gate resumes it. It may leave what the handler needs to know
  // of its admission in `req.admission`.
  using Gate = std::function<GateDecision(HttpRequest& req, Resume resume)>;

  struct Hooks {
    Screen screen;
    Gate gate;
  };
  static Result<std::unique_ptr<HttpServer>> start(const HttpServerConfig& config, Handler handler,
                                                   Hooks hooks = {});
  // The same on a socket already listening (config.listen is ignored): one
  // opened in another network namespace, say. Takes the socket.
  static Result<std::unique_ptr<HttpServer>> serve(const HttpServerConfig& config, Fd listener,
                                                   Handler handler, Hooks hooks = {});
  // Stops accepting, lets running handlers finish, closes every connection
  // and joins every thread.
  ~HttpServer();
  const std::string& address() const;  // "127.0.0.1:8080"
  HttpServerStats stats() const;
  // Stops accepting; a request that comes on an open connection gets a 503
  // (and the connection closes). Waits (on a condition) until no request is
  // with a handler or a gate, or `deadline`; returns how many still are.
  size_t drain(std::chrono::steady_clock::time_point deadline);

  struct Impl;

 private:
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cwasi::http
