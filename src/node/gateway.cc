#include "cwasi/node/gateway.h"

#include <algorithm>
#include <atomic>
#include <deque>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "cwasi/common/files.h"
#include "cwasi/common/log.h"
#include "cwasi/common/mutex.h"
#include "cwasi/node/deployment.h"
#include "cwasi/node/http.h"
#include "cwasi/node/metrics.h"
#include "cwasi/node/scaler.h"
#include "cwasi/node/state.h"
#include "cwasi/node/workflow.h"
#include "cwasi/oci/image.h"
#include "cwasi/runtime/abi.h"

namespace cwasi::node {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
namespace abi = runtime::abi;

constexpr size_t kLogLinesKept = 1000;
constexpr char kVersion[] = "0.1.0";

// JSON text of `j`; bytes that are not UTF-8 (a function's output, its
// stderr) are replaced rather than thrown on.
std::string dumpJson(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

HttpResponse jsonError(int status, const std::string& message) {
  return HttpResponse::json(status, dumpJson(json{{"error", message}}));
}

// The HTTP status for an Error at the API boundary (the one place codes map).
int httpStatusFor(const Error& e) {
  switch (e.code()) {
    case Code::kInvalidArgument: return 400;
    case Code::kNotFound: return 404;
    case Code::kAlreadyExists: return 409;
    case Code::kFailedPrecondition: return 409;
    case Code::kResourceExhausted: return 429;
    case Code::kDeadlineExceeded: return 504;
    case Code::kUnavailable: return 503;
    case Code::kUnauthenticated: return 401;
    case Code::kPermissionDenied: return 403;
    case Code::kUnimplemented: return 501;
    default: return 500;
  }
}

// The HTTP status for a guest ABI status from a call.
int httpStatusFor(int32_t status) {
  switch (status) {
    case abi::kOk: return 200;
    case abi::kErrUnknownTarget: return 404;
    case abi::kErrUnavailable: return 503;
    case abi::kErrTimeout: return 504;
    case abi::kErrUnsupported: return 501;
    default: return 500;  // failed, trapped, out of memory
  }
}

std::string_view textOf(std::span<const uint8_t> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

std::string base64Decode(std::string_view in) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    const int v = value(c);
    if (v < 0) break;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return out;
}

bool constantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

// "content-type" -> "Content_Type", as OpenFaaS's watchdog names header vars.
std::string envNameForHeader(std::string_view header) {
  std::string out = "Http_";
  bool upper = true;
  for (char c : header) {
    if (c == '-') {
      out += '_';
      upper = true;
    } else if (std::isalnum(static_cast<unsigned char>(c))) {
      out += static_cast<char>(upper ? std::toupper(static_cast<unsigned char>(c))
                                     : std::tolower(static_cast<unsigned char>(c)));
      upper = false;
    }
  }
  return out;
}

std::string rfc3339Now() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()) % 1000;
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(ms.count()));
  return out;
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

ScalePolicy policyFor(const Deployment& d, std::chrono::milliseconds window) {
  ScalePolicy p;
  p.min_replicas = d.min_scale;
  p.max_replicas = d.max_scale;
  p.target = d.target_concurrency;
  p.max_inflight = d.inflightCap();
  p.scale_to_zero_after = d.scale_to_zero_after;
  p.stable_window = window;
  return p;
}

struct LogLine {
  std::string timestamp;
  std::string text;
};

// What a function accumulates across updates of its deployment.
struct FunctionStats {
  std::atomic<uint64_t> invocations{0};
  std::atomic<uint64_t> cold_starts{0};
  Mutex logs_mu;
  std::deque<LogLine> logs GUARDED_BY(logs_mu);

