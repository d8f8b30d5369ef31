#include "cwasi/comm/outbound.h"

#include <arpa/inet.h>
#include <strings.h>

#include <algorithm>
#include <cctype>

#include "cwasi/http/client.h"
#include "cwasi/runtime/abi.h"

namespace cwasi::comm {
namespace {

using http::defaultPort;
using http::iequals;
using http::Host;
using http::parseHost;
using http::parsePort;
using http::splitHostPort;

using Clock = std::chrono::steady_clock;

constexpr size_t kMaxRequestHeaderBytes = 64u << 10;
constexpr uint32_t kMaxReplyHeadBytes = 64u << 10;


std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool isTokenChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool isToken(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), isTokenChar);
}

// A label that makes a name read as a number by inet_aton ("1", "0x7f").
bool numericLabel(std::string_view label) {
  auto digits = [](std::string_view s, auto pred) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [&](char c) { return pred(static_cast<unsigned char>(c)); });
  };
  if (label.starts_with("0x")) return label.size() == 2 || digits(label.substr(2), ::isxdigit);
  return digits(label, ::isdigit);
}

bool isRedirect(int status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

std::string firstHeader(const http::HeaderList& headers, std::string_view name) {
  for (const auto& [k, v] : headers) {
    if (iequals(k, name)) return v;
  }
  return {};
}

// Decrements the count of requests in flight when the request ends.
struct InFlight {
  std::atomic<int>& n;
  ~InFlight() { n.fetch_sub(1, std::memory_order_relaxed); }
};

}  // namespace

Result<OutboundGrant> parseOutboundGrant(std::string_view pattern) {
  const std::string where = "allowed outbound host '" + std::string(pattern) + "'";
  auto bad = [&](std::string_view why) { return invalidArgument(where + ": " + std::string(why)); };
  size_t sep = pattern.find("://");
  if (sep == std::string_view::npos) {
    return bad("want SCHEME://HOST[:PORT] (http://api.example.com, *://localhost:*)");
  }
  OutboundGrant g;
  g.pattern = std::string(pattern);
  g.scheme = lower(pattern.substr(0, sep));
  if (g.scheme != "http" && g.scheme != "https" && g.scheme != "*") {
    return bad("the scheme must be http, https or *");
  }
  std::string_view authority = pattern.substr(sep + 3);
  if (authority.ends_with("/")) authority.remove_suffix(1);
  if (authority.find_first_of("/?#@%") != std::string_view::npos) {
    return bad("a grant names a scheme, a host and a port only (no path, userinfo or encoding)");
  }
  TRY_ASSIGN(auto parts, splitHostPort(authority, where));
  std::string_view host = parts.first;
  if (host == "*") {
    g.host = "*";
  } else if (host.starts_with("*.")) {
    TRY_ASSIGN(Host suffix, parseHost(host.substr(2), where));
    // "*.0.1" would match spellings of addresses, which are never names.
    std::string_view last = std::string_view(suffix.name).substr(suffix.name.rfind('.') + 1);
    if (suffix.ip || numericLabel(last)) {
      return bad("a wildcard goes before a domain name (*.example.com)");
    }
    g.host = "*." + suffix.name;
  } else {
    if (host.find('*') != std::string_view::npos) return bad("a wildcard is a whole label: *.example.com");
    TRY_ASSIGN(Host h, parseHost(host, where));
    g.host = h.name;
  }
  if (!parts.second) {
    if (g.scheme == "*") return bad("with scheme * give a port (*://host:* for any)");
    g.port = defaultPort(g.scheme);
  } else if (*parts.second != "*") {
    auto port = parsePort(*parts.second);
    if (!port) return bad("the port must be 1-65535 or *");
    g.port = *port;
  }
  return g;
}

bool OutboundGrant::allows(const http::Url& url) const {
  if (scheme != "*" && scheme != url.scheme) return false;
  if (port && *port != url.port) return false;
  if (host == "*") return true;
  if (host.starts_with("*.")) {
    std::string_view suffix = std::string_view(host).substr(1);  // ".example.com"
    in_addr a4{};
    const bool ip = url.ipv6 || ::inet_pton(AF_INET, url.host.c_str(), &a4) == 1;
    return !ip && url.host.size() > suffix.size() && url.host.ends_with(suffix);
  }
  return host == url.host;
}

Result<OutboundGrants> OutboundGrants::parse(const std::vector<std::string>& patterns) {
  OutboundGrants out;
  for (const auto& p : patterns) {
    TRY_ASSIGN(OutboundGrant g, parseOutboundGrant(p));
    out.grants_.push_back(std::move(g));
  }
  return out;
}

Result<OutboundGrants> OutboundGrants::parseList(std::string_view list) {
  std::vector<std::string> patterns;
  size_t pos = 0;
  while (pos <= list.size()) {
    size_t end = std::min(list.find(',', pos), list.size());
    std::string_view item = list.substr(pos, end - pos);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (!item.empty()) patterns.emplace_back(item);
    pos = end + 1;
  }
  return parse(patterns);
}

bool OutboundGrants::allows(const http::Url& url) const {
  return std::any_of(grants_.begin(), grants_.end(), [&](const auto& g) { return g.allows(url); });
}

std::vector<std::string> OutboundGrants::patterns() const {
  std::vector<std::string> out;
  for (const auto& g : grants_) out.push_back(g.pattern);
  return out;
}

