#include "cwasi/common/files.h"

#include <gtest/gtest.h>

#include "cwasi/common/subprocess.h"
#include "support/wasi_test.h"

namespace cwasi {
namespace {

using testing::TempDir;

TEST(Files, WriteAtomicThenReadBack) {
  TempDir dir;
  std::vector<uint8_t> data = {1, 2, 3, 0, 255};
  ASSERT_TRUE(writeFileAtomic(dir / "f", data).ok());
  auto back = readFile(dir / "f");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, data);
  // Replacing leaves no temporary files behind.
  ASSERT_TRUE(writeFileAtomic(dir / "f", std::vector<uint8_t>{9}).ok());
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()), {}), 1);
  EXPECT_EQ(*readFile(dir / "f"), std::vector<uint8_t>{9});
}

TEST(Files, ReadingAMissingFileIsNotFound) {
  TempDir dir;
  auto r = readFile(dir / "missing");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Code::kNotFound);
}

TEST(Files, ReadingADirectoryIsInvalidArgument) {
  TempDir dir;
  auto r = readFile(dir.path());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Code::kInvalidArgument);
}

TEST(Subprocess, CapturesOutputExitCodeAndFeedsInput) {
  auto r = runSubprocess({.argv = {"sh", "-c", "cat; echo err >&2; exit 7"}, .input = "hello"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out, "hello");
  EXPECT_EQ(r->err, "err\n");
  EXPECT_EQ(r->exit_code, 7);
}

TEST(Subprocess, KillsAChildPastItsTimeout) {
  auto r = runSubprocess({.argv = {"sleep", "10"}, .timeout = std::chrono::milliseconds(200)});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->timed_out);
  EXPECT_EQ(r->signal, SIGKILL);
}

TEST(Subprocess, AMissingProgramIsAnError) {
  auto r = runSubprocess({.argv = {"/nonexistent/program"}});
  EXPECT_FALSE(r.ok());
}

}  // namespace
}  // namespace cwasi
