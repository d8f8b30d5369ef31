#include "stream.h"

#include <cstring>

#include "cwasi/common/log.h"
#include "cwasi/comm/guest_abi.h"

namespace cwasi::comm {
namespace {

using Clock = std::chrono::steady_clock;
// Time a peer gets to send the rest of a frame it started.
constexpr std::chrono::seconds kFrameTimeout{60};
// The most of a failed target's text that a caller keeps; the rest is read
// and dropped.
constexpr uint64_t kMaxErrorText = 64 * 1024;

// A failure of the stream itself: the connection goes.
StreamOutcome streamLost(Error e) { return {std::move(e), false}; }

// Server side: sends a success frame with the response as the function
// writes it, straight from where it lies (the callee's memory) to the stream.
class FrameResponder : public PayloadSink {
 public:
  explicit FrameResponder(ByteStream& stream) : stream_(stream) {}
  Result<std::span<uint8_t>> allocate(uint64_t size) override {
    buffer_.resize(size);
    allocated_ = true;
    return std::span<uint8_t>(buffer_);
  }
  Result<void> write(std::span<const uint8_t> body) override {
    FrameHeader resp;
    resp.type = FrameType::kResponse;
    resp.payload_len = body.size();
    answered_ = true;
    auto sent = stream_.writev({encodeHeader(resp), body}, Clock::now() + kFrameTimeout);
    broken_ = !sent.ok();
    return sent;
  }
  // After a success: sends what was allocated, or an empty response if the
  // function gave none.
  Result<void> finish() {
    if (answered_) return {};
    return write(allocated_ ? std::span<const uint8_t>(buffer_) : std::span<const uint8_t>());
  }
  bool answered() const { return answered_; }
  bool broken() const { return broken_; }

 private:
  ByteStream& stream_;
  std::vector<uint8_t> buffer_;
  bool allocated_ = false, answered_ = false, broken_ = false;
};

// Answers a frame with a failure: the status that stands for `error`, and
// (for a call) its text.
Result<void> sendError(ByteStream& stream, FrameType type, const Error& error) {
  FrameHeader h;
  h.type = type;
  h.status = abiStatusFor(error);
  const std::string& text = error.message();
  h.payload_len = type == FrameType::kResponse ? std::min<size_t>(text.size(), kMaxErrorText) : 0;
  std::span<const uint8_t> body(reinterpret_cast<const uint8_t*>(text.data()), h.payload_len);
  return stream.writev({encodeHeader(h), body}, Clock::now() + kFrameTimeout);
}

}  // namespace

Result<void> ByteStream::writev(std::vector<std::span<const uint8_t>> parts,
                                net::Deadline deadline) {
  for (auto p : parts) TRY(write(p, deadline));
  return {};
}

Result<void> StreamSource::readInto(std::span<uint8_t> dst) {
  if (dst.size() > remaining()) return internal("read past the end of a payload");
  auto r = stream_.read(dst, deadline_);
  if (!r.ok()) {
    broken_ = true;
    return r;
  }
  consumed_ += dst.size();
  return {};
}

Result<void> StreamSource::drain() {
  uint8_t scratch[64 * 1024];
  while (remaining() > 0) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(remaining(), sizeof scratch));
    TRY(readInto(std::span<uint8_t>(scratch, n)));
  }
  return {};
}

StreamOutcome streamCall(ByteStream& stream, FrameType type, std::string_view target,
                         std::span<const uint8_t> payload, PayloadSink* response,
                         const CallOptions& options, uint64_t max_payload) {
  FrameHeader h;
  h.type = type;
  h.timeout_ms = options.remainingMs();
  h.depth = options.depth;
  h.name_len = static_cast<uint32_t>(target.size());
  h.payload_len = payload.size();
  auto header = encodeHeader(h);
  // Small frames travel as one write: one wake-up of the peer instead of three.
  constexpr size_t kCoalesce = 16 * 1024;
  if (payload.size() <= kCoalesce) {
    uint8_t buf[kFrameHeaderSize + kMaxNameBytes + kCoalesce];
    size_t n = 0;
    std::memcpy(buf, header.data(), header.size());
    n += header.size();
    std::memcpy(buf + n, target.data(), target.size());
    n += target.size();
    if (!payload.empty()) std::memcpy(buf + n, payload.data(), payload.size());
    n += payload.size();
    if (auto w = stream.write(std::span<const uint8_t>(buf, n), options.deadline); !w.ok()) {
      return streamLost(std::move(w).error());
    }
  } else {
    auto w = stream.writev(
        {header, {reinterpret_cast<const uint8_t*>(target.data()), target.size()}, payload},
        options.deadline);
    if (!w.ok()) return streamLost(std::move(w).error());
  }
  std::array<uint8_t, kFrameHeaderSize> rh;
  if (auto r = stream.read(rh, options.deadline); !r.ok()) return streamLost(std::move(r).error());
  auto r = decodeHeader(rh, max_payload);
  if (!r.ok()) return streamLost(std::move(r).error());
  const FrameType expected = type == FrameType::kCall ? FrameType::kResponse : FrameType::kSendAck;
  if (r->type != expected) return streamLost(invalidArgument("unexpected frame type from peer"));
  if (r->status != 0) {  // the target failed; its text follows
    std::string text(std::min(r->payload_len, kMaxErrorText), '\0');
    StreamSource rest(stream, r->payload_len, options.deadline);
    if (!rest.readInto({reinterpret_cast<uint8_t*>(text.data()), text.size()}).ok() ||
        !rest.drain().ok()) {
      return streamLost(unavailable("connection lost reading a peer's error"));
    }
    return {errorForAbiStatus(r->status, std::move(text)), true};
  }
  if (response == nullptr) {
    if (r->payload_len > 0) return streamLost(invalidArgument("unexpected payload in acknowledgement"));
    return {};
  }
  auto dst = response->allocate(r->payload_len);
  if (!dst.ok()) return streamLost(std::move(dst).error());  // the payload is still in the stream
  if (auto got = stream.read(*dst, options.deadline); !got.ok()) return streamLost(std::move(got).error());
  return {};
}

