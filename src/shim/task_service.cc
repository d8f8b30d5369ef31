#include "cwasi/shim/task_service.h"

#include <cstring>

#include <unistd.h>

#include <cstdio>
#include <functional>

#include "github.com/containerd/cgroups/stats/v1/metrics.pb.h"
#include "github.com/containerd/containerd/runtime/v2/task/shim.pb.h"
#include "timestamp.h"

namespace cwasi::shim {
namespace {

namespace task = containerd::task::v2;
using containerd::v1::types::Status;
constexpr char kService[] = "containerd.task.v2.Task";

Status statusFor(TaskState state) {
  switch (state) {
    case TaskState::kCreated: return containerd::v1::types::CREATED;
    case TaskState::kRunning: return containerd::v1::types::RUNNING;
    case TaskState::kStopped:
    case TaskState::kDeleted: return containerd::v1::types::STOPPED;
  }
  return containerd::v1::types::UNKNOWN;
}

// The shim's resident memory (its tasks share it), from /proc/self/statm.
uint64_t residentBytes() {
  long pages = 0, resident = 0;
  if (FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  return static_cast<uint64_t>(resident) * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
}

// CPU time the shim (its guests with it) has used: user and system, in ns.
struct CpuTime {
  uint64_t user_ns = 0, system_ns = 0;
};
CpuTime cpuTime() {
  CpuTime t;
  if (FILE* f = std::fopen("/proc/self/stat", "r")) {
    char buf[1024];
    const size_t n = std::fread(buf, 1, sizeof buf - 1, f);
    std::fclose(f);
    buf[n] = '\0';
    // Fields 14 and 15 (utime, stime), counted after the ")" that ends the command.
    const char* p = std::strrchr(buf, ')');
    unsigned long long utime = 0, stime = 0;
    if (p && std::sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime,
                         &stime) == 2) {
      const uint64_t ns_per_tick = 1000000000ull / static_cast<uint64_t>(::sysconf(_SC_CLK_TCK));
      t.user_ns = utime * ns_per_tick;
      t.system_ns = stime * ns_per_tick;
    }
  }
  return t;
}

CreateTask createTaskFrom(const task::CreateTaskRequest& req) {
  CreateTask c;
  c.id = req.id();
  c.bundle = req.bundle();
  for (const auto& m : req.rootfs()) {
    c.rootfs.push_back({m.type(), m.source(), {m.options().begin(), m.options().end()}});
  }
  c.stdio = {req.stdin(), req.stdout(), req.stderr(), req.terminal()};
  return c;
}

// Adapts a typed method to ttrpc: parse, call, serialize.
template <class Req, class Resp>
TtrpcMethod typed(std::function<Result<Resp>(const Req&)> fn) {
  return [fn](const std::string& payload, const Metadata&) -> Result<std::string> {
    Req req;
    if (!req.ParseFromString(payload)) return invalidArgument("malformed request");
    TRY_ASSIGN(Resp resp, fn(req));
    return resp.SerializeAsString();
  };
}

// The same for methods that answer google.protobuf.Empty.
template <class Req>
TtrpcMethod typedEmpty(std::function<Result<void>(const Req&)> fn) {
  return [fn](const std::string& payload, const Metadata&) -> Result<std::string> {
    Req req;
    if (!req.ParseFromString(payload)) return invalidArgument("malformed request");
    TRY(fn(req));
    return std::string();
  };
}

}  // namespace

void TaskService::registerMethods(TtrpcServer& server) {
  TaskTable& tasks = tasks_;
  const uint32_t pid = tasks.pid();

  server.handle(kService, "Create",
                typed<task::CreateTaskRequest, task::CreateTaskResponse>(
                    [&tasks](const auto& req) -> Result<task::CreateTaskResponse> {
                      TRY_ASSIGN(uint32_t pid, tasks.create(createTaskFrom(req)));
                      task::CreateTaskResponse resp;
                      resp.set_pid(pid);
                      return resp;
                    }));

  server.handle(kService, "Start",
                typed<task::StartRequest, task::StartResponse>(
                    [&tasks](const auto& req) -> Result<task::StartResponse> {
                      if (!req.exec_id().empty()) {
                        return unimplemented("exec processes are not supported");
                      }
                      TRY_ASSIGN(uint32_t pid, tasks.start(req.id()));
                      task::StartResponse resp;
                      resp.set_pid(pid);
                      return resp;
                    }));

  server.handle(kService, "Wait",
                typed<task::WaitRequest, task::WaitResponse>(
                    [&tasks](const auto& req) -> Result<task::WaitResponse> {
                      TRY_ASSIGN(ExitInfo exit, tasks.wait(req.id()));
                      task::WaitResponse resp;
                      resp.set_exit_status(exit.status);
                      setTimestamp(resp.mutable_exited_at(), exit.at);
                      return resp;
                    }));

  server.handle(kService, "Delete",
                typed<task::DeleteRequest, task::DeleteResponse>(
                    [&tasks](const auto& req) -> Result<task::DeleteResponse> {
                      if (!req.exec_id().empty()) {
                        return notFound("no exec process " + req.exec_id());
                      }
                      TRY_ASSIGN(TaskStatus s, tasks.status(req.id()));
                      TRY_ASSIGN(ExitInfo exit, tasks.remove(req.id()));
                      task::DeleteResponse resp;
                      resp.set_pid(s.pid);
                      resp.set_exit_status(exit.status);
                      setTimestamp(resp.mutable_exited_at(), exit.at);
                      return resp;
                    }));

  server.handle(kService, "State",
                typed<task::StateRequest, task::StateResponse>(
                    [&tasks](const auto& req) -> Result<task::StateResponse> {
                      TRY_ASSIGN(TaskStatus s, tasks.status(req.id()));
                      task::StateResponse resp;
                      resp.set_id(s.id);
                      resp.set_bundle(s.bundle.string());
                      resp.set_pid(s.pid);
                      resp.set_stdin(s.stdio.stdin_path);
                      resp.set_stdout(s.stdio.stdout_path);
                      resp.set_stderr(s.stdio.stderr_path);
                      resp.set_terminal(s.stdio.terminal);
                      resp.set_status(statusFor(s.state));
                      resp.set_exit_status(s.exit.status);
                      setTimestamp(resp.mutable_exited_at(), s.exit.at);
                      return resp;
                    }));

  server.handle(kService, "Pids",
                typed<task::PidsRequest, task::PidsResponse>(
                    [&tasks](const auto& req) -> Result<task::PidsResponse> {
                      TRY_ASSIGN(TaskStatus s, tasks.status(req.id()));
                      task::PidsResponse resp;
                      resp.add_processes()->set_pid(s.pid);
                      return resp;
                    }));

  // cgroups v1 Metrics, as `ctr task metrics` and CRI's stats (kubelet's
  // summary) decode them: the shim's resident memory, its CPU time, its one
  // process — the pod's guests all run in it.
  server.handle(kService, "Stats",
                typed<task::StatsRequest, task::StatsResponse>(
                    [&tasks](const auto& req) -> Result<task::StatsResponse> {
                      TRY_ASSIGN(TaskStatus s, tasks.status(req.id()));
                      io::containerd::cgroups::v1::Metrics m;
                      m.mutable_memory()->mutable_usage()->set_usage(residentBytes());
                      m.mutable_memory()->mutable_usage()->set_limit(s.memory_limit);
                      m.mutable_pids()->set_current(1);
                      const CpuTime cpu = cpuTime();
                      auto* usage = m.mutable_cpu()->mutable_usage();
                      usage->set_user(cpu.user_ns);
                      usage->set_kernel(cpu.system_ns);
                      usage->set_total(cpu.user_ns + cpu.system_ns);
                      task::StatsResponse resp;
                      resp.mutable_stats()->set_type_url("io.containerd.cgroups.v1.Metrics");
                      resp.mutable_stats()->set_value(m.SerializeAsString());
                      return resp;
                    }));

  server.handle(kService, "Connect",
                typed<task::ConnectRequest, task::ConnectResponse>(
                    [pid](const auto&) -> Result<task::ConnectResponse> {
                      task::ConnectResponse resp;
                      resp.set_shim_pid(pid);
                      resp.set_task_pid(pid);
                      resp.set_version(std::string("cwasi ") + CWASI_VERSION);
                      return resp;
                    }));

  server.handle(kService, "Kill", typedEmpty<task::KillRequest>([&tasks](const auto& req) {
                  return tasks.kill(req.id(), static_cast<int>(req.signal()));
                }));

  server.handle(kService, "CloseIO",
                typedEmpty<task::CloseIORequest>([&tasks](const auto& req) -> Result<void> {
                  if (!req.stdin()) {
                    TRY(tasks.status(req.id()));
                    return {};
                  }
                  return tasks.closeInput(req.id());
                }));

  // kubectl exec and friends: a Wasm container runs one function in the
  // shim, there is no process to start beside it. Said plainly rather than
  // as "not implemented".
  server.handle(kService, "Exec", [](const std::string&, const Metadata&) -> Result<std::string> {
    return unimplemented(
        "cwasi: exec is not supported: a Wasm container is one function running in its pod's "
        "shim, with no shell or processes to start beside it");
  });

  server.handle(kService, "Shutdown",
                typedEmpty<task::ShutdownRequest>([&tasks](const auto& req) -> Result<void> {
                  tasks.shutdown(req.now());
                  return {};
                }));
}

}  // namespace cwasi::shim
