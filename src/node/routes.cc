#include "routes.h"

#include <strings.h>
#include <sys/utsname.h>

#include <algorithm>
#include <ctime>
#include <nlohmann/json.hpp>

#include "cwasi/common/base64.h"
#include "cwasi/common/build_info.h"
#include "cwasi/common/log.h"
#include "cwasi/common/rfc3339.h"
#include "cwasi/trigger/function_http.h"
#include "cwasi/trigger/gate.h"

namespace cwasi::node {
namespace {

using json = nlohmann::json;

}  // namespace

std::string Routes::newCallId() {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%012llx-%06llx",
                static_cast<unsigned long long>(call_id_base_ & 0xffffffffffffull),
                static_cast<unsigned long long>(next_call_id_.fetch_add(1)));
  return buf;
}

http::HttpResponse Routes::functionRoute(const http::HttpRequest& req, const std::string& name,
                                   const std::string& sub_path) {
  auto entry = p_.registry.find(name);
  if (!entry) return jsonError(404, "no function " + name);
  const std::string call_id = newCallId();
  const std::string started = startTime();
  auto env = trigger::requestEnv(req, sub_path, call_id);
  trigger::Invocation inv = trigger::holdsSlot(req)
                                ? p_.invoker.invokeAdmitted(*entry, req.bodyBytes(), std::move(env))
                                : p_.invoker.invoke(*entry, req.bodyBytes(), std::move(env));
  http::HttpResponse r = trigger::invocationResponse(name, std::move(inv), p_.invoker.timeoutOf(*entry));
  r.headers.emplace_back("X-Call-Id", call_id);
  r.headers.emplace_back("X-Start-Time", started);
  r.headers.emplace_back("X-Served-By", kServedBy);
  return r;
}

http::HttpResponse Routes::asyncRoute(const http::HttpRequest& req, const std::string& name) {
  auto entry = p_.registry.find(name);
  if (!entry) return jsonError(404, "no function " + name);
  AsyncCall call;
  call.id = newCallId();
  call.function = name;
  call.body = req.body;
  call.env = trigger::requestEnv(req, "/", call.id);
  if (const std::string cb = req.header("X-Callback-Url"); !cb.empty()) {
    auto url = http::parseUrl(cb);
    if (!url.ok()) return jsonError(400, "X-Callback-Url: " + url.error().message());
    if (url->scheme != "http") return jsonError(400, "X-Callback-Url: only http:// callbacks are sent");
    call.callback = *url;
  }
  const std::string id = call.id;
  if (auto queued = p_.async.submit(std::move(call)); !queued.ok()) return errorResponse(queued.error());
  http::HttpResponse r = http::HttpResponse::text(202, "");
  r.headers.emplace_back("X-Call-Id", id);
  r.headers.emplace_back("X-Start-Time", startTime());
  r.headers.emplace_back("X-Served-By", kServedBy);
  return r;
}

http::HttpResponse Routes::workflowRoute(const http::HttpRequest& req, const std::string& name) {
  std::shared_ptr<const Workflow> w = p_.registry.findWorkflow(name);
  if (!w) return jsonError(404, "no workflow " + name);
  const auto start = p_.clock.now();
  const auto deadline = start + p_.default_timeout;
  StepCall call = [&](const std::string& function, std::span<const uint8_t> input) {
    return p_.invoker.step(function, input, w->trust_domain, deadline).result;
  };
  WorkflowResult result = runWorkflow(*w, req.bodyBytes(), call, &p_.workflow_steps);
  http::HttpResponse r;
  if (result.output.ok()) {
    r = http::HttpResponse::text(200, std::string(textOf(*result.output)));
    r.content_type = "application/octet-stream";
  } else {
    const Error& e = result.output.error();
    r = http::HttpResponse::json(trigger::httpStatusFor(e), dumpJson(json{{"error", e.message()},
                                                            {"workflow", name},
                                                            {"step", result.failed_step}}));
  }
  r.headers.emplace_back("X-Duration-Seconds", trigger::durationSeconds(p_.clock.now() - start));
  return r;
}

