#include "cwasi/shim/stdio.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace cwasi::shim {
namespace {

Result<Fd> openFifo(const std::string& path, int flags, const char* stream) {
  Fd fd(::open(path.c_str(), flags | O_CLOEXEC));
  if (!fd.valid()) {
    const int err = errno;  // before anything else can overwrite it
    return invalidArgument(std::string("cannot open the task's ") + stream + " fifo " + path +
                           ": " + std::strerror(err));
  }
  return fd;
}

void signal(const Fd& event) {
  const uint64_t one = 1;
  (void)!::write(event.get(), &one, sizeof one);
}

}  // namespace

// ---- StdinPump ------------------------------------------------------------

StdinPump::StdinPump(Fd fifo, Fd read, Fd write, Fd close_event, Fd stop_event)
    : fifo_(std::move(fifo)),
      read_(std::move(read)),
      write_(std::move(write)),
      close_event_(std::move(close_event)),
      stop_event_(std::move(stop_event)) {}

Result<std::unique_ptr<StdinPump>> StdinPump::start(const std::filesystem::path& fifo) {
  // O_NONBLOCK: open() returns at once, writer or not, and read() tells
  // "no writer" (0) from "a writer, nothing written yet" (EAGAIN).
  TRY_ASSIGN(Fd in, openFifo(fifo.string(), O_RDONLY | O_NONBLOCK, "stdin"));
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return errnoError("pipe", errno);
  Fd read(p[0]), write(p[1]);
  // Non-blocking so that a guest that stops reading cannot keep stop() waiting.
  ::fcntl(write.get(), F_SETFL, O_NONBLOCK);
  Fd close_event(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!close_event.valid()) return errnoError("eventfd", errno);
  Fd stop_event(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!stop_event.valid()) return errnoError("eventfd", errno);
  std::unique_ptr<StdinPump> pump(new StdinPump(std::move(in), std::move(read), std::move(write),
                                                std::move(close_event), std::move(stop_event)));
  StdinPump* raw = pump.get();
  MutexLock lock(raw->join_mu_);
  raw->thread_ = std::thread([raw] { raw->copy(); });
  return pump;
}

StdinPump::~StdinPump() { stop(); }

std::string StdinPump::guestPath() const { return "/proc/self/fd/" + std::to_string(read_.get()); }

void StdinPump::closeInput() { signal(close_event_); }

void StdinPump::stop() {
  signal(stop_event_);
  // Two callers (Kill and the task's end) may meet here: one joins, the
  // other waits for it.
  MutexLock lock(join_mu_);
  if (thread_.joinable()) thread_.join();
}

void StdinPump::copy() {
  static constexpr size_t kChunk = 65536;
  auto buf = std::make_unique<char[]>(kChunk);
  bool closing = false;
  for (;;) {
    const ssize_t n = ::read(fifo_.get(), buf.get(), kChunk);
    if (n > 0) {
      if (!deliver(buf.get(), static_cast<size_t>(n))) break;
      continue;
    }
    // 0: no writer holds the fifo. Either containerd's writer has closed, or
    // it closed before we opened (an empty stdin): the end of input, both.
    if (n == 0) break;
    if (errno == EINTR) continue;
    if (errno != EAGAIN) break;
    // A writer holds the fifo and nothing is in it. After closeInput(), what
    // was there has been delivered.
    if (closing) break;
    pollfd p[3] = {{fifo_.get(), POLLIN, 0}, {close_event_.get(), POLLIN, 0},
                   {stop_event_.get(), POLLIN, 0}};
    if (::poll(p, 3, -1) < 0 && errno != EINTR) break;
    if (p[2].revents != 0) break;
    if (p[1].revents != 0) closing = true;
  }
  write_.reset();  // the guest reads end of file after what the pipe holds
}

bool StdinPump::deliver(const char* buf, size_t n) {
  for (size_t done = 0; done < n;) {
    const ssize_t w = ::write(write_.get(), buf + done, n - done);
    if (w > 0) {
      done += static_cast<size_t>(w);
    } else if (w < 0 && errno == EAGAIN) {
      pollfd p[2] = {{write_.get(), POLLOUT, 0}, {stop_event_.get(), POLLIN, 0}};
      if (::poll(p, 2, -1) < 0 && errno != EINTR) return false;
      if (p[1].revents != 0) return false;
    } else if (w < 0 && errno == EINTR) {
      continue;
    } else {
      return false;
    }
  }
  return true;
}

// ---- TaskStdio ------------------------------------------------------------

Result<std::unique_ptr<TaskStdio>> TaskStdio::open(const StdioPaths& paths) {
  std::unique_ptr<TaskStdio> stdio(new TaskStdio(paths));
  // O_RDWR: opening a fifo never blocks then, whether or not containerd's
  // reader is there yet.
  if (!paths.stdout_path.empty()) {
    TRY_ASSIGN(stdio->out_, openFifo(paths.stdout_path, O_RDWR, "stdout"));
  }
  if (!paths.stderr_path.empty()) {
    TRY_ASSIGN(stdio->err_, openFifo(paths.stderr_path, O_RDWR, "stderr"));
  }
  if (!paths.stdin_path.empty()) {
    TRY_ASSIGN(stdio->in_, StdinPump::start(paths.stdin_path));
  }
  return stdio;
}

TaskStdio::~TaskStdio() = default;

void TaskStdio::attach(runtime::RunContext& context) const {
  if (out_.valid()) context.output = runtime::OutputFd{out_.get()};
  if (err_.valid()) context.error_output = runtime::OutputFd{err_.get()};
  if (in_) context.input = runtime::StdinFile{in_->guestPath()};
}

void TaskStdio::closeInput() {
  if (in_) in_->closeInput();
}

void TaskStdio::endInput() {
  if (in_) in_->stop();
}

void TaskStdio::writeError(std::string_view text) {
  if (err_.valid()) (void)!::write(err_.get(), text.data(), text.size());
}

void TaskStdio::close() {
  endInput();
  out_.reset();
  err_.reset();
}

}  // namespace cwasi::shim
