// The host side of the guest ABI's communication imports: cwasi.call,
// cwasi.send, cwasi.recv, and outbound HTTP, cwasi.http_request (see
// sdk/c/cwasi.h). Every pointer and length comes
// from the guest and is checked against its memory before use; responses are
// written into the caller's memory through its own cwasi_alloc.
#include <algorithm>

#include "cwasi/comm/guest_abi.h"

#include "cwasi/comm/frame.h"
#include "cwasi/comm/router.h"
#include "cwasi/runtime/abi.h"

namespace cwasi::comm {
namespace {

namespace abi = runtime::abi;
using runtime::HostCall;
using runtime::HostFunction;
using runtime::ValType;
using Clock = std::chrono::steady_clock;

// Allocates in the calling guest through its cwasi_alloc.
class GuestSink : public PayloadSink {
 public:
  explicit GuestSink(runtime::Instance& instance) : instance_(instance) {}

  Result<std::span<uint8_t>> allocate(uint64_t size) override {
    if (size > UINT32_MAX) return resourceExhausted("payload larger than 4 GiB");
    auto ptr = instance_.allocate(static_cast<uint32_t>(size));
    if (!ptr.ok()) {
      // A trap inside cwasi_alloc ends the guest; a NULL or missing allocator
      // is the guest's to handle.
      if (instance_.poisoned()) fatal_ = ptr.error();
      return std::move(ptr).error();
    }
    ptr_ = *ptr;
    len_ = static_cast<uint32_t>(size);
    return instance_.memory().slice(ptr_, len_);
  }

  uint32_t ptr() const { return ptr_; }
  uint32_t len() const { return len_; }
  const std::optional<Error>& fatal() const { return fatal_; }

