// comm's outbound HTTP rules: a function's grants (allowedOutboundHosts, an
// annotation, an env var — from deployers) and the URLs and redirect
// Locations its cwasi_http_request meets (from guests and remote servers).
// Input: "grants\nurl\nlocation".
#include "cwasi/comm/outbound.h"
#include "fuzz.h"

using cwasi::comm::OutboundGrants;
using cwasi::http::Url;

namespace {

void checkUrl(const Url& url) {
  FUZZ_CHECK(url.scheme == "http" || url.scheme == "https");
  FUZZ_CHECK(!url.host.empty());
  FUZZ_CHECK(url.port != 0);
  FUZZ_CHECK(!url.target.empty() && url.target[0] == '/');
  for (char c : url.origin() + url.target) FUZZ_CHECK(c > 0x20 && c < 0x7f);
  FUZZ_CHECK(url.origin().find_first_of("@%") == std::string::npos);
  // What is sent (Host header, request line) reads back as the same place.
  auto again = cwasi::http::parseUrl(url.origin() + url.target);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(again->host == url.host && again->port == url.port && again->scheme == url.scheme &&
             again->target == url.target && again->ipv6 == url.ipv6);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text = cwasi::fuzz::asText(data, size);
  size_t nl = text.find('\n');
  std::string_view grants_text = text.substr(0, nl);
  std::string_view rest = nl == std::string_view::npos ? "" : text.substr(nl + 1);
  size_t nl2 = rest.find('\n');
  std::string_view url_text = rest.substr(0, nl2);
  std::string_view location = nl2 == std::string_view::npos ? "" : rest.substr(nl2 + 1);

  auto grants = OutboundGrants::parseList(grants_text);
  if (grants.ok()) {
    // Patterns parse back to themselves.
    auto again = OutboundGrants::parse(grants->patterns());
    FUZZ_CHECK(again.ok() && again->patterns() == grants->patterns());
  }
  auto url = cwasi::http::parseUrl(url_text);
  if (!url.ok()) return 0;
  checkUrl(*url);
  if (grants.ok() && grants->allows(*url)) {
    // Allowed means some single grant allows it, on its own.
    bool one = false;
    for (const auto& p : grants->patterns()) {
      auto g = cwasi::comm::parseOutboundGrant(p);
      FUZZ_CHECK(g.ok());
      one = one || g->allows(*url);
    }
    FUZZ_CHECK(one);
  }
  // No grant allows anything.
  FUZZ_CHECK(!OutboundGrants().allows(*url));
  auto next = cwasi::http::resolveRedirect(*url, location);
  if (next.ok()) checkUrl(*next);
  return 0;
}
