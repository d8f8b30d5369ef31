#include "cwasi/common/resolver.h"

#include <netdb.h>

#include <atomic>
#include <cstring>

#include "cwasi/common/mutex.h"

namespace cwasi::net {
namespace {

using Clock = std::chrono::steady_clock;

std::vector<Address> addressesOf(const addrinfo* res) {
  std::vector<Address> out;
  for (const addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    if (ai->ai_addrlen > sizeof(sockaddr_storage)) continue;
    Address a;
    std::memcpy(&a.addr, ai->ai_addr, ai->ai_addrlen);
    a.len = ai->ai_addrlen;
    out.push_back(a);
  }
  return out;
}

int getaddrinfoLookup(const std::string& host, uint16_t port, std::vector<Address>& out) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG;
  addrinfo* res = nullptr;
  const int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res);
  if (rc == 0) out = addressesOf(res);
  if (res != nullptr) ::freeaddrinfo(res);
  return rc;
}

}  // namespace

// One lookup, shared by the caller and the thread running it: the caller may
// give up at its deadline, and the thread then finishes alone.
struct Resolver::Lookup {
  Mutex mu;
  CondVar done_cv;
  bool done GUARDED_BY(mu) = false;
  int rc GUARDED_BY(mu) = 0;
  std::vector<Address> addresses GUARDED_BY(mu);
};

Resolver::Resolver(ResolverOptions options)
    : options_(std::move(options)), pending_(std::make_shared<std::atomic<size_t>>(0)) {
  if (!options_.lookup) options_.lookup = getaddrinfoLookup;
  executor_ = std::make_unique<Executor>(ExecutorOptions{
      .name = "resolver",
      .max_threads = std::max<size_t>(1, options_.threads),
      .max_queued = options_.max_pending,
      .keep_idle = 1,
  });
}

Resolver::~Resolver() { executor_->stop(); }

Resolver& Resolver::shared() {
  static Resolver* resolver = new Resolver();  // never destroyed: lookups may still run at exit
  return *resolver;
}

size_t Resolver::pending() const { return pending_->load(); }

Result<std::vector<Address>> Resolver::resolve(const std::string& host, uint16_t port,
                                               Clock::time_point deadline) {
  // An IP literal needs no thread: it never reaches a resolver.
  {
    addrinfo numeric{};
    numeric.ai_family = AF_UNSPEC;
    numeric.ai_socktype = SOCK_STREAM;
    numeric.ai_flags = AI_NUMERICSERV | AI_NUMERICHOST;
    addrinfo* res = nullptr;
    if (::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &numeric, &res) == 0) {
      auto out = addressesOf(res);
      ::freeaddrinfo(res);
      return out;
    }
  }
  if (pending_->fetch_add(1) >= options_.max_pending) {
    pending_->fetch_sub(1);
    return unavailable("cannot resolve " + host + ": " + std::to_string(options_.max_pending) +
                       " name lookups are already pending");
  }
  auto lookup = std::make_shared<Lookup>();
  auto posted = executor_->post([lookup, host, port, fn = options_.lookup, pending = pending_] {
    std::vector<Address> found;
    const int rc = fn(host, port, found);
    pending->fetch_sub(1);
    MutexLock lock(lookup->mu);
    lookup->rc = rc;
    lookup->addresses = std::move(found);
    lookup->done = true;
    lookup->done_cv.notifyAll();
  });
  if (!posted.ok()) {
    pending_->fetch_sub(1);
    return unavailable("cannot resolve " + host + ": " + posted.error().message());
  }
  MutexLock lock(lookup->mu);
  while (!lookup->done) {
    if (!lookup->done_cv.waitUntil(lookup->mu, deadline) && Clock::now() >= deadline) {
      return deadlineExceeded("looking up " + host + " took too long");
    }
  }
  if (lookup->rc != 0) {
    return unavailable("cannot resolve " + host + ": " + gai_strerror(lookup->rc));
  }
  if (lookup->addresses.empty()) return unavailable("cannot resolve " + host + ": no address");
  return std::move(lookup->addresses);
}

}  // namespace cwasi::net
