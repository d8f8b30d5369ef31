// The HTTP shape a function gives its response: a status and headers, on top
// of the body. A reactor gives it through the guest ABI's version 2 imports
// (cwasi_response_status, cwasi_response_header); a command through CGI
// output, parsed by the front end. Both go through ResponseHead, so one set
// of rules decides what a function may say: the guest is untrusted, and its
// headers end up verbatim on the wire.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cwasi/common/result.h"
#include "cwasi/runtime/abi.h"

namespace cwasi::runtime {

// Statuses a function may answer with. 1xx are interim responses: sent as
// the final answer, a client waits for another that never comes.
inline constexpr int kMinResponseStatus = 200;
inline constexpr int kMaxResponseStatus = 599;
// At most this many headers, and this many bytes of names and values in all
// (the guest ABI's limits): a guest cannot make the host hold or send an
// unbounded header section.
inline constexpr size_t kMaxResponseHeaders = abi::kMaxResponseHeaders;
inline constexpr size_t kMaxResponseHeaderBytes = abi::kMaxResponseHeaderBytes;

class ResponseHead {
 public:
  // 0 until a status is set: the front end then answers 200.
  int status() const { return status_; }
  // In the order given; Content-Type among them when given.
  const std::vector<std::pair<std::string, std::string>>& headers() const { return headers_; }
  bool empty() const { return status_ == 0 && headers_.empty(); }

  // InvalidArgument outside [kMinResponseStatus, kMaxResponseStatus]; the
  // head is unchanged then.
  Result<void> setStatus(int status);

  // Adds a header. Content-Type and Location hold one value (a later one
  // replaces the earlier); any other name may be given several times and is
  // sent as many times (Set-Cookie). Errors, the head unchanged:
  // InvalidArgument for a name that is not an RFC 7230 token, a value with
  // CR, LF or NUL, or a header the gateway owns (ownedHeader());
  // ResourceExhausted past kMaxResponseHeaders or kMaxResponseHeaderBytes.
  Result<void> addHeader(std::string_view name, std::string_view value);

  // The first value of `name` (case-insensitive), or "".
  std::string header(std::string_view name) const;

  void clear();

 private:
  int status_ = 0;
  std::vector<std::pair<std::string, std::string>> headers_;
  size_t header_bytes_ = 0;
};

// Headers that only the gateway sets: the message framing and connection
// (Content-Length, Transfer-Encoding, Connection and the other hop-by-hop
// ones), Server, and cwasi's own (X-Duration-Seconds, X-Cold-Start,
// X-Call-Id, X-Start-Time, X-Served-By). Case-insensitive.
bool ownedHeader(std::string_view name);
// An RFC 7230 token: one or more of A-Z a-z 0-9 !#$%&'*+-.^_`|~
bool httpToken(std::string_view s);

}  // namespace cwasi::runtime
