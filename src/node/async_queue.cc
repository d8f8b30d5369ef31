#include "cwasi/node/async_queue.h"

#include "cwasi/common/log.h"

namespace cwasi::node {

AsyncQueue::AsyncQueue(FunctionRegistry& registry, Invoker& invoker, size_t capacity, int workers,
                       std::chrono::milliseconds callback_timeout)
    : registry_(registry),
      invoker_(invoker),
      callback_timeout_(callback_timeout),
      callbacks_(/*capacity=*/1000, /*threads=*/2, [this](Callback c) { send(std::move(c)); }),
      calls_(capacity, workers, [this](AsyncCall c) { run(std::move(c)); }) {}

AsyncQueue::~AsyncQueue() {
  if (size_t dropped = calls_.stop(); dropped > 0) {
    CWASI_LOG(kWarn, "stopping: dropped " << dropped << " queued async call(s) (accepted with 202)");
  }
  if (size_t dropped = callbacks_.stop(); dropped > 0) {
    CWASI_LOG(kWarn, "stopping: dropped " << dropped << " unsent callback(s)");
  }
}

Result<void> AsyncQueue::submit(AsyncCall call) {
  if (!calls_.push(std::move(call))) {
    return resourceExhausted("async queue full (" + std::to_string(calls_.capacity()) + " calls)");
  }
  return {};
}

void AsyncQueue::send(Callback cb) {
  auto sent = httpFetch(cb.url, "POST", cb.headers, cb.body, callback_timeout_);
  if (!sent.ok()) {
    CWASI_LOG(kWarn, "callback to " << cb.url.host << ":" << cb.url.port
                                    << " failed: " << sent.error().message());
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
  if (!callbacks_.push({*call.callback, std::move(headers), std::move(body)})) {
    CWASI_LOG(kWarn, "callback queue full (" << callbacks_.capacity()
                                             << "): dropped the callback for " << call.id);
  }
}

}  // namespace cwasi::node
