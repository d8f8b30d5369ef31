#include "cwasi/node/async_queue.h"

#include <algorithm>

#include "cwasi/common/log.h"

namespace cwasi::node {

AsyncQueue::AsyncQueue(FunctionRegistry& registry, Invoker& invoker, size_t capacity, int workers,
                       std::chrono::milliseconds callback_timeout)
    : registry_(registry),
      invoker_(invoker),
      capacity_(capacity),
      callbacks_(/*capacity=*/1000, /*senders=*/2, callback_timeout) {
  for (int i = 0; i < std::max(1, workers); ++i) workers_.emplace_back([this] { work(); });
}

AsyncQueue::~AsyncQueue() {
  size_t dropped = 0;
  {
    MutexLock lock(mu_);
    stopping_ = true;
    dropped = queue_.size();
    changed_.notifyAll();
  }
  for (auto& t : workers_) t.join();
  if (dropped > 0) {
    CWASI_LOG(kWarn, "stopping: dropped " << dropped << " queued async call(s) (accepted with 202)");
  }
}

CallbackSender::CallbackSender(size_t capacity, int senders, std::chrono::milliseconds timeout)
    : capacity_(capacity), timeout_(timeout) {
  for (int i = 0; i < std::max(1, senders); ++i) senders_.emplace_back([this] { send(); });
}

CallbackSender::~CallbackSender() {
  size_t dropped = 0;
  {
    MutexLock lock(mu_);
    stopping_ = true;
    dropped = queue_.size();
    changed_.notifyAll();
  }
  for (auto& t : senders_) t.join();
  if (dropped > 0) CWASI_LOG(kWarn, "stopping: dropped " << dropped << " unsent callback(s)");
}

bool CallbackSender::post(Callback callback) {
  MutexLock lock(mu_);
  if (queue_.size() >= capacity_) {
    CWASI_LOG(kWarn, "callback queue full (" << capacity_ << "): dropped the callback to "
                                             << callback.url.host);
    return false;
  }
  queue_.push_back(std::move(callback));
  changed_.notifyOne();
  return true;
}

void CallbackSender::send() {
  for (;;) {
    Callback cb;
    {
      MutexLock lock(mu_);
      while (!stopping_ && queue_.empty()) changed_.wait(mu_);
      if (stopping_) return;
      cb = std::move(queue_.front());
      queue_.pop_front();
    }
    auto sent = httpFetch(cb.url, "POST", cb.headers, cb.body, timeout_);
    if (!sent.ok()) {
      CWASI_LOG(kWarn, "callback to " << cb.url.host << ":" << cb.url.port
                                      << " failed: " << sent.error().message());
    }
  }
}

Result<void> AsyncQueue::submit(AsyncCall call) {
  MutexLock lock(mu_);
  if (queue_.size() >= capacity_) {
    return resourceExhausted("async queue full (" + std::to_string(capacity_) + " calls)");
  }
  queue_.push_back(std::move(call));
  changed_.notifyOne();
  return {};
}

size_t AsyncQueue::queued() const {
  MutexLock lock(mu_);
  return queue_.size();
}

void AsyncQueue::work() {
  for (;;) {
    AsyncCall call;
    {
      MutexLock lock(mu_);
      while (!stopping_ && queue_.empty()) changed_.wait(mu_);
      if (stopping_) return;
      call = std::move(queue_.front());
      queue_.pop_front();
    }
    run(std::move(call));
  }
}

void AsyncQueue::run(AsyncCall call) {
  auto entry = registry_.find(call.function);
  Invocation inv;
  if (entry) {
    inv = invoker_.invoke(*entry, {reinterpret_cast<const uint8_t*>(call.body.data()), call.body.size()},
                          std::move(call.env));
  } else {
    inv.result = notFound("no function " + call.function);
  }
  if (!call.callback) return;
  const int status = inv.result.ok() ? 200 : httpStatusFor(inv.result.error());
  std::string body = inv.result.ok() ? std::string(inv.result->begin(), inv.result->end())
                                     : inv.result.error().message();
  Headers headers = {{"X-Call-Id", call.id},
                     {"X-Function-Name", call.function},
                     {"X-Function-Status", std::to_string(status)},
                     {"X-Duration-Seconds",
                      std::to_string(std::chrono::duration<double>(inv.duration).count())},
                     {"Content-Type", "application/octet-stream"}};
  callbacks_.post({*call.callback, std::move(headers), std::move(body)});
}

}  // namespace cwasi::node
