// What the shim's tests put in place of the outside world: a TaskHost whose
// functions are C++ lambdas, an EventSink that records, OCI bundles and fifos
// in a temp dir, and a reader for containerd's side of a fifo. With them a
// task's whole life runs in the test process, without containerd.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "cwasi/common/fd.h"
#include "cwasi/common/mutex.h"
#include "cwasi/shim/event_sink.h"
#include "cwasi/shim/task_host.h"
#include "support/wasi_test.h"

namespace cwasi::shim::testing {

using namespace std::chrono_literals;

// A command's main: gets the task's RunContext, returns an exit code or an Error.
using StubMain = std::function<Result<int>(runtime::RunContext&)>;

class StubTaskHost : public TaskHost {
 public:
  // Every function loaded from now on is of `kind` and runs `main`.
  void behave(runtime::FunctionKind kind, StubMain main = {}) {
    MutexLock lock(mu_);
    kind_ = kind;
    main_ = std::move(main);
  }
  // The next load() fails with `error`.
  void failNextLoad(Error error) {
    MutexLock lock(mu_);
    load_error_.emplace(std::move(error));
  }

  Result<void> load(const host::FunctionSpec& function) override {
    MutexLock lock(mu_);
    if (load_error_) {
      Error e = std::move(*load_error_);
      load_error_.reset();
      return e;
    }
    loaded_[function.name] = function;
    return {};
  }
  Result<runtime::FunctionKind> kind(std::string_view name) override {
    MutexLock lock(mu_);
    if (!loaded_.contains(std::string(name))) return notFound(std::string(name));
    return kind_;
  }
  Result<int> runMain(std::string_view name, runtime::RunContext context) override {
    StubMain main;
    {
      MutexLock lock(mu_);
      if (!loaded_.contains(std::string(name))) return notFound(std::string(name));
      main = main_;
    }
    return main ? main(context) : Result<int>(0);
  }
  void remove(std::string_view name) override {
    MutexLock lock(mu_);
    loaded_.erase(std::string(name));
  }
  // A trigger that serves nothing, and remembers what it was asked for.
  Result<std::unique_ptr<HttpTrigger>> serveHttp(const HttpTriggerConfig& config) override {
    struct Idle : HttpTrigger {
      std::string address() const override { return "0.0.0.0:0"; }
      void drain(std::chrono::steady_clock::time_point) override {}
      void stopDraining() override {}
    };
    MutexLock lock(mu_);
    served_.push_back(config);
    return std::unique_ptr<HttpTrigger>(std::make_unique<Idle>());
  }
  Result<std::string> serveRemoteCalls(const std::filesystem::path& netns, uint16_t port) override {
    MutexLock lock(mu_);
    remote_ = netns.string() + ":" + std::to_string(port);
    return std::string("0.0.0.0:") + std::to_string(port);
  }
  std::string remote() {
    MutexLock lock(mu_);
    return remote_;
  }
  std::vector<HttpTriggerConfig> served() {
    MutexLock lock(mu_);
    return served_;
  }

  // What is loaded now, by name.
  std::map<std::string, host::FunctionSpec> loaded() {
    MutexLock lock(mu_);
    return loaded_;
  }

 private:
  Mutex mu_;
  runtime::FunctionKind kind_ GUARDED_BY(mu_) = runtime::FunctionKind::kCommand;
  StubMain main_ GUARDED_BY(mu_);
  std::optional<Error> load_error_ GUARDED_BY(mu_);
  std::vector<HttpTriggerConfig> served_ GUARDED_BY(mu_);
  std::string remote_ GUARDED_BY(mu_);
  std::map<std::string, host::FunctionSpec> loaded_ GUARDED_BY(mu_);
};

// Records events as "create <id>", "start <id>", "exit <id> <status>",
// "delete <id> <status>".
class RecordingEvents : public EventSink {
 public:
  void created(const TaskCreated& e) override { add("create " + e.id); }
  void started(const TaskStarted& e) override { add("start " + e.id); }
  void exited(const TaskExited& e) override {
    add("exit " + e.id + " " + std::to_string(e.exit_status));
  }
  void deleted(const TaskDeleted& e) override {
    add("delete " + e.id + " " + std::to_string(e.exit_status));
  }

  std::vector<std::string> all() {
    MutexLock lock(mu_);
    return events_;
  }
  // All events once there are `n` (or after 5 s). A task reports its exit
  // after its waiters are woken, so tests that wait() wait for the event too.
  std::vector<std::string> atLeast(size_t n) {
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    MutexLock lock(mu_);
    while (events_.size() < n && added_.waitUntil(mu_, deadline)) {
    }
    return events_;
  }

 private:
  void add(std::string e) {
    MutexLock lock(mu_);
    events_.push_back(std::move(e));
    added_.notifyAll();
  }
  Mutex mu_;
  CondVar added_;
  std::vector<std::string> events_ GUARDED_BY(mu_);
};

// Writes <dir>/config.json and <dir>/rootfs/module.wasm (not a real module:
// the stub host does not read it). `extra` is spliced into the spec's
// top-level object ("\"annotations\": {...}").
inline void writeBundle(const std::filesystem::path& dir, const std::string& arg0 = "/module.wasm",
                        const std::string& extra = "") {
  std::filesystem::create_directories(dir / "rootfs");
  cwasi::testing::writeText(dir / "rootfs" / "module.wasm", "not read");
  cwasi::testing::writeText(dir / "config.json",
                            R"({"process": {"args": [")" + arg0 + R"(", "x"], "env": ["A=1"]},
                               "root": {"path": "rootfs"})" +
                                (extra.empty() ? "" : ", " + extra) + "}");
}

inline std::string makeFifo(const std::filesystem::path& p) {
  ::mkfifo(p.c_str(), 0600);
  return p.string();
}

// Reads `fd` until end of file or `timeout`; what came.
inline std::string readUntilEof(int fd, std::chrono::milliseconds timeout = 5s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string out;
  char buf[4096];
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      out.append(buf, static_cast<size_t>(n));
    } else if (n == 0 || errno != EAGAIN) {
      break;
    }
  }
  return out;
}

// A stub main that reads its stdin to the end and writes "<n> bytes: <data>"
// to its stdout; Cancelled if killed meanwhile.
inline Result<int> echoStdin(runtime::RunContext& context) {
  std::string data;
  if (const auto* f = std::get_if<runtime::StdinFile>(&context.input)) {
    Fd in(::open(f->path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!in.valid()) return notFound("stdin " + f->path.string());
    char buf[4096];
    ssize_t n;
    while ((n = ::read(in.get(), buf, sizeof buf)) > 0) data.append(buf, static_cast<size_t>(n));
  }
  if (context.cancel && context.cancel->load()) return cancelled("killed");
  const std::string line = std::to_string(data.size()) + " bytes: " + data;
  if (const auto* o = std::get_if<runtime::OutputFd>(&context.output)) {
    (void)!::write(o->fd, line.data(), line.size());
  }
  return 0;
}

// A stub main that runs until its cancel flag is set, as an epoch-checked
// guest loop does.
inline Result<int> loopUntilCancelled(runtime::RunContext& context) {
  while (!context.cancel->load()) std::this_thread::sleep_for(1ms);
  return cancelled("the invocation was cancelled");
}

}  // namespace cwasi::shim::testing
