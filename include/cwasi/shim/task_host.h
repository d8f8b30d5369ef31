// The shim's seam to the function host: what a task needs from the process's
// set of functions, and nothing more. A task's function is a
// host::FunctionSpec, as the shim decides it at Create. A task's container is one function:
// loaded from the module in its rootfs, run as a command's main, or left
// serving calls as a reactor, removed at Delete. The real implementation is
// the FunctionHost (function_host_tasks.cc, the one file of the shim that
// knows it); tests use a stub.
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cwasi/common/result.h"
#include "cwasi/host/function_host.h"
#include "cwasi/runtime/instance.h"
#include "cwasi/runtime/module.h"

namespace cwasi::shim {

// A task's function served over HTTP on a port of the pod's network — the
// container's CWASI_HTTP_PORT — with the same request → function → response
// semantics as cwasid's /function/{name}.
struct HttpTriggerConfig {
  std::string function;
  std::filesystem::path network_namespace;  // the pod's; "" = the shim's own
  uint16_t port = 8080;
  std::chrono::milliseconds timeout{30000};  // per request (504 past it)
  uint64_t max_body_bytes = 16u << 20;       // 413 past it
  int max_inflight = 100;                    // requests at once; as many may wait
  // The pod's cwasi.io/response annotation is "cgi": the function's output is
  // CGI (headers, a blank line, the body), as in cwasid.
  bool cgi_response = false;
};

// A running HTTP trigger. Dropping it stops serving at once.
class HttpTrigger {
 public:
  virtual ~HttpTrigger() = default;
  // "0.0.0.0:8080"
  virtual std::string address() const = 0;
  // Waits (on a condition) until no request is in flight, until
  // `deadline`, or until stopDraining() (a SIGKILL after SIGTERM).
  // Thread-safe.
  virtual void drain(std::chrono::steady_clock::time_point deadline) = 0;
  // Ends a drain under way, and any that starts later. Thread-safe.
  virtual void stopDraining() = 0;
};

class TaskHost {
 public:
  virtual ~TaskHost() = default;

  // Loads `function`'s module and makes it callable under its name. Errors
  // say what is wrong with the module. Thread-safe.
  virtual Result<void> load(const host::FunctionSpec& function) = 0;
  // Whether a loaded function is a command (has a main) or a reactor (serves
  // calls). Thread-safe.
  virtual Result<runtime::FunctionKind> kind(std::string_view name) = 0;
  // Runs a loaded command's main with `context` (args, env, stdio, preopens,
  // limits, cancel flag: the borrowed parts must outlive the call) and
  // returns its exit code, or why it did not finish: Cancelled, Aborted (a
  // trap), ResourceExhausted (memory limit), DeadlineExceeded... Blocks until
  // the main returns. Thread-safe.
  virtual Result<int> runMain(std::string_view name, runtime::RunContext context) = 0;
  // Serves a loaded function over HTTP in `config.network_namespace`.
  // Errors: the port cannot be listened on there. Thread-safe.
  virtual Result<std::unique_ptr<HttpTrigger>> serveHttp(const HttpTriggerConfig& config) = 0;
  // Serves calls from other nodes (TCP frames) on `port` inside
  // `network_namespace` (the pod's IP), for every function of the shim.
  // Once per shim: later calls return the address already served.
  virtual Result<std::string> serveRemoteCalls(const std::filesystem::path& network_namespace,
                                               uint16_t port) = 0;
  // Removes a function; calls in flight finish. Unknown names are ignored.
  // Thread-safe.
  virtual void remove(std::string_view name) = 0;
};

// Settings of the shim's real TaskHost.
struct TaskHostConfig {
  std::filesystem::path runtime_dir;  // node registry for local calls; "" = none
  std::filesystem::path cache_dir;    // AOT cache (modules precompiled once per digest)
  std::filesystem::path cluster_file; // cluster map for remote calls; "" = none
  uint32_t max_instances = 32;        // a pod's tasks and the calls they serve
};

// The TaskHost over a FunctionHost of its own (function_host_tasks.cc).
// Errors: the host's, when it cannot start (a listener, the engine).
Result<std::unique_ptr<TaskHost>> startFunctionHostTasks(TaskHostConfig config);

}  // namespace cwasi::shim
