#include "cwasi/shim/task_service.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <poll.h>

#include <map>
#include <thread>

#include "cwasi/host/function_host.h"
#include "cwasi/common/log.h"
#include "cwasi/common/mutex.h"
#include "cwasi/common/sha256.h"
#include "cwasi/oci/bundle.h"
#include "github.com/containerd/cgroups/stats/v1/metrics.pb.h"
#include "github.com/containerd/containerd/api/events/task.pb.h"
#include "github.com/containerd/containerd/api/services/ttrpc/events/v1/events.pb.h"
#include "github.com/containerd/containerd/runtime/v2/task/shim.pb.h"
#include "timestamp.h"

namespace cwasi::shim {
namespace {

namespace task = containerd::task::v2;
namespace events = containerd::events;
using Clock = std::chrono::steady_clock;
constexpr char kService[] = "containerd.task.v2.Task";

// Linux mount flags named in containerd's Mount.options; the rest is data.
void parseMountOptions(const std::vector<std::string>& options, unsigned long* flags,
                       std::string* data) {
  static const std::map<std::string, unsigned long> kFlags = {
      {"ro", MS_RDONLY},     {"nosuid", MS_NOSUID}, {"nodev", MS_NODEV},
      {"noexec", MS_NOEXEC}, {"bind", MS_BIND},     {"rbind", MS_BIND | MS_REC},
      {"sync", MS_SYNCHRONOUS}, {"noatime", MS_NOATIME}, {"relatime", MS_RELATIME}};
  for (const auto& o : options) {
    auto it = kFlags.find(o);
    if (it != kFlags.end()) {
      *flags |= it->second;
    } else if (o != "rw" && o != "defaults") {
      if (!data->empty()) *data += ',';
      *data += o;
    }
  }
}

Result<void> mountAll(const google::protobuf::RepeatedPtrField<containerd::types::Mount>& mounts,
                      const std::filesystem::path& target) {
  std::error_code ec;
  std::filesystem::create_directories(target, ec);
  for (const auto& m : mounts) {
    unsigned long flags = 0;
    std::string data;
    parseMountOptions({m.options().begin(), m.options().end()}, &flags, &data);
    const std::string type = m.type() == "bind" ? "" : m.type();
    if (::mount(m.source().c_str(), target.c_str(), type.empty() ? nullptr : type.c_str(),
                flags & ~MS_RDONLY, data.empty() ? nullptr : data.c_str()) != 0) {
      return internal("mount " + m.type() + " " + m.source() + " on " + target.string() + ": " +
                      std::strerror(errno));
    }
    if ((flags & MS_BIND) && (flags & MS_RDONLY)) {
      ::mount(nullptr, target.c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr);
    }
  }
  return {};
}

// The function name a task goes by: its cwasi.io/function annotation, else
// one derived from its id (not published: other hosts cannot call it).
std::string functionNameFor(const std::string& id, const oci::RuntimeSpec& spec) {
  auto it = spec.annotations.find(oci::kAnnotationFunction);
  if (it != spec.annotations.end() && !it->second.empty()) return it->second;
  bool plain = !id.empty() && id.size() <= 64;
  for (char c : id) plain = plain && (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.');
  return "task." + (plain ? id : sha256Hex({reinterpret_cast<const uint8_t*>(id.data()), id.size()}).substr(0, 32));
}

// The exit status of a task whose main ended with `e`.
uint32_t exitStatusFor(const Error& e, int kill_signal) {
  switch (e.code()) {
    case Code::kCancelled: return 128 + static_cast<uint32_t>(kill_signal > 0 ? kill_signal : 15);
    case Code::kResourceExhausted: return 137;  // memory limit
    case Code::kDeadlineExceeded: return 124;
    case Code::kAborted: return 134;  // trap
    default: return 126;
  }
}

// Copies containerd's stdin fifo into a pipe that the guest reads (Wasmtime
// opens stdin by path: /proc/self/fd/<pipe>). The fifo's writer may come late
// or never, so the pump waits for it on a thread of its own; stop() releases
// it and the guest sees the end of its input.
class StdinPump {
 public:
  static Result<std::unique_ptr<StdinPump>> start(const std::string& fifo) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) return internal(std::string("pipe: ") + std::strerror(errno));
    auto pump = std::unique_ptr<StdinPump>(new StdinPump(fifo, Fd(p[0]), Fd(p[1])));
    ::fcntl(pump->write_.get(), F_SETFL, O_NONBLOCK);
    StdinPump* raw = pump.get();
    pump->thread_ = std::thread([raw] { raw->copy(); });
    return pump;
  }
  ~StdinPump() { stop(); }

