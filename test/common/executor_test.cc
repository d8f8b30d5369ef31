// The bounded executor: threads reused and bounded, a full queue refused, a
// thread that cannot be started an error (never an exception), drains and
// stops that wait on conditions.
#include "cwasi/common/executor.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>
#include <vector>

namespace cwasi {
namespace {

using namespace std::chrono_literals;

// Work that blocks until opened.
struct Gate {
  Mutex mu;
  CondVar cv;
  bool open GUARDED_BY(mu) = false;
  void wait() {
    MutexLock l(mu);
    while (!open) cv.wait(mu);
  }
  void release() {
    MutexLock l(mu);
    open = true;
    cv.notifyAll();
  }
};

TEST(Executor, ReusesItsThreadsForSequentialWork) {
  Executor ex({.max_threads = 8});
  Mutex mu;
  std::set<std::thread::id> ids;
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(ex.post([&] {
                    MutexLock l(mu);
                    ids.insert(std::this_thread::get_id());
                  }).ok());
    ASSERT_TRUE(ex.drain(std::chrono::steady_clock::now() + 5s));
  }
  EXPECT_EQ(ids.size(), 1u);
  EXPECT_EQ(ex.threads(), 1u);
}

// A handoff runs on the item's own thread right after it, counted as
// running (drain waits for it); a chain longer than kMaxHandoffs goes
// through the queue; from outside a work item postNext is post.
TEST(Executor, PostNextFromAWorkItemRunsOnItsThreadRightAfterIt) {
  Executor ex({.max_threads = 4});
  Mutex mu;
  std::vector<std::pair<int, std::thread::id>> order;
  const auto note = [&](int step) {
    MutexLock l(mu);
    order.emplace_back(step, std::this_thread::get_id());
  };
  ASSERT_TRUE(ex.post([&] {
                  ASSERT_TRUE(ex.postNext([&] {
                                  std::this_thread::sleep_for(20ms);  // drain must wait for it
                                  note(2);
                                }).ok());
                  note(1);
                }).ok());
  ASSERT_TRUE(ex.drain(std::chrono::steady_clock::now() + 5s));
  {
    MutexLock l(mu);
    ASSERT_EQ(order.size(), 2u);
    EXPECT_EQ(order[0].first, 1);
    EXPECT_EQ(order[1].first, 2);
    EXPECT_EQ(order[0].second, order[1].second);
  }

  // A chain: each item hands on the next, 40 in all.
  std::atomic<int> left{40};
  std::function<void()> link = [&] {
    note(3);
    if (--left > 0) ASSERT_TRUE(ex.postNext(link).ok());
  };
  ASSERT_TRUE(ex.post(link).ok());
  ASSERT_TRUE(ex.drain(std::chrono::steady_clock::now() + 5s));
  EXPECT_EQ(left.load(), 0);

  // Outside a work item it is post().
  std::atomic<bool> ran{false};
  ASSERT_TRUE(ex.postNext([&] { ran = true; }).ok());
  ASSERT_TRUE(ex.drain(std::chrono::steady_clock::now() + 5s));
  EXPECT_TRUE(ran.load());
}

TEST(Executor, RunsAtMostMaxThreadsAndQueuesThenRefusesTheRest) {
  Executor ex({.max_threads = 3, .max_queued = 2});
  Gate gate;
  std::atomic<int> ran{0};
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(ex.post([&] {
                    gate.wait();
                    ++ran;
                  }).ok())
        << i;
  }
  EXPECT_EQ(ex.threads(), 3u);
  auto refused = ex.post([] {});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), Code::kResourceExhausted);
  EXPECT_FALSE(ex.drain(std::chrono::steady_clock::now() + 20ms));
  gate.release();
  EXPECT_TRUE(ex.drain(std::chrono::steady_clock::now() + 5s));
  EXPECT_EQ(ran.load(), 5);
  EXPECT_EQ(ex.threads(), 3u);
}

TEST(Executor, AThreadThatCannotStartIsAnErrorNotACrash) {
  std::atomic<int> starts{0};
  ExecutorOptions o;
  o.max_threads = 4;
  o.start_thread = [&](std::function<void()> body) -> Result<std::thread> {
    if (starts++ >= 1) return unavailable("cannot start a thread: Resource temporarily unavailable");
    return std::thread(std::move(body));
  };
  Executor ex(std::move(o));
  Gate gate;
  std::atomic<int> ran{0};
  // The first thread starts; later ones cannot, and their work waits for it.
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(ex.post([&] {
                    gate.wait();
                    ++ran;
                  }).ok());
  }
  gate.release();
  EXPECT_TRUE(ex.drain(std::chrono::steady_clock::now() + 5s));
  EXPECT_EQ(ran.load(), 3);
  ex.stop();

  // With no thread at all, the caller is told.
  ExecutorOptions none;
  none.start_thread = [](std::function<void()>) -> Result<std::thread> {
    return unavailable("cannot start a thread: Resource temporarily unavailable");
  };
  Executor empty(std::move(none));
  auto r = empty.post([] {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Code::kUnavailable);
  EXPECT_NE(r.error().message().find("cannot start a thread"), std::string::npos);
}

TEST(Executor, IdleThreadsBeyondTheKeptOnesLeaveAndAreJoined) {
  Executor ex({.max_threads = 6, .keep_idle = 1, .idle_exit = 20ms});
  Gate gate;
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(ex.post([&] { gate.wait(); }).ok());
  EXPECT_EQ(ex.threads(), 6u);
  gate.release();
  ASSERT_TRUE(ex.drain(std::chrono::steady_clock::now() + 5s));
  for (int i = 0; i < 500 && ex.threads() > 1; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(ex.threads(), 1u);
  // Work still runs after the others left.
  std::atomic<bool> ran{false};
  ASSERT_TRUE(ex.post([&] { ran = true; }).ok());
  EXPECT_TRUE(ex.drain(std::chrono::steady_clock::now() + 5s));
  EXPECT_TRUE(ran.load());
}

TEST(Executor, StopLetsRunningWorkFinishDropsTheQueueAndRefusesMore) {
  Executor ex({.max_threads = 1, .max_queued = 10});
  Gate started, gate;
  std::atomic<int> ran{0};
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(ex.post([&] {
                    started.release();
                    gate.wait();
                    ++ran;
                  }).ok());
  }
  started.wait();  // one runs, three wait
  std::thread opener([&] {
    std::this_thread::sleep_for(20ms);
    gate.release();
  });
  EXPECT_EQ(ex.stop(), 3u);
  opener.join();
  EXPECT_EQ(ran.load(), 1);
  EXPECT_EQ(ex.post([] {}).error().code(), Code::kUnavailable);
}

}  // namespace
}  // namespace cwasi
