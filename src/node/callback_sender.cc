#include "cwasi/node/callback_sender.h"

#include <algorithm>

#include "cwasi/common/log.h"
#include "cwasi/http/client.h"

namespace cwasi::node {
namespace {

// Worth another attempt: the callback was not answered, or the answer says
// to try later (408 Request Timeout, 429 Too Many Requests, 5xx).
bool retryable(const Result<int>& answer) {
  if (!answer.ok()) {
    return answer.error().code() == Code::kUnavailable ||
           answer.error().code() == Code::kDeadlineExceeded;
  }
  return *answer == 408 || *answer == 429 || *answer >= 500;
}

std::string describe(const Result<int>& answer) {
  return answer.ok() ? "answered " + std::to_string(*answer) : answer.error().message();
}

}  // namespace

const char* outcomeName(CallbackOutcome o) {
  switch (o) {
    case CallbackOutcome::kDelivered: return "delivered";
    case CallbackOutcome::kRetried: return "retried";
    case CallbackOutcome::kFailed: return "failed";
    case CallbackOutcome::kDropped: return "dropped";
  }
  return "unknown";
}

CallbackTransport httpCallbackTransport() {
  return [](const Callback& cb, const CallbackConfig& c) -> Result<int> {
    TRY_ASSIGN(http::HttpResponse r, http::httpFetch(cb.url, "POST", cb.headers, cb.body, c.timeout,
                                                     64 << 10, c.connect_timeout));
    return r.status;
  };
}

CallbackSender::CallbackSender(const CallbackConfig& config,
                               std::function<void(CallbackOutcome)> observe,
                               CallbackTransport transport)
    : config_(config),
      observe_(std::move(observe)),
      transport_(std::move(transport)),
      senders_({.name = "callback senders",
                .max_threads = std::max<size_t>(1, config.senders),
                .max_queued = std::max<size_t>(1, config.senders),
                .keep_idle = std::max<size_t>(1, config.senders)}) {
  for (size_t i = 0; i < std::max<size_t>(1, config.senders); ++i) {
    if (auto r = senders_.post([this] { serve(); }); !r.ok()) {
      CWASI_LOG(kError, "callbacks: " << r.error().message());
      break;
    }
  }
}

CallbackSender::~CallbackSender() { stop(); }

bool CallbackSender::push(Callback callback) {
  const std::string destination = callback.url.host + ":" + std::to_string(callback.url.port);
  MutexLock lock(mu_);
  const auto it = destinations_.find(destination);
  const size_t here = it == destinations_.end() ? 0 : it->second.waiting.size() + it->second.delayed;
  if (stopping_ || queued_ >= config_.max_queued || here >= config_.per_destination_queued) {
    const std::string why = stopping_ ? "the daemon is stopping"
                            : queued_ >= config_.max_queued
                                ? std::to_string(queued_) + " callbacks wait, the most there may be"
                                : std::to_string(here) + " callbacks to " + destination +
                                      " wait, the most one destination may have";
    // Logged once in a hundred: a flood of them must not flood the log.
    if (dropped_++ % 100 == 0) {
      CWASI_LOG(kWarn, "callback to " << destination << " dropped: " << why << " (" << dropped_
                                      << " dropped so far; see cwasi_async_callbacks_total)");
    }
    note(CallbackOutcome::kDropped);
    return false;
  }
  enqueue({std::move(callback), destination, 0}, false);
  return true;
}

void CallbackSender::enqueue(Pending p, bool front) {
  Destination& d = destinations_[p.destination];
  if (!d.in_rotation) {
    rotation_.push_back(p.destination);
    d.in_rotation = true;
  }
  if (front) {
    d.waiting.push_front(std::move(p));
  } else {
    d.waiting.push_back(std::move(p));
    ++queued_;
  }
  changed_.notifyAll();
}

size_t CallbackSender::pending() const {
  MutexLock lock(mu_);
  return queued_ + sending_;
}

bool CallbackSender::drain(Clock::time_point deadline) {
  MutexLock lock(mu_);
  while (queued_ + sending_ > 0) {
    if (!changed_.waitUntil(mu_, deadline) && queued_ + sending_ > 0) return false;
  }
  return true;
}

size_t CallbackSender::stop() {
  size_t dropped = 0;
  {
    MutexLock lock(mu_);
    if (!stopping_) {
      stopping_ = true;
      dropped = queued_;
      for (size_t i = 0; i < dropped; ++i) note(CallbackOutcome::kDropped);
      delayed_.clear();
      for (auto& [name, d] : destinations_) {
        d.waiting.clear();
        d.delayed = 0;
      }
      queued_ = 0;
      changed_.notifyAll();
    }
  }
  senders_.stop();
  return dropped;
}

void CallbackSender::serve() {
  for (;;) {
    Pending next;
    {
      MutexLock lock(mu_);
      if (!waitForNext(next)) return;
    }
    Result<int> answer = transport_(next.callback, config_);
    MutexLock lock(mu_);
    finish(std::move(next), answer);
  }
}

bool CallbackSender::waitForNext(Pending& next) {
  for (;;) {
    if (stopping_) return false;
    // Retries whose time has come go first in their destination's queue.
    const auto now = Clock::now();
    while (!delayed_.empty() && delayed_.begin()->first <= now) {
      Pending p = std::move(delayed_.begin()->second);
      delayed_.erase(delayed_.begin());
      --destinations_[p.destination].delayed;
      enqueue(std::move(p), true);
    }
    // Destinations in turn; one at its share of the senders waits its turn.
    for (size_t n = rotation_.size(); n > 0; --n) {
      std::string name = std::move(rotation_.front());
      rotation_.pop_front();
      Destination& d = destinations_[name];
      if (d.waiting.empty()) {
        d.in_rotation = false;
        forgetIfIdle(name);
        continue;
      }
      if (d.sending >= config_.per_destination) {
        rotation_.push_back(std::move(name));
        continue;
      }
      next = std::move(d.waiting.front());
      d.waiting.pop_front();
      ++d.sending;
      --queued_;
      ++sending_;
      if (d.waiting.empty()) {
        d.in_rotation = false;
      } else {
        rotation_.push_back(std::move(name));
      }
      return true;
    }
    if (delayed_.empty()) {
      changed_.wait(mu_);
    } else {
      // A copy: another sender may take that retry (and free its node) while
      // this one waits, and the wait reads its deadline again on waking.
      const Clock::time_point due = delayed_.begin()->first;
      (void)changed_.waitUntil(mu_, due);
    }
  }
}

void CallbackSender::finish(Pending done, const Result<int>& answer) {
  --sending_;
  --destinations_[done.destination].sending;
  ++done.attempts;
  const std::string destination = done.destination;
  if (!retryable(answer)) {
    if (answer.ok() && *answer >= 400) {
      CWASI_LOG(kWarn, "callback to " << destination << " " << describe(answer) << ": not retried");
      note(CallbackOutcome::kFailed);
    } else {
      note(CallbackOutcome::kDelivered);
    }
  } else if (done.attempts < config_.max_attempts && !stopping_) {
    const auto backoff = config_.first_retry * (1 << std::min(done.attempts - 1, 16));
    CWASI_LOG(kInfo, "callback to " << destination << " " << describe(answer) << ": attempt "
                                    << done.attempts + 1 << " of " << config_.max_attempts
                                    << " in " << backoff.count() << " ms");
    ++destinations_[destination].delayed;
    ++queued_;
    delayed_.emplace(Clock::now() + backoff, std::move(done));
    note(CallbackOutcome::kRetried);
  } else {
    CWASI_LOG(kWarn, "callback to " << destination << " " << describe(answer) << ": dropped after "
                                    << done.attempts << " attempt(s)");
    note(CallbackOutcome::kFailed);
  }
  forgetIfIdle(destination);
  changed_.notifyAll();
}

void CallbackSender::forgetIfIdle(const std::string& destination) {
  auto it = destinations_.find(destination);
  if (it != destinations_.end() && it->second.sending == 0 && it->second.delayed == 0 &&
      it->second.waiting.empty() && !it->second.in_rotation) {
    destinations_.erase(it);
  }
}

}  // namespace cwasi::node
