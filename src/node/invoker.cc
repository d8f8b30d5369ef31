#include "cwasi/node/invoker.h"

#include <cerrno>

#include "cwasi/node/cgi.h"

namespace cwasi::node {
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

Invoker::Invoker(const FunctionDirectory& functions, host::FunctionHost& host, Metrics& metrics,
                 const Clock& clock, std::chrono::milliseconds default_timeout)
    : functions_(functions),
      host_(host),
      metrics_(metrics),
      clock_(clock),
      default_timeout_(default_timeout) {}

std::chrono::milliseconds Invoker::timeoutOf(const Deployment& d) const {
  return d.timeout.count() > 0 ? d.timeout : default_timeout_;
}

Result<bool> Invoker::admit(const FunctionEntry* entry, Clock::TimePoint start,
                            Clock::TimePoint deadline) {
  if (entry == nullptr) return false;
  TRY_ASSIGN(Scaler::Admission admitted, entry->scaler->admit(start, deadline));
  metrics_.setInflight(entry->deployment.name, entry->scaler->inflight());
  return admitted.cold;
}

void Invoker::account(const std::string& function, const FunctionEntry* entry,
                      const Invocation& inv) {
  metrics_.invocation(function, httpStatusOf(inv), std::chrono::duration<double>(inv.duration).count());
  if (entry == nullptr) return;
  entry->stats->invocations.fetch_add(1, std::memory_order_relaxed);
  if (inv.cold_start) {
    entry->stats->cold_starts.fetch_add(1, std::memory_order_relaxed);
    metrics_.coldStart(function);
  }
  metrics_.setInflight(function, entry->scaler->inflight());
  metrics_.setReplicas(function, entry->scaler->replicas());
}

template <class Run>
Invocation Invoker::admitted(const std::string& function, const FunctionEntry* entry,
                             Clock::TimePoint start, Clock::TimePoint deadline, Run run) {
  Invocation inv;
  auto cold = admit(entry, start, deadline);
  if (!cold.ok()) {
    inv.result = std::move(cold).error();
  } else {
    inv.cold_start = *cold;
    run(inv);
    if (entry) entry->scaler->release(clock_.now());
  }
  inv.duration = clock_.now() - start;
  account(function, entry, inv);
  return inv;
}

Invocation Invoker::invoke(const FunctionEntry& entry, std::span<const uint8_t> body,
                           std::vector<std::pair<std::string, std::string>> env) {
  const Deployment& d = entry.deployment;
  const auto start = clock_.now();
  const auto deadline = start + timeoutOf(d);
  return admitted(d.name, &entry, start, deadline, [&](Invocation& inv) {
    host::CallOptions options;
    options.deadline = deadline;
    options.env = std::move(env);
    auto r = host_.invoke(d.name, body, options);
    if (!r.ok()) {
      inv.result = std::move(r).error();
      return;
    }
    inv.cold_start = inv.cold_start || r->cold_start;
    inv.result = std::move(r->body);
    inv.head = std::move(r->head);
    if (d.response == ResponseMode::kCgi) {
      if (auto applied = applyCgi(inv); !applied.ok()) {
        inv.head.clear();
        inv.result = dataLoss("invalid CGI output: " + applied.error().message());
      }
    }
  });
}

Invocation Invoker::step(const std::string& function, std::span<const uint8_t> input,
                         const std::string& domain, Clock::TimePoint deadline) {
  std::shared_ptr<const FunctionEntry> entry = functions_.find(function);
  return admitted(function, entry.get(), clock_.now(), deadline, [&](Invocation& inv) {
    host::CallOptions options;
    options.deadline = deadline;
    inv.result = host_.call(function, input, domain, options);
  });
}

}  // namespace cwasi::node
