// A task's state machine in-process: a stub TaskHost stands in for the
// function host, RecordingEvents for containerd's Events service.
#include "cwasi/shim/task.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <future>

#include "shim_fakes.h"

namespace cwasi::shim {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using namespace cwasi::shim::testing;
using runtime::FunctionKind;
using Clock = std::chrono::steady_clock;

class TaskTest : public ::testing::Test {
 protected:
  std::unique_ptr<Task> make(const std::string& id, std::unique_ptr<TaskStdio> stdio = nullptr) {
    host::FunctionSpec fn;
    fn.name = "task." + id;
    EXPECT_TRUE(host_.load(fn).ok());
    TaskParts parts;
    parts.id = id;
    parts.function = fn.name;
    parts.context.args = {"/module.wasm", "arg"};
    parts.stdio = std::move(stdio);
    return std::make_unique<Task>(std::move(parts), host_, events_, 42);
  }

  std::unique_ptr<TaskStdio> stdio(const StdioPaths& paths) {
    auto s = TaskStdio::open(paths);
    EXPECT_TRUE(s.ok()) << s.error().message();
    return s.ok() ? std::move(*s) : nullptr;
  }

  cwasi::testing::TempDir dir_;
  StubTaskHost host_;
  RecordingEvents events_;
};

TEST_F(TaskTest, RunsACommandToItsExitCodeThenDeletes) {
  host_.behave(FunctionKind::kCommand, [](runtime::RunContext&) -> Result<int> { return 3; });
  auto t = make("t1");
  EXPECT_EQ(t->state(), TaskState::kCreated);
  ASSERT_TRUE(t->start().ok());
  EXPECT_EQ(t->wait().status, 3u);
  EXPECT_EQ(t->state(), TaskState::kStopped);
  EXPECT_NE(t->exit().at, WallTime());
  auto removed = t->remove();
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(removed->status, 3u);
  EXPECT_EQ(t->state(), TaskState::kDeleted);
  EXPECT_FALSE(host_.loaded().contains("task.t1"));
  EXPECT_THAT(events_.all(), ElementsAre("start t1", "exit t1 3", "delete t1 3"));
}

TEST_F(TaskTest, TheRunContextBuiltAtCreateReachesTheMainWithStdioAndCancel) {
  std::promise<runtime::RunContext> seen;
  host_.behave(FunctionKind::kCommand, [&](runtime::RunContext& c) -> Result<int> {
    seen.set_value(c);
    return 0;
  });
  const std::string out = makeFifo(dir_ / "out");
  auto t = make("t1", stdio({"", out, "", false}));
  ASSERT_TRUE(t->start().ok());
  const runtime::RunContext c = seen.get_future().get();
  EXPECT_EQ(c.args, (std::vector<std::string>{"/module.wasm", "arg"}));
  EXPECT_NE(c.cancel, nullptr);
  EXPECT_TRUE(std::holds_alternative<runtime::OutputFd>(c.output));
  EXPECT_TRUE(std::holds_alternative<std::monostate>(c.error_output));
  t->wait();
}

TEST_F(TaskTest, KillBeforeStartStopsItWith128PlusTheSignal) {
  auto t = make("t1");
  ASSERT_TRUE(t->kill(9).ok());
  EXPECT_EQ(t->state(), TaskState::kStopped);
  EXPECT_EQ(t->wait().status, 137u);
  auto again = t->start();
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code(), Code::kFailedPrecondition);
  ASSERT_TRUE(t->remove().ok());
  EXPECT_THAT(events_.all(), ElementsAre("exit t1 137", "delete t1 137"));
}

TEST_F(TaskTest, DeleteWhileRunningIsRefusedUntilKilled) {
  host_.behave(FunctionKind::kCommand, loopUntilCancelled);
  auto t = make("t1");
  ASSERT_TRUE(t->start().ok());
  auto refused = t->remove();
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), Code::kFailedPrecondition);
  EXPECT_THAT(refused.error().message(), HasSubstr("kill it first"));
  EXPECT_EQ(t->state(), TaskState::kRunning);
  ASSERT_TRUE(t->kill(15).ok());
  EXPECT_EQ(t->wait().status, 143u);
  EXPECT_TRUE(t->remove().ok());
}

