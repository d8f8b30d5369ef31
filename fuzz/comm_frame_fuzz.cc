// The frames between function hosts (comm/frame.h): what a peer sends over
// TCP or a shared-memory ring. The first input byte picks the side:
//   0: decodeHeader alone — what it accepts encodes back to the same header;
//   1: the server loop (serveFrames) reading a peer's calls and messages;
//   2: the client (streamCall) reading a peer's answers, call after call on
//      one connection as the pool reuses it.
// The rest is the byte stream from the peer; reading past it is the peer
// closing the connection.
#include <cstring>
#include <optional>
#include <string>

#include "comm/stream.h"
#include "cwasi/comm/frame.h"
#include "fuzz.h"

namespace {

using namespace cwasi;
using namespace cwasi::comm;

// Far below the daemon's 1 GiB: a peer's announced size is allocated before
// the payload arrives, and the fuzzer's memory limit is 2 GiB.
constexpr uint64_t kMaxPayload = 1u << 20;

class MemoryStream : public ByteStream {
 public:
  explicit MemoryStream(std::span<const uint8_t> in) : in_(in) {}
  Result<void> read(std::span<uint8_t> out, net::Deadline) override {
    if (out.size() > in_.size()) return unavailable("the peer closed the connection");
    if (!out.empty()) std::memcpy(out.data(), in_.data(), out.size());
    in_ = in_.subspan(out.size());
    return {};
  }
  Result<void> write(std::span<const uint8_t> bytes, net::Deadline) override {
    written_ += bytes.size();
    return {};
  }
  bool exhausted() const { return in_.empty(); }

 private:
  std::span<const uint8_t> in_;
  uint64_t written_ = 0;
};

// Functions that read their request the ways real ones do: all of it, part
// of it, or none, and answer or fail.
class Functions : public LocalFunctions {
 public:
  Result<void> execute(std::string_view name, PayloadSource& request, PayloadSink& response,
                       const CallOptions&) override {
    if (name == "missing") return notFound("no function missing");
    std::vector<uint8_t> body(name == "half" ? request.size() / 2 : request.size());
    TRY(request.readInto(body));
    if (name == "fail") return aborted("the function trapped");
    return response.write(body);
  }
  Result<void> deliver(std::string_view name, PayloadSource& message) override {
    if (name == "full") return unavailable("mailbox full");
    std::vector<uint8_t> body(message.size());
    return message.readInto(body);
  }
  Result<void> receive(std::string_view, std::chrono::steady_clock::time_point,
                       PayloadSink&) override {
    return unimplemented("no mailboxes here");
  }
  std::optional<std::string> trustDomainOf(std::string_view) override { return std::nullopt; }
};

void decodeOnly(std::span<const uint8_t> in) {
  if (in.size() < kFrameHeaderSize) return;
  auto h = decodeHeader(in.first<kFrameHeaderSize>(), kMaxPayload);
  if (!h.ok()) return;
  auto again = decodeHeader(encodeHeader(*h), kMaxPayload);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(again->type == h->type && again->flags == h->flags && again->status == h->status &&
             again->timeout_ms == h->timeout_ms && again->depth == h->depth &&
             again->name_len == h->name_len && again->payload_len == h->payload_len);
}

void serve(std::span<const uint8_t> in) {
  MemoryStream stream(in);
  Functions functions;
  std::atomic<bool> stopping{false};
  serveFrames(stream, functions, kMaxPayload, std::chrono::seconds(1), stopping, "fuzz peer");
}

void call(std::span<const uint8_t> in) {
  MemoryStream stream(in);
  const std::string request = "request";
  for (int i = 0; i < 16 && !stream.exhausted(); ++i) {
    runtime::VectorSink response;
    const bool is_call = i % 2 == 0;
    StreamOutcome out = streamCall(
        stream, is_call ? FrameType::kCall : FrameType::kSend, "target",
        {reinterpret_cast<const uint8_t*>(request.data()), request.size()},
        is_call ? &response : nullptr, CallOptions{}, kMaxPayload);
    if (!out.stream_ok) return;  // the pool would drop this connection
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::span<const uint8_t> rest(data + 1, size - 1);
  switch (data[0] % 3) {
    case 0: decodeOnly(rest); break;
    case 1: serve(rest); break;
    default: call(rest); break;
  }
  return 0;
}
