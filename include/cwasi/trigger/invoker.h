// The one invocation path of the daemon and of the shim's HTTP trigger:
// admission through the function's limiter (the replica policy told of it),
// the run in the function host, then the accounting — invocations, cold
// starts, duration and status in the metrics. Sync calls, async calls and
// workflow steps all come through here.
#pragma once

#include <chrono>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "cwasi/common/clock.h"
#include "cwasi/common/result.h"
#include "cwasi/host/function_host.h"
#include "cwasi/trigger/metrics.h"
#include "cwasi/trigger/target.h"

namespace cwasi::trigger {

// One invocation's outcome: the response or the error, and what it cost.
struct Invocation {
  Result<std::vector<uint8_t>> result{std::vector<uint8_t>()};
  // The response's status and headers, as the function gave them (guest ABI
  // v2, or its CGI output); empty when it gave none.
  runtime::ResponseHead head;
  bool cold_start = false;
  std::chrono::steady_clock::duration duration{0};
};

// The HTTP status that stands for an error (the one place codes map to HTTP).
// DataLoss is 502: what an upstream gave (a function's CGI output) is not
// what it must be.
int httpStatusFor(const Error& e);

// The HTTP status an invocation answers with: the function's own when it
// set one, 200 for any other success, httpStatusFor its error.
int httpStatusOf(const Invocation& inv);

class Invoker {
 public:
  // Everything borrowed must outlive the invoker.
  Invoker(const TargetDirectory& functions, host::FunctionHost& host, Metrics& metrics,
          const Clock& clock, std::chrono::milliseconds default_timeout);

  // Runs a deployed function: admitted by its limiter (waiting on this
  // thread), with its timeout (or the default), `env` added to its
  // environment. A Target with ResponseMode::kCgi has its output parsed as
  // CGI. Errors: the admission's (ResourceExhausted: too many waiting;
  // DeadlineExceeded), the function's, DataLoss for CGI output that does
  // not parse.
  Invocation invoke(const Target& target, std::span<const uint8_t> body,
                    std::vector<std::pair<std::string, std::string>> env);
  // The same for a request that already holds a slot of the limiter (the
  // gate's, gate.h: released with the request, not here).
  Invocation invokeAdmitted(const Target& target, std::span<const uint8_t> body,
                            std::vector<std::pair<std::string, std::string>> env);
  // One workflow step: a call to `function` wherever it runs, from
  // `domain`, exactly as a guest's cwasi.call would make it; a function
  // deployed here is admitted and accounted like any invocation.
  Invocation step(const std::string& function, std::span<const uint8_t> input,
                  const std::string& domain, Clock::TimePoint deadline);

  std::chrono::milliseconds timeoutOf(const Target& t) const;

 private:
  // Admits a request for `target` (if any); the admission's cold flag.
  Result<bool> admit(const Target* target, Clock::TimePoint start, Clock::TimePoint deadline);
  // Tells the replica policy; the cold flag.
  bool admitted(const Target* target, Clock::TimePoint now);
  // Lets `run` fill in the invocation of an admitted request, gives the slot
  // back and records it: the accounting every kind of invocation shares.
  template <class Run>
  Invocation run(const std::string& function, const Target* target, Result<bool> cold,
                 Clock::TimePoint start, bool release_slot, Run body);
  // Runs `target`'s function on an admitted slot.
  void runFunction(const Target& target, Clock::TimePoint deadline, std::span<const uint8_t> body,
                   std::vector<std::pair<std::string, std::string>> env, Invocation& inv);
  // Records the invocation.
  void account(const std::string& function, const Target* target, const Invocation& inv);

  const TargetDirectory& functions_;
  host::FunctionHost& host_;
  Metrics& metrics_;
  const Clock& clock_;
  const std::chrono::milliseconds default_timeout_;
};

}  // namespace cwasi::trigger
