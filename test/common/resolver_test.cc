// Name lookups are bounded: a DNS that never answers costs a caller its
// deadline, never a thread per lookup, and past the cap lookups are refused
// at once (a function granted a wildcard host made 13 -> 316 threads in 6 s,
// and with a task limit the daemon died).
#include "cwasi/common/resolver.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netdb.h>
#include <netinet/in.h>

#include <dirent.h>

#include <atomic>

#include "cwasi/common/mutex.h"

namespace cwasi::net {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

size_t threadCount() {
  size_t n = 0;
  if (DIR* d = ::opendir("/proc/self/task")) {
    while (dirent* e = ::readdir(d)) n += e->d_name[0] != '.';
    ::closedir(d);
  }
  return n;
}

// A resolver whose lookups hang until the test lets them go.
struct Blackhole {
  Mutex mu;
  CondVar cv;
  bool open GUARDED_BY(mu) = false;
  std::atomic<int> started{0};
  ResolverOptions options(size_t threads, size_t max_pending) {
    ResolverOptions o;
    o.threads = threads;
    o.max_pending = max_pending;
    o.lookup = [this](const std::string&, uint16_t, std::vector<Address>&) {
      ++started;
      MutexLock lock(mu);
      while (!open) cv.wait(mu);
      return EAI_AGAIN;
    };
    return o;
  }
  void release() {
    MutexLock lock(mu);
    open = true;
    cv.notifyAll();
  }
};

TEST(Resolver, ADnsThatNeverAnswersCostsDeadlinesNotThreads) {
  Blackhole dns;
  {
    Resolver r(dns.options(2, 8));
    const size_t before = threadCount();
    int timed_out = 0, refused = 0;
    for (int i = 0; i < 200; ++i) {
      auto a = r.resolve("never.example", 80, Clock::now() + 5ms);
      ASSERT_FALSE(a.ok());
      if (a.error().code() == Code::kDeadlineExceeded) ++timed_out;
      if (a.error().code() == Code::kUnavailable) {
        EXPECT_NE(a.error().message().find("already pending"), std::string::npos);
        ++refused;
      }
    }
    EXPECT_EQ(timed_out, 8);  // the cap
    EXPECT_EQ(refused, 192);  // refused at once, beyond it
    EXPECT_LE(threadCount(), before + 2);
    EXPECT_EQ(r.pending(), 8u);
    dns.release();  // the stuck lookups end; the resolver stops cleanly
  }
}

TEST(Resolver, LiteralsNeedNoLookupAndNamesResolve) {
  ResolverOptions o;
  std::atomic<int> lookups{0};
  o.lookup = [&](const std::string& host, uint16_t port, std::vector<Address>& out) {
    ++lookups;
    if (host != "svc.test") return EAI_NONAME;
    Address a;
    auto* in = reinterpret_cast<sockaddr_in*>(&a.addr);
    in->sin_family = AF_INET;
    in->sin_port = htons(port);
    in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.len = sizeof(sockaddr_in);
    out.push_back(a);
    return 0;
  };
  Resolver r(std::move(o));
  auto v4 = r.resolve("127.0.0.1", 80, Clock::now() + 1s);
  ASSERT_TRUE(v4.ok());
  auto v6 = r.resolve("::1", 80, Clock::now() + 1s);
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(lookups.load(), 0);
  auto named = r.resolve("svc.test", 8080, Clock::now() + 1s);
  ASSERT_TRUE(named.ok()) << named.error().message();
  EXPECT_EQ(named->size(), 1u);
  auto unknown = r.resolve("nope.test", 80, Clock::now() + 1s);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code(), Code::kUnavailable);
  EXPECT_EQ(lookups.load(), 2);
}

}  // namespace
}  // namespace cwasi::net