TEST_F(TaskTest, DeleteOfACreatedTaskExitsZeroWithoutAnExitEvent) {
  auto t = make("t1");
  auto removed = t->remove();
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(removed->status, 0u);
  EXPECT_FALSE(host_.loaded().contains("task.t1"));
  EXPECT_THAT(events_.all(), ElementsAre("delete t1 0"));
  auto twice = t->remove();
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.error().code(), Code::kNotFound);
  EXPECT_EQ(t->start().error().code(), Code::kNotFound);
}

TEST_F(TaskTest, StartTwiceIsRefusedAndKillAfterStopDoesNothing) {
  auto t = make("t1");
  ASSERT_TRUE(t->start().ok());
  EXPECT_EQ(t->start().error().code(), Code::kFailedPrecondition);
  EXPECT_EQ(t->wait().status, 0u);
  EXPECT_TRUE(t->kill(9).ok());
  EXPECT_EQ(t->exit().status, 0u);
  EXPECT_THAT(events_.atLeast(2), ElementsAre("start t1", "exit t1 0"));
}

// What a guest's failure becomes as an exit status, as a shell would report it.
TEST(ExitStatus, SaysWhyTheGuestStopped) {
  EXPECT_EQ(exitStatusFor(cancelled("x"), 9), 137u);
  EXPECT_EQ(exitStatusFor(cancelled("x"), 15), 143u);
  EXPECT_EQ(exitStatusFor(cancelled("x"), 0), 143u);
  EXPECT_EQ(exitStatusFor(resourceExhausted("memory limit of 16 MiB exceeded"), 0), 137u);
  EXPECT_EQ(exitStatusFor(aborted("wasm trap: unreachable"), 0), 134u);
  EXPECT_EQ(exitStatusFor(deadlineExceeded("timeout"), 0), 124u);
  EXPECT_EQ(exitStatusFor(notFound("no _start"), 0), 126u);
}

