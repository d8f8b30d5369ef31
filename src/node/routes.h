// Internal to the node layer: the gateway's HTTP routes. They only translate:
// a request into a call on the registry, the invoker or the async queue, and
// its result (or Error, through httpStatusFor) into a response.
#pragma once

#include <atomic>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "cwasi/common/build_info.h"
#include "cwasi/host/function_host.h"
#include "cwasi/http/message.h"
#include "cwasi/http/server.h"
#include "cwasi/node/async_queue.h"
#include "cwasi/node/auth.h"
#include "cwasi/node/registry.h"
#include "cwasi/trigger/invoker.h"
#include "cwasi/trigger/metrics.h"

namespace cwasi::node {

// What the routes work with; all borrowed, all outlive the routes.
struct RouteParts {
  FunctionRegistry& registry;
  trigger::Invoker& invoker;
  AsyncQueue& async;
  Executor& workflow_steps;  // runs a workflow's independent steps at once
  trigger::Metrics& metrics;
  host::FunctionHost& host;
  const Authorizer& auth;
  const Clock& clock;
  std::chrono::milliseconds default_timeout;
  size_t max_log_follows;                     // followed logs open at once
  std::chrono::milliseconds log_follow_timeout;  // how long one may follow
};

class Routes {
 public:
  explicit Routes(RouteParts parts) : p_(parts) {}
  // From the headers alone (the server's Screen, on an I/O thread, never
  // blocking): the answer when there is one without the body — health,
  // unknown route or function, wrong method, missing token.
  std::optional<http::HttpResponse> screen(const http::HttpRequest& head) const;
  // The server's Gate: a sync call to a function takes a slot of its
  // limiter before it takes a handler thread (trigger/gate.h); everything
  // else runs at once. Thread-safe, non-blocking.
  http::GateDecision gate(http::HttpRequest& req, http::Resume resume) const;
  // Thread-safe: called on the server's handler threads.
  http::HttpResponse handle(http::HttpRequest& req);

 private:
  // The route a path names, and the function or workflow it names.
  struct Target {
    enum Kind { kFunction, kAsync, kWorkflow, kHealth, kMetrics, kSystem, kNone } kind;
    std::string name;
    std::string ns;    // from /function/NAME.NAMESPACE; "" when not given
    std::string rest;  // what follows /function/NAME
  };
  static Target targetOf(const std::string& path);

  http::HttpResponse functionRoute(const http::HttpRequest& req, const std::string& name,
                             const std::string& sub_path);
  http::HttpResponse asyncRoute(const http::HttpRequest& req, const std::string& name);
  http::HttpResponse workflowRoute(const http::HttpRequest& req, const std::string& name);
  http::HttpResponse systemRoute(const http::HttpRequest& req);
  http::HttpResponse functionsRoute(const http::HttpRequest& req);
  http::HttpResponse deployRoute(const http::HttpRequest& req, bool update);
  http::HttpResponse scaleRoute(const http::HttpRequest& req, const std::string& name);
  http::HttpResponse logsRoute(const http::HttpRequest& req);
  http::HttpResponse secretsRoute(const http::HttpRequest& req);
  http::HttpResponse infoRoute() const;
  http::HttpResponse workflowsRoute(const http::HttpRequest& req);
  std::string newCallId();

  RouteParts p_;
  // Followed logs open now; their sources live in connections, which the
  // server (stopped before the routes go) holds.
  std::atomic<size_t> follows_{0};
  std::atomic<uint64_t> next_call_id_{1};
  const uint64_t call_id_base_ =
      static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
};

// What both route files (routes.cc: invocations; system_routes.cc: the
// OpenFaaS system API) share.

// What a function response says of the gateway (X-Served-By).
inline const std::string kServedBy = std::string("cwasid/") + kVersion;
// The largest secret value (Kubernetes' limit too).
inline constexpr size_t kMaxSecretBytes = 1u << 20;

// JSON text of `j`; bytes that are not UTF-8 (a function's output, its
// stderr) are replaced rather than thrown on.
inline std::string dumpJson(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

inline http::HttpResponse jsonError(int status, const std::string& message) {
  return http::HttpResponse::jsonError(status, message);
}

inline http::HttpResponse errorResponse(const Error& e) {
  return jsonError(trigger::httpStatusFor(e), e.message());
}

inline std::string_view textOf(std::span<const uint8_t> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// OpenFaaS's X-Start-Time: when the gateway took the request, in Unix
// nanoseconds.
inline std::string startTime() {
  return std::to_string(std::chrono::duration_cast<std::chrono::nanoseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count());
}

}  // namespace cwasi::node
