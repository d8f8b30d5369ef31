// Testbed: two function hosts joined in one mode — a "caller" host in this
// process and, for the local, remote and redis modes, a "target" host in a
// child process (`cwasi serve`), optionally inside a network namespace. Tests
// and benchmarks build on it; in embedded mode the caller hosts everything.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cwasi/host/function_host.h"
#include "testbed/child_process.h"
#include "testbed/netns.h"

namespace cwasi::testbed {

struct HostPairOptions {
  comm::Mode mode = comm::Mode::kEmbedded;
  std::filesystem::path cwasi_binary;  // for the target host
  // (name, module path) per host.
  std::vector<std::pair<std::string, std::filesystem::path>> caller_functions, target_functions;
  std::filesystem::path work_dir;  // runtime dir, cluster map, cache go here
  size_t ring_bytes = 4u << 20;
  std::string token;               // remote mode
  std::string redis;               // redis mode: "host:port"
  const NetnsLink* netns = nullptr;  // remote mode: run the target host in it
  uint32_t max_instances = 256;
  std::chrono::milliseconds default_timeout{60000};
};

class HostPair {
 public:
  static Result<std::unique_ptr<HostPair>> create(const HostPairOptions& options);
  ~HostPair();  // stops the target host (SIGTERM), then the caller host

  host::FunctionHost& caller() { return *caller_; }
  ChildProcess* target() { return target_ ? &*target_ : nullptr; }  // null when embedded
  // Stops the target host; its exit code (0 when it stopped cleanly).
  int stopTarget();

 private:
  HostPair() = default;
  std::optional<ChildProcess> target_;
  std::unique_ptr<host::FunctionHost> caller_;
};

}  // namespace cwasi::testbed
