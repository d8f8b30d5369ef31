// node::parseByteSize: limits.memory of a deployment ("64Mi").
#include "cwasi/node/deployment.h"
#include "fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(cwasi::fuzz::asText(data, size));
  auto bytes = cwasi::node::parseByteSize(text);
  if (bytes.ok()) FUZZ_CHECK(*bytes <= 1'000'000'000'000'000ull);
  return 0;
}
