// The shim binary's commands that run without containerd: its version, its
// flags, and `delete` (what containerd runs when the shim is unreachable).
// Serving and `start` are exercised under a real containerd (containerd_test).
#include "cwasi/shim/shim.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "github.com/containerd/containerd/runtime/v2/task/shim.pb.h"
#include "shim_fakes.h"

namespace cwasi::shim {
namespace {

using ::testing::HasSubstr;

TEST(ShimMain, PrintsItsVersion) {
  ::testing::internal::CaptureStdout();
  EXPECT_EQ(shimMain({"-v"}), 0);
  const std::string out = ::testing::internal::GetCapturedStdout();
  EXPECT_THAT(out, HasSubstr(std::string("Version: ") + CWASI_VERSION));
  EXPECT_THAT(out, HasSubstr("Wasmtime: "));
}

TEST(ShimMain, AFlagWithoutItsValueIsAnError) {
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(shimMain({"-namespace"}), 1);
  EXPECT_THAT(::testing::internal::GetCapturedStderr(), HasSubstr("-namespace needs a value"));
}

TEST(ShimMain, DeleteAnswersADeleteResponseForAShimThatIsGone) {
  cwasi::testing::TempDir dir;
  testing::writeBundle(dir / "bundle");
  ::testing::internal::CaptureStdout();
  const int code = shimMain({"-namespace", "default", "-address", (dir / "none.sock").string(),
                             "-id", "gone", "-bundle", (dir / "bundle").string(), "delete"});
  const std::string out = ::testing::internal::GetCapturedStdout();
  EXPECT_EQ(code, 0);
  containerd::task::v2::DeleteResponse resp;
  ASSERT_TRUE(resp.ParseFromString(out));
  EXPECT_EQ(resp.exit_status(), 137u);  // as if SIGKILLed
  EXPECT_GT(resp.exited_at().seconds(), 0);
}

}  // namespace
}  // namespace cwasi::shim
