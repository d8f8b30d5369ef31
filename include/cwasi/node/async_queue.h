// Async invocations (OpenFaaS's /async-function): accepted calls wait in a
// bounded queue; a fixed set of workers, owned here, runs them through the
// Invoker. Results go to the caller's callback URL, if it gave one, through
// a CallbackSender of their own (fair between destinations, bounded, with
// retries), so that a slow callback target never holds up the calls behind
// it nor another caller's callbacks.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cwasi/common/byte_budget.h"
#include "cwasi/common/result.h"
#include "cwasi/http/url.h"
#include "cwasi/node/callback_sender.h"
#include "cwasi/trigger/invoker.h"
#include "cwasi/node/registry.h"
#include "cwasi/node/state.h"
#include "cwasi/node/worker_pool.h"

namespace cwasi::node {

struct AsyncCall {
  std::string id;
  std::string function;
  std::string body;
  std::vector<std::pair<std::string, std::string>> env;
  std::optional<http::Url> callback;
};

struct AsyncConfig {
  size_t capacity = 1000;               // calls queued before 429
  uint64_t max_bytes = 256u << 20;      // request and result bytes held before 429
  int workers = 4;                      // calls running at once
  CallbackConfig callbacks;
};

class AsyncQueue {
 public:
  // Starts the workers; `registry`, `invoker` and `journal` must outlive
  // the queue. With a journal (the state dir), an accepted call is on disk
  // before its caller gets 202 and leaves it once run: calls a stop or a
  // kill -9 kept from running run after the next start (replay()).
  // `observe` hears what became of each callback (for /metrics).
  AsyncQueue(FunctionRegistry& registry, trigger::Invoker& invoker, const AsyncConfig& config,
             StateDir* journal = nullptr,
             std::function<void(CallbackOutcome)> observe = {});
  // Stops the workers; calls still queued are left (in the journal, if
  // any) and the log says how many.
  ~AsyncQueue();

  // Queues the calls the journal holds (at start): how many; what it cannot
  // read is named in `errors`.
  size_t replay(std::vector<std::string>* errors);
  // Queues a call. ResourceExhausted when the queue is full, in calls or in
  // bytes (a call's body counts until it ran, its result until its
  // callback went out; a result that does not fit is dropped and its
  // callback says 507); Unavailable once stopping; the journal's error
  // when it cannot keep the call. Thread-safe.
  Result<void> submit(AsyncCall call);
  size_t queued() const { return calls_.queued(); }
  // Stopping, first step: new calls are refused; queued ones still run.
  void stopAccepting() { accepting_.store(false); }
  // Stopping, last step: the calls still queued are left (how many) — in
  // the journal, for the next start; the running ones and their callbacks
  // go on.
  size_t close() { return calls_.close(); }
  bool journaled() const { return journal_ != nullptr; }
  // Calls running, and callbacks waiting or being sent.
  size_t busy() const { return calls_.busy() + callbacks_.pending(); }
  // Waits (on conditions) until no call runs and no callback waits or is
  // being sent, or `deadline`; false on timeout.
  bool drain(std::chrono::steady_clock::time_point deadline) {
    return calls_.drain(deadline) && callbacks_.drain(deadline);
  }
  uint64_t bytesHeld() const { return bytes_.used(); }

 private:
  struct QueuedCall {
    AsyncCall call;
    HeldBytes held;
  };
  void run(QueuedCall queued);

  FunctionRegistry& registry_;
  trigger::Invoker& invoker_;
  StateDir* const journal_;
  std::atomic<bool> accepting_{true};
  ByteBudget bytes_;
  // Declared before the calls, which post to it: it outlives them.
  CallbackSender callbacks_;
  WorkerPool<QueuedCall> calls_;
};

}  // namespace cwasi::node
