// Outbound HTTP from guests (guest ABI v3, cwasi.http_request): which
// destinations a function is granted, how a guest's URL is read and matched
// against them, and the client that makes the request within the host's
// bounds. Denied unless granted: a function with no grant reaches nothing.
//
// Grants use Spin's allowed_outbound_hosts syntax, SCHEME://HOST[:PORT]:
//   http://api.example.com        that host, port 80
//   https://api.example.com:8443  that host and port
//   http://*.example.com          any subdomain of example.com (not itself)
//   http://127.0.0.1:8080         an IPv4 address, as a dotted quad
//   http://[::1]:8080             an IPv6 address
//   *://localhost:*               any scheme, any port
//   http://*:*                    anywhere over http
// Without a port a grant means the scheme's default (80, 443); a `*` scheme
// without a port is refused (there is no one default).
//
// A request matches on the scheme, host and port of its URL as written:
// names compare case-insensitively and exactly (no DNS is consulted, and a
// granted name reaches whatever it resolves to), IP addresses compare in
// canonical form. Other spellings of an address — 127.1, 2130706433,
// 0x7f.0.0.1 — are names compared as written, and [::ffff:127.0.0.1] is an
// IPv6 address: none of them is the dotted quad 127.0.0.1 a grant names, nor
// is 0.0.0.0 or localhost. Each redirect hop is checked the same way.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cwasi/common/byte_budget.h"
#include "cwasi/common/result.h"
#include "cwasi/http/url.h"

namespace cwasi::comm {

struct OutboundGrant {
  std::string scheme;     // "http", "https" or "*"
  std::string host;       // canonical as in http::Url, "*", or "*.suffix"
  std::optional<uint16_t> port;  // nullopt: any port
  std::string pattern;    // as written
  bool allows(const http::Url& url) const;
};
// InvalidArgument naming `pattern` and what is wrong with it.
Result<OutboundGrant> parseOutboundGrant(std::string_view pattern);

// A function's grants. Empty: no outbound access at all.
class OutboundGrants {
 public:
  OutboundGrants() = default;
  // InvalidArgument naming the first bad pattern.
  static Result<OutboundGrants> parse(const std::vector<std::string>& patterns);
  // Comma-separated (an annotation, an environment variable); blanks around
  // patterns and empty items are ignored.
  static Result<OutboundGrants> parseList(std::string_view comma_separated);
  bool allows(const http::Url& url) const;
  bool empty() const { return grants_.empty(); }
  std::vector<std::string> patterns() const;

 private:
  std::vector<OutboundGrant> grants_;
};

// The host's bounds on outbound requests (the same for every function).
struct OutboundConfig {
  // A response's head and body together, past which the guest gets
  // CWASI_ERR_TOO_LARGE.
  uint64_t max_response_bytes = 16ull << 20;
  // When the guest passes timeout_ms = 0; the invocation's deadline bounds it
  // either way.
  std::chrono::milliseconds default_timeout{30000};
  // Requests in flight at once in this process; past it a guest gets
  // CWASI_ERR_UNAVAILABLE at once.
  int max_in_flight = 64;
  // Redirects followed (each hop checked against the grants); one more is
  // CWASI_ERR_UNAVAILABLE.
  int max_redirects = 5;
  // The host's in-flight byte budget (cwasid's --max-inflight-bytes, shared
  // with its HTTP server), which must outlive this: a reply body is taken
  // from it as it comes and held until the guest has it; past it, the guest
  // gets CWASI_ERR_UNAVAILABLE. Null: reply bodies are bounded only by
  // max_response_bytes and max_in_flight.
  ByteBudget* budget = nullptr;
};

// A guest's request, read from its memory.
struct OutboundRequest {
  std::string method;
  std::string url;
  std::string_view headers;  // "Name: value" lines (parseOutboundHeaders)
  std::string_view body;     // borrowed for the call
};

struct OutboundResponse {
  int status = 0;
  std::string headers;  // "Name: value\n" lines
  std::string body;
  HeldBytes held;  // the body's bytes, of OutboundConfig::budget
};

// Parses "Name: value" lines separated by "\n" (a trailing "\n" and empty
// lines are fine). InvalidArgument: CR or another control character, a name
// that is not a token, a header the host sets itself (Host, Content-Length,
// Transfer-Encoding, Connection, Keep-Alive, Upgrade, TE, Trailer,
// Proxy-Connection).
Result<std::vector<std::pair<std::string, std::string>>> parseOutboundHeaders(
    std::string_view lines);

// Makes guests' requests: checks the method, URL and headers, the grants of
// every hop, and bounds each request by the config and `deadline`.
// Thread-safe.
class OutboundHttp {
 public:
  explicit OutboundHttp(OutboundConfig config = {}) : config_(config) {}
  OutboundHttp(const OutboundHttp&) = delete;
  OutboundHttp& operator=(const OutboundHttp&) = delete;

  // Errors (the guest ABI maps them, see outboundStatusFor):
  //   PermissionDenied — this hop's destination is not granted (nothing is
  //     sent to it);
  //   InvalidArgument — method, URL or headers;
  //   Unimplemented — https (no TLS in this host);
  //   Unavailable — lookup failed, refused, reset;
  //   DeadlineExceeded — the deadline or the timeout passed;
  //   ResourceExhausted — the response is over max_response_bytes;
  //   Aborted — too many redirects, too many requests in flight, or the
  //     server did not answer in HTTP.
  Result<OutboundResponse> fetch(const OutboundGrants& grants, const OutboundRequest& request,
                                 std::chrono::milliseconds timeout,
                                 std::chrono::steady_clock::time_point deadline);
  const OutboundConfig& config() const { return config_; }

 private:
  const OutboundConfig config_;
  std::atomic<int> in_flight_{0};
};

// The guest ABI status of a fetch() error.
int32_t outboundStatusFor(const Error& error);

}  // namespace cwasi::comm
