#include "testbed/child_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "cwasi/common/net.h"
#include "cwasi/common/subprocess.h"

extern char** environ;

namespace cwasi::testbed {

Result<ChildProcess> ChildProcess::start(const std::vector<std::string>& argv,
                                         const std::vector<std::pair<std::string, std::string>>& env) {
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) return errnoError("pipe", errno);
  // Everything the child needs is prepared before fork: after it, only
  // async-signal-safe calls.
  std::vector<std::string> envs;
  // Given variables replace inherited ones (a duplicate PATH would be
  // ignored by programs that read the first).
  for (char** e = environ; *e; ++e) {
    const std::string_view entry(*e);
    bool overridden = false;
    for (const auto& kv : env) overridden = overridden || entry.substr(0, entry.find('=')) == kv.first;
    if (!overridden) envs.emplace_back(*e);
  }
  for (const auto& [k, v] : env) envs.push_back(k + "=" + v);
  std::vector<char*> envp, args;
  for (auto& e : envs) envp.push_back(e.data());
  envp.push_back(nullptr);
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const bool search = argv[0].find('/') == std::string::npos;
  const pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(pipefd[0]);
    ::close(pipefd[1]);
    return errnoError("fork", errno);
  }
  if (pid == 0) {
    // Killed if the thread that started it goes away (a crashed test never
    // leaves servers behind holding its output pipes).
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) _exit(127);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGPIPE, SIG_DFL);
    ::dup2(pipefd[1], 1);
    if (search) {
      ::execvpe(args[0], args.data(), envp.data());
    } else {
      ::execve(args[0], args.data(), envp.data());
    }
    _exit(127);
  }
  ::close(pipefd[1]);
  ChildProcess c;
  c.pid_ = pid;
  c.out_fd_ = pipefd[0];
  return c;
}

ChildProcess::ChildProcess(ChildProcess&& o) noexcept
    : pid_(std::exchange(o.pid_, -1)), out_fd_(std::exchange(o.out_fd_, -1)), buffer_(std::move(o.buffer_)) {}

ChildProcess& ChildProcess::operator=(ChildProcess&& o) noexcept {
  if (this != &o) {
    this->~ChildProcess();
    pid_ = std::exchange(o.pid_, -1);
    out_fd_ = std::exchange(o.out_fd_, -1);
    buffer_ = std::move(o.buffer_);
  }
  return *this;
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    int status;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }
  if (out_fd_ >= 0) ::close(out_fd_);
  out_fd_ = -1;
}

std::optional<std::string> ChildProcess::readLine(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto nl = buffer_.find('\n');
    if (nl != std::string::npos) {
      std::string line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      return line;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || out_fd_ < 0) return std::nullopt;
    pollfd p{out_fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    char buf[4096];
    ssize_t n = ::read(out_fd_, buf, sizeof buf);
    if (n <= 0) return std::nullopt;
    buffer_.append(buf, static_cast<size_t>(n));
  }
}

void ChildProcess::signal(int sig) {
  if (pid_ > 0) ::kill(pid_, sig);
}

int ChildProcess::wait(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return -1;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
      return -1;
    }
    if (std::chrono::steady_clock::now() >= deadline) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

int ChildProcess::stop(std::chrono::milliseconds grace) {
  signal(SIGCONT);  // in case a test stopped it
  signal(SIGTERM);
  int code = wait(grace);
  if (code == -1 && pid_ > 0) {
    signal(SIGKILL);
    code = wait(std::chrono::seconds(5));
  }
  return code;
}

int freePort() {
  auto fd = net::listenTcp({"127.0.0.1", 0}, nullptr);
  if (!fd.ok()) return -1;
  sockaddr_in a{};
  socklen_t len = sizeof a;
  ::getsockname(fd->get(), reinterpret_cast<sockaddr*>(&a), &len);
  return ntohs(a.sin_port);
}

Result<RedisProcess> RedisProcess::start() {
  for (int attempt = 0; attempt < 5; ++attempt) {
    int port = freePort();
    TRY_ASSIGN(ChildProcess p,
               ChildProcess::start({"redis-server", "--port", std::to_string(port), "--bind",
                                    "127.0.0.1", "--save", "", "--appendonly", "no",
                                    "--protected-mode", "no", "--loglevel", "warning"}));
    std::string address = "127.0.0.1:" + std::to_string(port);
    // Ready when it answers PING.
    for (int i = 0; i < 200; ++i) {
      auto r = runSubprocess({.argv = {"redis-cli", "-p", std::to_string(port), "ping"},
                              .timeout = std::chrono::seconds(2)});
      if (r.ok() && r->out.find("PONG") != std::string::npos) {
        return RedisProcess(std::move(p), address);
      }
      if (p.wait(std::chrono::milliseconds(0)) != -1) break;  // it exited: port taken?
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  return unavailable("could not start redis-server");
}

std::vector<int> processesWithCmdline(const std::vector<std::string>& parts) {
  std::vector<int> pids;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(entry.path() / "cmdline", std::ios::binary);
    const std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    bool all = !cmdline.empty();
    for (const auto& p : parts) all = all && cmdline.find(p) != std::string::npos;
    if (all) pids.push_back(std::stoi(name));
  }
  return pids;
}

long procStatus(int pid, std::string_view key) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.size() > key.size() && line.compare(0, key.size(), key) == 0 && line[key.size()] == ':') {
      return std::atol(line.c_str() + key.size() + 1);
    }
  }
  return -1;
}

std::vector<int> childrenOf(int pid) {
  std::vector<int> out;
  std::error_code ec;
  for (const auto& t : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
    std::ifstream in(t.path() / "children");
    for (int c; in >> c;) out.push_back(c);
  }
  return out;
}

}  // namespace cwasi::testbed
