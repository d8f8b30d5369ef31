// node::parseDuration: a deployment's timeout and scale-to-zero delay
// ("30s", "500ms", "5m").
#include "cwasi/node/deployment.h"
#include "fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(cwasi::fuzz::asText(data, size));
  auto d = cwasi::node::parseDuration(text);
  if (d.ok()) FUZZ_CHECK(d->count() >= 0 && d->count() <= 1'000'000'000'000);
  return 0;
}
