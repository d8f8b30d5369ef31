// http::parseUrl: async callback URLs (X-Callback-Url, from clients) and
// the CLI's gateway address.
#include "cwasi/http/url.h"
#include "fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto url = cwasi::http::parseUrl(cwasi::fuzz::asText(data, size));
  if (!url.ok()) return 0;
  FUZZ_CHECK(!url->host.empty());
  FUZZ_CHECK(url->port != 0);
  FUZZ_CHECK(!url->target.empty() && url->target[0] == '/');
  // Nothing of the authority leaks into the host: no brackets, userinfo or query.
  FUZZ_CHECK(url->host.find_first_of("[]@?/# ") == std::string::npos);
  auto again = cwasi::http::parseUrl(url->origin() + url->target);
  FUZZ_CHECK(again.ok() && again->host == url->host && again->port == url->port &&
             again->target == url->target);
  return 0;
}
