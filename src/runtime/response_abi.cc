// The host side of the guest ABI's response imports (sdk/c/cwasi.h):
// cwasi.response_set (the reactor's response range), and in ABI v2
// cwasi.response_status and cwasi.response_header. Every pointer and length
// comes from the guest and is checked against its memory before use; what
// the guest says is kept by its Instance until it runs again.
#include "cwasi/runtime/abi.h"
#include "cwasi/runtime/host_function.h"
#include "cwasi/runtime/instance.h"
#include "internal.h"

namespace cwasi::runtime {
namespace {

Result<void> reply(HostCall& call, int32_t status) {
  call.setI32(0, status);
  return {};
}

// response_set(ptr, len) -> status: records the reactor's response range.
Result<void> responseSet(HostCall& call) {
  const uint32_t ptr = call.argU32(0), len = call.argU32(1);
  if (!call.memory().slice(ptr, len).ok()) return reply(call, abi::kErrInvalidArgument);
  call.instance().setResponseRange(ptr, len);
  return reply(call, abi::kOk);
}

// response_status(status) -> status: the HTTP status of the current
// response. A refused status leaves the one set before.
Result<void> responseStatus(HostCall& call) {
  auto set = call.instance().guestResponseHead().setStatus(call.argI32(0));
  return reply(call, set.ok() ? abi::kOk : abi::kErrInvalidArgument);
}

// response_header(name, name_len, value, value_len) -> status: adds a
// header to the current response. The bytes are copied now: the guest may
// reuse its buffers at once.
Result<void> responseHeader(HostCall& call) {
  auto mem = call.memory();
  auto name = mem.string(call.argU32(0), call.argU32(1));
  auto value = mem.string(call.argU32(2), call.argU32(3));
  if (!name.ok() || !value.ok()) return reply(call, abi::kErrInvalidArgument);
  auto added = call.instance().guestResponseHead().addHeader(*name, *value);
  if (added.ok()) return reply(call, abi::kOk);
  return reply(call, added.error().code() == Code::kResourceExhausted ? abi::kErrTooLarge
                                                                      : abi::kErrInvalidArgument);
}

}  // namespace

// What the imports above record into, kept by the instance until it runs again.
ResponseHead& Instance::guestResponseHead() { return impl_->response_head; }

void Instance::setResponseRange(uint32_t ptr, uint32_t len) {
  impl_->response_ptr = ptr;
  impl_->response_len = len;
}

std::vector<HostFunction> responseAbiFunctions() {
  const auto i32 = ValType::kI32;
  return {
      {"cwasi", "response_set", {i32, i32}, {i32}, responseSet},
      {"cwasi", "response_status", {i32}, {i32}, responseStatus},
      {"cwasi", "response_header", {i32, i32, i32, i32}, {i32}, responseHeader},
  };
}

}  // namespace cwasi::runtime
