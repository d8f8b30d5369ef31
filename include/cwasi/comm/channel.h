// Channels move a call (request in, response out) or a one-way message to a
// target function. One interface, one implementation per mode:
//   embedded — same process: one copy, caller memory → callee memory
//   local    — same node, other process: shared-memory rings (ShmChannel)
//   remote   — other host: TCP frames (TcpChannel)
//   redis    — the conventional baseline through a Redis server
// Callers never see which one they got (the LocalityResolver picks).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cwasi/common/result.h"
#include "cwasi/runtime/payload.h"

namespace cwasi::comm {

enum class Mode { kEmbedded = 0, kLocal = 1, kRemote = 2, kRedis = 3 };
inline constexpr int kModeCount = 4;
const char* modeName(Mode mode);

// Which modes a host may use: kAuto picks the shortest path per target.
enum class ModePolicy { kAuto, kEmbedded, kLocal, kRemote, kRedis };
Result<ModePolicy> parsePolicy(std::string_view text);
const char* policyName(ModePolicy policy);

// Payloads move through the runtime's source/sink interfaces.
using runtime::PayloadSink;
using runtime::PayloadSource;
using runtime::SpanSource;
using runtime::VectorSink;

struct CallOptions {
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  uint16_t depth = 0;  // nesting of the call that makes this one
  // Extra environment for a function this host runs itself (a gateway's
  // request metadata); never sent to another host.
  std::vector<std::pair<std::string, std::string>> env;
  // Milliseconds left before the deadline, for frames (0 = no deadline).
  uint32_t remainingMs() const;
};

class Channel {
 public:
  virtual ~Channel() = default;
  virtual Mode mode() const = 0;
  // Calls `target` with `request`; on success its response went to
  // `response`. Errors are the target's failure as its host reported it
  // (Aborted: the function failed, its output is the message; NotFound,
  // DeadlineExceeded...) or the transport's (Unavailable, DeadlineExceeded).
  // Thread-safe; `endpoint` says where the target lives (mode-specific).
  virtual Result<void> call(const std::string& endpoint, std::string_view target,
                            std::span<const uint8_t> request, PayloadSink& response,
                            const CallOptions& options) = 0;
  // Puts `message` in the target's mailbox. Same errors.
  virtual Result<void> send(const std::string& endpoint, std::string_view target,
                            std::span<const uint8_t> message, const CallOptions& options) = 0;
};

}  // namespace cwasi::comm
