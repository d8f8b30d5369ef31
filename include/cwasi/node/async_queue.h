// Async invocations (OpenFaaS's /async-function): accepted calls wait in a
// bounded queue; a fixed set of workers, owned here, runs them through the
// Invoker. Results go to the caller's callback URL, if it gave one, from a
// pool of senders of their own (bounded too, with a short connect timeout),
// so that a slow callback target never holds up the calls behind it.
#pragma once

#include <chrono>
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

// POSTs results to callback URLs on threads of its own. Thread-safe.
class CallbackSender {
 public:
  struct Callback {
    HttpUrl url;
    Headers headers;
    std::string body;
  };
  CallbackSender(size_t capacity, int senders, std::chrono::milliseconds timeout);
  // Stops; callbacks not yet sent are dropped and counted in the log.
  ~CallbackSender();
  // Queues a callback; false (and logged) when the queue is full.
  bool post(Callback callback) EXCLUDES(mu_);

 private:
  void send() EXCLUDES(mu_);
  const size_t capacity_;
  const std::chrono::milliseconds timeout_;
  Mutex mu_;
  CondVar changed_;
  std::deque<Callback> queue_ GUARDED_BY(mu_);
  bool stopping_ GUARDED_BY(mu_) = false;
  std::vector<std::thread> senders_;
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
  CallbackSender callbacks_;
};

}  // namespace cwasi::node
