#include "cwasi/node/scaler.h"

#include <algorithm>
#include <cmath>

namespace cwasi::node {

Scaler::Scaler(ScalePolicy policy, Clock::time_point now) : policy_(policy) {
  MutexLock lock(mu_);
  // A new deployment's module is loaded: it starts warm.
  replicas_ = std::max(policy_.min_replicas, 1);
  last_active_ = now;
  last_scale_up_ = now;
  last_tick_ = now;
}

void Scaler::scaleUpFor(int inflight) {
  const int wanted = std::max(1, (inflight + policy_.target - 1) / policy_.target);
  if (replicas_ < wanted) replicas_ = std::min(wanted, policy_.max_replicas);
}

bool Scaler::admitted(Clock::time_point now) {
  MutexLock lock(mu_);
  const bool cold = replicas_ == 0;
  ++inflight_;
  ++arrivals_;
  peak_since_sample_ = std::max(peak_since_sample_, inflight_);
  last_active_ = now;
  const int before = replicas_;
  // By rate, a request brings a function at zero back to one replica; the
  // tick adds what the rate needs.
  scaleUpFor(policy_.by_rate ? 1 : inflight_);
  if (replicas_ > before) last_scale_up_ = now;
  return cold;
}

void Scaler::released(Clock::time_point now) {
  MutexLock lock(mu_);
  if (inflight_ > 0) --inflight_;
  last_active_ = now;
}

bool Scaler::tick(Clock::time_point now) {
  MutexLock lock(mu_);
  double sample = std::max(peak_since_sample_, inflight_);
  if (policy_.by_rate) {
    const double seconds = std::chrono::duration<double>(now - last_tick_).count();
    sample = seconds > 0 ? static_cast<double>(arrivals_) / seconds : 0.0;
    const int wanted = static_cast<int>(std::ceil(sample / policy_.target - 1e-9));
    if (replicas_ < wanted) {
      replicas_ = std::min(wanted, policy_.max_replicas);
      last_scale_up_ = now;
    }
  }
  arrivals_ = 0;
  last_tick_ = now;
  samples_.emplace_back(now, sample);
  peak_since_sample_ = inflight_;
  while (!samples_.empty() && now - samples_.front().first > policy_.stable_window) {
    samples_.pop_front();
  }
  if (inflight_ == 0 && replicas_ > 0 && policy_.min_replicas == 0 &&
      now - last_active_ >= policy_.scale_to_zero_after) {
    replicas_ = 0;
    samples_.clear();
    return true;
  }
  if (now - last_scale_up_ < policy_.stable_window) return false;
  double sum = 0;
  for (const auto& [t, n] : samples_) sum += n;
  const double average = samples_.empty() ? 0.0 : sum / static_cast<double>(samples_.size());
  int wanted = static_cast<int>((average + policy_.target - 1e-9) / policy_.target);
  wanted = std::max({wanted, policy_.min_replicas, replicas_ > 0 ? 1 : 0});
  if (replicas_ > wanted) replicas_ = wanted;
  return false;
}

int Scaler::scaleTo(int replicas, Clock::time_point now) {
  MutexLock lock(mu_);
  replicas_ = std::clamp(replicas, 0, policy_.max_replicas);
  last_scale_up_ = now;
  last_active_ = now;
  samples_.clear();
  return replicas_;
}

void Scaler::setPolicy(const ScalePolicy& policy, Clock::time_point now) {
  MutexLock lock(mu_);
  policy_ = policy;
  replicas_ = std::clamp(replicas_, std::max(policy_.min_replicas, 1), policy_.max_replicas);
  last_active_ = now;
}

int Scaler::replicas() {
  MutexLock lock(mu_);
  return replicas_;
}

int Scaler::inflight() {
  MutexLock lock(mu_);
  return inflight_;
}

}  // namespace cwasi::node
