// The shim joining its pod's cgroup, done by a child process in a cgroup path
// of the test's own (v1 hierarchies of this host), removed afterwards.
#include "cwasi/shim/cgroups.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace cwasi::shim {
namespace {

namespace fs = std::filesystem;

std::string cgroupsOf(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/cgroup");
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

TEST(Cgroups, TheShimJoinsThePodsCgroupInEveryHierarchy) {
  const std::string pod = "/cwasi-test-" + std::to_string(::getpid()) + "/podA/sandbox1";
  int ready[2], go[2];
  ASSERT_EQ(::pipe(ready), 0);
  ASSERT_EQ(::pipe(go), 0);
  const pid_t child = ::fork();
  if (child == 0) {
    const char ok = joinCgroup(pod, ::getpid()).ok() ? 1 : 0;
    (void)!::write(ready[1], &ok, 1);
    char c;
    (void)!::read(go[0], &c, 1);  // stays in the cgroup until the test looked
    _exit(0);
  }
  char ok = 0;
  ASSERT_EQ(::read(ready[0], &ok, 1), 1);
  EXPECT_EQ(ok, 1);
  const std::string where = cgroupsOf(child);
  EXPECT_NE(where.find("memory:" + pod), std::string::npos) << where;
  EXPECT_NE(where.find("pids:" + pod), std::string::npos) << where;
  EXPECT_NE(where.find("cpuset:" + pod), std::string::npos) << where;  // cpus and mems inherited
  (void)!::write(go[1], "x", 1);
  ::waitpid(child, nullptr, 0);
  // Leave the host as it was: the test's directories, leaf first.
  for (const auto& h : fs::directory_iterator("/sys/fs/cgroup")) {
    for (fs::path p = h.path() / fs::path(pod).relative_path(); p != h.path(); p = p.parent_path()) {
      ::rmdir(p.c_str());
    }
  }
  EXPECT_FALSE(fs::exists("/sys/fs/cgroup/memory/cwasi-test-" + std::to_string(::getpid())));
}

TEST(Cgroups, APathLeavingTheRootIsRefused) {
  EXPECT_EQ(joinCgroup("/kubepods/../../etc", ::getpid()).error().code(), Code::kInvalidArgument);
  EXPECT_TRUE(joinCgroup("", ::getpid()).ok());  // none given: nothing to do
}

}  // namespace
}  // namespace cwasi::shim
