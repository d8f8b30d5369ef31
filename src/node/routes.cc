#include "routes.h"

#include <strings.h>
#include <sys/utsname.h>

#include <algorithm>
#include <ctime>
#include <nlohmann/json.hpp>

#include "cwasi/common/base64.h"
#include "cwasi/common/build_info.h"
#include "cwasi/common/log.h"
#include "cwasi/trigger/function_http.h"
#include "cwasi/trigger/gate.h"

namespace cwasi::node {
namespace {

using json = nlohmann::json;

// What a function response says of the gateway (X-Served-By).
const std::string kServedBy = std::string("cwasid/") + kVersion;
// The largest secret value (Kubernetes' limit too).
constexpr size_t kMaxSecretBytes = 1u << 20;

// JSON text of `j`; bytes that are not UTF-8 (a function's output, its
// stderr) are replaced rather than thrown on.
std::string dumpJson(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

http::HttpResponse jsonError(int status, const std::string& message) {
  return http::HttpResponse::json(status, dumpJson(json{{"error", message}}));
}

http::HttpResponse errorResponse(const Error& e) { return jsonError(trigger::httpStatusFor(e), e.message()); }

std::string_view textOf(std::span<const uint8_t> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// What a DELETE names: ?name=, else the JSON body's `field`.
Result<std::string> targetName(const http::HttpRequest& req, const std::string& field) {
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

// OpenFaaS's X-Start-Time: when the gateway took the request, in Unix
// nanoseconds.
std::string startTime() {
  return std::to_string(std::chrono::duration_cast<std::chrono::nanoseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count());
}

// "2026-11-24T10:00:00Z", with a fraction and an offset ("+01:00") or not.
Result<std::chrono::system_clock::time_point> parseRfc3339(const std::string& s) {
  std::tm tm{};
  int consumed = 0;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &consumed) != 6 || consumed != 19) {
    return invalidArgument("'" + s + "' is not an RFC 3339 time (2006-01-02T15:04:05Z)");
  }
  size_t i = 19;
  double fraction = 0;
  if (i < s.size() && s[i] == '.') {
    const size_t start = i++;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
    fraction = std::strtod(s.substr(start, i - start).c_str(), nullptr);
  }
  long offset = 0;
  const std::string zone = s.substr(i);
  int oh = 0, om = 0;
  if (zone == "Z" || zone == "z") {
  } else if (zone.size() == 6 && (zone[0] == '+' || zone[0] == '-') && zone[3] == ':' &&
             std::sscanf(zone.c_str() + 1, "%2d:%2d", &oh, &om) == 2) {
    offset = (zone[0] == '-' ? -1 : 1) * (oh * 3600L + om * 60L);
  } else {
    return invalidArgument("'" + s + "' has no time zone (Z or +HH:MM)");
  }
  if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
      tm.tm_min > 59 || tm.tm_sec > 60) {
    return invalidArgument("'" + s + "' is not a valid time");
  }
  // The clock counts nanoseconds in 64 bits: 1678 to 2262.
  if (tm.tm_year < 1700 || tm.tm_year > 2200) return invalidArgument("'" + s + "' is out of range");
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  const std::time_t t = ::timegm(&tm) - offset;
  return std::chrono::system_clock::from_time_t(t) +
         std::chrono::duration_cast<std::chrono::system_clock::duration>(
             std::chrono::duration<double>(fraction));
}

std::string logLine(const std::string& name, const FunctionLog::Line& line) {
  return dumpJson(json{{"name", name},
                       {"namespace", kFunctionNamespace},
                       {"instance", "cwasid"},
                       {"timestamp", line.timestamp},
                       {"text", line.text}}) +
         "\n";
}

// A followed log: each poll gives the lines written since the last; it ends
// when the function is removed. Counts itself among the follows open.
class LogFollower : public http::BodySource {
 public:
  LogFollower(const FunctionRegistry& registry, std::string name, std::shared_ptr<FunctionLog> log,
              uint64_t seq, std::atomic<size_t>& open)
      : registry_(registry), name_(std::move(name)), log_(std::move(log)), seq_(seq), open_(open) {}
  ~LogFollower() override { open_.fetch_sub(1); }

  std::optional<std::string> next() override {
    auto entry = registry_.find(name_);
    if (!entry || entry->log != log_) return std::nullopt;
    std::string out;
    for (const auto& line : log_->after(seq_)) {
      out += logLine(name_, line);
      seq_ = line.seq;
    }
    return out;
  }

