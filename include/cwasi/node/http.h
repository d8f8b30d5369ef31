// HTTP/1.1 for the node daemon: requests and responses, and a one-shot
// client (the CLI, async callbacks) with a capped body. The server is in
// http_server.h.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cwasi/common/fd.h"
#include "cwasi/common/result.h"

namespace cwasi::node {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string path;    // percent-decoded, without the query
  std::string query;   // raw, without '?'
  Headers headers;     // as received
  std::string body;

  // The first header of that name (case-insensitive), or "".
  std::string header(std::string_view name) const;
  // A query parameter (percent-decoded), or "".
  std::string queryParam(std::string_view name) const;
  std::span<const uint8_t> bodyBytes() const {
    return {reinterpret_cast<const uint8_t*>(body.data()), body.size()};
  }
};

// The rest of a response body that arrives over time (a followed log).
// The server asks for more on the connection's I/O thread, so next() must
// not block.
class BodySource {
 public:
  virtual ~BodySource() = default;
  // What came since the last call ("" when nothing did), or nullopt when the
  // body is complete.
  virtual std::optional<std::string> next() = 0;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  Headers headers;
  std::string body;
  // When set, the body goes on after `body` with what `more` gives, until it
  // ends, the client leaves or `more_for` has passed; such a response has no
  // length, and its connection closes after it.
  std::shared_ptr<BodySource> more;  // shared: responses are copied
  std::chrono::milliseconds more_for{0};

  std::string header(std::string_view name) const;
  static HttpResponse text(int status, std::string body);
  static HttpResponse json(int status, std::string body);
};

// "http://host:port/path?query" split up; InvalidArgument otherwise.
struct HttpUrl {
  std::string host;
  uint16_t port = 80;
  std::string target = "/";  // path and query
};
Result<HttpUrl> parseHttpUrl(std::string_view url);

// One request on a fresh connection. Unavailable when the server cannot be
// reached, DeadlineExceeded past `timeout`; any status is a success.
Result<HttpResponse> httpFetch(const HttpUrl& url, std::string_view method, const Headers& headers,
                               std::string_view body, std::chrono::milliseconds timeout,
                               uint64_t max_body_bytes = 1ull << 30);

// "%2F" -> "/", and '+' -> ' ' when `plus_is_space`.
std::string percentDecode(std::string_view s, bool plus_is_space = false);
// The reason phrase of a status code ("Not Found").
std::string_view statusReason(int status);

}  // namespace cwasi::node
