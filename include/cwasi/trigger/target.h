// What a trigger invokes: a function by name, with what its invocations
// share across updates of its deployment (admission, counters) and the
// replica policy above that hears of every admission. The daemon's registry
// entries and the shim's one pod function both are Targets, so the trigger
// layer never sees a deployment or a registry.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "cwasi/trigger/cgi.h"
#include "cwasi/trigger/limiter.h"

namespace cwasi::trigger {

// What a function accumulates across updates of its deployment.
struct TargetStats {
  std::atomic<uint64_t> invocations{0};
  std::atomic<uint64_t> cold_starts{0};
};

// Told of every admitted request and its end: the replica policy (the
// daemon's scaler) learns load and cold starts through it. Thread-safe.
class LoadObserver {
 public:
  virtual ~LoadObserver() = default;
  // A request was admitted at `now`; true when it brings the function up
  // from zero replicas (a cold start).
  virtual bool admitted(std::chrono::steady_clock::time_point now) = 0;
  virtual void released(std::chrono::steady_clock::time_point now) = 0;
  virtual int replicas() = 0;
};

// Immutable once published; shared with requests in flight. An update
// publishes a new Target sharing the limiter, stats and observer of the old
// one (requests admitted under the old release into the same limiter).
struct Target {
  virtual ~Target() = default;
  std::string name;
  std::chrono::milliseconds timeout{0};  // 0: the invoker's default
  ResponseMode response = ResponseMode::kRaw;
  std::shared_ptr<Limiter> limiter;
  std::shared_ptr<TargetStats> stats;
  std::shared_ptr<LoadObserver> load;  // may be null: no replica policy
};

// Where the invocation path looks functions up by name: the daemon's
// registry, or a pod's one function in the shim. Thread-safe.
class TargetDirectory {
 public:
  virtual ~TargetDirectory() = default;
  // The deployed function of that name, or null.
  virtual std::shared_ptr<const Target> findTarget(std::string_view name) const = 0;
};

}  // namespace cwasi::trigger
