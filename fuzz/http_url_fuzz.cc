// node::parseHttpUrl: async callback URLs (X-Callback-Url, from clients) and
// the CLI's gateway address.
#include "cwasi/node/http.h"
#include "fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto url = cwasi::node::parseHttpUrl(cwasi::fuzz::asText(data, size));
  if (!url.ok()) return 0;
  FUZZ_CHECK(!url->host.empty());
  FUZZ_CHECK(url->port != 0);
  FUZZ_CHECK(!url->target.empty() && url->target[0] == '/');
  return 0;
}
