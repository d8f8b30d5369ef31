#include "cwasi/node/autoscaler.h"

#include "cwasi/common/log.h"

namespace cwasi::node {

Autoscaler::Autoscaler(FunctionRegistry& registry, host::FunctionHost& host, trigger::Metrics& metrics,
                       const Clock& clock, std::chrono::milliseconds interval)
    : registry_(registry), host_(host), metrics_(metrics), clock_(clock), interval_(interval) {
  if (interval_.count() > 0) thread_ = std::thread([this] { loop(); });
}

Autoscaler::~Autoscaler() {
  {
    MutexLock lock(mu_);
    stopping_ = true;
    stop_cv_.notifyAll();
  }
  if (thread_.joinable()) thread_.join();
}

void Autoscaler::tick() {
  const auto now = clock_.now();
  for (const auto& e : registry_.list()) {
    const std::string& name = e->deployment.name;
    if (e->scaler->tick(now)) {
      host_.unload(name);
      CWASI_LOG(kInfo, "scaled " << name << " to zero");
    }
    metrics_.setReplicas(name, e->scaler->replicas());
    metrics_.setInflight(name, e->scaler->inflight());
  }
}

void Autoscaler::loop() {
  for (;;) {
    {
      MutexLock lock(mu_);
      // Real time paces the loop; the clock decides what a step does.
      stop_cv_.waitUntil(mu_, std::chrono::steady_clock::now() + interval_);
      if (stopping_) return;
    }
    tick();
  }
}

}  // namespace cwasi::node
