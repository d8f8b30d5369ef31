#include "cwasi/shim/task_table.h"

#include <unistd.h>

#include <cctype>

#include "cwasi/common/sha256.h"
#include "cwasi/common/names.h"
#include "cwasi/trigger/cgi.h"
#include "cwasi/shim/cgroups.h"

namespace cwasi::shim {

struct TaskTable::Entry {
  Entry(const CreateTask& request, uint64_t limit, TaskParts parts, TaskHost& host,
        EventSink& events, uint32_t pid)
      : bundle(request.bundle),
        stdio(request.stdio),
        memory_limit(limit),
        task(std::move(parts), host, events, pid) {}

  const std::filesystem::path bundle;
  const StdioPaths stdio;
  const uint64_t memory_limit;
  Task task;
};

std::optional<std::string> givenFunctionName(const oci::RuntimeSpec& spec) {
  auto it = spec.annotations.find(oci::kAnnotationFunction);
  if (it != spec.annotations.end() && !it->second.empty()) return it->second;
  for (const auto& [k, v] : spec.env) {
    if (k == kEnvFunction && !v.empty()) return v;
  }
  return std::nullopt;
}

std::string functionNameFor(const std::string& id, const oci::RuntimeSpec& spec) {
  if (auto given = givenFunctionName(spec)) return *given;
  bool plain = !id.empty() && id.size() <= 64;
  for (char c : id) {
    plain = plain && (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' ||
                      c == '.');
  }
  return "task." + (plain ? id : sha256Hex({reinterpret_cast<const uint8_t*>(id.data()), id.size()})
                                     .substr(0, 32));
}

Result<std::filesystem::path> modulePathIn(const std::filesystem::path& rootfs,
                                           const std::string& arg0) {
  std::string rel = arg0;
  while (!rel.empty() && rel[0] == '/') rel.erase(0, 1);
  for (const auto& part : std::filesystem::path(rel)) {
    if (part == "..") {
      return invalidArgument("module " + arg0 + " (process.args[0]) leaves the rootfs");
    }
  }
  const std::filesystem::path module = rootfs / rel;
  std::error_code ec;
  if (rel.empty() || !std::filesystem::is_regular_file(module, ec)) {
    return invalidArgument("module " + arg0 + " (process.args[0]) not found in the rootfs");
  }
  return module;
}

namespace {

// The task's view of the world, decided once: its spec's args and env, its
// rootfs as "/", its memory limit. The task adds its stdio and cancel flag.
runtime::RunContext runContextFor(const oci::RuntimeSpec& spec) {
  runtime::RunContext rc;
  rc.args = spec.args;
  rc.env = spec.env;
  rc.preopens.push_back({spec.root, "/", !spec.root_readonly});
  rc.limits.memory_bytes = spec.memory_limit;
  return rc;
}

// The value of the container's env var `name` (the first, when it is set
// twice); null when it is not set.
const std::string* envValue(const oci::RuntimeSpec& spec, std::string_view name) {
  for (const auto& [k, v] : spec.env) {
    if (k == name) return &v;
  }
  return nullptr;
}

// The function's trust domain: its cwasi.io/trust-domain annotation, else its
// CWASI_TRUST_DOMAIN env var, else the default one. The env var is checked
// even when the annotation wins: a typo never passes unnoticed.
Result<std::optional<std::string>> trustDomainFor(const oci::RuntimeSpec& spec) {
  std::optional<std::string> domain;
  if (const std::string* v = envValue(spec, kEnvTrustDomain)) {
    if (!dns1123Label(*v)) {
      return invalidArgument(std::string(kEnvTrustDomain) +
                             " must be a DNS-1123 label (lowercase letters, digits and '-', up "
                             "to 63), not '" + *v + "'");
    }
    domain = *v;
  }
  if (auto d = spec.annotations.find(oci::kAnnotationTrustDomain); d != spec.annotations.end()) {
    domain = d->second;
  }
  return domain;
}

// The function's outbound grants: its cwasi.io/allowed-outbound-hosts
// annotation, else its CWASI_ALLOWED_OUTBOUND_HOSTS env var, else none. Both
// are checked, so that a bad pattern never passes unnoticed.
Result<comm::OutboundGrants> outboundGrantsFor(const oci::RuntimeSpec& spec) {
  comm::OutboundGrants grants;
  if (const std::string* v = envValue(spec, kEnvAllowedOutboundHosts)) {
    auto parsed = comm::OutboundGrants::parseList(*v);
    if (!parsed.ok()) return parsed.error().withContext(kEnvAllowedOutboundHosts);
    grants = std::move(*parsed);
  }
  if (auto a = spec.annotations.find(oci::kAnnotationAllowedOutboundHosts);
      a != spec.annotations.end()) {
    auto parsed = comm::OutboundGrants::parseList(a->second);
    if (!parsed.ok()) return parsed.error().withContext(oci::kAnnotationAllowedOutboundHosts);
    grants = std::move(*parsed);
  }
  return grants;
}

host::FunctionSpec taskFunctionFor(const oci::RuntimeSpec& spec, std::string name,
                                   std::filesystem::path module,
                                   std::optional<std::string> domain) {
  host::FunctionSpec fn;
  fn.name = std::move(name);
  fn.module = std::move(module);
  if (domain) fn.trust_domain = std::move(*domain);
  // Only a function given a name (annotation or env) is one that others call by name.
  fn.publish = givenFunctionName(spec).has_value();
  fn.limits.memory_bytes = spec.memory_limit;
  fn.env = spec.env;
  return fn;
}

// A positive decimal up to `max`.
std::optional<uint64_t> positive(std::string_view s, uint64_t max) {
  uint64_t v = 0;
  if (s.empty() || s.size() > 12) return std::nullopt;
  for (char ch : s) {
    if (ch < '0' || ch > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(ch - '0');
  }
  if (v == 0 || v > max) return std::nullopt;
  return v;
}

// The port an env var of the container names; nothing when it is not set.
Result<std::optional<uint16_t>> portFrom(const oci::RuntimeSpec& spec, const char* name) {
  const std::string* v = envValue(spec, name);
  if (v == nullptr) return std::optional<uint16_t>();
  auto port = positive(*v, 65535);
  if (!port) {
    return invalidArgument(std::string(name) + " must be a port (1-65535), not '" + *v + "'");
  }
  return std::optional<uint16_t>(static_cast<uint16_t>(*port));
}

// The container's own word on being served over HTTP: CWASI_HTTP_PORT (1 to
// 65535), CWASI_HTTP_TIMEOUT ("30s", "500ms" or milliseconds) and
// CWASI_MAX_INFLIGHT (1 to 10000), and the annotation cwasi.io/response or
// CWASI_RESPONSE ("cgi": its output is CGI). Nothing when it did not ask; InvalidArgument
// naming the variable or annotation when it asked wrongly (a bad
// CWASI_MAX_INFLIGHT or cwasi.io/response even without a port: a typo never
// passes unnoticed).
Result<std::optional<HttpTriggerConfig>> httpTriggerFor(const oci::RuntimeSpec& spec,
                                                        const std::string& function) {
  std::optional<HttpTriggerConfig> c;
  std::optional<uint64_t> max_inflight;
  if (const std::string* v = envValue(spec, kEnvMaxInflight)) {
    max_inflight = positive(*v, 10000);
    if (!max_inflight) {
      return invalidArgument(std::string(kEnvMaxInflight) +
                             " must be a number from 1 to 10000, not '" + *v + "'");
    }
  }
  // Checked even without a port, the variable even when the annotation wins:
  // a typo never passes unnoticed.
  trigger::ResponseMode response = trigger::ResponseMode::kRaw;
  if (const std::string* v = envValue(spec, kEnvResponse)) {
    TRY_ASSIGN(response, trigger::parseResponseMode(*v, kEnvResponse));
  }
  if (spec.annotations.contains(trigger::kAnnotationResponse)) {
    TRY_ASSIGN(response, trigger::responseModeFrom(spec.annotations));
  }
  TRY_ASSIGN(std::optional<uint16_t> port, portFrom(spec, kEnvHttpPort));
  if (!port) return c;
  c.emplace();
  c->port = *port;
  c->cgi_response = response == trigger::ResponseMode::kCgi;
  if (max_inflight) c->max_inflight = static_cast<int>(*max_inflight);
  for (const auto& [k, v] : spec.env) {
    if (k != kEnvHttpTimeout) continue;
    std::string_view s = v;
    uint64_t scale = 1;
    if (s.size() > 2 && s.substr(s.size() - 2) == "ms") {
      s.remove_suffix(2);
    } else if (s.size() > 1 && s.back() == 's') {
      s.remove_suffix(1);
      scale = 1000;
    }
    auto n = positive(s, 24ull * 3600 * 1000);
    if (!n) return invalidArgument(std::string(kEnvHttpTimeout) + " must be a duration (\"30s\", \"500ms\"), not '" + v + "'");
    c->timeout = std::chrono::milliseconds(*n * scale);
  }
  c->function = function;
  c->network_namespace = spec.network_namespace;
  return c;
}

}  // namespace

TaskTable::TaskTable(TaskHost& host, EventSink& events, uint32_t pid)
    : host_(host), events_(events), pid_(pid) {}

TaskTable::~TaskTable() {
  std::map<std::string, std::shared_ptr<Entry>> all;
  {
    MutexLock lock(mu_);
    all.swap(tasks_);
  }
  all.clear();  // each task kills and joins what it runs, unmounts
}

Result<std::shared_ptr<TaskTable::Entry>> TaskTable::find(const std::string& id) {
  MutexLock lock(mu_);
  auto it = tasks_.find(id);
  if (it == tasks_.end()) return notFound("task " + id + " not found");
  return it->second;
}

Result<uint32_t> TaskTable::create(const CreateTask& request) {
  if (request.id.empty()) return invalidArgument("task id is empty");
  TRY_ASSIGN(const oci::RuntimeSpec spec, oci::readRuntimeSpec(request.bundle));
  const std::string function = functionNameFor(request.id, spec);
  {
    MutexLock lock(mu_);
    if (tasks_.contains(request.id) || creating_.contains(request.id)) {
      return alreadyExists("task " + request.id + " exists");
    }
    // Loading would replace the other task's function.
    auto taken = [&](const std::string& other_id, const std::string& other) -> Result<void> {
      if (other != function) return {};
      return alreadyExists("function " + function + " is already task " + other_id +
                           " in this pod");
    };
    for (const auto& [other_id, other] : tasks_) TRY(taken(other_id, other->task.function()));
    for (const auto& [other_id, other_function] : creating_) TRY(taken(other_id, other_function));
    creating_[request.id] = function;
  }
  auto parts = prepare(request, spec, function);
  std::shared_ptr<Entry> entry;
  if (parts.ok()) {
    entry = std::make_shared<Entry>(request, spec.memory_limit, std::move(*parts), host_, events_,
                                    pid_);
    // Reported before the task can be found: no other event of it can come first.
    events_.created({request.id, request.bundle.string(), request.rootfs, request.stdio,
                     entry->task.pid()});
  }
  MutexLock lock(mu_);
  creating_.erase(request.id);
  if (!parts.ok()) return std::move(parts).error();
  const uint32_t pid = entry->task.pid();
  tasks_[request.id] = std::move(entry);
  return pid;
}

Result<TaskParts> TaskTable::prepare(const CreateTask& request, const oci::RuntimeSpec& spec,
                                     const std::string& function) {
  TaskParts parts;
  parts.id = request.id;
  parts.function = function;
  // Each step's failure drops what the steps before it built (parts.rootfs
  // unmounts on the way out).
  if (!request.rootfs.empty()) {
    TRY_ASSIGN(parts.rootfs, MountedRootfs::mount(request.rootfs, spec.root));
  }
  if (spec.isPodSandbox()) {
    // The pod's shim joins the pod's cgroup (its guests run in this process),
    // then starts a process that holds the pod's network namespace (and
    // inherits the cgroup).
    TRY(joinCgroup(spec.cgroups_path, ::getpid()));
    TRY_ASSIGN(parts.sandbox, PodSandbox::start(spec.network_namespace));
    TRY_ASSIGN(parts.stdio, TaskStdio::open(request.stdio));
    return parts;
  }
  TRY_ASSIGN(parts.http, httpTriggerFor(spec, function));
  TRY_ASSIGN(std::optional<uint16_t> comm_port, portFrom(spec, kEnvCommPort));
  TRY_ASSIGN(std::optional<std::string> domain, trustDomainFor(spec));
  TRY_ASSIGN(comm::OutboundGrants outbound, outboundGrantsFor(spec));
  TRY_ASSIGN(auto module, modulePathIn(spec.root, spec.args[0]));
  host::FunctionSpec task_function = taskFunctionFor(spec, function, std::move(module), std::move(domain));
  task_function.allowed_outbound_hosts = std::move(outbound);
  if (auto r = host_.load(task_function); !r.ok()) {
    return invalidArgument("module " + spec.args[0] + ": " + r.error().message());
  }
  if (comm_port) {
    // The pod's functions become reachable from other nodes on its IP.
    if (auto served = host_.serveRemoteCalls(spec.network_namespace, *comm_port); !served.ok()) {
      host_.remove(function);
      return served.error().withContext(std::string(kEnvCommPort));
    }
  }
  auto stdio = TaskStdio::open(request.stdio);
  if (!stdio.ok()) {
    host_.remove(function);
    return std::move(stdio).error();
  }
  parts.stdio = std::move(*stdio);
  parts.context = runContextFor(spec);
  return parts;
}

Result<uint32_t> TaskTable::start(const std::string& id) {
  TRY_ASSIGN(auto entry, find(id));
  TRY(entry->task.start());
  return entry->task.pid();
}

Result<void> TaskTable::kill(const std::string& id, int signal) {
  TRY_ASSIGN(auto entry, find(id));
  return entry->task.kill(signal);
}

Result<ExitInfo> TaskTable::wait(const std::string& id) {
  TRY_ASSIGN(auto entry, find(id));
  return entry->task.wait();
}

Result<ExitInfo> TaskTable::remove(const std::string& id) {
  TRY_ASSIGN(auto entry, find(id));
  TRY_ASSIGN(ExitInfo exit, entry->task.remove());
  MutexLock lock(mu_);
  if (auto it = tasks_.find(id); it != tasks_.end() && it->second == entry) tasks_.erase(it);
  return exit;
}

Result<TaskStatus> TaskTable::status(const std::string& id) {
  TRY_ASSIGN(auto entry, find(id));
  TaskStatus s;
  s.id = id;
  s.pid = entry->task.pid();
  s.bundle = entry->bundle;
  s.stdio = entry->stdio;
  // The state first: a stopped task's exit is set before its state.
  s.state = entry->task.state();
  s.exit = entry->task.exit();
  s.memory_limit = entry->memory_limit;
  return s;
}

Result<void> TaskTable::closeInput(const std::string& id) {
  TRY_ASSIGN(auto entry, find(id));
  entry->task.closeInput();
  return {};
}

void TaskTable::shutdown(bool now) {
  MutexLock lock(mu_);
  if (!now && (!tasks_.empty() || !creating_.empty())) return;
  shutdown_ = true;
  shutdown_cv_.notifyAll();
}

void TaskTable::waitForShutdown() {
  MutexLock lock(mu_);
  while (!shutdown_) shutdown_cv_.wait(mu_);
}

}  // namespace cwasi::shim
