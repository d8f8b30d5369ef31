// The node registry's entries (comm/locality.h): the JSON files under the
// runtime dir in which every process that hosts functions on the node
// publishes them, read by every other one to route local calls. A process
// of the node may write anything there; a lookup must then answer "absent",
// never fail.
#include <fstream>

#include "cwasi/comm/locality.h"
#include "fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto& dir = cwasi::fuzz::scratchDir();
  {
    std::filesystem::create_directories(dir / "functions");
    std::ofstream f(dir / "functions" / "fn.json", std::ios::binary | std::ios::trunc);
    f.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  cwasi::comm::NodeRegistry registry(dir);  // a fresh one: no cached answer
  auto entry = registry.lookup("fn");
  if (entry) FUZZ_CHECK(!entry->socket.empty());
  return 0;
}
