// Async calls: a bounded queue, workers that run calls through the invoker,
// and the result POSTed to a callback.
#include "cwasi/node/async_queue.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>

#include "cwasi/common/net.h"
#include "node/node_parts.h"

namespace cwasi::node {
namespace {

using namespace std::chrono_literals;
using testing::NodeParts;

TEST(AsyncQueue, RunsCallsAndPostsTheirResultToTheCallback) {
  NodeParts n;
  ASSERT_NE(n.deploy("upper", "upper"), nullptr);
  std::mutex mu;
  std::condition_variable cv;
  std::vector<HttpRequest> got;
  HttpServerConfig hc;
  hc.listen = "127.0.0.1:0";
  auto receiver = HttpServer::start(hc, [&](HttpRequest& req) {
    std::lock_guard lock(mu);
    got.push_back(req);
    cv.notify_all();
    return HttpResponse::text(200, "thanks");
  });
  ASSERT_TRUE(receiver.ok());
  AsyncQueue queue(*n.registry, *n.invoker, 10, 2);
  AsyncCall call;
  call.id = "call-1";
  call.function = "upper";
  call.body = "later";
  call.callback = *parseHttpUrl("http://" + (*receiver)->address() + "/done");
  ASSERT_TRUE(queue.submit(call).ok());
  std::unique_lock lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, 10s, [&] { return !got.empty(); }));
  EXPECT_EQ(got[0].body, "LATER");
  EXPECT_EQ(got[0].header("X-Call-Id"), "call-1");
  EXPECT_EQ(got[0].header("X-Function-Status"), "200");
}

TEST(AsyncQueue, ASlowCallbackTargetHoldsUpNoOtherCall) {
  NodeParts n;
  ASSERT_NE(n.deploy("upper", "upper"), nullptr);
  // A target that takes the connection (the kernel's backlog) and never answers.
  auto silent = net::listenTcp({"127.0.0.1", 0});
  ASSERT_TRUE(silent.ok());
  auto silent_at = net::boundEndpoint(silent->get());
  std::mutex mu;
  std::condition_variable cv;
  std::vector<HttpRequest> got;
  HttpServerConfig hc;
  hc.listen = "127.0.0.1:0";
  auto receiver = HttpServer::start(hc, [&](HttpRequest& req) {
    std::lock_guard lock(mu);
    got.push_back(req);
    cv.notify_all();
    return HttpResponse::text(200, "");
  });
  ASSERT_TRUE(receiver.ok());
  AsyncQueue queue(*n.registry, *n.invoker, 10, 1);  // one worker
  AsyncCall slow;
  slow.id = "slow";
  slow.function = "upper";
  slow.callback = *parseHttpUrl("http://" + silent_at->toString() + "/");
  AsyncCall fast = slow;
  fast.id = "fast";
  fast.callback = *parseHttpUrl("http://" + (*receiver)->address() + "/");
  ASSERT_TRUE(queue.submit(slow).ok());
  ASSERT_TRUE(queue.submit(fast).ok());
  std::unique_lock lock(mu);
  // Well before the slow callback's 5 s timeout.
  ASSERT_TRUE(cv.wait_for(lock, 2s, [&] { return !got.empty(); }));
  EXPECT_EQ(got[0].header("X-Call-Id"), "fast");
}

TEST(AsyncQueue, AFullQueueTurnsCallsAway) {
  NodeParts n;
  auto e = n.deploy("sleep", "sleep");
  ASSERT_NE(e, nullptr);
  AsyncQueue queue(*n.registry, *n.invoker, 1, 1);
  AsyncCall slow;
  slow.function = "sleep";
  slow.body = "300";
  ASSERT_TRUE(queue.submit(slow).ok());
  while (e->scaler->inflight() == 0) std::this_thread::sleep_for(1ms);  // the worker took it
  ASSERT_TRUE(queue.submit(slow).ok());  // queued
  auto refused = queue.submit(slow);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), Code::kResourceExhausted);
  EXPECT_EQ(httpStatusFor(refused.error()), 429);
}

}  // namespace
}  // namespace cwasi::node
