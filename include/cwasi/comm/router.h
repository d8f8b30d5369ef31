// The Router moves a call or a message to its target wherever it runs: it
// owns the channels of the four modes, the LocalityResolver that picks one,
// the node registry and cluster map it reads, the servers that let other
// processes and hosts reach the functions of this process, and the counters of
// every decision. It never runs a function itself: what runs here is behind
// LocalFunctions, which the process that hosts functions implements.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "cwasi/comm/channel.h"
#include "cwasi/comm/locality.h"
#include "cwasi/comm/outbound.h"
#include "cwasi/common/fd.h"
#include "cwasi/common/result.h"
#include "cwasi/runtime/instance.h"

namespace cwasi::comm {

// The functions of this process, as the servers and the guest ABI need them.
// Implementations are thread-safe.
class LocalFunctions {
 public:
  virtual ~LocalFunctions() = default;
  // Runs function `name` on `request`; its response goes to `response`, and
  // only on success. Errors: NotFound (no such function here), the
  // function's failure (Aborted, DeadlineExceeded...). May leave part of
  // `request` unread: a caller that shares a stream drains it.
  virtual Result<void> execute(std::string_view name, PayloadSource& request,
                               PayloadSink& response, const CallOptions& options) = 0;
  // Puts a message into function `name`'s mailbox. NotFound, Unavailable
  // (mailbox full), or the error reading `message`.
  virtual Result<void> deliver(std::string_view name, PayloadSource& message) = 0;
  // Takes the next message for `name` into `sink`, waiting until `deadline`
  // (DeadlineExceeded). Unimplemented when `name` has no mailbox here.
  virtual Result<void> receive(std::string_view name,
                               std::chrono::steady_clock::time_point deadline,
                               PayloadSink& sink) = 0;
  // The trust domain of function `name` if it runs in this process.
  virtual std::optional<std::string> trustDomainOf(std::string_view name) = 0;
};

struct RouterConfig {
  // TCP address to serve remote calls on ("127.0.0.1:0" picks a port); empty: none.
  std::string listen;
  // Node runtime dir: the registry and this process's unix socket; empty: no local serving.
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
  // Payload bytes of the calls this host serves at once, all peers
  // together; a call past it is refused (ResourceExhausted).
  uint64_t max_inflight_bytes = 1ull << 30;
  // Deadline of a call whose caller gave none.
  std::chrono::milliseconds default_timeout{30000};
  // Redis worker threads per served function.
  int redis_workers = 8;
  // Connections served at once on each of the TCP and unix listeners (a
  // thread each); past it a new one is refused.
  size_t max_connections = 256;
  // An authenticated peer silent this long is disconnected.
  std::chrono::milliseconds peer_idle_timeout{120000};
  // TCP connections that have not said hello (with the token) yet: at most
  // this many at once (past it, the one silent longest is cut off), each
  // given `handshake_timeout` — so that silent peers cannot take the
  // connections token holders need.
  size_t max_handshakes = 16;
  std::chrono::milliseconds handshake_timeout{2000};
};

class Router {
 public:
  // Opens the listeners and channels. `functions` must outlive the router.
  static Result<std::unique_ptr<Router>> start(RouterConfig config, LocalFunctions& functions);
  // Stops serving, withdraws what it published, joins every thread.
  ~Router();
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  // Calls `target` wherever it runs, from a function of `caller_domain`; on
  // success the response went to `response`. The target's failure or the
  // transport's is the error. Thread-safe.
  Result<void> call(std::string_view target, std::span<const uint8_t> request,
                    PayloadSink& response, std::string_view caller_domain,
                    const CallOptions& options);
  // Sends a message to `target`'s mailbox. Thread-safe.
  Result<void> send(std::string_view target, std::span<const uint8_t> message,
                    std::string_view caller_domain, const CallOptions& options);

  // Lists function `name` of this process in the node registry (other
  // processes on the node call it locally) and serves it through Redis.
  Result<void> publish(const std::string& name, const std::string& trust_domain);
  // Serves remote calls (TCP frames) on `listener`, a socket already
  // listening — one opened in a pod's network namespace, say; returns its
  // address. FailedPrecondition when this router serves TCP already.
  Result<std::string> serveTcp(Fd listener);
  void withdraw(const std::string& name);

  std::chrono::milliseconds defaultTimeout() const;
  // The bound TCP address ("127.0.0.1:41234"), or "" when not listening.
  const std::string& tcpAddress() const;
  // This process's unix socket, or "" when not serving locally.
  const std::string& unixSocket() const;
  CommStats& stats();

  struct Impl;

 private:
  explicit Router(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Attached to every instance that a host runs (RunContext::host_data), so that
// the guest ABI knows who is calling, from which trust domain, how deep, until
// when, and through what.
struct CallContext : runtime::HostData {
  // Null outside a function host (`cwasi run`): call, send and recv answer
  // CWASI_ERR_UNSUPPORTED.
  Router* router = nullptr;
  LocalFunctions* functions = nullptr;
  // cwasi.http_request: the process's client (null: CWASI_ERR_UNSUPPORTED)
  // and the function's grants (null or empty: every destination is denied).
  // Borrowed; they outlive the invocation.
  OutboundHttp* outbound = nullptr;
  const OutboundGrants* outbound_grants = nullptr;
  std::string function;
  std::string trust_domain;
  uint16_t depth = 0;
  // The invocation's end: its caller's deadline or its own timeout,
  // whichever comes first. Calls and outbound requests end by then.
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
};

}  // namespace cwasi::comm
