// `cwasi image pull` from a registry that answers what the input says
// (oci/distribution.h): the tag's manifest or index, the manifests it
// names, the config and layer blobs. The input is, in the notation of
// oci_docs.h, the Content-Type of the tag's answer (part 0), then the
// documents the registry holds: part 1 is what the tag names, every one is
// also served by its digest. What the pull writes must be an image
// layout that reads back.
#include "cwasi/oci/distribution.h"
#include "cwasi/oci/image.h"
#include "fuzz.h"
#include "oci/layout.h"
#include "oci_docs.h"

namespace {

using namespace cwasi;

class FuzzRegistry : public oci::RegistryTransport {
 public:
  FuzzRegistry(std::string content_type, std::vector<std::vector<uint8_t>> docs)
      : content_type_(std::move(content_type)), docs_(std::move(docs)) {}

  Result<oci::RegistryResponse> send(const oci::RegistryRequest& r) override {
    oci::RegistryResponse response;
    response.status = 404;
    FUZZ_CHECK(r.method == "GET");
    const std::string_view url = r.url;
    const size_t slash = url.rfind('/');
    const std::string_view name = url.substr(slash + 1);
    if (!docs_.empty() && url.ends_with("/manifests/latest")) {
      response.status = 200;
      response.headers.emplace_back("Content-Type", content_type_);
      response.body = docs_[0];
      return response;
    }
    for (const auto& doc : docs_) {
      if (name == "sha256:" + sha256Hex(doc)) {
        response.status = 200;
        response.body = doc;
      }
    }
    return response;
  }

 private:
  std::string content_type_;
  std::vector<std::vector<uint8_t>> docs_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto parts = fuzz::resolveParts(fuzz::splitParts(fuzz::asText(data, size)));
  std::string content_type(parts[0].begin(), parts[0].end());
  parts.erase(parts.begin());
  FuzzRegistry registry(std::move(content_type), std::move(parts));
  auto ref = oci::parseImageReference("127.0.0.1:5000/fuzz/image:latest");
  FUZZ_CHECK(ref.ok());
  auto tarball = oci::pullImage(*ref, registry);
  if (!tarball.ok()) return 0;
  FUZZ_CHECK(oci::readLayout(*tarball, tarball->size()).ok());
  (void)oci::readImageArchive(std::span<const uint8_t>(*tarball));
  return 0;
}
