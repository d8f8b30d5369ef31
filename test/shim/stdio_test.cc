// A task's stdio against real fifos: containerd's side is played by the test
// (a stdin writer, stdout/stderr readers), the guest's by reads of the path
// the pump hands out.
#include "cwasi/shim/stdio.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "shim_fakes.h"

namespace cwasi::shim {
namespace {

using ::testing::HasSubstr;
using namespace cwasi::shim::testing;
using Clock = std::chrono::steady_clock;

class StdinPumpTest : public ::testing::Test {
 protected:
  void SetUp() override { fifo_ = makeFifo(dir_ / "stdin"); }

  // containerd's writer, already open (as containerd opens it before Create).
  Fd writer() { return Fd(::open(fifo_.c_str(), O_RDWR | O_CLOEXEC)); }

  std::unique_ptr<StdinPump> pump() {
    auto p = StdinPump::start(fifo_);
    EXPECT_TRUE(p.ok()) << p.error().message();
    return p.ok() ? std::move(*p) : nullptr;
  }

  // The guest's stdin, opened as Wasmtime opens it, non-blocking for the test.
  static Fd guest(const StdinPump& p) {
    return Fd(::open(p.guestPath().c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  }

  cwasi::testing::TempDir dir_;
  std::string fifo_;
};

TEST_F(StdinPumpTest, DeliversWhatTheWriterWritesThenEndOfFile) {
  Fd w = writer();
  auto p = pump();
  Fd in = guest(*p);
  ASSERT_EQ(::write(w.get(), "hello ", 6), 6);
  ASSERT_EQ(::write(w.get(), "world", 5), 5);
  w.reset();
  EXPECT_EQ(readUntilEof(in.get()), "hello world");
}

// The bug of `ctr run --rm IMAGE id < /dev/null`: containerd's writer came
// and went before the shim opened the fifo; the pump once waited in open()
// for a writer that never came again.
TEST_F(StdinPumpTest, AWriterThatClosedBeforeThePumpOpenedMeansEmptyInput) {
  writer().reset();
  const auto started = Clock::now();
  auto p = pump();
  Fd in = guest(*p);
  EXPECT_EQ(readUntilEof(in.get(), 5s), "");
  EXPECT_LT(Clock::now() - started, 1s);
}

TEST_F(StdinPumpTest, CloseInputDeliversWhatIsBufferedThenEnds) {
  Fd w = writer();  // stays open, as containerd's does when it calls CloseIO
  auto p = pump();
  Fd in = guest(*p);
  ASSERT_EQ(::write(w.get(), "abc", 3), 3);
  p->closeInput();
  EXPECT_EQ(readUntilEof(in.get()), "abc");
}

TEST_F(StdinPumpTest, StopEndsInputWhileTheWriterIsSilent) {
  Fd w = writer();
  auto p = pump();
  Fd in = guest(*p);
  EXPECT_EQ(readUntilEof(in.get(), 100ms), "");  // no end yet: timed out
  p->stop();
  p->stop();  // again: nothing happens
  char c;
  EXPECT_EQ(::read(in.get(), &c, 1), 0);
}

TEST_F(StdinPumpTest, StopReturnsWhenTheGuestStopsReading) {
  Fd w = writer();
  ::fcntl(w.get(), F_SETFL, O_NONBLOCK);
  auto p = pump();
  // Fill the fifo and the guest's pipe: the pump waits for room.
  const std::string chunk(4096, 'x');
  for (int i = 0; i < 256 && ::write(w.get(), chunk.data(), chunk.size()) > 0; ++i) {
  }
  const auto stopping = Clock::now();
  p->stop();
  EXPECT_LT(Clock::now() - stopping, 1s);
}

TEST_F(StdinPumpTest, AMissingFifoIsAnErrorNamingIt) {
  auto p = StdinPump::start(dir_ / "missing");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().code(), Code::kInvalidArgument);
  EXPECT_THAT(p.error().message(), HasSubstr("stdin fifo " + (dir_ / "missing").string()));
  EXPECT_THAT(p.error().message(), HasSubstr("No such file or directory"));
}

class TaskStdioTest : public ::testing::Test {
 protected:
  cwasi::testing::TempDir dir_;
};

TEST_F(TaskStdioTest, OpensOutputFifosBeforeContainerdReadsThem) {
  const std::string out = makeFifo(dir_ / "out"), err = makeFifo(dir_ / "err");
  auto s = TaskStdio::open({"", out, err, false});  // no reader yet: must not block
  ASSERT_TRUE(s.ok()) << s.error().message();
  runtime::RunContext c;
  (*s)->attach(c);
  ASSERT_TRUE(std::holds_alternative<runtime::OutputFd>(c.output));
  ASSERT_TRUE(std::holds_alternative<runtime::OutputFd>(c.error_output));
  EXPECT_TRUE(std::holds_alternative<std::monostate>(c.input));
  Fd out_reader(::open(out.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  Fd err_reader(::open(err.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  ASSERT_EQ(::write(std::get<runtime::OutputFd>(c.output).fd, "out", 3), 3);
  (*s)->writeError("why");
  (*s)->close();  // the task ended: containerd's readers see the end
  EXPECT_EQ(readUntilEof(out_reader.get()), "out");
  EXPECT_EQ(readUntilEof(err_reader.get()), "why");
}

TEST_F(TaskStdioTest, AttachesStdinAsThePumpsPipe) {
  const std::string in = makeFifo(dir_ / "in");
  auto s = TaskStdio::open({in, "", "", false});
  ASSERT_TRUE(s.ok());
  runtime::RunContext c;
  (*s)->attach(c);
  ASSERT_TRUE(std::holds_alternative<runtime::StdinFile>(c.input));
  EXPECT_THAT(std::get<runtime::StdinFile>(c.input).path.string(), HasSubstr("/proc/self/fd/"));
  EXPECT_TRUE(std::holds_alternative<std::monostate>(c.output));
}

TEST_F(TaskStdioTest, ErrorsNameTheFifoAndTheCause) {
  const std::string missing = (dir_ / "nowhere" / "err").string();
  auto s = TaskStdio::open({"", "", missing, false});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code(), Code::kInvalidArgument);
  EXPECT_THAT(s.error().message(),
              HasSubstr("stderr fifo " + missing + ": No such file or directory"));
}

TEST_F(TaskStdioTest, NoPathsMeansNothingAttached) {
  auto s = TaskStdio::open({});
  ASSERT_TRUE(s.ok());
  runtime::RunContext c;
  (*s)->attach(c);
  EXPECT_TRUE(std::holds_alternative<std::monostate>(c.input));
  EXPECT_TRUE(std::holds_alternative<std::monostate>(c.output));
  (*s)->writeError("dropped");
  (*s)->closeInput();
  (*s)->close();
}

}  // namespace
}  // namespace cwasi::shim
