#include "cwasi/node/async_queue.h"

#include <nlohmann/json.hpp>

#include "cwasi/common/base64.h"
#include "cwasi/common/log.h"

namespace cwasi::node {

namespace {

using json = nlohmann::json;

// A call as the journal keeps it: one JSON file, the body in base64.
std::vector<uint8_t> record(const AsyncCall& c) {
  json env = json::array();
  for (const auto& [k, v] : c.env) env.push_back({k, v});
  json j = {{"id", c.id},
            {"function", c.function},
            {"body", base64Encode({reinterpret_cast<const uint8_t*>(c.body.data()), c.body.size()})},
            {"env", env}};
  if (c.callback) j["callback"] = c.callback->origin() + c.callback->target;
  const std::string text = j.dump(-1, ' ', false, json::error_handler_t::replace);
  return {text.begin(), text.end()};
}

Result<AsyncCall> parseRecord(std::span<const uint8_t> bytes) {
  const json j = json::parse(bytes.begin(), bytes.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("id") || !j["id"].is_string() ||
      !j.contains("function") || !j["function"].is_string() || !j.contains("body") ||
      !j["body"].is_string() || !j.contains("env") || !j["env"].is_array()) {
    return invalidArgument("not an async call record");
  }
  AsyncCall c;
  c.id = j["id"];
  c.function = j["function"];
  TRY_ASSIGN(std::vector<uint8_t> body, base64Decode(j["body"].get<std::string>()));
  c.body.assign(body.begin(), body.end());
  for (const auto& kv : j["env"]) {
    if (!kv.is_array() || kv.size() != 2 || !kv[0].is_string() || !kv[1].is_string()) {
      return invalidArgument("bad env in an async call record");
    }
    c.env.emplace_back(kv[0].get<std::string>(), kv[1].get<std::string>());
  }
  if (j.contains("callback")) {
    if (!j["callback"].is_string()) return invalidArgument("bad callback in an async call record");
    TRY_ASSIGN(c.callback, http::parseUrl(j["callback"].get<std::string>()));
  }
  return c;
}

}  // namespace

AsyncQueue::AsyncQueue(FunctionRegistry& registry, trigger::Invoker& invoker, const AsyncConfig& config,
                       StateDir* journal, std::function<void(CallbackOutcome)> observe)
    : registry_(registry),
      invoker_(invoker),
      journal_(journal),
      bytes_(config.max_bytes),
      callbacks_(config.callbacks, std::move(observe)),
      calls_(config.capacity, config.workers, [this](QueuedCall c) { run(std::move(c)); }) {}

AsyncQueue::~AsyncQueue() {
  if (size_t left = calls_.stop(); left > 0) {
    CWASI_LOG(kWarn, "stopping: " << left << " queued async call(s) (accepted with 202) "
                                  << (journal_ ? "left for the next start" : "dropped"));
  }
  if (size_t dropped = callbacks_.stop(); dropped > 0) {
    CWASI_LOG(kWarn, "stopping: dropped " << dropped << " unsent callback(s)");
  }
}

size_t AsyncQueue::replay(std::vector<std::string>* errors) {
  if (!journal_) return 0;
  size_t queued = 0;
  for (const auto& bytes : journal_->loadAsyncCalls(errors)) {
    auto call = parseRecord(bytes);
    if (!call.ok()) {
      if (errors) errors->push_back("async journal: " + call.error().message());
      continue;
    }
    // Accepted before: it runs, even past the budget (it was in it then).
    bytes_.take(call->body.size());
    HeldBytes held(bytes_, call->body.size());
    if (!calls_.push({std::move(*call), std::move(held)})) break;  // the rest wait for the next start
    ++queued;
  }
  return queued;
}

Result<void> AsyncQueue::submit(AsyncCall call) {
  if (!accepting_.load()) return unavailable("the daemon is stopping; async calls are not taken");
  const uint64_t size = call.body.size();
  if (!bytes_.tryTake(size)) {
    return resourceExhausted("async queue full (" + std::to_string(bytes_.used()) + " of " +
                             std::to_string(bytes_.limit()) + " bytes held)");
  }
  HeldBytes held(bytes_, size);
  if (calls_.queued() >= calls_.capacity()) {  // checked first: no write for a call refused
    return resourceExhausted("async queue full (" + std::to_string(calls_.capacity()) + " calls)");
  }
  if (journal_) TRY(journal_->saveAsyncCall(call.id, record(call)));
  const std::string id = call.id;
  if (!calls_.push({std::move(call), std::move(held)})) {
    if (journal_) journal_->removeAsyncCall(id);
    return resourceExhausted("async queue full (" + std::to_string(calls_.capacity()) + " calls)");
  }
  return {};
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
  if (journal_) journal_->removeAsyncCall(call.id);  // run: a restart must not run it again
  queued.held = HeldBytes();  // the call's bytes go back: its result takes their place
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
  (void)callbacks_.push({*call.callback, std::move(headers), std::move(body), HeldBytes(bytes_, size)});
}

}  // namespace cwasi::node
