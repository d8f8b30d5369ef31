#include "cwasi/trigger/gate.h"

#include <atomic>
#include <memory>

#include "cwasi/trigger/invoker.h"

namespace cwasi::trigger {
namespace {

// A limiter's slot owned by a request: given back when the request goes,
// whoever drops it last (the handler, the server's queue, the limiter's
// waiter at a stop).
struct Slot {
  explicit Slot(std::shared_ptr<Limiter> l) : limiter(std::move(l)) {}
  ~Slot() {
    if (held.load()) limiter->release();
  }
  Slot(const Slot&) = delete;
  Slot& operator=(const Slot&) = delete;
  std::shared_ptr<Limiter> limiter;
  std::atomic<bool> held{false};
};

}  // namespace

http::GateDecision admitRequest(const Target& target, std::chrono::steady_clock::time_point deadline,
                                http::HttpRequest& req, http::Resume resume) {
  auto slot = std::make_shared<Slot>(target.limiter);
  // Attached first: the waiter may run (and the request with it) on another
  // thread before tryAcquire returns.
  req.admission = slot;
  uint64_t ticket = 0;
  auto now = target.limiter->tryAcquire(
      deadline,
      [slot, resume = std::move(resume)](Result<void> granted) {
        if (granted.ok()) {
          slot->held.store(true);
          resume(std::nullopt);
        } else {
          resume(http::HttpResponse::jsonError(httpStatusFor(granted.error()),
                                               granted.error().message()));
        }
      },
      &ticket);
  if (!now.ok()) {
    return http::HttpResponse::jsonError(httpStatusFor(now.error()), now.error().message());
  }
  if (*now) {
    slot->held.store(true);
    return std::monostate{};
  }
  return http::Parked{[limiter = target.limiter, ticket] { return limiter->cancel(ticket); }, deadline};
}

bool holdsSlot(const http::HttpRequest& req) {
  auto* slot = static_cast<const Slot*>(req.admission.get());
  return slot != nullptr && slot->held.load();
}

}  // namespace cwasi::trigger
