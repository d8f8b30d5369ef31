// The guest ABI's host side (module `cwasi`, see sdk/c/cwasi.h): the
// communication imports and the one mapping between the errors used inside
// cwasi and the status codes a guest (or a peer's frame) sees.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cwasi/common/result.h"
#include "cwasi/runtime/host_function.h"

namespace cwasi::comm {

// cwasi.call, cwasi.send, cwasi.recv and cwasi.http_request. An instance
// whose host_data is not a CallContext (or one without a router, or without
// an outbound client for http_request) gets CWASI_ERR_UNSUPPORTED from them.
std::vector<runtime::HostFunction> guestAbiFunctions();

// The status a guest or a frame carries for `error` (never kOk).
int32_t abiStatusFor(const Error& error);
// The error a non-zero status stands for, with `message` (a peer's text).
Error errorForAbiStatus(int32_t status, std::string message);

}  // namespace cwasi::comm
