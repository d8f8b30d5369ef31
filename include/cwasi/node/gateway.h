// The node daemon (cwasid): an HTTP gateway with OpenFaaS-compatible routes in
// front of a FunctionHost, which runs the functions (an instance per request)
// and routes their calls to each other in the three modes. The Gateway only
// wires its parts: the function registry (the table), the invoker (the one
// invocation path), the async queue and the autoscaler (each owning its
// threads) and the routes (HTTP translation).
//
// The routes are OpenFaaS's gateway's and faas-provider's, in their formats
// (a function is also NAME.openfaas-fn: cwasid has that one namespace):
//   POST /function/{name}[/path]     run a function (request body in, output out)
//   POST /async-function/{name}      queue it: 202 + X-Call-Id; X-Callback-Url
//   POST /workflow/{name}            run a workflow
//   GET  /healthz, GET /metrics      liveness, Prometheus text
//   /system/functions                GET list, POST create, PUT update, DELETE remove
//   GET  /system/function/{name}     one function's status
//   POST /system/scale-function/{name}  {"replicas": N}
//   GET  /system/logs?name=F&tail=N&since=T&follow=true  the function's stderr, NDJSON
//   /system/secrets                  GET list, POST create, PUT update, DELETE remove
//   GET  /system/namespaces, GET /system/info
//   /system/workflows                GET list, POST|PUT deploy (JSON or YAML), DELETE
// /system/* need the admin token (Authorization: Bearer T, or Basic USER:T,
// USER being admin unless configured); a function deployed with "public":
// false needs it to be invoked too.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include "cwasi/common/clock.h"
#include "cwasi/common/result.h"
#include "cwasi/host/function_host.h"
#include "cwasi/node/async_queue.h"
#include "cwasi/http/server.h"
#include "cwasi/node/image_puller.h"

namespace cwasi::node {

struct GatewayConfig {
  http::HttpServerConfig http;             // where to listen, and the connection budgets
  std::filesystem::path state_dir;   // required
  std::string token;                 // empty: the state dir's (generated once)
  std::string admin_user = "admin";  // Basic auth's user name (OpenFaaS's default)
  size_t max_log_follows = 64;       // logs followed at once; past it 429
  std::chrono::milliseconds log_follow_timeout{30 * 60 * 1000};
  std::chrono::milliseconds default_timeout{30000};
  // Autoscaler period and the window its scale-down decisions average over.
  std::chrono::milliseconds scale_interval{1000};
  std::chrono::milliseconds stable_window{30000};
  AsyncConfig async;                 // queued async calls (count, bytes), workers
  // The share of the HTTP server's handler threads one function may hold
  // at once (percent); its requests beyond it wait for a slot without a
  // thread. So a slow function cannot starve the others.
  int function_thread_share = 50;
  // How long stopping (SIGTERM) waits for work under way (cwasid's flag;
  // the gateway itself takes the deadline in drain()).
  std::chrono::milliseconds drain_timeout{10000};
  host::HostConfig host;             // functions come from the state dir, not from here
  RegistryConfig registries;         // where images are pulled from (mirrors, credentials)
  // The daemon's clock (borrowed, outlives it); null: the machine's steady clock.
  const Clock* clock = nullptr;
};

class Gateway {
 public:
  // Opens the state dir, starts the function host, redeploys what the state
  // dir holds (a deployment that no longer loads is logged and skipped),
  // starts the autoscaler, async workers and the HTTP server.
  static Result<std::unique_ptr<Gateway>> start(GatewayConfig config);
  // Stops the HTTP server first, then the rest; queued async calls are
  // dropped (their callers got 202 only: the log says how many). Joins
  // every thread: call drain() first to bound how long that takes.
  ~Gateway();

  const std::string& address() const;  // "127.0.0.1:8080"
  const std::string& token() const;
  http::HttpServerStats httpStats() const;

  // What stopping left undone.
  struct DrainReport {
    size_t requests_cut = 0;      // still running at the deadline
    size_t async_left = 0;        // queued async calls not run yet: journaled, run after the next start
    size_t async_cut = 0;         // async calls or callbacks still under way at the deadline
    bool clean() const { return requests_cut == 0 && async_cut == 0; }
    std::string describe() const;
  };
  // Stops taking work (new connections and requests get refused) and waits
  // for what runs and for queued async calls until `deadline` (the ones
  // still queued then stay in the journal for the next start).
  // Once clean, destroying the gateway is quick; otherwise the caller
  // decides (cwasid exits without waiting for the stragglers).
  DrainReport drain(std::chrono::steady_clock::time_point deadline);

  struct Impl;

 private:
  explicit Gateway(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cwasi::node