Routes::Target Routes::targetOf(const std::string& path) {
  // "/function/NAME[/rest]": the name and the rest.
  auto under = [&](std::string_view prefix, Target::Kind kind) -> std::optional<Target> {
    if (path.rfind(prefix, 0) != 0 || path.size() == prefix.size()) return std::nullopt;
    std::string tail = path.substr(prefix.size());
    const size_t slash = tail.find('/');
    if (slash == 0) return std::nullopt;
    Target t{kind, tail.substr(0, slash), "", slash == std::string::npos ? "" : tail.substr(slash)};
    // Names are DNS labels: a dot starts OpenFaaS's namespace suffix.
    if (kind != Target::kWorkflow) {
      if (const size_t dot = t.name.find('.'); dot != std::string::npos) {
        t.ns = t.name.substr(dot + 1);
        t.name.resize(dot);
      }
    }
    return t;
  };
  if (auto t = under("/function/", Target::kFunction)) return *t;
  if (auto t = under("/async-function/", Target::kAsync)) return *t;
  if (auto t = under("/workflow/", Target::kWorkflow)) return *t;
  if (path == "/healthz") return {Target::kHealth, "", "", ""};
  if (path == "/metrics") return {Target::kMetrics, "", "", ""};
  if (path.rfind("/system/", 0) == 0) return {Target::kSystem, "", "", ""};
  return {Target::kNone, "", "", ""};
}

std::optional<http::HttpResponse> Routes::screen(const http::HttpRequest& head) const {
  const Target t = targetOf(head.path);
  switch (t.kind) {
    case Target::kHealth:
      return http::HttpResponse::text(200, "OK");
    case Target::kMetrics:
      return std::nullopt;
    case Target::kSystem:
      if (!p_.auth.allows(head)) return Authorizer::challenge();
      return std::nullopt;
    case Target::kFunction:
    case Target::kAsync: {
      if (t.kind == Target::kAsync && head.method != "POST") return jsonError(405, "use POST");
      if (!t.ns.empty() && t.ns != kFunctionNamespace) {
        return jsonError(404, "no function " + t.name + "." + t.ns + ": cwasid has one namespace, " +
                                  kFunctionNamespace);
      }
      auto entry = p_.registry.find(t.name);
      if (!entry) return jsonError(404, "no function " + t.name);
      if (!entry->deployment.is_public && !p_.auth.allows(head)) return Authorizer::challenge();
      return std::nullopt;
    }
    case Target::kWorkflow: {
      if (head.method != "POST") return jsonError(405, "use POST");
      std::shared_ptr<const Workflow> w = p_.registry.findWorkflow(t.name);
      if (!w) return jsonError(404, "no workflow " + t.name);
      // A workflow is invocable without the token only when all its functions are.
      const bool is_public = std::all_of(w->steps.begin(), w->steps.end(), [&](const auto& s) {
        auto e = p_.registry.find(s.function);
        return !e || e->deployment.is_public;
      });
      if (!is_public && !p_.auth.allows(head)) return Authorizer::challenge();
      return std::nullopt;
    }
    case Target::kNone:
      break;
  }
  return jsonError(404, "no route " + head.path);
}

http::GateDecision Routes::gate(http::HttpRequest& req, http::Resume resume) const {
  const Target t = targetOf(req.path);
  if (t.kind != Target::kFunction) return std::monostate{};
  auto entry = p_.registry.find(t.name);
  if (!entry) return std::monostate{};  // the handler answers 404
  return trigger::admitRequest(*entry,
                               std::chrono::steady_clock::now() + p_.invoker.timeoutOf(*entry),
                               req, std::move(resume));
}

http::HttpResponse Routes::handle(http::HttpRequest& req) {
  // The server screened the headers already; screened again here, for a
  // function deleted (or made private) since, and for callers other than
  // the server.
  if (auto early = screen(req)) return std::move(*early);
  const Target t = targetOf(req.path);
  switch (t.kind) {
    case Target::kFunction: return functionRoute(req, t.name, t.rest);
    case Target::kAsync: return asyncRoute(req, t.name);
    case Target::kWorkflow: return workflowRoute(req, t.name);
    case Target::kMetrics: {
      http::HttpResponse r = http::HttpResponse::text(200, p_.metrics.render(p_.host.stats()));
      r.content_type = "text/plain; version=0.0.4";
      return r;
    }
    case Target::kSystem: return systemRoute(req);
    case Target::kHealth:
    case Target::kNone: break;
  }
  return jsonError(404, "no route " + req.path);
}

}  // namespace cwasi::node
