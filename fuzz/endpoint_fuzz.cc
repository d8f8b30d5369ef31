// net::parseEndpoint: every "host:port" a flag, a cluster map or a registry
// entry gives. What it accepts prints back to what it reads again.
#include "cwasi/common/net.h"
#include "fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto ep = cwasi::net::parseEndpoint(cwasi::fuzz::asText(data, size));
  if (!ep.ok()) return 0;
  auto again = cwasi::net::parseEndpoint(ep->toString());
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(again->host == ep->host && again->port == ep->port);
  return 0;
}
