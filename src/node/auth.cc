#include "cwasi/node/auth.h"

#include <strings.h>

#include <nlohmann/json.hpp>

#include "cwasi/common/base64.h"

namespace cwasi::node {
namespace {

bool constantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}


// RFC 7235: the scheme is case-insensitive ("bearer", "BASIC").
bool hasScheme(const std::string& auth, std::string_view scheme) {
  return auth.size() > scheme.size() && auth[scheme.size()] == ' ' &&
         ::strncasecmp(auth.data(), scheme.data(), scheme.size()) == 0;
}

}  // namespace

bool Authorizer::allows(const http::HttpRequest& req) const {
  const std::string auth = req.header("Authorization");
  if (hasScheme(auth, "Bearer")) return constantTimeEquals(auth.substr(7), token_);
  if (hasScheme(auth, "Basic")) {
    auto decoded = base64Decode(auth.substr(6));
    if (!decoded.ok()) return false;
    const std::string_view creds(reinterpret_cast<const char*>(decoded->data()), decoded->size());
    const size_t colon = creds.find(':');
    if (colon == std::string_view::npos) return false;
    // Both compared, whatever the first says: the time tells nothing.
    const bool user_ok = constantTimeEquals(creds.substr(0, colon), user_);
    const bool token_ok = constantTimeEquals(creds.substr(colon + 1), token_);
    return user_ok && token_ok;
  }
  return false;
}

http::HttpResponse Authorizer::challenge() {
  http::HttpResponse r = http::HttpResponse::json(
      401, nlohmann::json{{"error", "missing or wrong token (Authorization: Bearer <token>)"}}.dump());
  r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"cwasid\"");
  return r;
}

}  // namespace cwasi::node
