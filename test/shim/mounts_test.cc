// containerd's mount options, and real mounts (tmpfs, read-only bind) on temp
// directories when the test runs as root.
#include "cwasi/shim/mounts.h"

#include <sys/mount.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "support/wasi_test.h"

namespace cwasi::shim {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

TEST(MountOptions, SplitIntoFlagsAndData) {
  const MountOptions o =
      parseMountOptions({"ro", "rbind", "nosuid", "rw", "defaults", "lowerdir=/a:/b", "index=off"});
  EXPECT_EQ(o.flags, static_cast<unsigned long>(MS_RDONLY | MS_BIND | MS_REC | MS_NOSUID));
  EXPECT_EQ(o.data, "lowerdir=/a:/b,index=off");
  EXPECT_EQ(parseMountOptions({}).flags, 0u);
  EXPECT_EQ(parseMountOptions({}).data, "");
}

bool mounted(const fs::path& p) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.find(" " + p.string() + " ") != std::string::npos) return true;
  }
  return false;
}

class MountedRootfsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "mounting needs root";
  }
  cwasi::testing::TempDir dir_;
};

TEST_F(MountedRootfsTest, MountsATmpfsAndUnmountsIt) {
  const fs::path target = dir_ / "rootfs";  // created by mount()
  auto m = MountedRootfs::mount({{"tmpfs", "tmpfs", {"size=1m"}}}, target);
  ASSERT_TRUE(m.ok()) << m.error().message();
  EXPECT_TRUE(mounted(target));
  cwasi::testing::writeText(target / "module.wasm", "x");
  ASSERT_TRUE((*m)->unmount().ok());
  EXPECT_FALSE(mounted(target));
  EXPECT_FALSE(fs::exists(target / "module.wasm"));  // it was on the tmpfs
  EXPECT_TRUE((*m)->unmount().ok());                 // again: nothing to do
}

TEST_F(MountedRootfsTest, AReadOnlyBindIsReadOnlyAndGoesAwayWithItsOwner) {
  fs::create_directories(dir_ / "layer");
  cwasi::testing::writeText(dir_ / "layer" / "module.wasm", "wasm");
  const fs::path target = dir_ / "rootfs";
  {
    auto m = MountedRootfs::mount({{"bind", (dir_ / "layer").string(), {"rbind", "ro"}}}, target);
    ASSERT_TRUE(m.ok()) << m.error().message();
    EXPECT_EQ(cwasi::testing::readText(target / "module.wasm"), "wasm");
    std::ofstream out(target / "new");
    EXPECT_FALSE(out.good());  // read-only
  }
  EXPECT_FALSE(mounted(target));
}

TEST_F(MountedRootfsTest, AFailedMountNamesItAndLeavesNothingMounted) {
  const fs::path target = dir_ / "rootfs";
  auto m = MountedRootfs::mount(
      {{"tmpfs", "tmpfs", {}}, {"no-such-fs", "nothing", {"ro"}}}, target);
  ASSERT_FALSE(m.ok());
  EXPECT_THAT(m.error().message(), HasSubstr("mount no-such-fs nothing on " + target.string()));
  EXPECT_FALSE(mounted(target));
}

}  // namespace
}  // namespace cwasi::shim
