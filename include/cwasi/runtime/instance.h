// One invocation of a function: a fresh instance (fresh linear memory) in its
// own store, configured by a RunContext (args, env, stdio, granted
// directories, limits). The shim and the daemon translate their worlds into a
// RunContext; the runtime never sees OCI or HTTP types.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "cwasi/common/result.h"
#include "cwasi/runtime/guest_memory.h"
#include "cwasi/runtime/module.h"
#include "cwasi/runtime/payload.h"
#include "cwasi/runtime/response_head.h"

namespace cwasi::runtime {

struct RuntimeInternals;

class Engine;

struct Limits {
  // Cap on linear memory; growing past it traps ("memory limit exceeded").
  // 0 means the engine's maximum.
  uint64_t memory_bytes = 0;
  // Wall-clock deadline from instantiation; 0 means none.
  std::chrono::milliseconds timeout{0};
  // Fuel (roughly, wasm instructions); 0 means unmetered. Needs an engine
  // configured with fuel.
  uint64_t fuel = 0;
};

// Where the guest's stdin comes from.
struct StdinInherit {};
struct StdinBytes {
  std::vector<uint8_t> bytes;
};
struct StdinFile {
  std::filesystem::path path;
};
using InputSpec = std::variant<std::monostate /*empty*/, StdinInherit, StdinBytes, StdinFile>;

// Where the guest's stdout/stderr go.
struct OutputInherit {};
struct OutputCapture {
  size_t max_bytes = 64u << 20;  // more than this fails the guest's write
};
struct OutputFile {
  std::filesystem::path path;
};
struct OutputFd {
  int fd;  // borrowed: must stay open while the instance lives
};
// Receives a guest's output as the guest writes it (a function's log).
// Implementations shared by concurrent instances are thread-safe.
class OutputWriter {
 public:
  virtual ~OutputWriter() = default;
  virtual void write(std::string_view text) = 0;
};
struct OutputTo {
  OutputWriter* writer;  // borrowed: must outlive the instance
};
using OutputSpec = std::variant<std::monostate /*discard*/, OutputInherit, OutputCapture,
                                OutputFile, OutputFd, OutputTo>;

// A host directory the guest may use, under `guest_path`.
struct Preopen {
  std::filesystem::path host_path;
  std::string guest_path;
  bool writable = false;
};

// Opaque per-invocation state that higher layers attach for their host
// functions (the comm layer's call context, for example).
class HostData {
 public:
  virtual ~HostData() = default;
};

struct RunContext {
  std::vector<std::string> args;  // argv; args[0] is the program name
  std::vector<std::pair<std::string, std::string>> env;
  std::vector<Preopen> preopens;  // nothing else on the host is visible
  InputSpec input;
  OutputSpec output;
  OutputSpec error_output;
  Limits limits;
  // Set to true (from any thread) to stop the guest at the next epoch tick;
  // the invocation then fails with Cancelled. Borrowed; may be null.
  const std::atomic<bool>* cancel = nullptr;
  // Borrowed; must outlive the instance. May be null.
  HostData* host_data = nullptr;
};

// What a reactor's cwasi_handle produced.
struct Response {
  int32_t status = 0;              // cwasi_handle's return value; 0 is success
  std::span<const uint8_t> body;   // in guest memory: valid until the instance runs again
};

class Instance {
 public:
  // Instantiates `module` in a fresh store. Errors: ResourceExhausted (no free
  // instance slot), NotFound (a granted directory is missing), or the module's
  // start-up trap. The module is shared with every other instance of it.
  static Result<std::unique_ptr<Instance>> create(Engine& engine,
                                                  std::shared_ptr<const Module> module,
                                                  RunContext context);
  ~Instance();
  Instance(const Instance&) = delete;
  Instance& operator=(const Instance&) = delete;

  // Command functions: runs `_start` to completion and returns the guest's
  // exit code (0 when `_start` returns). Errors name the cause: DeadlineExceeded
  // (timeout), Cancelled, ResourceExhausted (memory limit, fuel, output cap),
  // Aborted (a trap: its kind and the function where it happened).
  Result<int> runMain();

  // Reactor functions: copies `request` into the guest (via cwasi_alloc) and
  // calls cwasi_handle. Same errors as runMain().
  Result<Response> handle(std::span<const uint8_t> request);

  // The two halves of handle(), for callers that copy the request in
  // themselves (the embedded channel copies memory to memory):
  // allocate() returns a guest pointer to `size` fresh bytes; handleAt()
  // calls cwasi_handle on bytes already in guest memory.
  Result<uint32_t> allocate(uint32_t size);
  Result<Response> handleAt(uint32_t ptr, uint32_t len);

  // True once a call into the guest failed (trap, timeout, cancellation):
  // such an instance must not run again.
  bool poisoned() const;

  // The instance's exported "memory", bounds-checked. Empty if none.
  GuestMemory memory();

  // The status and headers the guest gave (cwasi_response_status,
  // cwasi_response_header) in its latest cwasi_handle call, or in its main;
  // empty when it gave none. Valid until the instance runs again.
  const ResponseHead& responseHead() const;
  // What the guest ABI's response imports record into (response_abi.cc):
  // the reactor's response range, and the status and headers.
  void setResponseRange(uint32_t ptr, uint32_t len);
  ResponseHead& guestResponseHead();

  // Everything written to stdout/stderr under OutputCapture.
  const std::string& capturedStdout() const;
  const std::string& capturedStderr() const;

  const Module& module() const;
  RunContext& context();

  struct Impl;

 private:
  friend struct RuntimeInternals;  // the runtime's own files reach Impl
  Impl& impl() { return *impl_; }
  explicit Instance(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Runs one invocation of a function of either kind, the kind dispatched here
// once: a command gets `request` on stdin and its stdout is the response (the
// context's input and output are replaced); a reactor gets `request` copied
// straight from its source into its linear memory and its cwasi_handle's
// response goes to `response`. The response is written only on success, and
// so is `head` (when given): the status and headers the function set through
// the guest ABI, empty when it set none.
// Errors: a non-zero exit code or handler status is Aborted, with the
// function's output as the message (or "... status N" when it wrote none);
// Unavailable when no instance slot is free; otherwise the instance's errors
// (DeadlineExceeded, Cancelled, ResourceExhausted, Aborted for a trap...).
Result<void> invoke(Engine& engine, std::shared_ptr<const Module> module, RunContext context,
                    PayloadSource& request, PayloadSink& response, ResponseHead* head = nullptr);

}  // namespace cwasi::runtime