  std::string guestPath() const { return "/proc/self/fd/" + std::to_string(read_.get()); }

  void stop() {
    if (stopping_.exchange(true)) return;
    // A pump still waiting in open() for a writer is released by one.
    int w = ::open(fifo_.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (w >= 0) ::close(w);
    if (thread_.joinable()) thread_.join();
  }

 private:
  StdinPump(std::string fifo, Fd r, Fd w) : fifo_(std::move(fifo)), read_(std::move(r)), write_(std::move(w)) {}

  void copy() {
    Fd in(::open(fifo_.c_str(), O_RDONLY | O_CLOEXEC));  // waits for the writer
    char buf[65536];
    while (in.valid() && !stopping_.load()) {
      pollfd p{in.get(), POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      const ssize_t n = ::read(in.get(), buf, sizeof buf);
      if (n <= 0) break;
      for (ssize_t done = 0; done < n && !stopping_.load();) {
        const ssize_t w = ::write(write_.get(), buf + done, static_cast<size_t>(n - done));
        if (w > 0) {
          done += w;
        } else if (errno == EAGAIN) {
          pollfd q{write_.get(), POLLOUT, 0};
          ::poll(&q, 1, 100);
        } else {
          break;  // nobody reads any more
        }
      }
    }
    write_.reset();  // end of input for the guest
  }

  std::string fifo_;
  Fd read_, write_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

struct Task {
  std::string id;
  std::string bundle;
  std::string function;  // its name in the FunctionHost
  oci::RuntimeSpec spec;
  std::filesystem::path rootfs;
  bool mounted = false;
  std::string stdin_path, stdout_path, stderr_path;
  bool terminal = false;
  Fd out, err;
  std::unique_ptr<StdinPump> in;
  std::atomic<bool> cancel{false};
  std::thread runner;

  Mutex mu;
  CondVar exited_cv;
  containerd::v1::types::Status status GUARDED_BY(mu) = containerd::v1::types::CREATED;
  int kill_signal GUARDED_BY(mu) = 0;
  uint32_t exit_status GUARDED_BY(mu) = 0;
  google::protobuf::Timestamp exited_at GUARDED_BY(mu);
};

}  // namespace

struct TaskService::Impl {
  ShimConfig config;
  std::unique_ptr<host::FunctionHost> host;
  Mutex mu;
  std::map<std::string, std::shared_ptr<Task>> tasks GUARDED_BY(mu);
  CondVar shutdown_cv;
  bool shutdown GUARDED_BY(mu) = false;
  Mutex events_mu;
  std::unique_ptr<TtrpcClient> events GUARDED_BY(events_mu);

  ~Impl() {
    std::map<std::string, std::shared_ptr<Task>> all;
    {
      MutexLock lock(mu);
      all.swap(tasks);
    }
    for (auto& [id, t] : all) {
      t->cancel.store(true);
      if (t->runner.joinable()) t->runner.join();
      if (t->mounted) ::umount2(t->rootfs.c_str(), MNT_DETACH);
    }
  }

  std::shared_ptr<Task> find(const std::string& id) EXCLUDES(mu) {
    MutexLock lock(mu);
    auto it = tasks.find(id);
    return it == tasks.end() ? nullptr : it->second;
  }

  Result<std::shared_ptr<Task>> get(const std::string& id) {
    auto t = find(id);
    if (!t) return notFound("task " + id + " not found");
    return t;
  }

  // Forwards an event to containerd (best effort: a task does not fail
  // because containerd is away, e.g. restarting).
  void publish(const std::string& topic, const std::string& type,
               const google::protobuf::Message& event) EXCLUDES(events_mu) {
    if (config.ttrpc_address.empty()) return;
    containerd::services::events::ttrpc::v1::ForwardRequest req;
    auto* env = req.mutable_envelope();
    setNow(env->mutable_timestamp());
    env->set_namespace_(config.ns);
    env->set_topic(topic);
    env->mutable_event()->set_type_url(type);
    env->mutable_event()->set_value(event.SerializeAsString());
    const std::string payload = req.SerializeAsString();
    MutexLock lock(events_mu);
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (!events) {
        auto c = TtrpcClient::connect(config.ttrpc_address, std::chrono::seconds(2));
        if (!c.ok()) {
          CWASI_LOG(kWarn, "events: " << c.error().message());
          return;
        }
        events = std::move(*c);
      }
      auto r = events->call("containerd.services.events.ttrpc.v1.Events", "Forward", payload,
                            {{"containerd-namespace-ttrpc", config.ns}}, std::chrono::seconds(5));
      if (r.ok()) return;
      CWASI_LOG(kWarn, "events: " << topic << ": " << r.error().message());
      events.reset();
    }
  }

  // ---- methods -----------------------------------------------------------

  Result<task::CreateTaskResponse> create(const task::CreateTaskRequest& req) {
    if (req.id().empty()) return invalidArgument("task id is empty");
    if (find(req.id())) return alreadyExists("task " + req.id() + " exists");
    auto t = std::make_shared<Task>();
    t->id = req.id();
    t->bundle = req.bundle();
    TRY_ASSIGN(t->spec, oci::readRuntimeSpec(req.bundle()));
    t->rootfs = t->spec.root;
    if (req.rootfs_size() > 0) {
      TRY(mountAll(req.rootfs(), t->rootfs));
      t->mounted = true;
    }
    auto cleanup = [&] {
      if (t->mounted) ::umount2(t->rootfs.c_str(), MNT_DETACH);
    };
    std::string rel = t->spec.args[0];
    while (!rel.empty() && rel[0] == '/') rel.erase(0, 1);
    const std::filesystem::path module = t->rootfs / rel;
    for (const auto& part : std::filesystem::path(rel)) {
      if (part == "..") {
        cleanup();
        return invalidArgument("module " + t->spec.args[0] + " (process.args[0]) leaves the rootfs");
      }
    }
    std::error_code ec;
    if (rel.empty() || !std::filesystem::is_regular_file(module, ec)) {
      cleanup();
      return invalidArgument("module " + t->spec.args[0] + " (process.args[0]) not found in the rootfs");
    }
    t->function = functionNameFor(t->id, t->spec);
    {
      MutexLock lock(mu);
      for (const auto& [other_id, other] : tasks) {
        if (other->function == t->function) {
          cleanup();
          return alreadyExists("function " + t->function + " is already task " + other_id +
                               " in this pod");
        }
      }
    }
    host::FunctionSpec fs(t->function, module);
    if (auto d = t->spec.annotations.find(oci::kAnnotationTrustDomain); d != t->spec.annotations.end()) {
      fs.trust_domain = d->second;
    }
    fs.publish = t->spec.annotations.contains(oci::kAnnotationFunction);
    fs.limits.memory_bytes = t->spec.memory_limit;
    fs.env = t->spec.env;
    // Loads (from the AOT cache when this digest was compiled before).
    if (auto r = host->deploy(std::move(fs)); !r.ok()) {
      cleanup();
      return invalidArgument("module " + t->spec.args[0] + ": " + r.error().message());
    }
    t->stdin_path = req.stdin();
    t->stdout_path = req.stdout();
    t->stderr_path = req.stderr();
    t->terminal = req.terminal();
    // O_RDWR: opening a fifo never blocks then, whether or not containerd's
    // reader is there yet.
    if (!req.stdout().empty()) t->out = Fd(::open(req.stdout().c_str(), O_RDWR | O_CLOEXEC));
    if (!req.stderr().empty()) t->err = Fd(::open(req.stderr().c_str(), O_RDWR | O_CLOEXEC));
    if (!req.stdin().empty()) {
      auto pump = StdinPump::start(req.stdin());
      if (pump.ok()) t->in = std::move(*pump);
    }
    if ((!req.stdout().empty() && !t->out.valid()) || (!req.stderr().empty() && !t->err.valid()) ||
        (!req.stdin().empty() && !t->in)) {
      host->remove(t->function);
      cleanup();
      return invalidArgument("cannot open the task's stdio fifos (" + req.stdout() + ", " +
                             req.stderr() + "): " + std::strerror(errno));
    }
    {
      MutexLock lock(mu);
      tasks[t->id] = t;
    }
    events::TaskCreate ev;
    ev.set_container_id(t->id);
    ev.set_bundle(t->bundle);
    *ev.mutable_rootfs() = req.rootfs();
    ev.mutable_io()->set_stdin(req.stdin());
    ev.mutable_io()->set_stdout(req.stdout());
    ev.mutable_io()->set_stderr(req.stderr());
    ev.mutable_io()->set_terminal(req.terminal());
    ev.set_pid(static_cast<uint32_t>(::getpid()));
    publish("/tasks/create", "containerd.events.TaskCreate", ev);
    task::CreateTaskResponse resp;
    resp.set_pid(static_cast<uint32_t>(::getpid()));
    return resp;
  }

  void finish(Task& t, uint32_t status) {
    {
      MutexLock lock(t.mu);
      t.status = containerd::v1::types::STOPPED;
      t.exit_status = status;
      setNow(&t.exited_at);
      t.exited_cv.notifyAll();
    }
    if (t.in) t.in->stop();
    t.out.reset();
    t.err.reset();
    events::TaskExit ev;
    ev.set_container_id(t.id);
    ev.set_id(t.id);
    ev.set_pid(static_cast<uint32_t>(::getpid()));
    ev.set_exit_status(status);
    {
      MutexLock lock(t.mu);
      *ev.mutable_exited_at() = t.exited_at;
    }
    publish("/tasks/exit", "containerd.events.TaskExit", ev);
  }

  void run(std::shared_ptr<Task> t) {
    runtime::RunContext rc;
    rc.args = t->spec.args;
    rc.env = t->spec.env;
    rc.preopens.push_back({t->rootfs, "/", !t->spec.root_readonly});
    if (t->out.valid()) rc.output = runtime::OutputFd{t->out.get()};
    if (t->err.valid()) rc.error_output = runtime::OutputFd{t->err.get()};
    if (t->in) rc.input = runtime::StdinFile{t->in->guestPath()};
    rc.limits.memory_bytes = t->spec.memory_limit;
    rc.cancel = &t->cancel;
    Result<int> r = 0;
    auto kind = host->kind(t->function);
    if (kind.ok() && *kind == runtime::FunctionKind::kReactor) {
      // A reactor's task serves calls (cwasi.call from other functions)
      // until it is killed.
      while (!t->cancel.load()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
      r = cancelled("stopped");
    } else {
      r = host->runMain(t->function, std::move(rc));
    }
    uint32_t status = 0;
    if (r.ok()) {
      status = static_cast<uint32_t>(*r);
    } else {
      int sig = 0;
      {
        MutexLock lock(t->mu);
        sig = t->kill_signal;
      }
      status = exitStatusFor(r.error(), sig);
      if (r.error().code() != Code::kCancelled && t->err.valid()) {
        const std::string line = "cwasi: " + r.error().message() + "\n";
        (void)!::write(t->err.get(), line.data(), line.size());
      }
    }
    finish(*t, status);
  }

  Result<task::StartResponse> start(const task::StartRequest& req) {
    if (!req.exec_id().empty()) return unimplemented("exec processes are not supported");
    TRY_ASSIGN(auto t, get(req.id()));
    {
      MutexLock lock(t->mu);
      if (t->status != containerd::v1::types::CREATED) {
        return failedPrecondition("task " + t->id + " was already started");
      }
      t->status = containerd::v1::types::RUNNING;
    }
    t->runner = std::thread([this, t] { run(t); });
    events::TaskStart ev;
    ev.set_container_id(t->id);
    ev.set_pid(static_cast<uint32_t>(::getpid()));
    publish("/tasks/start", "containerd.events.TaskStart", ev);
    task::StartResponse resp;
    resp.set_pid(static_cast<uint32_t>(::getpid()));
    return resp;
  }

  Result<void> kill(const task::KillRequest& req) {
    TRY_ASSIGN(auto t, get(req.id()));
    bool never_started = false;
    {
      MutexLock lock(t->mu);
      if (t->status == containerd::v1::types::STOPPED) return {};
      t->kill_signal = static_cast<int>(req.signal());
      never_started = t->status == containerd::v1::types::CREATED;
    }
    // A Wasm guest has no signal handlers: any signal ends it, at the next
    // epoch tick even in a tight loop.
    t->cancel.store(true);
    if (t->in) t->in->stop();  // a guest blocked reading stdin wakes up
    if (never_started) finish(*t, 128 + req.signal());
    return {};
  }

  Result<task::WaitResponse> wait(const task::WaitRequest& req) {
    TRY_ASSIGN(auto t, get(req.id()));
    MutexLock lock(t->mu);
    while (t->status != containerd::v1::types::STOPPED) t->exited_cv.wait(t->mu);
    task::WaitResponse resp;
    resp.set_exit_status(t->exit_status);
    *resp.mutable_exited_at() = t->exited_at;
    return resp;
  }

  Result<task::DeleteResponse> remove(const task::DeleteRequest& req) {
    if (!req.exec_id().empty()) return notFound("no exec process " + req.exec_id());
    TRY_ASSIGN(auto t, get(req.id()));
    task::DeleteResponse resp;
    {
      MutexLock lock(t->mu);
      if (t->status == containerd::v1::types::RUNNING) {
        return failedPrecondition("task " + t->id + " is running: kill it first");
      }
      if (t->status == containerd::v1::types::CREATED) {
        t->status = containerd::v1::types::STOPPED;
        setNow(&t->exited_at);
        t->exited_cv.notifyAll();
      }
      resp.set_exit_status(t->exit_status);
      *resp.mutable_exited_at() = t->exited_at;
    }
    if (t->runner.joinable()) t->runner.join();
    host->remove(t->function);
    if (t->mounted && ::umount2(t->rootfs.c_str(), MNT_DETACH) != 0) {
      CWASI_LOG(kWarn, "unmount " << t->rootfs.string() << ": " << std::strerror(errno));
    }
    t->mounted = false;
    {
      MutexLock lock(mu);
      tasks.erase(t->id);
    }
    resp.set_pid(static_cast<uint32_t>(::getpid()));
    events::TaskDelete ev;
    ev.set_container_id(t->id);
    ev.set_id(t->id);
    ev.set_pid(resp.pid());
    ev.set_exit_status(resp.exit_status());
    *ev.mutable_exited_at() = resp.exited_at();
    publish("/tasks/delete", "containerd.events.TaskDelete", ev);
    return resp;
  }

  Result<task::StateResponse> state(const task::StateRequest& req) {
    TRY_ASSIGN(auto t, get(req.id()));
    task::StateResponse resp;
    resp.set_id(t->id);
    resp.set_bundle(t->bundle);
    resp.set_pid(static_cast<uint32_t>(::getpid()));
    resp.set_stdin(t->stdin_path);
    resp.set_stdout(t->stdout_path);
    resp.set_stderr(t->stderr_path);
    resp.set_terminal(t->terminal);
    MutexLock lock(t->mu);
    resp.set_status(t->status);
    resp.set_exit_status(t->exit_status);
    *resp.mutable_exited_at() = t->exited_at;
    return resp;
  }

  Result<task::PidsResponse> pids(const task::PidsRequest& req) {
    TRY_ASSIGN(auto t, get(req.id()));
    task::PidsResponse resp;
    resp.add_processes()->set_pid(static_cast<uint32_t>(::getpid()));
    return resp;
  }

  // cgroups v1 Metrics, as `ctr task metrics` decodes them: the shim's
  // resident memory (the tasks share it) and its one process.
  Result<task::StatsResponse> stats(const task::StatsRequest& req) {
    TRY_ASSIGN(auto t, get(req.id()));
    io::containerd::cgroups::v1::Metrics m;
    long pages = 0, resident = 0;
    if (FILE* f = std::fopen("/proc/self/statm", "r")) {
      if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
      std::fclose(f);
    }
    m.mutable_memory()->mutable_usage()->set_usage(static_cast<uint64_t>(resident) * ::sysconf(_SC_PAGESIZE));
    m.mutable_memory()->mutable_usage()->set_limit(t->spec.memory_limit);
    m.mutable_pids()->set_current(1);
    task::StatsResponse resp;
    resp.mutable_stats()->set_type_url("io.containerd.cgroups.v1.Metrics");
    resp.mutable_stats()->set_value(m.SerializeAsString());
    return resp;
  }

  Result<task::ConnectResponse> connect(const task::ConnectRequest&) {
    task::ConnectResponse resp;
    resp.set_shim_pid(static_cast<uint32_t>(::getpid()));
    resp.set_task_pid(static_cast<uint32_t>(::getpid()));
    resp.set_version(std::string("cwasi ") + CWASI_VERSION);
    return resp;
  }

  Result<void> closeIO(const task::CloseIORequest& req) {
    TRY_ASSIGN(auto t, get(req.id()));
    if (req.stdin() && t->in) t->in->stop();
    return {};
  }

  Result<void> shutdownRequest(const task::ShutdownRequest& req) {
    MutexLock lock(mu);
    if (!req.now() && !tasks.empty()) return {};
    shutdown = true;
    shutdown_cv.notifyAll();
    return {};
  }
};

TaskService::TaskService(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TaskService::~TaskService() = default;

Result<std::unique_ptr<TaskService>> TaskService::create(ShimConfig config) {
  auto impl = std::make_unique<Impl>();
  impl->config = std::move(config);
  host::HostConfig hc;
  hc.runtime_dir = impl->config.runtime_dir;
  hc.engine.cache_dir = impl->config.cache_dir;
  hc.engine.max_instances = 32;  // a pod's tasks and the calls they serve
  TRY_ASSIGN(impl->host, host::FunctionHost::start(std::move(hc)));
  return std::unique_ptr<TaskService>(new TaskService(std::move(impl)));
}

void TaskService::waitForShutdown() {
  MutexLock lock(impl_->mu);
  while (!impl_->shutdown) impl_->shutdown_cv.wait(impl_->mu);
}

namespace {

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

template <class Req>
TtrpcMethod typedEmpty(std::function<Result<void>(const Req&)> fn) {
  return [fn](const std::string& payload, const Metadata&) -> Result<std::string> {
    Req req;
    if (!req.ParseFromString(payload)) return invalidArgument("malformed request");
    TRY(fn(req));
    return std::string();  // google.protobuf.Empty
  };
}

}  // namespace

void TaskService::registerMethods(TtrpcServer& server) {
  Impl* s = impl_.get();
  server.handle(kService, "Create", typed<task::CreateTaskRequest, task::CreateTaskResponse>(
                                        [s](const auto& r) { return s->create(r); }));
  server.handle(kService, "Start", typed<task::StartRequest, task::StartResponse>(
                                       [s](const auto& r) { return s->start(r); }));
  server.handle(kService, "Wait", typed<task::WaitRequest, task::WaitResponse>(
                                      [s](const auto& r) { return s->wait(r); }));
  server.handle(kService, "Delete", typed<task::DeleteRequest, task::DeleteResponse>(
                                        [s](const auto& r) { return s->remove(r); }));
  server.handle(kService, "State", typed<task::StateRequest, task::StateResponse>(
                                       [s](const auto& r) { return s->state(r); }));
  server.handle(kService, "Pids", typed<task::PidsRequest, task::PidsResponse>(
                                      [s](const auto& r) { return s->pids(r); }));
  server.handle(kService, "Stats", typed<task::StatsRequest, task::StatsResponse>(
                                       [s](const auto& r) { return s->stats(r); }));
  server.handle(kService, "Connect", typed<task::ConnectRequest, task::ConnectResponse>(
                                         [s](const auto& r) { return s->connect(r); }));
  server.handle(kService, "Kill",
                typedEmpty<task::KillRequest>([s](const auto& r) { return s->kill(r); }));
  server.handle(kService, "CloseIO",
                typedEmpty<task::CloseIORequest>([s](const auto& r) { return s->closeIO(r); }));
  server.handle(kService, "Shutdown", typedEmpty<task::ShutdownRequest>(
                                          [s](const auto& r) { return s->shutdownRequest(r); }));
  // Exec, Pause, Resume, Checkpoint, Update, ResizePty: not registered, so
  // they answer Unimplemented (code 12) with the method's name.
}

}  // namespace cwasi::shim