Result<std::vector<std::pair<std::string, std::string>>> parseOutboundHeaders(
    std::string_view lines) {
  if (lines.size() > kMaxRequestHeaderBytes) {
    return resourceExhausted("request headers over 64 KiB");
  }
  static constexpr std::string_view kHostOwned[] = {
      "Host", "Content-Length", "Transfer-Encoding", "Connection", "Keep-Alive",
      "Upgrade", "TE", "Trailer", "Proxy-Connection"};
  std::vector<std::pair<std::string, std::string>> out;
  size_t pos = 0;
  while (pos < lines.size()) {
    size_t end = std::min(lines.find('\n', pos), lines.size());
    std::string_view line = lines.substr(pos, end - pos);
    pos = end + 1;
    if (line.empty()) continue;
    for (char c : line) {
      auto u = static_cast<unsigned char>(c);
      if ((u < 0x20 && c != '\t') || u == 0x7f) {
        return invalidArgument("a request header with CR or another control character");
      }
    }
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      return invalidArgument("a request header line without ':' (want \"Name: value\")");
    }
    std::string_view name = line.substr(0, colon), value = line.substr(colon + 1);
    if (!isToken(name)) return invalidArgument("request header name '" + std::string(name) + "' is not a token");
    for (auto owned : kHostOwned) {
      if (iequals(name, owned)) {
        return invalidArgument("request header " + std::string(owned) + " is the host's to set");
      }
    }
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    out.emplace_back(std::string(name), std::string(value));
  }
  return out;
}

Result<OutboundResponse> OutboundHttp::fetch(const OutboundGrants& grants,
                                             const OutboundRequest& request,
                                             std::chrono::milliseconds timeout,
                                             Clock::time_point deadline) {
  if (!isToken(request.method) || request.method.size() > 32) {
    return invalidArgument("method '" + request.method + "' is not an HTTP token");
  }
  if (request.method == "CONNECT") return invalidArgument("CONNECT (a tunnel) is refused");
  TRY_ASSIGN(http::Url url, http::parseUrl(request.url));
  TRY_ASSIGN(auto headers, parseOutboundHeaders(request.headers));
  const auto now = Clock::now();
  deadline = std::min(deadline, now + (timeout.count() > 0 ? timeout : config_.default_timeout));
  if (deadline <= now) return deadlineExceeded("no time left for an outbound request");
  if (in_flight_.fetch_add(1, std::memory_order_relaxed) >= config_.max_in_flight) {
    in_flight_.fetch_sub(1, std::memory_order_relaxed);
    return aborted("too many outbound requests in flight (" +
                   std::to_string(config_.max_in_flight) + ")");
  }
  InFlight slot{in_flight_};

  std::string method = request.method;
  std::string_view body = request.body;
  for (int hop = 0;; ++hop) {
    if (!grants.allows(url)) {
      return permissionDenied(url.origin() + " is not among the function's allowed outbound hosts");
    }
    if (url.scheme == "https") {
      return unimplemented("https is not supported by this host (no TLS): " + url.origin());
    }
    http::HttpExchange exchange;
    exchange.host = url.host;
    exchange.port = url.port;
    exchange.host_header = url.authority();
    exchange.method = method;
    exchange.target = url.target;
    exchange.headers = headers;
    exchange.body = body;
    http::HttpReplyLimits limits;
    limits.max_body_bytes = config_.max_response_bytes;
    limits.budget = config_.budget;
    limits.max_header_bytes =
        static_cast<uint32_t>(std::min<uint64_t>(kMaxReplyHeadBytes, config_.max_response_bytes));
    auto reply = http::httpExchange(exchange, deadline, limits);
    if (!reply.ok()) {
      const Error& e = reply.error();
      if (e.code() == Code::kDataLoss) return aborted(url.origin() + ": " + e.message());
      if (e.code() == Code::kUnavailable || e.code() == Code::kDeadlineExceeded ||
          e.code() == Code::kResourceExhausted) {
        return Error(e.code(), url.origin() + ": " + e.message());
      }
      return std::move(reply).error();
    }
    const std::string location = firstHeader(reply->headers, "Location");
    if (isRedirect(reply->status) && !location.empty()) {
      if (hop >= config_.max_redirects) {
        return aborted("more than " + std::to_string(config_.max_redirects) + " redirects");
      }
      TRY_ASSIGN(http::Url next, http::resolveRedirect(url, location));
      // As browsers do: 303 turns any request into a GET, 301 and 302 a POST.
      const bool to_get = method != "HEAD" && (reply->status == 303 ||
                                               ((reply->status == 301 || reply->status == 302) &&
                                                method == "POST"));
      if (to_get) {
        method = "GET";
        body = {};
        std::erase_if(headers, [](const auto& h) { return iequals(h.first, "Content-Type"); });
      }
      // Credentials meant for one origin never go to another.
      if (next.origin() != url.origin()) {
        std::erase_if(headers, [](const auto& h) {
          return iequals(h.first, "Authorization") || iequals(h.first, "Cookie") ||
                 iequals(h.first, "Proxy-Authorization");
        });
      }
      url = std::move(next);
      continue;
    }
    OutboundResponse out;
    out.status = reply->status;
    for (const auto& [k, v] : reply->headers) out.headers += k + ": " + v + "\n";
    out.body = std::move(reply->body);
    out.held = std::move(reply->held);
    return out;
  }
}

int32_t outboundStatusFor(const Error& e) {
  namespace abi = runtime::abi;
  switch (e.code()) {
    case Code::kPermissionDenied: return abi::kErrDenied;
    case Code::kUnavailable: return abi::kErrConnect;
    case Code::kDeadlineExceeded: return abi::kErrTimeout;
    case Code::kResourceExhausted: return abi::kErrTooLarge;
    case Code::kInvalidArgument: return abi::kErrInvalidArgument;
    case Code::kUnimplemented: return abi::kErrUnsupported;
    case Code::kAborted: return abi::kErrUnavailable;
    default: return abi::kErrInternal;
  }
}

}  // namespace cwasi::comm
