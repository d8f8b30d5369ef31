#include "cwasi/http/url.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>

namespace cwasi::http {
namespace {

constexpr size_t kMaxUrlBytes = 8192;

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

uint16_t defaultPort(std::string_view scheme) { return scheme == "https" ? 443 : 80; }

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

std::string Url::authority() const {
  std::string out = ipv6 ? "[" + host + "]" : host;
  if (port != defaultPort(scheme)) out += ":" + std::to_string(port);
  return out;
}

Result<Url> parseUrl(std::string_view url) {
  if (url.size() > kMaxUrlBytes) return invalidArgument("URL longer than 8192 bytes");
  for (char c : url) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f || c == '\\') {
      return invalidArgument("URL with a space, a control, backslash or non-ASCII character");
    }
  }
  size_t sep = url.find("://");
  if (sep == std::string_view::npos) return invalidArgument("URL without a scheme: " + std::string(url));
  Url out;
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

Result<Url> resolveRedirect(const Url& base, std::string_view location) {
  if (location.empty()) return invalidArgument("redirect without a Location");
  size_t first_delim = location.find_first_of("/?#");
  size_t sep = location.find("://");
  if (sep != std::string_view::npos && (first_delim == std::string_view::npos || sep < first_delim)) {
    return parseUrl(location);
  }
  if (location.starts_with("//")) return parseUrl(base.scheme + ":" + std::string(location));
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
  return parseUrl(base.origin() + target);
}

std::string Url::hostPort() const {
  return (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

}  // namespace cwasi::http
