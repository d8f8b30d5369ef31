// cwasid under the attacks of issue "Hardening", reproduced as they were
// found: an unprivileged daemon with a 300-task and 256-fd limit facing 400
// idle connections (it used to abort when it could not start a thread per
// connection), then 100 clients sending 16 MiB bodies it never asked for
// (it used to buffer them all before looking at the route: 1.6 GB).
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include "cwasi/common/net.h"
#include "node/daemon.h"

namespace cwasi::node {
namespace {

using namespace cwasi::node::testing;

constexpr uid_t kNobody = 65534;

// A line of /proc/PID/status in KiB ("VmHWM", "Threads"), or -1.
long procStatus(int pid, const std::string& key) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(key + ":", 0) == 0) return std::atol(line.c_str() + key.size() + 1);
  }
  return -1;
}

std::vector<Fd> connectMany(const std::string& address, int n) {
  auto ep = net::parseEndpoint(address);
  std::vector<Fd> fds;
  for (int i = 0; i < n && ep.ok(); ++i) {
    auto fd = net::connectTcp(*ep, net::in(5s));
    if (fd.ok()) fds.push_back(std::move(*fd));
  }
  return fds;
}

class HostileClients : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = makeTempDir("cwasid-hostile-");
    ASSERT_TRUE(dir.ok());
    root_ = *dir;
    fs::create_directories(root_ / "state");
    fs::create_directories(root_ / "run");
    for (const auto& p : {root_, root_ / "state", root_ / "run"}) {
      ASSERT_EQ(::chown(p.c_str(), kNobody, kNobody), 0);
    }
    daemon_ = Daemon::start(root_ / "state", {},
                            {"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                             "prlimit", "--nproc=300", "--nofile=256"});
    ASSERT_NE(daemon_, nullptr);
  }
  void TearDown() override {
    if (daemon_) EXPECT_EQ(daemon_->stop(), 0);
    fs::remove_all(root_);
  }
  std::string address() const { return daemon_->url.substr(std::string("http://").size()); }

  fs::path root_;
  std::unique_ptr<Daemon> daemon_;
};

TEST_F(HostileClients, FourHundredIdleConnectionsNeitherKillNorStarveTheDaemon) {
  Daemon& d = *daemon_;
  ASSERT_EQ(d.deploy(spec("upper", "upper")).status, 202);
  std::vector<Fd> idle = connectMany(address(), 400);
  EXPECT_EQ(idle.size(), 400u);  // the kernel accepts them all; the daemon refuses past its fds
  std::this_thread::sleep_for(300ms);
  EXPECT_LT(procStatus(d.pid(), "Threads"), 64);
  idle.resize(100);  // those it holds still leave room for a caller once others go
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(d.invoke("upper", "still here").body, "STILL HERE");
  EXPECT_EQ(curl({d.url_with("/healthz")}).status, 200);
}

TEST_F(HostileClients, UnwantedBodiesAreNotBuffered) {
  Daemon& d = *daemon_;
  const long before = procStatus(d.pid(), "VmHWM");
  ASSERT_GT(before, 0);
  const std::string body(16u << 20, 'x');
  std::vector<std::thread> senders;
  std::atomic<int> answered{0};
  for (int i = 0; i < 100; ++i) {
    senders.emplace_back([&, i] {
      auto fd = connectMany(address(), 1);
      if (fd.empty()) return;
      // An unknown route, and a private one without the token.
      const std::string head = std::string("POST ") + (i % 2 ? "/nowhere" : "/system/functions") +
                               " HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                               std::to_string(body.size()) + "\r\n\r\n";
      const int s = fd[0].get();
      (void)net::sendAll(s, {reinterpret_cast<const uint8_t*>(head.data()), head.size()}, net::in(5s));
      (void)net::sendAll(s, {reinterpret_cast<const uint8_t*>(body.data()), body.size()}, net::in(10s));
      char buf[256];
      ssize_t n = ::recv(s, buf, sizeof buf, 0);
      const std::string got(buf, n > 0 ? static_cast<size_t>(n) : 0);
      if (got.find(" 404 ") != std::string::npos || got.find(" 401 ") != std::string::npos) ++answered;
    });
  }
  for (auto& t : senders) t.join();
  const long after = procStatus(d.pid(), "VmHWM");
  // 100 × 16 MiB would be 1.6 GB; the bodies are never read into memory.
  EXPECT_LT(after - before, 128 * 1024) << "peak RSS grew by " << (after - before) << " KiB";
  EXPECT_GE(answered.load(), 90);  // the rest may see a reset after their answer
  EXPECT_EQ(curl({d.url_with("/healthz")}).status, 200);
}

}  // namespace
}  // namespace cwasi::node
