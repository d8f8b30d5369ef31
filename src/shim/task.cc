#include "cwasi/shim/task.h"

#include <signal.h>

#include "cwasi/common/log.h"

namespace cwasi::shim {

const char* stateName(TaskState state) {
  switch (state) {
    case TaskState::kCreated: return "created";
    case TaskState::kRunning: return "running";
    case TaskState::kStopped: return "stopped";
    case TaskState::kDeleted: return "deleted";
  }
  return "?";
}

uint32_t exitStatusFor(const Error& error, int kill_signal) {
  switch (error.code()) {
    case Code::kCancelled: return 128 + static_cast<uint32_t>(kill_signal > 0 ? kill_signal : 15);
    case Code::kResourceExhausted: return 137;  // memory limit, as the OOM killer's SIGKILL
    case Code::kDeadlineExceeded: return 124;   // as timeout(1)
    case Code::kAborted: return 134;            // a trap, as SIGABRT
    default: return 126;                        // could not run
  }
}

Task::Task(TaskParts parts, TaskHost& host, EventSink& events, uint32_t pid)
    : id_(std::move(parts.id)),
      function_(std::move(parts.function)),
      host_(host),
      events_(events),
      pid_(pid),
      stdio_(std::move(parts.stdio)),
      rootfs_(std::move(parts.rootfs)),
      sandbox_(std::move(parts.sandbox)),
      http_(std::move(parts.http)) {
  MutexLock lock(mu_);
  context_ = std::move(parts.context);
  context_.cancel = &cancel_;
  if (stdio_) stdio_->attach(context_);
}

Task::~Task() {
  std::thread runner;
  {
    MutexLock lock(mu_);
    killed_ = true;
    changed_.notifyAll();
    runner = std::move(runner_);
  }
  cancel_.store(true);
  if (sandbox_) sandbox_->signal(SIGKILL);
  if (stdio_) stdio_->endInput();
  if (runner.joinable()) runner.join();
}

Result<void> Task::start() {
  {
    MutexLock lock(mu_);
    switch (state_) {
      case TaskState::kCreated: break;
      case TaskState::kDeleted: return notFound("task " + id_ + " was deleted");
      default: return failedPrecondition("task " + id_ + " was already started");
    }
  }
  // An HTTP function serves once started: the trigger listens before the
  // start is reported (a readiness probe run right then succeeds), and a
  // port it cannot take fails the start itself, with the reason.
  std::unique_ptr<HttpTrigger> trigger;
  if (http_) {
    auto started = host_.serveHttp(*http_);
    if (!started.ok()) return started.error();
    trigger = std::move(*started);
  }
  {
    MutexLock lock(mu_);
    if (state_ != TaskState::kCreated) return failedPrecondition("task " + id_ + " changed while starting");
    trigger_ = std::move(trigger);
    state_ = TaskState::kRunning;
    changed_.notifyAll();
  }
  // Reported before the runner exists: its exit cannot overtake it.
  events_.started({id_, pid()});
  MutexLock lock(mu_);
  runner_ = std::thread([this] { run(); });
  return {};
}

void Task::run() {
  runtime::RunContext context;
  {
    MutexLock lock(mu_);
    context = std::move(context_);
  }
  Result<int> r = 0;
  auto kind = sandbox_ ? Result<runtime::FunctionKind>(runtime::FunctionKind::kUnknown)
                       : host_.kind(function_);
  if (sandbox_) {
    r = static_cast<int>(sandbox_->wait());
  } else if (http_) {
    std::unique_ptr<HttpTrigger> trigger;
    {
      MutexLock lock(mu_);
      trigger = std::move(trigger_);
    }
    r = serveHttp(std::move(trigger));
  } else if (kind.ok() && *kind == runtime::FunctionKind::kReactor) {
    // A reactor's task serves calls (cwasi.call from other functions) until
    // it is killed.
    MutexLock lock(mu_);
    while (!killed_) changed_.wait(mu_);
    r = cancelled("stopped");
  } else {
    r = host_.runMain(function_, std::move(context));
  }
  uint32_t status = 0;
  if (r.ok()) {
    status = static_cast<uint32_t>(*r);
  } else {
    int signal = 0;
    {
      MutexLock lock(mu_);
      signal = kill_signal_;
    }
    status = exitStatusFor(r.error(), signal);
    if (r.error().code() != Code::kCancelled && stdio_) {
      stdio_->writeError("cwasi: " + r.error().message() + "\n");
    }
  }
  // Output first: containerd's readers see the end of it before Wait returns.
  if (stdio_) stdio_->close();
  ExitInfo exit;
  {
    MutexLock lock(mu_);
    exit = markStopped(status);
  }
  events_.exited({id_, pid(), exit.status, exit.at});
}

Result<int> Task::serveHttp(std::unique_ptr<HttpTrigger> trigger) {
  int signal = 0;
  {
    MutexLock lock(mu_);
    while (!killed_) changed_.wait(mu_);
    signal = kill_signal_;
    draining_ = trigger.get();  // a SIGKILL now ends the drain (kill())
  }
  if (signal != SIGKILL) trigger->drain(std::chrono::steady_clock::now() + kDrainLimit);
  MutexLock lock(mu_);
  draining_ = nullptr;
  return cancelled("stopped");
}

ExitInfo Task::markStopped(uint32_t status) {
  exit_ = {status, std::chrono::system_clock::now()};
  state_ = TaskState::kStopped;
  changed_.notifyAll();
  return exit_;
}

Result<void> Task::kill(int signal) {
  bool never_started = false;
  ExitInfo exit;
  {
    MutexLock lock(mu_);
    switch (state_) {
      case TaskState::kStopped: return {};
      case TaskState::kDeleted: return notFound("task " + id_ + " was deleted");
      case TaskState::kCreated:
        never_started = true;
        exit = markStopped(128 + static_cast<uint32_t>(signal));
        break;
      case TaskState::kRunning: break;
    }
    kill_signal_ = signal;
    killed_ = true;
    if (signal == SIGKILL && draining_ != nullptr) draining_->stopDraining();
    changed_.notifyAll();  // a reactor's runner
  }
  // A Wasm guest has no signal handlers: any signal ends it, at the next
  // epoch tick even in a tight loop; a guest blocked reading stdin wakes up
  // at the end of its input.
  cancel_.store(true);
  if (sandbox_) sandbox_->signal(signal);
  if (never_started) {
    if (stdio_) stdio_->close();
    events_.exited({id_, pid(), exit.status, exit.at});
  } else if (stdio_) {
    stdio_->endInput();
  }
  return {};
}

ExitInfo Task::wait() {
  MutexLock lock(mu_);
  while (state_ != TaskState::kStopped && state_ != TaskState::kDeleted) changed_.wait(mu_);
  return exit_;
}

std::optional<ExitInfo> Task::waitUntil(std::chrono::steady_clock::time_point deadline) {
  MutexLock lock(mu_);
  while (state_ != TaskState::kStopped && state_ != TaskState::kDeleted) {
    if (!changed_.waitUntil(mu_, deadline)) break;
  }
  if (state_ != TaskState::kStopped && state_ != TaskState::kDeleted) return std::nullopt;
  return exit_;
}

Result<ExitInfo> Task::remove() {
  std::thread runner;
  ExitInfo exit;
  {
    MutexLock lock(mu_);
    switch (state_) {
      case TaskState::kRunning:
        return failedPrecondition("task " + id_ + " is running: kill it first");
      case TaskState::kDeleted: return notFound("task " + id_ + " was deleted");
      case TaskState::kCreated: exit_ = {0, std::chrono::system_clock::now()}; break;
      case TaskState::kStopped: break;
    }
    state_ = TaskState::kDeleted;
    changed_.notifyAll();
    exit = exit_;
    runner = std::move(runner_);
  }
  // A stopped task's runner may still be reporting its exit: the delete
  // follows it.
  if (runner.joinable()) runner.join();
  if (sandbox_) {
    // A sandbox never started still has its process: it goes now.
    sandbox_->signal(SIGKILL);
    sandbox_->wait();
  } else {
    host_.remove(function_);
  }
  if (rootfs_) {
    if (auto r = rootfs_->unmount(); !r.ok()) CWASI_LOG(kWarn, r.error().message());
  }
  events_.deleted({id_, pid(), exit.status, exit.at});
  return exit;
}

void Task::closeInput() {
  if (stdio_) stdio_->closeInput();
}

TaskState Task::state() const {
  MutexLock lock(mu_);
  return state_;
}

ExitInfo Task::exit() const {
  MutexLock lock(mu_);
  return exit_;
}

}  // namespace cwasi::shim
