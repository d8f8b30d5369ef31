#include <cstring>

#include "transports.h"

namespace cwasi::comm {

Result<int32_t> EmbeddedChannel::call(const std::string&, std::string_view target,
                                      std::span<const uint8_t> request, PayloadSink& response,
                                      const CallOptions& options) {
  // The request is copied once, caller memory -> callee memory, inside
  // execute(); the response once, callee memory -> caller memory, here.
  SpanSource source(request);
  int32_t status = 0;
  TRY(executor_.execute(target, source, options,
                        [&](int32_t s, std::span<const uint8_t> body) -> Result<void> {
                          status = s;
                          TRY_ASSIGN(std::span<uint8_t> dst, response.allocate(body.size()));
                          if (!body.empty()) std::memcpy(dst.data(), body.data(), body.size());
                          return {};
                        }));
  return status;
}

Result<int32_t> EmbeddedChannel::send(const std::string&, std::string_view target,
                                      std::span<const uint8_t> message, const CallOptions&) {
  SpanSource source(message);
  return executor_.deliver(target, source);
}

}  // namespace cwasi::comm
