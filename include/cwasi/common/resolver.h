// Name lookups with a deadline and a bound: getaddrinfo cannot be
// interrupted, so lookups run on a few threads of the resolver's own
// executor, and a caller waits for its answer only until its deadline. What
// is pending is capped: past `max_pending` lookups (a function granted a
// wildcard host whose DNS never answers, say) a lookup is refused at once
// with Unavailable, instead of a thread more per lookup until the process
// can start none. An IP literal is answered without a thread.
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cwasi/common/executor.h"
#include "cwasi/common/result.h"

namespace cwasi::net {

struct Address {
  sockaddr_storage addr{};
  socklen_t len = 0;
};

struct ResolverOptions {
  size_t threads = 4;       // lookups running at once
  size_t max_pending = 64;  // running and waiting for a thread
  // The lookup itself (getaddrinfo by default): the seam tests use for a
  // resolver that never answers. Returns getaddrinfo's code and fills `out`.
  std::function<int(const std::string& host, uint16_t port, std::vector<Address>& out)> lookup;
};

class Resolver {
 public:
  explicit Resolver(ResolverOptions options = {});
  ~Resolver();
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;

  // The addresses of `host` for a stream connection to `port`, by
  // `deadline`: DeadlineExceeded past it, Unavailable when the name does not
  // resolve or too many lookups are pending. Thread-safe.
  Result<std::vector<Address>> resolve(const std::string& host, uint16_t port,
                                       std::chrono::steady_clock::time_point deadline);
  size_t pending() const;

  // The resolver of the process's own outbound connections (getaddrinfo is
  // the process's anyway): made on first use, never destroyed.
  static Resolver& shared();

  struct Lookup;

 private:
  ResolverOptions options_;
  std::shared_ptr<std::atomic<size_t>> pending_;
  // Last: destroyed first, joining its threads (running lookups finish).
  std::unique_ptr<Executor> executor_;
};

}  // namespace cwasi::net
