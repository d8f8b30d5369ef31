// The TaskHost over the real FunctionHost, with modules built from
// functions/: what a task's function does once loaded (no containerd).
#include <fcntl.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

#include "cwasi/shim/task_host.h"
#include "shim_fakes.h"

namespace cwasi::shim {
namespace {

using ::testing::HasSubstr;
using namespace cwasi::shim::testing;
using cwasi::testing::functionPath;

class FunctionHostTasksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    TaskHostConfig config;
    config.max_instances = 8;
    auto h = startFunctionHostTasks(config);
    ASSERT_TRUE(h.ok()) << h.error().message();
    host_ = std::move(*h);
  }

  TaskFunction function(const std::string& name, const std::string& module) {
    TaskFunction fn;
    fn.name = name;
    fn.module = functionPath(module);
    return fn;
  }

  // A pipe whose write end is the guest's stdout; returns the read end.
  Fd captureStdout(runtime::RunContext& c) {
    int p[2];
    EXPECT_EQ(::pipe2(p, O_CLOEXEC), 0);
    write_end_ = Fd(p[1]);
    c.output = runtime::OutputFd{p[1]};
    return Fd(p[0]);
  }

  std::unique_ptr<TaskHost> host_;
  Fd write_end_;
};

TEST_F(FunctionHostTasksTest, RunsACommandsMainWithItsContext) {
  ASSERT_TRUE(host_->load(function("task.env", "env-args")).ok());
  EXPECT_EQ(*host_->kind("task.env"), runtime::FunctionKind::kCommand);
  runtime::RunContext c;
  c.args = {"/module.wasm", "first"};
  c.env = {{"GREETING", "hi"}, {"EXIT_CODE", "3"}};
  Fd out = captureStdout(c);
  auto r = host_->runMain("task.env", std::move(c));
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(*r, 3);
  write_end_.reset();
  const std::string text = readUntilEof(out.get());
  EXPECT_THAT(text, HasSubstr("arg[1]=first"));
  EXPECT_THAT(text, HasSubstr("env GREETING=hi"));
}

TEST_F(FunctionHostTasksTest, AGuestReadsStdinFromAPipeByPath) {
  ASSERT_TRUE(host_->load(function("task.wc", "wc")).ok());
  int in[2];
  ASSERT_EQ(::pipe2(in, O_CLOEXEC), 0);
  Fd in_read(in[0]);
  ASSERT_EQ(::write(in[1], "one two\nthree\n", 14), 14);
  ::close(in[1]);
  runtime::RunContext c;
  c.args = {"wc"};
  c.input = runtime::StdinFile{"/proc/self/fd/" + std::to_string(in_read.get())};
  Fd out = captureStdout(c);
  auto r = host_->runMain("task.wc", std::move(c));
  ASSERT_TRUE(r.ok()) << r.error().message();
  write_end_.reset();
  EXPECT_EQ(readUntilEof(out.get()), "2 3 14\n");
}

TEST_F(FunctionHostTasksTest, TellsAReactorFromACommand) {
  ASSERT_TRUE(host_->load(function("upper", "upper")).ok());
  EXPECT_EQ(*host_->kind("upper"), runtime::FunctionKind::kReactor);
  host_->remove("upper");
  EXPECT_FALSE(host_->kind("upper").ok());
  host_->remove("upper");  // unknown now: ignored
}

TEST_F(FunctionHostTasksTest, ABadModuleFailsToLoad) {
  cwasi::testing::TempDir dir;
  cwasi::testing::writeText(dir / "junk.wasm", std::string("\0asm\1\0\0\0\xde\xad", 10));
  TaskFunction fn;
  fn.name = "task.junk";
  fn.module = dir / "junk.wasm";
  EXPECT_FALSE(host_->load(fn).ok());
  EXPECT_FALSE(host_->kind("task.junk").ok());
}

TEST_F(FunctionHostTasksTest, CancelMemoryAndTrapsComeBackAsTheirErrors) {
  ASSERT_TRUE(host_->load(function("task.loop", "loop")).ok());
  std::atomic<bool> cancel{false};
  runtime::RunContext c;
  c.args = {"loop"};
  c.cancel = &cancel;
  std::thread killer([&] {
    std::this_thread::sleep_for(100ms);
    cancel = true;
  });
  auto looped = host_->runMain("task.loop", std::move(c));
  killer.join();
  ASSERT_FALSE(looped.ok());
  EXPECT_EQ(looped.error().code(), Code::kCancelled);

  TaskFunction bomb = function("task.bomb", "memory-bomb");
  bomb.limits.memory_bytes = 16u << 20;
  ASSERT_TRUE(host_->load(bomb).ok());
  runtime::RunContext b;
  b.args = {"bomb"};
  b.limits.memory_bytes = 16u << 20;
  auto exhausted = host_->runMain("task.bomb", std::move(b));
  ASSERT_FALSE(exhausted.ok());
  EXPECT_EQ(exhausted.error().code(), Code::kResourceExhausted);

  ASSERT_TRUE(host_->load(function("task.trap", "unreachable")).ok());
  runtime::RunContext t;
  t.args = {"trap"};
  auto trapped = host_->runMain("task.trap", std::move(t));
  ASSERT_FALSE(trapped.ok());
  EXPECT_EQ(trapped.error().code(), Code::kAborted);
}

}  // namespace
}  // namespace cwasi::shim
