#include "stream.h"

#include <cstring>

#include "cwasi/common/log.h"
#include "cwasi/runtime/abi.h"

namespace cwasi::comm {
namespace {

using Clock = std::chrono::steady_clock;
// Time a peer gets to send the rest of a frame it started.
constexpr std::chrono::seconds kFrameTimeout{60};

}  // namespace

Result<void> ByteStream::writev(std::vector<std::span<const uint8_t>> parts,
                                net::Deadline deadline) {
  for (auto p : parts) TRY(write(p, deadline));
  return {};
}

Result<void> StreamSource::readInto(std::span<uint8_t> dst) {
  if (dst.size() > remaining()) return internal("read past the end of a payload");
  TRY(stream_.read(dst, deadline_));
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

Result<int32_t> streamCall(ByteStream& stream, FrameType type, std::string_view target,
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
    TRY(stream.write(std::span<const uint8_t>(buf, n), options.deadline));
  } else {
    TRY(stream.writev({header,
                       {reinterpret_cast<const uint8_t*>(target.data()), target.size()},
                       payload},
                      options.deadline));
  }
  std::array<uint8_t, kFrameHeaderSize> rh;
  TRY(stream.read(rh, options.deadline));
  TRY_ASSIGN(FrameHeader r, decodeHeader(rh, max_payload));
  const FrameType expected = type == FrameType::kCall ? FrameType::kResponse : FrameType::kSendAck;
  if (r.type != expected) return invalidArgument("unexpected frame type from peer");
  if (r.payload_len > 0) {
    if (response == nullptr) return invalidArgument("unexpected payload in acknowledgement");
    TRY_ASSIGN(std::span<uint8_t> dst, response->allocate(r.payload_len));
    TRY(stream.read(dst, options.deadline));
  } else if (response != nullptr) {
    TRY(response->allocate(0));
  }
  return r.status;
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

void serveFrames(ByteStream& stream, Executor& executor, uint64_t max_payload,
                 const std::atomic<bool>& stopping, const std::string& peer) {
  while (!stopping.load(std::memory_order_relaxed)) {
    std::array<uint8_t, kFrameHeaderSize> hb;
    if (!stream.read(hb, net::never()).ok()) return;  // the peer left
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
    if (h->type == FrameType::kSend) {
      auto status = executor.deliver(name, source);
      if (!status.ok()) return;
      FrameHeader ack;
      ack.type = FrameType::kSendAck;
      ack.status = *status;
      if (!stream.write(encodeHeader(ack), frame_deadline).ok()) return;
      continue;
    }
    auto served = executor.execute(name, source, options,
                                   [&](int32_t status, std::span<const uint8_t> body) -> Result<void> {
                                     FrameHeader resp;
                                     resp.type = FrameType::kResponse;
                                     resp.status = status;
                                     resp.payload_len = body.size();
                                     return stream.writev({encodeHeader(resp), body},
                                                          Clock::now() + kFrameTimeout);
                                   });
    if (!served.ok()) {
      CWASI_LOG(kInfo, "closing " << peer << ": " << served.error().message());
      return;
    }
  }
}

}  // namespace cwasi::comm
