// Internal to the comm layer: frames over a byte stream. Local (shared-memory
// rings) and remote (TCP) connections differ only in how bytes move; the
// request/response protocol on top — client call, server loop — is shared.
#pragma once

#include <atomic>
#include <span>
#include <string_view>
#include <vector>

#include "cwasi/comm/channel.h"
#include "cwasi/common/byte_budget.h"
#include "cwasi/comm/frame.h"
#include "cwasi/common/net.h"
#include "cwasi/comm/router.h"

namespace cwasi::comm {

class ByteStream {
 public:
  virtual ~ByteStream() = default;
  virtual Result<void> read(std::span<uint8_t> out, net::Deadline deadline) = 0;
  virtual Result<void> write(std::span<const uint8_t> bytes, net::Deadline deadline) = 0;
  // Writes several buffers in order (a stream may gather them).
  virtual Result<void> writev(std::vector<std::span<const uint8_t>> parts, net::Deadline deadline);
};

class SocketStream : public ByteStream {
 public:
  explicit SocketStream(int fd) : fd_(fd) {}
  int fd() const { return fd_; }
  Result<void> read(std::span<uint8_t> out, net::Deadline deadline) override {
    return net::recvAll(fd_, out, deadline);
  }
  Result<void> write(std::span<const uint8_t> bytes, net::Deadline deadline) override {
    return net::sendAll(fd_, bytes, deadline);
  }
  Result<void> writev(std::vector<std::span<const uint8_t>> parts, net::Deadline deadline) override {
    return net::sendAllv(fd_, std::move(parts), deadline);
  }

 private:
  int fd_;
};

// The payload of a frame, read straight from the stream into its destination.
// Remembers whether the stream itself failed (the connection is then lost,
// whatever the reader made of the error).
class StreamSource : public PayloadSource {
 public:
  StreamSource(ByteStream& stream, uint64_t size, net::Deadline deadline)
      : stream_(stream), size_(size), deadline_(deadline) {}
  uint64_t size() const override { return size_; }
  Result<void> readInto(std::span<uint8_t> dst) override;
  Result<void> drain() override;
  bool broken() const { return broken_; }

 private:
  ByteStream& stream_;
  uint64_t size_;
  net::Deadline deadline_;
  bool broken_ = false;
};

// The outcome of a call on a stream: an Error from the peer (its target
// failed: the stream is still good) or from the stream (discard it).
struct StreamOutcome {
  Result<void> result;
  bool stream_ok = true;
};

// Client side: sends a kCall (or kSend) frame and reads the answer; a kCall's
// response payload goes to `response` (null for kSend).
StreamOutcome streamCall(ByteStream& stream, FrameType type, std::string_view target,
                         std::span<const uint8_t> payload, PayloadSink* response,
                         const CallOptions& options, uint64_t max_payload);

// Server side: serves frames until the peer leaves, breaks the protocol,
// stays silent for `idle_timeout`, or `stopping` turns true. `peer` names the
// connection in logs. A frame's payload is taken from `inflight` (shared by
// every connection of the host; null: no budget) for as long as its call
// runs; one that does not fit is read and discarded, and refused with
// ResourceExhausted.
void serveFrames(ByteStream& stream, LocalFunctions& functions, uint64_t max_payload,
                 std::chrono::milliseconds idle_timeout, const std::atomic<bool>& stopping,
                 const std::string& peer, ByteBudget* inflight = nullptr);

// Reads and checks a kHello frame: the token must match (constant time).
// Unauthenticated when it does not.
Result<void> checkHello(const FrameHeader& hello, std::span<const uint8_t> token_bytes,
                        const std::string& expected_token);

}  // namespace cwasi::comm
