// Internal to the comm layer: the seam between the servers (unix/shm, TCP,
// Redis) and the host that runs functions, and the per-invocation context
// that guest ABI calls see.
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cwasi/comm/channel.h"
#include "cwasi/common/mutex.h"
#include "cwasi/common/result.h"
#include "cwasi/runtime/instance.h"

namespace cwasi::comm {

// Receives the outcome of one call: the ABI status and the response body (or
// error text). `body` is valid only during the callback.
using Respond = std::function<Result<void>(int32_t status, std::span<const uint8_t> body)>;

// What a server needs from its host. Implementations are thread-safe.
class Executor {
 public:
  virtual ~Executor() = default;
  // Runs function `name` on the request in `request`, then calls `respond`
  // exactly once. Consumes the request fully whatever happens (so a stream
  // stays in step). Returns an Error only when `request` or `respond` failed
  // (the transport is broken).
  virtual Result<void> execute(std::string_view name, PayloadSource& request,
                               const CallOptions& options, const Respond& respond) = 0;
  // Puts a message into function `name`'s mailbox; returns the ABI status.
  // Error only when reading `message` failed.
  virtual Result<int32_t> deliver(std::string_view name, PayloadSource& message) = 0;
};

class HostCore;  // the FunctionHost's implementation, seen by the guest ABI

// Attached to every instance a FunctionHost runs (RunContext::host_data):
// who is calling, from which trust domain, how deep, until when.
struct CallContext : runtime::HostData {
  HostCore* host = nullptr;
  std::string function;
  std::string trust_domain;
  uint16_t depth = 0;
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
};

// The guest ABI's view of its host: routing and mailboxes.
class HostCore : public Executor {
 public:
  // Calls `target` from a function in `caller_domain`; the response goes to
  // `response`. Returns the ABI status (transport errors already mapped).
  virtual int32_t routeCall(std::string_view target, std::span<const uint8_t> request,
                            PayloadSink& response, std::string_view caller_domain,
                            const CallOptions& options) = 0;
  virtual int32_t routeSend(std::string_view target, std::span<const uint8_t> message,
                            std::string_view caller_domain, const CallOptions& options) = 0;
  // Takes the next message for `function` (waiting until `deadline`) into `sink`.
  virtual int32_t receive(std::string_view function, std::chrono::steady_clock::time_point deadline,
                          PayloadSink& sink) = 0;
  virtual std::chrono::milliseconds defaultTimeout() const = 0;
};

// A bounded queue of messages for one function. Thread-safe.
class Mailbox {
 public:
  explicit Mailbox(size_t capacity) : capacity_(capacity) {}
  // False when full.
  bool push(std::vector<uint8_t> message) EXCLUDES(mu_) {
    MutexLock lock(mu_);
    if (queue_.size() >= capacity_) return false;
    queue_.push_back(std::move(message));
    cv_.notifyOne();
    return true;
  }
  // The oldest message, or nothing by `deadline`.
  std::optional<std::vector<uint8_t>> pop(std::chrono::steady_clock::time_point deadline)
      EXCLUDES(mu_) {
    MutexLock lock(mu_);
    while (queue_.empty()) {
      if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
      cv_.waitUntil(mu_, deadline);
    }
    auto m = std::move(queue_.front());
    queue_.pop_front();
    return m;
  }

 private:
  const size_t capacity_;
  Mutex mu_;
  CondVar cv_;
  std::deque<std::vector<uint8_t>> queue_ GUARDED_BY(mu_);
};

}  // namespace cwasi::comm
