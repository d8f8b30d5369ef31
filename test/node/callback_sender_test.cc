// Callbacks: fair between destinations, bounded per destination and in all,
// retried with a doubling backoff, every outcome counted. The transport is
// the seam: each test plays the destinations' answers.
#include "cwasi/node/callback_sender.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

namespace cwasi::node {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

Callback to(const std::string& host, const std::string& id = "") {
  Callback c;
  c.url = *http::parseUrl("http://" + host + ":80/done");
  c.headers = {{"X-Call-Id", id}};
  return c;
}

// The destinations: "hole" never answers until released; others answer
// with the statuses queued for them (200 when none is left).
class Destinations {
 public:
  Result<int> answer(const Callback& cb) {
    std::unique_lock lock(mu_);
    attempts_.push_back({cb.url.host, cb.headers[0].second, Clock::now()});
    if (cb.url.host == "hole") {
      ++hole_sending_;
      most_hole_sending_ = std::max(most_hole_sending_, hole_sending_);
      cv_.notify_all();
      cv_.wait(lock, [&] { return released_; });
      --hole_sending_;
      return deadlineExceeded("no answer");
    }
    auto& queued = statuses_[cb.url.host];
    int status = 200;
    if (!queued.empty()) {
      status = queued.front();
      queued.erase(queued.begin());
    }
    if (status == 200) ++delivered_[cb.url.host];
    cv_.notify_all();
    return status;
  }
  CallbackTransport transport() {
    return [this](const Callback& cb, const CallbackConfig&) { return answer(cb); };
  }
  void queue(const std::string& host, std::vector<int> statuses) {
    std::lock_guard lock(mu_);
    statuses_[host] = std::move(statuses);
  }
  void release() {
    std::lock_guard lock(mu_);
    released_ = true;
    cv_.notify_all();
  }
  bool waitFor(std::function<bool()> done, std::chrono::milliseconds timeout = 10s) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return done(); });
  }
  struct Attempt {
    std::string host, id;
    Clock::time_point at;
  };
  // Read under the lock (in waitFor) or once the sender has stopped.
  std::vector<Attempt> attempts_;
  std::map<std::string, int> delivered_;
  int hole_sending_ = 0, most_hole_sending_ = 0;

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, std::vector<int>> statuses_;
  bool released_ = false;
};

// What the sender reported, by outcome.
struct Outcomes {
  std::mutex mu;
  std::map<std::string, int> count;
  std::function<void(CallbackOutcome)> observer() {
    return [this](CallbackOutcome o) {
      std::lock_guard lock(mu);
      ++count[outcomeName(o)];
    };
  }
  int operator[](const std::string& o) {
    std::lock_guard lock(mu);
    return count[o];
  }
};

// Issue 21 #5: 20 callbacks to a host that never answers held both senders
// for 5 s each, delaying every other callback by 50 s.
TEST(CallbackSender, AHostThatNeverAnswersDelaysNoOtherHostsCallbacks) {
  Destinations dest;
  CallbackConfig c;
  c.senders = 4;
  c.per_destination = 2;
  CallbackSender sender(c, {}, dest.transport());
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(sender.push(to("hole")));
  ASSERT_TRUE(dest.waitFor([&] { return dest.hole_sending_ == 2; }));
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(sender.push(to("good")));
  EXPECT_TRUE(dest.waitFor([&] { return dest.delivered_["good"] == 10; }));
  EXPECT_TRUE(dest.waitFor([&] { return dest.most_hole_sending_ == 2 && dest.hole_sending_ == 2; }));
  dest.release();
  sender.stop();
  EXPECT_EQ(dest.most_hole_sending_, 2);
}

// 1,200 callbacks to a silent host filled the one queue, and later ones for
// everybody were dropped, silently.
TEST(CallbackSender, AFloodToOneHostFillsOnlyItsShareAndDropsAreCounted) {
  Destinations dest;
  Outcomes outcomes;
  CallbackConfig c;
  c.senders = 2;
  c.per_destination = 1;
  c.max_queued = 40;
  c.per_destination_queued = 10;
  CallbackSender sender(c, outcomes.observer(), dest.transport());
  ASSERT_TRUE(sender.push(to("hole")));
  ASSERT_TRUE(dest.waitFor([&] { return dest.hole_sending_ == 1; }));
  int refused = 0;
  for (int i = 0; i < 100; ++i) refused += sender.push(to("hole")) ? 0 : 1;
  EXPECT_EQ(refused, 90);  // its share: 10 waiting (one more being sent)
  EXPECT_EQ(outcomes["dropped"], 90);
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(sender.push(to("good")));
  EXPECT_TRUE(dest.waitFor([&] { return dest.delivered_["good"] == 10; }));
  dest.release();
}

