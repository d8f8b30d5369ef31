// The scaler: scale up on bursts, down over the window, to zero.
#include "cwasi/node/scaler.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>


namespace cwasi::node {
namespace {

using namespace std::chrono_literals;

ScalePolicy policy(int min, int max, int target) {
  ScalePolicy p;
  p.min_replicas = min;
  p.max_replicas = max;
  p.target = target;
  p.max_inflight = max * target;
  p.scale_to_zero_after = 1000ms;
  p.stable_window = 500ms;
  return p;
}

TEST(Scaler, ScalesUpOnABurstAndDownAfterTheWindow) {
  const auto t0 = Scaler::Clock::now();
  Scaler s(policy(1, 5, 2), t0);
  EXPECT_EQ(s.replicas(), 1);
  for (int i = 0; i < 7; ++i) s.admitted(t0);
  EXPECT_EQ(s.replicas(), 4);  // ceil(7 / 2)
  for (int i = 0; i < 7; ++i) s.released(t0 + 10ms);
  // Within the stable window nothing comes down.
  EXPECT_FALSE(s.tick(t0 + 100ms));
  EXPECT_EQ(s.replicas(), 4);
  // Past it, idle samples bring it to min.
  for (int ms = 200; ms <= 1200; ms += 100) s.tick(t0 + std::chrono::milliseconds(ms));
  EXPECT_EQ(s.replicas(), 1);
}

TEST(Scaler, ByRateFollowsRequestsPerSecondNotConcurrency) {
  const auto t0 = Scaler::Clock::now();
  ScalePolicy p = policy(1, 10, 20);  // 20 requests/s per replica
  p.by_rate = true;
  Scaler s(p, t0);
  // 100 quick requests in 1 s: 100 rps, never more than one in flight.
  for (int i = 0; i < 100; ++i) {
    const auto t = t0 + std::chrono::milliseconds(i * 10);
    s.admitted(t);
    s.released(t);
  }
  EXPECT_EQ(s.replicas(), 1);  // concurrency alone would not scale
  s.tick(t0 + 1s);
  EXPECT_EQ(s.replicas(), 5);  // ceil(100 / 20)
  // The rate falls to nothing: down to min once the window allows.
  for (int ms = 1100; ms <= 2600; ms += 100) s.tick(t0 + std::chrono::milliseconds(ms));
  EXPECT_EQ(s.replicas(), 1);
}

TEST(Scaler, NeverExceedsMax) {
  const auto t0 = Scaler::Clock::now();
  Scaler s(policy(1, 3, 1), t0);
  for (int i = 0; i < 3; ++i) s.admitted(t0);
  EXPECT_EQ(s.replicas(), 3);
}

TEST(Scaler, ScalesToZeroWhenIdleAndTheNextRequestIsCold) {
  const auto t0 = Scaler::Clock::now();
  Scaler s(policy(0, 3, 10), t0);
  EXPECT_EQ(s.replicas(), 1);  // deployed warm
  s.admitted(t0);
  s.released(t0);
  EXPECT_FALSE(s.tick(t0 + 500ms));
  EXPECT_TRUE(s.tick(t0 + 1001ms));
  EXPECT_EQ(s.replicas(), 0);
  EXPECT_TRUE(s.admitted(t0 + 2s));  // cold
  EXPECT_EQ(s.replicas(), 1);
  // Busy functions are not scaled to zero.
  EXPECT_FALSE(s.tick(t0 + 10s));
  EXPECT_EQ(s.replicas(), 1);
}

TEST(Scaler, MinAboveZeroNeverScalesToZero) {
  const auto t0 = Scaler::Clock::now();
  Scaler s(policy(1, 3, 10), t0);
  EXPECT_FALSE(s.tick(t0 + 1h));
  EXPECT_EQ(s.replicas(), 1);
}

}  // namespace
}  // namespace cwasi::node
