// The autoscaler: every interval, one step of each function's scaler (scale
// down over the stable window, to zero when idle) on the daemon's clock; a
// function that goes to zero has its module dropped from the host. Owns its
// thread; tests call tick() themselves.
#pragma once

#include <chrono>
#include <thread>

#include "cwasi/common/clock.h"
#include "cwasi/common/mutex.h"
#include "cwasi/host/function_host.h"
#include "cwasi/trigger/metrics.h"
#include "cwasi/node/registry.h"

namespace cwasi::node {

class Autoscaler {
 public:
  // Borrowed arguments must outlive it. `interval` 0: no thread (tick() by hand).
  Autoscaler(FunctionRegistry& registry, host::FunctionHost& host, trigger::Metrics& metrics,
             const Clock& clock, std::chrono::milliseconds interval);
  ~Autoscaler();  // stops and joins the thread

  // One step for every function, at the clock's now. Thread-safe.
  void tick();

 private:
  void loop() EXCLUDES(mu_);

  FunctionRegistry& registry_;
  host::FunctionHost& host_;
  trigger::Metrics& metrics_;
  const Clock& clock_;
  const std::chrono::milliseconds interval_;
  Mutex mu_;
  CondVar stop_cv_;
  bool stopping_ GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace cwasi::node
