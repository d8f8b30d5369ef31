// Results of async calls on their way to their callback URLs, fair between
// destinations. Each destination (host and port) has its own queue and may
// have at most `per_destination` callbacks being sent and
// `per_destination_queued` waiting; the senders take destinations in turn.
// So a destination that never answers holds its own share of the senders
// and of the queue, and every other destination's callbacks go on as if it
// were not there. A callback that could not be delivered — no connection
// within the connect timeout, no answer within the timeout, or a 408, 429
// or 5xx — is tried again after a backoff that doubles (1 s, 2 s, 4 s by
// default), up to `max_attempts` in all: delivery is at least once, and the
// X-Call-Id header lets a receiver drop a repeat. What is dropped (a full
// queue, the attempts used up, a stop) is logged and counted for /metrics.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "cwasi/common/byte_budget.h"
#include "cwasi/common/executor.h"
#include "cwasi/common/mutex.h"
#include "cwasi/http/message.h"
#include "cwasi/http/url.h"

namespace cwasi::node {

struct CallbackConfig {
  size_t senders = 4;                 // callbacks being sent at once, all destinations
  size_t per_destination = 2;         // of those, to one destination
  size_t max_queued = 1000;           // waiting (retries included), all destinations
  size_t per_destination_queued = 250;
  int max_attempts = 4;                          // the first and three retries
  std::chrono::milliseconds first_retry{1000};  // doubled for each later one
  std::chrono::milliseconds connect_timeout{1000};
  std::chrono::milliseconds timeout{5000};  // one attempt, the connect included
};

struct Callback {
  http::Url url;
  http::Headers headers;
  std::string body;
  HeldBytes held;  // given back once delivered or dropped
};

enum class CallbackOutcome {
  kDelivered,  // the destination answered with a status that is not retried
  kRetried,    // an attempt failed; another one is scheduled
  kFailed,     // the last attempt failed, or the answer was a 4xx that is not retried
  kDropped,    // never tried: the queue was full, or the sender stopped
};
const char* outcomeName(CallbackOutcome o);

// Sends one callback; the seam tests use to play a destination's answers.
// Returns the HTTP status, or the error that kept the callback from being
// answered (Unavailable: no connection; DeadlineExceeded: too slow).
using CallbackTransport = std::function<Result<int>(const Callback&, const CallbackConfig&)>;
CallbackTransport httpCallbackTransport();

class CallbackSender {
 public:
  // `observe` is called for every outcome (from the senders' threads and
  // from push()); it must be thread-safe and must not call back in.
  CallbackSender(const CallbackConfig& config, std::function<void(CallbackOutcome)> observe = {},
                 CallbackTransport transport = httpCallbackTransport());
  ~CallbackSender();  // stop()
  CallbackSender(const CallbackSender&) = delete;
  CallbackSender& operator=(const CallbackSender&) = delete;

  // Queues a callback; false (and kDropped) when its destination's share of
  // the queue or the whole queue is full, or once stopped. Thread-safe.
  bool push(Callback callback) EXCLUDES(mu_);
  // Callbacks waiting (retries included) or being sent.
  size_t pending() const EXCLUDES(mu_);
  // Waits (on a condition) until none is pending, or `deadline`; false on timeout.
  bool drain(std::chrono::steady_clock::time_point deadline) EXCLUDES(mu_);
  // Drops what waits (kDropped), lets the callbacks being sent finish and
  // joins the senders; how many were dropped. Idempotent.
  size_t stop() EXCLUDES(mu_);

 private:
  using Clock = std::chrono::steady_clock;
  struct Pending {
    Callback callback;
    std::string destination;
    int attempts = 0;  // made so far
  };
  struct Destination {
    std::deque<Pending> waiting;
    size_t delayed = 0;  // its retries waiting for their time
    size_t sending = 0;
    bool in_rotation = false;
  };

  void serve() EXCLUDES(mu_);
  // The next callback to send, taking destinations in turn; false once stopping.
  bool waitForNext(Pending& next) REQUIRES(mu_);
  void finish(Pending done, const Result<int>& answer) REQUIRES(mu_);
  void enqueue(Pending p, bool front) REQUIRES(mu_);
  void forgetIfIdle(const std::string& destination) REQUIRES(mu_);
  void note(CallbackOutcome o) const {
    if (observe_) observe_(o);
  }

  const CallbackConfig config_;
  const std::function<void(CallbackOutcome)> observe_;
  const CallbackTransport transport_;
  mutable Mutex mu_;
  CondVar changed_;  // a callback queued, sent or due; stopping
  std::map<std::string, Destination> destinations_ GUARDED_BY(mu_);
  std::deque<std::string> rotation_ GUARDED_BY(mu_);  // destinations with callbacks waiting
  std::multimap<Clock::time_point, Pending> delayed_ GUARDED_BY(mu_);
  size_t queued_ GUARDED_BY(mu_) = 0;  // waiting and delayed, all destinations
  size_t sending_ GUARDED_BY(mu_) = 0;
  bool stopping_ GUARDED_BY(mu_) = false;
  uint64_t dropped_ GUARDED_BY(mu_) = 0;  // refused by push()
  // Declared last: its threads run serve() on the members above.
  Executor senders_;
};

}  // namespace cwasi::node
