// Pod sandboxes: the process the shim reports for a pod lives in the pod's
// network namespace (a real one made with `ip netns add`), and the task table
// gives a sandbox task that process instead of a function.
#include "cwasi/shim/sandbox.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <future>

#include "cwasi/common/subprocess.h"
#include "cwasi/shim/task_table.h"
#include "shim_fakes.h"

namespace cwasi::shim {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using namespace cwasi::shim::testing;

ino_t inodeOf(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

ino_t netnsOf(uint32_t pid) { return inodeOf("/proc/" + std::to_string(pid) + "/ns/net"); }

// A network namespace of the test's own, removed at the end.
class NetNs {
 public:
  NetNs() : name_("cwasi-sbx-" + std::to_string(::getpid())) {
    ok_ = std::system(("ip netns add " + name_ + " 2>/dev/null").c_str()) == 0;
  }
  ~NetNs() {
    if (ok_) (void)!std::system(("ip netns delete " + name_).c_str());
  }
  bool ok() const { return ok_; }
  std::string path() const { return "/var/run/netns/" + name_; }

 private:
  std::string name_;
  bool ok_ = false;
};

TEST(PodSandbox, ItsProcessLivesInThePodsNetworkNamespace) {
  NetNs ns;
  ASSERT_TRUE(ns.ok()) << "ip netns add failed (needs root)";
  auto sandbox = PodSandbox::start(ns.path());
  ASSERT_TRUE(sandbox.ok()) << sandbox.error().toString();
  const uint32_t pid = (*sandbox)->pid();
  EXPECT_NE(pid, static_cast<uint32_t>(::getpid()));
  EXPECT_EQ(netnsOf(pid), inodeOf(ns.path()));
  EXPECT_NE(netnsOf(pid), inodeOf("/proc/self/ns/net"));
  (*sandbox)->signal(SIGTERM);
  EXPECT_EQ((*sandbox)->wait(), 0u);  // as pause: SIGTERM is a clean end
  EXPECT_EQ((*sandbox)->wait(), 0u);  // and every waiter gets the same
}

TEST(PodSandbox, WithoutANamespaceItStaysInTheShims) {
  auto sandbox = PodSandbox::start("");
  ASSERT_TRUE(sandbox.ok()) << sandbox.error().toString();
  EXPECT_EQ(netnsOf((*sandbox)->pid()), inodeOf("/proc/self/ns/net"));
  (*sandbox)->signal(SIGKILL);
  EXPECT_EQ((*sandbox)->wait(), 128u + SIGKILL);
}

TEST(PodSandbox, AMissingNamespaceIsRefusedClearly) {
  auto sandbox = PodSandbox::start("/var/run/netns/cwasi-no-such-namespace");
  ASSERT_FALSE(sandbox.ok());
  EXPECT_EQ(sandbox.error().code(), Code::kInvalidArgument);
  EXPECT_THAT(sandbox.error().message(), HasSubstr("network namespace"));
}

TEST(PodSandbox, DroppingItKillsAndReapsItsProcess) {
  uint32_t pid = 0;
  {
    auto sandbox = PodSandbox::start("");
    ASSERT_TRUE(sandbox.ok());
    pid = (*sandbox)->pid();
  }
  EXPECT_NE(::kill(static_cast<pid_t>(pid), 0), 0);  // gone, reaped
}

TEST(SandboxTask, ACriSandboxGetsAProcessNotAFunction) {
  NetNs ns;
  ASSERT_TRUE(ns.ok());
  cwasi::testing::TempDir dir;
  StubTaskHost host;
  RecordingEvents events;
  TaskTable tasks(host, events, 42);
  writeBundle(dir / "pod", "/pause",
              R"("annotations": {"io.kubernetes.cri.container-type": "sandbox"},
                 "linux": {"namespaces": [{"type": "pid"}, {"type": "network", "path": ")" +
                  ns.path() + R"("}]})");
  CreateTask c;
  c.id = "pod";
  c.bundle = dir / "pod";
  auto pid = tasks.create(c);
  ASSERT_TRUE(pid.ok()) << pid.error().toString();
  EXPECT_NE(*pid, 42u);
  EXPECT_EQ(netnsOf(*pid), inodeOf(ns.path()));
  EXPECT_EQ(tasks.status("pod")->pid, *pid);
  EXPECT_EQ(*tasks.start("pod"), *pid);
  ASSERT_TRUE(tasks.kill("pod", SIGTERM).ok());
  auto exit = std::async(std::launch::async, [&] { return tasks.wait("pod"); });
  ASSERT_EQ(exit.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(exit.get()->status, 0u);
  ASSERT_TRUE(tasks.remove("pod").ok());
  EXPECT_THAT(events.all(), ElementsAre("create pod", "start pod", "exit pod 0", "delete pod 0"));
}

}  // namespace
}  // namespace cwasi::shim