 private:
  runtime::Instance& instance_;
  uint32_t ptr_ = 0, len_ = 0;
  std::optional<Error> fatal_;
};

// Answers the guest with `status`.
Result<void> reply(HostCall& call, int32_t status) {
  call.setI32(0, status);
  return {};
}

CallContext* contextOf(HostCall& call) {
  return dynamic_cast<CallContext*>(call.instance().context().host_data);
}

CallOptions optionsFor(const CallContext& ctx, uint32_t timeout_ms) {
  CallOptions o;
  auto timeout = timeout_ms ? std::chrono::milliseconds(timeout_ms) : ctx.router->defaultTimeout();
  o.deadline = std::min(ctx.deadline, Clock::now() + timeout);
  o.depth = static_cast<uint16_t>(ctx.depth + 1);
  return o;
}

// Answers the guest: the status of `outcome`, and (ptr, len) of what it gets
// to read — the response on success, the target's own text when the target
// failed, nothing after any other failure (a half-filled buffer is never
// handed over).
Result<void> finish(HostCall& call, const Result<void>& outcome, GuestSink& sink,
                    uint32_t ptr_out, uint32_t len_out) {
  if (sink.fatal()) return *sink.fatal();
  int32_t status = abi::kOk;
  if (!outcome.ok()) {
    status = abiStatusFor(outcome.error());
    if (status == abi::kErrFunctionFailed) {
      const std::string& text = outcome.error().message();
      auto given = sink.write({reinterpret_cast<const uint8_t*>(text.data()), text.size()});
      if (sink.fatal()) return *sink.fatal();
      if (!given.ok()) status = abiStatusFor(given.error());
    }
  }
  auto mem = call.memory();  // fetched again: cwasi_alloc may have grown it
  const bool delivered = status == abi::kOk || status == abi::kErrFunctionFailed;
  const uint32_t ptr = delivered ? sink.ptr() : 0, len = delivered ? sink.len() : 0;
  if (!mem.writeU32(ptr_out, ptr).ok() || !mem.writeU32(len_out, len).ok()) {
    return reply(call, abi::kErrInvalidArgument);
  }
  return reply(call, status);
}

// cwasi.call(target, target_len, req, req_len, timeout_ms, resp_ptr_out, resp_len_out) -> status
Result<void> guestCall(HostCall& call) {
  CallContext* ctx = contextOf(call);
  if (ctx == nullptr || ctx->router == nullptr) return reply(call, abi::kErrUnsupported);
  auto mem = call.memory();
  auto target = mem.string(call.argU32(0), call.argU32(1));
  auto request = mem.slice(call.argU32(2), call.argU32(3));
  const uint32_t ptr_out = call.argU32(5), len_out = call.argU32(6);
  if (!target.ok() || !request.ok() || !mem.slice(ptr_out, 4).ok() ||
      !mem.slice(len_out, 4).ok() || !validName(*target)) {
    return reply(call, abi::kErrInvalidArgument);
  }
  if (ctx->depth + 1 > kMaxCallDepth) {
    return reply(call, abi::kErrUnavailable);
  }
  GuestSink sink(call.instance());
  auto outcome = ctx->router->call(*target, *request, sink, ctx->trust_domain,
                                   optionsFor(*ctx, call.argU32(4)));
  return finish(call, outcome, sink, ptr_out, len_out);
}

// cwasi.send(target, target_len, payload, payload_len) -> status
Result<void> guestSend(HostCall& call) {
  CallContext* ctx = contextOf(call);
  if (ctx == nullptr || ctx->router == nullptr) return reply(call, abi::kErrUnsupported);
  auto mem = call.memory();
  auto target = mem.string(call.argU32(0), call.argU32(1));
  auto payload = mem.slice(call.argU32(2), call.argU32(3));
  if (!target.ok() || !payload.ok() || !validName(*target)) {
    return reply(call, abi::kErrInvalidArgument);
  }
  auto sent = ctx->router->send(*target, *payload, ctx->trust_domain, optionsFor(*ctx, 0));
  return reply(call, sent.ok() ? abi::kOk : abiStatusFor(sent.error()));
}

// cwasi.recv(timeout_ms, payload_ptr_out, payload_len_out) -> status
Result<void> guestRecv(HostCall& call) {
  CallContext* ctx = contextOf(call);
  if (ctx == nullptr || ctx->router == nullptr) return reply(call, abi::kErrUnsupported);
  auto mem = call.memory();
  const uint32_t ptr_out = call.argU32(1), len_out = call.argU32(2);
  if (!mem.slice(ptr_out, 4).ok() || !mem.slice(len_out, 4).ok()) {
    return reply(call, abi::kErrInvalidArgument);
  }
  auto deadline = std::min(ctx->deadline, Clock::now() + std::chrono::milliseconds(call.argU32(0)));
  GuestSink sink(call.instance());
  auto outcome = ctx->functions->receive(ctx->function, deadline, sink);
  return finish(call, outcome, sink, ptr_out, len_out);
}

// Places `bytes` in the guest through its cwasi_alloc and stores where at
// (ptr_out, len_out); nothing is allocated for no bytes (NULL, 0). A trap in
// cwasi_alloc is the error; the guest's own refusal is the status.
Result<int32_t> giveToGuest(HostCall& call, const std::string& bytes, uint32_t ptr_out,
                            uint32_t len_out) {
  GuestSink sink(call.instance());
  if (!bytes.empty()) {
    auto given = sink.write({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
    if (sink.fatal()) return *sink.fatal();
    if (!given.ok()) return abiStatusFor(given.error());
  }
  auto mem = call.memory();  // fetched again: cwasi_alloc may have grown it
  if (!mem.writeU32(ptr_out, sink.ptr()).ok() || !mem.writeU32(len_out, sink.len()).ok()) {
    return abi::kErrInvalidArgument;
  }
  return abi::kOk;
}

// cwasi.http_request(method, method_len, url, url_len, headers, headers_len,
//                    body, body_len, timeout_ms, status_out,
//                    headers_ptr_out, headers_len_out, body_ptr_out, body_len_out) -> status
Result<void> guestHttpRequest(HostCall& call) {
  CallContext* ctx = contextOf(call);
  if (ctx == nullptr || ctx->outbound == nullptr) return reply(call, abi::kErrUnsupported);
  auto mem = call.memory();
  auto method = mem.string(call.argU32(0), call.argU32(1));
  auto url = mem.string(call.argU32(2), call.argU32(3));
  auto headers = mem.string(call.argU32(4), call.argU32(5));
  auto body = mem.string(call.argU32(6), call.argU32(7));
  const uint32_t status_out = call.argU32(9);
  const uint32_t headers_ptr_out = call.argU32(10), headers_len_out = call.argU32(11);
  const uint32_t body_ptr_out = call.argU32(12), body_len_out = call.argU32(13);
  bool outs_ok = true;
  for (uint32_t out : {status_out, headers_ptr_out, headers_len_out, body_ptr_out, body_len_out}) {
    outs_ok = outs_ok && mem.slice(out, 4).ok();
  }
  if (!method.ok() || !url.ok() || !headers.ok() || !body.ok() || !outs_ok) {
    return reply(call, abi::kErrInvalidArgument);
  }
  // Nothing is handed over unless the whole exchange succeeded.
  for (uint32_t out : {status_out, headers_ptr_out, headers_len_out, body_ptr_out, body_len_out}) {
    (void)mem.writeU32(out, 0);
  }
  // The views stay valid through fetch(): no guest code runs meanwhile, so
  // its memory neither moves nor changes.
  OutboundRequest request{std::string(*method), std::string(*url), *headers, *body};
  static const OutboundGrants kNone;
  auto fetched = ctx->outbound->fetch(ctx->outbound_grants ? *ctx->outbound_grants : kNone,
                                      request, std::chrono::milliseconds(call.argU32(8)),
                                      ctx->deadline);
  if (!fetched.ok()) return reply(call, outboundStatusFor(fetched.error()));
  TRY_ASSIGN(int32_t given, giveToGuest(call, fetched->headers, headers_ptr_out, headers_len_out));
  if (given == abi::kOk) {
    TRY_ASSIGN(given, giveToGuest(call, fetched->body, body_ptr_out, body_len_out));
  }
  if (given != abi::kOk) {
    auto now = call.memory();
    for (uint32_t out : {headers_ptr_out, headers_len_out, body_ptr_out, body_len_out}) {
      (void)now.writeU32(out, 0);
    }
    return reply(call, given);
  }
  (void)call.memory().writeU32(status_out, static_cast<uint32_t>(fetched->status));
  return reply(call, abi::kOk);
}

}  // namespace

// The one mapping between cwasi's errors and the guest ABI's statuses.
int32_t abiStatusFor(const Error& e) {
  switch (e.code()) {
    case Code::kNotFound: return abi::kErrUnknownTarget;
    case Code::kDeadlineExceeded: return abi::kErrTimeout;
    case Code::kResourceExhausted: return abi::kErrTooLarge;
    case Code::kInvalidArgument: return abi::kErrInvalidArgument;
    case Code::kAborted: return abi::kErrFunctionFailed;
    case Code::kUnavailable:
    case Code::kPermissionDenied:
    case Code::kUnauthenticated:
    case Code::kCancelled: return abi::kErrUnavailable;
    case Code::kUnimplemented: return abi::kErrUnsupported;
    default: return abi::kErrInternal;
  }
}

Error errorForAbiStatus(int32_t status, std::string message) {
  switch (status) {
    case abi::kErrUnknownTarget: return notFound(std::move(message));
    case abi::kErrUnavailable: return unavailable(std::move(message));
    case abi::kErrTimeout: return deadlineExceeded(std::move(message));
    case abi::kErrTooLarge: return resourceExhausted(std::move(message));
    case abi::kErrInvalidArgument: return invalidArgument(std::move(message));
    case abi::kErrFunctionFailed: return aborted(std::move(message));
    case abi::kErrUnsupported: return unimplemented(std::move(message));
    default: return internal(std::move(message));
  }
}

std::vector<HostFunction> guestAbiFunctions() {
  const auto i32 = ValType::kI32;
  return {
      {"cwasi", "call", {i32, i32, i32, i32, i32, i32, i32}, {i32}, guestCall},
      {"cwasi", "send", {i32, i32, i32, i32}, {i32}, guestSend},
      {"cwasi", "recv", {i32, i32, i32}, {i32}, guestRecv},
      {"cwasi", "http_request", std::vector<ValType>(14, i32), {i32}, guestHttpRequest},
  };
}

}  // namespace cwasi::comm
