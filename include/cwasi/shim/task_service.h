// containerd's Task service (containerd.task.v2.Task) for Wasm tasks: each
// container of the shim is a function in the shim's FunctionHost, its module
// read from the container's rootfs (process.args[0]), run as a command with
// stdout/stderr on containerd's fifos, stopped by Kill at the next epoch tick.
// Containers of one pod share the shim, so their functions call each other
// embedded; functions in other shims or daemons on the node are reached
// locally. Lifecycle events go to containerd's Events service.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "cwasi/common/result.h"
#include "cwasi/shim/ttrpc.h"

namespace cwasi::shim {

struct ShimConfig {
  std::string ns;                // containerd namespace
  std::string ttrpc_address;     // containerd's ttrpc socket, for events; "" = none
  std::filesystem::path runtime_dir;  // node registry for local calls; "" = none
  std::filesystem::path cache_dir;    // AOT cache (modules precompiled once per digest)
};

class TaskService {
 public:
  static Result<std::unique_ptr<TaskService>> create(ShimConfig config);
  ~TaskService();  // kills running tasks, unmounts, joins

  // Registers containerd.task.v2.Task's methods.
  void registerMethods(TtrpcServer& server);
  // Blocks until Shutdown was called with no task left (or `now`).
  void waitForShutdown();

  struct Impl;

 private:
  explicit TaskService(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// `containerd-shim-cwasi-v1 [flags] start|delete` and the serving process.
int shimMain(const std::vector<std::string>& args);

}  // namespace cwasi::shim
