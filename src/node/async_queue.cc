#include "cwasi/node/async_queue.h"

#include "cwasi/common/log.h"

namespace cwasi::node {

AsyncQueue::AsyncQueue(FunctionRegistry& registry, trigger::Invoker& invoker, const AsyncConfig& config)
    : registry_(registry),
      invoker_(invoker),
      callback_timeout_(config.callback_timeout),
      bytes_(config.max_bytes),
      callbacks_(/*capacity=*/1000, /*threads=*/2, [this](QueuedCallback c) { send(std::move(c)); }),
      calls_(config.capacity, config.workers, [this](QueuedCall c) { run(std::move(c)); }) {}

AsyncQueue::~AsyncQueue() {
  if (size_t dropped = calls_.stop(); dropped > 0) {
    CWASI_LOG(kWarn, "stopping: dropped " << dropped << " queued async call(s) (accepted with 202)");
  }
  if (size_t dropped = callbacks_.stop(); dropped > 0) {
    CWASI_LOG(kWarn, "stopping: dropped " << dropped << " unsent callback(s)");
  }
}

Result<void> AsyncQueue::submit(AsyncCall call) {
  const uint64_t size = call.body.size();
  if (!bytes_.tryTake(size)) {
    return resourceExhausted("async queue full (" + std::to_string(bytes_.used()) + " of " +
                             std::to_string(bytes_.limit()) + " bytes held)");
  }
  if (!calls_.push({std::move(call), Held(bytes_, size)})) {
    return resourceExhausted("async queue full (" + std::to_string(calls_.capacity()) + " calls)");
  }
  return {};
}

void AsyncQueue::send(QueuedCallback queued) {
  const Callback& cb = queued.callback;
  auto sent = http::httpFetch(cb.url, "POST", cb.headers, cb.body, callback_timeout_);
  if (!sent.ok()) {
    CWASI_LOG(kWarn, "callback to " << cb.url.host << ":" << cb.url.port
                                    << " failed: " << sent.error().message());
  }
}

void AsyncQueue::run(QueuedCall queued) {
  AsyncCall& call = queued.call;
  auto entry = registry_.find(call.function);
  trigger::Invocation inv;
  if (entry) {
    inv = invoker_.invoke(*entry, {reinterpret_cast<const uint8_t*>(call.body.data()), call.body.size()},
                          std::move(call.env));
  } else {
    inv.result = notFound("no function " + call.function);
  }
  queued.held = Held();  // the call's bytes go back: its result takes their place
  if (!call.callback) return;
  int status = trigger::httpStatusOf(inv);
  std::string body = inv.result.ok() ? std::string(inv.result->begin(), inv.result->end())
                                     : inv.result.error().message();
  // The result waits for its callback inside the queue's byte budget, as
  // the calls do; one that does not fit is not kept: the callback says so
  // (507, as a full store) instead of carrying it.
  uint64_t size = body.size();
  if (!bytes_.tryTake(size)) {
    status = 507;
    body = "the result (" + std::to_string(size) + " bytes) was dropped: the async queue holds " +
           std::to_string(bytes_.used()) + " of " + std::to_string(bytes_.limit()) + " bytes";
    CWASI_LOG(kWarn, "async call " << call.id << ": " << body);
    size = body.size();
    bytes_.take(size);  // a few dozen bytes: the callback itself still goes
  }
  http::Headers headers = {{"X-Call-Id", call.id},
                     {"X-Function-Name", call.function},
                     {"X-Function-Status", std::to_string(status)},
                     {"X-Duration-Seconds",
                      std::to_string(std::chrono::duration<double>(inv.duration).count())},
                     {"Content-Type", "application/octet-stream"}};
  if (!callbacks_.push({{*call.callback, std::move(headers), std::move(body)}, Held(bytes_, size)})) {
    CWASI_LOG(kWarn, "callback queue full (" << callbacks_.capacity()
                                             << "): dropped the callback for " << call.id);
  }
}

}  // namespace cwasi::node
