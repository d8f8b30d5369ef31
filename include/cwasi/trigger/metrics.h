// The daemon's Prometheus metrics, named like OpenFaaS's gateway where they
// mean the same (gateway_function_invocation_total, gateway_functions_seconds,
// gateway_service_count) so existing dashboards work, plus cwasi's own:
// cold starts, in-flight requests, bytes moved per communication mode, and
// what became of async callbacks.
// Thread-safe.
#pragma once

#include <memory>
#include <string>

#include "cwasi/comm/locality.h"

namespace cwasi::trigger {

class Metrics {
 public:
  Metrics();
  ~Metrics();

  void invocation(const std::string& function, int http_status, double seconds);
  void coldStart(const std::string& function);
  void setReplicas(const std::string& function, int replicas);
  void setInflight(const std::string& function, int inflight);
  // What became of an async call's callback: delivered, retried, failed, dropped.
  void callback(const std::string& outcome);
  // Prometheus text exposition; `comm` is read at the moment of the scrape.
  std::string render(const comm::CommStats& comm);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace cwasi::trigger
