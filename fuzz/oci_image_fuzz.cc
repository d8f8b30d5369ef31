// OCI image layout tarballs as `cwasi deploy`, `cwasi image push` and the
// shim's image reader take them: index.json, manifests, image configs and
// layers (oci/image.h, oci/distribution.h). The input is the blobs and, last,
// index.json, in the notation of oci_docs.h, so that digests can match; the
// target packs them into a layout and reads the module out of it, and pushes
// it to a registry that takes everything.
#include <algorithm>

#include "cwasi/oci/distribution.h"
#include "cwasi/oci/image.h"
#include "fuzz.h"
#include "oci_docs.h"

namespace {

using namespace cwasi;

class AcceptingRegistry : public oci::RegistryTransport {
 public:
  Result<oci::RegistryResponse> send(const oci::RegistryRequest& r) override {
    oci::RegistryResponse response;
    if (r.method == "HEAD") response.status = 404;
    if (r.method == "POST") {
      response.status = 202;
      response.headers.emplace_back("Location", "/v2/fuzz/blobs/uploads/1");
    }
    if (r.method == "PUT") response.status = 201;
    return response;
  }
};

std::vector<uint8_t> layoutOf(const std::vector<std::vector<uint8_t>>& parts) {
  std::vector<oci::TarEntry> entries;
  entries.push_back({"oci-layout", '0', 0644, fuzz::bytesOf(R"({"imageLayoutVersion":"1.0.0"})")});
  entries.push_back({"index.json", '0', 0644, parts.back()});
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    entries.push_back({"blobs/sha256/" + sha256Hex(parts[i]), '0', 0644, parts[i]});
  }
  auto tar = oci::writeTar(entries);
  FUZZ_CHECK(tar.ok());
  return std::move(*tar);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<uint8_t> layout = layoutOf(fuzz::resolveParts(fuzz::splitParts(fuzz::asText(data, size))));
  auto image = oci::readImageArchive(std::span<const uint8_t>(layout));
  if (image.ok()) {
    FUZZ_CHECK(image->module.size() >= 4 && std::equal(image->module.begin(), image->module.begin() + 4, "\0asm"));
  }
  AcceptingRegistry registry;
  auto ref = oci::parseImageReference("127.0.0.1:5000/fuzz/image:v1");
  FUZZ_CHECK(ref.ok());
  (void)oci::pushImage(layout, *ref, registry);
  return 0;
}