 private:
  const FunctionRegistry& registry_;
  const std::string name_;
  const std::shared_ptr<FunctionLog> log_;  // shared with the function's entry
  uint64_t seq_;
  std::atomic<size_t>& open_;
};

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
  WorkflowResult result = runWorkflow(*w, req.bodyBytes(), call);
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

http::HttpResponse Routes::deployRoute(const http::HttpRequest& req, bool update) {
  json body = json::parse(req.body, nullptr, false);
  if (body.is_discarded()) return jsonError(400, "the deployment is not valid JSON");
  auto parsed = parseDeployment(body);
  if (!parsed.ok()) return errorResponse(parsed.error());
  auto entry = p_.registry.deploy(std::move(*parsed), update);
  if (!entry.ok()) return errorResponse(entry.error());
  return http::HttpResponse::json(202, statusJson(**entry, p_.host.loaded((*entry)->deployment.name)).dump());
}

http::HttpResponse Routes::functionsRoute(const http::HttpRequest& req) {
  if (req.method == "GET") {
    json list = json::array();
    for (const auto& e : p_.registry.list()) {
      list.push_back(statusJson(*e, p_.host.loaded(e->deployment.name)));
    }
    return http::HttpResponse::json(200, list.dump());
  }
  if (req.method == "POST") return deployRoute(req, false);
  if (req.method == "PUT") return deployRoute(req, true);
  if (req.method == "DELETE") {
    auto target = targetName(req, "functionName");
    if (!target.ok()) return errorResponse(target.error());
    if (auto r = p_.registry.remove(*target); !r.ok()) return errorResponse(r.error());
    return http::HttpResponse::json(202, json{{"removed", *target}}.dump());
  }
  return jsonError(405, "use GET, POST, PUT or DELETE");
}

http::HttpResponse Routes::scaleRoute(const http::HttpRequest& req, const std::string& name) {
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
  return http::HttpResponse::json(202, statusJson(*entry, p_.host.loaded(name)).dump());
}

// OpenFaaS's log request: name, tail (<= 0 or none: all), since (RFC
// 3339), follow (NDJSON that goes on until the client leaves, the function
// goes or the follow timeout).
http::HttpResponse Routes::logsRoute(const http::HttpRequest& req) {
  if (req.method != "GET") return jsonError(405, "use GET");
  const std::string name = req.queryParam("name");
  auto entry = p_.registry.find(name);
  if (!entry) return jsonError(404, name.empty() ? "name is required" : "no function " + name);
  long tail = 0;
  if (const std::string t = req.queryParam("tail"); !t.empty()) {
    char* end = nullptr;
    tail = std::strtol(t.c_str(), &end, 10);
    if (*end != 0) return jsonError(400, "tail must be an integer, got '" + t + "'");
  }
  std::optional<std::chrono::system_clock::time_point> since;
  if (const std::string t = req.queryParam("since"); !t.empty()) {
    auto parsed = parseRfc3339(t);
    if (!parsed.ok()) return jsonError(400, "since: " + parsed.error().message());
    since = *parsed;
  }
  const std::string f = req.queryParam("follow");
  if (!f.empty() && f != "true" && f != "false" && f != "1" && f != "0") {
    return jsonError(400, "follow must be true or false, got '" + f + "'");
  }
  const bool follow = f == "true" || f == "1";

  const std::vector<FunctionLog::Line> all = entry->log->after(0);
  auto first = all.begin();
  if (since) {
    first = std::find_if(all.begin(), all.end(), [&](const auto& l) { return l.time >= *since; });
  }
  if (tail > 0 && all.end() - first > tail) first = all.end() - tail;
  std::string out;
  for (auto it = first; it != all.end(); ++it) out += logLine(name, *it);
  http::HttpResponse r = http::HttpResponse::text(200, std::move(out));
  r.content_type = "application/x-ndjson";
  if (follow) {
    if (follows_.fetch_add(1) >= p_.max_log_follows) {
      follows_.fetch_sub(1);
      return jsonError(429, "too many logs followed at once (" +
                                std::to_string(p_.max_log_follows) + "); retry later");
    }
    r.more = std::make_shared<LogFollower>(p_.registry, name, entry->log,
                                           all.empty() ? 0 : all.back().seq, follows_);
    r.more_for = p_.log_follow_timeout;
  }
  return r;
}

// OpenFaaS's secrets: GET lists names (never values); POST creates, PUT
// updates ({"name", "value"} or base64 "rawValue"), DELETE removes ({"name"}).
http::HttpResponse Routes::secretsRoute(const http::HttpRequest& req) {
  if (req.method == "GET") {
    json list = json::array();
    for (const auto& name : p_.registry.secrets()) {
      list.push_back({{"name", name}, {"namespace", kFunctionNamespace}});
    }
    return http::HttpResponse::json(200, list.dump());
  }
  if (req.method == "DELETE") {
    auto target = targetName(req, "name");
    if (!target.ok()) return errorResponse(target.error());
    if (auto r = p_.registry.removeSecret(*target); !r.ok()) return errorResponse(r.error());
    return http::HttpResponse::json(200, json{{"removed", *target}}.dump());
  }
  if (req.method != "POST" && req.method != "PUT") return jsonError(405, "use GET, POST, PUT or DELETE");
  json body = json::parse(req.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) {
    return jsonError(400, "expected {\"name\": NAME, \"value\": TEXT} or a base64 \"rawValue\"");
  }
  for (const auto& [k, v] : body.items()) {
    if (k != "name" && k != "value" && k != "rawValue" && k != "namespace") {
      return jsonError(400, k + ": cwasid does not support this field");
    }
    if (!v.is_string() && !v.is_null()) return jsonError(400, k + " must be a string");
  }
  const std::string name = body.value("name", "");
  if (name.empty()) return jsonError(400, "name is required");
  if (auto ns = checkNamespace(body.value("namespace", "")); !ns.ok()) return errorResponse(ns.error());
  // faas-cli sends a file's bytes as both; the raw bytes are the secret.
  const bool has_raw = body.contains("rawValue") && body["rawValue"].is_string();
  if (!has_raw && !(body.contains("value") && body["value"].is_string())) {
    return jsonError(400, "give the secret's value, or its bytes in base64 as rawValue");
  }
  std::vector<uint8_t> value;
  if (has_raw) {
    auto decoded = base64Decode(body["rawValue"].get<std::string>());
    if (!decoded.ok()) return jsonError(400, "rawValue: " + decoded.error().message());
    value = std::move(*decoded);
  } else {
    const std::string& v = body["value"].get_ref<const std::string&>();
    value.assign(v.begin(), v.end());
  }
  if (value.size() > kMaxSecretBytes) {
    return jsonError(400, "a secret holds at most " + std::to_string(kMaxSecretBytes) + " bytes");
  }
  const bool update = req.method == "PUT";
  if (auto r = p_.registry.putSecret(name, value, update); !r.ok()) return errorResponse(r.error());
  return http::HttpResponse::json(update ? 200 : 201, json{{"name", name}, {"namespace", kFunctionNamespace}}.dump());
}

http::HttpResponse Routes::infoRoute() const {
  utsname u{};
  const std::string arch = ::uname(&u) == 0 ? u.machine : "unknown";
  const json version = {{"release", kVersion}, {"sha", buildSha()}};
  return http::HttpResponse::json(200, json{{"provider", {{"provider", "cwasid"},
                                                    {"orchestration", "cwasi"},
                                                    {"version", version}}},
                                      {"version", version},
                                      {"arch", arch}}
                                     .dump());
}

http::HttpResponse Routes::workflowsRoute(const http::HttpRequest& req) {
  if (req.method == "GET") {
    json list = json::array();
    for (const auto& w : p_.registry.workflows()) list.push_back(toJson(*w));
    return http::HttpResponse::json(200, list.dump());
  }
  if (req.method == "POST" || req.method == "PUT") {
    auto w = parseWorkflow(req.body);
    if (!w.ok()) return errorResponse(w.error());
    json j = toJson(*w);
    if (auto r = p_.registry.deployWorkflow(std::move(*w)); !r.ok()) return errorResponse(r.error());
    return http::HttpResponse::json(202, j.dump());
  }
  if (req.method == "DELETE") {
    auto target = targetName(req, "name");
    if (!target.ok()) return errorResponse(target.error());
    if (auto r = p_.registry.removeWorkflow(*target); !r.ok()) return errorResponse(r.error());
    return http::HttpResponse::json(202, json{{"removed", *target}}.dump());
  }
  return jsonError(405, "use GET, POST, PUT or DELETE");
}

http::HttpResponse Routes::systemRoute(const http::HttpRequest& req) {
  const std::string& p = req.path;
  auto nameAfter = [&](std::string_view prefix) -> std::string {
    if (p.rfind(prefix, 0) != 0) return "";
    return p.substr(prefix.size(), p.find('/', prefix.size()) - prefix.size());
  };
  if (auto ns = checkNamespace(req.queryParam("namespace")); !ns.ok()) return errorResponse(ns.error());
  if (p == "/system/namespaces") {
    if (req.method != "GET") return jsonError(405, "use GET");
    return http::HttpResponse::json(200, json::array({kFunctionNamespace}).dump());
  }
  if (p == "/system/secrets") return secretsRoute(req);
  if (p == "/system/functions") return functionsRoute(req);
  if (std::string n = nameAfter("/system/function/"); !n.empty()) {
    auto entry = p_.registry.find(n);
    if (!entry) return jsonError(404, "no function " + n);
    return http::HttpResponse::json(200, statusJson(*entry, p_.host.loaded(n)).dump());
  }
  if (std::string n = nameAfter("/system/scale-function/"); !n.empty()) {
    if (req.method != "POST") return jsonError(405, "use POST");
    return scaleRoute(req, n);
  }
  if (p == "/system/logs") return logsRoute(req);
  if (p == "/system/workflows") return workflowsRoute(req);
  if (p == "/system/info") return infoRoute();
  return jsonError(404, "no route " + p);
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
