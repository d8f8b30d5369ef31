// Async invocations (OpenFaaS's /async-function): accepted calls wait in a
// bounded queue; a fixed set of workers, owned here, runs them through the
// Invoker. Results go to the caller's callback URL, if it gave one, from a
// pool of senders of their own (bounded too, with a short connect timeout),
// so that a slow callback target never holds up the calls behind it.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cwasi/common/result.h"
#include "cwasi/node/http.h"
#include "cwasi/node/invoker.h"
#include "cwasi/node/registry.h"
#include "cwasi/node/worker_pool.h"

namespace cwasi::node {

struct AsyncCall {
  std::string id;
  std::string function;
  std::string body;
  std::vector<std::pair<std::string, std::string>> env;
  std::optional<HttpUrl> callback;
};

class AsyncQueue {
 public:
  // Starts `workers` threads; `registry` and `invoker` must outlive the queue.
  // A callback gets `callback_timeout` to be answered (stopping waits for the
  // ones being sent, at most that long).
  AsyncQueue(FunctionRegistry& registry, Invoker& invoker, size_t capacity, int workers,
             std::chrono::milliseconds callback_timeout = std::chrono::seconds(5));
  // Stops the workers; calls still queued are dropped (their callers got 202)
  // and the log says how many.
  ~AsyncQueue();

  // Queues a call. ResourceExhausted when the queue is full. Thread-safe.
  Result<void> submit(AsyncCall call);
  size_t queued() const { return calls_.queued(); }

 private:
  // A result on its way to a callback URL.
  struct Callback {
    HttpUrl url;
    Headers headers;
    std::string body;
  };
  void run(AsyncCall call);
  void send(Callback callback);

  FunctionRegistry& registry_;
  Invoker& invoker_;
  const std::chrono::milliseconds callback_timeout_;
  // Declared before the calls, which post to it: it outlives them.
  WorkerPool<Callback> callbacks_;
  WorkerPool<AsyncCall> calls_;
};

}  // namespace cwasi::node
