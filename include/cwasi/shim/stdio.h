// A task's stdio: the fifos containerd created for it. stdout and stderr are
// written straight from the guest; stdin is pumped from its fifo into a pipe
// that the guest reads, so that the shim decides when the guest's input ends
// (the writer closed, CloseIO, Kill, exit) whatever containerd's side does.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "cwasi/common/fd.h"
#include "cwasi/common/mutex.h"
#include "cwasi/common/result.h"
#include "cwasi/runtime/instance.h"

namespace cwasi::shim {

// The fifo paths of CreateTaskRequest; "" = none.
struct StdioPaths {
  std::string stdin_path;
  std::string stdout_path;
  std::string stderr_path;
  bool terminal = false;  // reported back in State; a Wasm guest has no tty
};

// Copies a stdin fifo into a pipe for the guest, on a thread of its own.
//
// containerd opens the fifo's write side before it asks for Create and closes
// it when its own input ends, possibly before the shim ever opened the read
// side (`ctr run < /dev/null`). So the pump opens without waiting for a
// writer and takes a fifo without one, then or later, as the end of input.
class StdinPump {
 public:
  // Opens `fifo` (never blocks) and starts copying. Errors name the fifo.
  static Result<std::unique_ptr<StdinPump>> start(const std::filesystem::path& fifo);
  // stop()s.
  ~StdinPump();
  StdinPump(const StdinPump&) = delete;
  StdinPump& operator=(const StdinPump&) = delete;

  // Where the guest opens its stdin: the pipe's read end, which the pump
  // keeps open for as long as it lives.
  std::string guestPath() const;
  // No more input is coming (CloseIO): what is in the fifo now still reaches
  // the guest, then it reads end of file. Returns at once. Thread-safe.
  void closeInput();
  // Ends the guest's input now (Kill, exit) and joins the pump; the guest
  // reads what the pipe holds, then end of file. Thread-safe, idempotent.
  void stop();

 private:
  StdinPump(Fd fifo, Fd read, Fd write, Fd close_event, Fd stop_event);
  void copy();
  // Writes all of buf to the pipe, waiting for room; false once stopped.
  bool deliver(const char* buf, size_t n);

  Fd fifo_;
  Fd read_, write_;           // the guest's pipe
  Fd close_event_, stop_event_;  // eventfds: closeInput(), stop()
  Mutex join_mu_;  // stop() from two threads: one joins, the other waits
  std::thread thread_ GUARDED_BY(join_mu_);
};

// A task's three streams, opened at Create, closed when the task ends.
class TaskStdio {
 public:
  // Opens the fifos named in `paths` (any may be ""). Opening never blocks,
  // whether containerd's reader is there yet or not. InvalidArgument names
  // the fifo that cannot be opened and why.
  static Result<std::unique_ptr<TaskStdio>> open(const StdioPaths& paths);
  ~TaskStdio();

  // Points `context`'s stdin/stdout/stderr here. The descriptors stay valid
  // until close(), which comes after the guest's last run.
  void attach(runtime::RunContext& context) const;
  // CloseIO: the guest gets what is buffered, then end of file. Thread-safe.
  void closeInput();
  // Kill: the guest's input ends now. Thread-safe.
  void endInput();
  // Writes `text` to stderr if there is one (the shim's word on why a task
  // failed). Not thread-safe against close().
  void writeError(std::string_view text);
  // The task ended: stops the pump, closes stdout and stderr (containerd's
  // readers see end of file). Not thread-safe against writeError().
  void close();
  const StdioPaths& paths() const { return paths_; }

 private:
  explicit TaskStdio(StdioPaths paths) : paths_(std::move(paths)) {}

  StdioPaths paths_;
  Fd out_, err_;
  std::unique_ptr<StdinPump> in_;
};

}  // namespace cwasi::shim
