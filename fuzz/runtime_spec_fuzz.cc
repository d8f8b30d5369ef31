// oci::parseRuntimeSpec: a bundle's config.json, as containerd (and a pod
// spec through it) writes it for the shim's Create.
#include "cwasi/oci/bundle.h"
#include "fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto spec = cwasi::oci::parseRuntimeSpec(cwasi::fuzz::asText(data, size), "/run/bundle");
  if (!spec.ok()) return 0;
  FUZZ_CHECK(!spec->args.empty());
  FUZZ_CHECK(spec->root.is_absolute());
  FUZZ_CHECK(spec->network_namespace.empty() || spec->network_namespace.is_absolute());
  return 0;
}
