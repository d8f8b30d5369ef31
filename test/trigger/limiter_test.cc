// A function's admission: slots, a bounded queue that holds callbacks (not
// threads), deadlines, cancellation, and the blocking form.
#include "cwasi/trigger/limiter.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace cwasi::trigger {
namespace {

using namespace std::chrono_literals;
using Clock = Limiter::Clock;

TEST(Limiter, QueuedRequestsHoldNoThreadAndGetSlotsInOrder) {
  Limiter l(2, 3);
  EXPECT_TRUE(*l.tryAcquire(Clock::now() + 5s, {}));
  EXPECT_TRUE(*l.tryAcquire(Clock::now() + 5s, {}));
  std::vector<int> granted;
  for (int i = 0; i < 3; ++i) {
    auto r = l.tryAcquire(Clock::now() + 5s, [&granted, i](Result<void> got) {
      EXPECT_TRUE(got.ok());
      granted.push_back(i);
    });
    ASSERT_TRUE(r.ok());
    EXPECT_FALSE(*r);  // queued: its callback runs when a slot frees
  }
  EXPECT_EQ(l.queued(), 3u);
  auto full = l.tryAcquire(Clock::now() + 5s, [](Result<void>) { FAIL() << "never queued"; });
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(full.error().code(), Code::kResourceExhausted);
  l.release();
  EXPECT_EQ(granted, std::vector<int>{0});
  l.release();
  l.release();
  EXPECT_EQ(granted, (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(l.inflight(), 2u);
  EXPECT_EQ(l.queued(), 0u);
}

TEST(Limiter, AWaiterPastItsDeadlineIsToldAndNeverGetsASlot) {
  Limiter l(1, 2);
  ASSERT_TRUE(*l.tryAcquire(Clock::now() + 5s, {}));
  std::atomic<int> expired{0}, granted{0};
  auto waiter = [&](Result<void> r) {
    if (r.ok()) {
      ++granted;
    } else {
      EXPECT_EQ(r.error().code(), Code::kDeadlineExceeded);
      ++expired;
    }
  };
  ASSERT_FALSE(*l.tryAcquire(Clock::now() - 1ms, waiter));  // already late
  ASSERT_FALSE(*l.tryAcquire(Clock::now() + 5s, waiter));
  l.expire(Clock::now());
  EXPECT_EQ(expired.load(), 1);
  l.release();
  EXPECT_EQ(granted.load(), 1);
  EXPECT_EQ(l.inflight(), 1u);
}

TEST(Limiter, ACancelledWaiterIsNeverCalled) {
  Limiter l(1, 1);
  ASSERT_TRUE(*l.tryAcquire(Clock::now() + 5s, {}));
  uint64_t ticket = 0;
  ASSERT_FALSE(*l.tryAcquire(Clock::now() + 5s, [](Result<void>) { FAIL() << "cancelled"; }, &ticket));
  EXPECT_TRUE(l.cancel(ticket));
  EXPECT_FALSE(l.cancel(ticket));
  l.release();
  EXPECT_EQ(l.inflight(), 0u);
}

TEST(Limiter, BlockingAcquireWaitsTimesOutOrIsTurnedAway) {
  Limiter l(1, 1);
  ASSERT_TRUE(l.acquire(Clock::now() + 1s).ok());
  std::thread releaser([&] {
    std::this_thread::sleep_for(50ms);
    l.release();
  });
  EXPECT_TRUE(l.acquire(Clock::now() + 5s).ok());  // got the freed slot
  releaser.join();
  std::thread waiter([&] {
    auto r = l.acquire(Clock::now() + 300ms);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code(), Code::kDeadlineExceeded);
  });
  while (l.queued() == 0) std::this_thread::sleep_for(1ms);
  auto turned = l.acquire(Clock::now() + 5s);  // the one queue place is taken
  ASSERT_FALSE(turned.ok());
  EXPECT_EQ(turned.error().code(), Code::kResourceExhausted);
  waiter.join();
  EXPECT_EQ(l.queued(), 0u);
  EXPECT_EQ(l.inflight(), 1u);
}

TEST(Limiter, ALargerCapacityGrantsWaitersAtOnce) {
  Limiter l(1, 4);
  ASSERT_TRUE(*l.tryAcquire(Clock::now() + 5s, {}));
  int granted = 0;
  for (int i = 0; i < 3; ++i) ASSERT_FALSE(*l.tryAcquire(Clock::now() + 5s, [&](Result<void>) { ++granted; }));
  l.setCapacity(3, 4);
  EXPECT_EQ(granted, 2);
  EXPECT_EQ(l.inflight(), 3u);
  EXPECT_EQ(l.queued(), 1u);
}

}  // namespace
}  // namespace cwasi::trigger
