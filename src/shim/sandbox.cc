#include "cwasi/shim/sandbox.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "cwasi/common/fd.h"

namespace cwasi::shim {
namespace {

void endQuietly(int) { _exit(0); }

// The sandbox process, between fork and its end. Only async-signal-safe
// calls: the shim is multi-threaded. Reports a failure to join the
// namespace on `report` (an errno), then exits.
[[noreturn]] void holdSandbox(int netns, int report) {
  sigset_t all;
  sigemptyset(&all);
  sigprocmask(SIG_SETMASK, &all, nullptr);
  if (netns >= 0 && ::setns(netns, CLONE_NEWNET) != 0) {
    const int err = errno;
    (void)!::write(report, &err, sizeof err);
    _exit(127);
  }
  struct sigaction quiet {};
  quiet.sa_handler = endQuietly;
  sigaction(SIGTERM, &quiet, nullptr);
  sigaction(SIGINT, &quiet, nullptr);
  ::prctl(PR_SET_NAME, "cwasi-pause", 0, 0, 0);
  ::close(report);  // the parent reads end of file: joined
  for (;;) ::pause();
}

}  // namespace

Result<std::unique_ptr<PodSandbox>> PodSandbox::start(const std::filesystem::path& network_namespace) {
  Fd netns;
  if (!network_namespace.empty()) {
    netns = Fd(::open(network_namespace.c_str(), O_RDONLY | O_CLOEXEC));
    if (!netns.valid()) {
      const int err = errno;
      return invalidArgument("cannot open the pod's network namespace " +
                             network_namespace.string() + ": " + std::strerror(err));
    }
  }
  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0) return errnoError("pipe", errno);
  Fd report_read(report[0]), report_write(report[1]);
  const pid_t pid = ::fork();
  if (pid < 0) return errnoError("fork", errno);
  if (pid == 0) holdSandbox(netns.valid() ? netns.get() : -1, report_write.get());
  report_write.reset();
  auto sandbox = std::unique_ptr<PodSandbox>(new PodSandbox(pid));
  int err = 0;
  ssize_t n;
  do {
    n = ::read(report_read.get(), &err, sizeof err);
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(sizeof err)) {
    return internal("the sandbox cannot join the pod's network namespace " +
                    network_namespace.string() + ": " + std::strerror(err));
  }
  return sandbox;
}

PodSandbox::~PodSandbox() {
  if (!reaped_.load()) ::kill(pid_, SIGKILL);  // not reaped: the pid is still ours
  wait();
}

void PodSandbox::signal(int signal) {
  if (!reaped_.load()) ::kill(pid_, signal);
}

uint32_t PodSandbox::wait() {
  MutexLock lock(mu_);
  if (reaped_.load()) return status_;
  int st = 0;
  while (::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
  }
  status_ = WIFEXITED(st) ? static_cast<uint32_t>(WEXITSTATUS(st))
                          : 128 + static_cast<uint32_t>(WTERMSIG(st));
  reaped_.store(true);
  return status_;
}

}  // namespace cwasi::shim
