// A FunctionHost is a process's set of functions and its communication
// layer: it loads functions into one engine and serves calls to them from its
// own functions (embedded), from other processes on the node (local, shared
// memory over a unix socket), from other hosts (remote, TCP) and through
// Redis (the baseline). Its functions reach others through the guest ABI
// (cwasi.call / send / recv), routed by the LocalityResolver.
//
// `cwasi serve` is a thin wrapper around it; the node daemon and the shim
// embed it.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "cwasi/comm/channel.h"
#include "cwasi/comm/locality.h"
#include "cwasi/common/result.h"
#include "cwasi/runtime/engine.h"
#include "cwasi/runtime/instance.h"

namespace cwasi::comm {

struct FunctionSpec {
  FunctionSpec() = default;
  FunctionSpec(std::string n, std::filesystem::path m) : name(std::move(n)), module(std::move(m)) {}

  std::string name;              // [A-Za-z0-9._-], unique per host
  std::filesystem::path module;  // .wasm / .wat
  std::string trust_domain = "default";
  runtime::Limits limits;
  std::vector<std::pair<std::string, std::string>> env;  // the function's environment
  // Listed in the node registry (and served through Redis) so that other
  // hosts can call it; false keeps it reachable from this host only.
  bool publish = true;
};

struct HostConfig {
  std::vector<FunctionSpec> functions;
  // TCP address to serve remote calls on ("127.0.0.1:0" picks a port); empty: none.
  std::string listen;
  // Node runtime dir: the registry and this host's unix socket; empty: no local serving.
  std::filesystem::path runtime_dir;
  // Cluster map file (function -> host:port); empty: no remote routes.
  std::filesystem::path cluster_file;
  ModePolicy policy = ModePolicy::kAuto;
  // Redis "host:port" for the baseline mode; empty: off.
  std::string redis;
  // Shared secret that TCP and unix peers must present; empty: none required.
  std::string token;
  // Capacity of each shared-memory ring (one per direction per connection).
  size_t ring_bytes = 4u << 20;
  // Largest request/response/message accepted from a peer.
  uint64_t max_payload = 1ull << 30;
  // Deadline of a call whose caller gave none.
  std::chrono::milliseconds default_timeout{30000};
  // Messages a mailbox holds before send answers "unavailable".
  size_t mailbox_capacity = 4096;
  // Redis worker threads per served function.
  int redis_workers = 8;
  runtime::EngineConfig engine;
};

// The result of invoking a function through the host.
struct CallResult {
  int32_t status = 0;           // guest ABI status (0: the function succeeded)
  std::vector<uint8_t> body;    // response, or the error text when status != 0
  bool cold_start = false;      // invoke(): the module had to be loaded first
  std::string log;              // invoke(): what the function wrote to stderr
};

class FunctionHost {
 public:
  // Loads every function, opens the listeners, publishes the registry
  // entries. Errors name the function or address at fault.
  static Result<std::unique_ptr<FunctionHost>> start(HostConfig config);
  // Stops serving, withdraws registry entries, joins every thread.
  ~FunctionHost();
  FunctionHost(const FunctionHost&) = delete;
  FunctionHost& operator=(const FunctionHost&) = delete;

  // Adds a function, or replaces the one of the same name (in-flight calls
  // finish on the old one; its mailbox carries over). The module is loaded
  // now: errors name it. Thread-safe.
  Result<void> deploy(FunctionSpec spec);
  // Removes a function; in-flight calls finish. False when unknown.
  bool remove(std::string_view name);
  // Drops a function's compiled module (scale to zero); the next call loads
  // it again from the AOT cache — a cold start. Thread-safe.
  void unload(std::string_view name);
  bool loaded(std::string_view name);
  // Loads a function's module now if it is not (scale up from zero, warm).
  // NotFound when unknown; the load's error otherwise.
  Result<void> load(std::string_view name);
  std::vector<std::string> functionNames();

  // Runs function `name` hosted here with `request` (what a gateway or a
  // test does). Thread-safe.
  Result<CallResult> invoke(std::string_view name, std::span<const uint8_t> request,
                            const CallOptions& options = {});
  // Whether a deployed function is a command or a reactor (loads it).
  Result<runtime::FunctionKind> kind(std::string_view name);
  // Runs a deployed command function's main with `context` (its args, env,
  // stdio, preopens, limits, cancel flag are the caller's); the function's
  // own calls (cwasi.call...) are routed like any other. Returns the exit
  // code, or the invocation's error. Thread-safe.
  Result<int> runMain(std::string_view name, runtime::RunContext context);
  // Calls `target` wherever it runs, exactly as a guest's cwasi.call would
  // from `caller_domain`. Thread-safe.
  Result<CallResult> call(std::string_view target, std::span<const uint8_t> request,
                          std::string_view caller_domain = "default",
                          const CallOptions& options = {});
  // Sends a message to `target`'s mailbox, as cwasi.send would.
  Result<int32_t> send(std::string_view target, std::span<const uint8_t> message,
                       std::string_view caller_domain = "default");

  // The bound TCP address ("127.0.0.1:41234"), or "" when not listening.
  const std::string& tcpAddress() const;
  // This host's unix socket, or "" when not serving locally.
  const std::string& unixSocket() const;
  CommStats& stats();
  runtime::Engine& engine();
  LocalityResolver& resolver();

  struct Impl;

 private:
  explicit FunctionHost(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The `cwasi` import module's communication functions (call, send, recv),
// for an engine whose instances may not belong to a FunctionHost: there they
// answer CWASI_ERR_UNSUPPORTED. FunctionHost registers them itself.
std::vector<runtime::HostFunction> guestAbiFunctions();

}  // namespace cwasi::comm
