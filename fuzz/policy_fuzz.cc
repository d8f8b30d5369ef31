// comm::parsePolicy: the --mode flag and the CWASI_MODE setting.
#include "cwasi/comm/channel.h"
#include "fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = cwasi::fuzz::asText(data, size);
  auto policy = cwasi::comm::parsePolicy(text);
  if (policy.ok()) FUZZ_CHECK(cwasi::comm::policyName(*policy) == text);
  return 0;
}
