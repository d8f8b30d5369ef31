#include "layout.h"

#include <nlohmann/json.hpp>

#include "archive.h"
#include "cwasi/common/sha256.h"

namespace cwasi::oci {

Result<std::span<const uint8_t>> Layout::blob(const nlohmann::json& descriptor) const {
  if (!descriptor.is_object() || !descriptor.contains("digest") ||
      !descriptor["digest"].is_string()) {
    return invalidArgument("image: descriptor without a digest");
  }
  const std::string digest = descriptor["digest"];
  if (digest.rfind("sha256:", 0) != 0 || digest.size() != 7 + 64) {
    return invalidArgument("image: unsupported digest " + digest);
  }
  TRY_ASSIGN(auto bytes, file("blobs/sha256/" + digest.substr(7)));
  if (sha256Hex(bytes) != digest.substr(7)) {
    return invalidArgument("image: blob " + digest + " does not match its digest");
  }
  return bytes;
}

Result<Layout> readLayout(std::span<const uint8_t> bytes) {
  std::vector<uint8_t> inflated;
  if (isGzip(bytes)) {
    TRY_ASSIGN(inflated, gunzip(bytes, kMaxImageBytes));
    bytes = inflated;
  }
  TRY_ASSIGN(auto entries, readTar(bytes, kMaxImageBytes));
  Layout layout;
  for (TarEntry& e : entries) {
    if (e.type == '0') layout.files[e.path] = std::move(e.data);
  }
  if (!layout.files.contains("oci-layout")) {
    return invalidArgument("image: not an OCI image layout (no oci-layout file)");
  }
  return layout;
}

}  // namespace cwasi::oci
