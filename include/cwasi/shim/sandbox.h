// A pod's sandbox under CRI. containerd asks the pod's runtime to run the
// sandbox container (/pause) first, then gives every container of the pod the
// namespaces of the process it reported: /proc/<pid>/ns/{net,ipc,uts}. The
// shim therefore holds the sandbox as a real, minimal process — a child of
// the shim that joins the pod's network namespace (the one CNI configured)
// and waits for a signal — so that the pid it reports lives in the pod's
// network, never in the host's.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>

#include "cwasi/common/mutex.h"
#include "cwasi/common/result.h"

namespace cwasi::shim {

class PodSandbox {
 public:
  // Starts the sandbox process, in `network_namespace` when one is given
  // (else in the shim's). InvalidArgument when the namespace cannot be
  // opened; Internal when the process cannot be made or cannot join it.
  static Result<std::unique_ptr<PodSandbox>> start(const std::filesystem::path& network_namespace);
  // Kills the process if it still runs, and reaps it.
  ~PodSandbox();
  PodSandbox(const PodSandbox&) = delete;
  PodSandbox& operator=(const PodSandbox&) = delete;

  uint32_t pid() const { return static_cast<uint32_t>(pid_); }
  // Sends `signal`: SIGTERM and SIGINT end it with status 0 (as pause does),
  // others as the kernel does. No-op once it was reaped.
  void signal(int signal);
  // Blocks until the process ended; its exit status (128+signal when
  // killed). Thread-safe; every caller gets the same status.
  uint32_t wait() EXCLUDES(mu_);

 private:
  explicit PodSandbox(pid_t pid) : pid_(pid) {}
  const pid_t pid_;
  Mutex mu_;  // held while reaping
  std::atomic<bool> reaped_{false};
  uint32_t status_ GUARDED_BY(mu_) = 0;
};

}  // namespace cwasi::shim
