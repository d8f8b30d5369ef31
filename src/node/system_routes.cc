// The OpenFaaS system API of cwasid: deployments, scaling, logs, secrets,
// workflows, info.
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

  // At most about kMaxPiece bytes a poll (a longer line is cut): the rest
  // comes in the next polls, while the log keeps it — a follower that falls
  // behind the log's last lines loses the oldest.
  std::optional<std::string> next() override {
    auto entry = registry_.find(name_);
    if (!entry || entry->log != log_) return std::nullopt;
    std::string out;
    std::vector<FunctionLog::Line> lines = log_->after(seq_);  // a copy already: cut in place
    for (auto& line : lines) {
      if (!out.empty() && out.size() + line.text.size() > kMaxPiece) break;
      if (line.text.size() > kMaxPiece) line.text.resize(kMaxPiece);
      out += logLine(name_, line);
      seq_ = line.seq;
    }
    return out;
  }
  static constexpr size_t kMaxPiece = 64u << 10;

 private:
  const FunctionRegistry& registry_;
  const std::string name_;
  const std::shared_ptr<FunctionLog> log_;  // shared with the function's entry
  uint64_t seq_;
  std::atomic<size_t>& open_;
};

}  // namespace

http::HttpResponse Routes::deployRoute(const http::HttpRequest& req, bool update) {
  json body = json::parse(req.body, nullptr, false);
  if (body.is_discarded()) return jsonError(400, "the deployment is not valid JSON");
  auto parsed = parseDeployment(body);
  if (!parsed.ok()) return errorResponse(parsed.error());
  auto entry = p_.registry.deploy(std::move(*parsed), update);
  if (!entry.ok()) {
    // Nothing here limits a rate: an image larger than a deployment may
    // pull is too large, not "try again later" (a full disk stays 507).
    const Error& e = entry.error();
    if (e.code() == Code::kResourceExhausted && e.osError() == 0) return jsonError(413, e.message());
    return errorResponse(e);
  }
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

}  // namespace cwasi::node
