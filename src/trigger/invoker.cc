#include "cwasi/trigger/invoker.h"

#include <cerrno>

#include "cwasi/trigger/cgi.h"

namespace cwasi::trigger {
namespace {

// The function's CGI output split into `inv`'s head and body; what the
// function set through the ABI stays, CGI's status and headers come on top.
Result<void> applyCgi(Invocation& inv) {
  const std::vector<uint8_t>& output = *inv.result;
  TRY_ASSIGN(CgiOutput cgi,
             parseCgiOutput({reinterpret_cast<const char*>(output.data()), output.size()}));
  if (cgi.head.status() != 0) TRY(inv.head.setStatus(cgi.head.status()));
  for (const auto& [k, v] : cgi.head.headers()) TRY(inv.head.addHeader(k, v));
  inv.result = std::vector<uint8_t>(cgi.body.begin(), cgi.body.end());
  return {};
}

}  // namespace

int httpStatusFor(const Error& e) {
  switch (e.code()) {
    case Code::kInvalidArgument: return 400;
    case Code::kUnauthenticated: return 401;
    case Code::kPermissionDenied: return 403;
    case Code::kNotFound: return 404;
    case Code::kAlreadyExists:
    case Code::kFailedPrecondition: return 409;
    case Code::kResourceExhausted:
      // A full disk is the server's, not the client's rate (WebDAV's 507).
      return e.osError() == ENOSPC || e.osError() == EDQUOT ? 507 : 429;
    case Code::kUnimplemented: return 501;
    case Code::kUnavailable: return 503;
    case Code::kDeadlineExceeded: return 504;
    case Code::kDataLoss: return 502;
    default: return 500;  // the function failed (Aborted), or ours did
  }
}

int httpStatusOf(const Invocation& inv) {
  if (!inv.result.ok()) return httpStatusFor(inv.result.error());
  return inv.head.status() != 0 ? inv.head.status() : 200;
}

Invoker::Invoker(const TargetDirectory& functions, host::FunctionHost& host, Metrics& metrics,
                 const Clock& clock, std::chrono::milliseconds default_timeout)
    : functions_(functions),
      host_(host),
      metrics_(metrics),
      clock_(clock),
      default_timeout_(default_timeout) {}

std::chrono::milliseconds Invoker::timeoutOf(const Target& t) const {
  return t.timeout.count() > 0 ? t.timeout : default_timeout_;
}

bool Invoker::admitted(const Target* target, Clock::TimePoint now) {
  metrics_.setInflight(target->name, static_cast<int>(target->limiter->inflight()));
  return target->load && target->load->admitted(now);
}

Result<bool> Invoker::admit(const Target* target, Clock::TimePoint start,
                            Clock::TimePoint deadline) {
  if (target == nullptr) return false;
  TRY(target->limiter->acquire(deadline));
  return admitted(target, start);
}

void Invoker::account(const std::string& function, const Target* target, const Invocation& inv) {
  metrics_.invocation(function, httpStatusOf(inv), std::chrono::duration<double>(inv.duration).count());
  if (target == nullptr) return;
  target->stats->invocations.fetch_add(1, std::memory_order_relaxed);
  if (inv.cold_start) {
    target->stats->cold_starts.fetch_add(1, std::memory_order_relaxed);
    metrics_.coldStart(function);
  }
  metrics_.setInflight(function, static_cast<int>(target->limiter->inflight()));
  if (target->load) metrics_.setReplicas(function, target->load->replicas());
}

template <class Run>
Invocation Invoker::run(const std::string& function, const Target* target, Result<bool> cold,
                        Clock::TimePoint start, bool release_slot, Run body) {
  Invocation inv;
  if (!cold.ok()) {
    inv.result = std::move(cold).error();
  } else {
    inv.cold_start = *cold;
    body(inv);
    if (target) {
      if (release_slot) target->limiter->release();
      if (target->load) target->load->released(clock_.now());
    }
  }
  inv.duration = clock_.now() - start;
  account(function, target, inv);
  return inv;
}

void Invoker::runFunction(const Target& target, Clock::TimePoint deadline,
                          std::span<const uint8_t> body,
                          std::vector<std::pair<std::string, std::string>> env, Invocation& inv) {
  host::CallOptions options;
  options.deadline = deadline;
  options.env = std::move(env);
  auto r = host_.invoke(target.name, body, options);
  if (!r.ok()) {
    inv.result = std::move(r).error();
    return;
  }
  inv.cold_start = inv.cold_start || r->cold_start;
  inv.result = std::move(r->body);
  inv.head = std::move(r->head);
  if (target.response == ResponseMode::kCgi) {
    if (auto applied = applyCgi(inv); !applied.ok()) {
      inv.head.clear();
      inv.result = dataLoss("invalid CGI output: " + applied.error().message());
    }
  }
}

Invocation Invoker::invoke(const Target& target, std::span<const uint8_t> body,
                           std::vector<std::pair<std::string, std::string>> env) {
  const auto start = clock_.now();
  const auto deadline = start + timeoutOf(target);
  return run(target.name, &target, admit(&target, start, deadline), start, true,
             [&](Invocation& inv) { runFunction(target, deadline, body, std::move(env), inv); });
}

Invocation Invoker::invokeAdmitted(const Target& target, std::span<const uint8_t> body,
                                   std::vector<std::pair<std::string, std::string>> env) {
  const auto start = clock_.now();
  const auto deadline = start + timeoutOf(target);
  return run(target.name, &target, admitted(&target, start), start, false,
             [&](Invocation& inv) { runFunction(target, deadline, body, std::move(env), inv); });
}

Invocation Invoker::step(const std::string& function, std::span<const uint8_t> input,
                         const std::string& domain, Clock::TimePoint deadline) {
  std::shared_ptr<const Target> target = functions_.findTarget(function);
  const auto start = clock_.now();
  return run(function, target.get(), admit(target.get(), start, deadline), start, true,
             [&](Invocation& inv) {
               host::CallOptions options;
               options.deadline = deadline;
               inv.result = host_.call(function, input, domain, options);
             });
}

}  // namespace cwasi::trigger
