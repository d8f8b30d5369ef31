#include "cwasi/comm/outbound.h"

#include <arpa/inet.h>
#include <strings.h>

#include <algorithm>
#include <cctype>

#include "cwasi/common/http_client.h"
#include "cwasi/runtime/abi.h"

namespace cwasi::comm {
namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kMaxUrlBytes = 8192;
constexpr size_t kMaxRequestHeaderBytes = 64u << 10;
constexpr uint32_t kMaxReplyHeadBytes = 64u << 10;

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && ::strncasecmp(a.data(), b.data(), a.size()) == 0;
}

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

uint16_t defaultPort(std::string_view scheme) { return scheme == "https" ? 443 : 80; }

// A host as written in a URL or a grant, in the form both compare in.
struct Host {
  std::string name;  // lowercase name, dotted quad, or canonical IPv6
  bool ip = false;
  bool ipv6 = false;
};

// "[v6]", a dotted quad or a DNS-style name. Anything that could be read in
// two ways (percent-encoding, userinfo, a zone id) is refused.
Result<Host> parseHost(std::string_view text, std::string_view where) {
  auto bad = [&](std::string_view why) {
    return invalidArgument("bad host '" + std::string(text) + "' in " + std::string(where) + ": " +
                           std::string(why));
  };
  if (text.empty()) return bad("empty");
  Host h;
  if (text.front() == '[') {
    if (text.size() < 3 || text.back() != ']') return bad("an IPv6 address needs [ and ]");
    std::string inner(text.substr(1, text.size() - 2));
    in6_addr a6{};
    if (::inet_pton(AF_INET6, inner.c_str(), &a6) != 1) return bad("not an IPv6 address");
    char buf[INET6_ADDRSTRLEN] = {};
    ::inet_ntop(AF_INET6, &a6, buf, sizeof buf);
    h.name = buf;
    h.ip = h.ipv6 = true;
    return h;
  }
  if (text.size() > 253) return bad("longer than 253 characters");
  for (char c : text) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_')) {
      return bad("only letters, digits, '.', '-' and '_' (no userinfo, no percent-encoding)");
    }
  }
  h.name = lower(text);
  in_addr a4{};
  if (::inet_pton(AF_INET, h.name.c_str(), &a4) == 1) {
    char buf[INET_ADDRSTRLEN] = {};
    ::inet_ntop(AF_INET, &a4, buf, sizeof buf);
    h.name = buf;
    h.ip = true;
    return h;
  }
  // Labels are not empty: "a..b" and ".a" reach nothing a grant could mean.
  if (h.name.front() == '.' || h.name.find("..") != std::string::npos) return bad("an empty label");
  return h;
}

// "1".."65535".
std::optional<uint16_t> parsePort(std::string_view s) {
  if (s.empty() || s.size() > 5) return std::nullopt;
  uint32_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint32_t>(c - '0');
  }
  if (v == 0 || v > 65535) return std::nullopt;
  return static_cast<uint16_t>(v);
}

// Splits "host[:port]" where the host may be "[v6]"; port is "" when absent
// and nullopt when a ':' is followed by nothing.
Result<std::pair<std::string_view, std::optional<std::string_view>>> splitHostPort(
    std::string_view authority, std::string_view where) {
  size_t host_end = authority.size();
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      return invalidArgument("unclosed '[' in " + std::string(where));
    }
    host_end = close + 1;
  } else {
    size_t colon = authority.find(':');
    if (colon != std::string_view::npos) host_end = colon;
  }
  std::string_view host = authority.substr(0, host_end);
  std::string_view rest = authority.substr(host_end);
  if (rest.empty()) return std::pair{host, std::optional<std::string_view>()};
  if (rest.front() != ':') return invalidArgument("bad authority in " + std::string(where));
  return std::pair{host, std::optional<std::string_view>(rest.substr(1))};
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

std::string firstHeader(const net::HeaderList& headers, std::string_view name) {
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

std::string OutboundUrl::authority() const {
  std::string out = ipv6 ? "[" + host + "]" : host;
  if (port != defaultPort(scheme)) out += ":" + std::to_string(port);
  return out;
}

Result<OutboundUrl> parseOutboundUrl(std::string_view url) {
  if (url.size() > kMaxUrlBytes) return invalidArgument("URL longer than 8192 bytes");
  for (char c : url) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f || c == '\\') {
      return invalidArgument("URL with a space, a control, backslash or non-ASCII character");
    }
  }
  size_t sep = url.find("://");
  if (sep == std::string_view::npos) return invalidArgument("URL without a scheme: " + std::string(url));
  OutboundUrl out;
  out.scheme = lower(url.substr(0, sep));
  if (out.scheme != "http" && out.scheme != "https") {
    return invalidArgument("URL scheme must be http or https: " + std::string(url));
  }
  std::string_view rest = url.substr(sep + 3);
  size_t auth_end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, auth_end);
  std::string_view target = auth_end == std::string_view::npos ? "" : rest.substr(auth_end);
  if (authority.find('@') != std::string_view::npos) {
    return invalidArgument("URL with userinfo (user@host) is refused: " + std::string(url));
  }
  TRY_ASSIGN(auto parts, splitHostPort(authority, "URL " + std::string(url)));
  TRY_ASSIGN(Host host, parseHost(parts.first, "URL"));
  out.host = std::move(host.name);
  out.ipv6 = host.ipv6;
  out.port = defaultPort(out.scheme);
  if (parts.second) {
    auto port = parsePort(*parts.second);
    if (!port) return invalidArgument("bad port in URL " + std::string(url));
    out.port = *port;
  }
  if (size_t hash = target.find('#'); hash != std::string_view::npos) target = target.substr(0, hash);
  if (target.empty()) {
    out.target = "/";
  } else if (target.front() == '?') {
    out.target = "/" + std::string(target);
  } else {
    out.target = std::string(target);
  }
  return out;
}

Result<OutboundUrl> resolveRedirect(const OutboundUrl& base, std::string_view location) {
  if (location.empty()) return invalidArgument("redirect without a Location");
  size_t first_delim = location.find_first_of("/?#");
  size_t sep = location.find("://");
  if (sep != std::string_view::npos && (first_delim == std::string_view::npos || sep < first_delim)) {
    return parseOutboundUrl(location);
  }
  if (location.starts_with("//")) return parseOutboundUrl(base.scheme + ":" + std::string(location));
  std::string target;
  if (location.front() == '/') {
    target = location;
  } else {
    const std::string path = base.target.substr(0, base.target.find('?'));
    if (location.front() == '?') {
      target = path + std::string(location);
    } else {
      target = path.substr(0, path.rfind('/') + 1) + std::string(location);
    }
  }
  return parseOutboundUrl(base.origin() + target);
}

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

bool OutboundGrant::allows(const OutboundUrl& url) const {
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

bool OutboundGrants::allows(const OutboundUrl& url) const {
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
  TRY_ASSIGN(OutboundUrl url, parseOutboundUrl(request.url));
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
    net::HttpExchange exchange;
    exchange.host = url.host;
    exchange.port = url.port;
    exchange.host_header = url.authority();
    exchange.method = method;
    exchange.target = url.target;
    exchange.headers = headers;
    exchange.body = body;
    net::HttpReplyLimits limits;
    limits.max_body_bytes = config_.max_response_bytes;
    limits.max_header_bytes =
        static_cast<uint32_t>(std::min<uint64_t>(kMaxReplyHeadBytes, config_.max_response_bytes));
    auto reply = net::httpExchange(exchange, deadline, limits);
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
      TRY_ASSIGN(OutboundUrl next, resolveRedirect(url, location));
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
