#include "cwasi/runtime/response_head.h"

#include <strings.h>

#include <algorithm>
#include <array>

namespace cwasi::runtime {
namespace {

bool sameName(std::string_view a, std::string_view b) {
  return a.size() == b.size() && ::strncasecmp(a.data(), b.data(), a.size()) == 0;
}

// Names that carry one value: a second one would leave the client to guess.
bool singleValued(std::string_view name) {
  return sameName(name, "Content-Type") || sameName(name, "Location");
}

bool tokenChar(unsigned char c) {
  if (c >= '0' && c <= '9') return true;
  if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

}  // namespace

bool httpToken(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(),
                                   [](char c) { return tokenChar(static_cast<unsigned char>(c)); });
}

bool ownedHeader(std::string_view name) {
  static constexpr std::array<std::string_view, 14> kOwned = {
      "Content-Length", "Transfer-Encoding", "Connection",  "Keep-Alive",
      "Upgrade",        "Trailer",           "TE",          "Proxy-Connection",
      "Server",         "X-Duration-Seconds", "X-Cold-Start", "X-Call-Id",
      "X-Start-Time",   "X-Served-By"};
  return std::any_of(kOwned.begin(), kOwned.end(),
                     [&](std::string_view o) { return sameName(o, name); });
}

Result<void> ResponseHead::setStatus(int status) {
  if (status < kMinResponseStatus || status > kMaxResponseStatus) {
    return invalidArgument("status " + std::to_string(status) + " is not between " +
                           std::to_string(kMinResponseStatus) + " and " +
                           std::to_string(kMaxResponseStatus));
  }
  status_ = status;
  return {};
}

Result<void> ResponseHead::addHeader(std::string_view name, std::string_view value) {
  if (!httpToken(name)) {
    // The name is not printed: it may hold anything, CR and LF included.
    return invalidArgument("a header name must be an RFC 7230 token");
  }
  // CR and LF would end the header (a guest writing its own headers or
  // body onto the wire); NUL and the other controls are not field content
  // either (RFC 7230 §3.2), only the tab is.
  const bool control = std::any_of(value.begin(), value.end(), [](char ch) {
    const auto c = static_cast<unsigned char>(ch);
    return (c < 0x20 && c != '\t') || c == 0x7f;
  });
  if (control) {
    return invalidArgument("the value of header " + std::string(name) +
                           " holds a control character (CR, LF, NUL...)");
  }
  // Leading and trailing blanks are not part of a field value (RFC 7230 §3.2.4).
  const size_t first = value.find_first_not_of(" \t");
  value = first == std::string_view::npos
              ? std::string_view()
              : value.substr(first, value.find_last_not_of(" \t") + 1 - first);
  if (ownedHeader(name)) {
    return invalidArgument("header " + std::string(name) + " is set by the gateway, not a function");
  }
  auto same = headers_.end();
  if (singleValued(name)) {
    same = std::find_if(headers_.begin(), headers_.end(),
                        [&](const auto& h) { return sameName(h.first, name); });
  }
  const size_t freed = same == headers_.end() ? 0 : same->first.size() + same->second.size();
  const size_t bytes = header_bytes_ - freed + name.size() + value.size();
  if (bytes > kMaxResponseHeaderBytes) {
    return resourceExhausted("response headers exceed " + std::to_string(kMaxResponseHeaderBytes) +
                             " bytes");
  }
  if (same == headers_.end() && headers_.size() >= kMaxResponseHeaders) {
    return resourceExhausted("more than " + std::to_string(kMaxResponseHeaders) +
                             " response headers");
  }
  if (same != headers_.end()) {
    same->second.assign(value);
  } else {
    headers_.emplace_back(std::string(name), std::string(value));
  }
  header_bytes_ = bytes;
  return {};
}

std::string ResponseHead::header(std::string_view name) const {
  for (const auto& [k, v] : headers_) {
    if (sameName(k, name)) return v;
  }
  return "";
}

void ResponseHead::clear() {
  status_ = 0;
  headers_.clear();
  header_bytes_ = 0;
}

}  // namespace cwasi::runtime
