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

Result<Layout> readLayout(std::span<const uint8_t> bytes, uint64_t max_bytes) {
  const bool copy = isGzip(bytes);
  TarReader reader(bytes, max_bytes);
  Layout layout;
  for (;;) {
    TRY_ASSIGN(std::optional<TarHeader> h, reader.next());
    if (!h) break;
    if (h->type != '0') continue;
    TRY_ASSIGN(std::span<const uint8_t> data, reader.data());
    if (copy) data = layout.inflated.emplace_back(data.begin(), data.end());
    layout.files[h->path] = data;
  }
  if (!layout.files.contains("oci-layout")) {
    return invalidArgument("image: not an OCI image layout (no oci-layout file)");
  }
  return layout;
}

}  // namespace cwasi::oci
