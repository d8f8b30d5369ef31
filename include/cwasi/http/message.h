// HTTP/1.1 messages: requests and responses as the server hands them to a
// handler and takes them back, and the protocol's small helpers. The server
// is in server.h, the client in client.h, URLs in url.h.
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

#include "cwasi/common/result.h"

namespace cwasi::http {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string path;    // percent-decoded, without the query
  std::string query;   // raw, without '?'
  Headers headers;     // as received
  std::string body;
  // What the server's Gate left for the handler (a slot it holds for the
  // request, say); empty without a gate.
  std::shared_ptr<void> admission;

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
// not block; and for the next piece only once the last was sent. The pieces
// are outside the server's byte budget (a client that stops reading would
// hold its piece there for the whole write timeout), so each must be small:
// the source bounds them, and its owner bounds how many sources are open.
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
  // {"error": MESSAGE}, the message escaped as a JSON string.
  static HttpResponse jsonError(int status, std::string_view message);
};

// "%2F" -> "/", and '+' -> ' ' when `plus_is_space`.
std::string percentDecode(std::string_view s, bool plus_is_space = false);
// The reason phrase of a status code ("Not Found").
std::string_view statusReason(int status);
// `s` as a JSON string literal, quotes included; bytes that are not UTF-8
// (a function's output in an error) become U+FFFD.
std::string jsonString(std::string_view s);
// ASCII case-insensitive equality, as header names compare.
bool iequals(std::string_view a, std::string_view b);

}  // namespace cwasi::http
