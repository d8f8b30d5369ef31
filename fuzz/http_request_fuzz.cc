// HTTP requests as the gateway reads them off a connection: Boost.Beast's
// request parser with the server's limits (64 KiB of headers, 16 MiB of
// body), fed in pieces as reads deliver them, message after message
// (keep-alive); then what the routes and the authorizer do with each request:
// the path and query decoded, query parameters and headers looked up, the
// Authorization header checked, the function's view of the request built.
// The first input byte sets the piece size.
#include <boost/beast/http.hpp>

#include <algorithm>
#include <map>
#include <string>

#include "cwasi/node/auth.h"
#include "cwasi/trigger/function_http.h"
#include "cwasi/http/message.h"
#include "fuzz.h"

namespace {

namespace http = boost::beast::http;
using cwasi::http::HttpRequest;

constexpr uint32_t kHeaderLimit = 64 * 1024;       // as src/node/http.cc
constexpr uint64_t kBodyLimit = 16u << 20;         // HttpServerConfig's default

// The request as the server hands it to a handler.
HttpRequest requestFrom(http::request<http::string_body>& msg) {
  HttpRequest req;
  req.method = std::string(msg.method_string());
  const std::string_view target(msg.target().data(), msg.target().size());
  const size_t q = target.find('?');
  req.path = cwasi::http::percentDecode(target.substr(0, q));
  if (q != std::string_view::npos) req.query = std::string(target.substr(q + 1));
  for (const auto& f : msg) req.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
  req.body = std::move(msg.body());
  return req;
}

// What the routes and the authorizer read of a request.
void use(const HttpRequest& req) {
  for (const char* name : {"name", "tail", "callback"}) (void)req.queryParam(name);
  for (const auto& h : req.headers) (void)req.header(h.first);
  (void)req.header("X-Callback-Url");
  (void)cwasi::node::Authorizer("s3cret-token").allows(req);
  (void)cwasi::node::Authorizer("").allows(req);
  // The function's environment: no credentials, and the gateway's own
  // variables once each, whatever the headers are called.
  std::map<std::string, int> env;
  for (const auto& [k, v] : cwasi::trigger::requestEnv(req, req.path, "call-1")) ++env[k];
  FUZZ_CHECK(!env.contains("Http_Authorization") && !env.contains("Http_Proxy_Authorization"));
  for (const char* name : {"Http_Method", "Http_Path", "Http_Query", "Http_X_Call_Id"}) {
    FUZZ_CHECK(env[name] == 1);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t piece = data[0] + 1;
  std::string_view input = cwasi::fuzz::asText(data + 1, size - 1);
  std::string buffer;
  for (;;) {  // one message per round, until the input is used up or bad
    http::request_parser<http::string_body> parser;
    parser.header_limit(kHeaderLimit);
    parser.body_limit(kBodyLimit);
    boost::system::error_code ec;
    while (!parser.is_done()) {
      if (!buffer.empty()) {
        const size_t used = parser.put(boost::asio::buffer(buffer.data(), buffer.size()), ec);
        buffer.erase(0, used);
        if (ec && ec != http::error::need_more) return 0;
        if (parser.is_done() || (used > 0 && !ec)) continue;
      }
      if (input.empty()) {
        parser.put_eof(ec);
        if (ec || !parser.is_done()) return 0;
        break;
      }
      const size_t n = std::min(piece, input.size());
      buffer.append(input.substr(0, n));
      input.remove_prefix(n);
    }
    const bool keep_alive = parser.get().keep_alive();
    use(requestFrom(parser.get()));
    if (!keep_alive || (buffer.empty() && input.empty())) return 0;
  }
}
