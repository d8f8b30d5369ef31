#include "cwasi/node/registry_transport.h"

#include <strings.h>

#include <map>
#include <nlohmann/json.hpp>

#include "cwasi/common/base64.h"
#include "cwasi/common/json_fields.h"
#include "cwasi/http/client.h"

namespace cwasi::node {
namespace {

using SteadyTime = std::chrono::steady_clock;

std::string percentEncode(std::string_view s) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
  }
  return out;
}

// `Bearer realm="...",service="...",scope="a:b:pull,push"`: the scheme and
// its parameters. Quoted values may hold commas.
struct Challenge {
  std::string scheme;
  std::map<std::string, std::string> params;
};

Challenge parseChallenge(std::string_view text) {
  Challenge c;
  const size_t space = text.find(' ');
  c.scheme = std::string(text.substr(0, space));
  if (space == std::string_view::npos) return c;
  size_t i = space + 1;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == ',')) ++i;
    const size_t eq = text.find('=', i);
    if (eq == std::string_view::npos) break;
    std::string key(text.substr(i, eq - i));
    std::string value;
    i = eq + 1;
    if (i < text.size() && text[i] == '"') {
      for (++i; i < text.size() && text[i] != '"'; ++i) {
        if (text[i] == '\\' && i + 1 < text.size()) ++i;
        value += text[i];
      }
      ++i;  // the closing quote
    } else {
      const size_t end = std::min(text.find(',', i), text.size());
      value = std::string(text.substr(i, end - i));
      i = end;
    }
    for (auto& ch : key) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    c.params[key] = value;
  }
  return c;
}

std::string basic(const RegistryCredentials& c) {
  const std::string pair = c.username + ":" + c.password;
  return "Basic " + base64Encode({reinterpret_cast<const uint8_t*>(pair.data()), pair.size()});
}

}  // namespace

Result<oci::RegistryResponse> PlainHttpRegistryTransport::fetch(const oci::RegistryRequest& req,
                                                                const std::string& authorization) {
  TRY_ASSIGN(http::Url url, http::parseUrl(req.url));
  const std::string host = url.host + ":" + std::to_string(url.port);
  auto timeout = options_.request_timeout;
  if (options_.deadline) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*options_.deadline -
                                                                            SteadyTime::now());
    if (left.count() <= 0) return unavailable("registry " + host + " did not answer in time");
    timeout = std::min(timeout, left);
  }
  http::Headers headers = req.headers;
  if (!authorization.empty()) headers.emplace_back("Authorization", authorization);
  const uint64_t budget = options_.max_bytes - received_;
  auto r = http::httpFetch(url, req.method, headers,
                     {reinterpret_cast<const char*>(req.body.data()), req.body.size()}, timeout,
                     budget);
  if (!r.ok()) {
    switch (r.error().code()) {
      case Code::kDeadlineExceeded:
        return unavailable("registry " + host + " did not answer in time (" +
                           std::to_string(timeout.count()) + " ms)");
      case Code::kResourceExhausted:
        return resourceExhausted("registry " + host + ": the image is larger than " +
                                 std::to_string(options_.max_bytes) + " bytes");
      case Code::kDataLoss:  // it answered, badly
        return dataLoss("registry " + host + " sent a bad reply: " + r.error().message());
      default:
        return unavailable("registry " + host + " cannot be reached: " + r.error().message());
    }
  }
  received_ += r->body.size();
  oci::RegistryResponse out;
  out.status = r->status;
  out.headers = std::move(r->headers);
  out.headers.emplace_back("Content-Type", r->content_type);
  out.body.assign(r->body.begin(), r->body.end());
  return out;
}

Result<std::string> PlainHttpRegistryTransport::bearer(const std::string& challenge,
                                                       const std::string& registry) {
  const Challenge c = parseChallenge(challenge);
  auto realm = c.params.find("realm");
  if (realm == c.params.end() || realm->second.empty()) {
    return unavailable("registry " + registry + " asked for a token but named no realm");
  }
  std::string url = realm->second;
  if (url.rfind("http://", 0) != 0) {
    return unavailable("registry " + registry + "'s token service " + url +
                       " is not plain HTTP, which is all cwasi speaks");
  }
  char sep = url.find('?') == std::string::npos ? '?' : '&';
  for (const char* key : {"service", "scope"}) {
    if (auto it = c.params.find(key); it != c.params.end()) {
      url += sep + std::string(key) + "=" + percentEncode(it->second);
      sep = '&';
    }
  }
  const std::string auth = options_.credentials ? basic(*options_.credentials) : "";
  TRY_ASSIGN(oci::RegistryResponse r, fetch({"GET", url, {}, {}}, auth));
  if (r.status == 401 || r.status == 403) {
    return permissionDenied(
        "registry " + registry + "'s token service refused " +
        (options_.credentials ? "the credentials of user '" + options_.credentials->username + "'"
                              : std::string("anonymous access (no credentials are configured)")));
  }
  if (r.status != 200) {
    return unavailable("registry " + registry + "'s token service answered " +
                       std::to_string(r.status));
  }
  const auto doc = nlohmann::json::parse(r.body.begin(), r.body.end(), nullptr, false);
  std::string token = jsonString(doc, "token");
  if (token.empty()) token = jsonString(doc, "access_token");
  if (token.empty()) return unavailable("registry " + registry + "'s token service gave no token");
  return "Bearer " + token;
}

Result<oci::RegistryResponse> PlainHttpRegistryTransport::send(const oci::RegistryRequest& req) {
  TRY_ASSIGN(oci::RegistryResponse r, fetch(req, authorization_));
  if (r.status != 401) return r;
  // One round of authentication per request: a second 401 is the answer.
  const std::string challenge = r.header("WWW-Authenticate");
  TRY_ASSIGN(http::Url url, http::parseUrl(req.url));
  const std::string registry = url.host + ":" + std::to_string(url.port);
  std::string authorization;
  if (::strncasecmp(challenge.c_str(), "Bearer ", 7) == 0) {
    TRY_ASSIGN(authorization, bearer(challenge, registry));
  } else if (::strncasecmp(challenge.c_str(), "Basic", 5) == 0 && options_.credentials) {
    authorization = basic(*options_.credentials);
  }
  if (authorization.empty() || authorization == authorization_) return r;
  TRY_ASSIGN(oci::RegistryResponse retried, fetch(req, authorization));
  if (retried.status != 401) authorization_ = authorization;
  return retried;
}

}  // namespace cwasi::node
