// Test environments for the communication layer, one per mode: a "caller"
// host in the test process and, for the local, remote and redis modes, a
// "target" host in a child process (`cwasi serve`), so that tests can also
// stop or kill the peer.
//
// Caller host (A): caller, producer          (bench-caller too)
// Target host (B): checksum, echo, worker, collector, spin
// In embedded mode A hosts everything.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cwasi/host/function_host.h"
#include "testbed/host_pair.h"
#include "support/wasi_test.h"

namespace cwasi::testing {

using testbed::ChildProcess;
using testbed::RedisProcess;

inline constexpr const char* kToken = "test-token-123";
inline constexpr size_t kRingBytes = 64 * 1024;

struct CallOutcome {
  int32_t status = -1;
  std::string body;
};

// The status and body a guest would have seen for a call's result: the
// response, or the error through the guest ABI's one mapping.
CallOutcome outcomeOf(const Result<std::vector<uint8_t>>& r);
CallOutcome outcomeOf(const Result<host::Response>& r);

uint64_t checksum(std::string_view data);  // cw_checksum of functions/comm/checksum.h
std::string pattern(size_t size, uint32_t seed);  // cw_fill

class CommEnv {
 public:
  static std::unique_ptr<CommEnv> create(comm::Mode mode);
  ~CommEnv();

  comm::Mode mode() const { return mode_; }
  host::FunctionHost& caller() { return pair_->caller(); }
  // The target host process (null in embedded mode).
  ChildProcess* peer() { return pair_->target(); }

  // Runs the `caller` function with "<op> <arg>\n<payload>": its status and body.
  CallOutcome drive(char op, const std::string& arg, std::string_view payload = {});
  // Invokes `name` on the caller host directly.
  CallOutcome invoke(const std::string& name, std::string_view request);

 private:
  CommEnv(comm::Mode mode) : mode_(mode) {}
  comm::Mode mode_;
  TempDir dir_;
  std::unique_ptr<testbed::HostPair> pair_;
};

// The shared Redis server of this test process (started on first use).
const std::string& redisAddress();

}  // namespace cwasi::testing
