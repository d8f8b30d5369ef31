// A task: one container of the shim, which is one function in the shim's
// TaskHost. Its life is a state machine; containerd's methods move it along
// or are refused according to its state:
//
//            start              main returns / killed
//   created ───────▶ running ─────────────────────────▶ stopped ──delete──▶ deleted
//      │ │                                                 ▲                  ▲
//      │ └──────────── kill (exit status 128+signal) ──────┘                  │
//      └───────────────────────── delete (exit status 0) ─────────────────────┘
//
//             created          running                   stopped       deleted
//   start     → running        FailedPrecondition        FailedPrecond. NotFound
//   kill      → stopped        asks the guest to stop    nothing        NotFound
//   wait      blocks           blocks                    exit status    exit status
//   delete    → deleted        FailedPrecondition        → deleted      NotFound
//   closeIO   stdin ends once what was written is read   nothing        nothing
//
// A pod sandbox (task.pid() is its process) runs until that process ends: a
// kill signals it. A task served over HTTP runs until killed; SIGTERM lets
// the requests in flight finish first (until SIGKILL, or kDrainLimit). A running command stops when its main returns (its exit code), or fails
// (Cancelled after a kill: 128+signal; memory limit: 137; timeout: 124; a
// trap: 134; could not run: 126). A reactor only serves calls from other functions: it runs
// until killed. Each transition reports its event (start, exit, delete) to
// the EventSink; the table reports create.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "cwasi/common/mutex.h"
#include "cwasi/common/result.h"
#include "cwasi/runtime/instance.h"
#include "cwasi/shim/event_sink.h"
#include "cwasi/shim/mounts.h"
#include "cwasi/shim/sandbox.h"
#include "cwasi/shim/stdio.h"
#include "cwasi/shim/task_host.h"

namespace cwasi::shim {

enum class TaskState { kCreated, kRunning, kStopped, kDeleted };

// The longest a SIGTERM waits for an HTTP task's requests in flight (kubelet
// sends SIGKILL after the pod's grace period anyway).
inline constexpr std::chrono::seconds kDrainLimit{60};

// "created", "running"...
const char* stateName(TaskState state);

struct ExitInfo {
  uint32_t status = 0;
  WallTime at;  // epoch (zero) until the task stopped
};

// The exit status of a task whose main ended with `error`, after a kill with
// `kill_signal` (0: not killed).
uint32_t exitStatusFor(const Error& error, int kill_signal);

// What a task is made of, put together at Create.
struct TaskParts {
  std::string id;
  std::string function;  // its name in the TaskHost, loaded already
  // Built once at Create; the task completes it with its stdio and cancel flag.
  runtime::RunContext context;
  std::unique_ptr<TaskStdio> stdio;       // may be null: no stdio at all
  std::unique_ptr<MountedRootfs> rootfs;  // may be null: containerd mounted it
  // A pod sandbox's process; null for a Wasm task. A sandbox task has no
  // function: it runs until its process ends, and reports that process's pid.
  std::unique_ptr<PodSandbox> sandbox;
  // Set when the container asked to be served over HTTP (CWASI_HTTP_PORT):
  // the task then serves requests until killed, whatever its kind.
  std::optional<HttpTriggerConfig> http;
};

class Task {
 public:
  // A created task. `host` and `events` are borrowed and outlive it; `pid`
  // is what its events report (the shim's pid).
  Task(TaskParts parts, TaskHost& host, EventSink& events, uint32_t pid);
  // Kills a task still running and joins its runner; unmounts, closes stdio.
  // The function stays in the host unless remove() took it out.
  ~Task();
  Task(const Task&) = delete;
  Task& operator=(const Task&) = delete;

  // Every method below is thread-safe (containerd overlaps its calls: a Wait
  // stays open while State, Kill and Delete come).

  // created → running: runs the function on a thread of the task's own.
  Result<void> start();
  // Stops the task with `signal` (any signal: a Wasm guest has no handlers).
  // A created task stops at once; a running one at the guest's next epoch
  // tick, or as soon as its blocking stdin read ends.
  Result<void> kill(int signal);
  // Blocks until the task stopped (or was deleted); its exit.
  ExitInfo wait();
  // Like wait(), giving up at `deadline`: nothing then.
  std::optional<ExitInfo> waitUntil(std::chrono::steady_clock::time_point deadline);
  // created/stopped → deleted: removes the function from the host and
  // unmounts the rootfs. Refused while running.
  Result<ExitInfo> remove();
  // CloseIO: the guest's stdin ends once what was written is read.
  void closeInput();

  const std::string& id() const { return id_; }
  const std::string& function() const { return function_; }
  // The pid containerd is told: a sandbox's process, else the shim's.
  uint32_t pid() const { return sandbox_ ? sandbox_->pid() : pid_; }
  TaskState state() const;
  ExitInfo exit() const;

 private:
  // The runner thread: the function's main, or a reactor's wait for a kill.
  void run();
  // Serves the function over HTTP (the trigger start() opened) until
  // killed; drains after a SIGTERM. Cancelled when it ends.
  Result<int> serveHttp(std::unique_ptr<HttpTrigger> trigger);
  // The transition to stopped: records the exit, wakes the waiters.
  ExitInfo markStopped(uint32_t status) REQUIRES(mu_);

  const std::string id_;
  const std::string function_;
  TaskHost& host_;
  EventSink& events_;
  const uint32_t pid_;
  std::unique_ptr<TaskStdio> stdio_;
  std::unique_ptr<MountedRootfs> rootfs_;
  std::unique_ptr<PodSandbox> sandbox_;
  const std::optional<HttpTriggerConfig> http_;
  // Set by a SIGKILL: a draining HTTP trigger stops waiting.
  HttpTrigger* draining_ GUARDED_BY(mu_) = nullptr;  // serveHttp's trigger while it drains
  // The guest's stop flag (RunContext::cancel points here).
  std::atomic<bool> cancel_{false};

  mutable Mutex mu_;
  CondVar changed_;  // state_ or killed_ changed
  TaskState state_ GUARDED_BY(mu_) = TaskState::kCreated;
  bool killed_ GUARDED_BY(mu_) = false;
  int kill_signal_ GUARDED_BY(mu_) = 0;  // the last kill's
  ExitInfo exit_ GUARDED_BY(mu_);
  // Moved into the runner at start.
  runtime::RunContext context_ GUARDED_BY(mu_);
  std::unique_ptr<HttpTrigger> trigger_ GUARDED_BY(mu_);
  std::thread runner_ GUARDED_BY(mu_);
};

}  // namespace cwasi::shim
