// The TaskHost over the real FunctionHost: the one file of the shim that
// includes it. A task's function is deployed like any other, so it calls and
// is called by the pod's other functions (embedded) and the node's (local).
#include <fcntl.h>
#include <sched.h>

#include <thread>

#include "cwasi/common/clock.h"
#include "cwasi/common/net.h"
#include "cwasi/host/function_host.h"
#include "cwasi/http/server.h"
#include "cwasi/shim/task_host.h"
#include "cwasi/trigger/function_http.h"
#include "cwasi/trigger/gate.h"
#include "cwasi/trigger/invoker.h"
#include "cwasi/trigger/metrics.h"
#include "cwasi/trigger/target.h"

namespace cwasi::shim {
namespace {

// Opens a listening TCP socket on `port` inside `network_namespace` (the
// pod's): a thread of its own joins the namespace, opens the socket and
// ends; the socket stays in that namespace whoever accepts on it.
Result<Fd> listenIn(const std::filesystem::path& network_namespace, uint16_t port) {
  const net::Endpoint any{"0.0.0.0", port};
  if (network_namespace.empty()) return net::listenTcp(any, nullptr, 1024);
  Result<Fd> listener = internal("not run");
  std::thread([&] {
    Fd ns(::open(network_namespace.c_str(), O_RDONLY | O_CLOEXEC));
    if (!ns.valid()) {
      listener = errnoError("cannot open the pod's network namespace " + network_namespace.string(),
                            errno);
    } else if (::setns(ns.get(), CLONE_NEWNET) != 0) {
      listener = errnoError("cannot join the pod's network namespace " + network_namespace.string(),
                            errno);
    } else {
      listener = net::listenTcp(any, nullptr, 1024);
    }
  }).join();
  return listener;
}

// A pod's function behind HTTP: the daemon's invocation path (admission,
// host, accounting) for one function, `/_/health` for kubelet's probes (as
// OpenFaaS's of-watchdog names it) and `/_/metrics` (Prometheus text: the
// function's invocations, and the pod's calls and bytes per mode).
class FunctionHttpTrigger : public HttpTrigger, public trigger::TargetDirectory {
 public:
  static Result<std::unique_ptr<FunctionHttpTrigger>> start(host::FunctionHost& host,
                                                            const HttpTriggerConfig& c) {
    auto t = std::unique_ptr<FunctionHttpTrigger>(new FunctionHttpTrigger(host, c));
    TRY_ASSIGN(Fd listener, listenIn(c.network_namespace, c.port));
    http::HttpServerConfig hc;
    hc.max_body_bytes = c.max_body_bytes;
    hc.io_threads = 1;  // one pod, one function
    FunctionHttpTrigger* self = t.get();
    TRY_ASSIGN(t->server_,
               http::HttpServer::serve(
                   hc, std::move(listener), [self](http::HttpRequest& r) { return self->handle(r); },
                   {.screen = [](const http::HttpRequest& head) -> std::optional<http::HttpResponse> {
                      // kubelet's probes, answered on the I/O thread: never queued
                      // behind busy invocations.
                      if (head.path == "/_/health") return http::HttpResponse::text(200, "OK");
                      return std::nullopt;
                    },
                    .gate = [self](http::HttpRequest& r, http::Resume resume) {
                      return self->gate(r, std::move(resume));
                    }}));
    return t;
  }

  std::string address() const override { return server_->address(); }

  void drain(std::chrono::steady_clock::time_point deadline) override {
    (void)target_->limiter->waitIdle(deadline);
  }
  void stopDraining() override { target_->limiter->stopWaiting(); }

  std::shared_ptr<const trigger::Target> findTarget(std::string_view name) const override {
    return name == target_->name ? target_ : nullptr;
  }

 private:
  FunctionHttpTrigger(host::FunctionHost& host, const HttpTriggerConfig& c)
      : host_(host), invoker_(*this, host, metrics_, clock_, c.timeout) {
    // The pod is the replica: never cold, never scaled; no replica policy.
    auto target = std::make_shared<trigger::Target>();
    target->name = c.function;
    target->timeout = c.timeout;
    if (c.cgi_response) target->response = trigger::ResponseMode::kCgi;
    const auto cap = static_cast<size_t>(std::max(1, c.max_inflight));
    target->limiter = std::make_shared<trigger::Limiter>(cap, cap);
    target->stats = std::make_shared<trigger::TargetStats>();
    target_ = std::move(target);
  }

