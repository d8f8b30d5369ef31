// The one invocation path: admission, the run, the accounting — and the
// errors each failure becomes (429, 504, 500), in the test process.
#include "cwasi/trigger/invoker.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

#include "cwasi/node/autoscaler.h"
#include "node/node_parts.h"

namespace cwasi::node {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using testing::NodeParts;
using testing::text;

TEST(Invoker, RunsAFunctionAndCountsIt) {
  NodeParts n;
  auto e = n.deploy("upper", "upper");
  ASSERT_NE(e, nullptr);
  trigger::Invocation inv = n.invoke(*e, "hello");
  EXPECT_EQ(text(inv.result), "HELLO");
  EXPECT_FALSE(inv.cold_start);
  EXPECT_EQ(e->stats->invocations.load(), 1u);
  EXPECT_EQ(e->scaler->inflight(), 0);  // the slot was given back
}

TEST(Invoker, AFunctionThatFailsIsA500WithItsOutput) {
  NodeParts n;
  auto e = n.deploy("fails", "env-args", {{"envVars", {{"EXIT_CODE", "3"}}}});
  ASSERT_NE(e, nullptr);
  trigger::Invocation inv = n.invoke(*e, "");
  ASSERT_FALSE(inv.result.ok());
  EXPECT_EQ(trigger::httpStatusFor(inv.result.error()), 500);
  EXPECT_THAT(inv.result.error().message(), HasSubstr("env EXIT_CODE=3"));
  auto trap = n.deploy("trap", "unreachable");
  ASSERT_NE(trap, nullptr);
  trigger::Invocation trapped = n.invoke(*trap, "");
  ASSERT_FALSE(trapped.result.ok());
  EXPECT_EQ(trigger::httpStatusFor(trapped.result.error()), 500);
  EXPECT_THAT(trapped.result.error().message(), HasSubstr("unreachable"));
}

TEST(Invoker, AFunctionPastItsTimeoutIsA504) {
  NodeParts n;
  auto e = n.deploy("loop", "loop", {{"timeout", "100ms"}});
  ASSERT_NE(e, nullptr);
  trigger::Invocation inv = n.invoke(*e, "");
  ASSERT_FALSE(inv.result.ok());
  EXPECT_EQ(trigger::httpStatusFor(inv.result.error()), 504);
}

TEST(Invoker, ARequestThatFindsNoSlotBeforeItsDeadlineIsA504) {
  NodeParts n;
  auto e = n.deploy("upper", "upper", {{"maxInflight", 1}, {"timeout", "50ms"}});
  ASSERT_NE(e, nullptr);
  ASSERT_TRUE(*e->limiter->tryAcquire(n.clock.now() + 1s, {}));  // the one slot
  trigger::Invocation inv = n.invoke(*e, "x");
  ASSERT_FALSE(inv.result.ok());
  EXPECT_EQ(trigger::httpStatusFor(inv.result.error()), 504);
  e->limiter->release();
}

TEST(Invoker, RequestsBeyondTheSlotsAndTheWaitingRoomAreA429) {
  NodeParts n;
  auto e = n.deploy("upper", "upper", {{"maxInflight", 1}, {"timeout", "5s"}});
  ASSERT_NE(e, nullptr);
  ASSERT_TRUE(*e->limiter->tryAcquire(n.clock.now() + 5s, {}));  // the one slot
  trigger::Invocation waited;
  std::thread waiter([&] { waited = n.invoke(*e, "later"); });  // takes the one waiting place
  while (e->limiter->queued() == 0) std::this_thread::sleep_for(1ms);
  trigger::Invocation turned_away = n.invoke(*e, "x");
  ASSERT_FALSE(turned_away.result.ok());
  EXPECT_EQ(trigger::httpStatusFor(turned_away.result.error()), 429);
  e->limiter->release();
  waiter.join();
  EXPECT_EQ(text(waited.result), "LATER");
}

TEST(Invoker, ScalesUpUnderLoadAndBackDownWithTheClock) {
  NodeParts n;
  auto e = n.deploy("upper", "upper", {{"minScale", 1}, {"maxScale", 5}, {"targetConcurrency", 1}});
  ASSERT_NE(e, nullptr);
  Autoscaler scaler(*n.registry, *n.host, n.metrics, n.clock, 0ms);
  for (int i = 0; i < 3; ++i) e->scaler->admitted(n.clock.now());
  EXPECT_EQ(e->scaler->replicas(), 3);  // a burst scales up at once
  for (int i = 0; i < 3; ++i) e->scaler->released(n.clock.now());
  scaler.tick();
  EXPECT_EQ(e->scaler->replicas(), 3);  // the stable window still remembers the load
  for (int i = 0; i < 12; ++i) {
    n.clock.advance(1s);
    scaler.tick();
  }
  EXPECT_EQ(e->scaler->replicas(), 1);  // back to min once the window has passed
}

TEST(Invoker, AnIdleFunctionGoesToZeroAndTheNextRequestIsACold) {
  NodeParts n;
  auto e = n.deploy("upper", "upper", {{"minScale", 0}, {"scaleToZeroAfter", "2s"}});
  ASSERT_NE(e, nullptr);
  Autoscaler scaler(*n.registry, *n.host, n.metrics, n.clock, 0ms);
  EXPECT_EQ(text(n.invoke(*e, "a").result), "A");
  n.clock.advance(3s);
  scaler.tick();
  EXPECT_EQ(e->scaler->replicas(), 0);
  EXPECT_FALSE(n.host->loaded("upper"));  // the module was dropped
  trigger::Invocation cold = n.invoke(*e, "b");
  EXPECT_EQ(text(cold.result), "B");
  EXPECT_TRUE(cold.cold_start);
  EXPECT_EQ(e->stats->cold_starts.load(), 1u);
}

TEST(Invoker, WorkflowStepsGoThroughTheSameAccounting) {
  NodeParts n;
  auto e = n.deploy("upper", "upper");
  ASSERT_NE(e, nullptr);
  const std::string in = "step";
  trigger::Invocation inv = n.invoker->step("upper", {reinterpret_cast<const uint8_t*>(in.data()), in.size()},
                                   "default", n.clock.now() + 1s);
  EXPECT_EQ(text(inv.result), "STEP");
  EXPECT_EQ(e->stats->invocations.load(), 1u);
  trigger::Invocation unknown = n.invoker->step("ghost", {}, "default", n.clock.now() + 1s);
  ASSERT_FALSE(unknown.result.ok());
  EXPECT_EQ(trigger::httpStatusFor(unknown.result.error()), 404);
}

TEST(Invoker, InstancesPastTheMemoryBudgetAreA503AndTheRestGoOn) {
  runtime::EngineConfig engine = NodeParts::smallEngine();
  engine.default_memory_bytes = 16u << 20;     // functions deployed without a limit
  engine.total_memory_bytes = 2 * (16u << 20);  // two such instances at once
  NodeParts n(engine);
  auto e = n.deploy("sleep", "sleep");
  auto bomb = n.deploy("bomb", "memory-bomb");
  ASSERT_NE(e, nullptr);
  ASSERT_NE(bomb, nullptr);
  // Without a limit of its own, a memory bomb stops at the default.
  trigger::Invocation boom = n.invoke(*bomb, "");
  ASSERT_FALSE(boom.result.ok());
  EXPECT_THAT(boom.result.error().message(), HasSubstr("memory limit of 16 MiB exceeded"));
  std::vector<std::thread> sleepers;
  std::vector<trigger::Invocation> slept(2);
  for (int i = 0; i < 2; ++i) sleepers.emplace_back([&, i] { slept[i] = n.invoke(*e, "500"); });
  while (e->scaler->inflight() < 2) std::this_thread::sleep_for(1ms);
  std::this_thread::sleep_for(50ms);  // both instances made
  trigger::Invocation third = n.invoke(*e, "1");
  ASSERT_FALSE(third.result.ok());
  EXPECT_EQ(trigger::httpStatusFor(third.result.error()), 503);
  EXPECT_THAT(third.result.error().message(), HasSubstr("memory budget"));
  for (auto& t : sleepers) t.join();
  for (const auto& s : slept) EXPECT_EQ(text(s.result), "slept 500 ms");
  EXPECT_EQ(text(n.invoke(*e, "1").result), "slept 1 ms");  // the budget is back
}

TEST(HttpStatus, EachErrorCodeHasOneStatus) {
  EXPECT_EQ(trigger::httpStatusFor(invalidArgument("")), 400);
  EXPECT_EQ(trigger::httpStatusFor(notFound("")), 404);
  EXPECT_EQ(trigger::httpStatusFor(alreadyExists("")), 409);
  EXPECT_EQ(trigger::httpStatusFor(resourceExhausted("")), 429);
  EXPECT_EQ(trigger::httpStatusFor(aborted("")), 500);
  EXPECT_EQ(trigger::httpStatusFor(unavailable("")), 503);
  EXPECT_EQ(trigger::httpStatusFor(deadlineExceeded("")), 504);
  EXPECT_EQ(trigger::httpStatusFor(unauthenticated("")), 401);
}

}  // namespace
}  // namespace cwasi::node
