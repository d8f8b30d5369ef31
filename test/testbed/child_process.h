// Testbed (for tests and benchmarks, not the product): a long-running child
// process — a `cwasi serve` host, a Redis
// server. Started with its stdout on a pipe (to read its ready line), stopped
// — and always reaped — by its owner.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cwasi/common/result.h"

namespace cwasi::testbed {

class ChildProcess {
 public:
  // Starts argv (argv[0] searched in PATH when it has no '/'). The child is
  // killed when the calling thread exits: start children from a thread that
  // outlives them.
  static Result<ChildProcess> start(const std::vector<std::string>& argv,
                                    const std::vector<std::pair<std::string, std::string>>& env = {});
  ChildProcess(ChildProcess&& o) noexcept;
  ChildProcess& operator=(ChildProcess&& o) noexcept;
  ~ChildProcess();  // SIGKILL + reap if still running

  // The next line of stdout (without '\n'), or nullopt at EOF / timeout.
  std::optional<std::string> readLine(std::chrono::milliseconds timeout);
  void signal(int sig);
  // Waits for exit; returns the exit code (128+signal when killed), or -1 on timeout.
  int wait(std::chrono::milliseconds timeout);
  // SIGTERM, then SIGKILL after `grace`. Returns the exit code as wait().
  int stop(std::chrono::milliseconds grace = std::chrono::seconds(5));
  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0; }

 private:
  ChildProcess() = default;
  pid_t pid_ = -1;
  int out_fd_ = -1;
  std::string buffer_;
};

// A free TCP port on 127.0.0.1 at the time of asking.
int freePort();

// Processes whose command line contains every one of `parts`.
std::vector<int> processesWithCmdline(const std::vector<std::string>& parts);

// A field of /proc/PID/status as a number ("VmRSS" and "VmHWM" in KiB,
// "Threads"), or -1.
long procStatus(int pid, std::string_view key);

// The children of every thread of `pid`.
std::vector<int> childrenOf(int pid);

// A Redis server on a free loopback port, with no persistence, stopped with
// its owner.
class RedisProcess {
 public:
  static Result<RedisProcess> start();
  const std::string& address() const { return address_; }
  pid_t pid() const { return process_.pid(); }

 private:
  explicit RedisProcess(ChildProcess p, std::string addr)
      : process_(std::move(p)), address_(std::move(addr)) {}
  ChildProcess process_;
  std::string address_;
};

}  // namespace cwasi::testbed