  // Admission before a handler thread: a request waits for the function's
  // slot without one.
  http::GateDecision gate(http::HttpRequest& req, http::Resume resume) const {
    if (req.path == "/_/metrics") return std::monostate{};
    return trigger::admitRequest(*target_,
                                 std::chrono::steady_clock::now() + invoker_.timeoutOf(*target_), req,
                                 std::move(resume));
  }

  http::HttpResponse handle(http::HttpRequest& req) {
    if (req.path == "/_/metrics") {  // the pod's shim: invocations, and bytes per mode
      http::HttpResponse r = http::HttpResponse::text(200, metrics_.render(host_.stats()));
      r.content_type = "text/plain; version=0.0.4";
      return r;
    }
    const std::string call_id = std::to_string(next_call_.fetch_add(1));
    auto env = trigger::requestEnv(req, req.path, call_id);
    trigger::Invocation inv = trigger::holdsSlot(req)
                                  ? invoker_.invokeAdmitted(*target_, req.bodyBytes(), std::move(env))
                                  : invoker_.invoke(*target_, req.bodyBytes(), std::move(env));
    http::HttpResponse r = trigger::invocationResponse(target_->name, std::move(inv),
                                                       invoker_.timeoutOf(*target_));
    r.headers.emplace_back("X-Call-Id", call_id);
    return r;
  }

  host::FunctionHost& host_;
  SteadyClock clock_;
  trigger::Metrics metrics_;
  std::shared_ptr<const trigger::Target> target_;
  trigger::Invoker invoker_;
  std::atomic<uint64_t> next_call_{1};
  // Last: stops first, before what its requests use.
  std::unique_ptr<http::HttpServer> server_;
};

class FunctionHostTasks : public TaskHost {
 public:
  explicit FunctionHostTasks(std::unique_ptr<host::FunctionHost> host) : host_(std::move(host)) {}

  Result<void> load(const host::FunctionSpec& function) override {
    // Loads now (from the AOT cache when this digest was compiled before).
    return host_->deploy(function);
  }

  Result<runtime::FunctionKind> kind(std::string_view name) override { return host_->kind(name); }

  Result<int> runMain(std::string_view name, runtime::RunContext context) override {
    return host_->runMain(name, std::move(context));
  }

  Result<std::unique_ptr<HttpTrigger>> serveHttp(const HttpTriggerConfig& config) override {
    TRY_ASSIGN(auto trigger, FunctionHttpTrigger::start(*host_, config));
    return std::unique_ptr<HttpTrigger>(std::move(trigger));
  }
  Result<std::string> serveRemoteCalls(const std::filesystem::path& network_namespace,
                                       uint16_t port) override {
    if (!host_->tcpAddress().empty()) return host_->tcpAddress();
    TRY_ASSIGN(Fd listener, listenIn(network_namespace, port));
    auto served = host_->serveRemote(std::move(listener));
    if (!served.ok() && served.error().code() == Code::kFailedPrecondition) {
      return host_->tcpAddress();  // another container of the pod was first
    }
    return served;
  }
  void remove(std::string_view name) override { host_->remove(name); }

 private:
  std::unique_ptr<host::FunctionHost> host_;
};

}  // namespace

Result<std::unique_ptr<TaskHost>> startFunctionHostTasks(TaskHostConfig config) {
  host::HostConfig hc;
  hc.runtime_dir = config.runtime_dir;
  hc.engine.cache_dir = config.cache_dir;
  hc.cluster_file = config.cluster_file;
  hc.engine.max_instances = config.max_instances;
  TRY_ASSIGN(auto host, host::FunctionHost::start(std::move(hc)));
  return std::unique_ptr<TaskHost>(std::make_unique<FunctionHostTasks>(std::move(host)));
}

}  // namespace cwasi::shim
