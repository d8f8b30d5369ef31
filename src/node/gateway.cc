#include "cwasi/node/gateway.h"

#include <thread>

#include "cwasi/common/log.h"
#include "cwasi/node/async_queue.h"
#include "cwasi/node/auth.h"
#include "cwasi/node/autoscaler.h"
#include "cwasi/http/server.h"
#include "cwasi/trigger/invoker.h"
#include "cwasi/trigger/metrics.h"
#include "cwasi/node/registry.h"
#include "cwasi/node/state.h"
#include "routes.h"

namespace cwasi::node {

// Members are declared in the order they are built; they go in reverse:
// the HTTP server first (no new requests), then the autoscaler and the async
// workers, then the tables and the host.
struct Gateway::Impl {
  GatewayConfig config;
  SteadyClock steady;
  const Clock* clock = nullptr;
  std::string token;
  std::unique_ptr<StateDir> state;
  std::unique_ptr<ImagePuller> images;
  trigger::Metrics metrics;
  // --max-inflight-bytes: request and response bodies of the HTTP server,
  // and guests' outbound replies, together. Outlives both.
  std::unique_ptr<ByteBudget> inflight;
  std::unique_ptr<host::FunctionHost> host;
  std::unique_ptr<FunctionRegistry> registry;
  std::unique_ptr<trigger::Invoker> invoker;
  std::unique_ptr<AsyncQueue> async;
  std::unique_ptr<Autoscaler> autoscaler;
  // Workflow steps: bounded, like every thread of the daemon.
  Executor workflow_steps{{.name = "workflow steps", .max_threads = 64, .max_queued = 4096}};
  std::unique_ptr<Authorizer> auth;
  std::unique_ptr<Routes> routes;
  std::unique_ptr<http::HttpServer> http;
};

Result<std::unique_ptr<Gateway>> Gateway::start(GatewayConfig config) {
  if (config.state_dir.empty()) return invalidArgument("a state dir is required");
  auto impl = std::make_unique<Impl>();
  impl->config = std::move(config);
  Impl& g = *impl;
  const GatewayConfig& c = g.config;
  g.clock = c.clock ? c.clock : &g.steady;
  TRY_ASSIGN(g.state, StateDir::open(c.state_dir));
  TRY_ASSIGN(g.token, g.state->token(c.token));
  g.inflight = std::make_unique<ByteBudget>(c.http.inflightLimit());
  host::HostConfig host_config = c.host;
  host_config.functions.clear();
  host_config.outbound.budget = g.inflight.get();
  TRY_ASSIGN(g.host, host::FunctionHost::start(std::move(host_config)));
  g.images = std::make_unique<ImagePuller>(c.registries, *g.state);
  const auto running_ceiling = static_cast<size_t>(
      std::max(1, c.http.handler_threads * std::clamp(c.function_thread_share, 1, 100) / 100));
  g.registry = std::make_unique<FunctionRegistry>(*g.host, *g.state, g.metrics, *g.clock,
                                                  c.stable_window, g.images.get(), running_ceiling);
  for (const auto& e : g.registry->restore()) CWASI_LOG(kWarn, "state: skipped " << e);
  g.invoker = std::make_unique<trigger::Invoker>(*g.registry, *g.host, g.metrics, *g.clock,
                                        c.default_timeout);
  g.async = std::make_unique<AsyncQueue>(
      *g.registry, *g.invoker, c.async, g.state.get(),
      [&metrics = g.metrics](CallbackOutcome o) { metrics.callback(outcomeName(o)); });
  std::vector<std::string> journal_errors;
  if (size_t n = g.async->replay(&journal_errors); n > 0) {
    CWASI_LOG(kInfo, "state: " << n << " async call(s) accepted before the last stop queued again");
  }
  for (const auto& e : journal_errors) CWASI_LOG(kWarn, "state: skipped " << e);
  g.autoscaler = std::make_unique<Autoscaler>(*g.registry, *g.host, g.metrics, *g.clock,
                                              c.scale_interval);
  g.auth = std::make_unique<Authorizer>(g.token, c.admin_user);
  g.routes = std::make_unique<Routes>(RouteParts{*g.registry, *g.invoker, *g.async,
                                                 g.workflow_steps, g.metrics,
                                                 *g.host, *g.auth, *g.clock, c.default_timeout,
                                                 c.max_log_follows, c.log_follow_timeout});
  Routes* routes = g.routes.get();
  http::HttpServerConfig http_config = c.http;
  http_config.budget = g.inflight.get();
  if (http_config.spool_dir.empty()) http_config.spool_dir = g.state->spoolDir().string();
  TRY_ASSIGN(g.http, http::HttpServer::start(
                         http_config, [routes](http::HttpRequest& req) { return routes->handle(req); },
                         {.screen = [routes](const http::HttpRequest& head) { return routes->screen(head); },
                          .gate = [routes](http::HttpRequest& req, http::Resume resume) {
                            return routes->gate(req, std::move(resume));
                          }}));
  return std::unique_ptr<Gateway>(new Gateway(std::move(impl)));
}

Gateway::Gateway(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Gateway::~Gateway() {
  impl_->http.reset();  // no new requests before anything they use goes
}

const std::string& Gateway::address() const { return impl_->http->address(); }
const std::string& Gateway::token() const { return impl_->token; }
http::HttpServerStats Gateway::httpStats() const { return impl_->http->stats(); }

Gateway::DrainReport Gateway::drain(std::chrono::steady_clock::time_point deadline) {
  DrainReport r;
  // Queued async calls run within the drain time too; what is left waits
  // in the journal for the next start.
  impl_->async->stopAccepting();
  r.requests_cut = impl_->http->drain(deadline);
  (void)impl_->async->drain(deadline);
  r.async_left = impl_->async->close();
  r.async_cut = impl_->async->busy();
  return r;
}

std::string Gateway::DrainReport::describe() const {
  if (clean() && async_left == 0) return "nothing was dropped";
  return std::to_string(requests_cut) + " request(s) still running cut off, " +
         std::to_string(async_left) + " queued async call(s) left for the next start, " +
         std::to_string(async_cut) + " async call(s) or callback(s) cut off";
}

}  // namespace cwasi::node