Result<void> checkHello(const FrameHeader& hello, std::span<const uint8_t> token,
                        const std::string& expected) {
  if (hello.type != FrameType::kHello) return unauthenticated("first frame is not a hello");
  if (expected.empty()) return {};
  // Constant time in the token's content.
  uint8_t diff = token.size() == expected.size() ? 0 : 1;
  for (size_t i = 0; i < token.size(); ++i) {
    diff |= token[i] ^ static_cast<uint8_t>(expected[i % expected.size()]);
  }
  if (diff != 0) return unauthenticated("bad token");
  return {};
}

void serveFrames(ByteStream& stream, LocalFunctions& functions, uint64_t max_payload,
                 std::chrono::milliseconds idle_timeout, const std::atomic<bool>& stopping,
                 const std::string& peer, ByteBudget* inflight) {
  while (!stopping.load(std::memory_order_relaxed)) {
    std::array<uint8_t, kFrameHeaderSize> hb;
    if (!stream.read(hb, Clock::now() + idle_timeout).ok()) return;  // left, or silent too long
    auto h = decodeHeader(hb, max_payload);
    if (!h.ok()) {
      CWASI_LOG(kWarn, "closing " << peer << ": malformed frame: " << h.error().message());
      return;
    }
    if (h->type != FrameType::kCall && h->type != FrameType::kSend) {
      CWASI_LOG(kWarn, "closing " << peer << ": unexpected frame type " << int(h->type));
      return;
    }
    auto frame_deadline = Clock::now() + kFrameTimeout;
    std::string name(h->name_len, '\0');
    if (!stream.read({reinterpret_cast<uint8_t*>(name.data()), name.size()}, frame_deadline).ok()) {
      return;
    }
    if (!validName(name)) {
      CWASI_LOG(kWarn, "closing " << peer << ": invalid target name in frame");
      return;
    }
    CallOptions options;
    if (h->timeout_ms > 0) options.deadline = Clock::now() + std::chrono::milliseconds(h->timeout_ms);
    options.depth = h->depth;
    // The payload may take as long as the call may, and at least kFrameTimeout.
    StreamSource source(stream, h->payload_len,
                        options.deadline == Clock::time_point::max()
                            ? frame_deadline
                            : std::max(frame_deadline, options.deadline));
    const FrameType reply = h->type == FrameType::kSend ? FrameType::kSendAck : FrameType::kResponse;
    if (inflight && !inflight->tryTake(h->payload_len)) {
      // Read and dropped as it comes (nothing held), then refused: the
      // connection stays in step.
      if (!source.drain().ok()) return;
      const Error full = resourceExhausted(
          "the host holds " + std::to_string(inflight->used()) + " of " +
          std::to_string(inflight->limit()) + " payload bytes in flight; retry later");
      if (!sendError(stream, reply, full).ok()) return;
      continue;
    }
    const HeldBytes held = inflight ? HeldBytes(*inflight, h->payload_len) : HeldBytes();
    if (h->type == FrameType::kSend) {
      auto delivered = functions.deliver(name, source);
      if (source.broken() || !source.drain().ok()) return;
      FrameHeader ack;
      ack.type = FrameType::kSendAck;
      auto sent = delivered.ok() ? stream.write(encodeHeader(ack), frame_deadline)
                                 : sendError(stream, FrameType::kSendAck, delivered.error());
      if (!sent.ok()) return;
      continue;
    }
    FrameResponder responder(stream);
    auto served = functions.execute(name, source, responder, options);
    // The request is drained before any failure is answered: both sides
    // write before they read, and a ring must not fill up both ways.
    if (source.broken() || responder.broken() || !source.drain().ok()) return;
    Result<void> answered = served.ok()             ? responder.finish()
                            : responder.answered() ? served  // out of step: close
                                                   : sendError(stream, FrameType::kResponse,
                                                               served.error());
    if (!answered.ok()) {
      CWASI_LOG(kInfo, "closing " << peer << ": " << answered.error().message());
      return;
    }
  }
}

}  // namespace cwasi::comm