  void appendLog(const std::string& text) EXCLUDES(logs_mu) {
    if (text.empty()) return;
    const std::string ts = rfc3339Now();
    MutexLock lock(logs_mu);
    size_t pos = 0;
    while (pos < text.size()) {
      size_t end = text.find('\n', pos);
      if (end == std::string::npos) end = text.size();
      if (end > pos) logs.push_back({ts, text.substr(pos, end - pos)});
      pos = end + 1;
    }
    while (logs.size() > kLogLinesKept) logs.pop_front();
  }
};

// A deployed function as the gateway sees it; immutable once published.
// Shared with requests in flight (shared_ptr), so that an update or removal
// does not pull it from under them. An update publishes a new entry with the
// same scaler and stats (shared: requests admitted under the old entry
// release into the scaler the new one uses).
struct FunctionEntry {
  Deployment deployment;
  std::shared_ptr<Scaler> scaler;
  std::shared_ptr<FunctionStats> stats;
};

struct AsyncCall {
  std::string id;
  std::string function;
  std::string body;
  std::vector<std::pair<std::string, std::string>> env;
  std::optional<HttpUrl> callback;
};

}  // namespace

struct Gateway::Impl {
  GatewayConfig config;
  std::string token;
  std::unique_ptr<StateDir> state;
  std::unique_ptr<comm::FunctionHost> host;
  Metrics metrics;
  std::atomic<uint64_t> next_call_id{1};
  const uint64_t call_id_base = static_cast<uint64_t>(Clock::now().time_since_epoch().count());

  Mutex deploy_mu;  // serialises changes: host, state dir, tables
  Mutex mu;
  std::map<std::string, std::shared_ptr<FunctionEntry>, std::less<>> functions GUARDED_BY(mu);
  std::map<std::string, std::shared_ptr<const Workflow>, std::less<>> workflows GUARDED_BY(mu);

  Mutex async_mu;
  CondVar async_cv;   // work queued, or stopping
  CondVar scaler_cv;  // stopping
  std::deque<AsyncCall> async_queue GUARDED_BY(async_mu);
  bool stopping GUARDED_BY(async_mu) = false;
  std::vector<std::thread> async_workers;
  std::thread scaler_thread;

  std::unique_ptr<HttpServer> http;

  ~Impl() {
    http.reset();  // no new requests
    {
      MutexLock lock(async_mu);
      stopping = true;
      async_cv.notifyAll();
      scaler_cv.notifyAll();
    }
    for (auto& t : async_workers) t.join();
    if (scaler_thread.joinable()) scaler_thread.join();
  }

  std::shared_ptr<FunctionEntry> find(std::string_view name) EXCLUDES(mu) {
    MutexLock lock(mu);
    auto it = functions.find(name);
    return it == functions.end() ? nullptr : it->second;
  }

