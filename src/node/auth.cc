#include "cwasi/node/auth.h"

#include <strings.h>

#include <nlohmann/json.hpp>

namespace cwasi::node {
namespace {

std::string base64Decode(std::string_view in) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    const int v = value(c);
    if (v < 0) break;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return out;
}

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

bool Authorizer::allows(const HttpRequest& req) const {
  const std::string auth = req.header("Authorization");
  if (hasScheme(auth, "Bearer")) return constantTimeEquals(auth.substr(7), token_);
  if (hasScheme(auth, "Basic")) {
    const std::string creds = base64Decode(auth.substr(6));
    const size_t colon = creds.find(':');
    return colon != std::string::npos && constantTimeEquals(creds.substr(colon + 1), token_);
  }
  return false;
}

HttpResponse Authorizer::challenge() {
  HttpResponse r = HttpResponse::json(
      401, nlohmann::json{{"error", "missing or wrong token (Authorization: Bearer <token>)"}}.dump());
  r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"cwasid\"");
  return r;
}

}  // namespace cwasi::node
