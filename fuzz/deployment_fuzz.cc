// node::parseDeployment: the body of POST/PUT /system/functions (OpenFaaS's
// FunctionDeployment JSON), read as the gateway reads it. A deployment it
// accepts is stored as toJson() and read back at the next start: that must
// give the same deployment.
#include <nlohmann/json.hpp>

#include "cwasi/node/deployment.h"
#include "fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const nlohmann::json body = nlohmann::json::parse(data, data + size, nullptr, false);
  if (body.is_discarded()) return 0;
  auto d = cwasi::node::parseDeployment(body);
  if (!d.ok()) return 0;
  const nlohmann::json stored = cwasi::node::toJson(*d);
  auto reloaded = cwasi::node::parseDeployment(nlohmann::json::parse(stored.dump()));
  FUZZ_CHECK(reloaded.ok());
  FUZZ_CHECK(cwasi::node::toJson(*reloaded) == stored);
  return 0;
}