  std::string newCallId() {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%012llx-%06llx",
                  static_cast<unsigned long long>(call_id_base & 0xffffffffffffull),
                  static_cast<unsigned long long>(next_call_id.fetch_add(1)));
    return buf;
  }

  // ---- authentication ----------------------------------------------------

  bool authorized(const HttpRequest& req) const {
    const std::string auth = req.header("Authorization");
    if (auth.rfind("Bearer ", 0) == 0) return constantTimeEquals(auth.substr(7), token);
    if (auth.rfind("Basic ", 0) == 0) {
      const std::string creds = base64Decode(auth.substr(6));
      const size_t colon = creds.find(':');
      return colon != std::string::npos && constantTimeEquals(creds.substr(colon + 1), token);
    }
    return false;
  }

  static HttpResponse unauthorized() {
    HttpResponse r = jsonError(401, "missing or wrong token (Authorization: Bearer <token>)");
    r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"cwasid\"");
    return r;
  }

  // ---- deployments -------------------------------------------------------

  // Puts a deployment in place: host, tables, state dir. `d.module` is set.
  Result<std::shared_ptr<FunctionEntry>> install(Deployment d, bool persist) REQUIRES(deploy_mu) {
    comm::FunctionSpec spec(d.name, d.module);
    spec.trust_domain = d.trust_domain;
    spec.limits.memory_bytes = d.memory_bytes;
    spec.env.assign(d.env.begin(), d.env.end());
    TRY(host->deploy(std::move(spec)));
    if (persist) TRY(state->saveFunction(d));
    const auto now = Clock::now();
    std::shared_ptr<FunctionEntry> previous = find(d.name);
    auto entry = std::make_shared<FunctionEntry>();
    if (previous) {
      previous->scaler->setPolicy(policyFor(d, config.stable_window), now);
      entry->scaler = previous->scaler;
      entry->stats = previous->stats;
    } else {
      entry->scaler = std::make_shared<Scaler>(policyFor(d, config.stable_window), now);
      entry->stats = std::make_shared<FunctionStats>();
    }
    entry->deployment = std::move(d);
    {
      MutexLock lock(mu);
      functions[entry->deployment.name] = entry;
    }
    metrics.setReplicas(entry->deployment.name, entry->scaler->replicas());
    return entry;
  }

  // The module bytes a deployment's image names: a module file, or an OCI
  // image tarball holding one.
  Result<std::vector<uint8_t>> moduleFromImage(const std::string& image) {
    std::filesystem::path path(image);
    if (path.is_relative()) {
      return invalidArgument("image must be an absolute path on the daemon's host: " + image);
    }
    auto bytes = readFile(path);
    if (!bytes.ok()) return invalidArgument("image " + image + ": " + bytes.error().message());
    if (oci::looksLikeArchive(*bytes)) {
      auto img = oci::readImageArchive(std::span<const uint8_t>(*bytes));
      if (!img.ok()) return invalidArgument(image + ": " + img.error().message());
      return std::move(img->module);
    }
    return bytes;
  }

  void collectModules() REQUIRES(deploy_mu) {
    std::set<std::string> in_use;
    MutexLock lock(mu);
    for (const auto& [name, e] : functions) in_use.insert(e->deployment.module);
    state->collectModules(in_use);
  }

  json statusJson(const FunctionEntry& e) {
    const Deployment& d = e.deployment;
    json j = toJson(d);
    j.erase("service");
    j["name"] = d.name;
    j["invocationCount"] = e.stats->invocations.load();
    j["coldStarts"] = e.stats->cold_starts.load();
    j["replicas"] = e.scaler->replicas();
    j["availableReplicas"] = host->loaded(d.name) ? e.scaler->replicas() : 0;
    j["inflight"] = e.scaler->inflight();
    j["envProcess"] = "";
    return j;
  }

  HttpResponse deployRoute(const HttpRequest& req, bool update) EXCLUDES(deploy_mu) {
    json body = json::parse(req.body, nullptr, false);
    if (body.is_discarded()) return jsonError(400, "the deployment is not valid JSON");
    auto parsed = parseDeployment(body);
    if (!parsed.ok()) return jsonError(400, parsed.error().message());
    Deployment d = std::move(*parsed);
    if (d.image.empty()) return jsonError(400, "image is required");
    MutexLock lock(deploy_mu);
    const bool exists = find(d.name) != nullptr;
    if (update && !exists) return jsonError(404, "no function " + d.name + " to update");
    if (!update && exists) {
      return jsonError(409, "function " + d.name + " exists (use PUT to update it)");
    }
    auto bytes = moduleFromImage(d.image);
    if (!bytes.ok()) return jsonError(400, bytes.error().message());
    auto stored = state->storeModule(*bytes);
    if (!stored.ok()) return jsonError(500, stored.error().message());
    d.module = stored->path.string();
    d.digest = stored->digest;
    auto entry = install(std::move(d), true);
    collectModules();
    if (!entry.ok()) {
      const int status = httpStatusFor(entry.error()) == 500 ? 400 : httpStatusFor(entry.error());
      return jsonError(status, entry.error().message());
    }
    CWASI_LOG(kInfo, (update ? "updated " : "deployed ") << (*entry)->deployment.name << " ("
                                                          << (*entry)->deployment.digest.substr(0, 12)
                                                          << ")");
    return HttpResponse::json(202, statusJson(**entry).dump());
  }

  HttpResponse deleteRoute(const HttpRequest& req) EXCLUDES(deploy_mu) {
    auto target = targetName(req, "functionName");
    if (!target.ok()) return jsonError(400, target.error().message());
    const std::string& name = *target;
    MutexLock lock(deploy_mu);
    {
      MutexLock l(mu);
      if (functions.erase(name) == 0) return jsonError(404, "no function " + name);
    }
    host->remove(name);
    state->removeFunction(name);
    collectModules();
    metrics.setReplicas(name, 0);
    CWASI_LOG(kInfo, "removed " << name);
    return HttpResponse::json(202, json{{"removed", name}}.dump());
  }

  HttpResponse scaleRoute(const HttpRequest& req, const std::string& name) {
    auto entry = find(name);
    if (!entry) return jsonError(404, "no function " + name);
    json body = json::parse(req.body, nullptr, false);
    if (body.is_discarded() || !body.is_object() || !body.contains("replicas") ||
        !body["replicas"].is_number_integer() || body["replicas"].get<long long>() < 0) {
      return jsonError(400, "expected {\"replicas\": N} with N >= 0");
    }
    const long long wanted = body["replicas"].get<long long>();
    const int set = entry->scaler->scaleTo(static_cast<int>(std::min<long long>(wanted, 1 << 20)),
                                           Clock::now());
    if (set == 0) {
      host->unload(name);
    } else if (auto r = host->load(name); !r.ok()) {
      return jsonError(503, r.error().message());
    }
    metrics.setReplicas(name, set);
    return HttpResponse::json(202, statusJson(*entry).dump());
  }

  HttpResponse logsRoute(const HttpRequest& req) {
    const std::string name = req.queryParam("name");
    auto entry = find(name);
    if (!entry) return jsonError(404, name.empty() ? "name is required" : "no function " + name);
    size_t tail = kLogLinesKept;
    if (const std::string t = req.queryParam("tail"); !t.empty()) {
      tail = static_cast<size_t>(std::max(0L, std::strtol(t.c_str(), nullptr, 10)));
    }
    std::string out;
    FunctionStats& stats = *entry->stats;
    MutexLock lock(stats.logs_mu);
    const size_t skip = stats.logs.size() > tail ? stats.logs.size() - tail : 0;
    for (size_t i = skip; i < stats.logs.size(); ++i) {
      out += dumpJson(json{{"name", name},
                           {"instance", "cwasid"},
                           {"timestamp", stats.logs[i].timestamp},
                           {"text", stats.logs[i].text}});
      out += '\n';
    }
    HttpResponse r = HttpResponse::text(200, std::move(out));
    r.content_type = "application/x-ndjson";
    return r;
  }

  // ---- workflows ---------------------------------------------------------

  HttpResponse deployWorkflowRoute(const HttpRequest& req) EXCLUDES(deploy_mu) {
    auto w = parseWorkflow(req.body);
    if (!w.ok()) return jsonError(400, w.error().message());
    MutexLock lock(deploy_mu);
    if (auto r = state->saveWorkflow(*w); !r.ok()) return jsonError(500, r.error().message());
    json j = toJson(*w);
    const std::string name = w->name;
    {
      MutexLock l(mu);
      workflows[name] = std::make_shared<const Workflow>(std::move(*w));
    }
    return HttpResponse::json(202, j.dump());
  }

  HttpResponse deleteWorkflowRoute(const HttpRequest& req) EXCLUDES(deploy_mu) {
    auto target = targetName(req, "name");
    if (!target.ok()) return jsonError(400, target.error().message());
    const std::string& name = *target;
    MutexLock lock(deploy_mu);
    {
      MutexLock l(mu);
      if (workflows.erase(name) == 0) return jsonError(404, "no workflow " + name);
    }
    state->removeWorkflow(name);
    return HttpResponse::json(202, json{{"removed", name}}.dump());
  }

  HttpResponse listWorkflows() EXCLUDES(mu) {
    json list = json::array();
    MutexLock lock(mu);
    for (const auto& [name, w] : workflows) list.push_back(toJson(*w));
    return HttpResponse::json(200, list.dump());
  }

  // A workflow is invocable without the token only when all its functions are.
  bool workflowPublic(const Workflow& w) {
    for (const auto& s : w.steps) {
      auto e = find(s.function);
      if (e && !e->deployment.is_public) return false;
    }
    return true;
  }

  HttpResponse workflowRoute(const HttpRequest& req, const std::string& name) EXCLUDES(mu) {
    std::shared_ptr<const Workflow> w;
    {
      MutexLock lock(mu);
      auto it = workflows.find(name);
      if (it != workflows.end()) w = it->second;
    }
    if (!w) return jsonError(404, "no workflow " + name);
    if (!workflowPublic(*w) && !authorized(req)) return unauthorized();
    const auto start = Clock::now();
    const auto deadline = start + config.default_timeout;
    StepCall call = [&](const std::string& function, std::span<const uint8_t> input) {
      return runStep(function, input, w->trust_domain, deadline);
    };
    WorkflowResult result = runWorkflow(*w, req.bodyBytes(), call);
    HttpResponse r;
    if (result.http_status == 200) {
      r = HttpResponse::text(200, std::string(textOf(result.body)));
      r.content_type = "application/octet-stream";
    } else {
      r = HttpResponse::json(result.http_status, dumpJson(json{{"error", std::string(textOf(result.body))},
                                                               {"workflow", name},
                                                               {"step", result.failed_step}}));
    }
    r.headers.emplace_back("X-Duration-Seconds",
                           std::to_string(std::chrono::duration<double>(Clock::now() - start).count()));
    return r;
  }

  // One workflow step: a call through the three-mode layer, exactly as a
  // guest's cwasi.call would make it. A step function deployed here goes
  // through its scaler too (admission, replicas, cold starts).
  StepOutput runStep(const std::string& function, std::span<const uint8_t> input,
                     const std::string& domain, Clock::time_point deadline) {
    StepOutput out;
    auto entry = find(function);
    const auto start = Clock::now();
    bool cold = false;
    if (entry) {
      auto admitted = entry->scaler->admit(start, deadline);
      if (!admitted.ok()) {
        out.http_status = httpStatusFor(admitted.error());
        const std::string msg = admitted.error().message();
        out.body.assign(msg.begin(), msg.end());
        return out;
      }
      cold = admitted->cold;
    }
    comm::CallOptions options;
    options.deadline = deadline;
    auto r = host->call(function, input, domain, options);
    if (entry) {
      entry->scaler->release(Clock::now());
      entry->stats->invocations.fetch_add(1, std::memory_order_relaxed);
      if (cold) {
        entry->stats->cold_starts.fetch_add(1, std::memory_order_relaxed);
        metrics.coldStart(function);
      }
    }
    if (!r.ok()) {
      out.http_status = httpStatusFor(r.error());
      const std::string msg = r.error().message();
      out.body.assign(msg.begin(), msg.end());
    } else {
      out.http_status = httpStatusFor(r->status);
      out.body = std::move(r->body);
    }
    metrics.invocation(function, out.http_status,
                       std::chrono::duration<double>(Clock::now() - start).count());
    return out;
  }

  // ---- invocation --------------------------------------------------------

  // Runs a function for a request (sync or async); the response it makes.
  HttpResponse invoke(FunctionEntry& entry, std::span<const uint8_t> body,
                      std::vector<std::pair<std::string, std::string>> env,
                      const std::string& call_id) {
    const Deployment& d = entry.deployment;
    const auto start = Clock::now();
    const auto timeout = d.timeout.count() > 0 ? d.timeout : config.default_timeout;
    const auto deadline = start + timeout;
    HttpResponse response;
    bool cold = false;
    auto admitted = entry.scaler->admit(start, deadline);
    if (!admitted.ok()) {
      response = jsonError(httpStatusFor(admitted.error()), d.name + ": " + admitted.error().message());
    } else {
      metrics.setInflight(d.name, entry.scaler->inflight());
      comm::CallOptions options;
      options.deadline = deadline;
      options.env = std::move(env);
      auto r = host->invoke(d.name, body, options);
      entry.scaler->release(Clock::now());
      if (!r.ok()) {
        response = jsonError(500, d.name + ": " + r.error().message());
      } else {
        cold = r->cold_start || admitted->cold;
        entry.stats->appendLog(r->log);
        const int status = httpStatusFor(r->status);
        if (status == 200) {
          response.status = 200;
          response.content_type = "application/octet-stream";
          response.body.assign(textOf(r->body));
        } else {
          std::string message(textOf(r->body));
          if (status == 504) message = d.name + ": timed out after " + std::to_string(timeout.count()) + " ms";
          response = HttpResponse::json(status, dumpJson(json{{"error", message}, {"function", d.name}}));
        }
      }
    }
    entry.stats->invocations.fetch_add(1, std::memory_order_relaxed);
    if (cold) {
      entry.stats->cold_starts.fetch_add(1, std::memory_order_relaxed);
      metrics.coldStart(d.name);
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    metrics.invocation(d.name, response.status, seconds);
    metrics.setInflight(d.name, entry.scaler->inflight());
    metrics.setReplicas(d.name, entry.scaler->replicas());
    response.headers.emplace_back("X-Call-Id", call_id);
    response.headers.emplace_back("X-Duration-Seconds", std::to_string(seconds));
    response.headers.emplace_back("X-Cold-Start", cold ? "true" : "false");
    return response;
  }

  // What a function sees of the request, the way OpenFaaS's watchdog shows it.
  static std::vector<std::pair<std::string, std::string>> requestEnv(const HttpRequest& req,
                                                                     const std::string& sub_path,
                                                                     const std::string& call_id) {
    std::vector<std::pair<std::string, std::string>> env;
    env.emplace_back("Http_Method", req.method);
    env.emplace_back("Http_Path", sub_path.empty() ? "/" : sub_path);
    env.emplace_back("Http_Query", req.query);
    env.emplace_back("Http_X_Call_Id", call_id);
    for (const auto& [k, v] : req.headers) {
      // The token never reaches a function.
      if (k.size() == 13 && ::strncasecmp(k.c_str(), "Authorization", 13) == 0) continue;
      if (k.size() == 9 && ::strncasecmp(k.c_str(), "X-Call-Id", 9) == 0) continue;
      env.emplace_back(envNameForHeader(k), v);
    }
    return env;
  }

  HttpResponse functionRoute(const HttpRequest& req, const std::string& name,
                             const std::string& sub_path) {
    auto entry = find(name);
    if (!entry) return jsonError(404, "no function " + name);
    if (!entry->deployment.is_public && !authorized(req)) return unauthorized();
    const std::string call_id = newCallId();
    return invoke(*entry, req.bodyBytes(), requestEnv(req, sub_path, call_id), call_id);
  }

  HttpResponse asyncRoute(const HttpRequest& req, const std::string& name) EXCLUDES(async_mu) {
    auto entry = find(name);
    if (!entry) return jsonError(404, "no function " + name);
    if (!entry->deployment.is_public && !authorized(req)) return unauthorized();
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
    HttpResponse r = HttpResponse::text(202, "");
    r.headers.emplace_back("X-Call-Id", call.id);
    {
      MutexLock lock(async_mu);
      if (async_queue.size() >= config.async_queue) {
        return jsonError(429, "async queue full (" + std::to_string(config.async_queue) + " calls)");
      }
      async_queue.push_back(std::move(call));
      async_cv.notifyOne();
    }
    return r;
  }

  void asyncWorker() EXCLUDES(async_mu) {
    for (;;) {
      AsyncCall call;
      {
        MutexLock lock(async_mu);
        while (!stopping && async_queue.empty()) async_cv.wait(async_mu);
        if (stopping) return;
        call = std::move(async_queue.front());
        async_queue.pop_front();
      }
      auto entry = find(call.function);
      HttpResponse r = entry ? invoke(*entry, {reinterpret_cast<const uint8_t*>(call.body.data()),
                                               call.body.size()},
                                      std::move(call.env), call.id)
                             : jsonError(404, "no function " + call.function);
      if (!call.callback) continue;
      Headers headers = {{"X-Call-Id", call.id},
                         {"X-Function-Name", call.function},
                         {"X-Function-Status", std::to_string(r.status)},
                         {"Content-Type", r.content_type}};
      if (std::string d = r.header("X-Duration-Seconds"); !d.empty()) {
        headers.emplace_back("X-Duration-Seconds", d);
      }
      auto sent = httpFetch(*call.callback, "POST", headers, r.body, std::chrono::seconds(10));
      if (!sent.ok()) {
        CWASI_LOG(kWarn, "callback for " << call.id << " failed: " << sent.error().message());
      }
    }
  }

  // ---- autoscaler --------------------------------------------------------

  void scalerLoop() EXCLUDES(async_mu) {
    for (;;) {
      {
        MutexLock lock(async_mu);
        scaler_cv.waitUntil(async_mu, Clock::now() + config.scale_interval);
        if (stopping) return;
      }
      std::vector<std::shared_ptr<FunctionEntry>> entries;
      {
        MutexLock lock(mu);
        for (const auto& [name, e] : functions) entries.push_back(e);
      }
      const auto now = Clock::now();
      for (const auto& e : entries) {
        if (e->scaler->tick(now)) {
          host->unload(e->deployment.name);
          CWASI_LOG(kInfo, "scaled " << e->deployment.name << " to zero");
        }
        metrics.setReplicas(e->deployment.name, e->scaler->replicas());
        metrics.setInflight(e->deployment.name, e->scaler->inflight());
      }
    }
  }

  // ---- routing -----------------------------------------------------------

  HttpResponse handle(HttpRequest& req) {
    const std::string& p = req.path;
    auto under = [&](std::string_view prefix, std::string* name, std::string* rest) {
      if (p.rfind(prefix, 0) != 0) return false;
      std::string tail = p.substr(prefix.size());
      const size_t slash = tail.find('/');
      *name = tail.substr(0, slash);
      if (rest) *rest = slash == std::string::npos ? "" : tail.substr(slash);
      return !name->empty();
    };
    std::string name, rest;
    if (under("/function/", &name, &rest)) return functionRoute(req, name, rest);
    if (under("/async-function/", &name, nullptr)) {
      if (req.method != "POST") return jsonError(405, "use POST");
      return asyncRoute(req, name);
    }
    if (under("/workflow/", &name, nullptr)) {
      if (req.method != "POST") return jsonError(405, "use POST");
      return workflowRoute(req, name);
    }
    if (p == "/healthz") return HttpResponse::text(200, "OK");
    if (p == "/metrics") {
      HttpResponse r = HttpResponse::text(200, metrics.render(host->stats()));
      r.content_type = "text/plain; version=0.0.4";
      return r;
    }
    if (p.rfind("/system/", 0) != 0) return jsonError(404, "no route " + p);
    if (!authorized(req)) return unauthorized();
    if (p == "/system/functions") {
      if (req.method == "GET") {
        std::vector<std::shared_ptr<FunctionEntry>> entries;
        {
          MutexLock lock(mu);
          for (const auto& [n, e] : functions) entries.push_back(e);
        }
        json list = json::array();
        for (const auto& e : entries) list.push_back(statusJson(*e));
        return HttpResponse::json(200, list.dump());
      }
      if (req.method == "POST") return deployRoute(req, false);
      if (req.method == "PUT") return deployRoute(req, true);
      if (req.method == "DELETE") return deleteRoute(req);
      return jsonError(405, "use GET, POST, PUT or DELETE");
    }
    if (under("/system/function/", &name, nullptr)) {
      auto entry = find(name);
      if (!entry) return jsonError(404, "no function " + name);
      return HttpResponse::json(200, statusJson(*entry).dump());
    }
    if (under("/system/scale-function/", &name, nullptr)) {
      if (req.method != "POST") return jsonError(405, "use POST");
      return scaleRoute(req, name);
    }
    if (p == "/system/logs") return logsRoute(req);
    if (p == "/system/workflows") {
      if (req.method == "GET") return listWorkflows();
      if (req.method == "POST" || req.method == "PUT") return deployWorkflowRoute(req);
      if (req.method == "DELETE") return deleteWorkflowRoute(req);
      return jsonError(405, "use GET, POST, PUT or DELETE");
    }
    if (p == "/system/info") {
      return HttpResponse::json(
          200, json{{"provider", {{"provider", "cwasid"}, {"orchestration", "cwasi"}, {"version", {{"release", kVersion}}}}},
                    {"version", {{"release", kVersion}}},
                    {"arch", "x86_64"}}
                   .dump());
    }
    return jsonError(404, "no route " + p);
  }
};

