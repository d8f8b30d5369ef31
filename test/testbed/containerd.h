// Testbed: a real containerd daemon with its root, state, sockets and config
// under one directory, and `ctr` pointed at it. The shims it starts inherit
// its environment (PATH with our shim, CWASI_RUNTIME_DIR, CWASI_CACHE_DIR).
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cwasi/common/result.h"
#include "cwasi/common/subprocess.h"
#include "testbed/child_process.h"

namespace cwasi::testbed {

class ContainerdProcess {
 public:
  // `env`: added to containerd's environment (and so to its shims').
  static Result<std::unique_ptr<ContainerdProcess>> start(
      const std::filesystem::path& dir, std::vector<std::pair<std::string, std::string>> env);
  ~ContainerdProcess();  // stops containerd, then kills any shim it left
  ContainerdProcess(const ContainerdProcess&) = delete;
  ContainerdProcess& operator=(const ContainerdProcess&) = delete;

  // Stops containerd (SIGTERM) and starts it again on the same state; running
  // shims and their tasks are left alone.
  Result<void> restart();
  // Runs `ctr -a <socket> args...` with `input` on its stdin.
  SubprocessResult ctr(const std::vector<std::string>& args,
                       std::chrono::milliseconds timeout = std::chrono::seconds(60),
                       const std::string& input = "") const;
  const std::string& socket() const { return socket_; }
  // Shim processes started for this containerd (their command lines name its socket).
  std::vector<int> shimPids() const;

 private:
  ContainerdProcess(std::filesystem::path dir, std::vector<std::pair<std::string, std::string>> env)
      : dir_(std::move(dir)), env_(std::move(env)), socket_((dir_ / "containerd.sock").string()) {}
  Result<void> launch();

  std::filesystem::path dir_;
  std::vector<std::pair<std::string, std::string>> env_;
  std::string socket_;
  std::optional<ChildProcess> process_;
};

}  // namespace cwasi::testbed
