// oci::parseImageReference: `cwasi image push/pull` and deploys by reference.
// What it accepts prints back to what it reads again.
#include "cwasi/oci/distribution.h"
#include "fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto ref = cwasi::oci::parseImageReference(cwasi::fuzz::asText(data, size));
  if (!ref.ok()) return 0;
  auto again = cwasi::oci::parseImageReference(ref->toString());
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(again->registry == ref->registry && again->repository == ref->repository &&
             again->reference == ref->reference);
  return 0;
}
