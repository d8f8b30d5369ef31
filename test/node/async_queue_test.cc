// Async calls: a bounded queue, workers that run calls through the invoker,
// and the result POSTed to a callback.
#include "cwasi/node/async_queue.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <optional>

#include "cwasi/common/net.h"
#include "cwasi/http/server.h"
#include "node/node_parts.h"

namespace cwasi::node {
namespace {

using namespace std::chrono_literals;
using testing::NodeParts;

// A real HTTP server on a loopback port that keeps the callbacks it gets.
class CallbackReceiver {
 public:
  CallbackReceiver() {
    http::HttpServerConfig hc;
    hc.listen = "127.0.0.1:0";
    auto s = http::HttpServer::start(hc, [this](http::HttpRequest& req) {
      std::lock_guard lock(mu_);
      got_.push_back(req);
      cv_.notify_all();
      return http::HttpResponse::text(200, "thanks");
    });
    if (s.ok()) server_ = std::move(*s);
  }
  bool up() const { return server_ != nullptr; }
  http::Url url() const { return *http::parseUrl("http://" + server_->address() + "/done"); }
  // The first callback, if one comes within `timeout`.
  std::optional<http::HttpRequest> first(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, timeout, [&] { return !got_.empty(); })) return std::nullopt;
    return got_.front();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<http::HttpRequest> got_;
  std::unique_ptr<http::HttpServer> server_;  // last: stops before what its handler uses
};

TEST(AsyncQueue, RunsCallsAndPostsTheirResultToTheCallback) {
  NodeParts n;
  ASSERT_NE(n.deploy("upper", "upper"), nullptr);
  CallbackReceiver receiver;
  ASSERT_TRUE(receiver.up());
  AsyncQueue queue(*n.registry, *n.invoker, {.capacity = 10, .workers = 2});
  AsyncCall call;
  call.id = "call-1";
  call.function = "upper";
  call.body = "later";
  call.callback = receiver.url();
  ASSERT_TRUE(queue.submit(call).ok());
  auto got = receiver.first(10s);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->body, "LATER");
  EXPECT_EQ(got->header("X-Call-Id"), "call-1");
  EXPECT_EQ(got->header("X-Function-Status"), "200");
}

// Issue 21 #5: twenty callbacks to a host that takes connections and never
// answers held both callback senders 5 s each — 50 s before anyone else's.
TEST(AsyncQueue, ACallbackHostThatNeverAnswersHoldsUpNoOtherCallersCallback) {
  NodeParts n;
  ASSERT_NE(n.deploy("upper", "upper"), nullptr);
  // A target that takes the connection (the kernel's backlog) and never answers.
  auto silent = net::listenTcp({"127.0.0.1", 0});
  ASSERT_TRUE(silent.ok());
  auto silent_at = net::boundEndpoint(silent->get());
  CallbackReceiver receiver;
  ASSERT_TRUE(receiver.up());
  AsyncQueue queue(*n.registry, *n.invoker, {.capacity = 100, .workers = 2});
  AsyncCall slow;
  slow.function = "upper";
  slow.callback = *http::parseUrl("http://" + silent_at->toString() + "/");
  for (int i = 0; i < 20; ++i) {
    slow.id = "slow-" + std::to_string(i);
    ASSERT_TRUE(queue.submit(slow).ok());
  }
  AsyncCall fast = slow;
  fast.id = "fast";
  fast.callback = receiver.url();
  ASSERT_TRUE(queue.submit(fast).ok());
  // Well before even one of the slow callbacks' 5 s timeouts.
  auto got = receiver.first(3s);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->header("X-Call-Id"), "fast");
}

TEST(AsyncQueue, AFullQueueTurnsCallsAway) {
  NodeParts n;
  auto e = n.deploy("sleep", "sleep");
  ASSERT_NE(e, nullptr);
  AsyncQueue queue(*n.registry, *n.invoker, {.capacity = 1, .workers = 1});
  AsyncCall slow;
  slow.function = "sleep";
  slow.body = "300";
  ASSERT_TRUE(queue.submit(slow).ok());
  while (e->scaler->inflight() == 0) std::this_thread::sleep_for(1ms);  // the worker took it
  ASSERT_TRUE(queue.submit(slow).ok());  // queued
  auto refused = queue.submit(slow);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), Code::kResourceExhausted);
  EXPECT_EQ(trigger::httpStatusFor(refused.error()), 429);
}

TEST(AsyncQueue, QueuedBytesAreCapped) {
  NodeParts n;
  auto e = n.deploy("sleep", "sleep");
  ASSERT_NE(e, nullptr);
  AsyncQueue queue(*n.registry, *n.invoker, {.capacity = 100, .max_bytes = 1000, .workers = 1});
  AsyncCall call;
  call.function = "sleep";
  call.body = "200" + std::string(597, ' ');  // 600 bytes: the sleep function reads a number
  ASSERT_TRUE(queue.submit(call).ok());
  auto refused = queue.submit(call);  // 1200 > 1000, though 99 more calls would fit
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), Code::kResourceExhausted);
  EXPECT_NE(refused.error().message().find("bytes held"), std::string::npos);
  // Once the first ran, its bytes are back.
  for (int i = 0; i < 500 && queue.bytesHeld() > 0; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(queue.bytesHeld(), 0u);
  EXPECT_TRUE(queue.submit(call).ok());
}

// Results count too: 30 tiny calls whose results are large cannot hold
// more than the budget. `rust-page` writes each '<' as "&lt;": a 300-byte
// call (inside the 1000-byte budget) makes a result of over 1200 bytes,
// which is dropped, its callback saying so, with the budget kept.
TEST(AsyncQueue, AResultThatDoesNotFitTheBudgetIsNotHeldAndItsCallbackSays507) {
  NodeParts n;
  ASSERT_NE(n.deploy("page", "rust-page"), nullptr);
  CallbackReceiver receiver;
  ASSERT_TRUE(receiver.up());
  AsyncQueue queue(*n.registry, *n.invoker, {.capacity = 10, .max_bytes = 1000, .workers = 1});
  AsyncCall call;
  call.id = "big";
  call.function = "page";
  call.body = std::string(300, '<');
  call.callback = receiver.url();
  ASSERT_TRUE(queue.submit(call).ok());
  auto got = receiver.first(10s);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->header("X-Function-Status"), "507");
  EXPECT_NE(got->body.find("was dropped"), std::string::npos) << got->body;
  EXPECT_LE(queue.bytesHeld(), 1000u);
  EXPECT_TRUE(queue.drain(std::chrono::steady_clock::now() + 5s));
  EXPECT_EQ(queue.bytesHeld(), 0u);
}

}  // namespace
}  // namespace cwasi::node
