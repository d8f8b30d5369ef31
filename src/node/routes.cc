#include "routes.h"

#include <strings.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "cwasi/common/log.h"
#include "cwasi/node/function_http.h"

namespace cwasi::node {
namespace {

using json = nlohmann::json;

constexpr char kVersion[] = CWASI_VERSION;

// JSON text of `j`; bytes that are not UTF-8 (a function's output, its
// stderr) are replaced rather than thrown on.
std::string dumpJson(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

HttpResponse jsonError(int status, const std::string& message) {
  return HttpResponse::json(status, dumpJson(json{{"error", message}}));
}

HttpResponse errorResponse(const Error& e) { return jsonError(httpStatusFor(e), e.message()); }

std::string_view textOf(std::span<const uint8_t> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// What a DELETE names: ?name=, else the JSON body's `field`.
Result<std::string> targetName(const HttpRequest& req, const std::string& field) {
  if (std::string q = req.queryParam("name"); !q.empty()) return q;
  if (req.body.empty()) return invalidArgument(field + " is required");
  json body = json::parse(req.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) {
    return invalidArgument("expected {\"" + field + "\": NAME}");
  }
  auto it = body.find(field);
  if (it == body.end() || !it->is_string() || it->get<std::string>().empty()) {
    return invalidArgument(field + " is required");
  }
  return it->get<std::string>();
}

}  // namespace

std::string Routes::newCallId() {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%012llx-%06llx",
                static_cast<unsigned long long>(call_id_base_ & 0xffffffffffffull),
                static_cast<unsigned long long>(next_call_id_.fetch_add(1)));
  return buf;
}

HttpResponse Routes::functionRoute(const HttpRequest& req, const std::string& name,
                                   const std::string& sub_path) {
  auto entry = p_.registry.find(name);
  if (!entry) return jsonError(404, "no function " + name);
  const std::string call_id = newCallId();
  Invocation inv = p_.invoker.invoke(*entry, req.bodyBytes(), requestEnv(req, sub_path, call_id));
  HttpResponse r = invocationResponse(name, std::move(inv), p_.invoker.timeoutOf(entry->deployment));
  r.headers.emplace_back("X-Call-Id", call_id);
  return r;
}

HttpResponse Routes::asyncRoute(const HttpRequest& req, const std::string& name) {
  auto entry = p_.registry.find(name);
  if (!entry) return jsonError(404, "no function " + name);
  AsyncCall call;
  call.id = newCallId();
  call.function = name;
  call.body = req.body;
  call.env = requestEnv(req, "/", call.id);
  if (const std::string cb = req.header("X-Callback-Url"); !cb.empty()) {
    auto url = parseHttpUrl(cb);
    if (!url.ok()) return jsonError(400, "X-Callback-Url: " + url.error().message());
    call.callback = *url;
  }
  const std::string id = call.id;
  if (auto queued = p_.async.submit(std::move(call)); !queued.ok()) return errorResponse(queued.error());
  HttpResponse r = HttpResponse::text(202, "");
  r.headers.emplace_back("X-Call-Id", id);
  return r;
}

HttpResponse Routes::workflowRoute(const HttpRequest& req, const std::string& name) {
  std::shared_ptr<const Workflow> w = p_.registry.findWorkflow(name);
  if (!w) return jsonError(404, "no workflow " + name);
  const auto start = p_.clock.now();
  const auto deadline = start + p_.default_timeout;
  StepCall call = [&](const std::string& function, std::span<const uint8_t> input) {
    return p_.invoker.step(function, input, w->trust_domain, deadline).result;
  };
  WorkflowResult result = runWorkflow(*w, req.bodyBytes(), call);
  HttpResponse r;
  if (result.output.ok()) {
    r = HttpResponse::text(200, std::string(textOf(*result.output)));
    r.content_type = "application/octet-stream";
  } else {
    const Error& e = result.output.error();
    r = HttpResponse::json(httpStatusFor(e), dumpJson(json{{"error", e.message()},
                                                            {"workflow", name},
                                                            {"step", result.failed_step}}));
  }
  r.headers.emplace_back("X-Duration-Seconds", durationSeconds(p_.clock.now() - start));
  return r;
}

HttpResponse Routes::deployRoute(const HttpRequest& req, bool update) {
  json body = json::parse(req.body, nullptr, false);
  if (body.is_discarded()) return jsonError(400, "the deployment is not valid JSON");
  auto parsed = parseDeployment(body);
  if (!parsed.ok()) return errorResponse(parsed.error());
  auto entry = p_.registry.deploy(std::move(*parsed), update);
  if (!entry.ok()) return errorResponse(entry.error());
  return HttpResponse::json(202, statusJson(**entry, p_.host.loaded((*entry)->deployment.name)).dump());
}

HttpResponse Routes::functionsRoute(const HttpRequest& req) {
  if (req.method == "GET") {
    json list = json::array();
    for (const auto& e : p_.registry.list()) {
      list.push_back(statusJson(*e, p_.host.loaded(e->deployment.name)));
    }
    return HttpResponse::json(200, list.dump());
  }
  if (req.method == "POST") return deployRoute(req, false);
  if (req.method == "PUT") return deployRoute(req, true);
  if (req.method == "DELETE") {
    auto target = targetName(req, "functionName");
    if (!target.ok()) return errorResponse(target.error());
    if (auto r = p_.registry.remove(*target); !r.ok()) return errorResponse(r.error());
    return HttpResponse::json(202, json{{"removed", *target}}.dump());
  }
  return jsonError(405, "use GET, POST, PUT or DELETE");
}

HttpResponse Routes::scaleRoute(const HttpRequest& req, const std::string& name) {
  if (!p_.registry.find(name)) return jsonError(404, "no function " + name);
  json body = json::parse(req.body, nullptr, false);
  if (body.is_discarded() || !body.is_object() || !body.contains("replicas") ||
      !body["replicas"].is_number_integer() || body["replicas"].get<long long>() < 0) {
    return jsonError(400, "expected {\"replicas\": N} with N >= 0");
  }
  const long long wanted = std::min<long long>(body["replicas"].get<long long>(), 1 << 20);
  auto set = p_.registry.scale(name, static_cast<int>(wanted));
  if (!set.ok()) return errorResponse(set.error());
  auto entry = p_.registry.find(name);
  if (!entry) return jsonError(404, "no function " + name);
  return HttpResponse::json(202, statusJson(*entry, p_.host.loaded(name)).dump());
}

HttpResponse Routes::logsRoute(const HttpRequest& req) {
  const std::string name = req.queryParam("name");
  auto entry = p_.registry.find(name);
  if (!entry) return jsonError(404, name.empty() ? "name is required" : "no function " + name);
  size_t tail = SIZE_MAX;
  if (const std::string t = req.queryParam("tail"); !t.empty()) {
    tail = static_cast<size_t>(std::max(0L, std::strtol(t.c_str(), nullptr, 10)));
  }
  std::string out;
  for (const auto& line : entry->log->tail(tail)) {
    out += dumpJson(json{{"name", name},
                         {"instance", "cwasid"},
                         {"timestamp", line.timestamp},
                         {"text", line.text}});
    out += '\n';
  }
  HttpResponse r = HttpResponse::text(200, std::move(out));
  r.content_type = "application/x-ndjson";
  return r;
}

HttpResponse Routes::workflowsRoute(const HttpRequest& req) {
  if (req.method == "GET") {
    json list = json::array();
    for (const auto& w : p_.registry.workflows()) list.push_back(toJson(*w));
    return HttpResponse::json(200, list.dump());
  }
  if (req.method == "POST" || req.method == "PUT") {
    auto w = parseWorkflow(req.body);
    if (!w.ok()) return errorResponse(w.error());
    json j = toJson(*w);
    if (auto r = p_.registry.deployWorkflow(std::move(*w)); !r.ok()) return errorResponse(r.error());
    return HttpResponse::json(202, j.dump());
  }
  if (req.method == "DELETE") {
    auto target = targetName(req, "name");
    if (!target.ok()) return errorResponse(target.error());
    if (auto r = p_.registry.removeWorkflow(*target); !r.ok()) return errorResponse(r.error());
    return HttpResponse::json(202, json{{"removed", *target}}.dump());
  }
  return jsonError(405, "use GET, POST, PUT or DELETE");
}

HttpResponse Routes::systemRoute(const HttpRequest& req) {
  const std::string& p = req.path;
  auto nameAfter = [&](std::string_view prefix) -> std::string {
    if (p.rfind(prefix, 0) != 0) return "";
    return p.substr(prefix.size(), p.find('/', prefix.size()) - prefix.size());
  };
  if (p == "/system/functions") return functionsRoute(req);
  if (std::string n = nameAfter("/system/function/"); !n.empty()) {
    auto entry = p_.registry.find(n);
    if (!entry) return jsonError(404, "no function " + n);
    return HttpResponse::json(200, statusJson(*entry, p_.host.loaded(n)).dump());
  }
  if (std::string n = nameAfter("/system/scale-function/"); !n.empty()) {
    if (req.method != "POST") return jsonError(405, "use POST");
    return scaleRoute(req, n);
  }
  if (p == "/system/logs") return logsRoute(req);
  if (p == "/system/workflows") return workflowsRoute(req);
  if (p == "/system/info") {
    return HttpResponse::json(200, json{{"provider", {{"provider", "cwasid"},
                                                      {"orchestration", "cwasi"},
                                                      {"version", {{"release", kVersion}}}}},
                                        {"version", {{"release", kVersion}}},
                                        {"arch", "x86_64"}}
                                       .dump());
  }
  return jsonError(404, "no route " + p);
}

Routes::Target Routes::targetOf(const std::string& path) {
  // "/function/NAME[/rest]": the name and the rest.
  auto under = [&](std::string_view prefix, Target::Kind kind) -> std::optional<Target> {
    if (path.rfind(prefix, 0) != 0 || path.size() == prefix.size()) return std::nullopt;
    std::string tail = path.substr(prefix.size());
    const size_t slash = tail.find('/');
    if (slash == 0) return std::nullopt;
    return Target{kind, tail.substr(0, slash), slash == std::string::npos ? "" : tail.substr(slash)};
  };
  if (auto t = under("/function/", Target::kFunction)) return *t;
  if (auto t = under("/async-function/", Target::kAsync)) return *t;
  if (auto t = under("/workflow/", Target::kWorkflow)) return *t;
  if (path == "/healthz") return {Target::kHealth, "", ""};
  if (path == "/metrics") return {Target::kMetrics, "", ""};
  if (path.rfind("/system/", 0) == 0) return {Target::kSystem, "", ""};
  return {Target::kNone, "", ""};
}

std::optional<HttpResponse> Routes::screen(const HttpRequest& head) const {
  const Target t = targetOf(head.path);
  switch (t.kind) {
    case Target::kHealth:
      return HttpResponse::text(200, "OK");
    case Target::kMetrics:
      return std::nullopt;
    case Target::kSystem:
      if (!p_.auth.allows(head)) return Authorizer::challenge();
      return std::nullopt;
    case Target::kFunction:
    case Target::kAsync: {
      if (t.kind == Target::kAsync && head.method != "POST") return jsonError(405, "use POST");
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

HttpResponse Routes::handle(HttpRequest& req) {
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
      HttpResponse r = HttpResponse::text(200, p_.metrics.render(p_.host.stats()));
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
