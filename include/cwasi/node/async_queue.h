// Async invocations (OpenFaaS's /async-function): accepted calls wait in a
// bounded queue; a fixed set of workers, owned here, runs them through the
// Invoker and POSTs each result to the caller's callback URL, if it gave one.
#pragma once

#include <deque>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "cwasi/common/mutex.h"
#include "cwasi/common/result.h"
#include "cwasi/node/http.h"
#include "cwasi/node/invoker.h"
#include "cwasi/node/registry.h"

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
  AsyncQueue(FunctionRegistry& registry, Invoker& invoker, size_t capacity, int workers);
  // Stops the workers; calls still queued are dropped (their callers got 202).
  ~AsyncQueue();

  // Queues a call. ResourceExhausted when the queue is full. Thread-safe.
  Result<void> submit(AsyncCall call) EXCLUDES(mu_);
  size_t queued() const EXCLUDES(mu_);

 private:
  void work() EXCLUDES(mu_);
  void run(AsyncCall call);

  FunctionRegistry& registry_;
  Invoker& invoker_;
  const size_t capacity_;
  mutable Mutex mu_;
  CondVar changed_;
  std::deque<AsyncCall> queue_ GUARDED_BY(mu_);
  bool stopping_ GUARDED_BY(mu_) = false;
  std::vector<std::thread> workers_;
};

}  // namespace cwasi::node
