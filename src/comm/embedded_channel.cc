#include "transports.h"

namespace cwasi::comm {

// The request is copied once, caller memory -> callee memory, and the
// response once, callee memory -> caller memory, both inside execute().
Result<void> EmbeddedChannel::call(const std::string&, std::string_view target,
                                   std::span<const uint8_t> request, PayloadSink& response,
                                   const CallOptions& options) {
  SpanSource source(request);
  return functions_.execute(target, source, response, options);
}

Result<void> EmbeddedChannel::send(const std::string&, std::string_view target,
                                   std::span<const uint8_t> message, const CallOptions&) {
  SpanSource source(message);
  return functions_.deliver(target, source);
}

}  // namespace cwasi::comm
