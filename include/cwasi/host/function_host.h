// A FunctionHost is a process's set of functions: it loads them into one
// engine, keeps their table (load, unload, replace, remove) and mailboxes,
// and runs an instance per invocation. How bytes reach other functions —
// embedded, local, remote, Redis — is the comm layer's Router, which the host
// owns and which calls back into the host for the functions that run here.
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
#include "cwasi/comm/outbound.h"
#include "cwasi/comm/router.h"
#include "cwasi/common/result.h"
#include "cwasi/runtime/engine.h"
#include "cwasi/runtime/instance.h"

namespace cwasi::host {

using comm::CallOptions;

struct FunctionSpec {
  FunctionSpec() = default;
  FunctionSpec(std::string n, std::filesystem::path m) : name(std::move(n)), module(std::move(m)) {}

  std::string name;              // [A-Za-z0-9._-], unique per host
  std::filesystem::path module;  // .wasm / .wat
  std::string trust_domain = "default";
  runtime::Limits limits;
  std::vector<std::pair<std::string, std::string>> env;  // the function's environment
  std::vector<runtime::Preopen> preopens;  // directories the function sees (none by default)
  // Listed in the node registry (and served through Redis) so that other
  // hosts can call it; false keeps it reachable from this host only.
  bool publish = true;
  // Where the function's stderr goes, from every invocation however it was
  // called; null discards it. Shared: a function's log outlives any one
  // deployment of it (an update keeps writing to the same log).
  std::shared_ptr<runtime::OutputWriter> log;
  // Destinations its outbound HTTP requests (cwasi.http_request) may reach;
  // none by default.
  comm::OutboundGrants allowed_outbound_hosts;
};

// The Router's settings (listeners, runtime dir, cluster map, policy...),
// plus the host's own.
struct HostConfig : comm::RouterConfig {
  std::vector<FunctionSpec> functions;
  // Messages a mailbox holds before send answers "unavailable".
  size_t mailbox_capacity = 4096;
  runtime::EngineConfig engine;
  // Bounds of the functions' outbound HTTP requests.
  comm::OutboundConfig outbound;
};

// A function's response to one invocation.
struct Response {
  std::vector<uint8_t> body;
  // The status and headers the function set (guest ABI v2); empty when it
  // set none.
  runtime::ResponseHead head;
  bool cold_start = false;  // invoke(): the module had to be loaded first
};

struct Hosted;

// A Hosted function loaded and checked but not serving yet
// (FunctionHost::prepare).
class Prepared {
 public:
  const FunctionSpec& spec() const;

 private:
  friend class FunctionHost;
  explicit Prepared(std::shared_ptr<Hosted> fn) : fn_(std::move(fn)) {}
  std::shared_ptr<Hosted> fn_;
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
  // deploy() in two steps, for a caller with more to do in between (write
  // a record): prepare loads and checks the module and changes nothing;
  // commit swaps it in (and publishes it), and fails only if publishing does.
  Result<Prepared> prepare(FunctionSpec spec);
  Result<void> commit(Prepared prepared);
  // Removes a function; in-flight calls finish. False when unknown.
  bool remove(std::string_view name);
  // Drops a function's compiled module (scale to zero); the next call loads
  // it again from the AOT cache — a cold start. Thread-safe.
  void unload(std::string_view name);
  bool loaded(std::string_view name);
  // Loads a function's module now if it is not (scale up from zero, warm).
  // NotFound when unknown; the load's error otherwise.
  Result<void> load(std::string_view name);

  // Runs function `name` hosted here with `request` (what a gateway or a
  // test does). Errors: NotFound, DeadlineExceeded (its timeout or the
  // caller's deadline), Unavailable (no instance could be made), Aborted
  // (the function failed: its output or the trap is the message).
  // Thread-safe.
  Result<Response> invoke(std::string_view name, std::span<const uint8_t> request,
                          const CallOptions& options = {});
  // Whether a deployed function is a command or a reactor (loads it).
  Result<runtime::FunctionKind> kind(std::string_view name);
  // Runs a deployed command function's main with `context` (its args, env,
  // stdio, preopens, limits, cancel flag are the caller's); the function's
  // own calls (cwasi.call...) are routed like any other. Returns the exit
  // code, or the invocation's error. Thread-safe.
  Result<int> runMain(std::string_view name, runtime::RunContext context);
  // Calls `target` wherever it runs, exactly as a guest's cwasi.call would
  // from `caller_domain`. Same errors as invoke(), plus the transport's.
  // Thread-safe.
  Result<std::vector<uint8_t>> call(std::string_view target, std::span<const uint8_t> request,
                                    std::string_view caller_domain = "default",
                                    const CallOptions& options = {});
  // Sends a message to `target`'s mailbox, as cwasi.send would.
  Result<void> send(std::string_view target, std::span<const uint8_t> message,
                    std::string_view caller_domain = "default");

  // Serves remote calls on an already listening socket (comm::Router::serveTcp).
  Result<std::string> serveRemote(Fd listener);
  // The bound TCP address ("127.0.0.1:41234"), or "" when not listening.
  const std::string& tcpAddress() const;
  // This host's unix socket, or "" when not serving locally.
  const std::string& unixSocket() const;
  comm::CommStats& stats();

  struct Impl;

 private:
  explicit FunctionHost(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cwasi::host
