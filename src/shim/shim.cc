// The shim binary's three roles: `start` (spawn or reuse the serving shim,
// print its address), `delete` (clean up after a shim containerd cannot
// reach), and serving ttrpc on the socket `start` handed down as fd 3.
#include "cwasi/shim/shim.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <thread>

#include "cwasi/common/build_info.h"
#include "cwasi/common/files.h"
#include "cwasi/common/log.h"
#include "cwasi/common/net.h"
#include "cwasi/common/sha256.h"
#include "cwasi/oci/bundle.h"
#include "cwasi/runtime/engine.h"
#include "cwasi/shim/event_sink.h"
#include "cwasi/shim/task_host.h"
#include "cwasi/shim/confinement.h"
#include "cwasi/shim/task_service.h"
#include "cwasi/shim/task_table.h"
#include "github.com/containerd/containerd/runtime/v2/task/shim.pb.h"
#include "timestamp.h"

namespace cwasi::shim {
namespace {

namespace fs = std::filesystem;
constexpr int kListenerFd = 3;

struct Flags {
  std::string ns = "default";
  std::string address;         // containerd's gRPC address
  std::string publish_binary;
  std::string id;
  std::string bundle;
  std::string socket;          // the serving process's own socket (from start)
  bool debug = false;
  std::string action;          // "start", "delete" or "" (serve)
  std::vector<std::string> passthrough;  // flags for the serving process
};

Result<Flags> parseFlags(const std::vector<std::string>& args) {
  Flags f;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string a = args[i];
    if (a.rfind("--", 0) == 0) a.erase(0, 1);
    auto value = [&](std::string* out) -> Result<void> {
      const size_t eq = a.find('=');
      if (eq != std::string::npos) {
        *out = a.substr(eq + 1);
        a.resize(eq);
        return {};
      }
      if (i + 1 >= args.size()) return invalidArgument(a + " needs a value");
      *out = args[++i];
      return {};
    };
    const std::string name = a.substr(0, a.find('='));
    if (name == "-namespace") {
      TRY(value(&f.ns));
    } else if (name == "-address") {
      TRY(value(&f.address));
    } else if (name == "-publish-binary") {
      TRY(value(&f.publish_binary));
    } else if (name == "-id") {
      TRY(value(&f.id));
    } else if (name == "-bundle") {
      TRY(value(&f.bundle));
    } else if (name == "-socket") {
      TRY(value(&f.socket));
      continue;
    } else if (name == "-debug") {
      f.debug = true;
      continue;
    } else if (a == "start" || a == "delete") {
      f.action = a;
      continue;
    } else if (a == "-v" || a == "-version") {
      f.action = "version";
      continue;
    } else {
      continue;  // flags of newer containerd versions: ignored
    }
    f.passthrough.push_back(name);
    f.passthrough.push_back(name == "-namespace"        ? f.ns
                            : name == "-address"        ? f.address
                            : name == "-publish-binary" ? f.publish_binary
                            : name == "-id"             ? f.id
                                                        : f.bundle);
  }
  return f;
}

fs::path runtimeDir() {
  if (const char* d = std::getenv("CWASI_RUNTIME_DIR"); d && *d) return d;
  return ::getuid() == 0 ? fs::path("/run/cwasi") : fs::path("/tmp/cwasi-" + std::to_string(::getuid()));
}

// One shim per pod (sandbox id), else per task; the socket is named for
// containerd's address, the namespace and that group.
fs::path socketFor(const Flags& f, const std::string& group) {
  const std::string key = f.address + "|" + f.ns + "|" + group;
  const std::string hash = sha256Hex({reinterpret_cast<const uint8_t*>(key.data()), key.size()});
  return runtimeDir() / "shims" / (hash.substr(0, 32) + ".sock");
}

Result<void> writeText(const fs::path& p, const std::string& s) {
  return writeFileAtomic(p, {reinterpret_cast<const uint8_t*>(s.data()), s.size()});
}

// The shim serving a task: its pod's, else the task's own (also when its
// spec cannot be read).
std::string groupOf(const Flags& f, const Result<oci::RuntimeSpec>& spec) {
  if (spec.ok()) {
    auto it = spec->annotations.find(oci::kAnnotationSandboxId);
    if (it != spec->annotations.end() && !it->second.empty()) return it->second;
  }
  return f.id;
}

int startCommand(const Flags& f, const std::string& self) {
  const fs::path bundle = f.bundle.empty() ? fs::current_path() : fs::path(f.bundle);
  const std::string group = groupOf(f, oci::readRuntimeSpec(bundle));
  const fs::path sock = socketFor(f, group);
  const std::string address = "unix://" + sock.string();
  std::error_code ec;
  fs::create_directories(sock.parent_path(), ec);
  // A running shim for this pod: share it.
  if (group != f.id) {
    if (net::connectUnix(sock.string(), net::in(std::chrono::milliseconds(500))).ok()) {
      auto pid = readFile(sock.string() + ".pid");
      (void)writeText(bundle / "address", address);
      if (pid.ok()) (void)writeText(bundle / "shim.pid", std::string(pid->begin(), pid->end()));
      std::cout << address << std::flush;
      return 0;
    }
  }
  ::unlink(sock.c_str());
  auto listener = net::listenUnix(sock.string());
  if (!listener.ok()) {
    std::cerr << "containerd-shim-cwasi-v1: " << listener.error().message() << "\n";
    return 1;
  }
  const pid_t child = ::fork();
  if (child < 0) return 1;
  if (child == 0) {
    ::setsid();
    if (listener->get() == kListenerFd) {
      ::fcntl(kListenerFd, F_SETFD, 0);  // dup2 onto itself would keep FD_CLOEXEC
    } else {
      ::dup2(listener->get(), kListenerFd);
    }
    int null = ::open("/dev/null", O_RDWR);
    ::dup2(null, 0);
    ::dup2(null, 1);
    // Diagnostics go to a log file beside the socket (containerd's own log
    // fifo is optional and we do not require it).
    int log = ::open((sock.string() + ".log").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    ::dup2(log >= 0 ? log : null, 2);
    std::vector<std::string> argv = {self};
    argv.insert(argv.end(), f.passthrough.begin(), f.passthrough.end());
    if (f.bundle.empty()) {
      argv.push_back("-bundle");
      argv.push_back(bundle.string());
    }
    argv.push_back("-socket");
    argv.push_back(sock.string());
    std::vector<char*> cargv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    ::execv(self.c_str(), cargv.data());
    _exit(127);
  }
  const std::string pid = std::to_string(child);
  (void)writeText(sock.string() + ".pid", pid);
  (void)writeText(bundle / "shim.pid", pid);
  (void)writeText(bundle / "address", address);
  std::cout << address << std::flush;
  return 0;
}

int deleteCommand(const Flags& f) {
  const fs::path bundle = f.bundle.empty() ? fs::current_path() : fs::path(f.bundle);
  const auto spec = oci::readRuntimeSpec(bundle);
  const fs::path rootfs = spec.ok() ? spec->root : bundle / "rootfs";
  ::umount2(rootfs.c_str(), MNT_DETACH);
  // containerd calls delete when it cannot reach the shim: its socket files
  // are stale unless the shim still answers.
  const fs::path sock = socketFor(f, groupOf(f, spec));
  if (!net::connectUnix(sock.string(), net::in(std::chrono::milliseconds(200))).ok()) {
    for (const char* suffix : {"", ".pid", ".log"}) ::unlink((sock.string() + suffix).c_str());
  }
  containerd::task::v2::DeleteResponse resp;
  resp.set_exit_status(128 + SIGKILL);
  setNow(resp.mutable_exited_at());
  std::cout << resp.SerializeAsString() << std::flush;
  return 0;
}

int serve(const Flags& f) {
  ::signal(SIGPIPE, SIG_IGN);
  struct stat st {};
  if (::fstat(kListenerFd, &st) != 0 || !S_ISSOCK(st.st_mode)) {
    std::cerr << "containerd-shim-cwasi-v1: run by containerd (start/delete), not directly\n";
    return 1;
  }
  if (auto confined = confineShim(); !confined.ok()) {
    std::cerr << "containerd-shim-cwasi-v1: cannot confine the shim: " << confined.error().message()
              << "\n";
    return 1;
  }
  TaskHostConfig hc;
  hc.runtime_dir = runtimeDir();
  hc.cache_dir = runtime::defaultCacheDir();
  // The cluster map the node agent keeps: CWASI_CLUSTER_FILE, else
  // cluster.json in the runtime dir (the agent's default place on a node).
  hc.cluster_file = hc.runtime_dir / "cluster.json";
  if (const char* map = std::getenv("CWASI_CLUSTER_FILE"); map && *map) hc.cluster_file = map;
  auto host = startFunctionHostTasks(hc);
  if (!host.ok()) {
    std::cerr << "containerd-shim-cwasi-v1: " << host.error().message() << "\n";
    return 1;
  }
  const char* ttrpc_address = std::getenv("TTRPC_ADDRESS");
  auto events = forwardEventsTo(ttrpc_address ? ttrpc_address : "", f.ns);
  TaskTable tasks(**host, *events, static_cast<uint32_t>(::getpid()));
  TaskService service(tasks);
  {
    TtrpcServer server;
    service.registerMethods(server);
    server.serve(Fd(kListenerFd));
    tasks.waitForShutdown();
    // The socket's name goes first (a new shim for the pod may take it);
    // the server's end then waits for the Shutdown answer to go out.
    if (!f.socket.empty()) {
      for (const char* suffix : {"", ".pid", ".log"}) ::unlink((f.socket + suffix).c_str());
    }
  }
  return 0;
}

}  // namespace

int shimMain(const std::vector<std::string>& args) {
  auto flags = parseFlags(args);
  if (!flags.ok()) {
    std::cerr << "containerd-shim-cwasi-v1: " << flags.error().message() << "\n";
    return 1;
  }
  if (flags->action == "version") {
    std::cout << "containerd-shim-cwasi-v1:\n  Version: " << kVersion << "\n  Revision: "
              << buildSha() << "\n  Wasmtime: " << runtime::wasmtimeVersion() << "\n";
    return 0;
  }
  if (flags->action == "start") {
    char self[4096];
    const ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) return 1;
    self[n] = 0;
    return startCommand(*flags, self);
  }
  if (flags->action == "delete") return deleteCommand(*flags);
  return serve(*flags);
}

}  // namespace cwasi::shim