TEST(CallbackSender, TheWholeQueueIsBoundedToo) {
  Destinations dest;
  CallbackConfig c;
  c.senders = 1;
  c.max_queued = 5;
  c.per_destination_queued = 5;
  c.first_retry = 1ms;
  CallbackSender sender(c, {}, dest.transport());
  ASSERT_TRUE(sender.push(to("hole")));
  ASSERT_TRUE(dest.waitFor([&] { return dest.hole_sending_ == 1; }));
  int accepted = 0;
  for (const char* host : {"a", "b", "c"}) {
    for (int i = 0; i < 3; ++i) accepted += sender.push(to(host)) ? 1 : 0;
  }
  EXPECT_EQ(accepted, 5);
  EXPECT_EQ(sender.pending(), 6u);
  dest.release();
  EXPECT_TRUE(sender.drain(Clock::now() + 10s));
}

TEST(CallbackSender, AFailedAttemptIsRetriedAfterADoublingWait) {
  Destinations dest;
  Outcomes outcomes;
  dest.queue("flaky", {503, 429, 200});
  CallbackConfig c;
  c.first_retry = 40ms;
  CallbackSender sender(c, outcomes.observer(), dest.transport());
  ASSERT_TRUE(sender.push(to("flaky", "call-7")));
  ASSERT_TRUE(sender.drain(Clock::now() + 10s));
  ASSERT_EQ(dest.attempts_.size(), 3u);
  for (const auto& a : dest.attempts_) EXPECT_EQ(a.id, "call-7");  // the same call, again
  EXPECT_GE(dest.attempts_[1].at - dest.attempts_[0].at, 40ms);
  EXPECT_GE(dest.attempts_[2].at - dest.attempts_[1].at, 80ms);
  EXPECT_EQ(outcomes["retried"], 2);
  EXPECT_EQ(outcomes["delivered"], 1);
}

TEST(CallbackSender, AttemptsRunOutAndARefusalIsNotRetried) {
  Destinations dest;
  Outcomes outcomes;
  dest.queue("down", {502, 503, 504, 500});
  dest.queue("strict", {400});
  CallbackConfig c;
  c.first_retry = 1ms;
  c.max_attempts = 3;
  CallbackSender sender(c, outcomes.observer(), dest.transport());
  ASSERT_TRUE(sender.push(to("down")));
  ASSERT_TRUE(sender.push(to("strict")));
  ASSERT_TRUE(sender.drain(Clock::now() + 10s));
  int down = 0, strict = 0;
  for (const auto& a : dest.attempts_) (a.host == "down" ? down : strict)++;
  EXPECT_EQ(down, 3);
  EXPECT_EQ(strict, 1);
  EXPECT_EQ(outcomes["failed"], 2);
  EXPECT_EQ(outcomes["retried"], 2);
  EXPECT_EQ(outcomes["delivered"], 0);
}

TEST(CallbackSender, StoppingDropsWhatWaitsAndSaysHowMany) {
  Destinations dest;
  Outcomes outcomes;
  CallbackConfig c;
  c.senders = 1;
  CallbackSender sender(c, outcomes.observer(), dest.transport());
  ASSERT_TRUE(sender.push(to("hole")));
  ASSERT_TRUE(dest.waitFor([&] { return dest.hole_sending_ == 1; }));
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(sender.push(to("good")));
  std::thread releaser([&] {
    std::this_thread::sleep_for(100ms);
    dest.release();
  });
  EXPECT_EQ(sender.stop(), 3u);  // the one being sent finishes
  releaser.join();
  EXPECT_EQ(outcomes["dropped"], 3);
  EXPECT_FALSE(sender.push(to("good")));
  EXPECT_EQ(dest.delivered_["good"], 0);
}

// A real host: the connect timeout is short, and a host that is down
// is an error worth retrying.
TEST(CallbackSender, OverHttpAHostThatIsDownIsRetried) {
  Outcomes outcomes;
  CallbackConfig c;
  c.first_retry = 1ms;
  c.max_attempts = 2;
  CallbackSender sender(c, outcomes.observer());
  // Nothing listens on port 1 of loopback: refused at once.
  Callback cb;
  cb.url = *http::parseUrl("http://127.0.0.1:1/done");
  ASSERT_TRUE(sender.push(std::move(cb)));
  ASSERT_TRUE(sender.drain(Clock::now() + 10s));
  EXPECT_EQ(outcomes["retried"], 1);
  EXPECT_EQ(outcomes["failed"], 1);
}

}  // namespace
}  // namespace cwasi::node
