// The one URL parser: http and https URLs read strictly, as cwasi reads every
// URL it is given — a guest's outbound request, an X-Callback-Url, a
// registry's, the CLI's gateway. No userinfo, no percent-encoding in the
// host, no spaces or control characters anywhere; an IPv6 host is
// bracketed in the URL and kept without brackets; the query stays in the
// target, never in the host.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "cwasi/common/result.h"

namespace cwasi::http {

struct Url {
  std::string scheme;  // "http" or "https"
  // Lowercase name, dotted quad, or canonical IPv6 (no brackets).
  std::string host;
  bool ipv6 = false;
  uint16_t port = 80;
  std::string target = "/";  // path and query; the fragment is dropped
  // host[:port] as it goes in a Host header (the port when not the scheme's).
  std::string authority() const;
  std::string origin() const { return scheme + "://" + authority(); }
  // host:port always ("[::1]:8080"): what a registry's credentials are keyed by.
  std::string hostPort() const;
};
// InvalidArgument says what is wrong.
Result<Url> parseUrl(std::string_view url);
// `location` (a redirect's Location: absolute, scheme-relative, absolute path
// or relative path) read against `base`.
Result<Url> resolveRedirect(const Url& base, std::string_view location);

uint16_t defaultPort(std::string_view scheme);

// A host as written in a URL (or an outbound grant), in the form both compare in.
struct Host {
  std::string name;  // lowercase name, dotted quad, or canonical IPv6
  bool ip = false;
  bool ipv6 = false;
};
// "[v6]", a dotted quad or a DNS-style name. Anything that could be read in
// two ways (percent-encoding, userinfo, a zone id) is refused; `where` names
// the input in the error.
Result<Host> parseHost(std::string_view text, std::string_view where);
// "1".."65535".
std::optional<uint16_t> parsePort(std::string_view s);
// Splits "host[:port]" where the host may be "[v6]"; the port is nullopt
// when absent.
Result<std::pair<std::string_view, std::optional<std::string_view>>> splitHostPort(
    std::string_view authority, std::string_view where);

}  // namespace cwasi::http