Result<std::unique_ptr<Gateway>> Gateway::start(GatewayConfig config) {
  if (config.state_dir.empty()) return invalidArgument("a state dir is required");
  auto impl = std::make_unique<Impl>();
  impl->config = std::move(config);
  Impl& g = *impl;
  TRY_ASSIGN(g.state, StateDir::open(g.config.state_dir));
  TRY_ASSIGN(g.token, g.state->token(g.config.token));
  comm::HostConfig host_config = g.config.host;
  host_config.functions.clear();
  TRY_ASSIGN(g.host, comm::FunctionHost::start(std::move(host_config)));

  std::vector<std::string> errors;
  {
    MutexLock lock(g.deploy_mu);
    for (Deployment& d : g.state->loadFunctions(&errors)) {
      const std::string name = d.name;
      if (auto r = g.install(std::move(d), false); !r.ok()) {
        errors.push_back("function " + name + ": " + r.error().message());
      }
    }
    for (Workflow& w : g.state->loadWorkflows(&errors)) {
      const std::string name = w.name;
      MutexLock l(g.mu);
      g.workflows[name] = std::make_shared<const Workflow>(std::move(w));
    }
  }
  for (const auto& e : errors) CWASI_LOG(kWarn, "state: skipped " << e);

  for (int i = 0; i < std::max(1, g.config.async_workers); ++i) {
    g.async_workers.emplace_back([&g] { g.asyncWorker(); });
  }
  g.scaler_thread = std::thread([&g] { g.scalerLoop(); });
  HttpServerConfig http;
  http.listen = g.config.listen;
  http.max_body_bytes = g.config.max_body_bytes;
  TRY_ASSIGN(g.http, HttpServer::start(http, [&g](HttpRequest& req) { return g.handle(req); }));
  return std::unique_ptr<Gateway>(new Gateway(std::move(impl)));
}

Gateway::Gateway(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Gateway::~Gateway() = default;
const std::string& Gateway::address() const { return impl_->http->address(); }
const std::string& Gateway::token() const { return impl_->token; }
comm::FunctionHost& Gateway::host() { return *impl_->host; }

}  // namespace cwasi::node
