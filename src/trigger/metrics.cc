#include "cwasi/trigger/metrics.h"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <array>

#include "cwasi/common/mutex.h"

namespace cwasi::trigger {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;

struct Metrics::Impl {
  prometheus::Registry registry;
  prometheus::Family<prometheus::Counter>& invocations =
      BuildCounter()
          .Name("gateway_function_invocation_total")
          .Help("Function invocations by function and HTTP status")
          .Register(registry);
  prometheus::Family<prometheus::Histogram>& seconds =
      BuildHistogram()
          .Name("gateway_functions_seconds")
          .Help("Function invocation duration in seconds")
          .Register(registry);
  prometheus::Family<prometheus::Gauge>& replicas =
      BuildGauge()
          .Name("gateway_service_count")
          .Help("Warm replicas per function")
          .Register(registry);
  prometheus::Family<prometheus::Counter>& cold =
      BuildCounter()
          .Name("cwasi_cold_starts_total")
          .Help("Invocations that had to load the function's module first")
          .Register(registry);
  prometheus::Family<prometheus::Gauge>& inflight =
      BuildGauge()
          .Name("cwasi_function_inflight")
          .Help("Requests in flight per function")
          .Register(registry);
  prometheus::Family<prometheus::Counter>& comm_bytes =
      BuildCounter()
          .Name("cwasi_comm_bytes_total")
          .Help("Bytes moved between functions per communication mode and direction")
          .Register(registry);
  prometheus::Family<prometheus::Counter>& comm_calls =
      BuildCounter()
          .Name("cwasi_comm_calls_total")
          .Help("Function-to-function calls and sends per communication mode")
          .Register(registry);
  prometheus::Family<prometheus::Counter>& callbacks =
      BuildCounter()
          .Name("cwasi_async_callbacks_total")
          .Help("Async callbacks by outcome: delivered, retried (an attempt failed), failed "
                "(no attempt left, or refused), dropped (the callback queue was full)")
          .Register(registry);
  // CommStats counts on its own; a scrape adds what it counted since the last.
  Mutex mu;
  std::array<uint64_t, comm::kModeCount> seen_out GUARDED_BY(mu){}, seen_in GUARDED_BY(mu){},
      seen_calls GUARDED_BY(mu){};
};

Metrics::Metrics() : impl_(std::make_unique<Impl>()) {}
Metrics::~Metrics() = default;

void Metrics::invocation(const std::string& function, int http_status, double seconds) {
  const std::string code = std::to_string(http_status);
  impl_->invocations.Add({{"function_name", function}, {"code", code}}).Increment();
  static const prometheus::Histogram::BucketBoundaries kBuckets = {
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
  impl_->seconds.Add({{"function_name", function}, {"code", code}}, kBuckets).Observe(seconds);
}

void Metrics::coldStart(const std::string& function) {
  impl_->cold.Add({{"function_name", function}}).Increment();
}

void Metrics::setReplicas(const std::string& function, int replicas) {
  impl_->replicas.Add({{"function_name", function}}).Set(replicas);
}

void Metrics::setInflight(const std::string& function, int inflight) {
  impl_->inflight.Add({{"function_name", function}}).Set(inflight);
}

void Metrics::callback(const std::string& outcome) {
  impl_->callbacks.Add({{"outcome", outcome}}).Increment();
}

std::string Metrics::render(const comm::CommStats& comm) {
  MutexLock lock(impl_->mu);
  for (int m = 0; m < comm::kModeCount; ++m) {
    const std::string mode(comm::modeName(static_cast<comm::Mode>(m)));
    auto advance = [](prometheus::Counter& c, uint64_t& seen, uint64_t now) {
      c.Increment(static_cast<double>(now - seen));
      seen = now;
    };
    advance(impl_->comm_bytes.Add({{"mode", mode}, {"direction", "out"}}), impl_->seen_out[m],
            comm.bytes_out[m].load());
    advance(impl_->comm_bytes.Add({{"mode", mode}, {"direction", "in"}}), impl_->seen_in[m],
            comm.bytes_in[m].load());
    advance(impl_->comm_calls.Add({{"mode", mode}}), impl_->seen_calls[m], comm.calls[m].load());
  }
  return prometheus::TextSerializer().Serialize(impl_->registry.Collect());
}

}  // namespace cwasi::trigger
