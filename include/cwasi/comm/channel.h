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

namespace cwasi::comm {

enum class Mode { kEmbedded = 0, kLocal = 1, kRemote = 2, kRedis = 3 };
inline constexpr int kModeCount = 4;
const char* modeName(Mode mode);

// Which modes a host may use: kAuto picks the shortest path per target.
enum class ModePolicy { kAuto, kEmbedded, kLocal, kRemote, kRedis };
Result<ModePolicy> parsePolicy(std::string_view text);
const char* policyName(ModePolicy policy);

// Bytes arriving from a transport (caller memory, a ring, a socket, Redis),
// to be copied once into their destination.
class PayloadSource {
 public:
  virtual ~PayloadSource() = default;
  virtual uint64_t size() const = 0;
  // Copies the next dst.size() bytes into `dst`; may be called repeatedly
  // until size() bytes are consumed.
  virtual Result<void> readInto(std::span<uint8_t> dst) = 0;
  // Consumes whatever is left (keeps a stream in step after an error).
  virtual Result<void> drain() = 0;
  uint64_t remaining() const { return size() - consumed_; }

 protected:
  uint64_t consumed_ = 0;
};

// A source over bytes already in memory.
class SpanSource : public PayloadSource {
 public:
  explicit SpanSource(std::span<const uint8_t> data) : data_(data) {}
  uint64_t size() const override { return data_.size(); }
  Result<void> readInto(std::span<uint8_t> dst) override;
  Result<void> drain() override {
    consumed_ = data_.size();
    return {};
  }

 private:
  std::span<const uint8_t> data_;
};

// Where a response or received message goes: the caller's linear memory
// (through its cwasi_alloc) or a host buffer.
class PayloadSink {
 public:
  virtual ~PayloadSink() = default;
  // A writable buffer of exactly `size` bytes, valid until the guest runs
  // again. Called at most once per payload. ResourceExhausted when the
  // destination cannot take that much.
  virtual Result<std::span<uint8_t>> allocate(uint64_t size) = 0;
};

class VectorSink : public PayloadSink {
 public:
  Result<std::span<uint8_t>> allocate(uint64_t size) override {
    data.resize(size);
    return std::span<uint8_t>(data);
  }
  std::vector<uint8_t> data;
};

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
  // Calls `target` with `request`; the response (or the target's error text)
  // goes to `response`. Returns the guest ABI status the target produced
  // (abi::kOk, kErrFunctionFailed, kErrUnknownTarget...), or an Error when
  // the transport itself failed (Unavailable, DeadlineExceeded...).
  // Thread-safe; `endpoint` says where the target lives (mode-specific).
  virtual Result<int32_t> call(const std::string& endpoint, std::string_view target,
                               std::span<const uint8_t> request, PayloadSink& response,
                               const CallOptions& options) = 0;
  // Puts `message` in the target's mailbox; returns the ABI status.
  virtual Result<int32_t> send(const std::string& endpoint, std::string_view target,
                               std::span<const uint8_t> message, const CallOptions& options) = 0;
};

// The guest ABI status that stands for a transport error (one place).
int32_t abiStatusFor(const Error& error);

}  // namespace cwasi::comm