TEST_F(TaskTest, ExitCodesForCancelMemoryAndTrapAndWhyOnStderr) {
  struct Case {
    Error error;
    uint32_t status;
    std::string stderr_text;
  };
  const std::vector<Case> cases = {
      {resourceExhausted("memory limit of 16 MiB exceeded"), 137,
       "cwasi: memory limit of 16 MiB exceeded\n"},
      {aborted("wasm trap: unreachable"), 134, "cwasi: wasm trap: unreachable\n"},
      {cancelled("cancelled"), 143, ""},  // nobody killed it: SIGTERM's
  };
  int n = 0;
  for (const auto& c : cases) {
    const std::string id = "t" + std::to_string(n++);
    host_.behave(FunctionKind::kCommand,
                 [&](runtime::RunContext&) -> Result<int> { return c.error; });
    const std::string err = makeFifo(dir_ / (id + ".err"));
    Fd reader(::open(err.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
    auto t = make(id, stdio({"", "", err, false}));
    ASSERT_TRUE(t->start().ok());
    EXPECT_EQ(t->wait().status, c.status) << c.error.message();
    EXPECT_EQ(readUntilEof(reader.get()), c.stderr_text);
  }
}

TEST_F(TaskTest, AKilledCommandExitsWith128PlusTheSignal) {
  host_.behave(FunctionKind::kCommand, loopUntilCancelled);
  auto t = make("t1");
  ASSERT_TRUE(t->start().ok());
  ASSERT_TRUE(t->kill(9).ok());
  EXPECT_EQ(t->wait().status, 137u);
}

TEST_F(TaskTest, AReactorServesUntilKilledAndStopsPromptly) {
  host_.behave(FunctionKind::kReactor);
  auto t = make("r1");
  ASSERT_TRUE(t->start().ok());
  EXPECT_FALSE(t->waitUntil(Clock::now() + 100ms).has_value());
  EXPECT_EQ(t->state(), TaskState::kRunning);
  const auto killed = Clock::now();
  ASSERT_TRUE(t->kill(15).ok());
  auto exit = t->waitUntil(Clock::now() + 5s);
  ASSERT_TRUE(exit.has_value());
  // Woken by the kill, not found by a poll.
  EXPECT_LT(Clock::now() - killed, 200ms);
  EXPECT_EQ(exit->status, 143u);
  EXPECT_THAT(events_.atLeast(2), ElementsAre("start r1", "exit r1 143"));
}

TEST_F(TaskTest, EventsComeInOrderEvenForAnInstantMain) {
  // The runner of an instant main could report its exit before the start
  // was reported, were the start reported after the runner began.
  for (int i = 0; i < 50; ++i) {
    const std::string id = "fast" + std::to_string(i);
    auto t = make(id);
    ASSERT_TRUE(t->start().ok());
    t->wait();
    ASSERT_TRUE(t->remove().ok());
  }
  const auto all = events_.all();
  ASSERT_EQ(all.size(), 150u);
  for (size_t i = 0; i < all.size(); i += 3) {
    const std::string id = "fast" + std::to_string(i / 3);
    EXPECT_EQ(all[i], "start " + id);
    EXPECT_EQ(all[i + 1], "exit " + id + " 0");
    EXPECT_EQ(all[i + 2], "delete " + id + " 0");
  }
}

TEST_F(TaskTest, EveryWaiterSeesTheExit) {
  host_.behave(FunctionKind::kCommand, loopUntilCancelled);
  auto t = make("t1");
  ASSERT_TRUE(t->start().ok());
  std::vector<std::future<ExitInfo>> waiters;
  for (int i = 0; i < 4; ++i) {
    waiters.push_back(std::async(std::launch::async, [&] { return t->wait(); }));
  }
  ASSERT_TRUE(t->kill(9).ok());
  for (auto& w : waiters) EXPECT_EQ(w.get().status, 137u);
}

TEST_F(TaskTest, StdinReachesTheCommandThenEndOfFile) {
  host_.behave(FunctionKind::kCommand, echoStdin);
  const std::string in = makeFifo(dir_ / "in"), out = makeFifo(dir_ / "out");
  // containerd's side: the stdin writer opens before Create; the stdout reader.
  Fd writer(::open(in.c_str(), O_RDWR | O_CLOEXEC));
  Fd reader(::open(out.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  auto t = make("t1", stdio({in, out, "", false}));
  ASSERT_TRUE(t->start().ok());
  ASSERT_EQ(::write(writer.get(), "hello", 5), 5);
  writer.reset();  // end of containerd's input
  EXPECT_EQ(t->waitUntil(Clock::now() + 5s).value_or(ExitInfo{999, {}}).status, 0u);
  EXPECT_EQ(readUntilEof(reader.get()), "5 bytes: hello");
}

TEST_F(TaskTest, CloseIOEndsStdinAfterWhatWasWritten) {
  host_.behave(FunctionKind::kCommand, echoStdin);
  const std::string in = makeFifo(dir_ / "in"), out = makeFifo(dir_ / "out");
  Fd writer(::open(in.c_str(), O_RDWR | O_CLOEXEC));  // stays open
  Fd reader(::open(out.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  auto t = make("t1", stdio({in, out, "", false}));
  ASSERT_EQ(::write(writer.get(), "abc", 3), 3);
  ASSERT_TRUE(t->start().ok());
  t->closeInput();
  EXPECT_EQ(t->waitUntil(Clock::now() + 5s).value_or(ExitInfo{999, {}}).status, 0u);
  EXPECT_EQ(readUntilEof(reader.get()), "3 bytes: abc");
}

TEST_F(TaskTest, KillWakesACommandBlockedOnStdin) {
  host_.behave(FunctionKind::kCommand, echoStdin);
  const std::string in = makeFifo(dir_ / "in");
  Fd writer(::open(in.c_str(), O_RDWR | O_CLOEXEC));  // open, silent
  auto t = make("t1", stdio({in, "", "", false}));
  ASSERT_TRUE(t->start().ok());
  EXPECT_FALSE(t->waitUntil(Clock::now() + 100ms).has_value());
  ASSERT_TRUE(t->kill(9).ok());
  EXPECT_EQ(t->waitUntil(Clock::now() + 5s).value_or(ExitInfo{999, {}}).status, 137u);
}

TEST_F(TaskTest, DestroyingARunningTaskStopsAndJoinsIt) {
  host_.behave(FunctionKind::kCommand, loopUntilCancelled);
  {
    auto t = make("t1");
    ASSERT_TRUE(t->start().ok());
  }
  EXPECT_THAT(events_.all(), ElementsAre("start t1", "exit t1 143"));
}

}  // namespace
}  // namespace cwasi::shim
