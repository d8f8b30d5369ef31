// The shim's tasks by id, and how a task comes to be. Create reads the
// bundle's runtime spec, names the task's function, mounts the rootfs, finds
// the module in it, loads the function into the TaskHost, opens the stdio
// and builds the task's RunContext, undoing what was done when a step fails.
// Every other method finds the task and hands over to its state machine
// (task.h). No protobuf here: the TaskService translates containerd's
// messages into these calls.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cwasi/common/mutex.h"
#include "cwasi/common/result.h"
#include "cwasi/oci/bundle.h"
#include "cwasi/shim/event_sink.h"
#include "cwasi/shim/mounts.h"
#include "cwasi/shim/stdio.h"
#include "cwasi/shim/task.h"
#include "cwasi/shim/task_host.h"

namespace cwasi::shim {

// The environment variables that make a container's function an HTTP
// service on a port of its pod (documented in the README).
inline constexpr char kEnvHttpPort[] = "CWASI_HTTP_PORT";
inline constexpr char kEnvHttpTimeout[] = "CWASI_HTTP_TIMEOUT";
// The name other functions call a container's function by (the
// cwasi.io/function annotation's equivalent, which a pod spec can set).
inline constexpr char kEnvFunction[] = "CWASI_FUNCTION";
// The port on the pod's IP where the pod's shim serves calls from other
// nodes (the cluster map's host:port for the pod's functions).
inline constexpr char kEnvCommPort[] = "CWASI_COMM_PORT";
// A container's function's trust domain (the embedding boundary): the
// cwasi.io/trust-domain annotation's equivalent, for Kubernetes, where a
// pod's annotations never reach its containers' specs. A DNS-1123 label.
inline constexpr char kEnvTrustDomain[] = "CWASI_TRUST_DOMAIN";
// The HTTP trigger's cap on requests in flight (1 to 10000; as many more
// may wait), when CWASI_HTTP_PORT serves the function.
inline constexpr char kEnvMaxInflight[] = "CWASI_MAX_INFLIGHT";
// How the HTTP trigger reads the function's output: "raw" (the body, the
// default) or "cgi" (headers, a blank line, the body). The cwasi.io/response
// annotation's equivalent, for Kubernetes; the annotation wins.
inline constexpr char kEnvResponse[] = "CWASI_RESPONSE";
// Where the function's outbound HTTP may go: comma-separated patterns
// (http://api.example.com, *://localhost:*). The
// cwasi.io/allowed-outbound-hosts annotation's equivalent, for Kubernetes;
// the annotation wins. Neither: no outbound access.
inline constexpr char kEnvAllowedOutboundHosts[] = "CWASI_ALLOWED_OUTBOUND_HOSTS";

// What containerd's Create says.
struct CreateTask {
  std::string id;
  std::filesystem::path bundle;  // holds config.json and the rootfs directory
  std::vector<Mount> rootfs;     // empty: the rootfs directory is ready as it is
  StdioPaths stdio;
};

// What State reports.
struct TaskStatus {
  std::string id;
  uint32_t pid = 0;  // the task's (a sandbox's process) or the shim's
  std::filesystem::path bundle;
  StdioPaths stdio;
  TaskState state = TaskState::kCreated;
  ExitInfo exit;
  uint64_t memory_limit = 0;  // bytes; 0 = none
};

// The name a task's function was given: its cwasi.io/function annotation,
// else its CWASI_FUNCTION env var; such a function is published on the node.
std::optional<std::string> givenFunctionName(const oci::RuntimeSpec& spec);
// The function name a task goes by: the given one, else one derived from its
// id (a task's own, not published).
std::string functionNameFor(const std::string& id, const oci::RuntimeSpec& spec);

// The module that process.args[0] names inside `rootfs`. InvalidArgument
// when it leaves the rootfs or is not a file there.
Result<std::filesystem::path> modulePathIn(const std::filesystem::path& rootfs,
                                           const std::string& arg0);

class TaskTable {
 public:
  // `host` and `events` are borrowed and outlive the table; `pid` (the shim's)
  // is every task's.
  TaskTable(TaskHost& host, EventSink& events, uint32_t pid);
  // Kills what still runs and joins it; unmounts.
  ~TaskTable();
  TaskTable(const TaskTable&) = delete;
  TaskTable& operator=(const TaskTable&) = delete;

  // All methods are thread-safe; a task's methods may overlap (a Wait stays
  // open while State, Kill and Delete come). NotFound for an unknown id.

  // Creates a task. InvalidArgument for what is wrong with the request, the
  // bundle or the module; AlreadyExists for a taken id, or a function name
  // that another task of the shim (of the pod) holds.
  // A pod sandbox (CRI's /pause) gets a sandbox process in the pod's network
  // namespace instead of a function. Returns the task's pid.
  Result<uint32_t> create(const CreateTask& request);
  // Returns the task's pid.
  Result<uint32_t> start(const std::string& id);
  Result<void> kill(const std::string& id, int signal);
  Result<ExitInfo> wait(const std::string& id);
  // Deletes a stopped or never started task and forgets it.
  Result<ExitInfo> remove(const std::string& id);
  Result<TaskStatus> status(const std::string& id);
  // CloseIO for stdin.
  Result<void> closeInput(const std::string& id);

  // Shutdown: ends waitForShutdown() when no task is left, or `now`.
  void shutdown(bool now);
  // Blocks until shutdown() ended the shim's service.
  void waitForShutdown();
  uint32_t pid() const { return pid_; }

 private:
  struct Entry;
  // A task's entry, shared with the calls that use it: a Wait may still hold
  // a task that Delete took out of the table.
  Result<std::shared_ptr<Entry>> find(const std::string& id) EXCLUDES(mu_);
  // Builds the task's parts (mounts, module, load, stdio); the function is
  // loaded only if this returns a value.
  Result<TaskParts> prepare(const CreateTask& request, const oci::RuntimeSpec& spec,
                            const std::string& function);

  TaskHost& host_;
  EventSink& events_;
  const uint32_t pid_;
  Mutex mu_;
  std::map<std::string, std::shared_ptr<Entry>> tasks_ GUARDED_BY(mu_);
  // Ids and function names of tasks being created (taken, not yet in tasks_).
  std::map<std::string, std::string> creating_ GUARDED_BY(mu_);
  CondVar shutdown_cv_;
  bool shutdown_ GUARDED_BY(mu_) = false;
};

}  // namespace cwasi::shim
