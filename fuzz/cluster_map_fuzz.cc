// comm::ClusterMap::parse: the cluster map file (function -> host:port) that
// the node agent writes from EndpointSlices and every host reads.
#include "cwasi/comm/frame.h"
#include "cwasi/comm/locality.h"
#include "fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto map = cwasi::comm::ClusterMap::parse(cwasi::fuzz::asText(data, size));
  if (!map.ok()) return 0;
  for (const auto& [name, address] : *map) FUZZ_CHECK(cwasi::comm::validName(name));
  return 0;
}
