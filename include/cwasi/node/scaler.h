// Per-function admission and autoscaling, Knative-style: a function has
// `replicas` warm (its compiled module resident, ready to instantiate an
// instance per request); each replica is meant to carry `target` requests in
// flight. A burst beyond replicas × target scales up at once (up to max); the
// count comes down only when the average in-flight load over a stable window
// allows it, never below min; with min 0, a function idle for
// `scale_to_zero_after` goes to zero replicas (its module is dropped) and the
// next request is a cold start. It hears of every admitted request and its
// end (a trigger::LoadObserver); the cap on requests in flight is the
// function's limiter's (trigger/limiter.h), sized from `max_inflight`.
//
// Scaling by request rate instead (OpenFaaS's com.openfaas.scale.type=rps):
// `target` is requests per second per replica; each tick measures the rate
// since the last one, scales up at once to what it needs, and the stable
// window averages the rates for scaling down.
//
// The clock is the caller's: every method takes `now`, so tests drive time.
#pragma once

#include <chrono>
#include <deque>

#include "cwasi/common/mutex.h"
#include "cwasi/common/result.h"
#include "cwasi/trigger/target.h"

namespace cwasi::node {

struct ScalePolicy {
  int min_replicas = 1;
  int max_replicas = 20;
  bool by_rate = false;    // target: requests/s rather than in flight
  int target = 10;         // per replica: in-flight requests, or requests/s
  int max_inflight = 200;  // the limiter's cap; as many may wait
  std::chrono::milliseconds scale_to_zero_after{15 * 60 * 1000};
  std::chrono::milliseconds stable_window{10000};
};

class Scaler : public trigger::LoadObserver {
 public:
  using Clock = std::chrono::steady_clock;

  Scaler(ScalePolicy policy, Clock::time_point now);

  // A request was admitted (past the limiter): counts it in flight, scales
  // up at once when it needs; true when the function had no replica (this
  // request brings it up: a cold start). Thread-safe.
  bool admitted(Clock::time_point now) override EXCLUDES(mu_);
  // The request ended. Thread-safe.
  void released(Clock::time_point now) override EXCLUDES(mu_);

  // One autoscaler step: samples in-flight, scales down when the window
  // allows. Returns true when the function just went to zero replicas (the
  // caller drops its module). Thread-safe.
  bool tick(Clock::time_point now) EXCLUDES(mu_);

  // Sets the replica count (clamped to [0, max]); the autoscaler goes on from
  // there. Returns the count set.
  int scaleTo(int replicas, Clock::time_point now) EXCLUDES(mu_);
  void setPolicy(const ScalePolicy& policy, Clock::time_point now) EXCLUDES(mu_);

  int replicas() override EXCLUDES(mu_);
  int inflight() EXCLUDES(mu_);

 private:
  void scaleUpFor(int inflight) REQUIRES(mu_);

  Mutex mu_;
  ScalePolicy policy_ GUARDED_BY(mu_);
  int replicas_ GUARDED_BY(mu_) = 0;
  int inflight_ GUARDED_BY(mu_) = 0;
  Clock::time_point last_active_ GUARDED_BY(mu_);
  // (time, in-flight) samples within the stable window; the window's peak
  // per-sample concurrency also counts requests that came and went between
  // samples (peak_since_sample_).
  // By rate, the samples are requests per second between ticks.
  std::deque<std::pair<Clock::time_point, double>> samples_ GUARDED_BY(mu_);
  int peak_since_sample_ GUARDED_BY(mu_) = 0;
  uint64_t arrivals_ GUARDED_BY(mu_) = 0;  // admitted since the last tick
  Clock::time_point last_tick_ GUARDED_BY(mu_);
  Clock::time_point last_scale_up_ GUARDED_BY(mu_);
};

}  // namespace cwasi::node
